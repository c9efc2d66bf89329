package loadgen

import (
	"context"
	"fmt"
	"math/bits"
	"runtime"
	"sync"
	"time"

	"iobench/internal/uring"

	"golang.org/x/sys/unix"
)

// uringEngine drives connections the way a careful C client on io_uring
// does: per worker thread one ring, a multishot recv armed once per
// connection into a provided buffer ring (the reply is verified straight
// from the buffer the kernel filled, which goes back at once), the next
// request sent with a send from the connection's own queue, and every
// send and recv of a batch submitted and reaped in one io_uring_enter,
// with deferred task work. It dials and closes as the epoll engine does.
type uringEngine struct{ epollEngine }

func (e *uringEngine) name() string { return "uring" }

// probeUringEngine says why the uring engine can't run here, or nil.
// It receives by multishot recv into a buffer ring: the probe the
// servers' iouring model uses too (uring.ProbeMultishot).
func probeUringEngine() error {
	if err := uring.Check(uring.OpTimeout); err != nil {
		return err
	}
	return uring.ProbeMultishot()
}

// Operations in the low byte of user data; the connection above.
const (
	gRecv uint64 = iota + 1
	gSend
	gWake
	gTimer
)

func (e *uringEngine) drive(ctx context.Context, s *session) {
	// A blocking eventfd: io_uring answers a read on a non-blocking one
	// with EAGAIN at once instead of waiting.
	e.driveWorkers(ctx, s, 0, func(w *worker, fds []int, wake int) error {
		uw := &uringWorker{s: s, w: w, fds: fds, wake: wake}
		return uw.run()
	})
}

// uringWorker is one worker's ring over its share of the connections.
type uringWorker struct {
	s        *session
	w        *worker
	fds      []int
	wake     int
	ring     *uring.Ring
	bufs     *uring.BufRing
	sending  []bool // a send is in flight (its bytes are the conn's out queue: not touched meanwhile)
	armed    []bool // the multishot recv is in flight
	starved  []int  // recvs that found no buffer
	alive    int
	inflight int
	held     int
	wakeBuf  [8]byte
	timeout  unix.Timespec // read by the kernel while a timeout is armed
	timerOn  bool
	draining bool
}

// Buffers: one per connection and then some (a reply's bytes are
// verified and the buffer returned within the batch that received them),
// 16 KiB each.
const genBufSize = 16 << 10

func (uw *uringWorker) run() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer pinWorker(uw.w.index, len(uw.s.workers))()
	n := len(uw.fds)
	entries := uint32(1) << bits.Len(uint(max(64, 2*n+8)))
	var err error
	for _, flags := range [][]uint32{
		{uring.SetupSingleIssuer, uring.SetupDeferTaskrun, uring.SetupCoopTaskrun},
		{uring.SetupCoopTaskrun},
		nil,
	} {
		if uw.ring, err = uring.New(entries, 4*entries, flags...); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("io_uring_setup: %w", err)
	}
	_ = uw.ring.RegisterRingFd()
	defer uring.ReserveP()()
	uw.ring.WaitUnseen = true
	nbuf := 1 << bits.Len(uint(min(32768, max(64, 2*n))-1))
	if uw.bufs, err = uw.ring.RegisterBufRing(nbuf, genBufSize, 1); err != nil {
		uw.ring.Close()
		return err
	}
	uw.sending, uw.armed, uw.alive = make([]bool, n), make([]bool, n), n
	uw.sqe().PrepRead(uw.wake, uw.wakeBuf[:], gWake)
	uw.w.mu.Lock()
	now := uw.s.now()
	for i := range uw.fds {
		uw.arm(i)
		uw.service(i, now)
	}
	uw.w.mu.Unlock()
	err = uw.loop()
	// The window closes before the teardown: the server must not be
	// charged for the connections drain shuts down (markCPU marks once).
	// A worker that stops early (its connections lost) leaves the mark to
	// the others, or to the end of the run.
	if uw.s.now() >= uw.s.plan.endAt {
		uw.s.markCPU(true)
	}
	uw.drain()
	return err
}

// sqe is the next submission entry, submitting what is queued when full.
func (uw *uringWorker) sqe() *uring.SQE {
	for {
		if e := uw.ring.SQE(); e != nil {
			uw.inflight++
			return e
		}
		_ = uw.ring.Submit(0)
	}
}

func (uw *uringWorker) arm(i int) {
	if uw.armed[i] || uw.w.conns[i].dead || uw.draining {
		return
	}
	uw.sqe().PrepRecvMultishot(uw.fds[i], uw.bufs.Group(), uint64(i)<<8|gRecv)
	uw.armed[i] = true
}

// service queues what connection i may send now and sends it, unless a
// send of it is still in flight (its queue is the send's memory).
func (uw *uringWorker) service(i int, now int64) {
	c := uw.w.conns[i]
	if c.dead || uw.sending[i] || uw.draining {
		return
	}
	out := c.fill(now, uw.w.rec)
	if uw.s.plan.mode == Rate {
		uw.w.backlogMax = max(uw.w.backlogMax, c.backlog(now))
	}
	if len(out) > 0 {
		uw.sqe().PrepSend(uw.fds[i], out, uint64(i)<<8|gSend)
		uw.sending[i] = true
	}
}

