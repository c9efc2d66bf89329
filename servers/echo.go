//go:build linux || windows || darwin || freebsd

package servers

import "errors"

// The echo state machine of the single-threaded non-blocking loops (select,
// poll, nonblocking, epoll on Linux; select and nonblocking on Windows).
// Each OS provides readNB, writeNB and errAgain.

// next is what a connection of an event loop waits for after a step.
type next int

const (
	wantRead  next = iota // nothing pending; read when readable
	readMore              // a reply went out whole; more may be readable now
	wantWrite             // a reply is pending; write when writable, read nothing
	closeNow              // EOF after everything was flushed, or an error
)

// conn is one connection of a single-threaded event loop. The loop owns a
// scratch buffer that every read lands in; only the unsent rest of a short
// write is copied into the connection's pending buffer, so an idle
// connection holds no buffer at all and a busy one at most MaxMsg bytes.
type conn struct {
	fd      int
	pending []byte // unsent reply; its capacity is kept for the next short write
	off     int    // pending[off:] is still to be sent
	writing bool   // epoll (level-triggered): registered for EPOLLOUT
}

func (c *conn) hasPending() bool { return c.off < len(c.pending) }

// compact drops the closed connections (fd < 0) from conns in place.
func compact(conns []*conn) []*conn {
	out := conns[:0]
	for _, c := range conns {
		if c.fd >= 0 {
			out = append(out, c)
		}
	}
	clear(conns[len(out):])
	return out
}

// readEcho reads once into scratch, does the work and writes the reply.
func (c *conn) readEcho(scratch []byte, w Work) next {
	n, err := readNB(c.fd, scratch)
	switch {
	case errors.Is(err, errAgain):
		return wantRead
	case err != nil || n == 0:
		// EOF: we only read when nothing is pending, so all is flushed.
		return closeNow
	}
	w.Do()
	return c.send(scratch[:n])
}

// send writes p, keeping whatever the socket did not take.
func (c *conn) send(p []byte) next {
	for len(p) > 0 {
		n, err := writeNB(c.fd, p)
		if errors.Is(err, errAgain) {
			c.pending = append(c.pending[:0], p...)
			c.off = 0
			return wantWrite
		}
		if err != nil {
			return closeNow
		}
		p = p[n:]
	}
	return readMore
}

// flush writes the pending reply.
func (c *conn) flush() next {
	for c.off < len(c.pending) {
		n, err := writeNB(c.fd, c.pending[c.off:])
		if errors.Is(err, errAgain) {
			return wantWrite
		}
		if err != nil {
			return closeNow
		}
		c.off += n
	}
	c.pending, c.off = c.pending[:0], 0
	return readMore
}

// step moves c forward once: flush if a reply is pending, otherwise read
// and echo.
func (c *conn) step(scratch []byte, w Work) next {
	if c.hasPending() {
		return c.flush()
	}
	return c.readEcho(scratch, w)
}

// drain steps c until it must wait (edge-triggered loops need this: no
// new edge comes for data that is already there).
func (c *conn) drain(scratch []byte, w Work) next {
	for {
		if st := c.step(scratch, w); st != readMore {
			return st
		}
	}
}

// serveReady steps every connection that ready reports (by index and
// connection), closes those that are done with closeConn (which sets fd
// to -1) and drops them from conns.
func serveReady(conns []*conn, ready func(i int, c *conn) bool, scratch []byte, w Work, closeConn func(*conn)) []*conn {
	closed := false
	for i, c := range conns {
		if ready(i, c) && c.step(scratch, w) == closeNow {
			closeConn(c)
			closed = true
		}
	}
	if closed {
		return compact(conns)
	}
	return conns
}
