package servers

import (
	"context"

	"golang.org/x/sys/windows"

	"iobench/internal/winsock"
)

// winSelect is one thread around Winsock select. A Winsock fd_set is not
// a bitmap but a count and an array of sockets; FD_SETSIZE (64 unless a
// program defines it larger before including winsock2.h) only sizes that
// array, and select reads as many entries as fd_count says. So this model
// passes arrays sized to the connections it has (winsock.FdSet) and has no
// 64-socket limit. Each call copies and scans every socket, O(n) per
// wakeup. select can't wait on an event, so it wakes every 50ms to notice
// Close.
type winSelect struct{ loopServer }

func newSelect(cfg Config) (Server, error) {
	l, err := newLoopServer(cfg, listenOpts{})
	if err != nil {
		return nil, err
	}
	return winSelect{l}, nil
}

func (s winSelect) Serve(ctx context.Context) error {
	return s.serve(ctx, true, s.loop)
}

func (s winSelect) loop() error {
	var conns []*conn
	defer func() {
		for _, c := range conns {
			s.closeConn(c)
		}
	}()
	scratch := make([]byte, s.cfg.MaxMsg)
	rset, wset := winsock.NewFdSet(64), winsock.NewFdSet(64)
	for !s.stopped() {
		rset.Zero()
		wset.Zero()
		rset.Set(s.ln)
		for _, c := range conns {
			if c.hasPending() {
				wset.Set(windows.Handle(c.fd))
			} else {
				rset.Set(windows.Handle(c.fd))
			}
		}
		n, err := winsock.Select(rset, wset, 50_000)
		if err != nil {
			if s.stopped() {
				return nil
			}
			return err
		}
		if n == 0 {
			continue
		}
		ready := func(_ int, c *conn) bool { return rset.IsSet(windows.Handle(c.fd)) || wset.IsSet(windows.Handle(c.fd)) }
		conns = serveReady(conns, ready, scratch, s.cfg.Work, s.closeConn)
		if rset.IsSet(s.ln) {
			for {
				c, err := winsock.Accept(s.ln)
				if err != nil {
					break // WSAEWOULDBLOCK: nobody else waiting
				}
				conns = append(conns, s.admit(c))
			}
		}
	}
	return nil
}
