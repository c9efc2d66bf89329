package servers

import (
	"context"
)

// nonblockingServer is the textbook's non-blocking pattern with no
// readiness API at all: the listener and every connection are O_NONBLOCK
// (the Linux spelling of ioctlsocket(FIONBIO)), and one thread retries
// accept and every connection in turn, treating EAGAIN as "not now". It
// never sleeps, so it keeps one core at 100% even when idle: that is the
// cost this model exists to show.
type nonblockingServer struct{ *loopServer }

func newNonblocking(cfg Config) (Server, error) {
	base, err := newLoopServer(cfg, false)
	if err != nil {
		return nil, err
	}
	return nonblockingServer{base}, nil
}

func (s nonblockingServer) Serve(ctx context.Context) error {
	return s.serve(ctx, true, s.loop)
}

func (s nonblockingServer) loop() error {

	var conns []*conn
	defer func() {
		for _, c := range conns {
			s.closeConn(c)
		}
	}()
	scratch := make([]byte, s.cfg.MaxMsg)
	for !s.stopped() {
		for {
			fd, ok := s.accept(s.ln) // accept4 returns EAGAIN when nobody is waiting
			if !ok {
				break
			}
			conns = append(conns, s.admit(fd))
		}
		// No readiness API: every connection is tried every pass.
		conns = serveReady(conns, func(int, *conn) bool { return true }, scratch, s.cfg.Work, s.closeConn)
	}
	return nil
}
