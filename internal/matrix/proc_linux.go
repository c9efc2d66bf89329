package matrix

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"iobench/results"
)

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

// readProcCPU reads utime and stime from /proc/PID/stat.
func readProcCPU(pid int) procCPU {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procCPU{}
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return procCPU{}
	}
	tick := int64(1e9 / 100) // USER_HZ is 100 on every Linux ABI
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return procCPU{user: ut * tick, sys: st * tick}
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

// fdLimit is the soft open-file limit (0 when unknown).
func fdLimit() int {
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) != nil || lim.Cur > 1<<30 {
		return 0
	}
	return int(lim.Cur)
}

// DefaultCPUs splits this process's CPUs: the first half for the server,
// the rest for the load generator.
func DefaultCPUs() (server, client []int, err error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, nil, err
	}
	var cpus []int
	for c := range 1024 {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) < 2 {
		return nil, nil, ErrNoCPUs
	}
	half := len(cpus) / 2
	return cpus[:half], cpus[half:], nil
}
