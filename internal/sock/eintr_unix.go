//go:build unix

package sock

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Read is read(2) with EINTR retried: a signal landing mid-call is not an
// error of the descriptor. One implementation for every unix.
func Read(fd int, p []byte) (int, error) {
	for {
		n, err := unix.Read(fd, p)
		if !errors.Is(err, unix.EINTR) {
			return n, err
		}
	}
}

// Write is write(2) with EINTR retried.
func Write(fd int, p []byte) (int, error) {
	for {
		n, err := unix.Write(fd, p)
		if !errors.Is(err, unix.EINTR) {
			return n, err
		}
	}
}
