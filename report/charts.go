package report

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"iobench/results"
)

// Chart is one SVG written next to the report.
type Chart struct {
	Title string
	File  string // relative to the report
}

// series groups rows of one (size, work, mode, depth, rate, idle) family by
// model over connection counts.
type family struct {
	key    results.Scenario // Conns zeroed
	conns  []int
	byConn map[int][]Row
}

func families(s *results.Suite) []*family {
	var fams []*family
	for _, t := range Tables(s) {
		key := t.Scenario
		key.Conns = 0
		var f *family
		for _, g := range fams {
			if g.key == key {
				f = g
			}
		}
		if f == nil {
			f = &family{key: key, byConn: map[int][]Row{}}
			fams = append(fams, f)
		}
		f.conns = append(f.conns, t.Scenario.Conns)
		f.byConn[t.Scenario.Conns] = t.Rows
	}
	for _, f := range fams {
		slices.Sort(f.conns)
	}
	return fams
}

// WriteCharts writes the SVG charts into dir and returns them in order.
func WriteCharts(dir string, s *results.Suite) ([]Chart, error) {
	var charts []Chart
	for i, f := range families(s) {
		suffix := ""
		if i > 0 {
			suffix = fmt.Sprintf("-%d", i+1)
		}
		desc := fmt.Sprintf("%s, %d B", f.key.Mode, f.key.Size)
		if f.key.Work != "" && f.key.Work != "none" {
			desc += ", work " + f.key.Work
		}
		emu := ""
		if s.Environment.Emulated != "" {
			emu = " (emulated: correctness only)"
		}
		for _, spec := range []struct {
			name, title, ylabel string
			value               func(Row) float64
		}{
			{"throughput", "Throughput vs connections", "replies/s", func(r Row) float64 { return r.Throughput }},
			{"p99", "p99 latency vs connections", "p99 (ms)", func(r Row) float64 { return float64(r.Latency.P99) / 1e6 }},
			{"cpu-per-reply", "Server CPU per reply vs connections", "server CPU per reply (µs)", func(r Row) float64 { return r.CPUPerRep / 1e3 }},
		} {
			file := spec.name + suffix + ".svg"
			title := spec.title + " (" + desc + ")" + emu
			if ok, err := lineChart(filepath.Join(dir, file), title, spec.ylabel, f, spec.value); err != nil {
				return charts, err
			} else if ok {
				charts = append(charts, Chart{Title: title, File: file})
			}
		}
		top := f.conns[len(f.conns)-1]
		file := "latency-spectrum" + suffix + ".svg"
		title := fmt.Sprintf("Latency by percentile at %d connections (%s)%s", top, desc, emu)
		if ok, err := spectrumChart(filepath.Join(dir, file), title, f.byConn[top]); err != nil {
			return charts, err
		} else if ok {
			charts = append(charts, Chart{Title: title, File: file})
		}
	}
	return charts, nil
}

func lineChart(path, title, ylabel string, f *family, value func(Row) float64) (bool, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "connections"
	p.Y.Label.Text = ylabel
	logX := f.conns[0] > 0 && f.conns[len(f.conns)-1]/f.conns[0] >= 100
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	var args []any
	for _, model := range modelsOf(f) {
		var pts plotter.XYs
		for _, n := range f.conns {
			for _, r := range f.byConn[n] {
				if r.Model == model && r.Reps > 0 {
					pts = append(pts, plotter.XY{X: float64(n), Y: value(r)})
				}
			}
		}
		if len(pts) > 0 {
			args = append(args, model, pts)
		}
	}
	if len(args) == 0 {
		return false, nil
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return false, err
	}
	p.Y.Min = 0 // differences read honestly against zero
	p.Legend.Top = true
	return true, save(p, path)
}

// spectrumChart plots latency against percentile on the HdrHistogram
// plotter's axis: x = 1/(1-p) on a log scale, so 90%, 99%, 99.9% are evenly
// spaced and the tail gets the room it deserves.
func spectrumChart(path, title string, rows []Row) (bool, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "latency (ms)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.ConstantTicks{
		{Value: 1, Label: "0%"}, {Value: 10, Label: "90%"}, {Value: 100, Label: "99%"},
		{Value: 1000, Label: "99.9%"}, {Value: 1e4, Label: "99.99%"}, {Value: 1e5, Label: "99.999%"},
	}
	var args []any
	for _, r := range rows {
		if r.hist == nil || r.hist.TotalCount() == 0 {
			continue
		}
		var pts plotter.XYs
		for _, b := range r.hist.CumulativeDistributionWithTicks(5) {
			q := b.Quantile / 100
			if q >= 1 {
				q = 1 - 1/float64(r.hist.TotalCount())
			}
			x := 1 / (1 - q)
			if math.IsInf(x, 0) || x < 1 {
				continue
			}
			pts = append(pts, plotter.XY{X: x, Y: float64(b.ValueAt) / 1e6})
		}
		if len(pts) > 0 {
			args = append(args, r.Model, pts)
		}
	}
	if len(args) == 0 {
		return false, nil
	}
	if err := plotutil.AddLines(p, args...); err != nil {
		return false, err
	}
	p.Legend.Top = true
	p.Legend.Left = true
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

func save(p *plot.Plot, path string) error {
	w, err := p.WriterTo(8*vg.Inch, 5*vg.Inch, "svg")
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := w.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
