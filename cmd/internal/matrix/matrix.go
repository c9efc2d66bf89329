// Package matrix runs `iobench run`: every model × scenario × repetition
// as a cell, each against a fresh server child process (the same binary's
// `serve`), pinned apart from the load generator, with the child's
// resource use measured over the same window as the load.
package matrix

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"iobench/loadgen"
	"iobench/results"
	"iobench/servers"
)

// Config is the matrix.
type Config struct {
	// Models are the variants run: a model and its settings each.
	Models    []servers.Spec
	Conns     []int
	Sizes     []int
	Works     []string
	Mode      loadgen.Mode
	Depth     int
	Rate      float64
	IdleConns int
	Duration  time.Duration
	Warmup    time.Duration
	Repeat    int
	// Auto, when set, makes Repeat a cap: after Auto.Min rounds, rounds
	// are added until Auto.Settled says the verdicts hold, Repeat is
	// reached or Auto.Budget has passed.
	Auto *Auto
	// Retries: a repetition disturbed by the machine (interference.go) is
	// measured again, at the end of its round, up to this many times.
	Retries int
	// BusyCheck, when set, is how long the CPUs are watched before
	// measuring, to say how busy the machine already is.
	BusyCheck  time.Duration
	ServerCPUs []int // nil: no pinning
	ClientCPUs []int
	// ServerCores, when set, runs every cell on each count of the first
	// ServerCPUs, each model in its multi-core idiom (servers.Idiom).
	ServerCores []int
	// Host runs the servers: a Launcher of `iobench serve` children on
	// this machine, or an agent's on another.
	Host Host
	// Remote, when the servers run on another machine: the models it
	// has, its environment and how the two machines are connected.
	Remote  *Remote
	Version string
	// Progress is called before each cell (done of total) and at the end.
	Progress func(done, total int, cell results.Cell)
	// Checkpoint, when set, gets the suite after every cell, so that a
	// run killed outright still leaves what it measured.
	Checkpoint func(*results.Suite)
	// Logf receives notices (a server that did not stop cleanly).
	Logf func(format string, args ...any)
	// Capacity, when set, searches each model's capacity at a latency
	// target after the cells (capacity.go).
	Capacity *Capacity
}

// MaxRetries bounds Config.Retries.
const MaxRetries = 10

// SettingError is a setting of a Config out of range, Field named as in
// Config: the CLI maps it to its flag.
type SettingError struct {
	Field string
	Value any
	Want  string
}

func (e *SettingError) Error() string {
	return fmt.Sprintf("matrix: %s %v: want %s", e.Field, e.Value, e.Want)
}

// Validate is the one check of a matrix's settings, whoever built them:
// models and their variants, the scenarios, the repetitions, and the
// load settings as loadgen checks them (a *loadgen.SettingError).
func (c Config) Validate() error {
	if len(c.Models) == 0 {
		return &SettingError{"Models", "none", "at least one model"}
	}
	for _, m := range c.Models {
		if err := m.Check(); err != nil {
			return err
		}
	}
	return c.ValidateLoad()
}

// ValidateLoad is Validate but for the models: what can be checked
// before the models are known (before an agent is dialled).
func (c Config) ValidateLoad() error {
	switch {
	case c.Repeat < 1:
		return &SettingError{"Repeat", c.Repeat, "at least 1"}
	case c.Retries < 0 || c.Retries > MaxRetries:
		return &SettingError{"Retries", c.Retries, fmt.Sprintf("0 to %d", MaxRetries)}
	case len(c.Conns) == 0 || slices.Min(c.Conns) < 1:
		return &SettingError{"Conns", c.Conns, "counts of at least 1"}
	case len(c.Sizes) == 0 || slices.Min(c.Sizes) < 1:
		return &SettingError{"Sizes", c.Sizes, "sizes of at least 1 byte"}
	case len(c.Works) == 0:
		return &SettingError{"Works", "none", "at least one work (none, cpu:D, sleep:D)"}
	}
	for _, w := range c.Works {
		if _, err := servers.ParseWork(w); err != nil {
			return err
		}
	}
	lc := loadgen.Defaults()
	lc.Mode, lc.Depth, lc.Rate, lc.Duration, lc.Warmup, lc.IdleConns = c.Mode, c.Depth, c.Rate, c.Duration, c.Warmup, c.IdleConns
	lc.SizeMin, lc.SizeMax = slices.Min(c.Sizes), slices.Max(c.Sizes)
	return lc.Validate()
}

