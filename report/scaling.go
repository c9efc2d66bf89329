package report

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"iobench/results"
)

// LowEfficiency flags a model that gains less than this from its cores:
// thr(N) / (N × thr(1)).
const LowEfficiency = 0.7

// scaling is one model's rows over server core counts, in one scenario.
type scaling struct {
	model string
	key   results.Scenario // ServerCores zeroed
	cores []int
	rows  map[int]Row
	// shares are, per core count, a repetition's loops' connections.
	shares map[int][]uint64
}

// scalings groups the suite's rows by model and scenario over core
// counts, when the run had more than one (run --server-cores).
func scalings(s *results.Suite, tables []Table) []*scaling {
	if len(s.Config.ServerCores) < 2 {
		return nil
	}
	var out []*scaling
	find := func(model string, key results.Scenario) *scaling {
		for _, sc := range out {
			if sc.model == model && sc.key == key {
				return sc
			}
		}
		sc := &scaling{model: model, key: key, rows: map[int]Row{}, shares: map[int][]uint64{}}
		out = append(out, sc)
		return sc
	}
	for _, t := range tables {
		key := t.Scenario
		key.ServerCores = 0
		for _, r := range t.Rows {
			if r.Reps == 0 {
				continue
			}
			sc := find(r.Model, key)
			sc.cores = append(sc.cores, t.Scenario.ServerCores)
			sc.rows[t.Scenario.ServerCores] = r
		}
	}
	for _, c := range s.Cells {
		if !c.Measured() || c.Server == nil || len(c.Server.Shares) == 0 {
			continue
		}
		key := c.Scenario
		key.ServerCores = 0
		if sc := find(c.Model, key); sc.shares[c.ServerCores] == nil {
			sc.shares[c.ServerCores] = c.Server.Shares
		}
	}
	out = slices.DeleteFunc(out, func(sc *scaling) bool { return len(sc.cores) == 0 })
	for _, sc := range out {
		slices.Sort(sc.cores)
	}
	return out
}

// efficiency is thr(n) / (n × thr(fewest)) × fewest: 1 is linear.
func (sc *scaling) efficiency(n int) (float64, bool) {
	base, ok := sc.rows[sc.cores[0]]
	r, ok2 := sc.rows[n]
	if !ok || !ok2 || base.Throughput.Median <= 0 || n == sc.cores[0] {
		return 0, false
	}
	return r.Throughput.Median * float64(sc.cores[0]) / (float64(n) * base.Throughput.Median), true
}

var scalingHeader = []string{"model", "scenario", "cores", "replies/s [interval]", "CPU/reply", "CPU%", "efficiency", "loops' connections", "how it uses the cores"}

// cells are the table's rows of one model, one per core count.
func (sc *scaling) cells(s *results.Suite, withIdiom bool) [][]string {
	idiom := ""
	if m, ok := s.Model(sc.model); ok {
		idiom = m.Cores
		if m.OneThread {
			idiom = "1 thread by design: " + m.Cores
		}
	}
	var out [][]string
	dur := func(v float64) string { return Dur(int64(v)) }
	pct := func(v float64) string { return fmt.Sprintf("%.0f%%", v) }
	for _, n := range sc.cores {
		r := sc.rows[n]
		eff := "1 (base)"
		if e, ok := sc.efficiency(n); ok {
			eff = fmt.Sprintf("%.2f", e)
			if e < LowEfficiency {
				eff += " (low)"
			}
		}
		shares := unknown
		if sh := sc.shares[n]; len(sh) > 0 {
			parts := make([]string, len(sh))
			for i, x := range sh {
				parts[i] = fmt.Sprint(x)
			}
			shares = strings.Join(parts, "/")
		}
		row := []string{sc.model, shortScenario(sc.key), fmt.Sprint(n), fmtStat(r.Throughput, Count, Compact),
			medianOf(r.CPUPerRep, dur), medianOf(r.CPUShare, pct), eff, shares}
		if withIdiom {
			row = append(row, idiom)
		}
		out = append(out, row)
	}
	return out
}

// medianOf is a figure's median alone, unknown when not measured.
func medianOf(st Stat, f func(float64) string) string {
	if st.N == 0 {
		return unknown
	}
	return f(st.Median)
}

