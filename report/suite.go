package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/olekukonko/tablewriter"

	"iobench/results"
)

// Row is one model in one scenario, over its repetitions: the median of
// each per-run figure, and latency from the runs' histograms merged.
type Row struct {
	Model      string
	Reps       int     // repetitions measured
	Throughput float64 // replies/s, median
	Bandwidth  float64 // bytes/s, median
	Latency    results.Percentiles
	CPUPerRep  float64 // server CPU ns per reply, median
	MaxRSS     int64   // largest over repetitions
	Threads    int     // largest over repetitions
	VolCtx     int64   // median
	InvolCtx   int64   // median
	Requested  int
	Est        int // fewest established over repetitions
	Failed     int // most failed
	Errors     uint64
	Jain       float64 // lowest
	Skipped    string
	Failure    string
	hist       *hdrhistogram.Histogram
}

// Table is the rows of one scenario and a one-line reading of them.
type Table struct {
	Scenario results.Scenario
	Rows     []Row
	Reading  string
}

// Tables groups a suite's cells by scenario, in the order they first ran.
func Tables(s *results.Suite) []Table {
	var order []results.Scenario
	byScen := map[results.Scenario]map[string][]results.Cell{}
	var models []string
	for _, c := range s.Cells {
		if byScen[c.Scenario] == nil {
			byScen[c.Scenario] = map[string][]results.Cell{}
			order = append(order, c.Scenario)
		}
		byScen[c.Scenario][c.Model] = append(byScen[c.Scenario][c.Model], c)
		if !slices.Contains(models, c.Model) {
			models = append(models, c.Model)
		}
	}
	var out []Table
	for _, sc := range order {
		t := Table{Scenario: sc}
		for _, m := range models {
			if cells := byScen[sc][m]; len(cells) > 0 {
				t.Rows = append(t.Rows, aggregate(m, cells))
			}
		}
		t.Reading = reading(t)
		out = append(out, t)
	}
	return out
}

