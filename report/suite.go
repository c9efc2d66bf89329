package report

import (
	"fmt"
	"math"
	"slices"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"iobench/results"
)

// Row is one model in one scenario, over its repetitions: each figure's
// median with its spread (Spread), and latency percentiles from the runs'
// histograms merged. Only measured repetitions count; failed ones are
// listed in Failures and keep the row out of every ranking.
type Row struct {
	Model      string
	Reps       int  // repetitions measured
	Throughput Stat // replies/s
	Bandwidth  Stat // bytes/s
	// Latency is from the repetitions' histograms merged; P50, P99 and
	// P999 are the spread of each repetition's own percentile.
	Latency        results.Percentiles
	P50, P99, P999 Stat
	CPUPerRep      Stat // server CPU ns per reply (N = 0: not measured)
	// CPUShare is the server's CPU as a percentage of the CPUs it was
	// given: a model that never sleeps shows 100 at any load.
	CPUShare Stat
	MaxRSS   int64 // largest over repetitions (0: not measured)
	Threads  int   // largest over repetitions (0: not measured)
	Syscalls Stat  // server system calls per reply, kernel-counted over the window (N = 0: not counted)
	// ByName is the server's system calls per reply by call, the median
	// over repetitions ("other": the rest); ByNameWhy says why not.
	ByName    map[string]float64
	ByNameWhy string
	CtxPerRep Stat // server context switches per reply, likewise
	Requested int
	Est       int // established, the median repetition's
	EstWorst  int // fewest established over repetitions
	Failed    int // most failed
	Errors    uint64
	// Fairness is judged by the typical repetition, the worst shown
	// beside it: one starved repetition on a busy machine is the
	// machine's doing, not the model's.
	Jain          float64 // median over repetitions
	JainWorst     float64 // lowest
	ZeroConn      int     // connections without a reply, median
	ZeroConnWorst int     // most
	Skipped       string
	// Reruns counts repetitions measured again because the machine
	// disturbed them (RerunWhy: the first reason); Disturbed, those still
	// disturbed after every re-run, counted but labelled.
	Reruns    int
	RerunWhy  string
	Disturbed int
	// DisturbedFailures are failures of disturbed repetitions: the
	// machine's, so they do not fail the row.
	DisturbedFailures []string
	// Failures are the failed repetitions' reasons (one line each);
	// failedFirst and disturbedFirst the first reason of each failed
	// repetition (Cell.FirstFailure), for a line that names one.
	Failures                    []string
	failedFirst, disturbedFirst []string
	// Notes are the warnings of the measured and failed repetitions, one
	// per label, in the order first seen.
	Notes []Note
	hist  *hdrhistogram.Histogram
	tput  []float64 // per repetition, for the tests
	p99s  []float64
	cpus  []float64 // server CPU per reply, per repetition
	// series is the time series of the repetition whose throughput is
	// the median's (nil when none was recorded), warmupNS its warmup.
	series   *results.Series
	warmupNS int64
	allSer   []*results.Run
}

// firstFailure is the first failed repetition's first reason.
func (r Row) firstFailure() string {
	if len(r.failedFirst) > 0 {
		return r.failedFirst[0]
	}
	return r.Failures[0] // a row made without cells (tests)
}

// Busy reports whether the machine disturbed most of the row's
// repetitions even after re-running them: its figures are the machine's.
func (r Row) Busy() bool {
	return r.Disturbed > 0 && 2*r.Disturbed > r.Reps+len(r.Failures)+len(r.DisturbedFailures)
}

// Note is one kind of warning on a row: its label, the first repetition's
// full text, and in how many of the row's repetitions it came up.
type Note struct {
	Label string `json:"label"`
	Text  string `json:"text"`
	Reps  int    `json:"reps"`
}

// Fair reports whether the typical (median) repetition served every
// connection evenly (Jain ≥ loadgen's 0.9 and no connection without a reply): a leader can
// only come from a fair row, since an unfair row's latency covers only the
// replies it gave.
func (r Row) Fair() bool {
	return r.Reps > 0 && results.Fairness{Jain: r.Jain, ZeroConn: r.ZeroConn}.Fair()
}

// FairnessText is the fairness column: the median repetition's Jain
// index, and the worst beside it when it differs.
func (r Row) FairnessText() string {
	s := fmt.Sprintf("%.3f", r.Jain)
	if r.Reps > 1 && r.JainWorst < r.Jain-0.0005 {
		s += fmt.Sprintf(" (worst %.3f)", r.JainWorst)
	}
	return s
}

// Ranked reports whether the row takes part in rankings: measured, no
// failed repetition, fair.
func (r Row) Ranked() bool {
	return r.Reps > 0 && len(r.Failures) == 0 && r.Fair() && r.Throughput.Median > 0
}

// Table is the rows of one scenario and a one-line reading of them.
type Table struct {
	Scenario results.Scenario
	Rows     []Row
	Reading  string
}

