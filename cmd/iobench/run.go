package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"iobench/cmd/internal/agent"
	"iobench/cmd/internal/matrix"
	"iobench/internal/buildinfo"
	"iobench/loadgen"
	"iobench/report"
	"iobench/results"
	"iobench/servers"
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

func (f *runFlags) config(cmd *cobra.Command) (matrix.Config, error) {
	if err := f.applyQuick(cmd); err != nil {
		return matrix.Config{}, err
	}
	cfg := matrix.Config{
		Mode: loadgen.Mode(f.mode), Depth: f.depth, Rate: f.rate, IdleConns: f.idle,
		Duration: f.duration, Warmup: f.warmup, Version: buildinfo.Version(),
		Retries: f.retries, BusyCheck: busyCheck,
	}
	stderr := cmd.ErrOrStderr()
	cfg.Logf = func(format string, args ...any) { fmt.Fprintf(stderr, "iobench run: "+format+"\n", args...) }
	// Everything that needs no server host first: bad input costs no dial.
	if err := f.repetitions(&cfg); err != nil {
		return cfg, err
	}
	if err := f.scenarios(&cfg); err != nil {
		return cfg, err
	}
	if err := f.capacity(&cfg); err != nil {
		return cfg, err
	}
	if f.agent != "" {
		if err := f.dialAgent(cmd, &cfg); err != nil {
			return cfg, err
		}
	}
	if err := f.modelList(&cfg); err != nil {
		return cfg, err
	}
	if err := f.cpus(&cfg); err != nil {
		return cfg, err
	}
	if f.client != nil {
		cfg.Host = f.client
		return cfg, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return cfg, fmt.Errorf("run: can't find this program to start servers: %w", err)
	}
	cfg.Host = matrix.Launcher{Cmd: []string{exe}}
	return cfg, nil
}

// applyQuick sets --quick's values for the flags not given.
func (f *runFlags) applyQuick(cmd *cobra.Command) error {
	if !f.quick {
		return nil
	}
	var models []string
	for _, m := range splitList(quickModels) {
		if slices.Contains(servers.AvailableNames(), m) {
			models = append(models, m)
		}
	}
	for name, val := range map[string]string{"models": strings.Join(models, ","), "conns": "100", "duration": "250ms", "warmup": "100ms", "repeat": "4"} {
		if !cmd.Flags().Changed(name) {
			if err := cmd.Flags().Set(name, val); err != nil {
				return err
			}
		}
	}
	return nil
}

// repetitions checks --repeat, --budget and --retries.
func (f *runFlags) repetitions(cfg *matrix.Config) error {
	switch n, err := strconv.Atoi(f.repeat); {
	case f.repeat == "auto":
		cfg.Repeat = autoRepeatMax
		cfg.Auto = &matrix.Auto{Min: defaultRepeat, Budget: f.budget, Settled: new(report.Settler).Settled}
	case err != nil || n < 1:
		return usageErr("run: --repeat %s: want a count of at least 1, or auto", f.repeat)
	default:
		cfg.Repeat = n
	}
	if f.budget < 0 {
		return usageErr("run: --budget %v: want 0 (none) or more", f.budget)
	}
	if f.retries < 0 || f.retries > 10 {
		return usageErr("run: --retries %d: want 0 to 10", f.retries)
	}
	return nil
}

// scenarios checks the connection counts, sizes, works and load settings.
func (f *runFlags) scenarios(cfg *matrix.Config) error {
	var err error
	if cfg.Conns, err = intList("--conns", f.conns, 1); err != nil {
		return err
	}
	if cfg.Sizes, err = intList("--sizes", f.sizes, 1); err != nil {
		return err
	}
	for _, w := range splitList(f.works) {
		work, err := servers.ParseWork(w)
		if err != nil {
			return usageErr("run: %v", err)
		}
		// One spelling per setting (cpu:0.05ms is cpu:50µs), so that
		// cells compare and merge by what they did, not how it was typed.
		if canon := work.String(); !slices.Contains(cfg.Works, canon) {
			cfg.Works = append(cfg.Works, canon)
		}
	}
	// The load settings run exposes, checked as `load` checks them, once,
	// before any cell (the rest at their defaults).
	lc := loadgen.Defaults()
	lc.Mode, lc.Depth, lc.Rate, lc.Duration, lc.Warmup, lc.IdleConns = cfg.Mode, f.depth, f.rate, f.duration, f.warmup, f.idle
	lc.SizeMin, lc.SizeMax = slices.Min(cfg.Sizes), slices.Max(cfg.Sizes)
	if err := lc.Validate(); err != nil {
		return settingErr("run", err)
	}
	return nil
}

