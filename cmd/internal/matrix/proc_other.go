//go:build !linux && !windows

package matrix

import (
	"errors"
	"os"
	"os/exec"
	"syscall"

	"iobench/results"
)

var errNoAffinity = errors.New("CPU pinning is implemented on Linux and Windows only")

var errNoCPUStat = errors.New("per-CPU busy time is read on Linux only")

// stopByStdin: unix asks a child to stop with SIGTERM.
const stopByStdin = false

func childAttr() *syscall.SysProcAttr { return nil }

func startPinned(cmd *exec.Cmd, cpus []int) error {
	if len(cpus) > 0 {
		return errNoAffinity
	}
	return cmd.Start()
}

func pinProcess(cpus []int) error { return errNoAffinity }

type procCPU struct{ user, sys int64 }

// readProcCPU: no window sample of another process's CPU here yet.
func readProcCPU(pid int) (procCPU, bool) { return procCPU{}, false }

func exitCPU(st *os.ProcessState) (procCPU, bool) { return procCPU{}, false }

// unmeasured names what this OS does not measure yet: shown as unknown,
// never as 0.
var unmeasured = []string{"cpu", "rss", "threads", "ctx_switches"}

// CheckCPUs: pinning is Linux only.
func CheckCPUs(cpus ...[]int) error {
	for _, c := range cpus {
		if len(c) > 0 {
			return errNoAffinity
		}
	}
	return nil
}

func threadCount(pid int) int { return 0 }

func isZombie(pid int) bool { return false }

func peakRSS(pid int) int64 { return 0 }

func fillRusage(u *results.ServerUsage, st *os.ProcessState) {}

// usableCPUs: no pinning where it is not implemented.
func usableCPUs() ([]int, error) { return nil, errNoAffinity }

// readCPUStat: per-CPU busy and steal time is read from /proc/stat on
// Linux only (Windows would need NtQuerySystemInformation's processor
// performance information; not done).
func readCPUStat() (map[int]cpuTicks, error) { return nil, errNoCPUStat }
