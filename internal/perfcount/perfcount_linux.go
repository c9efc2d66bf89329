package perfcount

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Set is one counter per thread of a process, each inherited by the
// threads that thread creates (perf_event_open(2), attr.inherit): reading
// a counter sums its inherited children, so the Set covers every thread
// the process has or will have, from Open on.
type Set struct {
	kind Kind
	fds  []int
}

// tracefs is where the tracepoint ids are: the tracing file system, or its
// older place under debugfs.
var tracefsDirs = []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}

// syscallTracepoint finds the id of raw_syscalls:sys_enter, mounting
// tracefs at /sys/kernel/tracing once if it is not mounted and we may.
var syscallTracepoint = sync.OnceValues(func() (uint64, error) {
	read := func() (uint64, error) {
		var last error
		for _, dir := range tracefsDirs {
			b, err := os.ReadFile(dir + "/events/raw_syscalls/sys_enter/id")
			if err == nil {
				return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
			}
			last = err
		}
		return 0, last
	}
	id, err := read()
	if err == nil {
		return id, nil
	}
	if os.Geteuid() != 0 {
		return 0, fmt.Errorf("%w: no tracefs (mount -t tracefs nodev /sys/kernel/tracing needs root): %v", ErrUnavailable, err)
	}
	if merr := unix.Mount("nodev", tracefsDirs[0], "tracefs", 0, ""); merr != nil {
		return 0, fmt.Errorf("%w: tracefs not mounted and mounting it failed: %v", ErrUnavailable, merr)
	}
	if id, err = read(); err != nil {
		return 0, fmt.Errorf("%w: no raw_syscalls:sys_enter tracepoint: %v", ErrUnavailable, err)
	}
	return id, nil
})

func attr(kind Kind) (*unix.PerfEventAttr, error) {
	a := &unix.PerfEventAttr{Size: uint32(unsafe.Sizeof(unix.PerfEventAttr{})), Bits: unix.PerfBitInherit}
	switch kind {
	case Syscalls:
		id, err := syscallTracepoint()
		if err != nil {
			return nil, err
		}
		a.Type, a.Config = unix.PERF_TYPE_TRACEPOINT, id
	default:
		a.Type, a.Config = unix.PERF_TYPE_SOFTWARE, unix.PERF_COUNT_SW_CONTEXT_SWITCHES
	}
	return a, nil
}

// Open starts counting kind for every thread of process pid (0: this
// process).
//
// A thread that another thread creates while Open goes through the list
// would be missed if its creator was not counted yet (a Go program starts
// threads at any time): so another process is stopped (SIGSTOP) while its
// counters are opened, and continued after. This process can't stop
// itself; it should open when it starts few threads.
func Open(pid int, kind Kind) (*Set, error) {
	a, err := attr(kind)
	if err != nil {
		return nil, err
	}
	sets, err := openPerThread(pid, kind, []*unix.PerfEventAttr{a}, nil)
	if err != nil {
		return nil, err
	}
	if len(sets[0].fds) == 0 {
		return nil, fmt.Errorf("perfcount: process %d has no threads left", pid)
	}
	return sets[0], nil
}

// openPerThread opens each of attrs on every thread of pid (0: this
// process), another process stopped meanwhile so that no thread starts
// unseen (see Open); allow, when set, may refuse the thread count first.
func openPerThread(pid int, kind Kind, attrs []*unix.PerfEventAttr, allow func(threads int) error) ([]*Set, error) {
	if pid != 0 && pid != os.Getpid() {
		if err := stop(pid); err != nil {
			return nil, err
		}
		defer unix.Kill(pid, unix.SIGCONT)
	}
	dir := "/proc/self/task"
	if pid != 0 {
		dir = "/proc/" + strconv.Itoa(pid) + "/task"
	}
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("perfcount: %w", err)
	}
	if allow != nil {
		if err := allow(len(tasks)); err != nil {
			return nil, err
		}
	}
	sets := make([]*Set, len(attrs))
	closeAll := func() {
		for _, s := range sets {
			if s != nil {
				s.Close()
			}
		}
	}
	for i, a := range attrs {
		sets[i] = &Set{kind: kind}
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			fd, err := unix.PerfEventOpen(a, tid, -1, -1, unix.PERF_FLAG_FD_CLOEXEC)
			if errors.Is(err, unix.ESRCH) {
				continue // the thread exited meanwhile
			}
			if err != nil {
				closeAll()
				return nil, explain(kind, err)
			}
			sets[i].fds = append(sets[i].fds, fd)
		}
	}
	return sets, nil
}

