package report_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"

	"iobench/report"
	"iobench/results"
)

// synth builds a suite of n repetitions of one epoll cell whose throughput
// and p99 are drawn from normal distributions.
func synth(rng *rand.Rand, n int, tput, p99, sd float64) *results.Suite {
	s := &results.Suite{Schema: results.SchemaVersion, Kind: "suite"}
	for i := range n {
		run := &results.Run{Schema: results.SchemaVersion}
		run.ThroughputPerSec = tput * (1 + sd*rng.NormFloat64())
		run.LatencyNS.P99 = int64(p99 * (1 + sd*rng.NormFloat64()))
		run.LatencyNS.Count = 1000
		s.Cells = append(s.Cells, results.Cell{Model: "epoll", Rep: i + 1, Run: run,
			Scenario: results.Scenario{Mode: "closed", Conns: 100, Size: 64, Work: "none", Depth: 1}})
	}
	return s
}

func gate() report.CompareConfig {
	tp, _ := report.MetricByName("throughput")
	p99, _ := report.MetricByName("p99")
	return report.CompareConfig{Threshold: 0.05, Alpha: 0.05, Metrics: []report.Metric{tp, p99}}
}

// TestFalseAlarms: suites drawn from one distribution (3% noise, 10 runs
// a side) are almost never flagged; the gate's false-alarm rate stays
// under alpha.
func TestFalseAlarms(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const trials = 1000
	flagged := 0
	for range trials {
		ds, err := report.Compare(synth(rng, 10, 1e5, 1e6, 0.03), synth(rng, 10, 1e5, 1e6, 0.03), gate())
		if err != nil {
			t.Fatal(err)
		}
		if len(report.Regressed(ds)) > 0 {
			flagged++
		}
	}
	if rate := float64(flagged) / trials; rate > 0.05 {
		t.Errorf("false-alarm rate %.3f over %d identical comparisons; want ≤ alpha 0.05", rate, trials)
	}
}

// TestShiftFlagged: a real 10% slowdown (throughput down, p99 up) is
// caught nearly every time with 10 runs a side.
func TestShiftFlagged(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const trials = 200
	caught := 0
	for range trials {
		ds, err := report.Compare(synth(rng, 10, 1e5, 1e6, 0.03), synth(rng, 10, 0.9e5, 1.1e6, 0.03), gate())
		if err != nil {
			t.Fatal(err)
		}
		reg := report.Regressed(ds)
		if len(reg) == 2 {
			caught++
		}
		for _, d := range ds {
			if d.Verdict == report.Better {
				t.Fatalf("a slowdown reported as better: %+v", d)
			}
		}
	}
	if rate := float64(caught) / trials; rate < 0.95 {
		t.Errorf("a 10%% shift was caught in %.2f of trials; want ≥ 0.95", rate)
	}
	// And the other way round it is an improvement, not a regression.
	ds, _ := report.Compare(synth(rng, 10, 0.9e5, 1.1e6, 0.03), synth(rng, 10, 1e5, 1e6, 0.03), gate())
	if len(report.Regressed(ds)) != 0 || ds[0].Verdict != report.Better {
		t.Errorf("an improvement: %+v", ds)
	}
}

// TestSmallShiftBelowThreshold: significant but under the threshold is
// not a regression.
func TestSmallShiftBelowThreshold(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	ds, _ := report.Compare(synth(rng, 20, 1e5, 1e6, 0.005), synth(rng, 20, 0.98e5, 1e6, 0.005), gate())
	if ds[0].P >= 0.05 || ds[0].Verdict != report.NoChange {
		t.Errorf("2%% shift, tiny noise: p=%.4f verdict %q; want significant but %q under a 5%% threshold", ds[0].P, ds[0].Verdict, report.NoChange)
	}
}

func TestTooFewSamples(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	ds, err := report.Compare(synth(rng, 3, 1e5, 1e6, 0.03), synth(rng, 3, 0.5e5, 2e6, 0.03), gate())
	if err != nil {
		t.Fatal(err)
	}
	if u := report.Undecided(ds); len(u) != 2 || u[0].Need != 4 {
		t.Errorf("3 runs a side: %+v; want both undecided, needing 4", ds)
	}
}

func TestMismatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	a, b := synth(rng, 5, 1e5, 1e6, 0.03), synth(rng, 5, 1e5, 1e6, 0.03)
	for i := range b.Cells {
		b.Cells[i].Conns = 1000
	}
	_, err := report.Compare(a, b, gate())
	if !errors.Is(err, report.ErrMismatch) || !strings.Contains(err.Error(), "only in BASE") || !strings.Contains(err.Error(), "only in NEW") {
		t.Errorf("%v; want ErrMismatch naming what is only on each side", err)
	}
}

func TestComparisonFormats(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	ds, _ := report.Compare(synth(rng, 10, 1e5, 1e6, 0.03), synth(rng, 10, 0.8e5, 1e6, 0.03), gate())
	for _, f := range []string{"table", "md", "json"} {
		var buf bytes.Buffer
		if err := report.WriteComparison(&buf, ds, gate(), f); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "worse") {
			t.Errorf("%s output does not show the regression:\n%s", f, buf.String())
		}
	}
}

// TestBenchfmt: the benchmark-format output parses with x/perf's reader,
// with the names and units benchstat will see.
func TestBenchfmt(t *testing.T) {
	var buf bytes.Buffer
	if err := report.WriteBenchfmt(&buf, suite(t)); err != nil {
		t.Fatal(err)
	}
	r := benchfmt.NewReader(&buf, "suite")
	results, units := 0, map[string]bool{}
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.Result:
			results++
			if !strings.HasPrefix(rec.Name.String(), "Echo/model=") || !strings.Contains(rec.Name.String(), "/conns=") {
				t.Errorf("name %q", rec.Name)
			}
			if _, ok := rec.Value("replies/s"); !ok {
				t.Errorf("%s has no replies/s", rec.Name)
			}
		case *benchfmt.UnitMetadata:
			units[rec.OrigUnit+" "+rec.Value] = true
		case *benchfmt.SyntaxError:
			t.Errorf("syntax error: %v", rec)
		}
	}
	if results != 12 || !units["replies/s higher"] || !units["p99-ns lower"] {
		t.Errorf("%d results, units %v; want 12 and better= metadata", results, units)
	}
}

