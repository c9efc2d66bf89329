package servers

import "golang.org/x/sys/unix"

// The iouring model's single-shot state machine (next) and its --workers
// pool: completions handed to worker goroutines, IOCP style, whose
// requests the ring's thread applies.

// ureq is a worker's decision about a connection: its next operation.
type ureq struct {
	idx int
	op  uint64 // uRecv, uSend, or 0 to close
}

// uevent is a completion handed to a worker.
type uevent struct {
	c   *ucon // not looked up by index: the table may grow meanwhile
	idx int
	op  uint64
	res int32
}

// next decides a connection's next operation after a completion: the
// echo logic, run inline or on a worker.
func (s *iouringServer) next(c *ucon, op uint64, res int32) uint64 {
	switch {
	case res == -int32(unix.EINTR) || res == -int32(unix.EAGAIN):
		return op // try the same again
	case res <= 0:
		return 0 // FIN (recv returned 0) or an error: close
	case op == uRecv:
		s.cfg.Work.Do()
		c.n, c.sent = int(res), 0
		return uSend
	}
	c.sent += int(res)
	if c.sent < c.n {
		return uSend // short send: the rest
	}
	return uRecv
}

// apply submits a connection's next operation, or closes it.
func (st *ringState) apply(r ureq) {
	switch {
	case r.op == 0 || st.draining:
		c := st.conns[r.idx]
		if st.bufs != nil {
			st.giveBack(c)
		}
		unix.Close(c.fd)
		st.conns[r.idx] = nil
		st.free = append(st.free, r.idx)
		st.s.active.Add(-1)
	case r.op == uRecv:
		if st.bufs != nil {
			st.giveBack(st.conns[r.idx]) // the reply is out: the buffer is free
		}
		st.recv(r.idx)
	default:
		st.send(r.idx)
	}
}

// worker takes completions like an IOCP worker thread, decides, and hands
// the next operation back to the ring's thread.
func (s *iouringServer) worker(st *ringState) {
	for ev := range st.work {
		// The connection is ours alone until we hand it back: one
		// operation in flight per connection.
		op := s.next(ev.c, ev.op, ev.res)
		s.reqMu.Lock()
		s.requests = append(s.requests, ureq{idx: ev.idx, op: op})
		first := len(s.requests) == 1
		s.reqMu.Unlock()
		if first {
			s.kick.wake()
		}
	}
}

// takeRequests submits what the workers decided.
func (st *ringState) takeRequests() {
	if st.work == nil {
		return
	}
	s := st.s
	s.reqMu.Lock()
	reqs := s.requests
	s.requests = nil
	s.reqMu.Unlock()
	for _, r := range reqs {
		st.atWorker--
		st.apply(r)
	}
}
