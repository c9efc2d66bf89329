package matrix

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"iobench/results"
)

// stopByStdin: Linux asks a child to stop with SIGTERM.
const stopByStdin = false

// childAttr: the child dies with us (no orphan servers, even if we are
// killed with SIGKILL) and gets its own process group.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

func cpuSet(cpus []int) *unix.CPUSet {
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	return &set
}

// startPinned starts cmd so that every thread it ever has runs on cpus: a
// child inherits the affinity of the thread that forks it, so this thread
// takes the server's CPUs for the moment of the fork. (Pinning the child
// afterwards would miss the threads the Go runtime already started.)
func startPinned(cmd *exec.Cmd, cpus []int) error {
	if len(cpus) == 0 {
		return cmd.Start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return err
	}
	if err := unix.SchedSetaffinity(0, cpuSet(cpus)); err != nil {
		return err
	}
	err := cmd.Start()
	if rerr := unix.SchedSetaffinity(0, &old); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// pinProcess pins every thread of this process to cpus (threads created
// later inherit it) and sizes GOMAXPROCS to match.
func pinProcess(cpus []int) error {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, e := range ents {
		tid, _ := strconv.Atoi(e.Name())
		if err := unix.SchedSetaffinity(tid, cpuSet(cpus)); err != nil {
			return err
		}
	}
	runtime.GOMAXPROCS(len(cpus))
	return nil
}

// procCPU is a process's CPU time so far, in nanoseconds.
type procCPU struct{ user, sys int64 }

// readProcCPU reads utime and stime from /proc/PID/stat; ok is false when
// the process is gone (reaped) or the file unreadable.
func readProcCPU(pid int) (procCPU, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procCPU{}, false
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return procCPU{}, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return procCPU{}, false
	}
	return procCPU{user: ut * clockTick, sys: st * clockTick}, true
}

// clockTick is USER_HZ in nanoseconds: 100 Hz on every Linux ABI.
const clockTick = int64(1e9 / 100)

// exitCPU is the whole-life CPU time of a reaped child.
func exitCPU(st *os.ProcessState) (procCPU, bool) {
	if st == nil {
		return procCPU{}, false
	}
	return procCPU{user: int64(st.UserTime()), sys: int64(st.SystemTime())}, true
}

// unmeasured: Linux measures every server figure.
var unmeasured []string

// CheckCPUs checks that every CPU asked for is one this process may run on.
func CheckCPUs(cpus ...[]int) error {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return err
	}
	for _, list := range cpus {
		for i, c := range list {
			if slices.Contains(list[:i], c) {
				return fmt.Errorf("matrix: CPU %d given twice", c)
			}
			if c < 0 || c >= 8*int(unsafe.Sizeof(set)) {
				return fmt.Errorf("matrix: CPU %d does not exist (want 0 to %d)", c, 8*int(unsafe.Sizeof(set))-1)
			}
			if !set.IsSet(c) {
				return fmt.Errorf("matrix: CPU %d is not one this process may use (have %s)", c, cpuListOf(&set))
			}
		}
	}
	return nil
}

func cpuListOf(set *unix.CPUSet) string {
	var parts []string
	for c := range 1024 {
		if set.IsSet(c) {
			parts = append(parts, strconv.Itoa(c))
		}
	}
	return strings.Join(parts, ",")
}

// statusField reads a number from /proc/PID/status ("Threads", "VmHWM").
func statusField(pid int, name string) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}

// isZombie: pid has exited and waits to be reaped.
func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] == "Z"
}

func threadCount(pid int) int { return int(statusField(pid, "Threads")) }

// peakRSS is the process's peak resident memory since exec (VmHWM). The
// rusage of a reaped child is no use here: its ru_maxrss counts the
// parent's memory the child shared between fork and exec.
func peakRSS(pid int) int64 { return statusField(pid, "VmHWM") * 1024 }

// fillRusage takes memory and context switches from the reaped child.
func fillRusage(u *results.ServerUsage, st *os.ProcessState) {
	ru, ok := st.SysUsage().(*syscall.Rusage)
	if !ok {
		return
	}
	u.VolCtxSw, u.InvolCtxSw = ru.Nvcsw, ru.Nivcsw
}

// usableCPUs are the CPUs this process may run on.
func usableCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, err
	}
	var cpus []int
	for c := range 1024 {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// readCPUStat reads every CPU's busy and steal time from /proc/stat, in
// ns. Busy is user + nice + system + irq + softirq: the kernel charges a
// task's soft interrupts to its system time too, so a process's own time
// is inside this sum and can be subtracted from it.
func readCPUStat() (map[int]cpuTicks, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, err
	}
	out := map[int]cpuTicks{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		n, err := strconv.Atoi(f[0][3:])
		if err != nil {
			continue
		}
		var v [8]int64
		for i := range v {
			v[i], _ = strconv.ParseInt(f[i+1], 10, 64)
		}
		// user nice system idle iowait irq softirq steal
		out[n] = cpuTicks{busy: (v[0] + v[1] + v[2] + v[5] + v[6]) * clockTick, steal: v[7] * clockTick}
	}
	return out, nil
}