// TestUnboundedInterval: with fewer than six runs a 95% interval of the
// median is unbounded; the table says so in words and the JSON writes
// null, never "±∞" or a made-up 0.
func TestUnboundedInterval(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	ds, err := report.Compare(synth(rng, 3, 1e5, 1e6, 0.03), synth(rng, 3, 1e5, 1e6, 0.03), gate())
	if err != nil {
		t.Fatal(err)
	}
	var table, js bytes.Buffer
	if err := report.WriteComparison(&table, ds, gate(), "table"); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteComparison(&js, ds, gate(), "json"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(table.String(), "∞") || !strings.Contains(table.String(), "unbounded: n=3 < 6") {
		t.Errorf("table:\n%s", table.String())
	}
	if strings.Contains(js.String(), `"ci_lo": 0`) || !strings.Contains(js.String(), `"ci_lo": null`) {
		t.Errorf("json:\n%s", js.String())
	}
}

// TestFailedCellsNotSamples: a failed cell is no sample of the gate, and
// FailedCells names it.
func TestFailedCellsNotSamples(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	cur := synth(rng, 10, 1e5, 1e6, 0.03)
	cur.Cells[0].Error = "server died: the server exited during the run"
	cur.Cells[0].Run.ThroughputPerSec = 1 // would drag the median down if counted
	ds, err := report.Compare(synth(rng, 10, 1e5, 1e6, 0.03), cur, gate())
	if err != nil {
		t.Fatal(err)
	}
	if ds[0].New.N != 9 {
		t.Errorf("NEW has %d samples; want 9 (the failed cell left out)", ds[0].New.N)
	}
	if f := report.FailedCells(cur); len(f) != 1 || !strings.Contains(f[0], "server died") {
		t.Errorf("FailedCells: %q", f)
	}
}

// TestFamilyWise: ten models and two metrics from one distribution, gated
// at no threshold: twenty tests at once flag something by chance in most
// trials unless the p-values are adjusted for their number; adjusted
// (Holm–Bonferroni), the chance that any is flagged stays under alpha.
func TestFamilyWise(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	many := func() *results.Suite {
		s := &results.Suite{Schema: results.SchemaVersion, Kind: "suite"}
		for m := range 10 {
			one := synth(rng, 10, 1e5, 1e6, 0.03)
			for _, c := range one.Cells {
				c.Model = fmt.Sprintf("model%d", m)
				s.Cells = append(s.Cells, c)
			}
		}
		return s
	}
	cfg := gate()
	cfg.Threshold = 0
	const trials = 300
	flagged, raw := 0, 0
	for range trials {
		ds, err := report.Compare(many(), many(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 20 {
			t.Fatalf("%d comparisons, want 20", len(ds))
		}
		if len(report.Regressed(ds)) > 0 || slices.ContainsFunc(ds, func(d report.Delta) bool { return d.Verdict == report.Better }) {
			flagged++
		}
		if slices.ContainsFunc(ds, func(d report.Delta) bool { return d.P < cfg.Alpha }) {
			raw++
		}
		for _, d := range ds {
			if d.PAdjusted < d.P {
				t.Fatalf("adjusted p %v below its p %v", d.PAdjusted, d.P)
			}
		}
	}
	if rate := float64(flagged) / trials; rate > 0.05 {
		t.Errorf("some change flagged in %.3f of identical comparisons; want ≤ alpha 0.05", rate)
	}
	if rate := float64(raw) / trials; rate < 0.3 {
		t.Errorf("unadjusted, %.3f of trials had a p < alpha: the test is too weak to show the correction matters", rate)
	}
}

// TestIgnoreWork: a suite with --work against one without is paired by
// --ignore-work, refused without it.
func TestIgnoreWork(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	base, cur := synth(rng, 10, 1e5, 1e6, 0.03), synth(rng, 10, 1e5, 1e6, 0.03)
	for i := range cur.Cells {
		cur.Cells[i].Work = "cpu:5us"
	}
	if _, err := report.Compare(base, cur, gate()); !errors.Is(err, report.ErrMismatch) {
		t.Errorf("different works without --ignore-work: %v; want ErrMismatch", err)
	}
	cfg := gate()
	cfg.IgnoreWork = true
	if ds, err := report.Compare(base, cur, cfg); err != nil || len(ds) != 2 {
		t.Errorf("--ignore-work: %v, %d comparisons; want 2", err, len(ds))
	}
	cur.Cells[0].Work = "cpu:9us"
	if _, err := report.Compare(base, cur, cfg); err == nil || !strings.Contains(err.Error(), "pair one work with one") {
		t.Errorf("two works on one side: %v", err)
	}
}

// TestCaveats: disturbed repetitions, another kernel and an unstamped
// build are said beside the verdict.
func TestCaveats(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	base, cur := synth(rng, 6, 1e5, 1e6, 0.03), synth(rng, 6, 1e5, 1e6, 0.03)
	base.Environment = results.Environment{Kernel: "6.1", Iobench: "dev-0123456789ab"}
	cur.Environment = results.Environment{Kernel: "6.18", Iobench: "dev"}
	cur.Cells[2].Disturbed = "foreign CPU 40%"
	got := strings.Join(report.Caveats(base, cur), "\n")
	for _, want := range []string{"NEW has 1 repetition(s) the machine disturbed", "different kernels", "NEW's build is unstamped"} {
		if !strings.Contains(got, want) {
			t.Errorf("caveats %q lack %q", got, want)
		}
	}
	if c := report.Caveats(base, base); len(c) != 0 {
		t.Errorf("a suite against itself: caveats %q", c)
	}
}
