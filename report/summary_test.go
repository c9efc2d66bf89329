package report

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"iobench/results"
)

// TestSummaryAgreesWithTable: for many generated tables, every claim of
// the summary line is what the table's rows say — the leader has the
// highest median and is told apart from the one it is said to lead, the
// level ones are within the threshold of it, the ones below are told
// apart, the unfair and failed ones are so — and no measured model is
// left out of the line.
func TestSummaryAgreesWithTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	models := []string{"blocking", "select", "poll", "epoll", "iouring", "gonet"}
	for i := range 300 {
		var rows []Row
		for _, m := range models[:2+rng.IntN(len(models)-1)] {
			reps := 4 + rng.IntN(4)
			base := 10_000 + rng.Float64()*300_000
			spread := []float64{0.005, 0.05, 0.4}[rng.IntN(3)]
			tput := make([]float64, reps)
			for k := range tput {
				tput[k] = base * (1 + spread*(rng.Float64()-0.5))
			}
			r := row(m, tput, rep(1e6, reps))
			switch rng.IntN(10) {
			case 0:
				r.Jain, r.ZeroConn = 0.3, 5
			case 1:
				r.Failures = []string{"corrupted: 3 replies did not match what was sent"}
			case 2:
				r.Disturbed, r.DisturbedFailures = reps, []string{"no replies: not one reply"}
			}
			rows = append(rows, r)
		}
		tb := Table{Scenario: results.Scenario{Conns: 100}, Rows: rows}
		line := summaryLine(tb)
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkSummary(t, tb, line) })
	}
}

var (
	leadsRE = regexp.MustCompile(`^(\w+) leads \(([\d.]+)× (\w+)\)`)
	belowRE = regexp.MustCompile(`(\w+) ([\d.]+)× fewer`)
	levelRE = regexp.MustCompile(`^(.+) level at the top`)
)

func checkSummary(t *testing.T, tb Table, line string) {
	byName := map[string]Row{}
	best := 0.0
	for _, r := range tb.Rows {
		byName[r.Model] = r
		if r.Ranked() && !r.Busy() {
			best = max(best, r.Throughput.Median)
		}
	}
	for _, r := range tb.Rows {
		if !strings.Contains(line, r.Model) {
			t.Errorf("%q leaves %s out (reps %d, failures %d, fair %v, busy %v)", line, r.Model, r.Reps, len(r.Failures), r.Fair(), r.Busy())
		}
	}
	if m := leadsRE.FindStringSubmatch(line); m != nil {
		lead, next := byName[m[1]], byName[m[3]]
		if lead.Throughput.Median != best {
			t.Errorf("%q: %s has %.0f, the highest ranked median is %.0f", line, lead.Model, lead.Throughput.Median, best)
		}
		if !differ(lead.tput, next.tput, Alpha, MinDelta).Differ {
			t.Errorf("%q: %s is not told apart from %s", line, lead.Model, next.Model)
		}
		if got, _ := strconv.ParseFloat(m[2], 64); fmt.Sprintf("%.2f", lead.Throughput.Median/next.Throughput.Median) != fmt.Sprintf("%.2f", got) {
			t.Errorf("%q: ratio %v, the medians say %.2f", line, got, lead.Throughput.Median/next.Throughput.Median)
		}
	}
	if m := levelRE.FindStringSubmatch(line); m != nil {
		for _, name := range strings.FieldsFunc(m[1], func(r rune) bool { return r == ',' || r == ' ' }) {
			if name == "and" {
				continue
			}
			r := byName[name]
			if !r.Ranked() || r.Throughput.Median < best*(1-MinDelta)-1e-9 {
				t.Errorf("%q: %s (%.0f) is not level with the best %.0f", line, name, r.Throughput.Median, best)
			}
		}
	}
	for _, m := range belowRE.FindAllStringSubmatch(line, -1) {
		r := byName[m[1]]
		if !r.Ranked() || r.Throughput.Median >= best {
			t.Errorf("%q: %s said below, but ranked %v with %.0f of the best %.0f", line, r.Model, r.Ranked(), r.Throughput.Median, best)
		}
	}
	says := func(model, what string) bool {
		return regexp.MustCompile(`(^|[ ;,])` + model + ` ` + what).MatchString(line)
	}
	for _, r := range tb.Rows {
		switch {
		case says(r.Model, "unfair") && r.Fair():
			t.Errorf("%q: %s is fair in the table (Jain %.2f)", line, r.Model, r.Jain)
		case says(r.Model, "failed") && len(r.Failures) == 0:
			t.Errorf("%q: %s has no failure in the table", line, r.Model)
		case says(r.Model, "failed") && len(r.Failures) == 0 && r.Busy():
			t.Errorf("%q: %s failed only while the machine disturbed it", line, r.Model)
		}
	}
}
