package loadgen

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// netEngine is the portable engine: a goroutine per connection on Go's net
// package. Each worker's connections share its recorder under its lock
// (taken once per read, not per sample). It is the engine on every OS but
// Linux, and on Linux with Config.Engine "net".
type netEngine struct {
	mu   sync.Mutex
	idle []net.Conn
	busy []net.Conn
}

func (e *netEngine) name() string { return "net" }

func (e *netEngine) dial(ctx context.Context, s *session, idle, busy int) (int, error) {
	conns := make([]net.Conn, idle+busy)
	d := net.Dialer{Timeout: s.cfg.ConnectTimeout}
	err := dialEach(ctx, s, len(conns), func(i int) (time.Duration, error) {
		start := time.Now()
		c, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
		if err != nil {
			return 0, err
		}
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		conns[i] = c
		return time.Since(start), nil
	})
	e.mu.Lock()
	defer e.mu.Unlock()
	e.idle, e.busy = splitDialed(conns, idle, func(c net.Conn) bool { return c != nil })
	return len(e.busy), err
}

func (e *netEngine) drive(ctx context.Context, s *session) {
	e.mu.Lock()
	busy := e.busy
	e.mu.Unlock()
	s.spread(len(busy))
	defer s.startProgress()()

	stop := context.AfterFunc(ctx, func() {
		s.interrupt()
		for _, c := range busy {
			c.SetDeadline(time.Now())
		}
	})
	defer stop()

	var wg sync.WaitGroup
	for i, nc := range busy {
		w, c := s.owner(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.driveConn(s, w, c, nc)
		}()
	}
	wg.Wait()
}

// inlineWindow is the most a connection may have in flight (requests and
// replies together) and still be driven by one goroutine that writes, then
// reads: that much always fits in the socket buffers (Linux starts a TCP
// receive buffer at 128 KiB), so a write can't block against replies the
// goroutine has not read yet.
const inlineWindow = 64 << 10

// driveConn runs one connection. A window that fits in the socket buffers
// is driven by one goroutine (a goroutine hand-off per message cost the
// closed loop 42% of its round trips at one connection: BenchmarkClosed). A larger one
// — stream mode keeps up to 1 MiB in flight — gets a writer goroutine
// beside the reader: a single goroutine blocked in Write would stop
// reading, and stall against a server that stops reading while its reply
// is pending. The protocol state is shared under w.mu.
func (e *netEngine) driveConn(s *session, w *worker, c *conn, nc net.Conn) {
	end := s.base.Add(time.Duration(s.plan.endAt))
	nc.SetWriteDeadline(end)
	if s.plan.window*(s.plan.sizeMin+s.plan.sizeSpan-1) > inlineWindow {
		e.driveSplit(s, w, c, nc, end)
		return
	}
	buf := make([]byte, 64<<10)
	for !s.stopped.Load() {
		wake, ok := e.push(s, w, c, nc)
		if !ok {
			return
		}
		deadline := s.base.Add(time.Duration(wake))
		if c.n == 0 { // rate mode, nothing in flight: wait for the schedule
			time.Sleep(time.Until(deadline))
			continue
		}
		nc.SetReadDeadline(deadline)
		if s.stopped.Load() {
			return // interrupted just before: our deadline may have replaced its
		}
		n, err := nc.Read(buf)
		if n > 0 {
			w.mu.Lock()
			c.received(buf[:n], s.now(), w.rec)
			w.mu.Unlock()
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if err != nil {
			e.died(s, w, c, err)
			return
		}
	}
}

// driveSplit reads here while a writer goroutine writes.
func (e *netEngine) driveSplit(s *session, w *worker, c *conn, nc net.Conn, end time.Time) {
	room := make(chan struct{}, 1) // reader to writer: a reply freed a slot
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		timer := time.NewTimer(time.Hour)
		defer timer.Stop()
		for !s.stopped.Load() {
			wake, ok := e.push(s, w, c, nc)
			if !ok {
				return
			}
			timer.Reset(time.Duration(wake - s.now()))
			select {
			case _, open := <-room:
				if !open {
					return
				}
			case <-timer.C:
			}
		}
	}()
	nc.SetReadDeadline(end)
	buf := make([]byte, 64<<10)
	for !s.stopped.Load() {
		n, err := nc.Read(buf)
		if n > 0 {
			w.mu.Lock()
			c.received(buf[:n], s.now(), w.rec)
			w.mu.Unlock()
			select {
			case room <- struct{}{}:
			default: // the writer has a wake-up pending already
			}
		}
		if err != nil {
			e.died(s, w, c, err)
			break
		}
	}
	nc.SetWriteDeadline(time.Now()) // unblock the writer: over, interrupted or lost
	close(room)
	<-writerDone
}

// push writes every message the window and (rate mode) the schedule allow
// now, and says when to try again: when the next message falls due (rate
// mode, room in the window) or else at the run's end, unless a reply frees
// a slot first. ok is false when the run is over or the connection lost.
func (e *netEngine) push(s *session, w *worker, c *conn, nc net.Conn) (wake int64, ok bool) {
	w.mu.Lock()
	now := s.now()
	if now >= s.plan.endAt {
		w.mu.Unlock()
		return 0, false
	}
	out := c.fill(now, w.rec)
	wake = s.plan.endAt
	if s.plan.mode == Rate {
		w.backlogMax = max(w.backlogMax, c.backlog(now))
		if c.n < len(c.ring) {
			wake = min(c.nextDueAt(), s.plan.endAt)
		}
	}
	w.mu.Unlock()
	if len(out) == 0 {
		return wake, true
	}
	n, err := nc.Write(out)
	c.wrote(n) // the queued bytes are the writing goroutine's alone: no lock
	if err != nil {
		e.died(s, w, c, err)
		return 0, false
	}
	return wake, true
}

// died records a connection lost mid-run (not one cut by the run's end).
func (e *netEngine) died(s *session, w *worker, c *conn, err error) {
	if errors.Is(err, os.ErrDeadlineExceeded) || s.stopped.Load() || s.now() >= s.plan.endAt {
		return
	}
	w.mu.Lock()
	s.lose(w, c) // its reader and writer may both see the loss: counted once
	w.mu.Unlock()
}

func (e *netEngine) closeAll() (idleClosed int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.idle {
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			idleClosed++ // EOF or reset: the server let it go
		}
		c.Close()
	}
	for _, c := range e.busy {
		c.Close()
	}
	e.idle, e.busy = nil, nil
	return idleClosed
}
