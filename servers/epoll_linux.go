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
	base, err := newLoopServer(cfg, cfg.Loops > 1)
	if err != nil {
		return nil, err
	}
	s := &epollServer{loopServer: base}
	for i := 1; i < cfg.Loops; i++ {
		ln, err := sock.NewListener(base.ln.Addr, true, true)
		if err != nil {
			s.Close()
			return nil, fmtListenErr(cfg.Addr, err)
		}
		s.extra = append(s.extra, ln)
	}
	return s, nil
}

func (s *epollServer) Close() error {
	err := s.loopServer.Close()
	for _, ln := range s.extra {
		ln.Close()
	}
	return err
}

func (s *epollServer) Serve(ctx context.Context) error {
	return s.serve(ctx, false, s.runLoops)
}

// runLoops runs one loop per listener and returns when all have stopped.
func (s *epollServer) runLoops() error {
	lns := append([]*sock.Listener{s.ln}, s.extra...)
	errc := make(chan error, len(lns))
	for _, ln := range lns {
		go func() { errc <- s.loop(ln) }()
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

func (s *epollServer) loop(ln *sock.Listener) error {
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

	edge := s.cfg.Edge
	connEvents := uint32(unix.EPOLLIN | unix.EPOLLRDHUP)
	if edge {
		connEvents |= unix.EPOLLOUT | unix.EPOLLET
	}
	var conns []*conn // indexed by descriptor
	defer func() {
		for _, c := range conns {
			if c != nil {
				s.closeConn(c)
			}
		}
	}()
	setInterest := func(c *conn, events uint32) {
		ev := unix.EpollEvent{Events: events, Fd: int32(c.fd)}
		_ = unix.EpollCtl(ep, unix.EPOLL_CTL_MOD, c.fd, &ev)
	}

	scratch := make([]byte, s.cfg.MaxMsg)
	events := make([]unix.EpollEvent, 512)
	for {
		n, err := sock.EpollWait(ep, events)
		if err != nil {
			return fmt.Errorf("servers: %w", err)
		}
		for i := range n {
			fd := int(events[i].Fd)
			switch {
			case fd == int(s.ev):
				return nil
			case fd == ln.FD:
				for {
					cfd, ok := s.accept(ln)
					if !ok {
						break
					}
					for cfd >= len(conns) {
						conns = append(conns, nil)
					}
					conns[cfd] = s.admit(cfd)
					ev := unix.EpollEvent{Events: connEvents, Fd: int32(cfd)}
					if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, cfd, &ev); err != nil {
						s.closeConn(conns[cfd])
						conns[cfd] = nil
					}
				}
			case fd < len(conns) && conns[fd] != nil:
				c := conns[fd]
				var st next
				if edge {
					st = c.drain(scratch, s.cfg.Work)
				} else {
					st = c.step(scratch, s.cfg.Work)
				}
				switch {
				case st == closeNow:
					conns[fd] = nil
					s.closeConn(c) // close(2) also drops it from the epoll set
				case edge:
				case st == wantWrite && !c.writing:
					c.writing = true
					setInterest(c, unix.EPOLLOUT|unix.EPOLLRDHUP)
				case st != wantWrite && c.writing:
					c.writing = false
					setInterest(c, connEvents)
				}
			}
		}
	}
}
