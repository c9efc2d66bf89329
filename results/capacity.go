package results

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"iobench/servers"
)

// SLO is a latency target: a percentile of the corrected latency (timed
// from when each request was due) and its bound, e.g. p99 ≤ 1ms.
type SLO struct {
	Percentile string `json:"percentile"` // one of Quantiles' names: "p99", "p999", ...
	BoundNS    int64  `json:"bound_ns"`
}

func (s SLO) String() string {
	return fmt.Sprintf("%s ≤ %s", pctLabel(s.Percentile), time.Duration(s.BoundNS))
}

// Flag is s as --slo spells it.
func (s SLO) Flag() string {
	return fmt.Sprintf("%s=%s", pctLabel(s.Percentile), time.Duration(s.BoundNS))
}

// pctLabel is "p99.9" for "p999".
func pctLabel(name string) string {
	for _, q := range Quantiles {
		if q.Name == name && name != "max" {
			return "p" + strconv.FormatFloat(q.Q, 'f', -1, 64)
		}
	}
	return name
}

// ParseSLO parses "p99=1ms", "p99.9=5ms" or "p50=200us".
func ParseSLO(s string) (SLO, error) {
	bad := func(why string) (SLO, error) {
		return SLO{}, fmt.Errorf("results: bad latency target %q: %s (want PERCENTILE=BOUND, e.g. p99=1ms or p99.9=5ms; percentiles p50, p90, p99, p99.9, p99.99)", s, why)
	}
	pct, bound, ok := strings.Cut(strings.TrimSpace(s), "=")
	if !ok {
		return bad("no '='")
	}
	q, err := strconv.ParseFloat(strings.TrimPrefix(strings.TrimSpace(pct), "p"), 64)
	if err != nil || !strings.HasPrefix(strings.TrimSpace(pct), "p") {
		return bad("the percentile is not pNN")
	}
	name := ""
	for _, c := range Quantiles {
		if c.Q == q && c.Name != "max" {
			name = c.Name
		}
	}
	if name == "" {
		return bad(fmt.Sprintf("p%g is not one iobench records", q))
	}
	d, err := time.ParseDuration(strings.TrimSpace(bound))
	if err != nil || d < 10*time.Microsecond || d > time.Minute {
		return bad("the bound is not a duration from 10µs to 1m")
	}
	return SLO{Percentile: name, BoundNS: int64(d)}, nil
}

// Acceptance: a step holds the target when the server carried at least
// HeldShare of the offered rate, the percentile (requests unanswered at
// the end counted at their age) is within the bound and not a lower
// bound above it, and nothing was still growing when the step ended:
// the backlog of due and unsent requests is at most one per connection
// and the oldest request still waiting is younger than the bound.
const HeldShare = 0.99

// Step is one offered rate of a capacity search, measured.
type Step struct {
	Search int     `json:"search"` // which repetition of the search (1-based)
	Rate   float64 `json:"rate"`   // offered, msg/s
	// Carried is replies per second in the window.
	Carried float64 `json:"carried"`
	// LatencyNS is the target percentile, corrected; LowerBound when it
	// rests on requests unanswered at the end.
	LatencyNS  int64 `json:"latency_ns"`
	LowerBound bool  `json:"lower_bound,omitempty"`
	// LateNS is the generator's own lateness at the same percentile.
	LateNS     int64 `json:"late_ns"`
	BacklogEnd int64 `json:"backlog_end"`
	OldestNS   int64 `json:"oldest_end_ns"` // oldest request waiting as the window closed
	// ClientUtil is the generator's CPU as a share of its cores.
	ClientUtil float64 `json:"client_util"`
	// ServerCores is the server's CPU in cores (1.0: one core busy), and
	// ServerShare the same as a share of the CPUs it was given.
	ServerCores   float64 `json:"server_cores"`
	ServerShare   float64 `json:"server_share"`
	CPUPerReplyNS float64 `json:"cpu_per_reply_ns"`
	Held          bool    `json:"held"`
	// Why says what broke the target ("" when held).
	Why string `json:"why,omitempty"`
	// GeneratorLimit: the generator, not the server, could not offer
	// this rate (its CPU near its cores' limit, or its own lateness alone
	// breaking the target).
	GeneratorLimit bool `json:"generator_limit,omitempty"`
	// Failed is a failure of the server (it died, corrupted replies,
	// reset connections): the search stops there.
	Failed string `json:"failed,omitempty"`
	// Disturbed: the machine disturbed the step (measured again).
	Disturbed string `json:"disturbed,omitempty"`
	// TailOnly: the step failed on its percentile alone (the rate was
	// carried and nothing grew). Twice: it was measured a second time
	// and judged on both windows pooled (matrix.measureStep).
	TailOnly bool `json:"tail_only,omitempty"`
	Twice    bool `json:"twice,omitempty"`
}

// PoolRuns is two runs of one step as one: their latency histograms
// merged (percentiles from both windows), replies and time added up, the
// second's end state (backlog, oldest waiting) kept: the later window
// says whether anything was still growing.
func PoolRuns(a, b *Run) (*Run, error) {
	ha, err := a.Latency()
	if err != nil || ha == nil {
		return nil, fmt.Errorf("results: pooling runs: %v", err)
	}
	hb, err := b.Latency()
	if err != nil || hb == nil {
		return nil, fmt.Errorf("results: pooling runs: %v", err)
	}
	ha.Merge(hb)
	p := *b
	p.LatencyNS = PercentilesOf(ha)
	// Lower bounds from either window stay lower bounds, from the lower
	// of the two percentiles.
	for _, lf := range []string{a.LatencyNS.LowerFrom, b.LatencyNS.LowerFrom} {
		if lf != "" && (p.LatencyNS.LowerFrom == "" || quantileOf(lf) < quantileOf(p.LatencyNS.LowerFrom)) {
			p.LatencyNS.LowerFrom = lf
		}
	}
	p.Replies = a.Replies + b.Replies
	p.MeasuredNS = a.MeasuredNS + b.MeasuredNS
	if p.MeasuredNS > 0 {
		p.ThroughputPerSec = float64(p.Replies) / (float64(p.MeasuredNS) / 1e9)
	}
	if a.Rate != nil && b.Rate != nil {
		rs := *b.Rate
		if a.Rate.Lateness.P99 > rs.Lateness.P99 {
			rs.Lateness = a.Rate.Lateness // the generator's worse window
		}
		p.Rate = &rs
	}
	p.Client.Bottleneck = a.Client.Bottleneck || b.Client.Bottleneck
	return &p, nil
}

// Capacity is how much load one model carries at one scenario before the
// target breaks: a knee per search, their median and range.
type Capacity struct {
	Model    string        `json:"model"` // the variant's spelling, as Cell.Model
	Variant  *servers.Spec `json:"variant,omitempty"`
	Scenario Scenario      `json:"scenario"`
	SLO      SLO           `json:"slo"`
	// ClosedLoop is the closed-loop throughput at the same connections
	// (the probe the search starts from): about the most it can carry.
	ClosedLoop float64 `json:"closed_loop"`
	// Knees are each search's highest rate that held (0: none did).
	Knees []float64 `json:"knees"`
	Knee  Spread    `json:"knee"`
	// LimitedBy is "server", or "generator" when a search ended at the
	// generator's limit: the knee is then "≥ Knee.Median".
	LimitedBy string `json:"limited_by"`
	// AtKnee is the server's CPU at the highest held step (median over
	// the searches).
	AtKnee Spread `json:"server_cores_at_knee"`
	// Failed: the server failed in a step (the reason).
	Failed string `json:"failed,omitempty"`
	Steps  []Step `json:"steps"`
	// Equal is the model at the suite's common rate: every repetition.
	Equal []Step `json:"equal_load,omitempty"`
}

// Spread is a median with the lowest and highest of its samples.
type Spread struct {
	Median float64 `json:"median"`
	Lo     float64 `json:"lo"`
	Hi     float64 `json:"hi"`
	N      int     `json:"n"`
}

