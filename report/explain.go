package report

// explain's page: a model's loop as told, with what the kernel counted
// per reply at each connection count.

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"iobench/results"
	"iobench/servers"
)

// explainRow is one line of explain's table: a label, what the docs
// say (told), and a figure per connection count.
type explainRow struct {
	label, told string
	cells       []string
	note        string // the step's purpose: on its first row
	stepEnd     bool   // the step's last row (text prints the purpose under it)
}

// WriteExplain prints the model's loop with the counted calls per reply
// at each connection count, as text or (md) a markdown table.
func WriteExplain(w io.Writer, m servers.Model, s *results.Suite, md bool) error {
	var cells []results.Cell
	for _, c := range s.Cells {
		if c.Counted() {
			cells = append(cells, c)
		}
	}
	// A repetition measured again comes after the others: columns go by
	// connection count all the same.
	slices.SortStableFunc(cells, func(a, b results.Cell) int { return a.Conns - b.Conns })
	rows := explainRows(m, cells)

	var b strings.Builder
	heads := []string{"step (system call)", fmt.Sprintf("told (%d conns)", servers.ToldAt)}
	for _, c := range cells {
		heads = append(heads, fmt.Sprintf("%d conn%s", c.Conns, map[bool]string{true: "", false: "s"}[c.Conns == 1]))
	}
	if md {
		explainMarkdown(&b, m, heads, rows)
	} else {
		explainText(&b, m, s, heads, rows)
	}
	b.WriteString("\n")
	if c := explainChange(m, cells); c != "" {
		if md {
			b.WriteString(c + "\n")
		} else {
			b.WriteString(Fold(c, ""))
		}
	}
	for _, c := range cells {
		if c.Server != nil && c.Server.ByNameUnavailable != "" {
			fmt.Fprintf(&b, "at %d connection(s): counting by name unavailable: %s\n", c.Conns, strings.TrimPrefix(c.Server.ByNameUnavailable, "unavailable: "))
		}
		if c.Error != "" {
			fmt.Fprintf(&b, "at %d connection(s): FAILED: %s\n", c.Conns, c.Error)
		}
		if c.Disturbed != "" {
			fmt.Fprintf(&b, "at %d connection(s): the machine disturbed it: %s\n", c.Conns, c.Disturbed)
		}
	}
	if len(m.Loop) == 0 {
		b.WriteString("(no loop is told for this model on this OS; docs/models.md describes it)\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// explainMarkdown writes explain's table as markdown, each step's
// purpose beside its call.
func explainMarkdown(b *strings.Builder, m servers.Model, heads []string, rows []explainRow) {
	fmt.Fprintf(b, "### %s (%s)\n\n%s\n\nPer reply, counted by the kernel (the server's calls):\n\n| %s |\n|%s\n", m.Name, m.Mechanism, m.Summary,
		strings.Join(heads, " | "), strings.Repeat("---|", len(heads)))
	for _, r := range rows {
		label := strings.TrimSpace(r.label)
		if r.note != "" {
			label += " — " + r.note
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", label, r.told, strings.Join(r.cells, " | "))
	}
}

// explainText writes explain's table as text, each step's purpose folded
// under it.
func explainText(b *strings.Builder, m servers.Model, s *results.Suite, heads []string, rows []explainRow) {
	b.WriteString(Fold(fmt.Sprintf("%s (%s): %s", m.Name, m.Mechanism, m.Summary), ""))
	if mi, ok := s.Model(m.Name); ok && mi.Impl != "" {
		b.WriteString(Fold("this build: "+mi.Impl, ""))
	}
	line := func(label, told string, cells []string) {
		l := fmt.Sprintf("%-26s %16s", label, told)
		for _, c := range cells {
			l += fmt.Sprintf(" %10s", c)
		}
		b.WriteString(strings.TrimRight(l, " ") + "\n")
	}
	b.WriteString("\nper reply, counted by the kernel (the server's calls):\n")
	line(heads[0], heads[1], heads[2:])
	purpose := ""
	for _, r := range rows {
		line(r.label, r.told, r.cells)
		if r.note != "" {
			purpose = r.note
		}
		if r.stepEnd && purpose != "" {
			b.WriteString(Fold(purpose, "   "))
			purpose = ""
		}
	}
}

// explainRows is the table: the loop's steps, the calls outside it, and
// the totals, each with a figure per connection count.
func explainRows(m servers.Model, cells []results.Cell) []explainRow {
	counted := func(c results.Cell, call string) string {
		if c.Server == nil || c.Server.SyscallsByName == nil {
			return "—"
		}
		return fmt.Sprintf("%.2f", c.Server.SyscallsByName[call])
	}
	var rows []explainRow
	seen := map[string]bool{}
	for i, st := range m.Loop {
		for j, call := range st.Calls {
			seen[call] = true
			r := explainRow{label: fmt.Sprintf("%d. %s", i+1, call)}
			if j > 0 {
				r.label = "   or " + call
			} else {
				r.told = st.Told()
			}
			for _, c := range cells {
				r.cells = append(r.cells, counted(c, call))
			}
			if j == 0 {
				r.note = st.Does
			}
			r.stepEnd = j == len(st.Calls)-1
			rows = append(rows, r)
		}
	}
	// Calls outside the loop as told, by how often.
	others := map[string]float64{}
	for _, c := range cells {
		if c.Server == nil {
			continue
		}
		for call, v := range c.Server.SyscallsByName {
			if !seen[call] && v >= 0.01 {
				others[call] = max(others[call], v)
			}
		}
	}
	names := make([]string, 0, len(others))
	for n := range others {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return others[names[i]] > others[names[j]] })
	for k, call := range names {
		r := explainRow{label: "   " + call}
		if k == 0 {
			r.label = "also: " + call
		}
		for _, c := range cells {
			r.cells = append(r.cells, counted(c, call))
		}
		rows = append(rows, r)
	}
	return append(rows, totalRows(cells)...)
}

// totalRows are explain's last rows: all system calls, context switches
// and replies/s, per connection count.
func totalRows(cells []results.Cell) []explainRow {
	total, ctx, tput := explainRow{label: "all system calls"}, explainRow{label: "context switches"}, explainRow{label: "replies/s"}
	for _, c := range cells {
		t, x, r := "—", "—", "—"
		if c.Server != nil && c.Server.SyscallsPerReply != nil {
			t = fmt.Sprintf("%.2f", *c.Server.SyscallsPerReply)
		}
		if c.Server != nil && c.Server.CtxSwitchesPerReply != nil {
			x = fmt.Sprintf("%.2f", *c.Server.CtxSwitchesPerReply)
		}
		if c.Run != nil {
			r = Count(c.Run.ThroughputPerSec)
		}
		total.cells, ctx.cells, tput.cells = append(total.cells, t), append(ctx.cells, x), append(tput.cells, r)
	}
	return []explainRow{total, ctx, tput}
}

// explainChange is one line on what changed between the first and the
// last connection count: the step whose calls per reply moved most, and
// the context switches.
func explainChange(m servers.Model, cells []results.Cell) string {
	if len(cells) < 2 {
		return ""
	}
	a, z := cells[0], cells[len(cells)-1]
	if a.Server == nil || z.Server == nil || a.Server.SyscallsByName == nil || z.Server.SyscallsByName == nil {
		return ""
	}
	best, from, to, moved := "", 0.0, 0.0, 0.0
	for _, st := range m.Loop {
		var x, y float64
		for _, call := range st.Calls {
			x += a.Server.SyscallsByName[call]
			y += z.Server.SyscallsByName[call]
		}
		if d := max(x, y) / max(min(x, y), 0.005); best == "" || d > moved {
			best, from, to, moved = st.Calls[0], x, y, d
		}
	}
	if best == "" {
		return ""
	}
	var line string
	switch {
	case to < from*0.7:
		line = fmt.Sprintf("from %d to %d connections: %s went from %.2f to %.2f per reply (one call now serves several replies)", a.Conns, z.Conns, best, from, to)
	case to > from*1.3:
		line = fmt.Sprintf("from %d to %d connections: %s went from %.2f to %.2f per reply (each reply now costs more of it)", a.Conns, z.Conns, best, from, to)
	default:
		line = fmt.Sprintf("from %d to %d connections: every step costs what it did per reply (each reply pays for its own calls)", a.Conns, z.Conns)
	}
	if a.Server.CtxSwitchesPerReply != nil && z.Server.CtxSwitchesPerReply != nil {
		line += fmt.Sprintf("; context switches %.2f to %.2f per reply", *a.Server.CtxSwitchesPerReply, *z.Server.CtxSwitchesPerReply)
	}
	return line + "."
}

// Fold breaks text into lines of at most 100 columns, each starting
// with indent: a terminal of 120 shows explain's prose whole.
func Fold(text, indent string) string {
	var b strings.Builder
	line := indent
	for _, w := range strings.Fields(text) {
		if len(line) > len(indent) && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) > 100 {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += w
	}
	return b.String() + line + "\n"
}
