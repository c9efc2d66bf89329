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

	"iobench/internal/perfcount"
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

// FDReserve is the descriptors a process needs besides its connections
// (epoll and event descriptors, standard streams, the runtime's own).
const FDReserve = 64

// ErrFDLimit is returned before connecting when the connections asked for
// can't fit under the open-file limit.
var ErrFDLimit = errors.New("too many connections for the open-file limit")

// CheckFDs says, before any connection is made, whether n connections fit
// under this process's open-file limit (a server holding n connections
// needs as many: run checks its cells with it too).
func CheckFDs(n int) error {
	if why := FDShortfall(n); why != "" {
		return fmt.Errorf("loadgen: %w: %s", ErrFDLimit, why)
	}
	return nil
}

// FDShortfall says why n connections do not fit under the open-file
// limit ("" when they do): the reason CheckFDs gives.
func FDShortfall(n int) string {
	if lim := FDLimit(); lim > 0 && n+FDReserve > lim {
		return fmt.Sprintf("%d connections need about %d descriptors, the limit (ulimit -n) is %d: at most %d connections fit, or raise the limit",
			n, n+FDReserve, lim, lim-FDReserve)
	}
	return ""
}

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

// markCPU samples the process CPU at the start (end=false) or end of the
// measured window.
func (s *session) markCPU(end bool) {
	start := func() {
		s.cpuStart = processCPU()
		s.sysStart, s.sysStartOK = s.readSyscalls()
		s.namedStart = s.readNamed()
		if s.cfg.OnWindow != nil {
			s.cfg.OnWindow(false)
		}
	}
	s.cpuOnce.Do(start) // at the end: the warmup timer never fired
	if end {
		s.endOnce.Do(func() {
			s.cpuAtEnd = processCPU()
			s.sysEnd, s.sysEndOK = s.readSyscalls()
			if n, ok := listenOverflows(); ok && s.overflowsOK {
				s.overflows = n - s.overflows
			} else {
				s.overflowsOK = false
			}
			s.namedEnd = s.readNamed()
			if s.cfg.OnWindow != nil {
				s.cfg.OnWindow(true)
			}
		})
	}
}

// startProgress runs progress until the returned stop is called; stop
// waits for it to close the last interval, so the series is whole.
func (s *session) startProgress() (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		s.progress(done)
	}()
	return func() {
		close(done)
		<-finished
	}
}

// progress closes an interval of the time series every cfg.Interval
// until done is closed, reports progress about once a second, and
// samples CPU at the end of warmup.
func (s *session) progress(done <-chan struct{}) {
	tick := time.NewTicker(s.cfg.Interval)
	defer tick.Stop()
	warm := time.NewTimer(time.Until(s.base.Add(s.cfg.Warmup)))
	defer warm.Stop()
	// The window closes on time, as it opens: CPU, system calls and the
	// server's marks stop there, before the engines tear down (closing a
	// thousand connections is no part of serving replies).
	end := time.NewTimer(time.Until(s.base.Add(s.cfg.Warmup + s.cfg.Duration)))
	defer end.Stop()
	lastReport, replies := time.Now(), uint64(0)
	sofar := results.NewHistogram()
	for {
		select {
		case <-done:
			s.closeInterval(s.now(), nil)
			return
		case <-warm.C:
			// The measured window opens: so does a new interval.
			s.closeInterval(s.now(), sofar)
			tick.Reset(s.cfg.Interval)
			s.markCPU(false)
		case <-end.C:
			s.markCPU(true)
		case now := <-tick.C:
			iv := s.closeInterval(s.now(), sofar)
			replies += iv.Replies
			if s.cfg.Progress == nil || now.Sub(lastReport) < 900*time.Millisecond {
				continue
			}
			elapsed := time.Since(s.base)
			s.cfg.Progress(Progress{
				Elapsed: elapsed, Warmup: elapsed < s.cfg.Warmup,
				RatePerSec:  float64(replies) / now.Sub(lastReport).Seconds(),
				P99:         time.Duration(sofar.ValueAtQuantile(99)),
				Established: int(s.established.Load()), Requested: s.cfg.Conns + s.cfg.IdleConns,
			})
			lastReport, replies = now, 0
		}
	}
}

