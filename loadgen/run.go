package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"iobench/internal/perfcount"
	"iobench/results"
)

// ErrNoServer is returned when no connection could be made at all.
var ErrNoServer = errors.New("no connection could be established")

// worker is one share of the busy connections with its own recorder.
type worker struct {
	index        int        // which of the session's workers: the CPU it is pinned to, where it is
	mu           sync.Mutex // held by the engine per batch of events, by progress per tick
	rec          *recorder
	conns        []*conn
	closedByPeer int
	backlogMax   int64
}

// session is the state of one run shared by the engines.
type session struct {
	cfg  Config
	plan plan
	base time.Time

	connMu      sync.Mutex
	connectHist *hdrhistogram.Histogram
	failedBy    map[string]int
	established atomic.Int64

	workers  []*worker
	stopped  atomic.Bool // interrupted
	endedAt  atomic.Int64
	cpuStart cpuTimes
	cpuAtEnd cpuTimes
	// overflows is this host's TCP accept-queue overflows: the count
	// when the run began, then (at the window's end) how many since.
	overflows   uint64
	overflowsOK bool
	cpuOnce     sync.Once
	endOnce     sync.Once // the window's end is marked once: by the timer, or when the run ends first
	// The generator's own system calls, counted by the kernel over the
	// window (syscallsErr: why not).
	syscalls             *perfcount.Set
	syscallsErr          error
	sysStart, sysEnd     uint64
	sysStartOK, sysEndOK bool
	namedErr             error // why there are no counts by name
	namedStart, namedEnd map[string]uint64
	connMem              int64 // RSS growth from before connecting to the end of the run
	idleUp               int   // churn: idle connections established before the transactions began

	// The time series, kept by progress's goroutine alone until the
	// engine has stopped (closeInterval).
	ivHist      *hdrhistogram.Histogram
	ivStart     int64
	intervals   []results.Interval
	stalledConn map[uint32]bool // connections whose request waited past StallAfter
	stallMax    int64           // longest wait seen at an interval's end
	stalledNS   int64           // measured intervals with no reply while requests waited
}

func (s *session) now() int64 { return int64(time.Since(s.base)) }

// spread makes the workers (at most one per connection) and the n busy
// connections' protocol state: connection i belongs to worker i mod
// len(workers), at position i div len(workers), and in rate mode is due at
// i/n of a period, so sends are spread evenly.
func (s *session) spread(n int) {
	nw := min(s.cfg.Workers, n)
	for k := range nw {
		s.workers = append(s.workers, &worker{index: k, rec: newRecorder(s.cfg.Mode == Rate)})
	}
	for i := range n {
		w := s.workers[i%nw]
		w.conns = append(w.conns, newConn(uint32(i), &s.plan, s.plan.period*int64(i)/int64(n)))
	}
}

// interrupt marks the run cut short now (Ctrl-C); the engine then unblocks
// its connections.
func (s *session) interrupt() {
	s.stopped.Store(true)
	s.endedAt.Store(min(s.endedAt.Load(), s.now()))
}

// connectFailed counts a failed connection attempt by errno name.
func (s *session) connectFailed(name string) {
	s.connMu.Lock()
	s.failedBy[name]++
	s.connMu.Unlock()
}

func (s *session) connected(d time.Duration) {
	s.connMu.Lock()
	results.Record(s.connectHist, int64(d))
	s.connMu.Unlock()
	s.established.Add(1)
}

// engine is how connections are made and driven: epoll on Linux, net
// everywhere.
type engine interface {
	name() string
	// dial connects n connections, the first idle of them silent; it
	// returns the busy ones' count established.
	dial(ctx context.Context, s *session, idle, busy int) (busyEstablished int, err error)
	// drive runs the workers until the plan's end, ctx's end, or every
	// connection is dead, and returns when all have stopped.
	drive(ctx context.Context, s *session)
	// idleClosed counts idle connections the server closed, then closes all.
	closeAll() (idleClosed int)
}

