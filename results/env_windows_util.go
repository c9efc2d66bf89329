//go:build windows

package results

import (
	"fmt"
	"unsafe"
)

func windowsVersion(major, minor, build uint32) string {
	return fmt.Sprintf("Windows %d.%d.%d", major, minor, build)
}

// unsafePtr turns the address of a static string returned by ntdll into a
// pointer.
func unsafePtr(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }
