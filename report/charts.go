package report

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"iobench/results"
)

// Chart is one SVG written next to the report.
type Chart struct {
	Title string
	File  string // relative to the report
}

// family groups rows of one (size, work, mode, depth, rate, idle) scenario
// by model over connection counts.
type family struct {
	key    results.Scenario // Conns zeroed
	conns  []int
	byConn map[int][]Row
	tables map[int]Table
}

func families(tables []Table) []*family {
	var fams []*family
	for _, t := range tables {
		key := t.Scenario
		key.Conns = 0
		var f *family
		for _, g := range fams {
			if g.key == key {
				f = g
			}
		}
		if f == nil {
			f = &family{key: key, byConn: map[int][]Row{}, tables: map[int]Table{}}
			fams = append(fams, f)
		}
		f.conns = append(f.conns, t.Scenario.Conns)
		f.byConn[t.Scenario.Conns] = t.Rows
		f.tables[t.Scenario.Conns] = t
	}
	for _, f := range fams {
		slices.Sort(f.conns)
	}
	return fams
}

// WriteCharts writes the SVG charts into dir and returns them in order.
func WriteCharts(dir string, s *results.Suite) ([]Chart, error) {
	var charts []Chart
	emu := ""
	if s.Environment.Emulated != "" {
		emu = " (emulated: correctness only)"
	}
	for i, f := range families(Tables(s)) {
		suffix := ""
		if i > 0 {
			suffix = fmt.Sprintf("-%d", i+1)
		}
		desc := familyTitle(f.key)
		unit := unitOf(f.key.Mode) // replies, or transactions in churn mode
		Unit := strings.ToUpper(unit[:1]) + unit[1:]
		for _, spec := range []struct {
			name, title, ylabel string
			log                 bool
			value               func(Row) Stat
		}{
			{"throughput", "Throughput vs connections", unit + "/s", false, func(r Row) Stat { return r.Throughput }},
			{"p99", "p99 latency vs connections", "p99 (ms, log scale)", true, func(r Row) Stat { return scaled(r.P99, 1e-6) }},
			{"cpu-per-reply", "Server CPU per " + strings.TrimSuffix(unit, "s") + " vs connections", "server CPU per " + strings.TrimSuffix(unit, "s") + " (µs)", false, func(r Row) Stat { return scaled(r.CPUPerRep, 1e-3) }},
		} {
			file := spec.name + suffix + ".svg"
			title := spec.title + " (" + desc + ")" + emu
			if ok, err := lineChart(filepath.Join(dir, file), title, spec.ylabel, spec.log, f, spec.value); err != nil {
				return charts, err
			} else if ok {
				charts = append(charts, Chart{Title: title, File: file})
			}
		}
		top := f.conns[len(f.conns)-1]
		for _, spec := range []struct {
			name, title, ylabel string
			log                 bool
			value               func(results.Interval, float64) float64
		}{
			{"over-time", Unit + "/s over time", unit + "/s (the median repetition)", false, func(iv results.Interval, secs float64) float64 { return float64(iv.Replies) / secs }},
			{"p99-over-time", "p99 latency over time", "p99 (ms, log scale)", true, func(iv results.Interval, _ float64) float64 { return float64(iv.P99NS) / 1e6 }},
		} {
			file := spec.name + suffix + ".svg"
			title := fmt.Sprintf("%s at %d connections (%s)%s", spec.title, top, desc, emu)
			if ok, err := seriesChart(filepath.Join(dir, file), title, spec.ylabel, spec.log, f.byConn[top], spec.value); err != nil {
				return charts, err
			} else if ok {
				charts = append(charts, Chart{Title: title, File: file})
			}
		}
		file := "latency-spectrum" + suffix + ".svg"
		title := fmt.Sprintf("Latency by percentile at %d connections (%s)%s", top, desc, emu)
		if ok, err := spectrumChart(filepath.Join(dir, file), title, f.byConn[top]); err != nil {
			return charts, err
		} else if ok {
			charts = append(charts, Chart{Title: title, File: file})
		}
	}
	more, err := capacityCharts(dir, s, emu)
	charts = append(charts, more...)
	if err != nil {
		return charts, err
	}
	more, err = scalingCharts(dir, s, emu)
	return append(charts, more...), err
}

