package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"iobench/results"
)

// Metric is one figure a comparison can gate on; each run gives one sample.
type Metric struct {
	Name string
	Unit string
	// BenchUnit is its unit in Go benchmark format: one word per metric,
	// so benchstat keeps them apart.
	BenchUnit string
	Higher    bool // higher is better
	value     func(c results.Cell) (float64, bool)
}

// Metrics are the figures compare knows, in order.
func Metrics() []Metric { return slices.Clone(metrics) }

var metrics = []Metric{
	{"throughput", "replies/s", "replies/s", true, func(c results.Cell) (float64, bool) { return c.Run.ThroughputPerSec, true }},
	{"p50", "ns", "p50-ns", false, func(c results.Cell) (float64, bool) { return float64(c.Run.LatencyNS.P50), c.Run.LatencyNS.Count > 0 }},
	{"p99", "ns", "p99-ns", false, func(c results.Cell) (float64, bool) { return float64(c.Run.LatencyNS.P99), c.Run.LatencyNS.Count > 0 }},
	{"p999", "ns", "p999-ns", false, func(c results.Cell) (float64, bool) { return float64(c.Run.LatencyNS.P999), c.Run.LatencyNS.Count > 0 }},
	{"cpu", "ns/reply", "cpu-ns/reply", false, func(c results.Cell) (float64, bool) {
		if c.Server == nil || c.Server.CPUPerReplyNS == 0 {
			return 0, false
		}
		return c.Server.CPUPerReplyNS, true
	}},
	// Kernel counts: they do not drift with a shared machine's noise, so
	// a gate on them can use a tight threshold.
	{"syscalls", "syscalls/reply", "syscalls/reply", false, func(c results.Cell) (float64, bool) {
		if c.Server == nil || c.Server.SyscallsPerReply == nil {
			return 0, false
		}
		return *c.Server.SyscallsPerReply, true
	}},
	{"ctxsw", "ctx-switches/reply", "ctx-switches/reply", false, func(c results.Cell) (float64, bool) {
		if c.Server == nil || c.Server.CtxSwitchesPerReply == nil {
			return 0, false
		}
		return *c.Server.CtxSwitchesPerReply, true
	}},
	// The knee of run --slo: each search's knee is one sample (no cell
	// has it: compareCapacity reads the suites' capacity lists).
	{"capacity", "msg/s", "knee-msg/s", true, nil},
}

// MetricByName finds a metric.
func MetricByName(name string) (Metric, error) {
	if call, ok := strings.CutPrefix(name, "syscalls:"); ok && call != "" {
		// One system call's count per reply (or "other"): measured where
		// the server's calls were counted by name.
		return Metric{Name: name, Unit: call + "/reply", BenchUnit: call + "-calls/reply", value: func(c results.Cell) (float64, bool) {
			if c.Server == nil || c.Server.SyscallsByName == nil {
				return 0, false
			}
			return c.Server.SyscallsByName[call], true // absent: none in the window
		}}, nil
	}
	var names []string
	for _, m := range metrics {
		if m.Name == name {
			return m, nil
		}
		names = append(names, m.Name)
	}
	return Metric{}, fmt.Errorf("report: unknown metric %q (have: %s, or syscalls:NAME for one system call, e.g. syscalls:epoll_wait)", name, strings.Join(names, ", "))
}

// Verdict is compare's finding for one metric of one cell.
type Verdict string

// Verdicts.
const (
	Better   Verdict = "better"
	Worse    Verdict = "worse"
	NoChange Verdict = "no significant change"
	TooFew   Verdict = "too few samples"
)

// Delta is one metric of one cell, base against new.
type Delta struct {
	Model    string           `json:"model"`
	Scenario results.Scenario `json:"scenario"`
	Metric   string           `json:"metric"`
	Unit     string           `json:"unit"`
	Base     Stat             `json:"base"`
	New      Stat             `json:"new"`
	DeltaPct float64          `json:"delta_pct"` // (new/base - 1) × 100, of the medians
	P        float64          `json:"p"`         // Mann-Whitney U, two-sided
	// PAdjusted is P adjusted for the comparisons made at once
	// (Holm–Bonferroni): the verdict is judged on it.
	PAdjusted float64 `json:"p_adjusted"`
	Verdict   Verdict `json:"verdict"`
	// Need is how many samples per side this alpha needs, when too few.
	Need int `json:"need,omitempty"`
}

