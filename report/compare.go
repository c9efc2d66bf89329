package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/olekukonko/tablewriter"
	"golang.org/x/perf/benchmath"

	"iobench/results"
)

// Metric is one figure a comparison can gate on; each run gives one sample.
type Metric struct {
	Name   string
	Unit   string
	Higher bool // higher is better
	value  func(c results.Cell) (float64, bool)
}

// Metrics are the figures compare knows, by name.
var Metrics = []Metric{
	{"throughput", "replies/s", true, func(c results.Cell) (float64, bool) { return c.Run.ThroughputPerSec, true }},
	{"p50", "ns", false, func(c results.Cell) (float64, bool) { return float64(c.Run.LatencyNS.P50), c.Run.LatencyNS.Count > 0 }},
	{"p99", "ns", false, func(c results.Cell) (float64, bool) { return float64(c.Run.LatencyNS.P99), c.Run.LatencyNS.Count > 0 }},
	{"p999", "ns", false, func(c results.Cell) (float64, bool) { return float64(c.Run.LatencyNS.P999), c.Run.LatencyNS.Count > 0 }},
	{"cpu", "ns/reply", false, func(c results.Cell) (float64, bool) {
		if c.Server == nil || c.Server.CPUPerReplyNS == 0 {
			return 0, false
		}
		return c.Server.CPUPerReplyNS, true
	}},
}

// MetricByName finds a metric.
func MetricByName(name string) (Metric, error) {
	var names []string
	for _, m := range Metrics {
		if m.Name == name {
			return m, nil
		}
		names = append(names, m.Name)
	}
	return Metric{}, fmt.Errorf("unknown metric %q (have: %s)", name, strings.Join(names, ", "))
}

// Verdicts.
const (
	Better   = "better"
	Worse    = "worse"
	NoChange = "no significant change"
	TooFew   = "too few samples"
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
	Verdict  string           `json:"verdict"`
	// Need is how many samples per side this alpha needs, when too few.
	Need int `json:"need,omitempty"`
}

// Stat is a median with its confidence interval over n samples.
type Stat struct {
	N          int     `json:"n"`
	Median     float64 `json:"median"`
	Lo         float64 `json:"ci_lo"`
	Hi         float64 `json:"ci_hi"`
	Confidence float64 `json:"confidence"`
}

// CompareConfig sets the gate.
type CompareConfig struct {
	Threshold float64 // |delta| above this fraction (0.05 = 5%) counts
	Alpha     float64 // and p below this
	Metrics   []Metric
}

// ErrMismatch is returned when the suites do not hold the same cells.
var ErrMismatch = errors.New("the suites do not measure the same cells")

type cellKey struct {
	model string
	results.Scenario
}

// samples collects, per model and scenario, the measured cells.
func samples(s *results.Suite) (map[cellKey][]results.Cell, []cellKey) {
	m := map[cellKey][]results.Cell{}
	var order []cellKey
	for _, c := range s.Cells {
		if c.Run == nil {
			continue
		}
		k := cellKey{c.Model, c.Scenario}
		if _, ok := m[k]; !ok {
			order = append(order, k)
		}
		m[k] = append(m[k], c)
	}
	return m, order
}