// closeInterval ends the current interval at now (ns since base): its
// replies and latency from every worker, the requests still waiting and
// the oldest of them, and the stall bookkeeping. merged, when set, gets
// the interval's histogram added.
func (s *session) closeInterval(now int64, merged *hdrhistogram.Histogram) results.Interval {
	// Nothing after the window counts (replies past it are not recorded):
	// the series ends with the window, not with a sliver of silence.
	now = min(now, s.endedAt.Load())
	h := s.ivHist
	h.Reset()
	iv := results.Interval{StartNS: s.ivStart, EndNS: now, Warmup: s.ivStart < s.plan.measureAt}
	for _, w := range s.workers {
		w.mu.Lock()
		iv.Replies += w.rec.intervalRepl
		w.rec.intervalRepl = 0
		h.Merge(w.rec.iv)
		w.rec.iv.Reset()
		for _, c := range w.conns {
			age := c.oldest(now)
			if age == 0 {
				continue
			}
			iv.Outstanding += c.n
			iv.OldestNS = max(iv.OldestNS, age)
			if age > int64(s.cfg.StallAfter) && !s.stalledConn[c.id] {
				s.stalledConn[c.id] = true
			}
		}
		w.mu.Unlock()
	}
	if now <= s.ivStart {
		return iv // past the window: nothing to record
	}
	if h.TotalCount() > 0 {
		iv.P50NS, iv.P99NS, iv.MaxNS = h.ValueAtQuantile(50), h.ValueAtQuantile(99), h.Max()
	}
	s.stallMax = max(s.stallMax, iv.OldestNS)
	if iv.Replies == 0 && iv.Outstanding > 0 && !iv.Warmup {
		s.stalledNS += now - s.ivStart
	}
	if merged != nil {
		merged.Merge(h)
	}
	s.intervals = append(s.intervals, iv)
	if s.cfg.OnInterval != nil {
		h.SetStartTimeMs(s.base.Add(time.Duration(s.ivStart)).UnixMilli())
		h.SetEndTimeMs(s.base.Add(time.Duration(now)).UnixMilli())
		s.cfg.OnInterval(iv, h)
	}
	s.ivStart = now
	return iv
}

func (s *session) result(engine string, busy, idleClosed int) *results.Run {
	cfg := s.cfg
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
	t := s.tally(r)
	measured := max(0, t.end-s.plan.measureAt)
	r.MeasuredNS = measured
	if measured > 0 {
		secs := float64(measured) / 1e9
		r.ThroughputPerSec = float64(r.Replies) / secs
		r.BytesPerSec = float64(t.bytes) / secs
		if cfg.Mode == Rate {
			r.Rate = &results.RateStats{Target: cfg.Rate, Achieved: float64(t.sent) / secs,
				BacklogMax: t.backlogMax, BacklogEnd: t.backlogEnd, Unfinished: t.unfinished}
			r.Rate.Overloaded = min(r.Rate.Achieved, r.ThroughputPerSec) < 0.99*cfg.Rate
		}
	}
	if cfg.Mode == Rate && r.Rate == nil {
		r.Rate = &results.RateStats{Target: cfg.Rate}
	}
	s.histograms(r, t)
	s.connections(r, busy, idleClosed)
	r.Fairness = results.FairnessOf(t.counts)
	s.clientCPU(r, measured)
	if sh := cfg.Shard; sh != nil {
		shard := *sh
		shard.StartedAt = s.base.UTC()
		r.Shard = &shard
		r.ConnReplies = t.counts
	}
	s.series(r, t)
	r.Warnings = warnings(r, busy)
	r.Failures = failures(r, busy)
	return r
}

