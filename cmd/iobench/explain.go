package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"iobench/cmd/internal/matrix"
	"iobench/internal/buildinfo"
	"iobench/loadgen"
	"iobench/report"
	"iobench/results"
	"iobench/servers"
)

type explainFlags struct {
	conns    int
	duration time.Duration
	format   string
}

func newExplainCmd() *cobra.Command {
	var f explainFlags
	cmd := &cobra.Command{
		Use:   "explain MODEL [--conns N]",
		Short: "Show a model's loop beside the system calls per reply the kernel counted",
		Long: `Run MODEL briefly (a server child pinned as in run, this process's load
generator) at 1 and at --conns connections, and print the model's loop as
docs/models.md describes it — each step with the system call it makes —
beside what the docs say it costs (at 100 connections) and the calls per
reply the kernel counted for that step, then the other calls it made, what
the whole came to, the context switches per reply and one line on what
changed from 1 to N connections. Where counting by name is not possible
(not Linux, not root) it says why. --format md prints a markdown table.`,
		Example: `  iobench explain epoll
  iobench explain iouring --conns 1000
  iobench explain nonblocking --conns 10`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErr("explain: want one MODEL (see iobench list), got %d argument(s)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return explain(cmd, args[0], f) },
	}
	cmd.Flags().IntVar(&f.conns, "conns", 100, "the second connection count (the first is 1)")
	cmd.Flags().DurationVar(&f.duration, "duration", time.Second, "measured time at each count (after 300ms warmup)")
	cmd.Flags().StringVar(&f.format, "format", "text", "text (a terminal) or md (a markdown table, for docs)")
	return cmd
}

func explain(cmd *cobra.Command, model string, f explainFlags) error {
	v, err := servers.Lookup(model)
	if errors.Is(err, servers.ErrUnknownModel) || errors.Is(err, servers.ErrUnavailable) {
		return usageErr("explain: %v", err)
	}
	if err != nil {
		return err
	}
	if f.format != "text" && f.format != "md" {
		return usageErr("explain: --format %q: want text or md", f.format)
	}
	if f.conns < 1 || f.duration <= 0 {
		return usageErr("explain: --conns %d, --duration %v: want at least 1 connection and more than 0", f.conns, f.duration)
	}
	if err := loadgen.CheckFDs(f.conns); err != nil {
		return usageErr("%v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("explain: can't find this program to start servers: %w", err)
	}
	conns := slices.Compact([]int{1, f.conns})
	cfg := matrix.Config{
		Models: []servers.Spec{{Model: model}}, Conns: conns, Sizes: []int{64}, Works: []string{"none"}, Mode: loadgen.Closed, Depth: 1,
		Duration: f.duration, Warmup: 300 * time.Millisecond, Repeat: 1, Retries: 1, Version: buildinfo.Version(),
		Host: matrix.Launcher{Cmd: []string{exe}},
		Logf: func(format string, args ...any) {
			fmt.Fprintf(cmd.ErrOrStderr(), "iobench explain: "+format+"\n", args...)
		},
	}
	if s, c, _, err := matrix.DefaultCPUs(1); err == nil {
		cfg.ServerCPUs, cfg.ClientCPUs = s, c
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	suite, err := matrix.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if err := writeExplain(cmd.OutOrStdout(), v.Model, suite, f.format == "md"); err != nil {
		return err
	}
	switch failed := report.FailedCells(suite); {
	case suite.Interrupted:
		return &exitError{code: 130, err: errors.New("interrupted")}
	case len(failed) > 0:
		return &exitError{code: 1, err: fmt.Errorf("explain: %s", failed[0])}
	}
	return nil
}

// explainRow is one line of explain's table: a label, what the docs
// say (told), and a figure per connection count.
type explainRow struct {
	label, told string
	cells       []string
	note        string // the step's purpose: on its first row
	stepEnd     bool   // the step's last row (text prints the purpose under it)
}

// writeExplain prints the model's loop with the counted calls per reply
// at each connection count, as text or (md) a markdown table.
func writeExplain(w io.Writer, m servers.Model, s *results.Suite, md bool) error {
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
		fmt.Fprintf(&b, "### %s (%s)\n\n%s\n\nPer reply, counted by the kernel (the server's calls):\n\n| %s |\n|%s\n", m.Name, m.Mechanism, m.Summary,
			strings.Join(heads, " | "), strings.Repeat("---|", len(heads)))
		for _, r := range rows {
			label := strings.TrimSpace(r.label)
			if r.note != "" {
				label += " — " + r.note
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", label, r.told, strings.Join(r.cells, " | "))
		}
	} else {
		b.WriteString(fold(fmt.Sprintf("%s (%s): %s", m.Name, m.Mechanism, m.Summary), ""))
		if mi, ok := s.Model(m.Name); ok && mi.Impl != "" {
			b.WriteString(fold("this build: "+mi.Impl, ""))
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
				b.WriteString(fold(purpose, "   "))
				purpose = ""
			}
		}
	}
	b.WriteString("\n")
	if c := explainChange(m, cells); c != "" {
		if md {
			b.WriteString(c + "\n")
		} else {
			b.WriteString(fold(c, ""))
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
			r = report.Count(c.Run.ThroughputPerSec)
		}
		total.cells, ctx.cells, tput.cells = append(total.cells, t), append(ctx.cells, x), append(tput.cells, r)
	}
	return append(rows, total, ctx, tput)
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

// fold breaks text into lines of at most 100 columns, each starting
// with indent: a terminal of 120 shows explain's prose whole.
func fold(text, indent string) string {
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
