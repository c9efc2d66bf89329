package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"iobench/internal/buildinfo"
	"iobench/internal/matrix"
	"iobench/loadgen"
	"iobench/report"
	"iobench/results"
	"iobench/servers"
)

type runFlags struct {
	models, conns, sizes, works string
	mode                        string
	depth, idle, repeat         int
	rate                        float64
	duration, warmup            time.Duration
	serverCPUs, clientCPUs      string
	out, benchfmt               string
	quick, quiet                bool
}

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
SVG charts to --out, and prints the tables.

Ctrl-C stops the server, writes what was measured and exits 130.`,
		Example: `  iobench run --quick
  iobench run --models epoll,iouring,poll --conns 100,1000 --repeat 3
  iobench run --mode rate --rate 20000 --conns 10,100 --work none,sleep:1ms
  iobench run --idle-conns 5000 --conns 10 --models epoll,poll,gonet`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runMatrix(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.models, "models", "", "comma-separated models (default: every model available here)")
	fl.StringVar(&f.conns, "conns", "1,10,100,1000", "connection counts")
	fl.StringVar(&f.sizes, "sizes", "64", "message sizes in bytes")
	fl.StringVar(&f.mode, "mode", "closed", "closed, rate or stream")
	fl.IntVar(&f.depth, "depth", 1, "messages in flight per connection")
	fl.Float64Var(&f.rate, "rate", 0, "rate mode: messages per second")
	fl.StringVar(&f.works, "work", "none", "server work per read, comma-separated (none, cpu:50us, sleep:1ms)")
	fl.IntVar(&f.idle, "idle-conns", 0, "extra silent connections in every cell")
	fl.DurationVar(&f.duration, "duration", 2*time.Second, "measured time per cell")
	fl.DurationVar(&f.warmup, "warmup", 500*time.Millisecond, "warmup per cell, excluded")
	fl.IntVar(&f.repeat, "repeat", 1, "repetitions of every cell, interleaved")
	fl.StringVar(&f.serverCPUs, "server-cpus", "", "CPUs for the server, e.g. 0 or 0-1 (default: first half of this machine's)")
	fl.StringVar(&f.clientCPUs, "client-cpus", "", "CPUs for the load generator (default: the other half)")
	fl.StringVar(&f.out, "out", "", "folder for the results (default: a new iobench-runs/TIMESTAMP)")
	fl.StringVar(&f.benchfmt, "benchfmt", "", "also write the results in Go benchmark format (for benchstat) to this file")
	fl.BoolVar(&f.quick, "quick", false, "a short run (10 and 100 connections, 0.5s cells): under 20s")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	return cmd
}

func (f *runFlags) config(cmd *cobra.Command) (matrix.Config, error) {
	if f.quick {
		for name, val := range map[string]string{"conns": "10,100", "duration": "500ms", "warmup": "200ms"} {
			if !cmd.Flags().Changed(name) {
				cmd.Flags().Set(name, val)
			}
		}
	}
	cfg := matrix.Config{
		Mode: loadgen.Mode(f.mode), Depth: f.depth, Rate: f.rate, IdleConns: f.idle,
		Duration: f.duration, Warmup: f.warmup, Repeat: f.repeat, Version: buildinfo.Version(),
	}
	var err error
	if f.models == "" {
		cfg.Models = servers.AvailableNames()
	} else {
		for _, m := range splitList(f.models) {
			if _, err := servers.Lookup(m); errors.Is(err, servers.ErrUnknownModel) {
				return cfg, usageErr("run: %v", err)
			}
			cfg.Models = append(cfg.Models, m)
		}
	}
	if cfg.Conns, err = intList("--conns", f.conns, 1); err != nil {
		return cfg, err
	}
	if cfg.Sizes, err = intList("--sizes", f.sizes, 1); err != nil {
		return cfg, err
	}
	for _, w := range splitList(f.works) {
		if _, err := servers.ParseWork(w); err != nil {
			return cfg, usageErr("run: %v", err)
		}
		cfg.Works = append(cfg.Works, w)
	}
	if f.repeat < 1 {
		return cfg, usageErr("run: --repeat must be at least 1")
	}
	// Check the load settings the way `load` would, once, before any cell.
	probe := loadgen.Config{Addr: "127.0.0.1:1", Mode: cfg.Mode, Conns: 1, Depth: f.depth, Rate: f.rate,
		SizeMin: cfg.Sizes[0], SizeMax: slicesMax(cfg.Sizes), Duration: f.duration, Warmup: f.warmup, IdleConns: f.idle}
	if err := probe.Normalize(); err != nil {
		return cfg, usageErr("run: %v", err)
	}
	switch {
	case f.serverCPUs == "" && f.clientCPUs == "":
		cfg.ServerCPUs, cfg.ClientCPUs, _ = matrix.DefaultCPUs() // none on one CPU: not pinned, said in the report
	case f.serverCPUs == "" || f.clientCPUs == "":
		return cfg, usageErr("run: give both --server-cpus and --client-cpus, or neither")
	default:
		if cfg.ServerCPUs, err = matrix.ParseCPUs(f.serverCPUs); err != nil {
			return cfg, usageErr("run: --server-cpus: %v", err)
		}
		if cfg.ClientCPUs, err = matrix.ParseCPUs(f.clientCPUs); err != nil {
			return cfg, usageErr("run: --client-cpus: %v", err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return cfg, fmt.Errorf("run: can't find this program to start servers: %w", err)
	}
	cfg.ServerCmd = []string{exe}
	return cfg, nil
}

func runMatrix(cmd *cobra.Command, f *runFlags) error {
	cfg, err := f.config(cmd)
	if err != nil {
		return err
	}
	out := f.out
	if out == "" {
		out = filepath.Join("iobench-runs", time.Now().Format("20060102-150405"))
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	stderr := cmd.ErrOrStderr()
	resultsPath := filepath.Join(out, "results.json")
	var checkpointErr error
	cfg.Checkpoint = func(s *results.Suite) { checkpointErr = s.WriteFile(resultsPath) }
	cfg.Logf = func(format string, args ...any) { fmt.Fprintf(stderr, "iobench run: "+format+"\n", args...) }
	var bar *progressbar.ProgressBar
	if isTerminal(stderr) && !f.quiet {
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
	}

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	suite, err := matrix.Run(ctx, cfg)
	if bar != nil {
		bar.Clear()
	}
	if err != nil {
		return err
	}
	_, dirErr := report.WriteDir(out, suite)
	errs := []error{suite.WriteFile(resultsPath), checkpointErr, dirErr, report.WriteTerminal(cmd.OutOrStdout(), suite)}
	if f.benchfmt != "" {
		errs = append(errs, writeBenchfmt(f.benchfmt, suite))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "\nwrote %s (report.md, results.json, summary.csv, charts)\n", out)
	if suite.Interrupted {
		return &exitError{code: 130, err: errors.New("interrupted; the cells measured so far are written")}
	}
	return nil
}

func newReportCmd() *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "report PATH...",
		Short: "Rebuild the report from saved results (merging several runs)",
		Long: `Rebuild the tables, report.md, summary.csv and charts from results.json files