// Auto is --repeat auto's rule.
type Auto struct {
	Min    int
	Budget time.Duration // 0: none
	// Settled says, after a round, whether the suite's verdicts are
	// stable, and in a few words why or why not.
	Settled func(*results.Suite) (bool, string)
}

// Remote describes the server host of a run across machines.
type Remote struct {
	Models      []string            // available on the server host
	Facts       []results.ModelInfo // what its build says of them (an older agent: none)
	Environment results.Environment
	Network     string // e.g. "10.99.0.1:7700 (agent), not loopback"
}

// Run runs every cell, interleaving repetitions (A B C A B C) so drift on
// a shared machine spreads over all models. A cancelled ctx stops at once:
// the current server is stopped and the suite so far returned, marked
// interrupted.
func Run(ctx context.Context, cfg Config) (*results.Suite, error) {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	suite := newSuite(cfg)
	if len(cfg.ClientCPUs) > 0 {
		if err := pinProcess(cfg.ClientCPUs); err != nil {
			return nil, fmt.Errorf("matrix: pinning the load generator to CPUs %v: %w", cfg.ClientCPUs, err)
		}
	}
	if cfg.BusyCheck > 0 {
		suite.BusyBefore = checkBusy(ctx, cfg)
	}
	if cfg.Remote == nil {
		suite.Floor = Floor(cfg.ServerCPUs, cfg.ClientCPUs)
	}
	cells := Plan(cfg)
	began := time.Now()
	if a := cfg.Auto; a != nil {
		cells = nil
		for rep := 1; rep <= min(a.Min, cfg.Repeat); rep++ {
			cells = append(cells, planRound(cfg, rep)...)
		}
	}
	for i := 0; i < len(cells); i++ {
		if cfg.Progress != nil {
			cfg.Progress(i, len(cells), cells[i])
		}
		if ctx.Err() != nil {
			suite.Interrupted = true
			break
		}
		c := cells[i]
		if c.Skipped == "" {
			w := &watcher{cpus: watchedCPUs(cfg)}
			runCell(ctx, cfg, &c, w)
			judgeCell(cfg, &c, w)
			if c.Disturbed != "" && c.Attempt >= cfg.Retries {
				measuredAgain(&c)
			}
		}
		if c.Run != nil && c.Run.Interrupted {
			suite.Interrupted = true
		}
		if c.Disturbed != "" && !c.ServerFault() && c.Attempt < cfg.Retries && !suite.Interrupted {
			c.Superseded = true
			cells = rerun(cells, i, c)
		}
		suite.Cells = append(suite.Cells, c)
		if a := cfg.Auto; a != nil && i == len(cells)-1 && !suite.Interrupted {
			cells = append(cells, autoRound(cfg, suite, c.Rep, began)...)
		}
		if cfg.Checkpoint != nil {
			cfg.Checkpoint(suite)
		}
		if suite.Interrupted {
			break
		}
	}
	if cc := cfg.Capacity; cc != nil && !suite.Interrupted {
		slo := cc.SLO
		suite.Config.SLO = &slo
		runCapacity(ctx, cfg, suite)
		suite.Interrupted = suite.Interrupted || ctx.Err() != nil
	}
	if cfg.Progress != nil {
		cfg.Progress(len(suite.Cells), len(cells), results.Cell{})
	}
	return suite, nil
}

