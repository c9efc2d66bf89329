package servers

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"iobench/internal/sock"

	"golang.org/x/sys/unix"
)

// epollServer runs cfg.Loops event loops, each on its own OS thread with its
// own epoll instance and its own listening socket; the sockets share the
// port through SO_REUSEPORT, so the kernel spreads connections over loops.
//
// Per message (level-triggered): epoll_wait (amortised over the ready
// connections) → read → write. A short write switches the connection's
// interest from EPOLLIN to EPOLLOUT (epoll_ctl MOD) until the reply is out.
// Edge-triggered connections are registered once for both directions and
// drained to EAGAIN on every edge.
type epollServer struct {
	*loopServer
	extra []*sock.Listener // listeners of loops 2..N
}

func newEpoll(cfg Config) (Server, error) {
	ls, err := newLoopServer(cfg, cfg.Loops > 1)
	if err != nil {
		return nil, err
	}
	s := &epollServer{loopServer: ls}
	s.makeShares(cfg.Loops)
	for i := 1; i < cfg.Loops; i++ {
		ln, err := sock.NewListener(ls.ln.Addr, true, true)
		if err != nil {
			s.Close()
			return nil, fmtListenErr(cfg.Addr, err)
		}
		s.extra = append(s.extra, ln)
		s.onRelease(ln.Close)
	}
	return s, nil
}

func (s *epollServer) Serve(ctx context.Context) error {
	return s.serve(ctx, false, s.runLoops)
}

// runLoops runs one loop per listener and returns when all have stopped.
func (s *epollServer) runLoops() error {
	lns := append([]*sock.Listener{s.ln}, s.extra...)
	errc := make(chan error, len(lns))
	for i, ln := range lns {
		go func() { errc <- s.loop(i, ln) }()
	}
	var errs []error
	for range lns {
		if err := <-errc; err != nil {
			errs = append(errs, err)
			s.stop() // one loop failed: stop the others too
		}
	}
	return errors.Join(errs...)
}

// epollLoop is one loop's state: its epoll instance, its listener and
// the connections it owns, indexed by descriptor.
type epollLoop struct {
	s          *epollServer
	index      int // which loop: its share of the connections is counted
	ep         int
	ln         *sock.Listener
	connEvents uint32 // interest of a connection with nothing pending
	conns      []*conn
	scratch    []byte
}

func (s *epollServer) loop(index int, ln *sock.Listener) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return wrapSyscall("epoll_create1", err)
	}
	defer unix.Close(ep)
	for _, fd := range []int{int(s.ev), ln.FD} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return wrapSyscall("epoll_ctl", err)
		}
	}
	l := &epollLoop{s: s, index: index, ep: ep, ln: ln, connEvents: unix.EPOLLIN | unix.EPOLLRDHUP, scratch: make([]byte, s.cfg.MaxMsg)}
	if s.cfg.Edge {
		l.connEvents |= unix.EPOLLOUT | unix.EPOLLET
	}
	defer l.closeAll()

	events := make([]unix.EpollEvent, 512)
	for {
		n, err := sock.EpollWait(ep, events)
		if err != nil {
			return fmt.Errorf("servers: %w", err)
		}
		for i := range n {
			switch fd := int(events[i].Fd); {
			case fd == int(s.ev):
				return nil
			case fd == ln.FD:
				l.acceptAll()
			case fd < len(l.conns) && l.conns[fd] != nil:
				l.step(l.conns[fd])
			}
		}
	}
}

// acceptAll takes every pending connection and adds it to the interest set.
func (l *epollLoop) acceptAll() {
	for {
		fd, ok := l.s.accept(l.ln)
		if !ok {
			return
		}
		for fd >= len(l.conns) {
			l.conns = append(l.conns, nil)
		}
		l.conns[fd] = l.s.admit(fd)
		l.s.countShare(l.index)
		ev := unix.EpollEvent{Events: l.connEvents, Fd: int32(fd)}
		if err := unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			l.s.logf("closing a new connection: epoll_ctl ADD: %v", err)
			l.drop(l.conns[fd])
		}
	}
}

// step runs c's echo state machine on a readiness event. Level-triggered,
// it then watches for what c waits for next (EPOLLOUT only while a reply
// is pending); edge-triggered, c drained everything and the interest
// (IN|OUT|ET) never changes.
func (l *epollLoop) step(c *conn) {
	if l.s.cfg.Edge {
		if c.drain(l.scratch, l.s.cfg.Work) == closeNow {
			l.drop(c)
		}
		return
	}
	st := c.step(l.scratch, l.s.cfg.Work)
	switch {
	case st == closeNow:
		l.drop(c)
	case st == wantWrite && !c.writing:
		l.watch(c, true)
	case st != wantWrite && c.writing:
		l.watch(c, false)
	}
}

// watch sets c's interest to writable (a reply is pending) or readable.
// A connection whose interest can't be changed would never be woken
// again: it is closed, not left to hang its client.
func (l *epollLoop) watch(c *conn, writable bool) {
	events := l.connEvents
	if writable {
		events = unix.EPOLLOUT | unix.EPOLLRDHUP
	}
	ev := unix.EpollEvent{Events: events, Fd: int32(c.fd)}
	if err := unix.EpollCtl(l.ep, unix.EPOLL_CTL_MOD, c.fd, &ev); err != nil {
		l.s.logf("closing a connection: epoll_ctl MOD: %v", err)
		l.drop(c)
		return
	}
	c.writing = writable
}

// drop closes c; close(2) also drops it from the epoll set.
func (l *epollLoop) drop(c *conn) {
	l.conns[c.fd] = nil
	l.s.closeConn(c)
}

func (l *epollLoop) closeAll() {
	for _, c := range l.conns {
		if c != nil {
			l.s.closeConn(c)
		}
	}
}
