package report

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"iobench/results"
)

// capacityHeader is the capacity table's columns.
var capacityHeader = []string{"model", "conns", "knee msg/s [range]", "limit", "closed loop", "cores at knee", "CPU% at common", "CPU/reply", "pct at common"}

// CapacityRanked is the suite's capacities in the one ranking rule:
// the knee's median, highest first; a generator-bound knee ("≥") after
// none it might exceed; models whose knee ranges overlap are level, and
// among them the lower server CPU at the common rate goes first.
func CapacityRanked(s *results.Suite) []results.Capacity {
	var out []results.Capacity
	for _, g := range capacityGroups(s) {
		out = append(out, g...)
	}
	return out
}

// capacityGroups are the ranked capacities in level groups: a group's
// knee ranges overlap its first's; groups in rank order, each in order
// of CPU at the common rate.
func capacityGroups(s *results.Suite) [][]results.Capacity {
	cs := slices.Clone(s.Capacity)
	slices.SortStableFunc(cs, func(a, b results.Capacity) int {
		if a.Scenario.Conns != b.Scenario.Conns {
			return a.Scenario.Conns - b.Scenario.Conns
		}
		if a.Scenario.ServerCores != b.Scenario.ServerCores {
			return a.Scenario.ServerCores - b.Scenario.ServerCores
		}
		return cmpFloat(b.Knee.Median, a.Knee.Median)
	})
	// Level groups: each model whose range overlaps the group's first;
	// within a group, the lower CPU at the common rate first.
	var groups [][]results.Capacity
	for i := 0; i < len(cs); {
		j := i + 1
		for j < len(cs) && cs[j].Scenario == cs[i].Scenario && overlap(cs[i].Knee, cs[j].Knee) {
			j++
		}
		g := slices.Clone(cs[i:j])
		slices.SortStableFunc(g, func(a, b results.Capacity) int { return cmpFloat(equalCPU(a), equalCPU(b)) })
		groups = append(groups, g)
		i = j
	}
	return groups
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func overlap(a, b results.Spread) bool { return a.Lo <= b.Hi && b.Lo <= a.Hi }

// equalCPU is the median server CPU (cores) at the common rate (+Inf
// when not measured, so it ranks last).
func equalCPU(c results.Capacity) float64 {
	var xs []float64
	for _, st := range c.Equal {
		if st.Failed == "" {
			xs = append(xs, st.ServerCores)
		}
	}
	if len(xs) == 0 {
		return math.Inf(1)
	}
	return results.SpreadOf(xs).Median
}

// kneeText is "24,900 [22,420–24,898]", "≥ …" at the generator's limit.
func kneeText(c results.Capacity) string {
	if c.Failed != "" {
		return "failed"
	}
	if c.Knee.N == 0 || c.Knee.Median == 0 {
		return fmt.Sprintf("< %s", Count(minHeld(c)))
	}
	ge := ""
	if c.GeneratorBound() {
		ge = "≥ "
	}
	if c.Knee.N > 1 {
		return fmt.Sprintf("%s%s [%s–%s]", ge, Count(c.Knee.Median), Count(c.Knee.Lo), Count(c.Knee.Hi))
	}
	return ge + Count(c.Knee.Median)
}

// minHeld is the lowest rate tried, for a model that held none.
func minHeld(c results.Capacity) float64 {
	lo := math.Inf(1)
	for _, st := range c.Steps {
		lo = math.Min(lo, st.Rate)
	}
	return lo
}

func capacityCells(c results.Capacity) []string {
	limited := c.LimitedBy
	if c.Failed != "" {
		limited = "failed: " + c.Failed
	}
	equal, perReply, pct := "—", "—", "—"
	var shares, per, lat []float64
	lower := false
	for _, st := range c.Equal {
		if st.Failed != "" {
			continue
		}
		shares = append(shares, st.ServerShare)
		per = append(per, st.CPUPerReplyNS)
		lat = append(lat, float64(st.LatencyNS))
		lower = lower || st.LowerBound
	}
	if len(shares) > 0 {
		equal = fmt.Sprintf("%.0f%%", 100*results.SpreadOf(shares).Median)
		perReply = Dur(int64(results.SpreadOf(per).Median))
		pct = Dur(int64(results.SpreadOf(lat).Median))
		if lower {
			pct = "≥" + pct
		}
	}
	atKnee := "—"
	if c.AtKnee.N > 0 {
		atKnee = fmt.Sprintf("%.2f", c.AtKnee.Median)
	}
	return []string{c.Model, capScenario(c.Scenario), kneeText(c), limited, Count(c.ClosedLoop), atKnee, equal, perReply, pct}
}

// capScenario is a capacity row's scenario in short: its connections,
// and its server cores when the run had several.
func capScenario(sc results.Scenario) string {
	if sc.ServerCores > 0 {
		return fmt.Sprintf("%d, %d %s", sc.Conns, sc.ServerCores, plural(sc.ServerCores, "core", "cores"))
	}
	return fmt.Sprint(sc.Conns)
}

// capacityTitle says what the capacity table measures.
func capacityTitle(s *results.Suite) string {
	slo := s.Capacity[0].SLO
	t := fmt.Sprintf("Capacity at %s (the highest offered rate that held it, %d search(es) each", slo, searchesOf(s))
	if s.CommonRate > 0 {
		t += fmt.Sprintf("; common rate %s msg/s", Count(s.CommonRate))
	}
	return t + ")"
}

func searchesOf(s *results.Suite) int {
	n := 0
	for _, c := range s.Capacity {
		n = max(n, len(c.Knees))
	}
	return n
}

// capacityRule is the ranking rule, said once where capacity is shown.
const capacityRule = "Ranked by capacity: the highest offered rate at which the server carried ≥ 99% of it, the target percentile (corrected: timed from when each request was due, requests unanswered at the end counted at their age) stayed within the bound, and nothing was still growing at the step's end. Knees whose ranges overlap are level; among them the lower server CPU at the common rate goes first. \"≥\": the generator could not offer more (its CPU near its cores' limit, or its own lateness alone past the bound), so the server may carry more. The common rate is one every model held: a model that never sleeps shows its full core there."

// capacitySummary is the summary's capacity lines.
func capacitySummary(s *results.Suite) string {
	if len(s.Capacity) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**\n\n", mdEscape(capacityTitle(s)))
	// Per scenario: level groups joined by ">", their members by "≈".
	byConns := map[string][]string{}
	var conns []string
	for _, g := range capacityGroups(s) {
		n := capScenario(g[0].Scenario)
		if _, ok := byConns[n]; !ok {
			conns = append(conns, n)
		}
		var members []string
		for _, c := range g {
			entry := fmt.Sprintf("%s %s", c.Model, kneeText(c))
			if cpu := equalCPU(c); !math.IsInf(cpu, 1) && s.CommonRate > 0 {
				entry += fmt.Sprintf(" (%.0f%% of its cores at %s/s)", 100*shareAt(c), Count(s.CommonRate))
			}
			members = append(members, entry)
		}
		byConns[n] = append(byConns[n], strings.Join(members, " ≈ "))
	}
	for _, n := range conns {
		fmt.Fprintf(&b, "- %s conns: %s\n", n, mdEscape(strings.Join(byConns[n], " > ")))
	}
	for _, c := range s.Capacity {
		if share := shareAt(c); share > 0.9 && s.CommonRate > 0 {
			fmt.Fprintf(&b, "- %s keeps its cores busy at any load: %.0f%% at %s msg/s, where the others need less.\n", c.Model, 100*share, Count(s.CommonRate))
		}
	}
	b.WriteString("\n" + capacityRule + "\n\n")
	return b.String()
}

func shareAt(c results.Capacity) float64 {
	var xs []float64
	for _, st := range c.Equal {
		if st.Failed == "" {
			xs = append(xs, st.ServerShare)
		}
	}
	return results.SpreadOf(xs).Median
}

// writeCapacityTable writes the capacity table in markdown.
func writeCapacityTable(b *strings.Builder, s *results.Suite) {
	if len(s.Capacity) == 0 {
		return
	}
	fmt.Fprintf(b, "\n## %s\n\n", mdEscape(capacityTitle(s)))
	b.WriteString("| " + strings.Join(capacityHeader, " | ") + " |\n|" + strings.Repeat("---|", len(capacityHeader)) + "\n")
	for _, c := range CapacityRanked(s) {
		cells := capacityCells(c)
		for i := range cells {
			cells[i] = mdEscape(cells[i])
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	b.WriteString("\n" + capacityLegend + " Every step of every search is in results.json (`capacity[].steps`).\n")
}

// writeCapacityTerminal prints the capacity table.
func writeCapacityTerminal(b *strings.Builder, s *results.Suite) error {
	if len(s.Capacity) == 0 {
		return nil
	}
	fmt.Fprintf(b, "\n%s\n", capacityTitle(s))
	tt := NewTable(b)
	tt.Header(capacityHeader)
	for _, c := range CapacityRanked(s) {
		if err := tt.Append(capacityCells(c)); err != nil {
			return err
		}
	}
	if err := tt.Render(); err != nil {
		return err
	}
	b.WriteString(capacityLegend + "\n" + capacityRule + "\n")
	return nil
}

// capacityLegend says what the capacity table's columns are.
const capacityLegend = "Columns: limit = what broke the target first (server, or generator: then the knee is \"≥\"); closed loop = replies/s with each connection waiting for its reply (the search's probe: about the most it can carry); cores at knee = the server's CPU at the highest rate that held (1.00 = one core busy); at the common rate, the server's CPU as a share of the cores it was given, per reply, and the target percentile there."

// capacityCharts draws, per connection count, the target percentile vs
// offered load (log scales, the bound as a line, each knee marked) and
// the server's CPU vs offered load, from every step measured.
func capacityCharts(dir string, s *results.Suite, emu string) ([]Chart, error) {
	var charts []Chart
	var conns []int
	for _, c := range s.Capacity {
		if !slices.Contains(conns, c.Scenario.Conns) {
			conns = append(conns, c.Scenario.Conns)
		}
	}
	for _, n := range conns {
		slo := s.Capacity[0].SLO
		for _, spec := range []struct {
			file, title, ylabel string
			log                 bool
			y                   func(results.Step) float64
		}{
			{fmt.Sprintf("capacity-latency-%d.svg", n), fmt.Sprintf("%s vs offered load, %d conns%s", strings.SplitN(slo.String(), " ", 2)[0], n, emu), strings.SplitN(slo.String(), " ", 2)[0] + " (ms, log scale)", true,
				func(st results.Step) float64 { return float64(st.LatencyNS) / 1e6 }},
			{fmt.Sprintf("capacity-cpu-%d.svg", n), fmt.Sprintf("Server CPU vs offered load, %d conns%s", n, emu), "server CPU (cores)", false,
				func(st results.Step) float64 { return st.ServerCores }},
		} {
			ok, err := stepChart(filepath.Join(dir, spec.file), spec.title, spec.ylabel, spec.log, s, n, spec.y)
			if err != nil {
				return charts, err
			}
			if ok {
				charts = append(charts, Chart{Title: spec.title, File: spec.file})
			}
		}
	}
	return charts, nil
}

// stepChart plots every step of every model at n connections: y against
// the offered rate, a line through each model's steps in rate order, its
// knee as a large mark; with logY the target's bound as a line.
func stepChart(path, title, ylabel string, logY bool, s *results.Suite, n int, y func(results.Step) float64) (bool, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "offered msg/s (log scale)"
	p.Y.Label.Text = ylabel
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, humanLogTicks{}
	yTicks(p, logY)
	drawn := false
	lo, hi := math.Inf(1), 0.0
	for _, c := range s.Capacity {
		if c.Scenario.Conns != n {
			continue
		}
		steps := slices.Clone(c.Steps)
		slices.SortFunc(steps, func(a, b results.Step) int { return cmpFloat(a.Rate, b.Rate) })
		var pts plotter.XYs
		for _, st := range steps {
			if v := y(st); st.Failed == "" && (!logY || v > 0) {
				pts = append(pts, plotter.XY{X: st.Rate, Y: v})
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
		if len(pts) == 0 {
			continue
		}
		// Points, not a line: steps of several searches at close rates
		// scatter with the machine's noise, and a line through them
		// would draw a trend that is not there.
		stl := styleOf(c.Model)
		points, err := plotter.NewScatter(pts)
		if err != nil {
			return false, err
		}
		points.Color, points.Shape = stl.color, stl.glyph
		p.Add(points)
		p.Legend.Add(c.Model, points)
		if err := addKnee(p, c, steps, logY, y); err != nil {
			return false, err
		}
		drawn = true
	}
	if !drawn {
		return false, nil
	}
	if logY {
		bound := float64(s.Capacity[0].SLO.BoundNS) / 1e6
		lo, hi = math.Min(lo, bound), math.Max(hi, bound)
		target, err := plotter.NewLine(plotter.XYs{{X: 1, Y: bound}, {X: 1e9, Y: bound}})
		if err != nil {
			return false, err
		}
		target.Color, target.Dashes = rgb(0xAA0000), []vg.Length{vg.Points(3), vg.Points(3)}
		p.Add(target)
		p.Legend.Add("target "+Dur(s.Capacity[0].SLO.BoundNS), target)
		p.Y.Min, p.Y.Max = lo/1.5, hi*1.5
	} else {
		p.Y.Min = 0
	}
	p.Legend.Add("◯ knee (median search)")
	p.X.Min, p.X.Max = offeredRange(s, n)
	return true, save(p, path)
}

// addKnee rings the step of c's median knee on p.
func addKnee(p *plot.Plot, c results.Capacity, steps []results.Step, logY bool, y func(results.Step) float64) error {
	if c.Knee.Median <= 0 {
		return nil
	}
	var at plotter.XYs
	for _, st := range steps {
		if st.Held && st.Rate == c.Knees[len(c.Knees)/2] {
			at = append(at, plotter.XY{X: st.Rate, Y: y(st)})
			break
		}
	}
	if len(at) == 0 || logY && at[0].Y <= 0 {
		return nil
	}
	k, err := plotter.NewScatter(at)
	if err != nil {
		return err
	}
	stl := styleOf(c.Model)
	k.Color, k.Shape, k.Radius = stl.color, draw.RingGlyph{}, vg.Points(7)
	p.Add(k)
	return nil
}

// offeredRange is the x axis of the capacity charts at n connections:
// the offered rates of every step, with a margin.
func offeredRange(s *results.Suite, n int) (lo, hi float64) {
	lo, hi = math.Inf(1), 0.0
	for _, c := range s.Capacity {
		for _, st := range c.Steps {
			if c.Scenario.Conns == n && st.Rate > 0 {
				lo, hi = math.Min(lo, st.Rate), math.Max(hi, st.Rate)
			}
		}
	}
	return lo / 1.2, hi * 1.2
}
