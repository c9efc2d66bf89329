package report

import (
	"strings"
	"testing"

	"iobench/results"
)

func capSuite() *results.Suite {
	sc := results.Scenario{Mode: "rate", Conns: 100, Size: 64, Work: "none", Depth: 1}
	slo := results.SLO{Percentile: "p99", BoundNS: 1e6}
	mk := func(model string, knees []float64, by string, share float64) results.Capacity {
		c := results.Capacity{Model: model, Scenario: sc, SLO: slo, Knees: knees, Knee: results.SpreadOf(knees), LimitedBy: by, ClosedLoop: 100_000}
		for _, k := range knees {
			c.Steps = append(c.Steps, results.Step{Rate: k, Held: true, ServerCores: 0.5, LatencyNS: 500_000})
		}
		c.Equal = []results.Step{{Rate: 5000, ServerShare: share, ServerCores: share, LatencyNS: 300_000}}
		return c
	}
	return &results.Suite{CommonRate: 5000, Capacity: []results.Capacity{
		mk("poll", []float64{30_000, 31_000, 32_000}, "server", 0.4),
		mk("epoll", []float64{50_000, 52_000, 54_000}, "server", 0.3),
		mk("nonblocking", []float64{29_000, 31_500, 33_000}, "server", 1.0),
		mk("iouring", []float64{60_000, 70_000, 80_000}, "generator", 0.2),
	}}
}

// TestCapacityRanked: by the knee's median, highest first; overlapping
// ranges are level and ordered by CPU at the common rate.
func TestCapacityRanked(t *testing.T) {
	var got []string
	for _, c := range CapacityRanked(capSuite()) {
		got = append(got, c.Model)
	}
	if want := "iouring epoll poll nonblocking"; strings.Join(got, " ") != want {
		t.Errorf("ranked %v; want %s", got, want)
	}
}

// TestCapacityText: the table and the summary say the knee with its
// range, "≥" at the generator's limit, the rule, and the model that
// keeps its core busy at the common rate.
func TestCapacityText(t *testing.T) {
	s := capSuite()
	sum := capacitySummary(s)
	for _, want := range []string{"iouring ≥ 70,000 [60,000–80,000]", "epoll 52,000 [50,000–54,000]", "Ranked by capacity",
		"nonblocking keeps its cores busy at any load: 100%", "Capacity at p99 ≤ 1ms",
		"epoll 52,000 [50,000–54,000] (30% of its cores at 5,000/s) > poll 31,000 [30,000–32,000] (40% of its cores at 5,000/s) ≈ nonblocking"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
	var b strings.Builder
	writeCapacityTable(&b, s)
	if !strings.Contains(b.String(), "| iouring | 100 | ≥ 70,000 [60,000–80,000] | generator |") {
		t.Errorf("table:\n%s", b.String())
	}
}

// TestCompareCapacity: knees are samples; a halved capacity over six
// searches is a regression, the same one is not, and a suite without
// capacity is refused.
func TestCompareCapacity(t *testing.T) {
	m, err := MetricByName("capacity")
	if err != nil {
		t.Fatal(err)
	}
	withKnees := func(knees ...float64) *results.Suite {
		s := capSuite()
		s.Cells = []results.Cell{{Model: "epoll", Run: &results.Run{ThroughputPerSec: 1}}}
		for i := range s.Capacity {
			s.Capacity[i].Knees = knees
		}
		return s
	}
	base := withKnees(50_000, 51_000, 49_000, 50_500, 49_500, 50_200)
	cfg := CompareConfig{Threshold: 0.05, Alpha: 0.05, Metrics: []Metric{m}}
	ds, err := Compare(base, withKnees(25_000, 26_000, 24_000, 25_500, 24_500, 25_200), cfg)
	if err != nil || len(ds) != 4 || len(Regressed(ds)) != 4 {
		t.Fatalf("halved: %v, %+v; want 4 regressions", err, ds)
	}
	ds, err = Compare(base, withKnees(50_100, 50_900, 49_100, 50_400, 49_600, 50_300), cfg)
	if err != nil || len(Regressed(ds)) != 0 {
		t.Fatalf("the same: %v, %+v; want no regression", err, ds)
	}
	none := withKnees()
	none.Capacity = nil
	if _, err := Compare(base, none, cfg); err == nil || !strings.Contains(err.Error(), "--slo") {
		t.Errorf("no capacity in NEW: %v; want refused, naming --slo", err)
	}
	var b strings.Builder
	if err := WriteBenchfmt(&b, base); err != nil || !strings.Contains(b.String(), "BenchmarkCapacity/model=epoll/conns=100/size=64/slo=p99-1ms") {
		t.Errorf("benchfmt: %v\n%s", err, b.String())
	}
}
