package loadgen

import (
	"errors"
	"os"
	"syscall"
)

// errnoName names a connection error by its Winsock error text.
func errnoName(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		switch en {
		case syscall.Errno(10061): // WSAECONNREFUSED
			return "ECONNREFUSED"
		case syscall.Errno(10049): // WSAEADDRNOTAVAIL
			return "EADDRNOTAVAIL"
		case syscall.Errno(10024): // WSAEMFILE
			return "EMFILE"
		}
		return en.Error()
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return "ETIMEDOUT (connect timeout)"
	}
	return err.Error()
}

func resourceLimit(name string) string {
	switch name {
	case "EMFILE":
		return "out of socket handles"
	case "EADDRNOTAVAIL":
		return "out of ephemeral ports (netsh int ipv4 show dynamicport tcp)"
	}
	return ""
}

func platformRSS() int64 { return 0 }

// FDLimit is 0 on Windows: sockets are handles, limited by memory, not by
// a per-process count.
func FDLimit() int { return 0 }
