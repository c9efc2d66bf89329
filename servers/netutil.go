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

// writeFull writes all of p with write (a blocking socket's send),
// finishing short writes: the blocking models' echo, on every OS.
func writeFull(p []byte, write func([]byte) (int, error)) error {
	for len(p) > 0 {
		n, err := write(p)
		if err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// model is the catalogue's entry for name, for the per-OS lists of
// variants. A name missing from Models is a mistake in this package:
// rather than panic in a library, it is listed as such, and
// TestAvailableInCatalogue fails on it.
func model(name string) Model {
	if m, ok := ModelNamed(name); ok {
		return m
	}
	return Model{Name: name, Summary: "(missing from the catalogue: a mistake in package servers)"}
}
