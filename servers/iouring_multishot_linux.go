package servers

import (
	"iobench/internal/uring"

	"golang.org/x/sys/unix"
)

// The iouring model's multishot variant: one recv armed per connection
// delivering into a provided buffer ring, and the replies sent from those
// buffers, queued per connection and given back as their sends complete.

// The multishot variant's provided buffers: 1024 of up to 16 KiB. A
// ping-pong connection holds one at most while its reply is on its way,
// and the ring hands them out in turn, so for small messages about one
// page of each becomes resident (4 MiB) however many connections there
// are; a connection short of one waits (ENOBUFS) for the next to come
// back.
const (
	defaultMultishotBufs = 1024
	multishotBufSize     = 16 << 10
)

// msArm arms a connection's multishot recv unless it is armed, closing,
// starved or has perConn replies queued.
func (st *ringState) msArm(idx int) {
	c := st.conns[idx]
	if c.armed || c.eof || c.starved || st.draining || c.queued >= st.perConn {
		return
	}
	st.sqe().PrepRecvMultishot(c.fd, st.bufs.Group(), userData(uRecv, idx, 0))
	c.armed = true
}

// msReceived handles a multishot recv's completion: data to queue and
// send, or the end of the recv (no CQEFMore), for one of the reasons
// below.
func (st *ringState) msReceived(idx int, cqe *uring.CQE) {
	c := st.conns[idx]
	if cqe.Flags&uring.CQEFMore == 0 {
		c.armed, c.cancelling = false, false
	}
	res := cqe.Res
	if cqe.Flags&uring.CQEFBuffer != 0 {
		bid := uint16(cqe.Flags >> 16)
		st.held++
		if res <= 0 || c.eof {
			st.msPut(bid)
		} else {
			st.s.cfg.Work.Do()
			st.msQueue(idx, bid, res)
		}
	}
	switch {
	case res > 0:
		// Data; if the recv ended anyway (the CQ was full), msArm below
		// arms it again.
	case res == -int32(unix.ENOBUFS):
		// Every buffer is out: msUnstarve arms it again once one is back.
		c.starved = true
		st.starved = append(st.starved, idx)
	case res == -int32(unix.ECANCELED):
		// perConn reached: armed again as the queue drains (msSent).
	case res == -int32(unix.EINTR) || res == -int32(unix.EAGAIN):
	default:
		c.eof = true // 0: the peer closed (FIN); < 0: an error
	}
	st.msArm(idx)
	st.msClose(idx)
}

// msQueue puts a received buffer behind the connection's earlier replies
// and starts sending if nothing is; past perConn it cancels the recv so
// that a connection which does not read its replies can't take every
// buffer.
func (st *ringState) msQueue(idx int, bid uint16, n int32) {
	c := st.conns[idx]
	st.length[bid], st.next[bid] = n, -1
	if c.tail >= 0 {
		st.next[c.tail] = int32(bid)
	} else {
		c.head = int32(bid)
	}
	c.tail = int32(bid)
	c.queued++
	if !c.sending {
		c.off = 0
		st.msSend(idx)
	}
	if c.queued >= st.perConn && c.armed && !c.cancelling {
		st.sqe().PrepCancel(userData(uRecv, idx, 0), uCancel)
		c.cancelling = true
	}
}

// msSend sends (the rest of) the connection's first queued buffer.
func (st *ringState) msSend(idx int) {
	c := st.conns[idx]
	bid := uint16(c.head)
	buf := st.bufs.Buf(bid)[c.off:st.length[bid]]
	st.sqe().PrepSend(c.fd, buf, userData(uSend, idx, bid))
	c.sending = true
}

// msSent handles a send's completion: the rest of a short send, or the
// buffer back to the ring and the next reply.
func (st *ringState) msSent(idx int, bid uint16, res int32) {
	c := st.conns[idx]
	c.sending = false
	switch {
	case res == -int32(unix.EINTR) || res == -int32(unix.EAGAIN):
		st.msSend(idx)
		return
	case res <= 0:
		// The connection broke: drop its replies; shutdown ends its
		// recv, after which it closes.
		for c.head >= 0 {
			b := uint16(c.head)
			c.head = st.next[b]
			st.msPut(b)
		}
		c.tail, c.queued, c.eof = -1, 0, true
		if c.armed {
			unix.Shutdown(c.fd, unix.SHUT_RDWR)
		}
	default:
		c.off += int(res)
		if c.off < int(st.length[bid]) {
			st.msSend(idx) // short send: the rest
			return
		}
		c.head, c.off = st.next[bid], 0
		if c.head < 0 {
			c.tail = -1
		}
		c.queued--
		st.msPut(bid)
		if c.head >= 0 {
			st.msSend(idx)
		}
		st.msArm(idx)
	}
	st.msClose(idx)
}

// msPut hands a buffer back to the kernel.
func (st *ringState) msPut(bid uint16) {
	st.bufs.Put(bid)
	st.held--
}

// msUnstarve arms, after a batch of completions, the recvs that found no
// buffer, as far as buffers are back in the ring. Counting from the
// completions seen (held) rather than from returns makes a buffer that
// came back before an ENOBUFS was reaped still count.
func (st *ringState) msUnstarve() {
	for len(st.starved) > 0 && st.held < st.bufs.Len() && !st.draining {
		idx := st.starved[0]
		st.starved = st.starved[1:]
		if c := st.conns[idx]; c != nil && c.starved {
			c.starved = false
			st.msArm(idx)
		}
	}
}

// msClose closes a connection that is done: the peer closed or it broke,
// and nothing of it is in flight.
func (st *ringState) msClose(idx int) {
	c := st.conns[idx]
	if !c.eof || c.sending || c.armed {
		return
	}
	unix.Close(c.fd)
	st.conns[idx] = nil
	st.free = append(st.free, idx)
	st.s.active.Add(-1)
}