// capacity checks --slo and the settings of the search.
func (f *runFlags) capacity(cfg *matrix.Config) error {
	if f.slo == "none" || f.slo == "" {
		if f.atRate != 0 {
			return usageErr("run: --at-rate needs --slo")
		}
		return nil
	}
	slo, err := results.ParseSLO(f.slo)
	if err != nil {
		return usageErr("run: --slo: %v", strings.TrimPrefix(err.Error(), "results: "))
	}
	conns, err := intList("--slo-conns", f.sloConns, 1)
	if err != nil {
		return err
	}
	switch {
	case f.atRate < 0 || math.IsNaN(f.atRate) || f.atRate > 1e8:
		return usageErr("run: --at-rate %g: want 0 (half the lowest knee) or a rate up to 1e8 msg/s", f.atRate)
	case f.searches < 1 || f.searches > 20:
		return usageErr("run: --searches %d: want 1 to 20", f.searches)
	case cfg.Mode != loadgen.Closed && cfg.Mode != loadgen.Rate:
		return usageErr("run: --slo searches with rate mode at each step; --mode %s measures something else: add --slo none", cfg.Mode)
	}
	cfg.Capacity = &matrix.Capacity{SLO: slo, Conns: conns, Searches: f.searches, AtRate: f.atRate,
		Step: matrix.DefaultStep, StepWarmup: matrix.DefaultStepWarmup}
	if f.quick {
		cfg.Capacity.Searches = min(f.searches, 2)
		cfg.Capacity.Step, cfg.Capacity.StepWarmup = 250*time.Millisecond, 100*time.Millisecond
	}
	return nil
}

// modelList is --models, checked against what the server host has.
func (f *runFlags) modelList(cfg *matrix.Config) error {
	names := splitList(f.models)
	switch {
	case f.models == "" && cfg.Remote != nil:
		names = cfg.Remote.Models
	case f.models == "":
		names = servers.AvailableNames()
	}
	for _, m := range names {
		// A variant (epoll:loops=4) is parsed here, once, into its typed
		// settings; its one spelling keys every table from here on.
		v, err := servers.ParseSpec(m)
		if err != nil {
			return usageErr("run: --models: %v", err)
		}
		switch {
		case cfg.Remote != nil:
			if !slices.Contains(cfg.Remote.Models, v.Model) {
				return usageErr("run: model %q is not available on the server host %s (have: %s)", v.Model, cfg.Remote.Environment.Host, strings.Join(cfg.Remote.Models, ", "))
			}
		default:
			if _, err := servers.Lookup(v.Model); errors.Is(err, servers.ErrUnknownModel) {
				return usageErr("run: %v", err)
			}
		}
		if !slices.ContainsFunc(cfg.Models, func(w servers.Spec) bool { return w.String() == v.String() }) {
			cfg.Models = append(cfg.Models, v)
		}
	}
	return nil
}

// dialAgent opens a session with --agent's agent: the servers run there.
func (f *runFlags) dialAgent(cmd *cobra.Command, cfg *matrix.Config) error {
	if f.agentCA != "" && f.agentPin != "" {
		return usageErr("run: give --agent-ca or --agent-pin, not both")
	}
	token, err := readToken(f.tokenFile)
	if err != nil {
		return usageErr("run: --token-file: %v", err)
	}
	c, err := agent.Dial(cmd.Context(), agent.ClientConfig{Addr: f.agent, Token: token, CAFile: f.agentCA, Pin: f.agentPin})
	switch {
	case errors.Is(err, agent.ErrBadToken), errors.Is(err, agent.ErrConfig):
		return &exitError{code: 2, err: fmt.Errorf("run: %s: %w", f.agent, err)}
	case err != nil:
		return fmt.Errorf("run: --agent %s: %w", f.agent, err)
	}
	f.client = c
	network := f.agent + " (agent), over a network"
	if c.Loopback() {
		network = f.agent + " (agent), over loopback"
	}
	cfg.Remote = &matrix.Remote{Models: c.Hello.Models, Facts: c.Hello.Facts, Environment: c.Environment(), Network: network}
	return nil
}

