package loadgen

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"iobench/results"
)

// Churn mode is netperf's TCP_CRR: every transaction connects, sends one
// message, reads its echo and closes, so it measures what accepting and
// tearing down a connection costs each model (a thread per connection,
// multishot accept, AcceptEx) beside the echo. Conns transactions run at
// once, each slot on its own goroutine; a reply counts a transaction and
// Connections counts every connection made.
//
// Ephemeral ports: a closed client connection waits in TIME_WAIT for 60 s
// holding its port, and one source address has ~28k ports. On loopback
// Linux lets connect(2) reuse a TIME_WAIT port (net.ipv4.tcp_tw_reuse=2,
// the default, is loopback only), and slot i also connects from its own
// address in 127.0.0.0/8 (bound with IP_BIND_ADDRESS_NO_PORT, so the port
// is still picked at connect time, where that reuse applies): a long run
// does not run out (docs/methodology.md).

// churnSlot is one concurrent transaction stream.
type churnSlot struct {
	s      *session
	w      *worker
	c      *conn
	dialer net.Dialer
	msg    []byte
	reply  []byte
}

// churn runs the slots until the plan's end, ctx's end or Ctrl-C.
func (s *session) churn(ctx context.Context) {
	s.spread(s.cfg.Conns)
	defer s.startProgress()()
	ctx, cancel := context.WithDeadline(ctx, s.base.Add(time.Duration(s.plan.endAt)))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		if ctx.Err() == context.Canceled {
			s.interrupt()
		}
	})
	defer stop()
	var wg sync.WaitGroup
	for i := range s.cfg.Conns {
		w, c := s.owner(i)
		sl := &churnSlot{s: s, w: w, c: c, msg: make([]byte, s.cfg.SizeMax), reply: make([]byte, s.cfg.SizeMax)}
		sl.dialer = net.Dialer{Timeout: s.cfg.ConnectTimeout}
		spreadSource(&sl.dialer, s.cfg.Addr, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sl.run(ctx)
		}()
	}
	wg.Wait()
}

func (sl *churnSlot) run(ctx context.Context) {
	s := sl.s
	for seq := uint64(0); ctx.Err() == nil && !s.stopped.Load(); seq++ {
		start := s.now()
		if start >= s.plan.endAt {
			return
		}
		sl.transaction(ctx, seq, start)
	}
}

// transaction is one connect, echo, close, timed from before the connect.
func (sl *churnSlot) transaction(ctx context.Context, seq uint64, start int64) {
	s, w, c := sl.s, sl.w, sl.c
	size := s.plan.size(c.id, seq)
	msg := sl.msg[:size]
	fillPayload(msg, c.id, seq, 0)
	// The transaction is in flight from before its connect: the stall
	// watch (conn.oldest) sees a slot waiting for a reply, or for a
	// handshake the server never completes.
	w.mu.Lock()
	c.ring[0], c.head, c.n = flight{seq: seq, size: size, intended: start, sent: start}, 0, 1
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		c.n = 0
		w.mu.Unlock()
	}()
	nc, err := sl.dialer.DialContext(ctx, "tcp", s.cfg.Addr)
	connected := s.now()
	if err != nil {
		if ctx.Err() != nil || connected >= s.plan.endAt {
			return // the run ended: not the server's failure
		}
		s.connectFailed(errnoName(err))
		// Do not spin on a refusing server: back off a little.
		time.Sleep(time.Millisecond)
		return
	}
	s.established.Add(1)
	defer nc.Close()
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	if d, ok := ctx.Deadline(); ok {
		nc.SetDeadline(d)
	}
	_, err = nc.Write(msg)
	if err == nil {
		_, err = io.ReadFull(nc, sl.reply[:size])
	}
	end := s.now()
	// A server that sends more than the echo: what it appended usually
	// came with the echo and waits in the socket; one read that does not
	// wait finds it (a read past the echo would otherwise never happen).
	extra := false
	if sc, ok := nc.(syscall.Conn); ok && err == nil {
		extra = pendingBytes(sc)
	}
	sl.record(outcome{err: err, mismatch: err == nil && !bytes.Equal(sl.reply[:size], msg), extra: extra},
		size, start, connected, end)
}

// outcome is how a transaction ended.
type outcome struct {
	err             error
	mismatch, extra bool
}

// record counts a transaction that began at start, connected at
// connected and ended at end: in the window, a reply and its latencies,
// or the failure it was; before it, the interval's figures only.
func (sl *churnSlot) record(o outcome, size int, start, connected, end int64) {
	s, w, c := sl.s, sl.w, sl.c
	inWindow := s.plan.inWindow(start) && end <= s.plan.endAt
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case errors.Is(o.err, os.ErrDeadlineExceeded):
		// cut by the run's end
	case o.err != nil:
		// A reset transaction; the slot goes on with the next one, so it
		// is no dead connection (no diedAt: the window does not end here).
		if inWindow && !s.stopped.Load() {
			w.closedByPeer++
		}
	case o.mismatch:
		if inWindow {
			w.rec.fail("reply mismatch")
		}
	case o.extra:
		if inWindow {
			w.rec.fail("bytes after the reply")
		}
	case inWindow:
		c.replies++
		w.rec.bytes += uint64(size)
		w.rec.sent++
		w.rec.intervalRepl++
		results.Record(w.rec.lat, end-start)
		results.Record(w.rec.iv, end-start)
		s.connMu.Lock()
		results.Record(s.connectHist, connected-start)
		s.connMu.Unlock()
	default:
		w.rec.intervalRepl++
		results.Record(w.rec.iv, end-start)
	}
}

// spreadSource gives slot i its own source address in 127.0.0.0/8 when
// the server is on loopback (see the package's churn notes), where the OS
// lets a connection pick its port at connect time.
func spreadSource(d *net.Dialer, addr string, i int) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Is4() || !ap.Addr().IsLoopback() || !canBindNoPort {
		return
	}
	src := netip.AddrFrom4([4]byte{127, 0, byte(1 + i/254%254), byte(1 + i%254)})
	d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))
	d.Control = bindNoPort
}