// newSuite is the suite's frame: what the run was asked and where.
func newSuite(cfg Config) *results.Suite {
	suite := &results.Suite{
		Schema: results.SchemaVersion, Kind: "suite",
		Environment: results.CurrentEnvironment(cfg.Version),
		Config: results.SuiteConfig{
			Models: cfg.modelNames(), Conns: cfg.Conns, Sizes: cfg.Sizes, Works: cfg.Works,
			Mode: string(cfg.Mode), Depth: cfg.Depth, Rate: cfg.Rate, IdleConns: cfg.IdleConns,
			DurationNS: int64(cfg.Duration), WarmupNS: int64(cfg.Warmup), Repeat: cfg.Repeat, Retries: cfg.Retries,
			ServerCPUs: cfg.ServerCPUs, ClientCPUs: cfg.ClientCPUs,
			ServerCores: cfg.ServerCores, SharedCPUs: sharesCPUs(cfg.ServerCPUs, cfg.ClientCPUs),
		},
		Models: cfg.modelFacts(),
	}
	if r := cfg.Remote; r != nil {
		env := r.Environment
		suite.ServerEnvironment, suite.Network = &env, r.Network
	}
	return suite
}

// checkBusy watches the CPUs before measuring and says how busy they are.
func checkBusy(ctx context.Context, cfg Config) *results.Interference {
	b := busyBefore(ctx, cfg, cfg.BusyCheck)
	switch {
	case b == nil:
	case b.Unavailable != "":
		cfg.Logf("how busy the CPUs are: unavailable: %s", b.Unavailable)
	default:
		cfg.Logf("CPUs %s before measuring: %.0f%% busy with other work, %.0f%% steal%s", cpuListString(b.CPUs), b.ForeignCPUPct, b.StealPct, busyAdvice(b))
	}
	return b
}

// autoRound decides, after round rep, whether --repeat auto runs another
// round: the next round's cells, or none (the reason is in the suite).
func autoRound(cfg Config, suite *results.Suite, rep int, began time.Time) []results.Cell {
	a := cfg.Auto
	settled, why := a.Settled(suite)
	elapsed := time.Since(began)
	perRound := elapsed / time.Duration(rep)
	switch {
	case rep < a.Min:
		return nil // fewer than asked could run (interrupted)
	case settled:
		suite.Config.RepeatWhy = fmt.Sprintf("auto: %d rounds; stopped when the verdicts held: %s", rep, why)
	case rep >= cfg.Repeat:
		suite.Config.RepeatWhy = fmt.Sprintf("auto: %d rounds, the cap; not settled: %s", rep, why)
	case a.Budget > 0 && elapsed+perRound > a.Budget:
		suite.Config.RepeatWhy = fmt.Sprintf("auto: %d rounds; the --budget %s allows no more; not settled: %s", rep, a.Budget, why)
	default:
		return planRound(cfg, rep+1)
	}
	suite.Config.Repeat = rep
	return nil
}

// rerun schedules cell i (disturbed) again at the end of its round, so
// the re-run is interleaved with the other models as the first try was.
func rerun(cells []results.Cell, i int, c results.Cell) []results.Cell {
	again := results.Cell{Model: c.Model, Variant: c.Variant, Scenario: c.Scenario, Rep: c.Rep, Attempt: c.Attempt + 1}
	at := i + 1
	for at < len(cells) && cells[at].Rep == c.Rep {
		at++
	}
	return slices.Insert(cells, at, again)
}

func busyAdvice(b *results.Interference) string {
	if b.ForeignCPUPct > foreignLimit || b.StealPct > stealLimit {
		return ": disturbed repetitions will be measured again (--retries)"
	}
	return ""
}

// modelFacts is what the models run say about themselves, for the
// report: as the server host's build says (an agent's Hello), or this
// build's.
func (cfg Config) modelFacts() []results.ModelInfo {
	facts := ModelFacts()
	if cfg.Remote != nil && len(cfg.Remote.Facts) > 0 {
		facts = cfg.Remote.Facts
	}
	return slices.DeleteFunc(slices.Clone(facts), func(m results.ModelInfo) bool {
		return !slices.ContainsFunc(cfg.Models, func(v servers.Spec) bool { return v.Model == m.Name })
	})
}

