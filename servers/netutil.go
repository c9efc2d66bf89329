package servers

import (
	"errors"
	"syscall"
)

// isFDLimit reports whether err is the process or system descriptor limit.
func isFDLimit(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// isAddrInUse reports whether a bind failed because the port is taken
// (EADDRINUSE; WSAEADDRINUSE, 10048, on Windows, which syscall does not map).
func isAddrInUse(err error) bool {
	var en syscall.Errno
	return errors.Is(err, syscall.EADDRINUSE) || errors.As(err, &en) && en == 10048
}

func modelsByName() map[string]Model {
	m := map[string]Model{}
	for _, model := range Models() {
		m[model.Name] = model
	}
	return m
}
