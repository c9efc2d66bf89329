package servers

import (
	"errors"

	"iobench/internal/sock"

	"golang.org/x/sys/unix"
)

// Non-blocking read and write for the shared echo state machine (echo.go):
// raw syscalls (see sock.ReadNB), EAGAIN meaning "not now".
var errAgain error = unix.EAGAIN

func readNB(fd int, p []byte) (int, error)  { return sock.ReadNB(fd, p) }
func writeNB(fd int, p []byte) (int, error) { return sock.WriteNB(fd, p) }

// listen binds cfg.Addr for the Linux models.
func listen(cfg Config, nonblock, reusePort bool) (*sock.Listener, error) {
	ap, err := parseAddr(cfg.Addr)
	if err != nil {
		return nil, err
	}
	if reusePort && !cfg.join {
		if err := sock.CheckFree(ap); err != nil {
			return nil, fmtListenErr(cfg.Addr, err)
		}
	}
	l, err := sock.NewListener(ap, nonblock, reusePort)
	if err != nil {
		return nil, fmtListenErr(cfg.Addr, err)
	}
	return l, nil
}

// eventfd is the wake-up descriptor of the poll, select and epoll loops.
type eventfd int

func newEventfd() (eventfd, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return -1, wrapSyscall("eventfd", err)
	}
	return eventfd(fd), nil
}

func (e eventfd) close() error { return unix.Close(int(e)) }

func (e eventfd) wake() {
	var one = [8]byte{1}
	_, _ = sock.Write(int(e), one[:])
}

// loopServer is the part every single-threaded Linux loop shares beyond
// the base: the wake-up eventfd and the connection bookkeeping.
type loopServer struct {
	*base
	ev eventfd
}

func newLoopServer(cfg Config, reusePort bool) (*loopServer, error) {
	b, err := newBase(cfg, listenOpts{nonblock: true, reusePort: reusePort})
	if err != nil {
		return nil, err
	}
	ev, err := newEventfd()
	if err != nil {
		b.Close()
		return nil, err
	}
	b.onRelease(ev.close)
	b.wake = ev.wake
	return &loopServer{base: b, ev: ev}, nil
}

// accept takes one pending connection from ln; ok is false when none is
// pending. Refusals (descriptor limits) are counted here.
func (s *loopServer) accept(ln *sock.Listener) (fd int, ok bool) {
	for {
		fd, err := ln.Accept(true)
		switch {
		case err == nil:
			return fd, true
		case errors.Is(err, sock.ErrFDLimit):
			s.refuse(err.Error())
		default: // EAGAIN, or a listener error: nothing to take now
			return -1, false
		}
	}
}

// admit counts a newly accepted connection as served.
func (s *loopServer) admit(fd int) *conn {
	s.opened()
	return &conn{fd: fd}
}

// closeConn closes a connection the loop owns.
func (s *loopServer) closeConn(c *conn) {
	unix.Close(c.fd)
	c.fd = -1
	s.active.Add(-1)
}