// Tables groups a suite's cells by scenario, in the order they first ran.
func Tables(s *results.Suite) []Table {
	var order []results.Scenario
	byScen := map[results.Scenario]map[string][]results.Cell{}
	var models []string
	for _, c := range s.Cells {
		if byScen[c.Scenario] == nil {
			byScen[c.Scenario] = map[string][]results.Cell{}
			order = append(order, c.Scenario)
		}
		byScen[c.Scenario][c.Model] = append(byScen[c.Scenario][c.Model], c)
		if !slices.Contains(models, c.Model) {
			models = append(models, c.Model)
		}
	}
	var out []Table
	for _, sc := range order {
		t := Table{Scenario: sc}
		for _, m := range models {
			if cells := byScen[sc][m]; len(cells) > 0 {
				t.Rows = append(t.Rows, aggregate(m, cells))
			}
		}
		t.Reading = reading(t, s)
		out = append(out, t)
	}
	return out
}

// repSamples are one row's per-repetition figures.
type repSamples struct {
	tput, bw, p50, p99, p999, cpu []float64
	share                         []float64 // server CPU, % of the CPUs it was given
	syscalls, ctxPerRep           []float64
	jain, zero, est               []float64
	byName                        map[string][]float64
	reps                          int // with calls counted by name
}

func aggregate(model string, cells []results.Cell) Row {
	r := Row{Model: model}
	var smp repSamples
	for _, c := range cells {
		if c.Skipped != "" {
			r.Skipped = c.Skipped
			continue
		}
		if c.Superseded {
			r.Reruns++
			if r.RerunWhy == "" {
				r.RerunWhy = c.Disturbed
			}
			continue
		}
		if c.Disturbed != "" {
			r.Disturbed++
		}
		r.addNotes(c.AllWarnings())
		if c.Failed() {
			if c.Excused() {
				r.DisturbedFailures = append(r.DisturbedFailures, c.Error)
				r.disturbedFirst = append(r.disturbedFirst, c.FirstFailure())
			} else {
				r.Failures = append(r.Failures, c.Error)
				r.failedFirst = append(r.failedFirst, c.FirstFailure())
			}
			continue
		}
		if c.Run == nil {
			continue
		}
		r.add(c, &smp)
	}
	r.addMachineNotes()
	if r.Reps == 0 {
		return r
	}
	r.Jain, r.JainWorst = summarize(smp.jain).Median, slices.Min(smp.jain)
	r.ZeroConn, r.ZeroConnWorst = int(math.Round(summarize(smp.zero).Median)), int(slices.Max(smp.zero))
	r.Est, r.EstWorst = int(math.Round(summarize(smp.est).Median)), int(slices.Min(smp.est))
	r.cpus = smp.cpu
	if smp.reps > 0 {
		r.ByName = map[string]float64{}
		for name, v := range smp.byName {
			for len(v) < smp.reps {
				v = append(v, 0) // not called in that repetition
			}
			r.ByName[name] = summarize(v).Median
		}
	}
	r.Throughput, r.Bandwidth = Spread(smp.tput), Spread(smp.bw)
	r.P50, r.P99, r.P999, r.CPUPerRep = Spread(smp.p50), Spread(smp.p99), Spread(smp.p999), Spread(smp.cpu)
	r.Syscalls, r.CtxPerRep, r.CPUShare = Spread(smp.syscalls), Spread(smp.ctxPerRep), Spread(smp.share)
	r.pickSeries() // by the median throughput, so after it
	r.Latency = results.PercentilesOf(r.hist)
	r.tput, r.p99s = smp.tput, smp.p99
	return r
}

