package report

import (
	"fmt"
	"strings"
	"testing"

	"iobench/results"
)

// row is a fair, measured row with one throughput and p99 per repetition.
func row(model string, tput []float64, p99 []float64) Row {
	r := Row{Model: model, Reps: len(tput), Jain: 1, tput: tput, p99s: p99}
	r.Throughput, r.P99 = Spread(tput), Spread(p99)
	return r
}

func rep(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v * (1 + 0.01*float64(i)) // a little spread, no ties
	}
	return out
}

// TestReading: a lead the Mann-Whitney test supports is named with its
// reason; models it can't tell apart are level; too few repetitions rank
// nothing; unfair and failed rows never lead.
func TestReading(t *testing.T) {
	sc := results.Scenario{Conns: 1000}
	suite := &results.Suite{Models: []results.ModelInfo{{Name: "epoll", Why: "it reports only the ready connections"}}}
	unfair := row("blocking", rep(200_000, 5), rep(1e5, 5))
	unfair.Jain, unfair.ZeroConn = 0.12, 703
	failed := row("epoll", rep(300_000, 5), rep(1e5, 5))
	failed.Failures = []string{"server died: the server exited during the run"}
	for _, c := range []struct {
		name     string
		rows     []Row
		want     []string
		dontWant []string
	}{
		{"clear lead", []Row{row("poll", rep(50_000, 5), rep(9e6, 5)), row("epoll", rep(120_000, 5), rep(2e6, 5)), row("select", rep(10_000, 5), rep(9e6, 5))},
			[]string{"epoll led with 122,400 replies/s", "× poll (next, p=0.008)", "it reports only the ready", "Collapsed: select"},
			[]string{"level"}},
		{"overlapping samples are level", []Row{row("epoll", []float64{100, 104, 98, 103, 99}, rep(2e6, 5)), row("poll", []float64{101, 97, 105, 100, 102}, rep(2e6, 5))},
			[]string{"were level"},
			[]string{"led with", "Lowest p99"}},
		{"separated but within 5% is level", []Row{row("epoll", rep(100_000, 5), rep(2e6, 5)), row("poll", rep(103_500, 5), rep(2e6, 5))},
			[]string{"poll and epoll were level"},
			[]string{"led with"}},
		{"three repetitions rank nothing", []Row{row("epoll", rep(120_000, 3), rep(2e6, 3)), row("poll", rep(50_000, 3), rep(2e6, 3))},
			[]string{"Not a ranking", "needs ≥ 4 per model"},
			[]string{"led with", "level"}},
		{"an unfair model does not lead", []Row{unfair, row("epoll", rep(120_000, 5), rep(2e6, 5)), row("poll", rep(50_000, 5), rep(9e6, 5))},
			[]string{"epoll led", "blocking is not ranked: unfair in its typical repetition (median Jain 0.12, 703", "covers only the replies it gave"},
			[]string{"blocking led", "Lowest p99: blocking"}},
		{"a failed model does not lead", []Row{failed, row("poll", rep(50_000, 5), rep(9e6, 5)), row("select", rep(20_000, 5), rep(9e6, 5))},
			[]string{"poll led", "epoll is not ranked: 1 of 6 repetition(s) failed (server died"},
			[]string{"epoll led"}},
		{"wide spreads far apart are not level", []Row{row("gonet", []float64{65_000, 20_000, 70_000, 66_000, 30_000}, rep(2e6, 5)), row("blocking", []float64{33_000, 60_000, 31_000, 34_000, 64_000}, rep(2e6, 5))},
			[]string{"gonet had the highest median", "Not told apart from gonet although their medians differ", "blocking (34,000, 0.52×)"},
			[]string{"level", "led with"}},
		{"a busy machine gives no verdict", []Row{busyRow("epoll"), busyRow("poll")},
			[]string{"The machine was busy", "no verdict"},
			[]string{"led", "level", "unfair", "FAILED"}},
		{"a clearly lower p99 is named", []Row{row("epoll", []float64{100, 104, 98, 103, 99}, rep(1e6, 5)), row("poll", []float64{101, 97, 105, 100, 102}, rep(3e6, 5))},
			[]string{"were level", "Lowest p99: epoll"},
			nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := reading(Table{Scenario: sc, Rows: c.rows}, suite)
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("reading %q\nlacks %q", got, w)
				}
			}
			for _, w := range c.dontWant {
				if strings.Contains(got, w) {
					t.Errorf("reading %q\nhas %q", got, w)
				}
			}
		})
	}
}

// busyRow is a row whose repetitions the machine disturbed, one of them
// failed while disturbed.
func busyRow(model string) Row {
	r := row(model, rep(100_000, 4), rep(2e6, 4))
	r.Disturbed, r.DisturbedFailures = 4, []string{"no replies: not one reply in 0.3s measured"}
	return r
}

