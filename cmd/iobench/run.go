package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"iobench/cmd/internal/agent"
	"iobench/cmd/internal/matrix"
	"iobench/report"
	"iobench/results"
)

type runFlags struct {
	models, conns, sizes, works string
	mode                        string
	depth, idle                 int
	repeat                      string
	retries                     int
	budget                      time.Duration
	rate                        float64
	duration, warmup            time.Duration
	serverCPUs, clientCPUs      string
	serverCores                 string
	out, benchfmt               string
	quick, quiet, force, wide   bool
	// Capacity at a latency target (--slo none: no search).
	slo, sloConns string
	atRate        float64
	searches      int
	// --agent: the servers run on that host's iobench agent.
	agent, tokenFile  string
	agentCA, agentPin string
	client            *agent.Client
}

// Defaults of a bare `iobench run`: five interleaved repetitions of short
// cells, so every figure has an interval and a Mann-Whitney test can tell
// models apart (it needs ≥ 4 per side at 0.05), in about the time one
// repetition of 2 s cells took.
const (
	defaultRepeat = 5
	// --repeat auto adds rounds from defaultRepeat up to autoRepeatMax.
	autoRepeatMax  = 10
	defaultRetries = 2
	// busyCheck is how long run watches the CPUs before measuring.
	busyCheck       = time.Second
	defaultDuration = 300 * time.Millisecond
	// quickModels is --quick's set (where each is available): one of
	// each way of waiting a Linux user weighs.
	quickModels   = "epoll,iouring,poll,gonet"
	defaultWarmup = 150 * time.Millisecond
	// cellOverhead is a cell's cost beyond warmup and measuring (a server
	// started and stopped, connections made), for the estimate.
	cellOverhead = 120 * time.Millisecond
)

func newRunCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run [flags]",
		Short: "Compare every model over a matrix of loads and write a report",
		Long: `Run every model × connection count × size × work × repetition as a cell:
a fresh server child process (iobench serve) pinned to the server CPUs, the
load generator pinned to the client CPUs, the server's CPU, memory, threads
and context switches measured over the same window. Repetitions are
interleaved (A B C A B C). Writes results.json, report.md, summary.csv and
SVG charts to --out, and prints the tables with each cell's notes
(generator-bound, unfair, failed, ...) and its reading.

With --repeat N every figure is a median with its interval, and models are
called level unless a Mann-Whitney test tells them apart; a leader comes
only from fair, failure-free rows. The expected duration is printed first.

Exit status: 0 when every cell ran; 1 when some cell failed (its server
died, replies were corrupted, connections were reset, no reply came), after
writing everything; 2 on bad input or when every cell was skipped; 130 on
Ctrl-C (the server is stopped and what was measured is written).`,
		Example: `  iobench run --quick
  iobench run --models epoll,iouring,poll --conns 100,1000 --repeat 3
  iobench run --mode rate --rate 20000 --conns 10,100 --work none,sleep:1ms
  iobench run --idle-conns 5000 --conns 10 --models epoll,poll,gonet
  iobench run --mode churn --conns 10,100 --repeat 5
  iobench run --agent 10.0.0.5:7700 --token-file token --models epoll,iouring`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runMatrix(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.models, "models", "", "comma-separated models (default: every model available here, or on the --agent's host)")
	fl.StringVar(&f.conns, "conns", "1,10,100,1000", "connection counts")
	fl.StringVar(&f.sizes, "sizes", "64", "message sizes in bytes")
	fl.StringVar(&f.mode, "mode", "closed", "closed, rate, stream or churn (connect, one echo, close per transaction)")
	fl.IntVar(&f.depth, "depth", 1, "messages in flight per connection")
	fl.Float64Var(&f.rate, "rate", 0, "rate mode: messages per second")
	fl.StringVar(&f.works, "work", "none", "server work per read, comma-separated (none, cpu:50us, sleep:1ms)")
	fl.IntVar(&f.idle, "idle-conns", 0, "extra silent connections in every cell")
	fl.DurationVar(&f.duration, "duration", defaultDuration, "measured time per cell")
	fl.DurationVar(&f.warmup, "warmup", defaultWarmup, "warmup per cell, excluded")
	fl.StringVar(&f.repeat, "repeat", "auto", "repetitions of every cell, interleaved (≥ 4 to rank, ≥ 6 for 95% intervals), or auto: from 5, adding rounds until the verdicts hold (at most 10)")
	fl.DurationVar(&f.budget, "budget", 0, "with --repeat auto: add no round that would end past this much time (0 = no limit)")
	fl.IntVar(&f.retries, "retries", defaultRetries, "measure a repetition again, up to this many times, when the machine disturbed it (other processes or the hypervisor on the measured CPUs, a stall of both sides)")
	fl.StringVar(&f.serverCPUs, "server-cpus", "", "CPUs for the server, e.g. 0 or 0-1 (default: the first one, or the first --server-cores)")
	fl.StringVar(&f.clientCPUs, "client-cpus", "", "CPUs for the load generator (default: the rest; all of them when the server takes every CPU, shared and said so)")
	fl.StringVar(&f.serverCores, "server-cores", "", "run every cell on each of these counts of the server CPUs, e.g. 1,2,4: each model in its multi-core idiom (iobench list), the report with a scaling table")
	fl.StringVar(&f.out, "out", "", "folder for the results, new or empty (default: a new iobench-runs/TIMESTAMP)")
	fl.StringVar(&f.agent, "agent", "", "run the servers on the host of this iobench agent (HOST:PORT), the load generator here")
	fl.StringVar(&f.tokenFile, "token-file", "", "with --agent: file holding the agent's token (or set "+tokenEnv+")")
	fl.StringVar(&f.agentCA, "agent-ca", "", "with --agent: trust the agent's TLS certificate signed by this CA (PEM)")
	fl.StringVar(&f.agentPin, "agent-pin", "", "with --agent: trust the agent's TLS certificate with this SHA-256 (hex)")
	fl.BoolVar(&f.force, "force", false, "write into --out even if it already holds files (replacing iobench's own)")
	fl.StringVar(&f.benchfmt, "benchfmt", "", "also write the results in Go benchmark format (for benchstat) to this file")
	fl.StringVar(&f.slo, "slo", "p99=1ms", "latency target for the capacity search (any percentile: p99=1ms, p99.9=5ms), or none: the highest offered rate each model holds within it, at --slo-conns")
	fl.StringVar(&f.sloConns, "slo-conns", "100", "connection counts the capacity search runs at")
	fl.Float64Var(&f.atRate, "at-rate", 0, "with --slo: the rate every model is also measured at, for CPU and tail at equal load (0 = half the lowest knee)")
	fl.IntVar(&f.searches, "searches", matrix.DefaultSearches, "with --slo: repetitions of each capacity search (the knee's interval)")
	fl.BoolVar(&f.quick, "quick", false, "a short run: epoll, iouring, poll and gonet (unless --models), 100 connections, 4 repetitions of 250ms cells, capacity searched twice with 250ms steps (about 40s)")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	fl.BoolVar(&f.wide, "wide", false, "every column in the terminal table, each figure with its interval (the default fits 120 columns; report.md has them all)")
	countCallsAlways(fl)
	return cmd
}

// estimate is how long the cells that will run should take.
func estimate(cfg matrix.Config) (cells int, d time.Duration) {
	for _, c := range matrix.Plan(cfg) {
		if c.Skipped == "" {
			cells++
		}
	}
	return cells, time.Duration(cells) * (cfg.Warmup + cfg.Duration + cellOverhead)
}

