package report

import (
	"cmp"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"iobench/results"
)

// report.md: the tables, the verdicts, the settings and the charts.

// WriteMarkdown writes the report; charts are the SVG files to link.
func WriteMarkdown(w io.Writer, s *results.Suite, charts []Chart) error {
	var b strings.Builder
	b.WriteString("# iobench report\n\n")
	if s.Interrupted {
		b.WriteString("**Interrupted: this run was cut short; only the cells below were measured.**\n\n")
	}
	emulatedNote(&b, s, "")
	tables := Tables(s)
	b.WriteString(Summary(s, tables))
	writeSettings(&b, s)
	writeCapacityTable(&b, s)
	writeScalingTable(&b, s, tables)
	b.WriteString("\n" + spreadNote(s) + " The max column comes from the repetitions' latency histograms merged. Server CPU is the server process's user+system time over the measured window divided by the replies in it. `—` is a figure not measured here. Notes are explained under each table and in docs/methodology.md.\n")
	var skipped, failed []string
	for _, t := range tables {
		fmt.Fprintf(&b, "\n## %s\n\n", t.Scenario)
		b.WriteString("| " + strings.Join(header, " | ") + " |\n|" + strings.Repeat("---|", len(header)) + "\n")
		for _, r := range t.Rows {
			if r.Reps == 0 && r.Skipped != "" {
				skipped = append(skipped, fmt.Sprintf("%s, %s: %s", r.Model, t.Scenario, r.Skipped))
				continue
			}
			for _, f := range r.Failures {
				failed = append(failed, fmt.Sprintf("%s, %s: %s", r.Model, t.Scenario, f))
			}
			cells := r.cells(false)
			for i := range cells {
				cells[i] = mdEscape(cells[i])
			}
			b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		}
		if notes := noteLines(t); len(notes) > 0 {
			b.WriteString("\nNotes:\n\n")
			for _, n := range notes {
				b.WriteString("- " + mdEscape(n) + "\n")
			}
		}
		b.WriteString("\n" + t.Reading + "\n")
	}
	writeModels(&b, s)
	writeCalls(&b, tables)
	if len(charts) > 0 {
		b.WriteString("\n## Charts\n\n")
		for _, ch := range charts {
			fmt.Fprintf(&b, "### %s\n\n![%s](%s)\n\n", ch.Title, ch.Title, ch.File)
		}
	}
	for _, list := range []struct {
		title string
		items []string
	}{{"Skipped cells", skipped}, {"Failed cells", failed}} {
		if len(list.items) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n", list.title)
		for _, it := range list.items {
			b.WriteString("- " + mdEscape(it) + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeModels is the report's table of the models measured.
func writeModels(b *strings.Builder, s *results.Suite) {
	if len(s.Models) > 0 {
		b.WriteString("\n## Models\n\n| model | mechanism | how it works |\n|---|---|---|\n")
		for _, m := range s.Models {
			how := m.Summary
			if m.Impl != "" {
				how += "; this build: " + m.Impl
			}
			fmt.Fprintf(b, "| %s | %s | %s |\n", m.Name, m.Mechanism, mdEscape(how))
		}
	}
}

// writeSettings is the environment table, or one per source suite when
// the merged suites differ.
func writeSettings(b *strings.Builder, s *results.Suite) {
	sources := s.Sources
	if len(sources) == 0 {
		sources = []results.Source{{Environment: s.Environment, Config: s.Config, Cells: len(s.Cells)}}
	} else {
		fmt.Fprintf(b, "\n**Merged from %d suites with different settings or machines: their cells are pooled below; each suite's settings follow.**\n", len(sources))
	}
	for i, src := range sources {
		e, c := src.Environment, src.Config
		title := "environment"
		if len(s.Sources) > 0 {
			title = fmt.Sprintf("suite %d (%d cells)", i+1, src.Cells)
		}
		fmt.Fprintf(b, "\n| %s | |\n|---|---|\n", title)
		for _, kv := range [][2]string{
			{"OS / kernel", e.OS + "/" + e.Arch + " " + e.Kernel},
			{"CPU", fmt.Sprintf("%s, %d cores", e.CPUModel, e.Cores)},
			{"Go / iobench", e.Go + " / " + e.Iobench},
			{"when", e.Time.Format("2006-01-02 15:04 MST")},
			{"server host / generator host", hosts(s, e)},
			{"server CPUs / client CPUs", cpuList(c.ServerCPUs) + " / " + cpuList(c.ClientCPUs) + sharedNote(c)},
			{"generator ceiling", generatorCeiling(s)},
			{"each cell", fmt.Sprintf("%s measured after %s warmup, %d repetition(s) interleaved%s", Dur(c.DurationNS), Dur(c.WarmupNS), c.Repeat, repeatNote(c))},
			{"machine before measuring", busyText(s.BusyBefore)},
			{"machine floor", FloorText(s.Floor)},
		} {
			fmt.Fprintf(b, "| %s | %s |\n", kv[0], mdEscape(kv[1]))
		}
	}
}

// sharedNote marks CPUs the server and generator shared.
func sharedNote(c results.SuiteConfig) string {
	if c.SharedCPUs {
		return " (shared: the figures measure both on the same CPUs)"
	}
	return ""
}

// generatorCeiling is the most replies/s the generator could drive at
// 100% of its cores, from the cell that used the most of them (a closed
// loop with the generator above half its cores), or why not known.
func generatorCeiling(s *results.Suite) string {
	best, util := 0.0, 0.0
	for _, c := range s.Cells {
		if !c.Measured() || c.Run.Config.Mode != "closed" || c.Run.Client.Utilization < 0.5 {
			continue
		}
		if c.Run.Client.Utilization > util {
			best, util = c.Run.ThroughputPerSec/c.Run.Client.Utilization, c.Run.Client.Utilization
		}
	}
	if best == 0 {
		return "not measured (no closed-loop cell used half the generator's cores)"
	}
	return fmt.Sprintf("about %s replies/s at all of its cores (from a cell at %.0f%% of them)", Count(best), 100*util)
}

// FloorText is the machine's floor in a line.
func FloorText(f *results.Floor) string {
	switch {
	case f == nil:
		return "not measured"
	case f.Unavailable != "":
		return "unavailable: " + f.Unavailable
	}
	return fmt.Sprintf("a bare loopback round trip (64 B, one connection, blocking raw read/write on threads pinned as server and generator): p50 %s, p99 %s; a null system call %.0f ns",
		Dur(f.RoundTrip.P50), Dur(f.RoundTrip.P99), f.NullCallNS)
}

// hosts says where the servers and the generator ran, and how they were
// connected.
// busyText says how busy the measured CPUs were before measuring.
func busyText(b *results.Interference) string {
	switch {
	case b == nil:
		return "not checked"
	case b.Unavailable != "":
		return "unavailable: " + b.Unavailable
	}
	return fmt.Sprintf("CPUs %s: %.0f%% busy with other work, %.0f%% steal (over 1 s)", cpuList(b.CPUs), b.ForeignCPUPct, b.StealPct)
}

// repeatNote says how the repetitions were chosen and re-run.
func repeatNote(c results.SuiteConfig) string {
	var s string
	if c.RepeatWhy != "" {
		s += " (" + c.RepeatWhy + ")"
	}
	if c.Retries > 0 {
		s += fmt.Sprintf("; a repetition the machine disturbed was measured again, up to %d time(s)", c.Retries)
	}
	return s
}

func hosts(s *results.Suite, gen results.Environment) string {
	describe := func(e results.Environment) string {
		return fmt.Sprintf("%s (%s/%s %s, %d cores)", cmp.Or(e.Host, "unnamed"), e.OS, e.Arch, e.Kernel, e.Cores)
	}
	if s.ServerEnvironment == nil {
		return "this machine / this machine, over loopback"
	}
	return describe(*s.ServerEnvironment) + " / " + describe(gen) + "; network: " + s.Network
}

func cpuList(c []int) string {
	if len(c) == 0 {
		return "not pinned"
	}
	parts := make([]string, len(c))
	for i, x := range c {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ",")
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// writeCalls shows, for the largest connection count of the first
// scenario family, each model's system calls per reply by name: how it
// does its IO, as the kernel counted it (iobench explain MODEL for one).
func writeCalls(b *strings.Builder, tables []Table) {
	fams := families(tables)
	if len(fams) == 0 {
		return
	}
	f := fams[0]
	n := f.conns[len(f.conns)-1]
	var lines []string
	for _, r := range f.byConn[n] {
		switch {
		case r.ByName != nil:
			lines = append(lines, fmt.Sprintf("| %s | %s |", r.Model, mdEscape(TopCalls(r.ByName, 5))))
		case r.ByNameWhy != "":
			lines = append(lines, fmt.Sprintf("| %s | unavailable: %s |", r.Model, mdEscape(r.ByNameWhy)))
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(b, "\n### System calls per reply, by name (%s, %d %s)\n\n| model | the most frequent calls (kernel-counted; other = the rest) |\n|---|---|\n%s\n",
		familyTitle(f.key), n, plural(n, "connection", "connections"), strings.Join(lines, "\n"))
}

// TopCalls lists the k most frequent calls per reply, then "other".
func TopCalls(byName map[string]float64, k int) string {
	type kv struct {
		name string
		v    float64
	}
	var all []kv
	for name, v := range byName {
		if name != "other" && v >= 0.005 {
			all = append(all, kv{name, v})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || all[i].v == all[j].v && all[i].name < all[j].name })
	var parts []string
	for i, c := range all {
		if i == k {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %.2f", c.name, c.v))
	}
	if o := byName["other"]; o >= 0.005 {
		parts = append(parts, fmt.Sprintf("other %.2f", o))
	}
	if len(parts) == 0 {
		return "none measurable (< 0.005 per reply)"
	}
	return strings.Join(parts, ", ")
}