// Compare matches cells by model and scenario and tests each metric.
func Compare(base, cur *results.Suite, cfg CompareConfig) ([]Delta, error) {
	bs, order := samples(base)
	ns, norder := samples(cur)
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
	thr := benchmath.DefaultThresholds
	thr.CompareAlpha = cfg.Alpha
	var out []Delta
	for _, k := range order {
		for _, m := range cfg.Metrics {
			bv, nv := values(bs[k], m), values(ns[k], m)
			if len(bv) == 0 || len(nv) == 0 {
				continue
			}
			out = append(out, compareOne(k, m, bv, nv, &thr, cfg.Threshold))
		}
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

func compareOne(k cellKey, m Metric, bv, nv []float64, thr *benchmath.Thresholds, threshold float64) Delta {
	a := benchmath.AssumeNothing
	b, n := benchmath.NewSample(bv, thr), benchmath.NewSample(nv, thr)
	bsum, nsum := a.Summary(b, 0.95), a.Summary(n, 0.95)
	cmp := a.Compare(b, n)
	d := Delta{Model: k.model, Scenario: k.Scenario, Metric: m.Name, Unit: m.Unit,
		Base: stat(bsum, len(bv)), New: stat(nsum, len(nv)), P: cmp.P}
	if bsum.Center != 0 {
		d.DeltaPct = (nsum.Center/bsum.Center - 1) * 100
	}
	worse := d.DeltaPct < 0 == m.Higher
	switch {
	case minUTestP(min(len(bv), len(nv))) > thr.CompareAlpha:
		d.Verdict = TooFew
		d.Need = samplesNeeded(thr.CompareAlpha)
	case cmp.P < thr.CompareAlpha && math.Abs(d.DeltaPct) > threshold*100 && worse:
		d.Verdict = Worse
	case cmp.P < thr.CompareAlpha && math.Abs(d.DeltaPct) > threshold*100:
		d.Verdict = Better
	default:
		d.Verdict = NoChange
	}
	return d
}

func stat(s benchmath.Summary, n int) Stat {
	return Stat{N: n, Median: s.Center, Lo: s.Lo, Hi: s.Hi, Confidence: s.Confidence}
}

// minUTestP is the smallest two-sided p-value a Mann-Whitney U test can
// give with n samples on each side (total separation): 2 / C(2n, n). Below
// 4 samples a side it never reaches 0.05, however large the change.
func minUTestP(n int) float64 {
	if n < 1 {
		return 1
	}
	c := 1.0
	for i := 1; i <= n; i++ {
		c = c * float64(n+i) / float64(i)
	}
	return math.Min(1, 2/c)
}

// samplesNeeded is the fewest samples a side that can reach alpha.
func samplesNeeded(alpha float64) int {
	for n := 1; n < 64; n++ {
		if minUTestP(n) <= alpha {
			return n
		}
	}
	return 64
}

// Regressed lists the deltas that fail the gate.
func Regressed(ds []Delta) []Delta { return withVerdict(ds, Worse) }

// Undecided lists the deltas with too few samples.
func Undecided(ds []Delta) []Delta { return withVerdict(ds, TooFew) }

func withVerdict(ds []Delta, verdict string) []Delta {
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
	}
	return Count(v)
}

func (d Delta) row() []string {
	ci := func(s Stat) string {
		if math.IsInf(s.Lo, 0) || math.IsInf(s.Hi, 0) {
			return fmt.Sprintf("%s (n=%d, CI ±∞)", fmtValue(s.Median, d.Unit), s.N)
		}
		return fmt.Sprintf("%s [%s, %s] n=%d", fmtValue(s.Median, d.Unit), fmtValue(s.Lo, d.Unit), fmtValue(s.Hi, d.Unit), s.N)
	}
	verdict := d.Verdict
	if d.Verdict == TooFew {
		verdict = fmt.Sprintf("%s (need ≥ %d per side)", TooFew, d.Need)
	}
	return []string{d.Model, d.Scenario.String(), d.Metric, ci(d.Base), ci(d.New), fmt.Sprintf("%+.1f%%", d.DeltaPct), fmt.Sprintf("%.3f", d.P), verdict}
}

var compareHeader = []string{"model", "scenario", "metric", "base median [95% CI]", "new median [95% CI]", "delta", "p", "verdict"}

// WriteComparison writes the deltas as a table, markdown or JSON.
func WriteComparison(w io.Writer, ds []Delta, cfg CompareConfig, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Threshold float64 `json:"threshold"`
			Alpha     float64 `json:"alpha"`
			Regressed int     `json:"regressed"`
			Deltas    []Delta `json:"deltas"`
		}{cfg.Threshold, cfg.Alpha, len(Regressed(ds)), jsonSafe(ds)})
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
		fmt.Fprintf(&b, "Gate: worse by more than %.1f%% with Mann-Whitney p < %.2f. Medians with 95%% confidence intervals; each repetition is one sample.\n\n", cfg.Threshold*100, cfg.Alpha)
		b.WriteString("| " + strings.Join(compareHeader, " | ") + " |\n|" + strings.Repeat("---|", len(compareHeader)) + "\n")
		for _, d := range ds {
			cells := d.row()
			if d.Verdict == Worse {
				cells[len(cells)-1] = "**" + Worse + "**"
			}
			for i := range cells {
				cells[i] = mdEscape(cells[i])
			}
			b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		}
		_, err := io.WriteString(w, b.String())
		return err
	default:
		t := tablewriter.NewWriter(w)
		t.Header(compareHeader)
		for _, d := range ds {
			if err := t.Append(d.row()); err != nil {
				return err
			}
		}
		return t.Render()
	}
}

// jsonSafe replaces infinite interval bounds (no JSON form) with 0.
func jsonSafe(ds []Delta) []Delta {
	out := slices.Clone(ds)
	for i := range out {
		for _, s := range []*Stat{&out[i].Base, &out[i].New} {
			if math.IsInf(s.Lo, 0) {
				s.Lo = 0
			}
			if math.IsInf(s.Hi, 0) {
				s.Hi = 0
			}
		}
	}
	return out
}
