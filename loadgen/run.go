package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"iobench/results"
)

// ErrNoServer is returned when no connection could be made at all.
var ErrNoServer = errors.New("no connection could be established")

// ResourceError is a connection failure that more tries can't fix: the
// descriptor limit or the ephemeral ports ran out. Nothing was measured.
type ResourceError struct {
	Errno       string // EMFILE, ENFILE, EADDRNOTAVAIL
	Established int
	Requested   int
	Limit       string // the limit to raise, and its value when known
}

func (e *ResourceError) Error() string {
	return fmt.Sprintf("loadgen: %s after %d of %d connections: %s", e.Errno, e.Established, e.Requested, e.Limit)
}

// worker is one share of the busy connections with its own recorder.
type worker struct {
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
	cpuOnce  sync.Once
	connMem  int64 // RSS growth from before connecting to the end of the run
}

func (s *session) now() int64 { return int64(time.Since(s.base)) }

// spread makes the workers (at most one per connection) and the n busy
// connections' protocol state: connection i belongs to worker i mod
// len(workers), at position i div len(workers), and in rate mode is due at
// i/n of a period, so sends are spread evenly.
func (s *session) spread(n int) {
	nw := min(s.cfg.Workers, n)
	for range nw {
		s.workers = append(s.workers, &worker{rec: newRecorder(s.cfg.Mode == Rate)})
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

// pacer spaces connection attempts at the connect rate.
type pacer struct {
	mu       sync.Mutex
	next     time.Time
	interval time.Duration
}

func newPacer(rate float64) *pacer {
	p := &pacer{next: time.Now()}
	if rate > 0 {
		p.interval = time.Duration(float64(time.Second) / rate)
	}
	return p
}

func (p *pacer) wait(ctx context.Context) error {
	if p.interval == 0 {
		return ctx.Err()
	}
	p.mu.Lock()
	at := p.next
	if now := time.Now(); p.next.Before(now) {
		p.next = now
	}
	p.next = p.next.Add(p.interval)
	p.mu.Unlock()
	select {
	case <-time.After(time.Until(at)):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
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
	e := newEngine(cfg)
	return run(ctx, cfg, e)
}

func run(ctx context.Context, cfg Config, e engine) (*results.Run, error) {
	s := &session{cfg: cfg, connectHist: results.NewHistogram(), failedBy: map[string]int{}}
	defer e.closeAll()
	rssBefore := rssBytes()
	busy, err := e.dial(ctx, s, cfg.IdleConns, cfg.Conns)
	if err != nil {
		return nil, err
	}
	if busy == 0 {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("loadgen: interrupted while connecting")
		}
		return nil, fmt.Errorf("loadgen: %w to %s: %s", ErrNoServer, cfg.Addr, describeFailures(s.failedBy))
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
	}
	s.endedAt.Store(s.plan.endAt)
	e.drive(ctx, s)
	s.markCPU(true)
	s.connMem = rssBytes() - rssBefore
	idleClosed := e.closeAll()
	return s.result(e.name(), busy, idleClosed), nil
}

// markCPU samples the process CPU at the start (end=false) or end of the
// measured window.
func (s *session) markCPU(end bool) {
	start := func() {
		s.cpuStart = processCPU()
		if s.cfg.OnWindow != nil {
			s.cfg.OnWindow(false)
		}
	}
	s.cpuOnce.Do(start) // at the end: the warmup timer never fired
	if end {
		s.cpuAtEnd = processCPU()
		if s.cfg.OnWindow != nil {
			s.cfg.OnWindow(true)
		}
	}
}

// progress reports every second until done is closed, and samples CPU at
// the end of warmup.
func (s *session) progress(done <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	warm := time.NewTimer(time.Until(s.base.Add(s.cfg.Warmup)))
	defer warm.Stop()
	last := time.Now()
	for {
		select {
		case <-done:
			return
		case <-warm.C:
			s.markCPU(false)
		case now := <-tick.C:
			if s.cfg.Progress == nil {
				continue
			}
			var n uint64
			h := results.NewHistogram()
			for _, w := range s.workers {
				w.mu.Lock()
				n += w.rec.intervalRepl
				w.rec.intervalRepl = 0
				h.Merge(w.rec.lat)
				w.mu.Unlock()
			}
			elapsed := time.Since(s.base)
			s.cfg.Progress(Progress{
				Elapsed: elapsed, Warmup: elapsed < s.cfg.Warmup,
				RatePerSec:  float64(n) / now.Sub(last).Seconds(),
				P99:         time.Duration(h.ValueAtQuantile(99)),
				Established: int(s.established.Load()), Requested: s.cfg.Conns + s.cfg.IdleConns,
			})
			last = now
		}
	}
}

func (s *session) result(engine string, busy, idleClosed int) *results.Run {
	cfg := s.cfg
	lat := results.NewHistogram()
	var latRaw *hdrhistogram.Histogram
	if cfg.Mode == Rate {
		latRaw = results.NewHistogram()
	}
	r := &results.Run{
		Schema: results.SchemaVersion,
		Config: results.RunConfig{
			Addr: cfg.Addr, Mode: string(cfg.Mode), Conns: cfg.Conns, IdleConns: cfg.IdleConns,
			Depth: cfg.Depth, Rate: cfg.Rate, SizeMin: cfg.SizeMin, SizeMax: cfg.SizeMax,
			DurationNS: int64(cfg.Duration), WarmupNS: int64(cfg.Warmup), ConnectRate: cfg.ConnectRate,
			ConnectTimeout: int64(cfg.ConnectTimeout), Workers: len(s.workers), Engine: engine,
		},
		Environment: results.CurrentEnvironment(cfg.Version),
		Interrupted: s.stopped.Load(),
		ErrorKinds:  map[string]uint64{},
	}
	var counts []uint64
	var sent, bytes uint64
	var unfinished, backlogMax, backlogEnd int64
	end := s.endedAt.Load()
	for _, w := range s.workers {
		lat.Merge(w.rec.lat)
		if latRaw != nil {
			latRaw.Merge(w.rec.latRaw)
		}
		r.Errors += w.rec.errors
		for k, v := range w.rec.errorKinds {
			r.ErrorKinds[k] += v
		}
		sent += w.rec.sent
		bytes += w.rec.bytes
		r.Connections.ClosedByPeer += w.closedByPeer
		backlogMax = max(backlogMax, w.backlogMax)
		for _, c := range w.conns {
			counts = append(counts, c.replies)
			r.Replies += c.replies
			if !c.dead {
				unfinished += c.unfinished(end)
				if cfg.Mode == Rate {
					backlogEnd += max(0, c.backlog(end-1))
				}
			}
		}
	}
	measured := max(0, end-s.plan.measureAt)
	r.MeasuredNS = measured
	if measured > 0 {
		secs := float64(measured) / 1e9
		r.ThroughputPerSec = float64(r.Replies) / secs
		r.BytesPerSec = float64(bytes) / secs
		if cfg.Mode == Rate {
			r.Rate = &results.RateStats{Target: cfg.Rate, Achieved: float64(sent) / secs,
				BacklogMax: backlogMax, BacklogEnd: backlogEnd, Unfinished: unfinished}
		}
	}
	r.LatencyNS = results.PercentilesOf(lat)
	r.Histograms.Latency, _ = results.EncodeHistogram(lat)
	if latRaw != nil {
		p := results.PercentilesOf(latRaw)
		r.LatencyUncorrectedNS = &p
		r.Histograms.LatencyUncorrected, _ = results.EncodeHistogram(latRaw)
	}
	r.ConnectNS = results.PercentilesOf(s.connectHist)
	r.Histograms.Connect, _ = results.EncodeHistogram(s.connectHist)

	failed := 0
	for _, n := range s.failedBy {
		failed += n
	}
	r.Connections.Requested = cfg.Conns + cfg.IdleConns
	r.Connections.Established = int(s.established.Load())
	r.Connections.Failed = failed
	if failed > 0 {
		r.Connections.FailedBy = s.failedBy
	}
	r.Connections.IdleRequested = cfg.IdleConns
	r.Connections.IdleEstablished = r.Connections.Established - busy
	r.Connections.IdleClosed = idleClosed
	r.Fairness = results.FairnessOf(counts)

	cpu := s.cpuAtEnd.sub(s.cpuStart)
	r.Client = results.ClientCPU{UserNS: cpu.user, SysNS: cpu.sys, Cores: usableCores()}
	if measured > 0 && r.Client.Cores > 0 {
		r.Client.Utilization = float64(cpu.user+cpu.sys) / (float64(measured) * float64(r.Client.Cores))
		r.Client.Bottleneck = r.Client.Utilization > 0.8
	}
	if est := r.Connections.Established; est > 0 && s.connMem > 0 {
		r.Client.MemoryPerConn = s.connMem / int64(est)
	}
	r.Warnings = warnings(r, busy)
	return r
}

// warnings says, in a line each, why the numbers may not mean what they
// seem to.
func warnings(r *results.Run, busy int) []string {
	var w []string
	c := r.Connections
	if c.Established < c.Requested {
		w = append(w, fmt.Sprintf("only %d of %d connections were established (%d busy of %d): %s",
			c.Established, c.Requested, busy, r.Config.Conns, describeFailures(c.FailedBy)))
	}
	if c.ClosedByPeer > 0 {
		w = append(w, fmt.Sprintf("the server closed %d of %d busy connections during the run", c.ClosedByPeer, busy))
	}
	if c.IdleClosed > 0 {
		w = append(w, fmt.Sprintf("the server closed %d of %d idle connections", c.IdleClosed, c.IdleEstablished))
	}
	if r.Errors > 0 {
		w = append(w, fmt.Sprintf("%d replies did not match what was sent", r.Errors))
	}
	if r.Rate != nil && r.Rate.Achieved < 0.99*r.Rate.Target {
		w = append(w, fmt.Sprintf("achieved %.0f msg/s, %.1f%% of the target %.0f: the server (or the generator) could not keep up; latency is corrected from the schedule",
			r.Rate.Achieved, 100*r.Rate.Achieved/r.Rate.Target, r.Rate.Target))
	}
	if r.Client.Bottleneck {
		w = append(w, fmt.Sprintf("the load generator used %.0f%% of its %d cores: it may be the bottleneck, not the server",
			100*r.Client.Utilization, r.Client.Cores))
	}
	if r.Interrupted {
		w = append(w, fmt.Sprintf("interrupted: %.1fs of %.1fs measured", float64(r.MeasuredNS)/1e9, float64(r.Config.DurationNS)/1e9))
	}
	if r.Environment.Emulated != "" {
		w = append(w, "emulated ("+r.Environment.Emulated+"): numbers are for correctness, not performance")
	}
	return w
}

func describeFailures(by map[string]int) string {
	if len(by) == 0 {
		return "no failures recorded"
	}
	var parts []string
	for k, v := range by {
		parts = append(parts, fmt.Sprintf("%d %s", v, k))
	}
	sort.Strings(parts)
	s := strings.Join(parts, ", ")
	if by["ECONNREFUSED"] > 0 {
		s += " (is a server listening there?)"
	}
	return s
}
