package report

import (
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// How every chart looks: a model's colour, glyph and dashes (the same in
// every chart), axes ticked for a person, and the canvas with its legend.

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
	// lengthen it), never narrower than legendW; half again what the
	// SVG's font measures, for a viewer that substitutes a wider one.
	legendW := legendW
	if w := leg.Rectangle(draw.New(vgimg.New(4*chartW, chartH))).Size().X*3/2 + vg.Points(12); w > legendW {
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
