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
}

func newExplainCmd() *cobra.Command {
	var f explainFlags
	cmd := &cobra.Command{
		Use:   "explain MODEL [--conns N]",
		Short: "Show a model's loop beside the system calls per reply the kernel counted",
		Long: `Run MODEL briefly (a server child pinned as in run, this process's load
generator) at 1 and at --conns connections, and print the model's loop as
docs/models.md describes it — each step with the system call it makes —
beside the calls per reply the kernel counted for that step, then the other
calls it made and what the whole came to. Where counting by name is not
possible (not Linux, not root, too many threads) it says why.`,
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
		Models: []string{model}, Conns: conns, Sizes: []int{64}, Works: []string{"none"}, Mode: loadgen.Closed, Depth: 1,
		Duration: f.duration, Warmup: 300 * time.Millisecond, Repeat: 1, Retries: 1, Version: buildinfo.Version(), CountCalls: true,
		Host: matrix.Launcher{Cmd: []string{exe}},
		Logf: func(format string, args ...any) {
			fmt.Fprintf(cmd.ErrOrStderr(), "iobench explain: "+format+"\n", args...)
		},
	}
	if s, c, err := matrix.DefaultCPUs(); err == nil {
		cfg.ServerCPUs, cfg.ClientCPUs = s, c
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	suite, err := matrix.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if err := writeExplain(cmd.OutOrStdout(), v.Model, suite); err != nil {
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

// writeExplain prints the model's loop with the counted calls per reply
// at each connection count.
func writeExplain(w io.Writer, m servers.Model, s *results.Suite) error {
	var cells []results.Cell
	for _, c := range s.Cells {
		if c.Counted() {
			cells = append(cells, c)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s\n", m.Name, m.Mechanism, m.Summary)
	if mi, ok := s.Model(m.Name); ok && mi.Impl != "" {
		fmt.Fprintf(&b, "this build: %s\n", mi.Impl)
	}
	head := fmt.Sprintf("%-34s", "step (system call)")
	for _, c := range cells {
		head += fmt.Sprintf(" %14s", fmt.Sprintf("%d conn%s", c.Conns, map[bool]string{true: "", false: "s"}[c.Conns == 1]))
	}
	fmt.Fprintf(&b, "\nper reply, counted by the kernel:\n%s\n", head)
	counted := func(c results.Cell, call string) string {
		switch {
		case c.Server == nil || c.Server.SyscallsByName == nil:
			return "—"
		}
		return fmt.Sprintf("%.2f", c.Server.SyscallsByName[call])
	}
	seen := map[string]bool{}
	for i, st := range m.Loop {
		for _, call := range st.Calls {
			seen[call] = true
			line := fmt.Sprintf("%d. %-31s", i+1, call)
			if call != st.Calls[0] {
				line = fmt.Sprintf("   %-31s", "or "+call)
			}
			for _, c := range cells {
				line += fmt.Sprintf(" %14s", counted(c, call))
			}
			b.WriteString(line + "\n")
		}
		fmt.Fprintf(&b, "   %s\n", st.Does)
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
	if len(names) > 0 {
		b.WriteString("also (outside the loop as told; other = every call not counted by name):\n")
		for _, call := range names {
			line := fmt.Sprintf("   %-31s", call)
			for _, c := range cells {
				line += fmt.Sprintf(" %14s", counted(c, call))
			}
			b.WriteString(line + "\n")
		}
	}
	total := fmt.Sprintf("%-34s", "all system calls")
	tput := fmt.Sprintf("%-34s", "replies/s")
	for _, c := range cells {
		t := "—"
		if c.Server != nil && c.Server.SyscallsPerReply != nil {
			t = fmt.Sprintf("%.2f", *c.Server.SyscallsPerReply)
		}
		total += fmt.Sprintf(" %14s", t)
		r := "—"
		if c.Run != nil {
			r = report.Count(c.Run.ThroughputPerSec)
		}
		tput += fmt.Sprintf(" %14s", r)
	}
	b.WriteString(total + "\n" + tput + "\n")
	for _, c := range cells {
		if c.Server != nil && c.Server.ByNameUnavailable != "" {
			fmt.Fprintf(&b, "at %d connection(s): counting by name unavailable: %s\n", c.Conns, c.Server.ByNameUnavailable)
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