// cpus sets the server and client CPU sets, checked before anything is
// written: both or neither, disjoint, and CPUs this process may use. With
// --agent the server's are the agent's to check, and either may be given
// alone (default: neither pinned).
func (f *runFlags) cpus(cfg *matrix.Config) error {
	var err error
	if f.serverCores != "" {
		if cfg.ServerCores, err = intList("--server-cores", f.serverCores, 1); err != nil {
			return err
		}
	}
	most := 1
	if len(cfg.ServerCores) > 0 {
		most = slices.Max(cfg.ServerCores)
	}
	if cfg.Remote != nil {
		if f.serverCPUs != "" {
			if cfg.ServerCPUs, err = matrix.ParseCPUs(f.serverCPUs); err != nil {
				return usageErr("run: --server-cpus: %v", err)
			}
		}
		if f.clientCPUs != "" {
			if cfg.ClientCPUs, err = matrix.ParseCPUs(f.clientCPUs); err != nil {
				return usageErr("run: --client-cpus: %v", err)
			}
			if err := matrix.CheckCPUs(cfg.ClientCPUs); err != nil {
				return usageErr("run: %v", err)
			}
		}
		if len(cfg.ServerCores) > 0 && most > len(cfg.ServerCPUs) {
			return usageErr("run: --server-cores %d with --agent: give the server host's CPUs with --server-cpus (at least %d)", most, most)
		}
		return nil
	}
	switch {
	case f.serverCPUs == "" && f.clientCPUs == "":
		var shared bool
		cfg.ServerCPUs, cfg.ClientCPUs, shared, err = matrix.DefaultCPUs(most)
		switch {
		case err != nil:
			// One CPU (ErrNoCPUs), or no pinning on this OS: the run goes
			// on unpinned, and says so here and in the report.
			cfg.ServerCPUs, cfg.ClientCPUs = nil, nil
			cfg.Logf("server and load generator not pinned: %v", err)
			if len(cfg.ServerCores) > 0 {
				return usageErr("run: --server-cores needs the server pinned: %v", err)
			}
			return nil
		case shared:
			cfg.Logf("%d server cores take every CPU here: the generator shares them (CPUs %s); the report marks the figures as measured on shared CPUs", most, strings.Trim(fmt.Sprint(cfg.ClientCPUs), "[]"))
		}
	case f.serverCPUs == "" || f.clientCPUs == "":
		return usageErr("run: give both --server-cpus and --client-cpus, or neither")
	default:
		if cfg.ServerCPUs, err = matrix.ParseCPUs(f.serverCPUs); err != nil {
			return usageErr("run: --server-cpus: %v", err)
		}
		if cfg.ClientCPUs, err = matrix.ParseCPUs(f.clientCPUs); err != nil {
			return usageErr("run: --client-cpus: %v", err)
		}
		if err := matrix.CheckCPUs(cfg.ServerCPUs, cfg.ClientCPUs); err != nil {
			return usageErr("run: %v", err)
		}
		for _, c := range cfg.ServerCPUs {
			if slices.Contains(cfg.ClientCPUs, c) {
				cfg.Logf("CPU %d is in both --server-cpus and --client-cpus: the generator competes with the server there; the report marks the figures as measured on shared CPUs", c)
				break
			}
		}
	}
	if most > len(cfg.ServerCPUs) {
		return usageErr("run: --server-cores %d: the server has %d CPU(s) (--server-cpus %s)", most, len(cfg.ServerCPUs), strings.Trim(fmt.Sprint(cfg.ServerCPUs), "[]"))
	}
	return nil
}

// outDir makes the results folder: a new iobench-runs/TIMESTAMP (with a
// suffix when that exists: two runs in one second both keep theirs), or
// --out, which must be new or empty unless --force.
func (f *runFlags) outDir() (string, error) {
	if f.out != "" {
		ents, err := os.ReadDir(f.out)
		switch {
		case err == nil && len(ents) > 0 && !f.force:
			return "", usageErr("run: --out %s already holds files; choose a new folder or add --force to replace them", f.out)
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return "", usageErr("run: --out: %v", err)
		}
		if err := os.MkdirAll(f.out, 0o755); err != nil {
			return "", usageErr("run: --out: %v", err)
		}
		return f.out, checkOutputFile(filepath.Join(f.out, "results.json"))
	}
	if err := os.MkdirAll("iobench-runs", 0o755); err != nil {
		return "", fmt.Errorf("run: %w", err)
	}
	base := filepath.Join("iobench-runs", time.Now().Format("20060102-150405"))
	for i := 1; ; i++ {
		dir := base
		if i > 1 {
			dir = fmt.Sprintf("%s-%d", base, i)
		}
		err := os.Mkdir(dir, 0o755) // fails if it exists: a folder is never shared
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, fs.ErrExist) || i > 1000 {
			return "", fmt.Errorf("run: %w", err)
		}
	}
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
	cells, took := estimate(cfg)
	var searching time.Duration
	if cc := cfg.Capacity; cc != nil {
		searching = cc.Estimate(len(cfg.Models), len(cc.Conns)*max(1, len(cfg.ServerCores))*len(cfg.Sizes)*len(cfg.Works), cellOverhead)
	}
	if cells == 0 {
		return usageErr("run: every cell would be skipped (%s); nothing to measure", firstSkip(cfg))
	}
	out, err := f.outDir()
	if err != nil {
		return err
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
	resultsPath := filepath.Join(out, "results.json")
	var checkpointErr error
	cfg.Checkpoint = func(s *results.Suite) { checkpointErr = s.WriteFile(resultsPath) }
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

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
