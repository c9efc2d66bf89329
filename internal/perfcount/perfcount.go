// Package perfcount counts, with the kernel's own counters, what a
// process does over a window: system calls, in total and by name (a BPF
// program on the sys_enter tracepoint; where it may not load, perf
// counters on raw_syscalls:sys_enter, in total only) and context switches
// (the software event), on every thread it has and every thread those
// create. Counts, unlike timings, do not
// drift with a shared machine's noise (docs/methodology.md).
package perfcount

import "errors"

// Kind is what a Set counts.
type Kind int

const (
	Syscalls        Kind = iota // raw_syscalls:sys_enter
	ContextSwitches             // PERF_COUNT_SW_CONTEXT_SWITCHES
)

func (k Kind) String() string {
	if k == Syscalls {
		return "system calls"
	}
	return "context switches"
}

// ErrUnavailable wraps every reason counting can't be done here.
var ErrUnavailable = errors.New("unavailable")

// Calls are the system calls counted by name (Set.ReadByName): what the
// models and the load generator use to wait, read, write, accept, close
// and sleep. Whatever else a process calls is "other": the total
// (raw_syscalls:sys_enter) minus these.
var Calls = []string{
	"read", "write", "recvfrom", "sendto", "recvmsg", "sendmsg", "readv", "writev",
	"epoll_wait", "epoll_pwait", "epoll_ctl", "select", "pselect6", "poll", "ppoll",
	"io_uring_enter", "accept4", "close", "futex", "sched_yield", "nanosleep", "clock_nanosleep", "setsockopt",
}
