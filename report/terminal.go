package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"iobench/results"
)

// The terminal table: compact to fit 120 columns (--wide for all).

// cells is the row's columns: every one with its interval (header), or
// compact (compactHeader: medians only but for throughput, short note
// codes), each computed from the row's figures.
func (r Row) cells(compact bool) []string {
	pad := padRow
	if compact {
		pad = padCompact
	}
	switch {
	case r.Reps == 0 && r.Skipped != "":
		return pad(r.Model, "skipped (below)")
	case r.Reps == 0 && len(r.Failures) > 0:
		row := pad(r.Model, "FAILED (below)")
		row[len(row)-1] = r.noteLabels(compact)
		return row
	case r.Reps == 0:
		return pad(r.Model, "not measured")
	}
	conns := fmt.Sprintf("%d/%d", r.Est, r.Requested)
	if r.Failed > 0 {
		conns += fmt.Sprintf(" (%d)", r.Failed)
	}
	if r.EstWorst < r.Est {
		conns += fmt.Sprintf(", worst %d", r.EstWorst)
	}
	dur := func(v float64) string { return Dur(int64(v)) }
	rss, threads := unknown, unknown
	if r.MaxRSS > 0 {
		rss = Bytes(r.MaxRSS)
	}
	if r.Threads > 0 {
		threads = strconv.Itoa(r.Threads)
	}
	perRep := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	pct := func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) + "%" }
	maxLat := unknown
	if r.Latency.Count > 0 {
		maxLat = Dur(r.Latency.Max)
	}
	if compact {
		fair := fmt.Sprintf("%.3f", r.Jain)
		if r.Reps > 1 && r.JainWorst < r.Jain-0.0005 {
			fair = fmt.Sprintf("%.3f w%.3f", r.Jain, r.JainWorst)
		}
		median := func(s Stat, f func(float64) string) string {
			return fmtStat(Stat{N: min(s.N, 1), Median: s.Median}, f, f)
		}
		return []string{r.Model, fmtStat(r.Throughput, Count, Compact), median(r.P50, dur), median(r.P99, dur), median(r.CPUPerRep, dur),
			median(r.CPUShare, pct), median(r.Syscalls, perRep), fair, r.noteLabels(true)}
	}
	return []string{r.Model, fmtStat(r.Throughput, Count, Compact), fmtStat(r.P50, dur, dur), fmtStat(r.P99, dur, dur), fmtStat(r.P999, dur, dur), maxLat,
		fmtStat(r.CPUPerRep, dur, dur), fmtStat(r.CPUShare, pct, pct), fmtStat(r.Syscalls, perRep, perRep), fmtStat(r.CtxPerRep, perRep, perRep), rss, threads,
		conns, strconv.FormatUint(r.Errors, 10), r.FairnessText(), r.noteLabels(false)}
}

// fmtStat writes a median and, over several repetitions, its interval
// ("153,206 [148k–160k]"); unknown when nothing was measured.
func fmtStat(s Stat, center, ends func(float64) string) string {
	switch {
	case s.N == 0:
		return unknown
	case s.N == 1 || !s.Bounded():
		return center(s.Median)
	}
	return center(s.Median) + " [" + ends(s.Lo) + "–" + ends(s.Hi) + "]"
}

// noteLabels is the notes column: each warning's label (short, its code
// in the compact table), with how many repetitions had it when not all
// did.
func (r Row) noteLabels(short bool) string {
	total := r.Reps + len(r.Failures) + len(r.DisturbedFailures)
	var parts []string
	if n := len(r.Failures); n > 0 {
		parts = append(parts, fmt.Sprintf("FAILED %d/%d", n, total))
	}
	for _, n := range r.Notes {
		label := n.Label
		if short {
			label = shortLabel(label)
		}
		if n.Reps < total {
			parts = append(parts, fmt.Sprintf("%s %d/%d", label, n.Reps, total))
		} else {
			parts = append(parts, label)
		}
	}
	return strings.Join(parts, ", ")
}