func runMatrix(cmd *cobra.Command, f *runFlags) error {
	cfg, err := f.config(cmd)
	if f.client != nil {
		defer f.client.Close()
	}
	if err != nil {
		return err
	}
	if err := checkOutputFile(f.benchfmt); err != nil {
		return usageErr("run: --benchfmt: %v", err)
	}
	stderr := cmd.ErrOrStderr()
	out, err := f.announce(stderr, cfg)
	if err != nil {
		return err
	}
	resultsPath := filepath.Join(out, "results.json")
	var checkpointErr error
	cfg.Checkpoint = func(s *results.Suite) { checkpointErr = s.WriteFile(resultsPath) }
	clearBar := progress(stderr, f.quiet, &cfg)
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	suite, err := matrix.Run(ctx, cfg)
	clearBar()
	if err != nil {
		return err
	}
	_, dirErr := report.WriteDir(out, suite)
	errs := []error{suite.WriteFile(resultsPath), checkpointErr, dirErr, report.WriteTerminal(cmd.OutOrStdout(), suite, f.wide)}
	if f.benchfmt != "" {
		errs = append(errs, writeBenchfmt(f.benchfmt, suite))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(cmd.OutOrStdout(), "\nwrote %s (report.md, results.json, summary.csv, charts)\n", out); err != nil {
		return err
	}
	return runStatus(suite)
}

// announce makes the output folder and says what the run will measure
// and about how long it will take.
func (f *runFlags) announce(stderr io.Writer, cfg matrix.Config) (out string, err error) {
	cells, took := estimate(cfg)
	var searching time.Duration
	if cc := cfg.Capacity; cc != nil {
		searching = cc.Estimate(len(cfg.Models), len(cc.Conns)*max(1, len(cfg.ServerCores))*len(cfg.Sizes)*len(cfg.Works), cellOverhead)
	}
	if cells == 0 {
		return "", usageErr("run: every cell would be skipped (%s); nothing to measure", firstSkip(cfg))
	}
	if out, err = f.outDir(); err != nil {
		return "", err
	}
	if a := cfg.Auto; a != nil {
		perRep := took / time.Duration(cfg.Repeat)
		fmt.Fprintf(stderr, "iobench run: %d to %d cells (%d to %d repetitions, until the verdicts hold), about %s to %s; writing %s\n",
			cells/cfg.Repeat*a.Min, cells, a.Min, cfg.Repeat, (perRep * time.Duration(a.Min)).Round(time.Second), took.Round(time.Second), out)
	} else {
		fmt.Fprintf(stderr, "iobench run: %d cells (%d repetition(s)), about %s; writing %s\n", cells, cfg.Repeat, took.Round(time.Second), out)
	}
	if searching > 0 {
		fmt.Fprintf(stderr, "iobench run: then capacity at %s, %d search(es) per model at %s conns: about %s more\n",
			cfg.Capacity.SLO, cfg.Capacity.Searches, strings.Trim(fmt.Sprint(cfg.Capacity.Conns), "[]"), searching.Round(time.Second))
	}
	return out, nil
}

// progress shows a progress bar on a terminal (not with --quiet) as the
// cells report; clear takes it off the screen.
func progress(stderr io.Writer, quiet bool, cfg *matrix.Config) (clear func()) {
	var bar *progressbar.ProgressBar
	clear = func() {
		if bar != nil {
			bar.Clear()
		}
	}
	if !isTerminal(stderr) || quiet {
		return clear
	}
	cfg.Progress = func(done, total int, c results.Cell) {
		if bar == nil {
			bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(stderr), progressbar.OptionSetWidth(20),
				progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionShowDescriptionAtLineEnd())
		}
		if c.Model != "" {
			bar.Describe(fmt.Sprintf("%s, %d conns, %d B", c.Model, c.Conns, c.Size))
		}
		bar.Set(done)
	}
	return clear
}

// runStatus is the exit of a written run: 130 interrupted, 1 when a cell
// failed, 2 when none could run.
func runStatus(s *results.Suite) error {
	if s.Interrupted {
		return &exitError{code: 130, err: errors.New("interrupted; the cells measured so far are written")}
	}
	if failed := report.FailedCells(s); len(failed) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("run: %d cell(s) failed, e.g. %s", len(failed), failed[0])}
	}
	for _, c := range s.Cells {
		if c.Skipped == "" {
			return nil
		}
	}
	return &exitError{code: 2, err: errors.New("run: every cell was skipped; nothing was measured")}
}

func firstSkip(cfg matrix.Config) string {
	for _, c := range matrix.Plan(cfg) {
		return c.Skipped
	}
	return "no cells"
}
