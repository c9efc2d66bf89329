#!/usr/bin/env bash
# Prepares a Wine prefix that runs Go >= 1.22 Windows binaries: installs
# wine64 and mingw-w64 with apt-get when missing (as root), creates the
# prefix, and installs the ProcessPrng shim (processprng.c) as
# bcryptprimitives.dll in its system32. Idempotent.
# Prints nothing on success but one line; exits non-zero with a reason.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export WINEPREFIX=${WINEPREFIX:-$HOME/.wine-iobench}
export WINEDEBUG=-all
wine=$("$here/exec.sh" --which 2>/dev/null || true)
if [ -z "$wine" ] || ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		echo "wine setup: wine64 and gcc-mingw-w64-x86-64 are missing and can't be installed here (need root and apt-get)" >&2
		exit 1
	fi
	apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wine64 gcc-mingw-w64-x86-64 >/dev/null
	wine=$("$here/exec.sh" --which)
fi
if [ ! -f "$WINEPREFIX/system.reg" ]; then
	"$wine" wineboot --init >/dev/null 2>&1 || true
	"${wine%64}server64" -w 2>/dev/null || wineserver -w 2>/dev/null || true
fi
sys32="$WINEPREFIX/drive_c/windows/system32"
if [ ! -d "$sys32" ]; then
	echo "wine setup: no $sys32 after wineboot" >&2
	exit 1
fi
dll="$sys32/bcryptprimitives.dll"
if [ ! -f "$dll" ] || [ "$here/processprng.c" -nt "$dll" ]; then
	x86_64-w64-mingw32-gcc -O2 -shared -o "$dll" "$here/processprng.c" -ladvapi32
fi
echo "wine setup: prefix $WINEPREFIX ready ($("$wine" --version))"
