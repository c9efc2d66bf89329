package servers

import "unsafe"

// unsafePointer turns an address the kernel hands back (an OVERLAPPED we
// own and keep referenced) into a pointer.
func unsafePointer(p uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&p))
}