or the folders holding them. Several suites are merged (their cells pooled:
repetitions of the same model and scenario are aggregated together).`,
		Example: `  iobench report iobench-runs/20261126-101500
  iobench report run1/results.json run2/results.json --format md --out merged`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "md" && format != "csv" && format != "benchfmt" {
				return usageErr("report: --format %q: want md, csv, table or benchfmt", format)
			}
			var suites []*results.Suite
			for _, p := range args {
				s, err := results.ReadSuite(p)
				if err != nil {
					return &exitError{code: 2, err: err}
				}
				suites = append(suites, s)
			}
			s := results.Merge(suites...)
			var charts []report.Chart
			if out != "" {
				var err error
				if charts, err = report.WriteDir(out, s); err != nil {
					return err
				}
				if err := s.WriteFile(filepath.Join(out, "results.json")); err != nil {
					return err
				}
			}
			w := cmd.OutOrStdout()
			switch format {
			case "table":
				return report.WriteTerminal(w, s)
			case "md":
				return report.WriteMarkdown(w, s, charts)
			case "csv":
				return report.WriteCSV(w, s)
			case "benchfmt":
				return report.WriteBenchfmt(w, s)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "md, csv, table or benchfmt (printed on stdout)")
	cmd.Flags().StringVar(&out, "out", "", "also write the merged results.json, report.md, summary.csv and charts to this folder")
	return cmd
}

func writeBenchfmt(path string, s *results.Suite) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := report.WriteBenchfmt(f, s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func intList(flag, s string, least int) ([]int, error) {
	var out []int
	for _, p := range splitList(s) {
		n, err := strconv.Atoi(p)
		if err != nil || n < least {
			return nil, usageErr("run: %s %q: want whole numbers ≥ %d, comma-separated", flag, s, least)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, usageErr("run: %s is empty", flag)
	}
	return out, nil
}

func slicesMax(v []int) int {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
