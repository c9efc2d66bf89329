package servers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"iobench/internal/sock"
	"iobench/internal/uring"

	"golang.org/x/sys/unix"
)

// iouringServer is the completion model on Linux: instead of asking which
// sockets are ready (epoll) and then calling read/write, it submits the
// reads and writes themselves to an io_uring and is told when each has
// finished, as IOCP does on Windows.
//
// One goroutine, locked to its OS thread, owns the ring (single issuer).
// Per connection there is always exactly one operation in flight, recv or
// send, on the connection's own buffer:
//
//	accept (multishot: one SQE, a CQE per connection)
//	  → recv(buf) → [work] → send(buf[:n]) → short? send(rest) → recv ...
//	  → recv returns 0 (FIN) or an error → close
//
// That is the single-shot variant (--recv single), kept for teaching: it
// is the textbook's WSARecv → completion → WSASend loop. By default the
// ring runs as a careful C programmer runs one (multishot below).
//
// With cfg.Workers = 0 the completion is handled inline on the ring's
// thread, like a completion routine run on the thread that issued the IO
// (WSARecv + alertable wait). With Workers = N the ring's thread hands
// each recv/send completion to one of N worker goroutines, as IOCP's
// GetQueuedCompletionStatus hands completions to a pool of worker threads;
// the workers decide the next operation and give it back to the ring's
// thread, the only one that may submit. Workers use the single-shot loop:
// a multishot recv's completions for one connection would have to be
// handed to workers in order.
//
// Multishot (the default where the kernel has it, 6.0; see
// probeMultishot), one recv armed per connection for its whole life:
//
//	accept (multishot)
//	  → recv (multishot, buffer select): a CQE per arrival, naming the
//	    provided buffer the kernel filled
//	  → [work] → send(that buffer) — queued behind the connection's
//	    earlier replies, so replies keep their order — → buffer back to
//	    the ring
//
// The poll is armed once per connection instead of once per recv, no
// connection holds a buffer while it waits, and with SINGLE_ISSUER +
// DEFER_TASKRUN the kernel runs the completion work in a batch when this
// thread enters io_uring_enter to wait, not by interrupting it. A
// connection whose replies can't go out (a slow reader) would go on
// taking buffers from everyone: past perConn queued buffers its recv is
// cancelled, and armed again once its queue drains.
type iouringServer struct {
	*base
	wake eventfd // stop: a read is armed on it
	kick eventfd // workers → ring thread: requests are waiting
	// bufRingSize is how many provided buffers --buf-ring registers (a
	// field so that a test can starve the server of them).
	bufRingSize int

	reqMu    sync.Mutex
	requests []ureq // from workers, for the ring thread to submit
}

// Operations, in the low byte of user data; the connection index is above.
const (
	uAccept uint64 = iota + 1
	uRecv
	uSend
	uWake
	uKick
	uCancel
)

// ucon is one connection. Its buffer is written by the kernel while a
// recv is in flight, so it stays referenced here until that completes.
type ucon struct {
	fd     int
	buf    []byte
	n      int    // bytes of buf to echo
	sent   int    // of which sent
	bid    uint16 // --buf-ring: the provided buffer buf is, while held
	hasBuf bool

	// Multishot: the replies waiting to go out, a FIFO of provided
	// buffer ids linked through ringState.next (-1: empty).
	head, tail int32
	queued     int  // buffers in the FIFO
	off        int  // bytes of the head buffer already sent
	sending    bool // a send of the head buffer is in flight
	armed      bool // the multishot recv is in flight
	cancelling bool // its cancel is submitted (perConn reached)
	starved    bool // its recv found no buffer: armed again when one is back
	eof        bool // the peer closed, or the connection broke: close when idle
}

