/* bcryptprimitives.dll for Wine 8, which lacks ProcessPrng: Go >= 1.22
 * programs call it at start for random bytes and abort without it. This
 * one fills the buffer from RtlGenRandom (advapi32!SystemFunction036),
 * which Wine has. Built by .ci/wine/setup.sh with x86_64-w64-mingw32-gcc. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T size) {
	while (size > 0) {
		ULONG n = size > 0x40000000 ? 0x40000000 : (ULONG)size;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		size -= n;
	}
	return TRUE;
}