// add counts one measured repetition.
func (r *Row) add(c results.Cell, smp *repSamples) {
	run := c.Run
	r.Reps++
	smp.tput = append(smp.tput, run.ThroughputPerSec)
	smp.bw = append(smp.bw, run.BytesPerSec)
	if run.LatencyNS.Count > 0 {
		smp.p50 = append(smp.p50, float64(run.LatencyNS.P50))
		smp.p99 = append(smp.p99, float64(run.LatencyNS.P99))
		smp.p999 = append(smp.p999, float64(run.LatencyNS.P999))
	}
	if h, err := run.Latency(); err == nil && h != nil {
		if r.hist == nil {
			r.hist = results.NewHistogram()
		}
		r.hist.Merge(h)
	}
	smp.est = append(smp.est, float64(run.Connections.Established))
	r.allSer = append(r.allSer, run)
	r.Requested = max(r.Requested, run.Connections.Requested)
	r.Failed = max(r.Failed, run.Connections.Failed)
	r.Errors += run.Errors
	smp.jain = append(smp.jain, run.Fairness.Jain)
	smp.zero = append(smp.zero, float64(run.Fairness.ZeroConn))
	u := c.Server
	if u == nil {
		return
	}
	// A CPU figure the server can't have used (more than its CPUs had:
	// a measuring error) is not shown as measured.
	possible := c.Interference == nil || c.Interference.CPUPossible()
	if u.Measured("cpu") && u.CPUPerReplyNS > 0 && possible {
		smp.cpu = append(smp.cpu, u.CPUPerReplyNS)
		if in := c.Interference; in != nil && in.ServerCPUPct > 0 {
			smp.share = append(smp.share, in.ServerCPUPct)
		}
	}
	if u.Measured("rss") {
		r.MaxRSS = max(r.MaxRSS, u.MaxRSSBytes)
	}
	if u.Measured("threads") {
		r.Threads = max(r.Threads, u.PeakThreads)
	}
	if u.SyscallsPerReply != nil {
		smp.syscalls = append(smp.syscalls, *u.SyscallsPerReply)
	}
	if u.SyscallsByName != nil {
		if smp.byName == nil {
			smp.byName = map[string][]float64{}
		}
		smp.reps++
		for name, v := range u.SyscallsByName {
			smp.byName[name] = append(smp.byName[name], v)
		}
	} else if u.ByNameUnavailable != "" {
		r.ByNameWhy = u.ByNameUnavailable
	}
	if u.CtxSwitchesPerReply != nil {
		smp.ctxPerRep = append(smp.ctxPerRep, *u.CtxSwitchesPerReply)
	}
}

// pickSeries keeps the time series of the repetition nearest the median
// throughput: the typical one, for the over-time charts.
func (r *Row) pickSeries() {
	best := math.Inf(1)
	for _, run := range r.allSer {
		if run.Series == nil || len(run.Series.Intervals) == 0 {
			continue
		}
		if d := math.Abs(run.ThroughputPerSec - r.Throughput.Median); d < best {
			best, r.series, r.warmupNS = d, run.Series, run.Config.WarmupNS
		}
	}
	r.allSer = nil
}

// addMachineNotes notes the repetitions the machine disturbed: those
// measured again, and those still disturbed after every re-run.
func (r *Row) addMachineNotes() {
	total := r.Reps + len(r.Failures) + len(r.DisturbedFailures)
	if r.Reruns > 0 {
		r.Notes = append(r.Notes, Note{Label: labelRerun, Reps: total,
			Text: fmt.Sprintf("re-run: %d measurement(s) of %d repetition(s) were disturbed by the machine and measured again (first: %s)", r.Reruns, total, r.RerunWhy)})
	}
	if r.Disturbed > 0 {
		text := fmt.Sprintf("disturbed: %d of %d repetition(s) were still disturbed after the re-runs; they count, but cannot fail the model, make it unfair or a leader", r.Disturbed, total)
		for _, f := range r.disturbedFirst {
			text += "; failed while disturbed: " + f
		}
		r.Notes = append(r.Notes, Note{Label: labelDisturbed, Reps: r.Disturbed, Text: text})
	}
}

func (r *Row) addNotes(warnings []results.Warning) {
	for _, w := range warnings {
		label := w.Code
		i := slices.IndexFunc(r.Notes, func(n Note) bool { return n.Label == label })
		if i < 0 {
			r.Notes = append(r.Notes, Note{Label: label, Text: w.String()})
			i = len(r.Notes) - 1
		}
		r.Notes[i].Reps++
	}
}

// collapseFactor: a model this many times below the leader collapsed.
const collapseFactor = 3

func (r Row) note(label string) *Note {
	for i := range r.Notes {
		if r.Notes[i].Label == label {
			return &r.Notes[i]
		}
	}
	return nil
}

var header = []string{"model", "replies/s", "p50", "p99", "p99.9", "max", "server CPU/reply", "server CPU %", "syscalls/reply", "ctx sw/reply", "server RSS", "threads", "conns est/req (failed)", "errors", "fairness", "notes"}

// unknown stands for a figure that was not measured (never 0).
const unknown = "—"

// The terminal's default table: the figures a reader compares, in 120
// columns. Notes are short codes; the lines under the table say them in
// full.
var compactHeader = []string{"model", "replies/s [interval]", "p50", "p99", "CPU/reply", "CPU%", "sys/reply", "fairness", "notes"}

const compactLegend = "CPU/reply = server CPU per reply, CPU% = server CPU as a share of its cores, sys/reply = server system calls per reply, fairness = Jain (worst repetition after w)"

// The report's own note labels, beside the warnings' codes.
const (
	labelRerun     = "re-run"
	labelDisturbed = "disturbed"
)

// shortLabel is a note label as the compact table writes it: a
// warning's short code (results.ShortCode), or the report's own.
func shortLabel(label string) string {
	switch label {
	case labelRerun:
		return "rerun"
	case labelDisturbed:
		return "dist"
	}
	return results.ShortCode(label)
}