func newIOUring(cfg Config) (Server, error) {
	if err := probeIOUring(); err != nil {
		return nil, err
	}
	if cfg.Recv == RecvMultishot {
		if err := probeMultishot(); err != nil {
			return nil, fmt.Errorf("servers: iouring --recv multishot: %w", err)
		}
	}
	// Blocking sockets: io_uring does its own non-blocking attempt and
	// arms a poll when the socket is not ready.
	b, err := newBase(cfg, listenOpts{})
	if err != nil {
		return nil, err
	}
	s := &iouringServer{base: b}
	for _, ev := range []*eventfd{&s.wake, &s.kick} {
		if *ev, err = newEventfd(); err != nil {
			b.Close()
			return nil, err
		}
		b.onRelease(ev.close)
	}
	s.lifecycle.wake = s.wake.wake
	return s, nil
}

// ringState is what the ring's thread owns while serving.
type ringState struct {
	s        *iouringServer
	ring     *uring.Ring
	conns    []*ucon
	free     []int
	inflight int  // operations submitted and not yet completed
	atWorker int  // completions handed to workers and not yet answered
	multi    bool // multishot accept
	draining bool
	// Multishot recv (see iouringServer): next links each provided
	// buffer to the one queued after it on its connection, length is
	// what it holds; perConn bounds a connection's queued buffers.
	multishot bool
	next      []int32
	length    []int32
	perConn   int
	work      chan uevent
	bufs      *uring.BufRing // --buf-ring
	starved   []int          // --buf-ring: connections whose recv found no buffer
	held      int            // --buf-ring: buffers connections hold (seen in completions)
	wakeBuf   [8]byte
	kickBuf   [8]byte
	failed    error     // the ring refused a submission: the loop stops with it
	scratch   uring.SQE // what sqe hands out once the ring has failed
}

func (s *iouringServer) Serve(ctx context.Context) error {
	return s.serve(ctx, true, s.loop)
}

func (s *iouringServer) loop() error {

	// Single issuer + deferred task work (6.1) + cooperative task work
	// (5.19) where the kernel has them: completions are processed in a
	// batch when this thread enters the kernel to wait, not by
	// interrupting it. Older kernels refuse a flag they lack (EINVAL):
	// fall back one step at a time.
	var ring *uring.Ring
	var err error
	for _, flags := range [][]uint32{
		{uring.SetupSingleIssuer, uring.SetupDeferTaskrun, uring.SetupCoopTaskrun},
		{uring.SetupSingleIssuer, uring.SetupDeferTaskrun},
		{uring.SetupCoopTaskrun},
		nil,
	} {
		if ring, err = uring.New(4096, 16384, flags...); err == nil {
			break
		}
	}
	if err != nil {
		return wrapSyscall("io_uring_setup", err)
	}
	// io_uring_enter then skips the descriptor lookup; an old kernel
	// (before 5.18) refuses, and the plain descriptor does as well.
	_ = ring.RegisterRingFd()
	// This thread waits in the kernel unseen by the scheduler, holding
	// its P: the process gets one more for as long (see Ring.Submit).
	defer uring.ReserveP()()
	ring.WaitUnseen = true
	st := &ringState{s: s, ring: ring, multi: true}
	st.multishot = s.cfg.Workers == 0 && s.cfg.Recv != RecvSingle && probeMultishot() == nil
	switch {
	case st.multishot:
		// Buffers are held only while a reply is on its way; a
		// connection holds at most MaxMsg bytes of them.
		size := min(s.cfg.MaxMsg, multishotBufSize)
		st.perConn = max(1, s.cfg.MaxMsg/size)
		n := s.bufRingSize
		if n == 0 {
			n = defaultMultishotBufs
		}
		if st.bufs, err = ring.RegisterBufRing(n, size, 1); err != nil {
			ring.Close()
			return fmt.Errorf("servers: provided buffers: %w", err)
		}
		st.next, st.length = make([]int32, n), make([]int32, n)
	case s.cfg.BufRing:
		// Buffers are taken only while a reply is on its way, so a few
		// hundred serve thousands of mostly idle connections.
		n := s.bufRingSize
		if n == 0 {
			n = defaultBufRingSize
		}
		if st.bufs, err = ring.RegisterBufRing(n, s.cfg.MaxMsg, 1); err != nil {
			ring.Close()
			return fmt.Errorf("servers: provided buffers (BufRing): %w", err)
		}
	}
	var workers sync.WaitGroup
	if s.cfg.Workers > 0 {
		st.work = make(chan uevent, 4096)
		for range s.cfg.Workers {
			workers.Add(1)
			go func() {
				defer workers.Done()
				s.worker(st)
			}()
		}
	}
	st.armAccept()
	st.arm(int(s.wake), st.wakeBuf[:], uWake)
	st.arm(int(s.kick), st.kickBuf[:], uKick)
	serveErr := st.loop()
	if st.work != nil {
		close(st.work)
		workers.Wait()
	}
	st.closeAll()
	if st.inflight == 0 {
		ring.Close()
	} else {
		// The kernel may still write into buffers of operations we could
		// not reap: keep them (and the ring) referenced for good rather
		// than let the GC hand that memory out again.
		leaked.keep(st)
		ring.Close()
	}
	return serveErr
}