func aggregate(model string, cells []results.Cell) Row {
	r := Row{Model: model, Jain: 1}
	var tput, bw, cpu []float64
	var vol, invol []int64
	for _, c := range cells {
		if c.Run == nil {
			if c.Skipped != "" {
				r.Skipped = c.Skipped
			} else if c.Error != "" {
				r.Failure = c.Error
			}
			continue
		}
		run := c.Run
		r.Reps++
		tput = append(tput, run.ThroughputPerSec)
		bw = append(bw, run.BytesPerSec)
		if h, err := run.Latency(); err == nil && h != nil {
			if r.hist == nil {
				r.hist = results.NewHistogram()
			}
			r.hist.Merge(h)
		}
		if r.Reps == 1 || run.Connections.Established < r.Est {
			r.Est = run.Connections.Established
		}
		r.Requested = run.Connections.Requested
		r.Failed = max(r.Failed, run.Connections.Failed)
		r.Errors += run.Errors
		r.Jain = min(r.Jain, run.Fairness.Jain)
		if u := c.Server; u != nil {
			cpu = append(cpu, u.CPUPerReplyNS)
			r.MaxRSS = max(r.MaxRSS, u.MaxRSSBytes)
			r.Threads = max(r.Threads, u.PeakThreads)
			vol = append(vol, u.VolCtxSw)
			invol = append(invol, u.InvolCtxSw)
		}
	}
	if r.Reps == 0 {
		r.Jain = 0
		return r
	}
	r.Throughput, r.Bandwidth, r.CPUPerRep = median(tput), median(bw), median(cpu)
	r.VolCtx, r.InvolCtx = int64(median(toF(vol))), int64(median(toF(invol)))
	r.Latency = results.PercentilesOf(r.hist)
	return r
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func toF(v []int64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// why says in a few words why a model leading fits how it works.
func why(model string, conns int) string {
	switch {
	case model == "nonblocking":
		return "it never sleeps, so it answers at once, paying a full core for it"
	case model == "gonet":
		return "Go's netpoller is epoll (IOCP, kqueue) underneath and runs on every server CPU"
	case model == "blocking" && conns <= 10:
		return "with few connections a thread each is cheap and needs no event loop"
	case model == "blocking":
		return "the kernel scheduler multiplexes the threads, here well enough"
	case (model == "select" || model == "poll") && conns <= 10:
		return "with few descriptors the O(n) scan costs next to nothing"
	case model == "select" || model == "poll":
		return "its O(n) scan was still cheaper than the others' overheads at this count"
	case model == "iouring":
		return "one io_uring_enter submits and reaps the IO of many connections"
	case model == "iocp" || model == "overlapped":
		return "completions arrive for finished IO only, with no readiness round trip"
	case model == "epoll" || model == "kqueue":
		return "it reports only the ready connections, so a wakeup costs O(ready), not O(connections)"
	}
	return "how it waits suited this load"
}

// levelMargin: models whose throughput is within this factor of the
// leader's are called level, not ranked; a single run on a shared 2-core
// machine varies by about that much (docs/methodology.md).
const levelMargin = 1.10

// joinAnd lists names as "a, b and c".
func joinAnd(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// reading is the one-line summary of a table.
func reading(t Table) string {
	var ok []Row
	for _, r := range t.Rows {
		if r.Reps > 0 && r.Throughput > 0 {
			ok = append(ok, r)
		}
	}
	if len(ok) == 0 {
		return "No model was measured in this scenario."
	}
	sort.SliceStable(ok, func(i, j int) bool { return ok[i].Throughput > ok[j].Throughput })
	lead, last := ok[0], ok[len(ok)-1]
	level := 1 // how many models are within levelMargin of the leader
	for level < len(ok) && ok[level].Throughput*levelMargin >= lead.Throughput {
		level++
	}
	var s string
	switch {
	case level > 1:
		// No winner, and no story about why it won: runs of one model on
		// this kind of machine differ by more than that.
		names := make([]string, level)
		for i := range names {
			names[i] = ok[i].Model
		}
		s = fmt.Sprintf("%s were level at %s to %s replies/s (within %.0f%%, less than runs vary here: not a ranking; --repeat and iobench compare can tell)",
			joinAnd(names), Count(ok[level-1].Throughput), Count(lead.Throughput), (levelMargin-1)*100)
		if level < len(ok) {
			s += fmt.Sprintf("; %s was last at %.1f× fewer", last.Model, lead.Throughput/last.Throughput)
		}
		s += "."
	default:
		s = fmt.Sprintf("%s led with %s replies/s", lead.Model, Count(lead.Throughput))
		if len(ok) > 1 {
			s += fmt.Sprintf(", %.2f× %s (next)", lead.Throughput/ok[1].Throughput, ok[1].Model)
			if len(ok) > 2 {
				s += fmt.Sprintf(" and %.1f× %s (last)", lead.Throughput/last.Throughput, last.Model)
			}
		}
		s += ": " + why(lead.Model, t.Scenario.Conns) + "."
	}
	// A closed loop times only the replies that came: a model that starved
	// some connections can show a fine p99. Say so, and leave it out of
	// the latency comparison.
	var fair []Row
	for _, r := range ok {
		if r.Jain < 0.5 {
			s += fmt.Sprintf(" %s was unfair (Jain %.2f): some connections waited while others were served, so its latency covers only the replies it gave.", r.Model, r.Jain)
			continue
		}
		fair = append(fair, r)
	}
	sort.SliceStable(fair, func(i, j int) bool { return fair[i].Latency.P99 < fair[j].Latency.P99 })
	// Name the lowest p99 when it is clearly lowest and not the leader's
	// (the leader's row speaks for itself).
	if len(fair) > 1 && fair[0].Latency.P99 > 0 && float64(fair[1].Latency.P99) >= float64(fair[0].Latency.P99)*levelMargin &&
		(level > 1 || fair[0].Model != lead.Model) {
		s += fmt.Sprintf(" Lowest p99: %s (%s, next %s %s).", fair[0].Model, Dur(fair[0].Latency.P99), fair[1].Model, Dur(fair[1].Latency.P99))
	}
	return s
}

var header = []string{"model", "replies/s", "p50", "p99", "p99.9", "max", "server CPU/reply", "server RSS", "threads", "ctx sw vol/invol", "conns est/req (failed)", "errors", "fairness"}

func (r Row) cells() []string {
	switch {
	case r.Reps == 0 && r.Skipped != "":
		return padRow(r.Model, "skipped: "+r.Skipped)
	case r.Reps == 0:
		return padRow(r.Model, "failed: "+r.Failure)
	}
	conns := fmt.Sprintf("%d/%d", r.Est, r.Requested)
	if r.Failed > 0 {
		conns += fmt.Sprintf(" (%d)", r.Failed)
	}
	return []string{r.Model, Count(r.Throughput), Dur(r.Latency.P50), Dur(r.Latency.P99), Dur(r.Latency.P999), Dur(r.Latency.Max),
		Dur(int64(r.CPUPerRep)), Bytes(r.MaxRSS), strconv.Itoa(r.Threads), fmt.Sprintf("%d/%d", r.VolCtx, r.InvolCtx),
		conns, strconv.FormatUint(r.Errors, 10), fmt.Sprintf("%.3f", r.Jain)}
}

func padRow(model, note string) []string {
	row := make([]string, len(header))
	row[0], row[1] = model, note
	return row
}

// WriteTerminal prints every scenario as a table.
func WriteTerminal(w io.Writer, s *results.Suite) error {
	if err := emulatedNote(w, s, ""); err != nil {
		return err
	}
	for _, t := range Tables(s) {
		if _, err := fmt.Fprintf(w, "\n%s\n", t.Scenario); err != nil {
			return err
		}
		tw := tablewriter.NewWriter(w)
		tw.Header(header)
		for _, r := range t.Rows {
			if err := tw.Append(r.cells()); err != nil {
				return err
			}
		}
		if err := tw.Render(); err != nil {
			return err
		}
		if _, err := fmt.Fprintln(w, t.Reading); err != nil {
			return err
		}
	}
	return nil
}

func emulatedNote(w io.Writer, s *results.Suite, prefix string) error {
	if e := s.Environment.Emulated; e != "" {
		_, err := fmt.Fprintf(w, "%s**Emulated (%s): these numbers show correctness, not performance.**\n", prefix, e)
		return err
	}
	return nil
}

// WriteMarkdown writes the report; charts are the SVG files to link.
func WriteMarkdown(w io.Writer, s *results.Suite, charts []Chart) error {
	var b strings.Builder
	b.WriteString("# iobench report\n\n")
	if s.Interrupted {
		b.WriteString("**Interrupted: this run was cut short; only the cells below were measured.**\n\n")
	}
	var em strings.Builder
	emulatedNote(&em, s, "")
	if em.Len() > 0 {
		b.WriteString(em.String() + "\n")
	}
	e, c := s.Environment, s.Config
	b.WriteString("| environment | |\n|---|---|\n")
	for _, kv := range [][2]string{
		{"OS / kernel", e.OS + "/" + e.Arch + " " + e.Kernel},
		{"CPU", fmt.Sprintf("%s, %d cores", e.CPUModel, e.Cores)},
		{"Go / iobench", e.Go + " / " + e.Iobench},
		{"when", e.Time.Format("2006-01-02 15:04 MST")},
		{"server CPUs / client CPUs", cpuList(c.ServerCPUs) + " / " + cpuList(c.ClientCPUs)},
		{"each cell", fmt.Sprintf("%s measured after %s warmup, %d repetition(s) interleaved", Dur(c.DurationNS), Dur(c.WarmupNS), c.Repeat)},
	} {
		fmt.Fprintf(&b, "| %s | %s |\n", kv[0], mdEscape(kv[1]))
	}
	b.WriteString("\nLatency percentiles come from the repetitions' histograms merged; the other figures are medians over repetitions. Server CPU is the server process's user+system time over the measured window divided by the replies in it.\n")
	var skipped, failed []string
	for _, t := range Tables(s) {
		fmt.Fprintf(&b, "\n## %s\n\n", t.Scenario)
		b.WriteString("| " + strings.Join(header, " | ") + " |\n|" + strings.Repeat("---|", len(header)) + "\n")
		for _, r := range t.Rows {
			if r.Reps == 0 {
				if r.Skipped != "" {
					skipped = append(skipped, fmt.Sprintf("%s, %s: %s", r.Model, t.Scenario, r.Skipped))
				} else {
					failed = append(failed, fmt.Sprintf("%s, %s: %s", r.Model, t.Scenario, r.Failure))
				}
				continue
			}
			cells := r.cells()
			for i := range cells {
				cells[i] = mdEscape(cells[i])
			}
			b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		}
		b.WriteString("\n" + t.Reading + "\n")
	}
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

// WriteCSV writes one row per cell, for spreadsheets.
func WriteCSV(w io.Writer, s *results.Suite) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"model", "mode", "conns", "size", "work", "depth", "rate", "idle_conns", "rep",
		"throughput_per_sec", "bytes_per_sec", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "p9999_ns", "max_ns",
		"server_cpu_per_reply_ns", "server_max_rss_bytes", "server_peak_threads", "server_vol_ctx", "server_invol_ctx",
		"conns_requested", "conns_established", "conns_failed", "errors", "jain", "interrupted", "skipped", "error"})
	for _, c := range s.Cells {
		row := []string{c.Model, c.Mode, strconv.Itoa(c.Conns), strconv.Itoa(c.Size), c.Work, strconv.Itoa(c.Depth),
			ff(c.Rate), strconv.Itoa(c.IdleConns), strconv.Itoa(c.Rep)}
		if r := c.Run; r != nil {
			l := r.LatencyNS
			row = append(row, ff(r.ThroughputPerSec), ff(r.BytesPerSec), i64(l.P50), i64(l.P90), i64(l.P99), i64(l.P999), i64(l.P9999), i64(l.Max))
			u := c.Server
			if u == nil {
				u = &results.ServerUsage{}
			}
			row = append(row, ff(u.CPUPerReplyNS), i64(u.MaxRSSBytes), strconv.Itoa(u.PeakThreads), i64(u.VolCtxSw), i64(u.InvolCtxSw),
				strconv.Itoa(r.Connections.Requested), strconv.Itoa(r.Connections.Established), strconv.Itoa(r.Connections.Failed),
				strconv.FormatUint(r.Errors, 10), strconv.FormatFloat(r.Fairness.Jain, 'f', 4, 64), strconv.FormatBool(r.Interrupted))
		} else {
			row = append(row, make([]string, 19)...)
		}
		row = append(row, c.Skipped, c.Error)
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func ff(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
func i64(v int64) string  { return strconv.FormatInt(v, 10) }
