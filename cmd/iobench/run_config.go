package main

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"iobench/cmd/internal/agent"
	"iobench/cmd/internal/matrix"
	"iobench/internal/buildinfo"
	"iobench/loadgen"
	"iobench/report"
	"iobench/results"
	"iobench/servers"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// run's flags read into a matrix.Config: each checked, and named in its
// error as the user typed it.

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
	if err := matrixErr(cfg.Validate()); err != nil {
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
	case err != nil:
		return usageErr("run: --repeat %s: want a count of at least 1, or auto", f.repeat)
	default:
		cfg.Repeat = n
	}
	if f.budget < 0 {
		return usageErr("run: --budget %v: want 0 (none) or more", f.budget)
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
	// The repetitions and the load settings run exposes, checked as
	// `load` checks them, once, before any cell or dial.
	return matrixErr(cfg.ValidateLoad())
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
		return f.remoteCPUs(cfg, most)
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

// remoteCPUs reads the CPU flags of a run whose servers run on an agent:
// the server's CPUs are the server host's, checked there.
func (f *runFlags) remoteCPUs(cfg *matrix.Config, most int) error {
	var err error
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

// matrixFlags spell matrix.Config's settings as run's flags.
var matrixFlags = map[string]string{
	"Models": "--models", "Repeat": "--repeat", "Retries": "--retries", "Conns": "--conns", "Sizes": "--sizes", "Works": "--work",
}

// matrixErr is matrix's (or loadgen's, or servers') refusal of run's
// settings as one line naming the flag (exit 2); nil stays nil.
func matrixErr(err error) error {
	var me *matrix.SettingError
	var se *servers.SettingError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &me):
		return usageErr("run: %s %v: want %s", cmp.Or(matrixFlags[me.Field], me.Field), me.Value, me.Want)
	case errors.As(err, &se):
		return usageErr("run: --models: %v", err)
	}
	return settingErr("run", err)
}
