package report

import (
	"strings"
	"testing"

	"iobench/results"
)

func row(model string, thr float64, p99 int64) Row {
	return Row{Model: model, Reps: 1, Throughput: thr, Jain: 1, Latency: results.Percentiles{P99: p99}}
}

// TestReading: a lead beyond the noise margin is named with its reason;
// models within it are called level, with no winner and no story.
func TestReading(t *testing.T) {
	sc := results.Scenario{Conns: 1000}
	for _, c := range []struct {
		name     string
		rows     []Row
		want     []string
		dontWant []string
	}{
		{"clear lead", []Row{row("poll", 50_000, 9e6), row("epoll", 120_000, 2e6), row("select", 40_000, 9e6)},
			[]string{"epoll led with 120,000 replies/s, 2.40× poll (next) and 3.0× select (last): it reports only the ready"},
			[]string{"level", "Lowest p99"}},
		{"level", []Row{row("epoll", 100_000, 2e6), row("poll", 104_000, 2.1e6), row("iouring", 96_000, 2.05e6), row("blocking", 30_000, 9e6)},
			[]string{"poll, epoll and iouring were level at 96,000 to 104,000 replies/s (within 10%", "blocking was last at 3.5× fewer"},
			[]string{"led with", "Lowest p99", "O(n)"}},
		{"level, one clearly lower p99", []Row{row("epoll", 100_000, 1e6), row("poll", 101_000, 2e6)},
			[]string{"poll and epoll were level", "Lowest p99: epoll (1ms, next poll 2ms)."},
			[]string{"led with"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := reading(Table{Scenario: sc, Rows: c.rows})
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
