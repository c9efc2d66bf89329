package report

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

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
	CPUPerRep      Stat  // server CPU ns per reply (N = 0: not measured)
	MaxRSS         int64 // largest over repetitions (0: not measured)
	Threads        int   // largest over repetitions (0: not measured)
	Syscalls       Stat  // server system calls per reply, kernel-counted over the window (N = 0: not counted)
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
	// Failures are the failed repetitions' reasons (one line each).
	Failures []string
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
			} else {
				r.Failures = append(r.Failures, c.Error)
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
	r.pickSeries()
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
	r.Syscalls, r.CtxPerRep = Spread(smp.syscalls), Spread(smp.ctxPerRep)
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
	possible := c.Interference == nil || c.Interference.ServerCPUPct <= 110
	if u.Measured("cpu") && u.CPUPerReplyNS > 0 && possible {
		smp.cpu = append(smp.cpu, u.CPUPerReplyNS)
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
	} else if u.ByNameUnavailable != "" && !strings.HasPrefix(u.ByNameUnavailable, "not asked") {
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
		r.Notes = append(r.Notes, Note{Label: "re-run", Reps: total,
			Text: fmt.Sprintf("re-run: %d measurement(s) of %d repetition(s) were disturbed by the machine and measured again (first: %s)", r.Reruns, total, r.RerunWhy)})
	}
	if r.Disturbed > 0 {
		text := fmt.Sprintf("disturbed: %d of %d repetition(s) were still disturbed after the re-runs; they count, but cannot fail the model, make it unfair or a leader", r.Disturbed, total)
		for _, f := range r.DisturbedFailures {
			text += "; failed while disturbed: " + firstClause(f)
		}
		r.Notes = append(r.Notes, Note{Label: "disturbed", Reps: r.Disturbed, Text: text})
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

// why says in a few words why a model leading fits how it works, as the
// model itself says (the suite records the facts of the models it ran).
func why(s *results.Suite, model string, conns int) string {
	if s != nil {
		if m, ok := s.Model(model); ok {
			if conns <= 10 && m.WhyFew != "" {
				return m.WhyFew
			}
			if m.Why != "" {
				return m.Why
			}
		}
	}
	return "how it waits suited this load"
}

// joinAnd lists names as "a, b and c".
func joinAnd(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func modelNames(rows []Row) []string {
	names := make([]string, len(rows))
	for i, r := range rows {
		names[i] = r.Model
	}
	return names
}

// collapseFactor: a model this many times below the leader collapsed.
const collapseFactor = 3

// verdict is a table's ranking: who leads, who is level with the leader,
// who is below, and who is not ranked and why.
type verdict struct {
	ranked    []Row // by median throughput, highest first
	level     []Row // the leader and every model within MinDelta of it, not told apart
	unsettled []Row // not told apart from the leader, but further than MinDelta: the repetitions spread too widely
	below     []Row // told apart from the leader, highest first
	decidable bool  // enough repetitions for the test to reach alpha
	unfair    []Row
	failed    []Row
	busy      []Row // the machine disturbed most repetitions: no verdict on them
	// byCPU, when the leaders were generator-bound (their throughput the
	// generator's ceiling, level by construction), is the level models by
	// median server CPU per reply, lowest first, and cpuApart whether the
	// first is told apart from the second.
	byCPU    []Row
	cpuApart bool
}

func judge(t Table) verdict {
	var v verdict
	for _, r := range t.Rows {
		switch {
		case r.Reps == 0 && len(r.Failures) == 0 && len(r.DisturbedFailures) == 0:
			// skipped
		case len(r.Failures) > 0:
			// The server's own failures (died, corrupted, reset) count
			// however busy the machine was.
			v.failed = append(v.failed, r)
		case r.Busy():
			v.busy = append(v.busy, r)
		case r.Reps == 0:
			v.busy = append(v.busy, r) // every repetition failed while disturbed
		case !r.Fair():
			v.unfair = append(v.unfair, r)
		case r.Ranked():
			v.ranked = append(v.ranked, r)
		}
	}
	if len(v.ranked) == 0 {
		return v
	}
	sort.SliceStable(v.ranked, func(i, j int) bool { return v.ranked[i].Throughput.Median > v.ranked[j].Throughput.Median })
	reps := v.ranked[0].Reps
	for _, r := range v.ranked {
		reps = min(reps, r.Reps)
	}
	v.decidable = minUTestP(reps) <= Alpha
	lead := v.ranked[0]
	v.level = []Row{lead}
	for _, r := range v.ranked[1:] {
		d := differ(lead.tput, r.tput, Alpha, MinDelta)
		switch {
		case d.Differ:
			v.below = append(v.below, r)
		case math.Abs(d.DeltaPct) <= MinDelta*100:
			v.level = append(v.level, r)
		default:
			v.unsettled = append(v.unsettled, r)
		}
	}
	v.rankByCPU()
	return v
}

// rankByCPU orders the level models by server CPU per reply when the
// generator bound them: the efficiency the servers still show.
func (v *verdict) rankByCPU() {
	if len(v.level) < 2 || !v.decidable {
		return
	}
	bound := false
	for _, r := range v.level {
		bound = bound || r.note("generator-bound") != nil
	}
	if !bound {
		return
	}
	for _, r := range v.level {
		if len(r.cpus) > 0 {
			v.byCPU = append(v.byCPU, r)
		}
	}
	if len(v.byCPU) < 2 {
		v.byCPU = nil
		return
	}
	sort.SliceStable(v.byCPU, func(i, j int) bool { return v.byCPU[i].CPUPerRep.Median < v.byCPU[j].CPUPerRep.Median })
	v.cpuApart = differ(v.byCPU[0].cpus, v.byCPU[1].cpus, Alpha, MinDelta).Differ
}

// cpuLine says how the generator-bound level models compare by server
// CPU per reply, or "".
func (v verdict) cpuLine() string {
	if len(v.byCPU) < 2 {
		return ""
	}
	a, b := v.byCPU[0], v.byCPU[1]
	if !v.cpuApart {
		return fmt.Sprintf("generator-bound, so ranked by server CPU per reply: not told apart (%s %s, %s %s)",
			a.Model, Dur(int64(a.CPUPerRep.Median)), b.Model, Dur(int64(b.CPUPerRep.Median)))
	}
	return fmt.Sprintf("generator-bound, so ranked by server CPU per reply: %s used least (%s, %.2f× less than %s)",
		a.Model, Dur(int64(a.CPUPerRep.Median)), b.CPUPerRep.Median/a.CPUPerRep.Median, b.Model)
}

// reading is the one-paragraph summary of a table of suite s.
func reading(t Table, s *results.Suite) string {
	v := judge(t)
	var b strings.Builder
	switch {
	case len(v.ranked) == 0 && len(v.busy) > 0 && len(v.failed) == 0 && len(v.unfair) == 0:
		fmt.Fprintf(&b, "The machine was busy: most repetitions of %s were disturbed even after re-runs, so there is no verdict here.", joinAnd(modelNames(v.busy)))
	case len(v.ranked) == 0:
		b.WriteString("No model was measured fairly and without failure in this scenario.")
	case len(v.ranked) == 1:
		fmt.Fprintf(&b, "Only %s was measured fairly and without failure (%s replies/s).", v.ranked[0].Model, Count(v.ranked[0].Throughput.Median))
	case !v.decidable:
		var parts []string
		for _, r := range v.ranked {
			parts = append(parts, fmt.Sprintf("%s %s", r.Model, Count(r.Throughput.Median)))
		}
		fmt.Fprintf(&b, "Not a ranking: with %d repetition(s) no difference can be significant (a Mann-Whitney test needs ≥ %d per model; use --repeat 5). Medians in replies/s: %s.",
			v.ranked[len(v.ranked)-1].Reps, samplesNeeded(Alpha), strings.Join(parts, ", "))
	case len(v.level) > 1:
		fmt.Fprintf(&b, "%s were level (within %.0f%% of %s's %s replies/s and not told apart: Mann-Whitney p ≥ %.2f).",
			joinAnd(modelNames(v.level)), MinDelta*100, v.level[0].Model, Count(v.level[0].Throughput.Median), Alpha)
	case len(v.unsettled) > 0 && (len(v.below) == 0 || v.ranked[1].Model == v.unsettled[0].Model):
		lead := v.ranked[0]
		fmt.Fprintf(&b, "%s had the highest median, %s replies/s.", lead.Model, Count(lead.Throughput.Median))
	default:
		lead, next := v.ranked[0], v.ranked[1]
		fmt.Fprintf(&b, "%s led with %s replies/s, %.2f× %s (next, p=%.3f): %s.", lead.Model, Count(lead.Throughput.Median),
			lead.Throughput.Median/next.Throughput.Median, next.Model, differ(lead.tput, next.tput, Alpha, MinDelta).P, why(s, lead.Model, t.Scenario.Conns))
	}
	if v.decidable && len(v.ranked) > 1 {
		lead := v.ranked[0]
		var lower, collapsed []string
		for _, r := range v.below {
			f := fmt.Sprintf("%s (%.2f× fewer)", r.Model, lead.Throughput.Median/r.Throughput.Median)
			if r.Throughput.Median*collapseFactor < lead.Throughput.Median {
				collapsed = append(collapsed, f)
			} else if len(v.level) > 1 || r.Model != v.ranked[1].Model {
				lower = append(lower, f)
			}
		}
		if len(v.unsettled) > 0 {
			var parts []string
			for _, r := range v.unsettled {
				parts = append(parts, fmt.Sprintf("%s (%s, %.2f×)", r.Model, Count(r.Throughput.Median), r.Throughput.Median/lead.Throughput.Median))
			}
			fmt.Fprintf(&b, " Not told apart from %s although their medians differ by more than %.0f%% (the repetitions spread too widely; more --repeat may settle it): %s.",
				lead.Model, MinDelta*100, joinAnd(parts))
		}
		if len(lower) > 0 {
			fmt.Fprintf(&b, " Told apart below %s: %s.", lead.Model, joinAnd(lower))
		}
		if l := v.cpuLine(); l != "" {
			b.WriteString(" " + strings.ToUpper(l[:1]) + l[1:] + ".")
		}
		if len(collapsed) > 0 {
			fmt.Fprintf(&b, " Collapsed: %s.", joinAnd(collapsed))
		}
		b.WriteString(lowestP99(v))
	}
	for _, r := range v.unfair {
		fmt.Fprintf(&b, " %s is not ranked: unfair in its typical repetition (median Jain %.2f, %d connection(s) without a reply): its latency covers only the replies it gave.", r.Model, r.Jain, r.ZeroConn)
	}
	if len(v.ranked) > 0 {
		for _, r := range v.busy {
			fmt.Fprintf(&b, " %s is not ranked: the machine disturbed most of its repetitions, even after re-runs.", r.Model)
		}
	}
	for _, r := range v.failed {
		fmt.Fprintf(&b, " %s is not ranked: %d of %d repetition(s) failed (%s).", r.Model, len(r.Failures), len(r.Failures)+r.Reps, firstClause(r.Failures[0]))
	}
	var bound []string
	for _, r := range v.ranked {
		if r.note("generator-bound") != nil {
			bound = append(bound, r.Model)
		}
	}
	if len(bound) > 0 {
		fmt.Fprintf(&b, " Generator-bound: %s (the load generator was near its CPU limit: those figures may be its ceiling, not the server's).", joinAnd(bound))
	}
	return b.String()
}

// lowestP99 names the ranked model whose p99 is told apart as lower than
// every other's, when there is one.
func lowestP99(v verdict) string {
	rows := slices.Clone(v.ranked)
	rows = slices.DeleteFunc(rows, func(r Row) bool { return len(r.p99s) == 0 })
	if len(rows) < 2 {
		return ""
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].P99.Median < rows[j].P99.Median })
	best := rows[0]
	for _, r := range rows[1:] {
		if !differ(best.p99s, r.p99s, Alpha, MinDelta).Differ {
			return ""
		}
	}
	return fmt.Sprintf(" Lowest p99: %s (%s, next %s %s).", best.Model, Dur(int64(best.P99.Median)), rows[1].Model, Dur(int64(rows[1].P99.Median)))
}

func (r Row) note(label string) *Note {
	for i := range r.Notes {
		if r.Notes[i].Label == label {
			return &r.Notes[i]
		}
	}
	return nil
}

// firstClause shortens a failure line to its first clause.
func firstClause(s string) string {
	if i := strings.Index(s, "; "); i > 0 {
		s = s[:i]
	}
	return s
}

var header = []string{"model", "replies/s", "p50", "p99", "p99.9", "max", "server CPU/reply", "syscalls/reply", "ctx sw/reply", "server RSS", "threads", "conns est/req (failed)", "errors", "fairness", "notes"}

// unknown stands for a figure that was not measured (never 0).
const unknown = "—"

func (r Row) cells() []string {
	switch {
	case r.Reps == 0 && r.Skipped != "":
		return padRow(r.Model, "skipped (below)")
	case r.Reps == 0 && len(r.Failures) > 0:
		row := padRow(r.Model, "FAILED (below)")
		row[len(row)-1] = r.noteLabels()
		return row
	case r.Reps == 0:
		return padRow(r.Model, "not measured")
	}
	conns := fmt.Sprintf("%d/%d", r.Est, r.Requested)
	if r.Failed > 0 {
		conns += fmt.Sprintf(" (%d)", r.Failed)
	}
	if r.EstWorst < r.Est {
		conns += fmt.Sprintf(", worst %d", r.EstWorst)
	}
	dur := func(v float64) string { return Dur(int64(v)) }
	rss, threads := unknown, unknown
	if r.MaxRSS > 0 {
		rss = Bytes(r.MaxRSS)
	}
	if r.Threads > 0 {
		threads = strconv.Itoa(r.Threads)
	}
	perRep := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	maxLat := unknown
	if r.Latency.Count > 0 {
		maxLat = Dur(r.Latency.Max)
	}
	return []string{r.Model, fmtStat(r.Throughput, Count, Compact), fmtStat(r.P50, dur, dur), fmtStat(r.P99, dur, dur), fmtStat(r.P999, dur, dur), maxLat,
		fmtStat(r.CPUPerRep, dur, dur), fmtStat(r.Syscalls, perRep, perRep), fmtStat(r.CtxPerRep, perRep, perRep), rss, threads,
		conns, strconv.FormatUint(r.Errors, 10), r.FairnessText(), r.noteLabels()}
}

// fmtStat writes a median and, over several repetitions, its interval
// ("153,206 [148k–160k]"); unknown when nothing was measured.
func fmtStat(s Stat, center, ends func(float64) string) string {
	switch {
	case s.N == 0:
		return unknown
	case s.N == 1 || !s.Bounded():
		return center(s.Median)
	}
	return center(s.Median) + " [" + ends(s.Lo) + "–" + ends(s.Hi) + "]"
}

// noteLabels is the notes column: each warning's label, with how many
// repetitions had it when not all did.
func (r Row) noteLabels() string {
	total := r.Reps + len(r.Failures) + len(r.DisturbedFailures)
	var parts []string
	if n := len(r.Failures); n > 0 {
		parts = append(parts, fmt.Sprintf("FAILED %d/%d", n, total))
	}
	for _, n := range r.Notes {
		if n.Reps < total {
			parts = append(parts, fmt.Sprintf("%s %d/%d", n.Label, n.Reps, total))
		} else {
			parts = append(parts, n.Label)
		}
	}
	return strings.Join(parts, ", ")
}

// noteLines are a table's notes in full, a line per model and label.
func noteLines(t Table) []string {
	var out []string
	for _, r := range t.Rows {
		if r.Reps == 0 && r.Skipped != "" && len(r.Failures) == 0 {
			out = append(out, fmt.Sprintf("%s: skipped: %s", r.Model, r.Skipped))
		}
		total := r.Reps + len(r.Failures)
		for _, f := range r.Failures {
			out = append(out, fmt.Sprintf("%s: FAILED: %s", r.Model, f))
		}
		for _, n := range r.Notes {
			reps := ""
			if total > 1 {
				reps = fmt.Sprintf(" (%d of %d repetitions)", n.Reps, total)
			}
			text := n.Text
			if !strings.HasPrefix(text, n.Label+": ") {
				text = n.Label + ": " + text
			}
			out = append(out, fmt.Sprintf("%s%s: %s", r.Model, reps, text))
		}
	}
	return out
}

// The terminal's default table: the figures a reader compares, in 120
// columns. Notes are short codes; the lines under the table say them in
// full.
var compactHeader = []string{"model", "replies/s [interval]", "p50", "p99", "CPU/reply", "sys/reply", "fairness", "notes"}

const compactLegend = "CPU/reply = server CPU per reply, sys/reply = server system calls per reply, fairness = Jain (worst repetition after w)"

// shortNote is a note label's code in the compact table.
var shortNote = map[string]string{
	"generator-bound": "gen", "re-run": "rerun", "disturbed": "dist", "missed rate": "rate",
	"lost connections": "lost", "idle closed": "idle", "interrupted": "intr", "emulated": "emu",
	"server unclean exit": "exit", "server died": "died", "no kernel counts": "nocount", "stalled": "stall",
}

// compact picks the compact table's columns from a wide row: medians
// only, but for throughput.
func (r Row) compact(wide []string) []string {
	median := func(s string) string {
		if i := strings.Index(s, " ["); i > 0 {
			return s[:i]
		}
		return s
	}
	fair := wide[13]
	if r.Reps > 1 && r.JainWorst < r.Jain-0.0005 {
		fair = fmt.Sprintf("%.3f w%.3f", r.Jain, r.JainWorst)
	}
	notes := wide[14]
	for long, short := range shortNote {
		notes = strings.ReplaceAll(notes, long, short)
	}
	return []string{wide[0], wide[1], median(wide[2]), median(wide[3]), median(wide[6]), median(wide[7]), fair, notes}
}

func padRow(model, note string) []string {
	row := make([]string, len(header))
	row[0], row[1] = model, note
	return row
}

// NewTable is a terminal table that prints its headers as written
// (tablewriter would upper-case them and space out their punctuation).
func NewTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off), tablewriter.WithRowAutoWrap(tw.WrapNone))
}

