package matrix

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// CPU lists: read from the flags, and the default split between server
// and generator.

// ParseCPUs parses "0", "0-3" or "0,2,4".
func ParseCPUs(s string) ([]int, error) {
	var cpus []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err1 := strconv.Atoi(lo)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b < a || b > 4095 {
			return nil, fmt.Errorf("matrix: bad CPU list %q: want e.g. 0, 0-3 or 0,2", s)
		}
		for c := a; c <= b; c++ {
			if slices.Contains(cpus, c) {
				return nil, fmt.Errorf("matrix: bad CPU list %q: CPU %d given twice", s, c)
			}
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// DefaultCPUs splits this process's CPUs: the first serverCores for the
// server (one by default: the same for every model), the rest for the
// generator, so on a machine of 4 or more the generator out-runs a
// one-core server. When the server takes them all, the generator shares
// them (shared is then true, and the report says so).
func DefaultCPUs(serverCores int) (server, client []int, shared bool, err error) {
	cpus, err := usableCPUs()
	if err != nil {
		return nil, nil, false, err
	}
	if len(cpus) < 2 {
		return nil, nil, false, ErrNoCPUs
	}
	n := min(max(serverCores, 1), len(cpus))
	if n == len(cpus) {
		return cpus, cpus, true, nil
	}
	return cpus[:n], cpus[n:], false, nil
}

// ErrNoCPUs is returned by DefaultCPUs when the machine has one CPU.
var ErrNoCPUs = errors.New("one CPU: server and load generator share it")