// TestAggregateTypical: fairness and connections are the median
// repetition's, the worst beside; a re-run replaces its disturbed
// measurement; a repetition that failed while the machine disturbed it
// does not fail the model; an impossible CPU figure is left out.
func TestAggregateTypical(t *testing.T) {
	cell := func(jain float64, zero, est int, cpuPct float64) results.Cell {
		return results.Cell{Model: "epoll", Run: &results.Run{ThroughputPerSec: 1000, Replies: 300,
			Fairness:    results.Fairness{Jain: jain, ZeroConn: zero},
			Connections: results.Connections{Requested: 100, Established: est}},
			Server:       &results.ServerUsage{CPUPerReplyNS: 4000},
			Interference: &results.Interference{ServerCPUPct: cpuPct}}
	}
	starved := cell(0.01, 99, 100, 50)
	starved.Disturbed = "foreign CPU 31% (other processes on CPUs 0,1)"
	replaced := cell(0.5, 10, 100, 50)
	replaced.Disturbed, replaced.Superseded = "steal 9% (the hypervisor took the CPUs)", true
	diedBusy := results.Cell{Model: "epoll", Error: "no replies: not one reply in 0.3s measured", Disturbed: "foreign CPU 90% (other processes on CPUs 0,1)"}
	impossible := cell(0.97, 0, 97, 156)
	r := aggregate("epoll", []results.Cell{cell(0.98, 0, 100, 40), starved, replaced, cell(0.96, 0, 99, 45), impossible, diedBusy})
	if r.Reps != 4 || len(r.Failures) != 0 || r.Reruns != 1 || r.Disturbed != 2 {
		t.Fatalf("reps %d, failures %q, re-runs %d, disturbed %d: want 4, none, 1, 2", r.Reps, r.Failures, r.Reruns, r.Disturbed)
	}
	if !r.Fair() || r.Jain < 0.96 || r.JainWorst != 0.01 || r.ZeroConnWorst != 99 || r.ZeroConn != 0 {
		t.Errorf("fairness %v (worst %v), unserved %d (worst %d): want the median fair, the worst shown", r.Jain, r.JainWorst, r.ZeroConn, r.ZeroConnWorst)
	}
	if r.Est != 100 || r.EstWorst != 97 {
		t.Errorf("established %d (worst %d): want 100 (97)", r.Est, r.EstWorst)
	}
	if r.CPUPerRep.N != 3 {
		t.Errorf("%d CPU figures: want 3 (the impossible one left out)", r.CPUPerRep.N)
	}
	if r.note("re-run") == nil || r.note("disturbed") == nil || !strings.Contains(r.note("disturbed").Text, "failed while disturbed: no replies") {
		t.Errorf("notes %+v: want re-run and disturbed, with the disturbed failure", r.Notes)
	}
}

// TestSpread: a 95% interval of the median from six samples on, the
// range with its own confidence below that, nothing for one sample.
func TestSpread(t *testing.T) {
	if s := Spread([]float64{5}); s.N != 1 || s.Median != 5 || s.Bounded() {
		t.Errorf("one sample: %+v", s)
	}
	s := Spread([]float64{3, 1, 2})
	if s.Lo != 1 || s.Hi != 3 || s.Median != 2 || s.Confidence != 0.75 {
		t.Errorf("three samples: %+v; want range [1, 3] at 75%%", s)
	}
	s = Spread([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	if !s.Bounded() || s.Confidence < 0.95 || s.Lo <= 1 || s.Hi >= 10 {
		t.Errorf("ten samples: %+v; want a 95%% interval inside the range", s)
	}
}

// TestModelStyles: every model has its own colour and glyph, the same in
// every chart, so no two lines can be told apart by colour alone only to
// be confused by it.
func TestModelStyles(t *testing.T) {
	for _, group := range [][]string{
		{"blocking", "select", "poll", "nonblocking", "epoll", "iouring", "gonet"}, // Linux
		{"blocking", "select", "nonblocking", "overlapped", "iocp", "gonet"},       // Windows
	} {
		seen := map[[2]string]string{}
		for _, m := range group {
			st := styleOf(m)
			r, g, b, _ := st.color.RGBA()
			key := [2]string{fmt.Sprint(r, g, b), fmt.Sprintf("%T", st.glyph)}
			if other, dup := seen[key]; dup {
				t.Errorf("%s and %s share colour and glyph", m, other)
			}
			seen[key] = m
		}
	}
}

// TestReadingCPURule: where the generator was the ceiling, replies/s
// measure the generator: the reading ranks by server CPU per reply
// instead and says so — never "led with … replies/s".
func TestReadingCPURule(t *testing.T) {
	bound := func(model string, tput, cpu float64) Row {
		r := row(model, rep(tput, 5), rep(1e6, 5))
		r.cpus = rep(cpu, 5)
		r.CPUPerRep = Spread(r.cpus)
		r.Notes = []Note{{Label: "generator-bound"}}
		return r
	}
	got := reading(Table{Scenario: results.Scenario{Conns: 100}, Rows: []Row{
		bound("iouring", 207_000, 4_400), bound("epoll", 165_000, 6_000), bound("poll", 160_000, 6_100),
	}}, &results.Suite{})
	for _, want := range []string{"iouring used the least server CPU per reply, 4.49µs, 1.36× less than epoll", "ranked by server CPU per reply instead"} {
		if !strings.Contains(got, want) {
			t.Errorf("reading %q\nlacks %q", got, want)
		}
	}
	if strings.Contains(got, "led with") {
		t.Errorf("reading %q ranks by replies/s", got)
	}
}