// defaultBufRingSize is how many provided buffers --buf-ring registers.
const defaultBufRingSize = 512

// sqe returns a submission entry, submitting queued ones if the queue is
// full. Should the kernel take none of them (its completion queue
// overflowing) after many tries, or refuse outright, the error is recorded
// — the loop then stops with it — and a scratch entry that is never
// submitted is returned, so callers need no error path.
func (st *ringState) sqe() *uring.SQE {
	for try := 0; try < 1000 && st.failed == nil; try++ {
		if e := st.ring.SQE(); e != nil {
			st.inflight++
			return e
		}
		if err := st.ring.Submit(0); err != nil {
			st.failed = fmt.Errorf("servers: %w", err)
		}
	}
	if st.failed == nil {
		st.failed = errors.New("servers: io_uring: the kernel takes no submissions (completion queue overflowing)")
	}
	return &st.scratch
}

func (st *ringState) armAccept() {
	e := st.sqe()
	e.PrepAccept(st.s.ln.FD, unix.SOCK_CLOEXEC, st.multi, uAccept)
}

func (st *ringState) arm(fd int, buf []byte, op uint64) {
	st.sqe().PrepRead(fd, buf, op)
}

func (st *ringState) recv(idx int) {
	c := st.conns[idx]
	e := st.sqe()
	if st.bufs != nil {
		e.PrepRecvSelect(c.fd, st.bufs.Group(), userData(uRecv, idx, 0))
	} else {
		e.PrepRecv(c.fd, c.buf, userData(uRecv, idx, 0))
	}
	e.IoPrio = uring.RecvPollFirst
}

// giveBack returns a connection's provided buffer to the kernel and lets
// one connection that found none try again.
func (st *ringState) giveBack(c *ucon) {
	if !c.hasBuf {
		return
	}
	st.bufs.Put(c.bid)
	st.held--
	c.hasBuf, c.buf = false, nil
	if n := len(st.starved); n > 0 && !st.draining {
		idx := st.starved[0]
		st.starved = st.starved[1:]
		if st.conns[idx] != nil {
			st.recv(idx)
		}
	}
}

func (st *ringState) send(idx int) {
	c := st.conns[idx]
	st.sqe().PrepSend(c.fd, c.buf[c.sent:c.n], userData(uSend, idx, 0))
}

