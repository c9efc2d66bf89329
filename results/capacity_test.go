package results_test

import (
	"testing"
	"time"

	"iobench/results"
)

func TestParseSLO(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want results.SLO
		ok   bool
	}{
		{"p99=1ms", results.SLO{Percentile: "p99", BoundNS: int64(time.Millisecond)}, true},
		{"p99.9=5ms", results.SLO{Percentile: "p999", BoundNS: int64(5 * time.Millisecond)}, true},
		{" p50 = 200us ", results.SLO{Percentile: "p50", BoundNS: int64(200 * time.Microsecond)}, true},
		{"p98=1ms", results.SLO{}, false},
		{"99=1ms", results.SLO{}, false},
		{"p99", results.SLO{}, false},
		{"p99=1", results.SLO{}, false},
		{"p99=1ns", results.SLO{}, false},
		{"max=1ms", results.SLO{}, false},
	} {
		got, err := results.ParseSLO(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseSLO(%q) = %+v, %v; want %+v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if tc.ok {
			if back, err := results.ParseSLO(got.Flag()); err != nil || back != got {
				t.Errorf("ParseSLO(%q) does not read back its flag %q: %+v, %v", tc.in, got.Flag(), back, err)
			}
		}
	}
}

// TestPercentilesWithOpen: requests in flight at a healthy end (young,
// below the tail) mark nothing; a backlog that never got its answers
// makes the tail a lower bound from where it begins.
func TestPercentilesWithOpen(t *testing.T) {
	done, open := results.NewHistogram(), results.NewHistogram()
	results.RecordN(done, 200_000, 10_000) // 200µs
	results.RecordN(done, 900_000, 50)     // a tail at 900µs
	results.RecordN(open, 50_000, 40)      // in flight, 50µs old
	p := results.PercentilesWithOpen(done, open)
	if p.LowerFrom != "" || p.Open != 40 || p.Count != 10_090 {
		t.Errorf("healthy end: %+v; want no lower bound, 40 open of 10,090", p)
	}
	done, open = results.NewHistogram(), results.NewHistogram()
	results.RecordN(done, 200_000, 9_800)
	results.RecordN(open, 2_000_000_000, 300) // 3% waited 2s and counting
	p = results.PercentilesWithOpen(done, open)
	if p.LowerFrom != "p99" || p.P99 < 1_900_000_000 {
		t.Errorf("a backlog: %+v; want p99 at the open requests' age and marked from p99", p)
	}
	if _, lb := p.Get("p50"); lb {
		t.Errorf("p50 marked a lower bound; it rests on answered requests")
	}
	if _, lb := p.Get("max"); !lb {
		t.Errorf("max not marked a lower bound")
	}
}

// TestStepOf: the acceptance rule, one reason each.
func TestStepOf(t *testing.T) {
	slo := results.SLO{Percentile: "p99", BoundNS: int64(time.Millisecond)}
	base := func() *results.Run {
		return &results.Run{Config: results.RunConfig{Rate: 10_000, Conns: 10}, ThroughputPerSec: 10_000, Replies: 5_000, MeasuredNS: int64(500 * time.Millisecond),
			LatencyNS: results.Percentiles{P99: 400_000, Count: 5_000}, Rate: &results.RateStats{Target: 10_000}, Stall: &results.Stall{}}
	}
	for _, tc := range []struct {
		name    string
		mod     func(*results.Run)
		held    bool
		genLimi bool
	}{
		{"held", func(*results.Run) {}, true, false},
		{"carried too little", func(r *results.Run) { r.ThroughputPerSec = 9_800 }, false, false},
		{"tail past the bound", func(r *results.Run) { r.LatencyNS.P99 = 1_200_000 }, false, false},
		{"tail rests on open requests", func(r *results.Run) { r.LatencyNS.LowerFrom = "p99" }, false, false},
		{"backlog growing", func(r *results.Run) { r.Rate.BacklogEnd = 11 }, false, false},
		{"oldest waiting past the bound", func(r *results.Run) { r.Stall.OldestAtEndNS = 2_000_000 }, false, false},
		{"generator late", func(r *results.Run) { r.LatencyNS.P99 = 3_000_000; r.Rate.Lateness.P99 = 2_000_000 }, false, true},
		{"generator busy", func(r *results.Run) { r.LatencyNS.P99 = 3_000_000; r.Client.Bottleneck = true }, false, true},
	} {
		r := base()
		tc.mod(r)
		st := results.StepOf(r, slo, 0.5, 0.5)
		if st.Held != tc.held || st.GeneratorLimit != tc.genLimi || (st.Why == "") != tc.held {
			t.Errorf("%s: held %v (%q), generator limit %v; want %v, %v", tc.name, st.Held, st.Why, st.GeneratorLimit, tc.held, tc.genLimi)
		}
	}
	if st := results.StepOf(base(), slo, 0.5, 0.5); st.CPUPerReplyNS != 50_000 {
		t.Errorf("CPU per reply %v ns; want 0.5 cores × 0.5 s / 5,000 replies = 50µs", st.CPUPerReplyNS)
	}
}

