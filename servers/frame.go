package servers

import (
	"context"
	"errors"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// What every model shares: its counters (Stats, thread admission),
// the release of its descriptors, and its lifecycle (Serve, Close and a
// cancelled context agreeing).

// counters is the bookkeeping behind Stats, shared by every model.
type counters struct {
	accepted, refused atomic.Uint64
	active            atomic.Int64
	peakThreads       atomic.Int64

	mu       sync.Mutex
	refusals map[string]uint64
	logf     func(format string, args ...any)
	// shares, for a server of several loops: connections each accepted.
	shares []atomic.Uint64
}

// opened counts a connection accepted and being served: the one
// accounting of every model's accept path (the blocking model's is
// admitThread, which also bounds its threads).
func (c *counters) opened() {
	c.accepted.Add(1)
	c.active.Add(1)
}

// drainFor is how long a completion model (iouring, iocp, overlapped)
// waits on Close for the operations it has in flight to complete
// (closing their sockets makes them complete with an error). Those that
// did not are the kernel's still: their buffers go to leaked.
const drainFor = 2 * time.Second

// waitDrained polls until pending says nothing is in flight or drainFor
// has passed, and says whether it drained.
func waitDrained(pending func() bool, poll func()) bool {
	for deadline := time.Now().Add(drainFor); pending(); poll() {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// leaked keeps, for the life of the process, what the kernel may still
// write into after a server's Close gave up waiting (drainFor): rather
// than let the GC hand that memory out again. A global because it
// outlives every server; servers in one process may add to it at once.
var leaked keeper

type keeper struct {
	mu   sync.Mutex
	kept []any
}

func (k *keeper) keep(v any) {
	k.mu.Lock()
	k.kept = append(k.kept, v)
	k.mu.Unlock()
}

func (k *keeper) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.kept)
}

// countShare counts a connection accepted by loop i (of a server that
// made its shares with makeShares).
func (c *counters) countShare(i int) {
	if i < len(c.shares) {
		c.shares[i].Add(1)
	}
}

// makeShares sets up a count per loop, for n > 1 loops.
func (c *counters) makeShares(n int) {
	if n > 1 {
		c.shares = make([]atomic.Uint64, n)
	}
}

// refuse counts a connection closed at once for reason, and logs the first
// of each reason (the rest are counted, not logged: one clear line).
func (c *counters) refuse(reason string) {
	c.refused.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refusals == nil {
		c.refusals = map[string]uint64{}
	}
	c.refusals[reason]++
	if c.refusals[reason] == 1 && c.logf != nil {
		c.logf("refusing connections: %s (counted; further refusals are not logged)", reason)
	}
}

// raiseThreadLimit makes room in the runtime for maxConns connection
// threads plus its own (sysmon, GC workers, idle Ps): Go aborts the whole
// process past debug.SetMaxThreads (default 10000).
func raiseThreadLimit(maxConns int) {
	if need := maxConns + 256; need > 10000 {
		if prev := debug.SetMaxThreads(need); prev > need {
			debug.SetMaxThreads(prev)
		}
	}
}

// admitThread admits one more connection thread unless limit are already
// running, and keeps the peak; a connection refused here is counted by
// the caller before it closes it, so the client can't see the close first.
func (c *counters) admitThread(limit int) bool {
	var n int64
	for {
		n = c.active.Load()
		if n >= int64(limit) {
			return false
		}
		if c.active.CompareAndSwap(n, n+1) {
			break
		}
	}
	c.accepted.Add(1)
	for {
		peak := c.peakThreads.Load()
		if n+1 <= peak || c.peakThreads.CompareAndSwap(peak, n+1) {
			return true
		}
	}
}

func (c *counters) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Stats{
		Accepted:    c.accepted.Load(),
		Refused:     c.refused.Load(),
		Active:      c.active.Load(),
		PeakThreads: c.peakThreads.Load(),
		Refusals:    map[string]uint64{},
	}
	for k, v := range c.refusals {
		s.Refusals[k] = v
	}
	for i := range c.shares {
		s.Shares = append(s.Shares, c.shares[i].Load())
	}
	return s
}

// releaser releases, once, what a server owns (descriptors, handles),
// last added first, and then its listener: the part of Close every OS's
// base shares.
type releaser struct {
	once sync.Once
	fns  []func() error
}

// onRelease adds something the server owns to what Close releases.
func (r *releaser) onRelease(f func() error) { r.fns = append(r.fns, f) }

// releaseAll runs the releases the first time, then listener (if any).
func (r *releaser) releaseAll(listener func() error) error {
	var errs []error
	r.once.Do(func() {
		for i := len(r.fns) - 1; i >= 0; i-- {
			errs = append(errs, r.fns[i]())
		}
		if listener != nil {
			errs = append(errs, listener())
		}
	})
	return errors.Join(errs...)
}

// lifecycle makes Serve, Close and a cancelled context agree: stop is called
// once to unblock the model's loop, Close waits for Serve to return.
type lifecycle struct {
	stopOnce sync.Once
	stopping chan struct{} // closed when the server must stop
	started  atomic.Bool
	served   chan struct{} // closed when Serve has returned
	wake     func()        // unblocks the model's wait; called once, after stopping is closed
}

func newLifecycle() lifecycle {
	return lifecycle{stopping: make(chan struct{}), served: make(chan struct{})}
}

func (l *lifecycle) stop() {
	l.stopOnce.Do(func() {
		close(l.stopping)
		if l.wake != nil {
			l.wake()
		}
	})
}

func (l *lifecycle) stopped() bool {
	select {
	case <-l.stopping:
		return true
	default:
		return false
	}
}

// begin marks Serve as started and stops the server when ctx is done; the
// returned func must be deferred by Serve.
func (l *lifecycle) begin(ctx context.Context) (end func(), err error) {
	if !l.started.CompareAndSwap(false, true) {
		return nil, errors.New("servers: Serve called twice")
	}
	go func() {
		select {
		case <-ctx.Done():
			l.stop()
		case <-l.served:
		}
	}()
	return func() { close(l.served) }, nil
}

// serve is the frame of every model's Serve: it marks Serve as started,
// returns at once if the server was already closed, and runs loop — on a
// locked OS thread when the model's state is bound to one (an APC queue,
// an io_uring with a single issuer) or it simply owns a core.
func (l *lifecycle) serve(ctx context.Context, lockThread bool, loop func() error) error {
	end, err := l.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	if l.stopped() {
		return nil
	}
	if lockThread {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	return loop()
}

// shutdown stops the server and waits for a running Serve to return.
func (l *lifecycle) shutdown() {
	l.stop()
	if l.started.Load() {
		<-l.served
	}
}

// listenOpts are how a model wants its listening socket — non-blocking
// (accept returns "would block"), shared by several loops (SO_REUSEPORT,
// Linux), overlapped (AcceptEx, Windows) — in the one newBase signature
// every OS has; an OS ignores what it has no use for.
type listenOpts struct{ nonblock, reusePort, overlapped bool }