// noteLines are a table's notes in full, a line per model and label.
func noteLines(t Table) []string {
	var out []string
	for _, r := range t.Rows {
		if r.Reps == 0 && r.Skipped != "" && len(r.Failures) == 0 {
			out = append(out, fmt.Sprintf("%s: skipped: %s", r.Model, r.Skipped))
		}
		total := r.Reps + len(r.Failures)
		for _, f := range r.Failures {
			out = append(out, fmt.Sprintf("%s: FAILED: %s", r.Model, f))
		}
		for _, n := range r.Notes {
			reps := ""
			if total > 1 {
				reps = fmt.Sprintf(" (%d of %d repetitions)", n.Reps, total)
			}
			text := n.Text
			if !strings.HasPrefix(text, n.Label+": ") {
				text = n.Label + ": " + text
			}
			out = append(out, fmt.Sprintf("%s%s: %s", r.Model, reps, text))
		}
	}
	return out
}

func padRow(model, note string) []string {
	row := make([]string, len(header))
	row[0], row[1] = model, note
	return row
}

func padCompact(model, note string) []string {
	row := make([]string, len(compactHeader))
	row[0], row[1] = model, note
	return row
}

// NewTable is a terminal table that prints its headers as written
// (tablewriter would upper-case them and space out their punctuation).
func NewTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off), tablewriter.WithRowAutoWrap(tw.WrapNone))
}

// WriteTerminal prints every scenario as a table with its notes and reading.
func WriteTerminal(w io.Writer, s *results.Suite, wide bool) error {
	var b strings.Builder
	emulatedNote(&b, s, "")
	if f := s.Floor; f != nil {
		b.WriteString("Machine floor: " + FloorText(f) + "\n")
	}
	b.WriteString(spreadNote(s) + "\n")
	if !wide {
		b.WriteString("Compact columns (medians; --wide for every column with its interval): " + compactLegend + "\n")
	}
	for _, t := range Tables(s) {
		fmt.Fprintf(&b, "\n%s\n", t.Scenario)
		tt := NewTable(&b)
		if wide {
			tt.Header(header)
		} else {
			tt.Header(compactHeader)
		}
		for _, r := range t.Rows {
			row := r.cells(!wide)
			if err := tt.Append(row); err != nil {
				return err
			}
		}
		if err := tt.Render(); err != nil {
			return err
		}
		for _, n := range noteLines(t) {
			b.WriteString("  note: " + n + "\n")
		}
		b.WriteString(t.Reading + "\n")
	}
	if err := writeScalingTerminal(&b, s, Tables(s)); err != nil {
		return err
	}
	if err := writeCapacityTerminal(&b, s); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func emulatedNote(w io.Writer, s *results.Suite, prefix string) {
	if e := s.Environment.Emulated; e != "" {
		fmt.Fprintf(w, "%s**Emulated (%s): these numbers show correctness, not performance.**\n", prefix, e)
	}
}

// spreadNote says what the intervals in the tables are.
func spreadNote(s *results.Suite) string {
	reps := maxRep(s)
	if reps <= 1 {
		return "One repetition per cell: no intervals, and no ranking (runs of the same cell on a shared machine differ by ±30%); use --repeat 5."
	}
	conf := 1 - 2*math.Pow(0.5, float64(reps))
	if reps >= boundedN {
		return fmt.Sprintf("Figures are medians over %d repetitions with the 95%% confidence interval of the median [lo–hi]; max, RSS and threads are the largest over repetitions. Models are level unless a Mann-Whitney test tells them apart (p < %.2f and more than %.0f%%).",
			reps, Alpha, MinDelta*100)
	}
	return fmt.Sprintf("Figures are medians over %d repetitions with their range [lo–hi] (with %d samples the range is a %.0f%% interval of the median; a 95%% interval needs %d); max, RSS and threads are the largest over repetitions. Models are level unless a Mann-Whitney test tells them apart (p < %.2f and more than %.0f%%).",
		reps, reps, conf*100, boundedN, Alpha, MinDelta*100)
}