// TestPoolRuns: two windows of a step pooled: one tail from both
// histograms, replies and time added, the later end state kept.
func TestPoolRuns(t *testing.T) {
	mk := func(v int64, n int64, backlog int64) *results.Run {
		h := results.NewHistogram()
		results.RecordN(h, v, n)
		enc, err := results.EncodeHistogram(h)
		if err != nil {
			t.Fatal(err)
		}
		return &results.Run{Config: results.RunConfig{Rate: 1000, Conns: 10}, Replies: uint64(n), MeasuredNS: int64(time.Second),
			LatencyNS: results.PercentilesOf(h), Histograms: results.Histograms{Latency: enc}, Rate: &results.RateStats{Target: 1000, BacklogEnd: backlog}}
	}
	// The first window's 2% at 3ms put its p99 at 3ms; pooled with a clean
	// window, 1% are: the p99 falls back among the clean values.
	a, b := mk(200_000, 980, 0), mk(200_000, 1000, 1)
	h, err := a.Latency()
	if err != nil {
		t.Fatal(err)
	}
	results.RecordN(h, 3_000_000, 20)
	a.Histograms.Latency, _ = results.EncodeHistogram(h)
	a.Replies += 20
	p, err := results.PoolRuns(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if p.Replies != 2000 || p.MeasuredNS != int64(2*time.Second) || p.ThroughputPerSec != 1000 || p.Rate.BacklogEnd != 1 {
		t.Errorf("pooled %+v", p)
	}
	if p.LatencyNS.Count != 2000 || p.LatencyNS.P99 > 1_000_000 || p.LatencyNS.P999 < 2_900_000 {
		t.Errorf("pooled latency %+v; want 2000 values, the 3ms tail at p99.9", p.LatencyNS)
	}
}

// TestMergeCapacity: two runs' searches of one model and target pool
// their knees; another model's stays apart.
func TestMergeCapacity(t *testing.T) {
	slo := results.SLO{Percentile: "p99", BoundNS: 1e6}
	sc := results.Scenario{Mode: "rate", Conns: 100}
	a := &results.Suite{Capacity: []results.Capacity{{Model: "epoll", Scenario: sc, SLO: slo, Knees: []float64{10, 12}, LimitedBy: "server"}}}
	b := &results.Suite{Capacity: []results.Capacity{{Model: "epoll", Scenario: sc, SLO: slo, Knees: []float64{14}, LimitedBy: "server"},
		{Model: "poll", Scenario: sc, SLO: slo, Knees: []float64{5}}}}
	m := results.Merge(a, b)
	if len(m.Capacity) != 2 || len(m.Capacity[0].Knees) != 3 || m.Capacity[0].Knee.Median != 12 || m.Capacity[1].Model != "poll" {
		t.Errorf("merged capacity %+v", m.Capacity)
	}
	if len(a.Capacity[0].Knees) != 2 {
		t.Errorf("merging changed its input: %v", a.Capacity[0].Knees)
	}
}
