package matrix

import (
	"context"
	"math"
	"runtime"
	"slices"
	"time"

	"iobench/loadgen"
	"iobench/results"
)

// Capacity asks, for each model × scenario at Conns, for the highest
// offered rate that holds SLO (results.StepOf's rule): a closed-loop
// probe, a geometric ramp from half of it, then bisection to within
// Precision; Searches times, so the knee has a range; the models' steps
// interleaved. Then every model at one common rate (AtRate, or half the
// lowest knee), Searches times, for its CPU and tail at equal load.
type Capacity struct {
	SLO      results.SLO
	Conns    []int
	Searches int
	// Step is how long each step is measured, after StepWarmup.
	Step, StepWarmup time.Duration
	AtRate           float64 // 0: half the lowest knee
}

// Defaults of a capacity search.
const (
	DefaultSearches   = 3
	DefaultStep       = 400 * time.Millisecond
	DefaultStepWarmup = 100 * time.Millisecond
	// Precision: a search ends when the lowest rate that failed is
	// within this factor of the highest that held.
	Precision = 1.05
	// maxSteps bounds one search; minRate is the lowest rate tried.
	maxSteps = 14
	minRate  = 50
)

// Estimate is about how long the capacity searches take: a probe, about
// six steps a search (measured here: 15 to 20 steps for three
// searches), and the common rate once a search, per model × scenario.
func (cc *Capacity) Estimate(models, scenarios int, overhead time.Duration) time.Duration {
	steps := 1 + 7*cc.Searches
	return time.Duration(models*scenarios*steps) * (cc.Step + cc.StepWarmup + overhead)
}

// search is one model × scenario's capacity search, over its repetitions.
type search struct {
	cap    *results.Capacity
	total  int     // repetitions of the search
	closed float64 // the closed-loop probe's throughput (0: not yet)
	k      int     // the current repetition, 1-based
	lo, hi float64 // highest rate held, lowest failed (0: none yet)
	hiGen  bool    // the step at hi failed at the generator's limit
	atGen  int     // searches that ended at the generator's limit
	next   float64
	steps  int
	done   bool
}

// advance takes a measured step and decides the next rate.
func (s *search) advance(st results.Step) {
	s.steps++
	st.Search = s.k
	s.cap.Steps = append(s.cap.Steps, st)
	switch {
	case st.Failed != "":
		s.cap.Failed = st.Failed
		s.done = true
		return
	case st.Held:
		s.lo = max(s.lo, st.Rate)
	default:
		if s.hi == 0 || st.Rate < s.hi {
			s.hi, s.hiGen = st.Rate, st.GeneratorLimit
		}
	}
	ramp := 1.5
	if s.k > 1 {
		ramp = 1.15 // later searches start at the first's knee
	}
	switch {
	case s.lo == 0 && st.Rate/ramp < minRate:
		s.endSearch() // not even the lowest rate held
	case s.lo == 0:
		s.next = st.Rate / ramp
	case s.hi == 0:
		s.next = st.Rate * ramp
	case s.hi/s.lo <= Precision:
		s.endSearch()
	default:
		s.next = math.Sqrt(s.lo * s.hi)
	}
	if !s.done && s.steps >= maxSteps {
		s.endSearch()
	}
}

// endSearch records this repetition's knee and starts the next.
func (s *search) endSearch() {
	c := s.cap
	c.Knees = append(c.Knees, s.lo)
	// A search that never failed, or failed first where the generator
	// could not offer the rate, found the generator's limit; the knee is
	// the generator's ("≥") when at least half the searches did, so that
	// one hiccup of the generator's CPU does not mark a server's knee.
	if s.hiGen || s.hi == 0 && s.lo > 0 {
		s.atGen++
	}
	c.LimitedBy = "server"
	if 2*s.atGen >= len(c.Knees) {
		c.LimitedBy = "generator"
	}
	if len(c.Knees) < s.total {
		s.k++
		s.next = max(s.lo, minRate)
		if s.lo == 0 {
			s.next = max(s.closed/2, minRate)
		}
		s.lo, s.hi, s.hiGen, s.steps = 0, 0, false, 0
		return
	}
	s.done = true
}

// runCapacity runs every search, then the common rate, into suite.
func runCapacity(ctx context.Context, cfg Config, suite *results.Suite) {
	cc := cfg.Capacity
	var searches []*search
	for _, work := range cfg.Works {
		for _, size := range cfg.Sizes {
			for _, conns := range cc.Conns {
				for _, cores := range cfg.coreCounts() {
					for _, v := range cfg.Models {
						sc := results.Scenario{Mode: string(loadgen.Rate), Conns: conns, Size: size, Work: work, Depth: 1, ServerCores: cores}
						if skipReason(cfg.Remote, v, conns) != "" {
							continue
						}
						c := &results.Capacity{Model: v.String(), Variant: onCores(v, cores), Scenario: sc, SLO: cc.SLO}
						searches = append(searches, &search{cap: c, k: 1, total: max(1, cc.Searches)})
					}
				}
			}
		}
	}
	for _, s := range searches {
		suite.Capacity = append(suite.Capacity, *s.cap)
	}
	publish := func() {
		for i, s := range searches {
			suite.Capacity[i] = *s.cap
		}
		if cfg.Checkpoint != nil {
			cfg.Checkpoint(suite)
		}
	}
	// Rounds: every search still going takes one step, in model order.
	for round := 0; ; round++ {
		going := false
		for _, s := range searches {
			if s.done || ctx.Err() != nil {
				continue
			}
			going = true
			if s.closed == 0 {
				s.closed = probe(ctx, cfg, s.cap)
				s.next = max(s.closed/2, minRate)
				continue
			}
			s.advance(measureStep(ctx, cfg, s.cap, s.next))
			publish()
		}
		if !going || ctx.Err() != nil {
			break
		}
	}
	for i := range searches {
		searches[i].cap.Knee = results.SpreadOf(searches[i].cap.Knees)
		searches[i].cap.AtKnee = atKnee(searches[i].cap)
	}
	publish()
	equalLoad(ctx, cfg, suite, searches)
	publish()
}

