package report

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

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

// style is how one model is drawn, the same in every chart: the
// Okabe-Ito palette (distinct under the common colour-vision
// deficiencies), and a glyph and dash pattern of its own so that the lines
// part even in grey.
type style struct {
	color  color.Color
	glyph  draw.GlyphDrawer
	dashes []vg.Length
}

func rgb(hex uint32) color.Color {
	return color.RGBA{R: uint8(hex >> 16), G: uint8(hex >> 8), B: uint8(hex), A: 255}
}

var modelStyles = map[string]style{
	"blocking":    {rgb(0xD55E00), draw.TriangleGlyph{}, nil},                                    // vermillion
	"select":      {rgb(0xE69F00), draw.SquareGlyph{}, []vg.Length{vg.Points(6), vg.Points(2)}},  // orange
	"poll":        {rgb(0x999933), draw.PyramidGlyph{}, []vg.Length{vg.Points(2), vg.Points(2)}}, // olive (Okabe-Ito yellow is unreadable on white)
	"nonblocking": {rgb(0xCC79A7), draw.PlusGlyph{}, []vg.Length{vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)}},
	"epoll":       {rgb(0x0072B2), draw.CircleGlyph{}, nil},                                    // blue
	"iouring":     {rgb(0x009E73), draw.RingGlyph{}, nil},                                      // bluish green
	"overlapped":  {rgb(0x56B4E9), draw.BoxGlyph{}, nil},                                       // sky blue
	"iocp":        {rgb(0x009E73), draw.SquareGlyph{}, nil},                                    // bluish green, square
	"kqueue":      {rgb(0x0072B2), draw.BoxGlyph{}, nil},                                       // blue, box
	"gonet":       {rgb(0x000000), draw.CrossGlyph{}, []vg.Length{vg.Points(4), vg.Points(2)}}, // black
}

// styleOf is a model's style; a variant (epoll:loops=4) has its model's
// colour and glyph with a dash pattern of its own, picked by its name.
func styleOf(model string) style {
	if s, ok := modelStyles[model]; ok {
		return s
	}
	base, settings, isVariant := strings.Cut(model, ":")
	s, ok := modelStyles[base]
	if !ok {
		return style{color: rgb(0x777777), glyph: draw.CircleGlyph{}}
	}
	if isVariant {
		h := 0
		for _, r := range settings {
			h = h*31 + int(r)
		}
		s.dashes = variantDashes[(h%len(variantDashes)+len(variantDashes))%len(variantDashes)]
	}
	return s
}

// variantDashes tell a model's variants apart from it and each other.
var variantDashes = [][]vg.Length{
	{vg.Points(1), vg.Points(2)},
	{vg.Points(10), vg.Points(3)},
	{vg.Points(5), vg.Points(2), vg.Points(1), vg.Points(2)},
	{vg.Points(3), vg.Points(5)},
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
		st := styleOf(model)
		// Models at the same count sit side by side (a few percent apart
		// on the log axis), so that their error bars do not overlap.
		dodge := math.Pow(1.04, float64(k)-float64(len(models)-1)/2)
		pts, unfair, flagged := modelPoints(f, model, dodge, logY, value, seen)
		if len(flagged) > 0 {
			ring, err := plotter.NewScatter(flagged)
			if err != nil {
				return false, err
			}
			ring.Color, ring.Shape, ring.Radius = st.color, draw.RingGlyph{}, vg.Points(7)
			p.Add(ring)
			anyFlagged = true
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
			anyUnfair, drawn = true, true
		}
	}
	if !drawn {
		return false, nil
	}
	if anyUnfair {
		p.Legend.Add("× unfair: served replies only")
	}
	if anyFlagged {
		p.Legend.Add("○ failed, disturbed or generator-bound: see the table's notes")
	}
	if logY {
		p.Y.Min, p.Y.Max = lowest/1.5, highest*1.5
	} else {
		p.Y.Min = 0 // differences read honestly against zero
	}
	return true, save(p, path)
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

// yTicks labels a value axis for a person: thousands as "50k", never
// "250000.00"; a log axis at its decades.
func yTicks(p *plot.Plot, logY bool) {
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = humanLogTicks{}
		return
	}
	p.Y.Tick.Marker = humanTicks{}
}

// humanTicks are plot.DefaultTicks with labels in three significant
// figures and k/M suffixes.
type humanTicks struct{}

func (humanTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = humanNumber(ticks[i].Value)
		}
	}
	return ticks
}

// humanLogTicks are log ticks labelled as humanNumber does (10k, 100k):
// 1, 2 and 5 of each decade, and every digit of it (unlabelled between
// them), so that a range inside one decade still has labels to read;
// where fewer than three labels fall in the range, every digit is
// labelled.
type humanLogTicks struct{}

func (humanLogTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	labelled := 0
	for d := math.Pow(10, math.Floor(math.Log10(lo))); d <= hi; d *= 10 {
		for m := 1.0; m <= 9; m++ {
			v := d * m
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = humanNumber(v)
				labelled++
			}
			ticks = append(ticks, t)
		}
	}
	if labelled < 3 {
		for i := range ticks {
			ticks[i].Label = humanNumber(ticks[i].Value)
		}
	}
	return ticks
}

func humanNumber(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 3, 64) + "M"
	case a >= 1e3:
		return strconv.FormatFloat(v/1e3, 'g', 3, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
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
		name := r.Model
		if !r.Fair() {
			name += " (unfair)"
		}
		p.Legend.Add(name, l)
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

// Chart size: the plot, and the legend to its right, outside the data.
const (
	chartW  = 8 * vg.Inch
	chartH  = 5 * vg.Inch
	legendW = 2.8 * vg.Inch
)

// save writes p as SVG with its legend beside the plotting area, never
// over the data.
func save(p *plot.Plot, path string) error {
	leg := p.Legend
	p.Legend = plot.NewLegend()
	leg.Top, leg.Left = true, true
	leg.Padding = vg.Points(4) // entries apart, glyphs included
	// The legend's column is as wide as its widest entry (a row's flags
	// lengthen it), never narrower than legendW; a quarter more than the
	// SVG's font measures, for a viewer that substitutes a wider one.
	legendW := legendW
	if w := leg.Rectangle(draw.New(vgimg.New(4*chartW, chartH))).Size().X*5/4 + vg.Points(12); w > legendW {
		legendW = w
	}
	var c interface {
		vg.CanvasSizer
		io.WriterTo
	}
	if filepath.Ext(path) == ".png" { // for a quick look where no SVG viewer is at hand
		c = vgimg.PngCanvas{Canvas: vgimg.New(chartW+legendW, chartH)}
	} else {
		c = vgsvg.New(chartW+legendW, chartH)
	}
	dc := draw.New(c)
	// One white background under the plot and the legend alike, so that
	// on a dark page (GitHub's dark mode) the legend stays legible.
	dc.SetColor(color.White)
	var bg vg.Path
	bg.Move(vg.Point{X: 0, Y: 0})
	bg.Line(vg.Point{X: chartW + legendW, Y: 0})
	bg.Line(vg.Point{X: chartW + legendW, Y: chartH})
	bg.Line(vg.Point{X: 0, Y: chartH})
	bg.Close()
	dc.Fill(bg)
	p.Draw(draw.Crop(dc, 0, -legendW, 0, 0))
	leg.Draw(draw.Crop(dc, chartW+vg.Points(6), 0, 0, -vg.Points(20)))
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(file); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}
