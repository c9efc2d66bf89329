// Package perfcount counts, with the kernel's own counters, what a
// process does over a window: system calls (the raw_syscalls:sys_enter
// tracepoint) and context switches (the software event), on every thread
// it has and every thread those create. Counts, unlike timings, do not
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