// probe is the model's closed-loop throughput at the scenario: where
// the ramp starts (half of it) and the most it could carry.
func probe(ctx context.Context, cfg Config, c *results.Capacity) float64 {
	cell := results.Cell{Model: c.Model, Variant: c.Variant, Rep: 0, Scenario: c.Scenario}
	cell.Mode, cell.Rate = string(loadgen.Closed), 0
	pc := stepConfig(cfg, loadgen.Closed)
	runCell(ctx, pc, &cell, &watcher{cpus: watchedCPUs(cfg)})
	if cell.Run == nil || cell.Run.ThroughputPerSec <= 0 {
		return minRate * 2
	}
	c.ClosedLoop = cell.Run.ThroughputPerSec
	return cell.Run.ThroughputPerSec
}

// stepConfig is cfg for one step: its mode and the step's durations.
func stepConfig(cfg Config, mode loadgen.Mode) Config {
	sc := cfg
	sc.Mode, sc.Duration, sc.Warmup = mode, cfg.Capacity.Step, cfg.Capacity.StepWarmup
	return sc
}

// measureStep runs the model at rate, measured again when the machine
// disturbed it (up to cfg.Retries), and reads the step from it. A step
// that failed on its tail alone, and not by far (within Marginal× the
// bound, the rate carried, nothing growing), is measured a second time
// and judged on both windows' latencies together: one hiccup of a
// shared machine in a short window must not decide a knee.
func measureStep(ctx context.Context, cfg Config, c *results.Capacity, rate float64) results.Step {
	st, run := measureOnce(ctx, cfg, c, rate)
	if run == nil || st.Held || !st.TailOnly || float64(st.LatencyNS) > Marginal*float64(c.SLO.BoundNS) || ctx.Err() != nil {
		return st
	}
	again, run2 := measureOnce(ctx, cfg, c, rate)
	if run2 == nil || again.Failed != "" {
		return again
	}
	both, err := results.PoolRuns(run, run2)
	if err != nil {
		return again
	}
	pooled := results.StepOf(both, c.SLO, (st.ServerCores+again.ServerCores)/2, (st.ServerShare+again.ServerShare)/2)
	pooled.Twice = true
	return pooled
}

// Marginal: a step whose percentile failed within this factor of the
// bound, on its tail alone, is measured twice (measureStep).
const Marginal = 2.0

// measureOnce runs one step, measured again when the machine disturbed
// it (up to cfg.Retries), and returns it with its run.
func measureOnce(ctx context.Context, cfg Config, c *results.Capacity, rate float64) (results.Step, *results.Run) {
	sc := stepConfig(cfg, loadgen.Rate)
	var st results.Step
	var run *results.Run
	for attempt := 0; attempt <= cfg.Retries; attempt++ {
		cell := results.Cell{Model: c.Model, Variant: c.Variant, Scenario: c.Scenario, Attempt: attempt}
		cell.Rate = rate
		w := &watcher{cpus: watchedCPUs(cfg)}
		runCell(ctx, sc, &cell, w)
		judgeCell(sc, &cell, w)
		st, run = stepOf(cfg, cell, c.SLO, rate), cell.Run
		if cell.Disturbed == "" || st.Failed != "" || ctx.Err() != nil {
			break
		}
	}
	return st, run
}

// stepOf reads a measured cell as a step of a search at rate.
func stepOf(cfg Config, cell results.Cell, slo results.SLO, rate float64) results.Step {
	if cell.Run == nil {
		return results.Step{Rate: rate, Failed: firstLine(cell.Error, "the step did not run")}
	}
	cores := math.NaN()
	if u := cell.Server; u != nil && u.Measured("cpu") && cell.Run.MeasuredNS > 0 {
		cores = float64(u.UserNS+u.SysNS) / float64(cell.Run.MeasuredNS)
	}
	n := len(cfg.cellCPUs(cell))
	if n == 0 {
		n = runtime.NumCPU()
	}
	st := results.StepOf(cell.Run, slo, cores, cores/float64(n))
	if cell.ServerFault() {
		st.Failed = cell.FirstFailure()
	}
	st.Disturbed = cell.Disturbed
	return st
}

// atKnee is the server's CPU at each search's highest held step.
func atKnee(c *results.Capacity) results.Spread {
	var cores []float64
	for k, knee := range c.Knees {
		for _, st := range c.Steps {
			if st.Search == k+1 && st.Held && st.Rate == knee {
				cores = append(cores, st.ServerCores)
				break
			}
		}
	}
	return results.SpreadOf(cores)
}

// equalLoad measures every model at one rate all of them held.
func equalLoad(ctx context.Context, cfg Config, suite *results.Suite, searches []*search) {
	rate := cfg.Capacity.AtRate
	if rate == 0 {
		var knees []float64
		for _, s := range searches {
			if s.cap.Knee.Median > 0 {
				knees = append(knees, s.cap.Knee.Median)
			}
		}
		if len(knees) == 0 {
			return
		}
		rate = math.Round(slices.Min(knees) / 2)
	}
	suite.CommonRate = rate
	for rep := 1; rep <= cfg.Capacity.Searches; rep++ {
		for _, s := range searches {
			if ctx.Err() != nil || s.cap.Failed != "" {
				continue
			}
			st := measureStep(ctx, cfg, s.cap, rate)
			st.Search = rep
			s.cap.Equal = append(s.cap.Equal, st)
		}
	}
}