// stop stops process pid and waits until every thread of it has stopped,
// so that none can start another.
func stop(pid int) error {
	if err := unix.Kill(pid, unix.SIGSTOP); err != nil {
		return fmt.Errorf("perfcount: stopping process %d to count it: %w", pid, err)
	}
	dir := "/proc/" + strconv.Itoa(pid) + "/task/"
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Microsecond) {
		tasks, err := os.ReadDir(dir)
		if err != nil {
			break
		}
		all := true
		for _, t := range tasks {
			b, err := os.ReadFile(dir + t.Name() + "/stat")
			if err != nil {
				continue // exited
			}
			st := string(b)
			if f := strings.Fields(st[strings.LastIndexByte(st, ')')+1:]); len(f) > 0 && f[0] != "T" && f[0] != "t" && f[0] != "Z" {
				all = false
				break
			}
		}
		if all {
			return nil
		}
	}
	unix.Kill(pid, unix.SIGCONT)
	return fmt.Errorf("%w: process %d did not stop within 1s to have its counters opened", ErrUnavailable, pid)
}

// explain turns perf_event_open's refusal into the reason to show.
func explain(kind Kind, err error) error {
	switch {
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		paranoid, _ := os.ReadFile("/proc/sys/kernel/perf_event_paranoid")
		return fmt.Errorf("%w: counting %s not permitted (perf_event_paranoid %s; needs root or CAP_PERFMON)", ErrUnavailable, kind, strings.TrimSpace(string(paranoid)))
	case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.ENOENT), errors.Is(err, unix.EOPNOTSUPP):
		return fmt.Errorf("%w: the kernel can't count %s here (%v)", ErrUnavailable, kind, err)
	}
	return fmt.Errorf("%w: perf_event_open: %v", ErrUnavailable, err)
}

// Read is the count so far over the whole Set.
func (s *Set) Read() (uint64, error) {
	var total uint64
	var b [8]byte
	for _, fd := range s.fds {
		if _, err := unix.Read(fd, b[:]); err != nil {
			return 0, fmt.Errorf("perfcount: reading a counter: %w", err)
		}
		total += binary.NativeEndian.Uint64(b[:])
	}
	return total, nil
}

// Close stops counting.
func (s *Set) Close() {
	for _, fd := range s.fds {
		unix.Close(fd)
	}
	s.fds = nil
}

// callTracepoint is the id of syscalls:sys_enter_NAME, or an error when
// this kernel has no such tracepoint (that call does not exist here).
func callTracepoint(name string) (uint64, error) {
	if _, err := syscallTracepoint(); err != nil { // mounts tracefs if it must
		return 0, err
	}
	var last error
	for _, dir := range tracefsDirs {
		b, err := os.ReadFile(dir + "/events/syscalls/sys_enter_" + name + "/id")
		if err == nil {
			return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		}
		last = err
	}
	return 0, last
}

// Named counts system calls by name, each a Set.
type Named struct {
	sets map[string]*Set
}

// OpenByName starts counting each of names that this kernel has a
// tracepoint for, on every thread of pid and every thread those create
// (as Open does, with the process stopped while the counters open).
func OpenByName(pid int, names []string) (*Named, error) {
	type call struct {
		name string
		attr *unix.PerfEventAttr
	}
	var calls []call
	for _, name := range names {
		id, err := callTracepoint(name)
		if errors.Is(err, ErrUnavailable) {
			return nil, err
		}
		if err != nil {
			continue // no such call on this kernel
		}
		a := &unix.PerfEventAttr{Size: uint32(unsafe.Sizeof(unix.PerfEventAttr{})), Bits: unix.PerfBitInherit,
			Type: unix.PERF_TYPE_TRACEPOINT, Config: id}
		calls = append(calls, call{name, a})
	}
	attrs := make([]*unix.PerfEventAttr, len(calls))
	for i, c := range calls {
		attrs[i] = c.attr
	}
	sets, err := openPerThread(pid, Syscalls, attrs, func(threads int) error {
		if n := threads * len(calls); n > MaxNamedFDs {
			return fmt.Errorf("%w: %d threads × %d calls would take %d descriptors (at most %d): counted in total only", ErrUnavailable, threads, len(calls), n, MaxNamedFDs)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	nm := &Named{sets: map[string]*Set{}}
	for i, c := range calls {
		nm.sets[c.name] = sets[i]
	}
	return nm, nil
}

// Read is each call's count so far.
func (n *Named) Read() (map[string]uint64, error) {
	out := make(map[string]uint64, len(n.sets))
	for name, s := range n.sets {
		v, err := s.Read()
		if err != nil {
			return nil, err
		}
		out[name] = v
	}
	return out, nil
}

// Close stops counting.
func (n *Named) Close() {
	for _, s := range n.sets {
		s.Close()
	}
	n.sets = nil
}