func (st *ringState) loop() error {
	var deadline time.Time
	for {
		if st.draining && (st.inflight == 0 && st.atWorker == 0 || time.Now().After(deadline)) {
			return nil
		}
		wait := uint32(1)
		if st.draining {
			wait = 0 // poll while draining, so the deadline is honoured
		}
		if err := st.ring.Submit(wait); err != nil {
			return err
		}
		if st.failed != nil {
			return st.failed
		}
		st.ring.Completions(st.complete)
		if st.multishot {
			st.msUnstarve()
		}
		st.takeRequests()
		if st.s.stopped() && !st.draining {
			// Wake every pending operation: shutdown(2) makes recv return 0
			// and accept fail, so each completes and can be reaped.
			st.draining = true
			deadline = time.Now().Add(drainFor)
			st.s.kick.wake() // completes the armed kick read, not re-armed now
			st.sqe().PrepCancel(uAccept, uCancel)
			for _, c := range st.conns {
				if c != nil {
					unix.Shutdown(c.fd, unix.SHUT_RDWR)
				}
			}
		}
		if st.draining && st.inflight > 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// User data: the operation in the low byte, the connection's index in
// the next 32 bits, a multishot send's buffer id above them. userData
// writes it and fromUserData reads it: its one spelling.
func userData(op uint64, idx int, bid uint16) uint64 {
	return uint64(bid)<<40 | uint64(uint32(idx))<<8 | op
}

func fromUserData(ud uint64) (op uint64, idx int, bid uint16) {
	return ud & 0xff, int(uint32(ud >> 8)), uint16(ud >> 40)
}

func (st *ringState) complete(cqe *uring.CQE) {
	op, idx, bid := fromUserData(cqe.UserData)
	if cqe.Flags&uring.CQEFMore == 0 {
		st.inflight-- // a multishot operation stays in flight while F_MORE is set
	}
	if st.multishot && (op == uRecv || op == uSend) {
		if op == uRecv {
			st.msReceived(idx, cqe)
		} else {
			st.msSent(idx, bid, cqe.Res)
		}
		return
	}
	switch op {
	case uWake, uCancel:
		// stopping; the loop notices
	case uKick:
		if !st.draining {
			st.arm(int(st.s.kick), st.kickBuf[:], uKick)
		}
	case uAccept:
		st.accepted(cqe)
	default:
		c := st.conns[idx]
		if op == uRecv && st.bufs != nil {
			if cqe.Res == -int32(unix.ENOBUFS) && !st.draining {
				if st.held < st.bufs.Len() {
					// A buffer came back after the kernel looked (its
					// giveBack found no one starved yet): try again now,
					// or no later giveBack may ever wake this connection.
					st.recv(idx)
				} else {
					st.starved = append(st.starved, idx) // retried when a buffer comes back
				}
				return
			}
			if cqe.Flags&uring.CQEFBuffer != 0 {
				st.held++
				c.bid, c.hasBuf = uint16(cqe.Flags>>16), true
				c.buf = st.bufs.Buf(c.bid)
			}
		}
		if st.work != nil && !st.draining {
			st.atWorker++
			st.work <- uevent{c: c, idx: idx, op: op, res: cqe.Res}
			return
		}
		st.apply(ureq{idx: idx, op: st.s.next(c, op, cqe.Res)})
	}
}

func (st *ringState) accepted(cqe *uring.CQE) {
	s := st.s
	more := cqe.Flags&uring.CQEFMore != 0
	switch res := cqe.Res; {
	case res >= 0:
		fd := int(res)
		if st.draining {
			unix.Close(fd)
			break
		}
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		idx := len(st.conns)
		if n := len(st.free); n > 0 {
			idx, st.free = st.free[n-1], st.free[:n-1]
		} else {
			st.conns = append(st.conns, nil)
		}
		c := &ucon{fd: fd, head: -1, tail: -1}
		if st.bufs == nil {
			c.buf = make([]byte, s.cfg.MaxMsg)
		}
		st.conns[idx] = c
		s.opened()
		if st.multishot {
			st.msArm(idx)
		} else {
			st.recv(idx)
		}
	case -res == int32(unix.EINVAL) && st.multi && !st.draining:
		st.multi = false // kernel before 5.19: no multishot accept
		more = false
	case -res == int32(unix.EMFILE) || -res == int32(unix.ENFILE):
		if s.ln.RefuseOne() == sock.ErrFDLimit {
			s.refuse(sock.ErrFDLimit.Error())
		}
	}
	if !more && !st.draining {
		st.armAccept()
	}
}

func (st *ringState) closeAll() {
	for i, c := range st.conns {
		if c != nil {
			unix.Close(c.fd)
			st.conns[i] = nil
			st.s.active.Add(-1)
		}
	}
}
