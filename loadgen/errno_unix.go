//go:build unix

package loadgen

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// errnoName names a connection error by its errno ("ECONNREFUSED").
func errnoName(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		if name := unix.ErrnoName(en); name != "" {
			return name
		}
		return en.Error()
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return "ETIMEDOUT (connect timeout)"
	}
	return err.Error()
}

// resourceLimit describes the limit behind a resource errno, or "" when
// the errno is not about a local resource.
func resourceLimit(name string) string {
	switch name {
	case "EMFILE", "ENFILE":
		var lim unix.Rlimit
		unix.Getrlimit(unix.RLIMIT_NOFILE, &lim)
		return fmt.Sprintf("out of file descriptors: the open-file limit (ulimit -n) is %d soft, %d hard, and every connection needs one", lim.Cur, lim.Max)
	case "EADDRNOTAVAIL":
		lo, hi := ephemeralPorts()
		return fmt.Sprintf("out of ephemeral ports (net.ipv4.ip_local_port_range %s-%s) for this destination; connections in TIME_WAIT hold theirs for 60s", lo, hi)
	}
	return ""
}

// FDLimit is this process's soft open-file limit, or 0 when unknown or
// unlimited.
func FDLimit() int {
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) != nil || lim.Cur > 1<<30 {
		return 0
	}
	return int(lim.Cur)
}