// kill marks connection i lost: mid-run, the server closed or reset it.
func (uw *uringWorker) kill(i int) {
	if uw.s.lose(uw.w, uw.w.conns[i]) {
		uw.alive--
	}
}

func (uw *uringWorker) loop() error {
	s, n := uw.s, len(uw.fds)
	var slot int64
	slotAt := func(k int64) int64 { return uw.w.conns[k%int64(n)].phase + (k/int64(n))*s.plan.period }
	for !s.stopped.Load() {
		now := s.now()
		if now >= s.plan.endAt || uw.alive == 0 {
			return nil
		}
		if !uw.timerOn {
			// Wake at the plan's end, or (rate mode) at the next slot.
			at := s.plan.endAt
			if s.plan.mode == Rate {
				at = s.plan.wakeAt(slotAt(slot), now)
			}
			uw.timeout = unix.NsecToTimespec(max(at-now, 1))
			uw.sqe().PrepTimeout(&uw.timeout, gTimer)
			uw.timerOn = true
		}
		if err := uw.ring.Submit(1); err != nil {
			return err
		}
		uw.w.mu.Lock()
		now = s.now()
		uw.ring.Completions(func(cqe *uring.CQE) { uw.complete(cqe, now) })
		uw.unstarve()
		if s.plan.mode == Rate {
			for ; slotAt(slot) <= now; slot++ {
				uw.service(int(slot%int64(n)), now)
			}
		}
		uw.w.mu.Unlock()
	}
	return nil
}

func (uw *uringWorker) complete(cqe *uring.CQE, now int64) {
	if cqe.Flags&uring.CQEFMore == 0 {
		uw.inflight--
	}
	op, i := cqe.UserData&0xff, int(cqe.UserData>>8)
	switch op {
	case gWake:
	case gTimer:
		uw.timerOn = false
	case gSend:
		uw.sending[i] = false
		c := uw.w.conns[i]
		switch {
		case cqe.Res == -int32(unix.EINTR) || cqe.Res == -int32(unix.EAGAIN):
		case cqe.Res < 0:
			uw.kill(i)
			return
		default:
			c.wrote(int(cqe.Res))
		}
		uw.service(i, now)
	case gRecv:
		uw.received(i, cqe, now)
	}
}

func (uw *uringWorker) received(i int, cqe *uring.CQE, now int64) {
	if cqe.Flags&uring.CQEFMore == 0 {
		uw.armed[i] = false
	}
	c := uw.w.conns[i]
	res := cqe.Res
	if cqe.Flags&uring.CQEFBuffer != 0 {
		bid := uint16(cqe.Flags >> 16)
		if res > 0 && !c.dead && !uw.draining {
			c.received(uw.bufs.Buf(bid)[:res], now, uw.w.rec)
		}
		uw.bufs.Put(bid)
	}
	switch {
	case res > 0:
		uw.service(i, now)
		uw.arm(i) // the multishot ended (a full CQ): again
	case res == -int32(unix.ENOBUFS):
		uw.starved = append(uw.starved, i)
	case res == -int32(unix.EINTR) || res == -int32(unix.EAGAIN):
		uw.arm(i)
	default:
		uw.kill(i) // 0: the server closed it; < 0: reset
	}
}

// unstarve arms again the recvs that found no buffer: every buffer is
// back by the end of the batch that used it.
func (uw *uringWorker) unstarve() {
	for _, i := range uw.starved {
		uw.arm(i)
	}
	uw.starved = uw.starved[:0]
}

// drain ends every operation in flight before the ring and its buffers
// go: shutdown(2) completes each connection's recv and any send, and the
// timeout is cancelled by closing; what has not completed within a
// second is left to the kernel with the ring kept referenced.
func (uw *uringWorker) drain() {
	uw.draining = true
	for i, fd := range uw.fds {
		if uw.armed[i] || uw.sending[i] {
			unix.Shutdown(fd, unix.SHUT_RDWR)
		}
	}
	if uw.timerOn {
		uw.sqe().PrepCancel(gTimer, 0)
	}
	uw.sqe().PrepCancel(gWake, 0) // its read may still be armed
	deadline := time.Now().Add(time.Second)
	for uw.inflight > 0 && time.Now().Before(deadline) {
		if err := uw.ring.Submit(0); err != nil {
			break
		}
		uw.ring.Completions(func(cqe *uring.CQE) {
			if cqe.Flags&uring.CQEFMore == 0 {
				uw.inflight--
			}
			if cqe.UserData&0xff == gRecv && cqe.Flags&uring.CQEFBuffer != 0 {
				uw.bufs.Put(uint16(cqe.Flags >> 16))
			}
		})
		if uw.inflight > 0 {
			time.Sleep(time.Millisecond)
		}
	}
	if uw.inflight > 0 {
		leakedRings.Lock()
		leakedRings.rings = append(leakedRings.rings, uw)
		leakedRings.Unlock()
	}
	uw.ring.Close()
}

// leakedRings keeps, for the life of the process, the workers whose
// operations did not all complete: the kernel may still write into their
// buffers.
var leakedRings struct {
	sync.Mutex
	rings []*uringWorker
}