// series records the time series and the stalls: the intervals, and
// every request still waiting when the window closed, with its age.
func (s *session) series(r *results.Run, t tally) {
	r.Series = &results.Series{IntervalNS: int64(s.cfg.Interval), Intervals: s.intervals}
	st := &results.Stall{AfterNS: int64(s.cfg.StallAfter), StalledNS: s.stalledNS, MaxAgeNS: s.stallMax}
	for _, w := range s.workers {
		for _, c := range w.conns {
			age := c.oldest(t.end)
			if age == 0 {
				continue
			}
			st.OutstandingAtEnd += c.n
			st.OldestAtEndNS = max(st.OldestAtEndNS, age)
			st.MaxAgeNS = max(st.MaxAgeNS, age)
			if age > int64(s.cfg.StallAfter) {
				s.stalledConn[c.id] = true
				if c.rxOff > 0 {
					st.Partial++
				}
			}
		}
	}
	st.Conns = len(s.stalledConn)
	r.Stall = st
}

// tally is the workers' counts summed.
type tally struct {
	lat, latRaw, late                  *hdrhistogram.Histogram
	open                               *hdrhistogram.Histogram // unanswered requests' ages at the end
	counts                             []uint64                // replies per busy connection
	sent, bytes                        uint64
	unfinished, backlogMax, backlogEnd int64
	// end is when the measured window closed: the plan's end, an
	// interruption, or the last busy connection lost mid-run (throughput
	// counts only the time some connection was alive).
	end int64
}

// tally merges the workers' recorders into r's counts and returns the rest.
func (s *session) tally(r *results.Run) tally {
	t := tally{lat: results.NewHistogram(), open: results.NewHistogram(), end: s.endedAt.Load()}
	if s.cfg.Mode == Rate {
		t.latRaw, t.late = results.NewHistogram(), results.NewHistogram()
	}
	allDied, lastDeath := true, int64(0)
	for _, w := range s.workers {
		var mine uint64
		for _, c := range w.conns {
			mine += c.replies
		}
		r.WorkerReplies = append(r.WorkerReplies, mine)
		t.lat.Merge(w.rec.lat)
		if t.latRaw != nil {
			t.latRaw.Merge(w.rec.latRaw)
			t.late.Merge(w.rec.late)
		}
		r.Errors += w.rec.errors
		for k, v := range w.rec.errorKinds {
			r.ErrorKinds[k] += v
		}
		t.sent += w.rec.sent
		t.bytes += w.rec.bytes
		r.Connections.ClosedByPeer += w.closedByPeer
		t.backlogMax = max(t.backlogMax, w.backlogMax)
		for _, c := range w.conns {
			t.counts = append(t.counts, c.replies)
			r.Replies += c.replies
			if c.diedAt == 0 {
				allDied = false
			}
			lastDeath = max(lastDeath, c.diedAt)
			if !c.dead {
				t.unfinished += c.unfinished(t.end, t.open)
				if s.cfg.Mode == Rate {
					t.backlogEnd += max(0, c.backlog(t.end-1))
				}
			}
		}
	}
	if allDied && len(t.counts) > 0 {
		t.end = min(t.end, lastDeath)
	}
	return t
}

func (s *session) histograms(r *results.Run, t tally) {
	// Requests unanswered at the end count in the corrected tail, each at
	// its age (wrk2 counts them too): a server that stopped answering
	// must not read as fast.
	r.LatencyNS = results.PercentilesWithOpen(t.lat, t.open)
	r.Histograms.Latency, _ = results.EncodeHistogram(t.lat)
	if t.latRaw != nil {
		p := results.PercentilesOf(t.latRaw)
		r.LatencyUncorrectedNS = &p
		r.Histograms.LatencyUncorrected, _ = results.EncodeHistogram(t.latRaw)
		r.Rate.Lateness = results.PercentilesOf(t.late)
		r.Histograms.Lateness, _ = results.EncodeHistogram(t.late)
	}
	r.ConnectNS = results.PercentilesOf(s.connectHist)
	r.Histograms.Connect, _ = results.EncodeHistogram(s.connectHist)
}