// WriteTerminal prints every scenario as a table with its notes and reading.
func WriteTerminal(w io.Writer, s *results.Suite, wide bool) error {
	var b strings.Builder
	emulatedNote(&b, s, "")
	b.WriteString(spreadNote(s) + "\n")
	if !wide {
		b.WriteString("Compact columns (medians; --wide for every column with its interval): " + compactLegend + "\n")
	}
	for _, t := range Tables(s) {
		fmt.Fprintf(&b, "\n%s\n", t.Scenario)
		tt := NewTable(&b)
		if wide {
			tt.Header(header)
		} else {
			tt.Header(compactHeader)
		}
		for _, r := range t.Rows {
			row := r.cells()
			if !wide {
				row = r.compact(row)
			}
			if err := tt.Append(row); err != nil {
				return err
			}
		}
		if err := tt.Render(); err != nil {
			return err
		}
		for _, n := range noteLines(t) {
			b.WriteString("  note: " + n + "\n")
		}
		b.WriteString(t.Reading + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func emulatedNote(w io.Writer, s *results.Suite, prefix string) {
	if e := s.Environment.Emulated; e != "" {
		fmt.Fprintf(w, "%s**Emulated (%s): these numbers show correctness, not performance.**\n", prefix, e)
	}
}

// spreadNote says what the intervals in the tables are.
func spreadNote(s *results.Suite) string {
	reps := maxRep(s)
	if reps <= 1 {
		return "One repetition per cell: no intervals, and no ranking (runs of the same cell on a shared machine differ by ±30%); use --repeat 5."
	}
	conf := 1 - 2*math.Pow(0.5, float64(reps))
	if reps >= boundedN {
		return fmt.Sprintf("Figures are medians over %d repetitions with the 95%% confidence interval of the median [lo–hi]; max, RSS and threads are the largest over repetitions. Models are level unless a Mann-Whitney test tells them apart (p < %.2f and more than %.0f%%).",
			reps, Alpha, MinDelta*100)
	}
	return fmt.Sprintf("Figures are medians over %d repetitions with their range [lo–hi] (with %d samples the range is a %.0f%% interval of the median; a 95%% interval needs %d); max, RSS and threads are the largest over repetitions. Models are level unless a Mann-Whitney test tells them apart (p < %.2f and more than %.0f%%).",
		reps, reps, conf*100, boundedN, Alpha, MinDelta*100)
}

// WriteMarkdown writes the report; charts are the SVG files to link.
func WriteMarkdown(w io.Writer, s *results.Suite, charts []Chart) error {
	var b strings.Builder
	b.WriteString("# iobench report\n\n")
	if s.Interrupted {
		b.WriteString("**Interrupted: this run was cut short; only the cells below were measured.**\n\n")
	}
	emulatedNote(&b, s, "")
	tables := Tables(s)
	b.WriteString(Summary(s, tables))
	writeSettings(&b, s)
	b.WriteString("\n" + spreadNote(s) + " The max column comes from the repetitions' latency histograms merged. Server CPU is the server process's user+system time over the measured window divided by the replies in it. `—` is a figure not measured here. Notes are explained under each table and in docs/methodology.md.\n")
	var skipped, failed []string
	for _, t := range tables {
		fmt.Fprintf(&b, "\n## %s\n\n", t.Scenario)
		b.WriteString("| " + strings.Join(header, " | ") + " |\n|" + strings.Repeat("---|", len(header)) + "\n")
		for _, r := range t.Rows {
			if r.Reps == 0 && r.Skipped != "" {
				skipped = append(skipped, fmt.Sprintf("%s, %s: %s", r.Model, t.Scenario, r.Skipped))
				continue
			}
			for _, f := range r.Failures {
				failed = append(failed, fmt.Sprintf("%s, %s: %s", r.Model, t.Scenario, f))
			}
			cells := r.cells()
			for i := range cells {
				cells[i] = mdEscape(cells[i])
			}
			b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		}
		if notes := noteLines(t); len(notes) > 0 {
			b.WriteString("\nNotes:\n\n")
			for _, n := range notes {
				b.WriteString("- " + mdEscape(n) + "\n")
			}
		}
		b.WriteString("\n" + t.Reading + "\n")
	}
	if len(s.Models) > 0 {
		b.WriteString("\n## Models\n\n| model | mechanism | how it works |\n|---|---|---|\n")
		for _, m := range s.Models {
			how := m.Summary
			if m.Impl != "" {
				how += "; this build: " + m.Impl
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", m.Name, m.Mechanism, mdEscape(how))
		}
	}
	writeCalls(&b, tables)
	if len(charts) > 0 {
		b.WriteString("\n## Charts\n\n")
		for _, ch := range charts {
			fmt.Fprintf(&b, "### %s\n\n![%s](%s)\n\n", ch.Title, ch.Title, ch.File)
		}
	}
	for _, list := range []struct {
		title string
		items []string
	}{{"Skipped cells", skipped}, {"Failed cells", failed}} {
		if len(list.items) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n", list.title)
		for _, it := range list.items {
			b.WriteString("- " + mdEscape(it) + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeSettings is the environment table, or one per source suite when
// the merged suites differ.
func writeSettings(b *strings.Builder, s *results.Suite) {
	sources := s.Sources
	if len(sources) == 0 {
		sources = []results.Source{{Environment: s.Environment, Config: s.Config, Cells: len(s.Cells)}}
	} else {
		fmt.Fprintf(b, "\n**Merged from %d suites with different settings or machines: their cells are pooled below; each suite's settings follow.**\n", len(sources))
	}
	for i, src := range sources {
		e, c := src.Environment, src.Config
		title := "environment"
		if len(s.Sources) > 0 {
			title = fmt.Sprintf("suite %d (%d cells)", i+1, src.Cells)
		}
		fmt.Fprintf(b, "\n| %s | |\n|---|---|\n", title)
		for _, kv := range [][2]string{
			{"OS / kernel", e.OS + "/" + e.Arch + " " + e.Kernel},
			{"CPU", fmt.Sprintf("%s, %d cores", e.CPUModel, e.Cores)},
			{"Go / iobench", e.Go + " / " + e.Iobench},
			{"when", e.Time.Format("2006-01-02 15:04 MST")},
			{"server host / generator host", hosts(s, e)},
			{"server CPUs / client CPUs", cpuList(c.ServerCPUs) + " / " + cpuList(c.ClientCPUs)},
			{"each cell", fmt.Sprintf("%s measured after %s warmup, %d repetition(s) interleaved%s", Dur(c.DurationNS), Dur(c.WarmupNS), c.Repeat, repeatNote(c))},
			{"machine before measuring", busyText(s.BusyBefore)},
		} {
			fmt.Fprintf(b, "| %s | %s |\n", kv[0], mdEscape(kv[1]))
		}
	}
}

// hosts says where the servers and the generator ran, and how they were
// connected.
// busyText says how busy the measured CPUs were before measuring.
func busyText(b *results.Interference) string {
	switch {
	case b == nil:
		return "not checked"
	case b.Unavailable != "":
		return "unavailable: " + b.Unavailable
	}
	return fmt.Sprintf("CPUs %s: %.0f%% busy with other work, %.0f%% steal (over 1 s)", cpuList(b.CPUs), b.ForeignCPUPct, b.StealPct)
}

// repeatNote says how the repetitions were chosen and re-run.
func repeatNote(c results.SuiteConfig) string {
	var s string
	if c.RepeatWhy != "" {
		s += " (" + c.RepeatWhy + ")"
	}
	if c.Retries > 0 {
		s += fmt.Sprintf("; a repetition the machine disturbed was measured again, up to %d time(s)", c.Retries)
	}
	return s
}

func hosts(s *results.Suite, gen results.Environment) string {
	describe := func(e results.Environment) string {
		return fmt.Sprintf("%s (%s/%s %s, %d cores)", cmp.Or(e.Host, "unnamed"), e.OS, e.Arch, e.Kernel, e.Cores)
	}
	if s.ServerEnvironment == nil {
		return "this machine / this machine, over loopback"
	}
	return describe(*s.ServerEnvironment) + " / " + describe(gen) + "; network: " + s.Network
}

func cpuList(c []int) string {
	if len(c) == 0 {
		return "not pinned"
	}
	parts := make([]string, len(c))
	for i, x := range c {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ",")
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// WriteCSV writes one row per cell, for spreadsheets.
func WriteCSV(w io.Writer, s *results.Suite) error {
	cw := csv.NewWriter(w)
	header := []string{"model", "mode", "conns", "size", "work", "depth", "rate", "idle_conns", "rep",
		"throughput_per_sec", "bytes_per_sec", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "p9999_ns", "max_ns",
		"server_cpu_per_reply_ns", "server_max_rss_bytes", "server_peak_threads", "server_vol_ctx", "server_invol_ctx",
		"server_syscalls_per_reply", "server_ctx_switches_per_reply", "client_syscalls_per_reply", "client_ctx_switches_per_reply",
		"conns_requested", "conns_established", "conns_failed", "errors", "jain", "interrupted", "skipped", "failed", "error", "notes"}
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, c := range s.Cells {
		row := []string{c.Model, c.Mode, strconv.Itoa(c.Conns), strconv.Itoa(c.Size), c.Work, strconv.Itoa(c.Depth),
			ff(c.Rate), strconv.Itoa(c.IdleConns), strconv.Itoa(c.Rep)}
		if r := c.Run; r != nil {
			l := r.LatencyNS
			row = append(row, ff(r.ThroughputPerSec), ff(r.BytesPerSec), i64(l.P50), i64(l.P90), i64(l.P99), i64(l.P999), i64(l.P9999), i64(l.Max))
			row = append(row, serverCSV(c.Server)...)
			row = append(row, optF(r.Client.SyscallsPerReply), optF(r.Client.CtxSwitchesPerReply))
			row = append(row, strconv.Itoa(r.Connections.Requested), strconv.Itoa(r.Connections.Established), strconv.Itoa(r.Connections.Failed),
				strconv.FormatUint(r.Errors, 10), strconv.FormatFloat(r.Fairness.Jain, 'f', 4, 64), strconv.FormatBool(r.Interrupted))
		} else {
			row = append(row, make([]string, 23)...)
		}
		var labels []string
		for _, w := range c.AllWarnings() {
			labels = append(labels, w.Code)
		}
		row = append(row, c.Skipped, strconv.FormatBool(c.Failed()), c.Error, strings.Join(labels, ";"))
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// serverCSV is the server's figures, empty where not measured.
func serverCSV(u *results.ServerUsage) []string {
	out := make([]string, 7)
	if u == nil {
		return out
	}
	out[5], out[6] = optF(u.SyscallsPerReply), optF(u.CtxSwitchesPerReply)
	if u.Measured("cpu") && u.CPUPerReplyNS > 0 {
		out[0] = ff(u.CPUPerReplyNS)
	}
	if u.Measured("rss") && u.MaxRSSBytes > 0 {
		out[1] = i64(u.MaxRSSBytes)
	}
	if u.Measured("threads") && u.PeakThreads > 0 {
		out[2] = strconv.Itoa(u.PeakThreads)
	}
	if u.Measured("ctx_switches") {
		out[3], out[4] = i64(u.VolCtxSw), i64(u.InvolCtxSw)
	}
	return out
}

func ff(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// optF is a figure that may not have been measured: empty then.
func optF(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', 3, 64)
}
func i64(v int64) string { return strconv.FormatInt(v, 10) }

// WriteJSON writes the tables as JSON: per scenario, each model's figures
// with their intervals, notes and failures, and the reading.
func WriteJSON(w io.Writer, s *results.Suite) error {
	type jsonRow struct {
		Model      string              `json:"model"`
		Reps       int                 `json:"reps"`
		Skipped    string              `json:"skipped,omitempty"`
		Failures   []string            `json:"failures,omitempty"`
		Fair       bool                `json:"fair"`
		Ranked     bool                `json:"ranked"`
		Throughput Stat                `json:"throughput_per_sec"`
		Bandwidth  Stat                `json:"bytes_per_sec"`
		P50        Stat                `json:"p50_ns"`
		P99        Stat                `json:"p99_ns"`
		P999       Stat                `json:"p999_ns"`
		Merged     results.Percentiles `json:"latency_merged_ns"`
		CPUPerRep  *Stat               `json:"server_cpu_per_reply_ns"` // null: not measured
		Syscalls   *Stat               `json:"server_syscalls_per_reply"`
		CtxPerRep  *Stat               `json:"server_ctx_switches_per_reply"`
		MaxRSS     *int64              `json:"server_max_rss_bytes"`
		Threads    *int                `json:"server_peak_threads"`
		Jain       float64             `json:"jain_min"`
		ZeroConn   int                 `json:"zero_reply_conns_max"`
		Errors     uint64              `json:"errors"`
		Notes      []Note              `json:"notes,omitempty"`
	}
	type jsonTable struct {
		Scenario results.Scenario `json:"scenario"`
		Rows     []jsonRow        `json:"rows"`
		Reading  string           `json:"reading"`
	}
	out := struct {
		Spread string      `json:"intervals"`
		Tables []jsonTable `json:"tables"`
	}{Spread: spreadNote(s)}
	for _, t := range Tables(s) {
		jt := jsonTable{Scenario: t.Scenario, Reading: t.Reading}
		for _, r := range t.Rows {
			jr := jsonRow{Model: r.Model, Reps: r.Reps, Skipped: r.Skipped, Failures: r.Failures, Fair: r.Fair(), Ranked: r.Ranked(),
				Throughput: r.Throughput, Bandwidth: r.Bandwidth, P50: r.P50, P99: r.P99, P999: r.P999, Merged: r.Latency,
				Jain: r.Jain, ZeroConn: r.ZeroConn, Errors: r.Errors, Notes: r.Notes}
			if r.CPUPerRep.N > 0 {
				jr.CPUPerRep = &r.CPUPerRep
			}
			if r.Syscalls.N > 0 {
				jr.Syscalls = &r.Syscalls
			}
			if r.CtxPerRep.N > 0 {
				jr.CtxPerRep = &r.CtxPerRep
			}
			if r.MaxRSS > 0 {
				jr.MaxRSS = &r.MaxRSS
			}
			if r.Threads > 0 {
				jr.Threads = &r.Threads
			}
			jt.Rows = append(jt.Rows, jr)
		}
		out.Tables = append(out.Tables, jt)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// writeCalls shows, for the largest connection count of the first
// scenario family, each model's system calls per reply by name: how it
// does its IO, as the kernel counted it (iobench explain MODEL for one).
func writeCalls(b *strings.Builder, tables []Table) {
	fams := families(tables)
	if len(fams) == 0 {
		return
	}
	f := fams[0]
	n := f.conns[len(f.conns)-1]
	var lines []string
	for _, r := range f.byConn[n] {
		switch {
		case r.ByName != nil:
			lines = append(lines, fmt.Sprintf("| %s | %s |", r.Model, mdEscape(TopCalls(r.ByName, 5))))
		case r.ByNameWhy != "":
			lines = append(lines, fmt.Sprintf("| %s | unavailable: %s |", r.Model, mdEscape(r.ByNameWhy)))
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(b, "\n### System calls per reply, by name (%s, %d %s)\n\n| model | the most frequent calls (kernel-counted; other = the rest) |\n|---|---|\n%s\n",
		familyTitle(f.key), n, plural(n, "connection", "connections"), strings.Join(lines, "\n"))
}

// TopCalls lists the k most frequent calls per reply, then "other".
func TopCalls(byName map[string]float64, k int) string {
	type kv struct {
		name string
		v    float64
	}
	var all []kv
	for name, v := range byName {
		if name != "other" && v >= 0.005 {
			all = append(all, kv{name, v})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || all[i].v == all[j].v && all[i].name < all[j].name })
	var parts []string
	for i, c := range all {
		if i == k {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %.2f", c.name, c.v))
	}
	if o := byName["other"]; o >= 0.005 {
		parts = append(parts, fmt.Sprintf("other %.2f", o))
	}
	if len(parts) == 0 {
		return "none measurable (< 0.005 per reply)"
	}
	return strings.Join(parts, ", ")
}