// CompareConfig sets the gate.
type CompareConfig struct {
	Threshold float64 // |delta| above this fraction (0.05 = 5%) counts
	Alpha     float64 // and p below this (adjusted for the comparisons made at once)
	Metrics   []Metric
	// IgnoreWork pairs cells whatever work their server did per request
	// (a suite with --work against one without): each side must then
	// hold one work per model and scenario.
	IgnoreWork bool
}

// Validate is the one check of a gate's settings: a threshold of 0 to
// 1000%, an alpha strictly between 0 and 1, at least one metric.
func (c CompareConfig) Validate() error {
	switch {
	case c.Threshold < 0 || c.Threshold >= 10:
		return fmt.Errorf("--threshold %g%%: want a percentage from 0 to below 1000%%", c.Threshold*100)
	case !(c.Alpha > 0 && c.Alpha < 1):
		return fmt.Errorf("--alpha %v: want between 0 and 1", c.Alpha)
	case len(c.Metrics) == 0:
		return errors.New("--metric: want at least one metric")
	}
	return nil
}

// ErrMismatch is returned when the suites do not hold the same cells.
var ErrMismatch = errors.New("the suites do not measure the same cells")

type cellKey struct {
	model string
	results.Scenario
}

// samples collects, per model and scenario, the measured cells; with
// ignoreWork the scenario's work is left out of the key (side names the
// suite in the error when that joins cells of different works).
func samples(s *results.Suite, ignoreWork bool, side string) (map[cellKey][]results.Cell, []cellKey, error) {
	m := map[cellKey][]results.Cell{}
	var order []cellKey
	for _, c := range s.Cells {
		if !c.Measured() {
			continue // failed cells are no sample: FailedCells reports them
		}
		k := cellKey{c.Model, c.Scenario}
		if ignoreWork {
			k.Work = ""
		}
		if _, ok := m[k]; !ok {
			order = append(order, k)
		} else if w := m[k][0].Work; w != c.Work {
			return nil, nil, fmt.Errorf("%w: --ignore-work: %s measures %s (%s) with work %s and %s: pair one work with one", ErrMismatch, side, c.Model, shortScenario(k.Scenario), w, c.Work)
		}
		m[k] = append(m[k], c)
	}
	return m, order, nil
}

