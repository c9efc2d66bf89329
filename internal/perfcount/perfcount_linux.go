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

// Set counts kind for every thread a process has or will have, from
// Open on. System calls are counted by the shared BPF program (calls),
// which knows each call's number too; where it may not load, and for
// context switches, a Set is one perf counter per thread, each inherited
// by the threads that thread creates (perf_event_open(2), attr.inherit):
// reading a counter sums its inherited children.
type Set struct {
	kind     Kind
	fds      []int
	calls    *callSet // system calls, by the BPF program
	namesErr error    // why calls is nil: no counts by name
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
		return 0, fmt.Errorf("%w: no tracefs (mount -t tracefs nodev /sys/kernel/tracing needs root): %w", ErrUnavailable, err)
	}
	if merr := unix.Mount("nodev", tracefsDirs[0], "tracefs", 0, ""); merr != nil {
		return 0, fmt.Errorf("%w: tracefs not mounted and mounting it failed: %w", ErrUnavailable, merr)
	}
	if id, err = read(); err != nil {
		return 0, fmt.Errorf("%w: no raw_syscalls:sys_enter tracepoint: %w", ErrUnavailable, err)
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

// noBPF, set by a test, stands for a machine where the BPF program may
// not load.
var noBPF error

// Open starts counting kind for every thread of process pid (0: this
// process).
//
// A thread that another thread creates while Open goes through the list
// would be missed if its creator was not counted yet (a Go program starts
// threads at any time): so another process is stopped (SIGSTOP) while its
// counters are opened, and continued after. This process can't stop
// itself; it should open when it starts few threads.
func Open(pid int, kind Kind) (*Set, error) {
	var namesErr error
	if kind == Syscalls {
		if pid == 0 {
			pid = os.Getpid()
		}
		if err := unix.Kill(pid, 0); err != nil {
			return nil, fmt.Errorf("perfcount: process %d: %w", pid, err)
		}
		c, err := openCalls(pid)
		if noBPF != nil {
			c, err = nil, noBPF // a test of the fallback
		}
		if err == nil {
			return &Set{kind: kind, calls: c}, nil
		}
		namesErr = err // the total from perf counters, no names
	}
	a, err := attr(kind)
	var sets []*Set
	if err == nil {
		sets, err = openPerThread(pid, kind, []*unix.PerfEventAttr{a})
	}
	if err != nil && namesErr != nil { // neither way: say both
		return nil, fmt.Errorf("%w; and %s", err, strings.TrimPrefix(namesErr.Error(), ErrUnavailable.Error()+": "))
	}
	if err != nil {
		return nil, err
	}
	if len(sets[0].fds) == 0 {
		return nil, fmt.Errorf("perfcount: process %d has no threads left", pid)
	}
	sets[0].namesErr = namesErr
	return sets[0], nil
}

// openPerThread opens each of attrs on every thread of pid (0: this
// process), another process stopped meanwhile so that no thread starts
// unseen (see Open).
func openPerThread(pid int, kind Kind, attrs []*unix.PerfEventAttr) ([]*Set, error) {
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
		return fmt.Errorf("%w: the kernel can't count %s here (%w)", ErrUnavailable, kind, err)
	}
	return fmt.Errorf("%w: perf_event_open: %w", ErrUnavailable, err)
}

// Read is the count so far over the whole Set.
func (s *Set) Read() (uint64, error) {
	if s.calls != nil {
		return s.calls.total()
	}
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

// ReadByName is the count so far of each of names (a system-call Set;
// a name this architecture lacks is left out), or why there is none.
func (s *Set) ReadByName(names []string) (map[string]uint64, error) {
	if s.calls == nil {
		if s.namesErr != nil {
			return nil, s.namesErr
		}
		return nil, fmt.Errorf("%w: %s are not counted by name", ErrUnavailable, s.kind)
	}
	return s.calls.byName(names)
}

// Close stops counting.
func (s *Set) Close() {
	if s.calls != nil {
		s.calls.close()
		s.calls = nil
	}
	for _, fd := range s.fds {
		unix.Close(fd)
	}
	s.fds = nil
}
