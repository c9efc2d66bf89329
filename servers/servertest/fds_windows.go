package servertest

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

var procHandleCount = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetProcessHandleCount")

// openFDs counts this process's open handles (sockets are handles).
func openFDs() (int, error) {
	var n uint32
	r, _, err := procHandleCount.Call(uintptr(windows.CurrentProcess()), uintptr(unsafe.Pointer(&n)))
	if r == 0 {
		return 0, err
	}
	return int(n), nil
}