// Compare matches cells by model and scenario and tests each metric.
func Compare(base, cur *results.Suite, cfg CompareConfig) ([]Delta, error) {
	bs, order, err := samples(base, cfg.IgnoreWork, "BASE")
	if err != nil {
		return nil, err
	}
	ns, norder, err := samples(cur, cfg.IgnoreWork, "NEW")
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, k := range order {
		if _, ok := ns[k]; !ok {
			missing = append(missing, fmt.Sprintf("%s (%s) only in BASE", k.model, k.Scenario))
		}
	}
	for _, k := range norder {
		if _, ok := bs[k]; !ok {
			missing = append(missing, fmt.Sprintf("%s (%s) only in NEW", k.model, k.Scenario))
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("%w: %s", ErrMismatch, strings.Join(missing, "; "))
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("%w: BASE has no measured cells", ErrMismatch)
	}
	var out []Delta
	for _, m := range cfg.Metrics {
		if m.value == nil {
			ds, err := compareCapacity(base, cur, m, cfg)
			if err != nil {
				return nil, err
			}
			out = append(out, ds...)
		}
	}
	for _, k := range order {
		for _, m := range cfg.Metrics {
			if m.value == nil {
				continue
			}
			bv, nv := values(bs[k], m), values(ns[k], m)
			if len(bv) == 0 || len(nv) == 0 {
				continue
			}
			out = append(out, compareOne(k, m, bv, nv, cfg.Alpha, cfg.Threshold))
		}
	}
	holm(out, cfg.Alpha)
	return out, nil
}

// holm adjusts the p-values of the decidable comparisons for making many
// at once (Holm–Bonferroni: the k-th smallest of m multiplied by m−k+1,
// kept monotone) and keeps a verdict of change only where the adjusted p
// is below alpha: twelve metrics tested on one build against itself
// otherwise find a "regression" by chance about one time in two.
func holm(ds []Delta, alpha float64) {
	var idx []int
	for i := range ds {
		ds[i].PAdjusted = ds[i].P
		if ds[i].Verdict != TooFew {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return ds[idx[a]].P < ds[idx[b]].P })
	running := 0.0
	for k, i := range idx {
		running = math.Max(running, math.Min(1, float64(len(idx)-k)*ds[i].P))
		ds[i].PAdjusted = running
		if running >= alpha && (ds[i].Verdict == Worse || ds[i].Verdict == Better) {
			ds[i].Verdict = NoChange
		}
	}
}

// compareCapacity tests the knees of each model × scenario's capacity
// searches (one sample per search), matched like cells.
func compareCapacity(base, cur *results.Suite, m Metric, cfg CompareConfig) ([]Delta, error) {
	if len(base.Capacity) == 0 || len(cur.Capacity) == 0 {
		return nil, fmt.Errorf("%w: --metric capacity needs both suites run with --slo (BASE has %d capacities, NEW %d)", ErrMismatch, len(base.Capacity), len(cur.Capacity))
	}
	var out []Delta
	for _, b := range base.Capacity {
		i := slices.IndexFunc(cur.Capacity, func(c results.Capacity) bool { return c.Model == b.Model && c.Scenario == b.Scenario })
		switch {
		case i < 0:
			return nil, fmt.Errorf("%w: %s (%s) capacity only in BASE", ErrMismatch, b.Model, b.Scenario)
		case b.SLO != cur.Capacity[i].SLO:
			return nil, fmt.Errorf("%w: %s (%s) capacity at %s in BASE, %s in NEW", ErrMismatch, b.Model, b.Scenario, b.SLO, cur.Capacity[i].SLO)
		case len(b.Knees) == 0 || len(cur.Capacity[i].Knees) == 0:
			continue
		}
		out = append(out, compareOne(cellKey{b.Model, b.Scenario}, m, b.Knees, cur.Capacity[i].Knees, cfg.Alpha, cfg.Threshold))
	}
	return out, nil
}

func values(cells []results.Cell, m Metric) []float64 {
	var v []float64
	for _, c := range cells {
		if x, ok := m.value(c); ok {
			v = append(v, x)
		}
	}
	return v
}

func compareOne(k cellKey, m Metric, bv, nv []float64, alpha, threshold float64) Delta {
	diff := differ(bv, nv, alpha, threshold)
	d := Delta{Model: k.model, Scenario: k.Scenario, Metric: m.Name, Unit: m.Unit,
		Base: summarize(bv), New: summarize(nv), P: diff.P, DeltaPct: diff.DeltaPct}
	worse := d.DeltaPct < 0 == m.Higher
	switch {
	case !diff.Decidable:
		d.Verdict = TooFew
		d.Need = samplesNeeded(alpha)
	case diff.Differ && worse:
		d.Verdict = Worse
	case diff.Differ:
		d.Verdict = Better
	default:
		d.Verdict = NoChange
	}
	return d
}

// boundedN is the fewest samples with a finite 95% interval of the median.
const boundedN = 6

// Caveats says, a line each, what may explain a comparison's result
// besides the code: repetitions the machine disturbed, and suites from
// different kernels, CPUs, hosts, Go versions or builds (an unstamped
// build can't be told apart from another).
func Caveats(base, cur *results.Suite) []string {
	var out []string
	for _, side := range []struct {
		name string
		s    *results.Suite
	}{{"BASE", base}, {"NEW", cur}} {
		n := 0
		for _, c := range side.s.Cells {
			if c.Counted() && c.Disturbed != "" {
				n++
			}
		}
		if n > 0 {
			out = append(out, fmt.Sprintf("%s has %d repetition(s) the machine disturbed even after re-runs: a change there may be the machine's", side.name, n))
		}
	}
	b, n := base.Environment, cur.Environment
	for _, f := range []struct{ what, b, n string }{
		{"kernel", b.Kernel, n.Kernel}, {"CPU", b.CPUModel, n.CPUModel}, {"host", b.Host, n.Host}, {"Go", b.Go, n.Go},
	} {
		if f.b != f.n {
			out = append(out, fmt.Sprintf("the suites come from different %ss (BASE %q, NEW %q): a change may be the machine's", f.what, f.b, f.n))
		}
	}
	for _, v := range []struct{ side, version string }{{"BASE", b.Iobench}, {"NEW", n.Iobench}} {
		if v.version == "" || v.version == "dev" { // buildinfo.Version without a VCS stamp
			out = append(out, fmt.Sprintf("%s's build is unstamped (%q): which code it measured can't be told", v.side, v.version))
		}
	}
	return out
}

// FailedCells describes, a line each, the cells of s that failed.
func FailedCells(s *results.Suite) []string {
	var out []string
	for _, c := range s.Cells {
		// A repetition that failed while the machine disturbed it is the
		// machine's failure, not the model's: reported, never exit 1.
		if c.Failed() && !c.Excused() {
			out = append(out, fmt.Sprintf("%s (%s) repetition %d: %s", c.Model, c.Scenario, c.Rep, c.Error))
		}
	}
	return out
}

// Regressed lists the deltas that fail the gate.
func Regressed(ds []Delta) []Delta { return withVerdict(ds, Worse) }

// Undecided lists the deltas with too few samples.
func Undecided(ds []Delta) []Delta { return withVerdict(ds, TooFew) }

func withVerdict(ds []Delta, verdict Verdict) []Delta {
	var out []Delta
	for _, d := range ds {
		if d.Verdict == verdict {
			out = append(out, d)
		}
	}
	return out
}

func fmtValue(v float64, unit string) string {
	switch unit {
	case "ns", "ns/reply":
		return Dur(int64(v))
	case "msg/s":
		return Count(v)
	case "syscalls/reply", "ctx-switches/reply":
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	if strings.HasSuffix(unit, "/reply") { // one call's count per reply (syscalls:NAME)
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return Count(v)
}

func (d Delta) row() []string {
	ci := func(s Stat) string {
		if !s.Bounded() {
			return fmt.Sprintf("%s [unbounded: n=%d < %d]", fmtValue(s.Median, d.Unit), s.N, boundedN)
		}
		return fmt.Sprintf("%s [%s–%s]", fmtValue(s.Median, d.Unit), fmtEnd(s.Lo, d.Unit), fmtEnd(s.Hi, d.Unit))
	}
	verdict := string(d.Verdict)
	if d.Verdict == TooFew {
		verdict = fmt.Sprintf("%s (need ≥ %d per side)", TooFew, d.Need)
	}
	return []string{d.Model, shortScenario(d.Scenario), d.Metric, ci(d.Base), ci(d.New), fmt.Sprintf("%d/%d", d.Base.N, d.New.N),
		fmt.Sprintf("%+.1f%%", d.DeltaPct), fmt.Sprintf("%.3f", d.PAdjusted), verdict}
}

// fmtEnd is an interval's end, compact for counts ("123k").
func fmtEnd(v float64, unit string) string {
	if f := fmtValue(v, unit); f != Count(v) {
		return f
	}
	return Compact(v)
}

// shortScenario names a scenario by its connections and what differs
// from the default, so that the table fits a terminal.
func shortScenario(s results.Scenario) string {
	parts := []string{fmt.Sprintf("%d conns", s.Conns)}
	if s.Size != 64 {
		parts = append(parts, fmt.Sprintf("%d B", s.Size))
	}
	for _, d := range s.NonDefault() {
		parts = append(parts, d.Label)
	}
	return strings.Join(parts, ", ")
}

var compareHeader = []string{"model", "scenario", "metric", "base [95% CI]", "new [95% CI]", "n", "delta", "p (Holm)", "verdict"}

// WriteComparison writes the deltas as a table, markdown or JSON
// (ComparisonFormats).
func WriteComparison(w io.Writer, ds []Delta, cfg CompareConfig, format string) error {
	if err := CheckFormat(format, ComparisonFormats); err != nil {
		return err
	}
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Threshold float64 `json:"threshold"`
			Alpha     float64 `json:"alpha"`
			Regressed int     `json:"regressed"`
			Deltas    []Delta `json:"deltas"`
		}{cfg.Threshold, cfg.Alpha, len(Regressed(ds)), ds})
	case "md":
		var b strings.Builder
		reg := Regressed(ds)
		switch {
		case len(reg) > 0:
			fmt.Fprintf(&b, "### iobench: %d regression(s)\n\n", len(reg))
		case len(Undecided(ds)) > 0:
			b.WriteString("### iobench: undecided (too few samples)\n\n")
		default:
			b.WriteString("### iobench: no regression\n\n")
		}
		fmt.Fprintf(&b, "Gate: worse by more than %.1f%% with Mann-Whitney p < %.2f, adjusted (Holm–Bonferroni) for the %d comparisons made at once. Medians with 95%% confidence intervals; each repetition is one sample.\n\n", cfg.Threshold*100, cfg.Alpha, len(ds))
		b.WriteString("| " + strings.Join(compareHeader, " | ") + " |\n|" + strings.Repeat("---|", len(compareHeader)) + "\n")
		for _, d := range ds {
			cells := d.row()
			if d.Verdict == Worse {
				cells[len(cells)-1] = "**" + string(Worse) + "**"
			}
			for i := range cells {
				cells[i] = mdEscape(cells[i])
			}
			b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		}
		_, err := io.WriteString(w, b.String())
		return err
	default:
		t := NewTable(w)
		t.Header(compareHeader)
		for _, d := range ds {
			row := d.row()
			if d.Verdict == NoChange {
				row[len(row)-1] = "no change" // the terminal's 120 columns; md and json say it whole
			}
			if err := t.Append(row); err != nil {
				return err
			}
		}
		return t.Render()
	}
}
