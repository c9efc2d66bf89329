package servers

import (
	"context"
	"errors"

	"golang.org/x/sys/unix"
)

// pollServer is one thread around poll(2). The pollfd array is rebuilt in
// place every round: POLLIN for a connection with nothing pending, POLLOUT
// for one with a pending reply. The kernel and this loop both walk the
// whole array on every wakeup, so the cost per wakeup grows with the
// number of connections, busy or idle.
type pollServer struct{ *loopServer }

func newPoll(cfg Config) (Server, error) {
	base, err := newLoopServer(cfg, false)
	if err != nil {
		return nil, err
	}
	return pollServer{base}, nil
}

func (s pollServer) Serve(ctx context.Context) error {
	return s.serve(ctx, true, s.loop)
}

func (s pollServer) loop() error {

	// pfds[0] is the wake-up eventfd, pfds[1] the listener, pfds[2+i]
	// belongs to conns[i].
	pfds := []unix.PollFd{{Fd: int32(s.ev), Events: unix.POLLIN}, {Fd: int32(s.ln.FD), Events: unix.POLLIN}}
	var conns []*conn
	defer func() {
		for _, c := range conns {
			s.closeConn(c)
		}
	}()
	scratch := make([]byte, s.cfg.MaxMsg)
	for {
		for i, c := range conns {
			pfds[2+i] = unix.PollFd{Fd: int32(c.fd), Events: unix.POLLIN}
			if c.hasPending() {
				pfds[2+i].Events = unix.POLLOUT
			}
		}
		pfds = pfds[:2+len(conns)]
		if _, err := unix.Poll(pfds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return wrapSyscall("poll", err)
		}
		if pfds[0].Revents != 0 {
			return nil
		}
		conns = serveReady(conns, func(i int, _ *conn) bool { return pfds[2+i].Revents != 0 }, scratch, s.cfg.Work, s.closeConn)
		if pfds[1].Revents != 0 {
			for {
				fd, ok := s.accept(s.ln)
				if !ok {
					break
				}
				conns = append(conns, s.admit(fd))
				pfds = append(pfds, unix.PollFd{})
			}
		}
	}
}