// modelNames are the variants' spellings, as results record them.
func (cfg Config) modelNames() []string {
	var names []string
	for _, v := range cfg.Models {
		names = append(names, v.String())
	}
	return names
}

// ModelFacts is what this build's models say about themselves, every one
// available here.
func ModelFacts() []results.ModelInfo {
	var out []results.ModelInfo
	for _, m := range servers.List() {
		out = append(out, results.ModelInfo{Name: m.Name, Mechanism: string(m.Mechanism), Summary: m.Summary, Impl: m.Impl, Why: m.Why, WhyFew: m.WhyFew,
			Cores: m.Cores.How, OneThread: m.Cores.OneThread})
	}
	return out
}

// stallCause says, for a run where connections stalled, whether the
// server had accepted them: one never accepted waited in its listen
// queue; one accepted and never answered was lost inside the server (or
// its OS).
func stallCause(run *results.Run, u *results.ServerUsage) (results.Warning, bool) {
	if run.Stall == nil || run.Stall.Conns == 0 || u == nil || u.Accepted == nil {
		return results.Warning{}, false
	}
	est := uint64(run.Connections.Established)
	if *u.Accepted < est {
		return results.Warn(results.CodeStalled, "the server accepted %d of the %d connections the generator established: %d waited in its listen queue, never accepted",
			*u.Accepted, est, est-*u.Accepted).WithFigure(float64(*u.Accepted)), true
	}
	return results.Warn(results.CodeStalled, "the server accepted all %d connections the generator established: the %d that stalled were accepted and not answered",
		*u.Accepted, run.Stall.Conns).WithFigure(float64(*u.Accepted)), true
}

// runCell starts the server, runs the load, stops the server, and fills c.
func runCell(ctx context.Context, cfg Config, c *results.Cell, w *watcher) {
	srv, err := cfg.Host.Start(ctx, Spec{Variant: c.Spec(), Work: c.Work, Addr: "127.0.0.1:0", CPUs: cfg.cellCPUs(*c)})
	if err != nil {
		c.Error = err.Error()
		return
	}
	var markErr error // OnWindow runs on the generator's goroutines, one at a time
	lc := loadgen.Config{
		Addr: srv.Addr(), Mode: cfg.Mode, Conns: c.Conns, Depth: c.Depth, Rate: c.Rate,
		SizeMin: c.Size, SizeMax: c.Size, Duration: cfg.Duration, Warmup: cfg.Warmup,
		IdleConns: c.IdleConns, Version: cfg.Version,
		OnWindow: func(end bool) {
			w.mark(end)
			if err := srv.Mark(ctx, end); err != nil && markErr == nil {
				markErr = err
			}
		},
	}
	run, err := loadgen.Run(ctx, lc)
	var replies uint64
	if run != nil {
		replies = run.Replies
	}
	st := srv.Stop(ctx, replies)
	if markErr != nil {
		st.Warnings = append(st.Warnings, results.Warn(results.CodeUnmeasured, "marking the window on the server failed: %v", markErr))
	}
	if err != nil {
		c.Error = err.Error()
		if !st.Clean {
			c.Error += "; server " + st.Note
		}
		return
	}
	c.Run = run
	c.Server = st.Usage
	c.Warnings = append(c.Warnings, st.Warnings...)
	if w, ok := stallCause(run, st.Usage); ok {
		c.Warnings = append(c.Warnings, w)
	}
	if !st.Clean && !st.Died {
		cfg.Logf("%s server %s", c.Model, st.Note)
	}
	var reasons []string
	if st.Died {
		reasons = append(reasons, "the server "+st.Note)
	}
	reasons = append(reasons, results.Lines(run.Failures)...)
	if len(reasons) > 0 && !run.Interrupted {
		c.Error = strings.Join(reasons, "; ")
	}
}
