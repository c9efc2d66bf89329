// Package winproc holds the Windows process calls x/sys/windows lacks
// (CPU affinity, memory counters), and the ones iobench builds on them:
// what `iobench run` and the agent measure of a server child on Windows.
package winproc

import (
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	kernel32                    = windows.NewLazySystemDLL("kernel32.dll")
	procSetProcessAffinityMask  = kernel32.NewProc("SetProcessAffinityMask")
	procGetProcessAffinityMask  = kernel32.NewProc("GetProcessAffinityMask")
	procK32GetProcessMemoryInfo = kernel32.NewProc("K32GetProcessMemoryInfo")
)

// Open opens process pid for querying and setting its information.
func Open(pid int) (windows.Handle, error) {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION|windows.PROCESS_SET_INFORMATION, false, uint32(pid))
	if err != nil {
		return 0, os.NewSyscallError("OpenProcess", err)
	}
	return h, nil
}

// SetAffinity pins every thread of process h, now and later, to mask.
func SetAffinity(h windows.Handle, mask uintptr) error {
	if r, _, err := procSetProcessAffinityMask.Call(uintptr(h), mask); r == 0 {
		return os.NewSyscallError("SetProcessAffinityMask", err)
	}
	return nil
}

// Affinity is process h's CPU mask and the system's.
func Affinity(h windows.Handle) (process, system uintptr, err error) {
	if r, _, e := procGetProcessAffinityMask.Call(uintptr(h), uintptr(unsafe.Pointer(&process)), uintptr(unsafe.Pointer(&system))); r == 0 {
		return 0, 0, os.NewSyscallError("GetProcessAffinityMask", e)
	}
	return process, system, nil
}

// memoryCounters is PROCESS_MEMORY_COUNTERS.
type memoryCounters struct {
	cb                         uint32
	PageFaultCount             uint32
	PeakWorkingSetSize         uintptr
	WorkingSetSize             uintptr
	QuotaPeakPagedPoolUsage    uintptr
	QuotaPagedPoolUsage        uintptr
	QuotaPeakNonPagedPoolUsage uintptr
	QuotaNonPagedPoolUsage     uintptr
	PagefileUsage              uintptr
	PeakPagefileUsage          uintptr
}

// PeakWorkingSet is process h's peak resident memory in bytes.
func PeakWorkingSet(h windows.Handle) (int64, error) {
	var m memoryCounters
	m.cb = uint32(unsafe.Sizeof(m))
	if r, _, err := procK32GetProcessMemoryInfo.Call(uintptr(h), uintptr(unsafe.Pointer(&m)), uintptr(m.cb)); r == 0 {
		return 0, os.NewSyscallError("GetProcessMemoryInfo", err)
	}
	return int64(m.PeakWorkingSetSize), nil
}

// Times is process h's user and kernel CPU time in nanoseconds.
func Times(h windows.Handle) (user, sys int64, err error) {
	var c, e, k, u windows.Filetime
	if err := windows.GetProcessTimes(h, &c, &e, &k, &u); err != nil {
		return 0, 0, os.NewSyscallError("GetProcessTimes", err)
	}
	ft := func(f windows.Filetime) int64 { return (int64(f.HighDateTime)<<32 | int64(f.LowDateTime)) * 100 }
	return ft(u), ft(k), nil
}

// Threads counts process pid's threads (a toolhelp snapshot).
func Threads(pid int) (int, error) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return 0, os.NewSyscallError("CreateToolhelp32Snapshot", err)
	}
	defer windows.CloseHandle(snap)
	var e windows.ThreadEntry32
	e.Size = uint32(unsafe.Sizeof(e))
	n := 0
	for err = windows.Thread32First(snap, &e); err == nil; err = windows.Thread32Next(snap, &e) {
		if e.OwnerProcessID == uint32(pid) {
			n++
		}
	}
	return n, nil
}