// Run connects, warms up, measures and returns the run. A cancelled ctx
// (Ctrl-C) ends it early: the run is returned, marked interrupted, with
// what was measured so far.
func Run(ctx context.Context, cfg Config) (*results.Run, error) {
	if err := cfg.Normalize(); err != nil {
		return nil, err
	}
	if err := CheckFDs(cfg.Conns + cfg.IdleConns); err != nil {
		return nil, err
	}
	if err := engineUnavailable(cfg.Engine); err != nil {
		return nil, fmt.Errorf("loadgen: --engine %s: %w", cfg.Engine, err)
	}
	e := newEngine(cfg)
	return run(ctx, cfg, e)
}

func run(ctx context.Context, cfg Config, e engine) (*results.Run, error) {
	s := &session{cfg: cfg, connectHist: results.NewHistogram(), failedBy: map[string]int{},
		ivHist: results.NewHistogram(), stalledConn: map[uint32]bool{}}
	defer e.closeAll()
	rssBefore := rssBytes()
	dialBusy := cfg.Conns
	if cfg.Mode == Churn {
		dialBusy = 0 // each transaction makes its own
	}
	busy, err := e.dial(ctx, s, cfg.IdleConns, dialBusy)
	if err != nil {
		return nil, err
	}
	if cfg.Mode == Churn {
		busy, s.idleUp = cfg.Conns, int(s.established.Load())
	}
	if busy == 0 {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("loadgen: interrupted while connecting")
		}
		return nil, fmt.Errorf("loadgen: %w to %s: %s", ErrNoServer, cfg.Addr, describeFailures(s.failedBy))
	}

	// The counters are opened before any wait for --start-at: opening
	// them takes milliseconds, which a shard must not spend after it.
	if s.syscalls, s.syscallsErr = perfcount.Open(0, perfcount.Syscalls); s.syscalls != nil {
		defer s.syscalls.Close()
	}
	s.overflows, s.overflowsOK = listenOverflows()
	if cfg.StartBarrier != nil && cfg.Shard != nil {
		at, err := cfg.StartBarrier(ctx)
		if err != nil {
			return nil, fmt.Errorf("loadgen: waiting for the other shards: %w", err)
		}
		sh := *cfg.Shard
		if at.After(sh.StartAt) {
			sh.StartAt = at
		}
		cfg.Shard, s.cfg.Shard = &sh, &sh
	}
	if sh := cfg.Shard; sh != nil && !sh.StartAt.IsZero() {
		// Every shard begins its warmup at the same instant.
		select {
		case <-time.After(time.Until(sh.StartAt)):
		case <-ctx.Done():
			return nil, fmt.Errorf("loadgen: interrupted while waiting for --start-at %s", sh.StartAt.Format(time.RFC3339Nano))
		}
	}
	// The clock starts once everyone is connected.
	s.base = time.Now()
	s.plan = plan{
		mode: cfg.Mode, sizeMin: cfg.SizeMin, sizeSpan: cfg.SizeMax - cfg.SizeMin + 1,
		window: cfg.window(), measureAt: int64(cfg.Warmup), endAt: int64(cfg.Warmup + cfg.Duration),
	}
	if cfg.Mode == Rate {
		s.plan.period = int64(float64(busy) / cfg.Rate * float64(time.Second))
		if s.plan.period < 1 {
			s.plan.period = 1
		}
		s.plan.quantum = int64(DefaultQuantum)
	}
	s.endedAt.Store(s.plan.endAt)
	if cfg.Mode == Churn {
		s.churn(ctx)
	} else {
		e.drive(ctx, s)
	}
	s.markCPU(true)
	s.connMem = rssBytes() - rssBefore
	idleClosed := e.closeAll()
	engine := e.name()
	if cfg.Mode == Churn {
		engine = "net" // transactions dial with Go's net package
	}
	return s.result(engine, busy, idleClosed), nil
}
