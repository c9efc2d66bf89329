package loadgen

import (
	"errors"
	"fmt"
)

// Descriptors: whether a run's connections fit under the open-file limit,
// said before any connection is made.

// ResourceError is a connection failure that more tries can't fix: the
// descriptor limit or the ephemeral ports ran out. Nothing was measured.
type ResourceError struct {
	Errno       string // EMFILE, ENFILE, EADDRNOTAVAIL
	Established int
	Requested   int
	Limit       string // the limit to raise, and its value when known
}

func (e *ResourceError) Error() string {
	return fmt.Sprintf("loadgen: %s after %d of %d connections: %s", e.Errno, e.Established, e.Requested, e.Limit)
}

// FDReserve is the descriptors a process needs besides its connections
// (epoll and event descriptors, standard streams, the runtime's own).
const FDReserve = 64

// ErrFDLimit is returned before connecting when the connections asked for
// can't fit under the open-file limit.
var ErrFDLimit = errors.New("too many connections for the open-file limit")

// CheckFDs says, before any connection is made, whether n connections fit
// under this process's open-file limit (a server holding n connections
// needs as many: run checks its cells with it too).
func CheckFDs(n int) error {
	if why := FDShortfall(n); why != "" {
		return fmt.Errorf("loadgen: %w: %s", ErrFDLimit, why)
	}
	return nil
}

// FDShortfall says why n connections do not fit under the open-file
// limit ("" when they do): the reason CheckFDs gives.
func FDShortfall(n int) string {
	if lim := FDLimit(); lim > 0 && n+FDReserve > lim {
		return fmt.Sprintf("%d connections need about %d descriptors, the limit (ulimit -n) is %d: at most %d connections fit, or raise the limit",
			n, n+FDReserve, lim, lim-FDReserve)
	}
	return ""
}