// SpreadOf is the median and range of xs.
func SpreadOf(xs []float64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	s := slices.Sorted(slices.Values(xs))
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Spread{Median: m, Lo: s[0], Hi: s[len(s)-1], N: len(s)}
}

// mergeCapacity pools add into into: the searches of one model,
// scenario and target are one capacity (knees, steps and equal-load
// steps together, the knee's spread recomputed; the generator's when
// either said so); others are appended.
func mergeCapacity(into, add []Capacity) []Capacity {
	for _, c := range add {
		i := slices.IndexFunc(into, func(d Capacity) bool { return d.Model == c.Model && d.Scenario == c.Scenario && d.SLO == c.SLO })
		if i < 0 {
			into = append(into, c)
			continue
		}
		d := &into[i]
		d.Knees = append(slices.Clone(d.Knees), c.Knees...)
		d.Steps = append(slices.Clone(d.Steps), c.Steps...)
		d.Equal = append(slices.Clone(d.Equal), c.Equal...)
		d.Knee = SpreadOf(d.Knees)
		d.ClosedLoop = max(d.ClosedLoop, c.ClosedLoop)
		if c.GeneratorBound() {
			d.LimitedBy = c.LimitedBy
		}
		if d.Failed == "" {
			d.Failed = c.Failed
		}
	}
	return into
}

// GeneratorBound reports whether the knee is the generator's limit.
func (c Capacity) GeneratorBound() bool { return c.LimitedBy == "generator" }

// StepOf reads a step from a rate-mode run against target: the one
// acceptance rule (HeldShare). serverCores and share are the server's
// CPU over the window, NaN when unmeasured.
func StepOf(r *Run, target SLO, serverCores, share float64) Step {
	st := Step{Rate: r.Config.Rate, Carried: r.ThroughputPerSec, ClientUtil: r.Client.Utilization,
		ServerCores: nanZero(serverCores), ServerShare: nanZero(share)}
	st.LatencyNS, st.LowerBound = r.LatencyNS.Get(target.Percentile)
	if r.Rate != nil {
		st.LateNS, _ = r.Rate.Lateness.Get(target.Percentile)
		st.BacklogEnd = r.Rate.BacklogEnd
	}
	if r.Stall != nil {
		st.OldestNS = r.Stall.OldestAtEndNS
	}
	if r.Replies > 0 && !math.IsNaN(serverCores) {
		st.CPUPerReplyNS = serverCores * float64(r.MeasuredNS) / float64(r.Replies)
	}
	var why []string
	if st.Carried < HeldShare*st.Rate {
		why = append(why, fmt.Sprintf("carried %.1f%% of the offered rate", 100*st.Carried/st.Rate))
	}
	if st.LatencyNS > target.BoundNS || st.LowerBound && st.LatencyNS == target.BoundNS {
		why = append(why, fmt.Sprintf("%s %s > %s", pctLabel(target.Percentile), time.Duration(st.LatencyNS), time.Duration(target.BoundNS)))
	}
	if st.LowerBound && st.LatencyNS <= target.BoundNS {
		why = append(why, fmt.Sprintf("%s rests on requests still unanswered at the end", pctLabel(target.Percentile)))
	}
	if st.BacklogEnd > int64(r.Config.Conns) || st.OldestNS > target.BoundNS {
		why = append(why, fmt.Sprintf("still growing at the end (backlog %d, oldest waiting %s)", st.BacklogEnd, time.Duration(st.OldestNS)))
	}
	if r.Replies == 0 {
		why = append(why, "no replies")
	}
	st.Held = len(why) == 0
	st.Why = strings.Join(why, "; ")
	st.TailOnly = !st.Held && len(why) == 1 && st.Carried >= HeldShare*st.Rate && !st.LowerBound &&
		st.BacklogEnd <= int64(r.Config.Conns) && st.OldestNS <= target.BoundNS && r.Replies > 0
	// The generator is the limit when it could not offer the rate: its
	// CPU near its cores' limit, or its own lateness alone past the bound.
	st.GeneratorLimit = !st.Held && (r.Client.Bottleneck || st.LateNS > target.BoundNS)
	return st
}

func nanZero(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}
