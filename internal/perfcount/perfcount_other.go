//go:build !linux

package perfcount

import (
	"fmt"
	"runtime"
)

// Set is a counting Set; there are none outside Linux yet.
type Set struct{}

// Open reports that kernel counting is Linux only here.
func Open(pid int, kind Kind) (*Set, error) {
	return nil, fmt.Errorf("%w: counting %s is implemented with perf_event_open, on Linux only (this is %s)", ErrUnavailable, kind, runtime.GOOS)
}

func (s *Set) Read() (uint64, error) { return 0, ErrUnavailable }

func (s *Set) Close() {}

// ReadByName reports that counting by name is Linux only here (Windows
// would need an ETW session on the kernel's system-call events).
func (s *Set) ReadByName(names []string) (map[string]uint64, error) {
	return nil, fmt.Errorf("%w: counting system calls by name is implemented with a BPF program, on Linux only (this is %s; Windows would need ETW's kernel system-call events)", ErrUnavailable, runtime.GOOS)
}
