package report

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"iobench/results"
	"iobench/servers"
)

// chartSuite is a suite of three models at the given connection counts,
// five repetitions each, with throughput, p99 and server CPU.
func chartSuite(conns []int) *results.Suite {
	s := &results.Suite{Schema: results.SchemaVersion, Kind: "suite"}
	for rep := 1; rep <= 5; rep++ {
		for _, n := range conns {
			for k, m := range []string{"epoll", "poll", "iouring"} {
				tput := float64(100_000+40_000*k) * (1 + 0.01*float64(rep))
				s.Cells = append(s.Cells, results.Cell{Model: m, Rep: rep,
					Scenario: results.Scenario{Mode: "closed", Conns: n, Size: 64, Work: "none", Depth: 1},
					Run: &results.Run{ThroughputPerSec: tput, Replies: 1000,
						LatencyNS: results.Percentiles{Count: 1000, P50: 50_000, P99: int64(200_000 + 10_000*k + rep), Max: 900_000},
						Fairness:  results.Fairness{Jain: 1}, Connections: results.Connections{Requested: n, Established: n}},
					Server: &results.ServerUsage{CPUPerReplyNS: float64(3000 + 100*k + rep)}})
			}
		}
	}
	return s
}

// TestCharts: every chart kind for 1, 2 and 5 connection counts — a
// background under the whole canvas (legend included), the measured
// counts as the connection axis' ticks (or a bar per model for one
// count), human value ticks (no "250000.00"), and one mark per model.
func TestCharts(t *testing.T) {
	for _, conns := range [][]int{{100}, {100, 1000}, {1, 10, 100, 1000, 10000}} {
		t.Run(fmt.Sprint(len(conns)), func(t *testing.T) {
			dir := t.TempDir()
			charts, err := WriteCharts(dir, chartSuite(conns))
			if err != nil {
				t.Fatal(err)
			}
			if len(charts) < 3 {
				t.Fatalf("%d charts: %+v", len(charts), charts)
			}
			for _, c := range charts {
				b, err := os.ReadFile(filepath.Join(dir, c.File))
				if err != nil {
					t.Fatal(err)
				}
				checkChart(t, c.File, string(b), conns)
			}
		})
	}
}

var (
	svgWidth = regexp.MustCompile(`<svg[^>]*width="([\d.]+)pt"`)
	svgText  = regexp.MustCompile(`>([^<>]+)</text>`)
)

func checkChart(t *testing.T, name, svg string, conns []int) {
	t.Helper()
	w := svgWidth.FindStringSubmatch(svg)
	if w == nil {
		t.Fatalf("%s: no width", name)
	}
	// The background: the first filled path spans the canvas.
	bg := fmt.Sprintf(`M0,0L%s,0L%s,`, w[1], w[1])
	if !strings.Contains(strings.ReplaceAll(svg, " ", ""), bg) {
		t.Errorf("%s: no background over the whole %spt width", name, w[1])
	}
	var texts []string
	for _, m := range svgText.FindAllStringSubmatch(svg, -1) {
		texts = append(texts, strings.TrimSpace(m[1]))
	}
	has := func(s string) bool {
		for _, x := range texts {
			if x == s {
				return true
			}
		}
		return false
	}
	for _, m := range []string{"epoll", "poll", "iouring"} {
		if !has(m) {
			t.Errorf("%s: no mark for %s (texts %q)", name, m, texts)
		}
	}
	for _, x := range texts {
		if regexp.MustCompile(`^\d{5,}(\.\d+)?$`).MatchString(x) {
			t.Errorf("%s: tick label %q: want 50k, not raw digits", name, x)
		}
	}
	if strings.Contains(name, "over-time") || strings.Contains(name, "spectrum") {
		return
	}
	if len(conns) == 1 {
		if !has(fmt.Sprintf("model (%d connections)", conns[0])) {
			t.Errorf("%s: one count, want a bar chart over models (texts %q)", name, texts)
		}
		return
	}
	for _, n := range conns {
		if !has(humanNumber(float64(n))) {
			t.Errorf("%s: no tick at %d connections (texts %q)", name, n, texts)
		}
	}
}

// TestStylesCoverModels: every model of the catalogue has a style of its
// own in the charts (the styles are the report's, the names the
// catalogue's: this keeps the two lists one), and no two models that can
// appear in one report (one OS) share colour and glyph.
func TestStylesCoverModels(t *testing.T) {
	seen := map[string]string{}
	for _, m := range servers.Models() {
		st, ok := modelStyles[m.Name]
		if !ok {
			t.Errorf("model %s has no chart style (report/charts.go modelStyles)", m.Name)
			continue
		}
		for _, goos := range m.OS {
			key := fmt.Sprintf("%s %v %T", goos, st.color, st.glyph)
			if other, dup := seen[key]; dup {
				t.Errorf("%s and %s look alike on %s charts", other, m.Name, goos)
			}
			seen[key] = m.Name
		}
	}
	for name := range modelStyles {
		if !slices.ContainsFunc(servers.Models(), func(m servers.Model) bool { return m.Name == name }) {
			t.Errorf("a chart style for %s, which is no model", name)
		}
	}
}

// TestTypicalSeries: the over-time charts draw the repetition whose
// throughput is the median's (it drew the slowest: the median was read
// before it was computed).
func TestTypicalSeries(t *testing.T) {
	s := &results.Suite{Kind: "suite"}
	for rep, tput := range []float64{100, 300, 200} {
		s.Cells = append(s.Cells, results.Cell{Model: "epoll", Scenario: results.Scenario{Mode: "closed", Conns: 10}, Rep: rep + 1,
			Run: &results.Run{ThroughputPerSec: tput, Replies: uint64(tput),
				Series: &results.Series{IntervalNS: int64(tput), Intervals: []results.Interval{{StartNS: 0, EndNS: 1e9, Replies: uint64(tput)}}}}})
	}
	for _, tb := range Tables(s) {
		for _, r := range tb.Rows {
			if r.series == nil || r.series.IntervalNS != 200 {
				t.Errorf("%s: drew the series of the repetition at %v replies/s; want the median's (200)", r.Model, r.series)
			}
		}
	}
}