// scalingNote says what the scaling figures are measured with.
func scalingNote(s *results.Suite) string {
	note := fmt.Sprintf("Efficiency is thr(N) / (N × thr(%d)) per model (1: linear; below %.1f marked low). Loops' connections are what each loop (ring, replica) of the server accepted, counted by the server.", slices.Min(s.Config.ServerCores), LowEfficiency)
	if s.Config.SharedCPUs {
		note += " **Measured with shared CPUs**: the server and the generator were given CPUs in common, so these figures show how the models spread, not how fast they are."
	}
	return note
}

// writeScalingTable writes the scaling table in markdown.
func writeScalingTable(b *strings.Builder, s *results.Suite, tables []Table) {
	scs := scalings(s, tables)
	if len(scs) == 0 {
		return
	}
	b.WriteString("\n## Scaling over server cores\n\n")
	b.WriteString("| " + strings.Join(scalingHeader, " | ") + " |\n|" + strings.Repeat("---|", len(scalingHeader)) + "\n")
	for _, sc := range scs {
		for _, row := range sc.cells(s, true) {
			for i := range row {
				row[i] = mdEscape(row[i])
			}
			b.WriteString("| " + strings.Join(row, " | ") + " |\n")
		}
	}
	b.WriteString("\n" + scalingNote(s) + "\n")
}

// writeScalingTerminal prints the scaling table.
func writeScalingTerminal(b *strings.Builder, s *results.Suite, tables []Table) error {
	scs := scalings(s, tables)
	if len(scs) == 0 {
		return nil
	}
	b.WriteString("\nScaling over server cores\n")
	tt := NewTable(b)
	tt.Header(scalingHeader[:len(scalingHeader)-1]) // the idiom is in report.md
	for _, sc := range scs {
		for _, row := range sc.cells(s, false) {
			if err := tt.Append(row); err != nil {
				return err
			}
		}
	}
	if err := tt.Render(); err != nil {
		return err
	}
	b.WriteString(strings.ReplaceAll(scalingNote(s), "**", "") + "\n")
	return nil
}

// scalingCharts draws, per scenario, each model's replies/s against its
// server cores.
func scalingCharts(dir string, s *results.Suite, emu string) ([]Chart, error) {
	scs := scalings(s, Tables(s))
	var keys []results.Scenario
	for _, sc := range scs {
		if !slices.Contains(keys, sc.key) {
			keys = append(keys, sc.key)
		}
	}
	var charts []Chart
	for i, key := range keys {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("Replies/s vs server cores (%s)%s", key, emu)
		if s.Config.SharedCPUs {
			p.Title.Text += " — shared CPUs"
		}
		p.X.Label.Text = "server cores"
		p.Y.Label.Text = "replies/s"
		p.Y.Tick.Marker = humanTicks{}
		var xt plot.ConstantTicks
		for _, n := range s.Config.ServerCores {
			xt = append(xt, plot.Tick{Value: float64(n), Label: fmt.Sprint(n)})
		}
		p.X.Tick.Marker = xt
		hi := 0.0
		for _, sc := range scs {
			if sc.key != key {
				continue
			}
			var pts plotter.XYs
			for _, n := range sc.cores {
				pts = append(pts, plotter.XY{X: float64(n), Y: sc.rows[n].Throughput.Median})
				hi = math.Max(hi, sc.rows[n].Throughput.Median)
			}
			st := styleOf(sc.model)
			line, points, err := plotter.NewLinePoints(pts)
			if err != nil {
				return charts, err
			}
			line.Color, line.Dashes = st.color, st.dashes
			points.Color, points.Shape = st.color, st.glyph
			p.Add(line, points)
			p.Legend.Add(sc.model, line, points)
		}
		p.Y.Min, p.Y.Max = 0, hi*1.1
		p.X.Min, p.X.Max = float64(slices.Min(s.Config.ServerCores))-0.3, float64(slices.Max(s.Config.ServerCores))+0.3
		file := fmt.Sprintf("scaling-%d.svg", i+1)
		if err := save(p, filepath.Join(dir, file)); err != nil {
			return charts, err
		}
		charts = append(charts, Chart{Title: p.Title.Text, File: file})
	}
	return charts, nil
}
