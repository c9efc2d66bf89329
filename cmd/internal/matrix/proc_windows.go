package matrix

import (
	"errors"
	"fmt"
	"math/bits"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/windows"

	"iobench/internal/winproc"
	"iobench/results"
)

var errNoAffinity = errors.New("no CPU to pin to")

var errNoCPUStat = errors.New("per-CPU busy time is read on Linux only (Windows would need NtQuerySystemInformation)")

// stopByStdin: Windows has no SIGTERM to send another process; a child
// started with --stop-on-eof stops, cleanly, when its stdin closes.
const stopByStdin = true

func childAttr() *syscall.SysProcAttr { return nil }

func mask(cpus []int) (uintptr, error) {
	var m uintptr
	for _, c := range cpus {
		if c < 0 || c >= bits.UintSize {
			return 0, fmt.Errorf("matrix: CPU %d: Windows affinity masks hold CPUs 0 to %d", c, bits.UintSize-1)
		}
		m |= 1 << c
	}
	return m, nil
}

// startPinned starts cmd and pins it: SetProcessAffinityMask applies to
// every thread of the process, those it already has included.
func startPinned(cmd *exec.Cmd, cpus []int) error {
	if err := cmd.Start(); err != nil || len(cpus) == 0 {
		return err
	}
	m, err := mask(cpus)
	if err == nil {
		var h windows.Handle
		if h, err = winproc.Open(cmd.Process.Pid); err == nil {
			err = winproc.SetAffinity(h, m)
			windows.CloseHandle(h)
		}
	}
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
	}
	return err
}

// pinProcess pins this process to cpus and sizes GOMAXPROCS to match.
func pinProcess(cpus []int) error {
	m, err := mask(cpus)
	if err != nil {
		return err
	}
	if err := winproc.SetAffinity(windows.CurrentProcess(), m); err != nil {
		return err
	}
	runtime.GOMAXPROCS(len(cpus))
	return nil
}

type procCPU struct{ user, sys int64 }

// readProcCPU reads the process's CPU time (GetProcessTimes).
func readProcCPU(pid int) (procCPU, bool) {
	h, err := winproc.Open(pid)
	if err != nil {
		return procCPU{}, false
	}
	defer windows.CloseHandle(h)
	u, s, err := winproc.Times(h)
	return procCPU{user: u, sys: s}, err == nil
}

func exitCPU(st *os.ProcessState) (procCPU, bool) {
	if st == nil {
		return procCPU{}, false
	}
	return procCPU{user: int64(st.UserTime()), sys: int64(st.SystemTime())}, true
}

// unmeasured: Windows offers no context-switch count of another process
// short of performance counters.
var unmeasured = []string{"ctx_switches"}

// CheckCPUs checks that every CPU asked for is in this process's mask.
func CheckCPUs(cpus ...[]int) error {
	have, _, err := winproc.Affinity(windows.CurrentProcess())
	if err != nil {
		return err
	}
	for _, list := range cpus {
		for _, c := range list {
			if c < 0 || c >= bits.UintSize || have&(1<<c) == 0 {
				return fmt.Errorf("matrix: CPU %d is not one this process may use (have %s)", c, cpuNames(have))
			}
		}
	}
	return nil
}

func cpuNames(m uintptr) string {
	var parts []string
	for c := range bits.UintSize {
		if m&(1<<c) != 0 {
			parts = append(parts, strconv.Itoa(c))
		}
	}
	return strings.Join(parts, ",")
}

func threadCount(pid int) int {
	n, _ := winproc.Threads(pid)
	return n
}

func isZombie(pid int) bool { return false }

// peakRSS is the process's peak working set.
func peakRSS(pid int) int64 {
	h, err := winproc.Open(pid)
	if err != nil {
		return 0
	}
	defer windows.CloseHandle(h)
	n, _ := winproc.PeakWorkingSet(h)
	return n
}

func fillRusage(u *results.ServerUsage, st *os.ProcessState) {}

// usableCPUs are the CPUs this process may run on.
func usableCPUs() ([]int, error) {
	have, _, err := winproc.Affinity(windows.CurrentProcess())
	if err != nil {
		return nil, err
	}
	var cpus []int
	for c := range bits.UintSize {
		if have&(1<<c) != 0 {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// readCPUStat: per-CPU busy and steal time is read from /proc/stat on
// Linux only (Windows would need NtQuerySystemInformation's processor
// performance information; not done).
func readCPUStat() (map[int]cpuTicks, error) { return nil, errNoCPUStat }