// spectrumChart plots latency against percentile on the HdrHistogram
// plotter's axis: x = 1/(1-p) on a log scale, so 90%, 99%, 99.9% are evenly
// spaced and the tail gets the room it deserves; y is logarithmic too.
func spectrumChart(path, title string, rows []Row) (bool, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "latency (ms, log scale)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.ConstantTicks{
		{Value: 1, Label: "0%"}, {Value: 10, Label: "90%"}, {Value: 100, Label: "99%"},
		{Value: 1000, Label: "99.9%"}, {Value: 1e4, Label: "99.99%"}, {Value: 1e5, Label: "99.999%"},
	}
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = humanLogTicks{}
	drawn := false
	for _, r := range rows {
		if r.hist == nil || r.hist.TotalCount() == 0 || len(r.Failures) > 0 {
			continue
		}
		var pts plotter.XYs
		for _, b := range r.hist.CumulativeDistributionWithTicks(5) {
			q := b.Quantile / 100
			if q >= 1 {
				q = 1 - 1/float64(r.hist.TotalCount())
			}
			x := 1 / (1 - q)
			if math.IsInf(x, 0) || x < 1 || b.ValueAt <= 0 {
				continue
			}
			pts = append(pts, plotter.XY{X: x, Y: float64(b.ValueAt) / 1e6})
		}
		if len(pts) == 0 {
			continue
		}
		st := styleOf(r.Model)
		l, err := plotter.NewLine(pts)
		if err != nil {
			return false, err
		}
		l.Color, l.Dashes = st.color, st.dashes
		p.Add(l)
		p.Legend.Add(r.chartName(), l)
		drawn = true
	}
	if !drawn {
		return false, nil
	}
	return true, save(p, path)
}

// seriesChart draws each model's typical repetition over time, one point
// per interval: time 0 is where the measured window opens, the warmup
// before it (shaded by a vertical line at 0). Stalls, warm-up not yet
// over and pauses that a window's totals hide show here.
func seriesChart(path, title, ylabel string, logY bool, rows []Row, value func(results.Interval, float64) float64) (bool, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "seconds from the start of the measured window (warmup before 0)"
	p.Y.Label.Text = ylabel
	yTicks(p, logY)
	drawn := false
	lowest, highest := math.Inf(1), 0.0
	for _, r := range rows {
		if r.series == nil {
			continue
		}
		var pts plotter.XYs
		for _, iv := range r.series.Intervals {
			end := iv.EndNS
			if end <= iv.StartNS { // written before intervals had an end
				end = iv.StartNS + r.series.IntervalNS
			}
			secs := float64(end-iv.StartNS) / 1e9
			if secs <= 0.001 {
				continue // a sliver at a boundary
			}
			y := value(iv, secs)
			if logY && y <= 0 {
				continue
			}
			lowest, highest = math.Min(lowest, y), math.Max(highest, y)
			mid := (iv.StartNS + end) / 2 // the point stands for the whole interval
			pts = append(pts, plotter.XY{X: float64(mid-r.warmupNS) / 1e9, Y: y})
		}
		if len(pts) == 0 {
			continue
		}
		st := styleOf(r.Model)
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return false, err
		}
		line.Color, line.Dashes = st.color, st.dashes
		points.Color, points.Shape, points.Radius = st.color, st.glyph, vg.Points(2)
		p.Add(line, points)
		p.Legend.Add(r.chartName(), line, points)
		drawn = true
	}
	if !drawn {
		return false, nil
	}
	if logY {
		p.Y.Min, p.Y.Max = lowest/1.5, highest*1.5
	} else {
		p.Y.Min = 0
	}
	zero, err := plotter.NewLine(plotter.XYs{{X: 0, Y: p.Y.Min}, {X: 0, Y: math.Max(p.Y.Max, highest)}})
	if err != nil {
		return false, err
	}
	zero.Color, zero.Dashes = color.Gray{Y: 160}, []vg.Length{vg.Points(2), vg.Points(2)}
	p.Add(zero)
	return true, save(p, path)
}

func modelsOf(f *family) []string {
	var models []string
	for _, n := range f.conns {
		for _, r := range f.byConn[n] {
			if !slices.Contains(models, r.Model) {
				models = append(models, r.Model)
			}
		}
	}
	return models
}
