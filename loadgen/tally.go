package loadgen

import (
	"iobench/internal/perfcount"
	"iobench/results"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Tallying a run: the workers' recorders added up into the result, its
// histograms, connections, and the generator's own CPU and kernel counts.

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
