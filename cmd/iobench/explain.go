package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"iobench/cmd/internal/matrix"
	"iobench/internal/buildinfo"
	"iobench/loadgen"
	"iobench/report"
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
	if err := report.WriteExplain(cmd.OutOrStdout(), v.Model, suite, f.format == "md"); err != nil {
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
