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
