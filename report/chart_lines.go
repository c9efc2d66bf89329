package report

import (
	"fmt"
	"image/color"
	"iobench/results"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Charts over connection counts: a line per model with each point's
// interval (a bar per model where one count was measured), flagged rows
// marked.

func scaled(s Stat, k float64) Stat {
	s.Median, s.Lo, s.Hi = s.Median*k, s.Lo*k, s.Hi*k
	return s
}

// errPoints are points with their interval, for plotter.YErrorBars.
type errPoints struct {
	plotter.XYs
	lo, hi []float64 // distances below and above
}

func (e errPoints) YError(i int) (float64, float64) { return e.lo[i], e.hi[i] }

// lineChart draws one line per model over the connection counts, with
// each point's interval as an error bar. Only measured, fair rows without
// failures are joined by the line; an unfair row's point is drawn as a
// cross (its latency covers only the replies it gave), a failed or empty
// one not at all.
func lineChart(path, title, ylabel string, logY bool, f *family, value func(Row) Stat) (bool, error) {
	if len(f.conns) == 1 {
		return barChart(path, title, ylabel, logY, f.byConn[f.conns[0]], f.conns[0], value)
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "connections (log scale)"
	p.Y.Label.Text = ylabel
	// Connection counts grow by factors: a log axis, ticked at the counts
	// measured, so that none sits unlabelled at an edge.
	p.X.Scale = plot.LogScale{}
	var xt plot.ConstantTicks
	for _, n := range f.conns {
		xt = append(xt, plot.Tick{Value: float64(max(n, 1)), Label: humanNumber(float64(n))})
	}
	p.X.Tick.Marker = xt
	p.X.Min, p.X.Max = float64(max(f.conns[0], 1))/1.3, float64(f.conns[len(f.conns)-1])*1.3
	yTicks(p, logY)
	models := modelsOf(f)
	drawn, anyUnfair, anyFlagged := false, false, false
	lowest, highest := math.Inf(1), 0.0 // the log axis' range, set by hand
	seen := func(lo, hi float64) {
		if lo > 0 {
			lowest = math.Min(lowest, lo)
		}
		highest = math.Max(highest, hi)
	}
	for k, model := range models {
		// Models at the same count sit side by side (a few percent apart
		// on the log axis), so that their error bars do not overlap.
		dodge := math.Pow(1.04, float64(k)-float64(len(models)-1)/2)
		pts, unfair, flagged := modelPoints(f, model, dodge, logY, value, seen)
		d, err := addModel(p, model, pts, unfair, flagged)
		if err != nil {
			return false, err
		}
		drawn = drawn || d
		anyUnfair = anyUnfair || len(unfair) > 0
		anyFlagged = anyFlagged || len(flagged) > 0
	}
	if !drawn {
		return false, nil
	}
	if anyUnfair {
		p.Legend.Add("× unfair: served replies only")
	}
	if anyFlagged {
		p.Legend.Add("○ failed, disturbed or generator-bound (table notes)")
	}
	if logY {
		p.Y.Min, p.Y.Max = lowest/1.5, highest*1.5
	} else {
		p.Y.Min = 0 // differences read honestly against zero
	}
	return true, save(p, path)
}

// addModel draws one model's points on p: its line through the fair
// points with their intervals, crosses at unfair ones, rings around
// flagged ones; drawn says whether anything was.
func addModel(p *plot.Plot, model string, pts errPoints, unfair, flagged plotter.XYs) (drawn bool, err error) {
	st := styleOf(model)
	if len(flagged) > 0 {
		ring, err := plotter.NewScatter(flagged)
		if err != nil {
			return false, err
		}
		ring.Color, ring.Shape, ring.Radius = st.color, draw.RingGlyph{}, vg.Points(7)
		p.Add(ring)
	}
	if len(pts.XYs) > 0 {
		line, points, err := plotter.NewLinePoints(pts.XYs)
		if err != nil {
			return false, err
		}
		line.Color, line.Dashes = st.color, st.dashes
		points.Color, points.Shape = st.color, st.glyph
		bars, err := plotter.NewYErrorBars(pts)
		if err != nil {
			return false, err
		}
		bars.Color = st.color
		p.Add(line, points, bars)
		p.Legend.Add(model, line, points)
		drawn = true
	}
	if len(unfair) > 0 {
		sc, err := plotter.NewScatter(unfair)
		if err != nil {
			return false, err
		}
		sc.Color, sc.Shape, sc.Radius = st.color, draw.CrossGlyph{}, vg.Points(5)
		p.Add(sc)
		if len(pts.XYs) == 0 {
			p.Legend.Add(model+" (unfair only)", sc)
		}
		drawn = true
	}
	return drawn, nil
}

// flag says why a row's figures need the table's notes beside them on a
// chart: it failed a repetition, the machine disturbed it, or the
// generator was its ceiling ("" when none).
func (r Row) flag() string {
	var why []string
	if len(r.Failures) > 0 {
		why = append(why, "failed")
	}
	if r.Disturbed > 0 {
		why = append(why, "disturbed")
	}
	if r.note(results.CodeGeneratorBound) != nil {
		why = append(why, "generator-bound")
	}
	return strings.Join(why, ", ")
}

// chartName is a row's name on a chart: its model, and its flags.
func (r Row) chartName() string {
	name := r.Model
	if !r.Fair() {
		name += " (unfair)"
	}
	if f := r.flag(); f != "" {
		name += " (" + f + ")"
	}
	return name
}

// modelPoints is one model's medians at each connection count (x moved
// by dodge), with their intervals, and apart those of unfair rows (drawn
// as crosses); seen widens the axis to each.
func modelPoints(f *family, model string, dodge float64, logY bool, value func(Row) Stat, seen func(lo, hi float64)) (pts errPoints, unfair, flagged plotter.XYs) {
	for _, n := range f.conns {
		for _, r := range f.byConn[n] {
			v := value(r)
			// The same figures as the table: a row's median over its
			// measured repetitions, failed repetitions or not.
			if r.Model != model || r.Reps == 0 || v.N == 0 || (logY && v.Median <= 0) {
				continue
			}
			seen(v.Median, v.Median)
			x := float64(max(n, 1)) * dodge
			if r.flag() != "" {
				flagged = append(flagged, plotter.XY{X: x, Y: v.Median})
			}
			if !r.Fair() {
				unfair = append(unfair, plotter.XY{X: x, Y: v.Median})
				continue
			}
			lo, hi := 0.0, 0.0
			if v.N > 1 && v.Bounded() {
				lo, hi = v.Median-v.Lo, v.Hi-v.Median
				if logY && v.Lo <= 0 {
					lo = 0
				}
				seen(v.Median-lo, v.Median+hi)
			}
			pts.XYs = append(pts.XYs, plotter.XY{X: x, Y: v.Median})
			pts.lo, pts.hi = append(pts.lo, lo), append(pts.hi, hi)
		}
	}
	return pts, unfair, flagged
}

// barChart is lineChart for a run with one connection count: a bar per
// model at its median, its interval as a whisker. A line over one x would
// stack every point on one vertical. Bars stand on zero, so the value axis
// is linear even where the line chart's is logarithmic.
func barChart(path, title, ylabel string, logY bool, rows []Row, conns int, value func(Row) Stat) (bool, error) {
	p := plot.New()
	p.Title.Text = strings.Replace(title, " vs connections", fmt.Sprintf(" at %d connections", conns), 1)
	p.X.Label.Text = fmt.Sprintf("model (%d connections)", conns)
	// Bars as wide as the models leave room for, centred with a margin:
	// a few models must not sit as slivers at the two edges.
	shown := 0
	for _, r := range rows {
		if v := value(r); r.Reps > 0 && v.N > 0 {
			shown++
		}
	}
	width := vg.Points(min(90, 360/float64(max(shown, 1))))
	p.Y.Label.Text = strings.Replace(ylabel, ", log scale", "", 1)
	yTicks(p, false)
	logY = false
	var names []string
	highest, lowest := 0.0, math.Inf(1)
	for _, r := range rows {
		v := value(r)
		if r.Reps == 0 || v.N == 0 || (logY && v.Median <= 0) {
			continue
		}
		x := float64(len(names))
		name := r.chartName()
		names = append(names, name)
		st := styleOf(r.Model)
		bars, err := plotter.NewBarChart(plotter.Values{v.Median}, width)
		if err != nil {
			return false, err
		}
		bars.XMin, bars.Color, bars.LineStyle.Color = x, st.color, st.color
		p.Add(bars)
		p.Legend.Add(name, bars) // the same colours as every other chart
		lowest, highest = math.Min(lowest, v.Median), math.Max(highest, v.Median)
		if v.N > 1 && v.Bounded() {
			lo := v.Median - v.Lo
			if logY && v.Lo <= 0 {
				lo = 0
			}
			e := errPoints{XYs: plotter.XYs{{X: x, Y: v.Median}}, lo: []float64{lo}, hi: []float64{v.Hi - v.Median}}
			whisker, err := plotter.NewYErrorBars(e)
			if err != nil {
				return false, err
			}
			whisker.Color = color.Black
			p.Add(whisker)
			lowest, highest = math.Min(lowest, v.Median-lo), math.Max(highest, v.Hi)
		}
	}
	if len(names) == 0 {
		return false, nil
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.7, float64(len(names))-0.3
	if logY {
		p.Y.Min, p.Y.Max = lowest/1.5, highest*1.5
	} else {
		p.Y.Min, p.Y.Max = 0, highest*1.08
	}
	return true, save(p, path)
}
