package servers

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// selectServer is one thread around select(2). An fd_set is a bitmap of
// FD_SETSIZE (1024) bits indexed by descriptor number, so a descriptor
// of 1024 or more can't be waited on at all (and x/sys's FdSet.Set would
// panic on it): such a connection is closed as soon as it is accepted and
// counted as refused. The sets are rebuilt before every call and scanned
// after it, so each wakeup costs O(highest descriptor).
type selectServer struct{ *loopServer }

// selectReserve is the descriptors a server process holds besides its
// connections (listener, wake-up, standard streams, the runtime's).
const selectReserve = 16

// selectLimit: past about FD_SETSIZE connections, new ones get
// descriptors select can't wait on, and are refused.
func selectLimit(conns int) string {
	if conns+selectReserve > unix.FD_SETSIZE {
		return fmt.Sprintf("select: %d connections need descriptors past FD_SETSIZE (%d)", conns, unix.FD_SETSIZE)
	}
	return ""
}

func newSelect(cfg Config) (Server, error) {
	base, err := newLoopServer(cfg, false)
	if err != nil {
		return nil, err
	}
	if int(base.ev) >= unix.FD_SETSIZE || base.ln.FD >= unix.FD_SETSIZE {
		base.Close()
		return nil, fmt.Errorf("servers: select: the process already holds %d descriptors, past FD_SETSIZE (%d)", base.ln.FD, unix.FD_SETSIZE)
	}
	return selectServer{base}, nil
}

func (s selectServer) Serve(ctx context.Context) error {
	return s.serve(ctx, true, s.loop)
}

func (s selectServer) loop() error {

	var conns []*conn
	defer func() {
		for _, c := range conns {
			s.closeConn(c)
		}
	}()
	scratch := make([]byte, s.cfg.MaxMsg)
	tooHigh := fmt.Sprintf("select: descriptor number past FD_SETSIZE (%d); select can't watch it", unix.FD_SETSIZE)
	var rset, wset unix.FdSet
	ev, lfd := int(s.ev), s.ln.FD
	for {
		rset.Zero()
		wset.Zero()
		rset.Set(ev)
		rset.Set(lfd)
		maxfd := max(ev, lfd)
		for _, c := range conns {
			if c.hasPending() {
				wset.Set(c.fd)
			} else {
				rset.Set(c.fd)
			}
			maxfd = max(maxfd, c.fd)
		}
		if _, err := unix.Select(maxfd+1, &rset, &wset, nil, nil); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return wrapSyscall("select", err)
		}
		if rset.IsSet(ev) {
			return nil
		}
		ready := func(_ int, c *conn) bool { return rset.IsSet(c.fd) || wset.IsSet(c.fd) }
		conns = serveReady(conns, ready, scratch, s.cfg.Work, s.closeConn)
		if rset.IsSet(lfd) {
			for {
				fd, ok := s.accept(s.ln)
				if !ok {
					break
				}
				if fd >= unix.FD_SETSIZE {
					s.refuse(tooHigh) // counted before the client can see the close
					unix.Close(fd)
					continue
				}
				conns = append(conns, s.admit(fd))
			}
		}
	}
}