func (s *session) connections(r *results.Run, busy, idleClosed int) {
	failed := 0
	for _, n := range s.failedBy {
		failed += n
	}
	c := &r.Connections
	c.Requested = s.cfg.Conns + s.cfg.IdleConns
	c.Established = int(s.established.Load())
	if s.cfg.Mode == Churn {
		// Every transaction asks for a connection of its own.
		c.Requested = c.Established + failed
	}
	c.Failed = failed
	if failed > 0 {
		c.FailedBy = s.failedBy
	}
	c.IdleRequested = s.cfg.IdleConns
	c.IdleEstablished = c.Established - busy
	if s.cfg.Mode == Churn {
		c.IdleEstablished = s.idleUp
	}
	c.IdleClosed = idleClosed
	if s.overflowsOK {
		c.ListenOverflows = s.overflows
	}
}

func (s *session) readSyscalls() (uint64, bool) {
	if s.syscalls == nil {
		return 0, false
	}
	n, err := s.syscalls.Read()
	if err != nil {
		s.syscallsErr = err
		return 0, false
	}
	return n, true
}

func (s *session) readNamed() map[string]uint64 {
	if s.syscalls == nil {
		return nil
	}
	m, err := s.syscalls.ReadByName(perfcount.Calls)
	if err != nil {
		s.namedErr = err
		return nil
	}
	return m
}

func (s *session) clientCPU(r *results.Run, measured int64) {
	cpu := s.cpuAtEnd.sub(s.cpuStart)
	r.Client = results.ClientCPU{UserNS: cpu.user, SysNS: cpu.sys, Cores: usableCores()}
	r.Client.KernelCounts = results.CountsPerReply(results.CountReadings{
		Syscalls: [2]uint64{s.sysStart, s.sysEnd}, SyscallsOK: s.sysStartOK && s.sysEndOK,
		Ctx: [2]uint64{0, uint64(max(cpu.ctx, 0))}, CtxOK: cpu.ctxKnown,
		Named: [2]map[string]uint64{s.namedStart, s.namedEnd}, Err: s.syscallsErr, NamedErr: s.namedErr,
	}, r.Replies)
	if measured > 0 && r.Client.Cores > 0 {
		r.Client.Utilization = float64(cpu.user+cpu.sys) / (float64(measured) * float64(r.Client.Cores))
		r.Client.Bottleneck = results.GeneratorBound(r.Client.Utilization)
	}
	if est := r.Connections.Established; est > 0 && s.connMem > 0 {
		r.Client.MemoryPerConn = s.connMem / int64(est)
	}
}

// Fair reports whether r's service was fair (results.FairJain).
func Fair(r *results.Run) bool {
	return r.Fairness.Fair()
}

