package servers

import (
	"errors"
	"sync"

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
	if reusePort {
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

func (e eventfd) wake() {
	var one = [8]byte{1}
	_, _ = sock.Write(int(e), one[:])
}

// loopServer is the part every single-threaded Linux loop shares: the
// listener, the wake-up eventfd, the connection table and its counters.
type loopServer struct {
	cfg     Config
	ln      *sock.Listener
	ev      eventfd
	release sync.Once
	lifecycle
	counters
}

func newLoopServer(cfg Config, reusePort bool) (*loopServer, error) {
	ln, err := listen(cfg, true, reusePort)
	if err != nil {
		return nil, err
	}
	ev, err := newEventfd()
	if err != nil {
		ln.Close()
		return nil, err
	}
	s := &loopServer{cfg: cfg, ln: ln, ev: ev, lifecycle: newLifecycle()}
	s.logf = cfg.Logf
	s.wake = ev.wake
	return s, nil
}

func (s *loopServer) Addr() string { return s.ln.Addr.String() }

func (s *loopServer) Close() error {
	s.shutdown()
	var err error
	s.release.Do(func() {
		unix.Close(int(s.ev))
		err = s.ln.Close()
	})
	return err
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
	s.accepted.Add(1)
	s.active.Add(1)
	return &conn{fd: fd}
}

// closeConn closes a connection the loop owns.
func (s *loopServer) closeConn(c *conn) {
	unix.Close(c.fd)
	c.fd = -1
	s.active.Add(-1)
}