// warnings says why the numbers may not mean what they seem to.
func warnings(r *results.Run, busy int) []results.Warning {
	var w []results.Warning
	c := r.Connections
	if c.Established < c.Requested {
		w = append(w, results.Warn(results.CodeLostConns, "only %d of %d connections were established (%d busy of %d): %s",
			c.Established, c.Requested, busy, r.Config.Conns, describeFailures(c.FailedBy)).WithFigure(float64(c.Established)))
	}
	if c.IdleClosed > 0 {
		w = append(w, results.Warn(results.CodeIdleClosed, "the server closed %d of %d idle connections", c.IdleClosed, c.IdleEstablished).WithFigure(float64(c.IdleClosed)))
	}
	if rs := r.Rate; rs != nil && rs.Overloaded {
		who := "the server could not keep up"
		if r.Client.Bottleneck {
			who = "the generator, near its cores' limit, may be what could not keep up"
		}
		w = append(w, results.Warn(results.CodeMissedRate, "overloaded: carried %.0f replies/s of %.0f msg/s offered (%.1f%%), %d due and unsent at the end: %s; latency is corrected from the schedule",
			r.ThroughputPerSec, rs.Target, 100*r.ThroughputPerSec/rs.Target, rs.BacklogEnd, who).WithFigure(r.ThroughputPerSec))
	}
	if r.Replies > 0 && !Fair(r) {
		w = append(w, results.Warn(results.CodeUnfair, "Jain %.2f, %d of %d busy connections got no reply: some connections waited while others were served, so its latency covers only the replies it gave",
			r.Fairness.Jain, r.Fairness.ZeroConn, busy).WithFigure(r.Fairness.Jain))
	}
	if r.Client.Bottleneck {
		cores := fmt.Sprintf("%d cores", r.Client.Cores)
		if r.Client.Cores == 1 {
			cores = "1 core"
		}
		w = append(w, results.Warn(results.CodeGeneratorBound, "the load generator used %.0f%% of its %s: it may be the bottleneck, not the server",
			100*r.Client.Utilization, cores).WithFigure(r.Client.Utilization))
	}
	if r.Interrupted {
		w = append(w, results.Warn(results.CodeInterrupted, "%.1fs of %.1fs measured", float64(r.MeasuredNS)/1e9, float64(r.Config.DurationNS)/1e9).WithFigure(float64(r.MeasuredNS)/1e9))
	}
	if r.Environment.Emulated != "" {
		w = append(w, results.Warn(results.CodeEmulated, "under %s: numbers are for correctness, not performance", r.Environment.Emulated))
	}
	if sh := r.Shard; sh != nil && !sh.StartAt.IsZero() {
		if late := sh.StartedAt.Sub(sh.StartAt); late > 10*time.Millisecond {
			w = append(w, results.Warn(results.CodeLateStart, "this shard began its warmup %s after --start-at (connecting took that long)", late.Round(time.Millisecond)).WithFigure(late.Seconds()))
		}
	}
	return w
}

// failures says why the run failed, if it did: what it measured is then
// not a result about the server's speed.
func failures(r *results.Run, busy int) []results.Warning {
	var f []results.Warning
	if r.Errors > 0 {
		f = append(f, results.Warn(results.CodeCorrupted, "%d replies did not match what was sent (%s)", r.Errors, joinKinds(r.ErrorKinds)).WithFigure(float64(r.Errors)))
	}
	if n := r.Connections.ClosedByPeer; n > 0 {
		if r.Config.Mode == string(Churn) {
			// Each transaction is a connection of its own.
			f = append(f, results.Warn(results.CodeServerClosed, "the server closed or reset %d transactions' connections before they were answered", n).WithFigure(float64(n)))
		} else {
			f = append(f, results.Warn(results.CodeServerClosed, "the server closed or reset %d of %d busy connections during the run; throughput is over the %.2fs they were alive",
				n, busy, float64(r.MeasuredNS)/1e9).WithFigure(float64(n)))
		}
	}
	if st := r.Stall; st != nil && st.Conns > 0 {
		short := ""
		if st.Partial > 0 {
			short = fmt.Sprintf("; %d of them had part of a reply and waited for the rest: short replies", st.Partial)
		}
		f = append(f, results.Warn(results.CodeStalled, "%d of %d busy connections waited longer than %s for a reply (the longest %s; %d requests unanswered when the window closed%s)",
			st.Conns, busy, time.Duration(st.AfterNS), time.Duration(st.MaxAgeNS).Round(time.Millisecond), st.OutstandingAtEnd, short).WithFigure(float64(st.Conns)))
	}
	if r.Replies == 0 && !r.Interrupted {
		f = append(f, results.Warn(results.CodeNoReplies, "not one reply in %.1fs measured", float64(r.MeasuredNS)/1e9))
	}
	// A cause the host saw: handshakes the server's accept queue had no
	// room for are dropped and retried after a second or more.
	if n := r.Connections.ListenOverflows; n > 0 && len(f) > 0 {
		for i, w := range f {
			if w.Code == results.CodeStalled || w.Code == results.CodeNoReplies {
				f[i].Text += fmt.Sprintf("; this host's TCP accept queues overflowed %d times meanwhile (TcpExtListenOverflows): connections the server did not accept in time wait a second or more for the handshake's retry", n)
			}
		}
	}
	return f
}

func joinKinds(m map[string]uint64) string {
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%d %s", v, k))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
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
