package results

import (
	"fmt"
	"slices"
	"strings"

	"iobench/servers"
)

// Suite is one `iobench run`: the matrix it was asked for and every cell,
// measured or skipped.
type Suite struct {
	Schema      int         `json:"schema"`
	Kind        string      `json:"kind"` // "suite"
	Environment Environment `json:"environment"`
	Config      SuiteConfig `json:"config"`
	Cells       []Cell      `json:"cells"`
	// Interrupted: the run was cut short; the cells measured so far are here.
	Interrupted bool `json:"interrupted"`
	// ServerEnvironment is the server host's, when the servers ran on
	// another machine (iobench run --agent); Environment is then the
	// generator's. Network says how the two were connected.
	ServerEnvironment *Environment `json:"server_environment,omitempty"`
	Network           string       `json:"network,omitempty"`
	// Models are the facts of the models in Cells, as the servers that
	// ran them describe themselves, so that a report need not know them.
	Models []ModelInfo `json:"models,omitempty"`
	// Sources are the suites a merged suite was made of, when their
	// settings or machines differ (Merge); empty for one run.
	Sources []Source `json:"sources,omitempty"`
	// BusyBefore is how busy the measured CPUs were in the second before
	// measuring began, with nothing of iobench running on them.
	BusyBefore *Interference `json:"busy_before,omitempty"`
	// Capacity, with a latency target (run --slo), is each model ×
	// scenario's knee, every step of its searches kept; CommonRate is
	// the offered rate every model was also measured at (Capacity.Equal).
	Capacity   []Capacity `json:"capacity,omitempty"`
	CommonRate float64    `json:"common_rate,omitempty"`
	// Floor is what this host does at best, with no model: a bare
	// loopback round trip and a null system call.
	Floor *Floor `json:"floor,omitempty"`
}

// Floor is the machine's floor at the run's pinning.
type Floor struct {
	RoundTrip   Percentiles `json:"round_trip"` // 64 B over loopback, one connection, blocking read and write
	NullCallNS  float64     `json:"null_syscall_ns"`
	Unavailable string      `json:"unavailable,omitempty"`
}

// ModelInfo is what a report may say about a model.
type ModelInfo struct {
	Name      string `json:"name"`
	Mechanism string `json:"mechanism"`
	Summary   string `json:"summary"`
	// Impl is how the build that ran it implements the model, where
	// builds differ (the blocking loop in C or in Go).
	Impl string `json:"implementation,omitempty"`
	// Why a lead by this model fits how it works; WhyFew for ≤ 10
	// connections, when it differs.
	Why    string `json:"why,omitempty"`
	WhyFew string `json:"why_few,omitempty"`
	// Cores is how the model uses N server cores; OneThread, that it is
	// single-threaded by design.
	Cores     string `json:"cores_idiom,omitempty"`
	OneThread bool   `json:"one_thread,omitempty"`
}

// Model returns the facts of model name, if the suite has them.
// A variant's name (epoll:loops=4) finds its model's facts.
func (s *Suite) Model(name string) (ModelInfo, bool) {
	base := name
	for _, c := range s.Cells {
		if c.Model == name {
			base = c.Spec().Model
			break
		}
	}
	for _, m := range s.Models {
		if m.Name == base {
			return m, true
		}
	}
	return ModelInfo{}, false
}

// Source is one of the suites merged into another: its settings and
// where it ran, so that a report can say which cells came from where.
type Source struct {
	Environment Environment `json:"environment"`
	Config      SuiteConfig `json:"config"`
	Cells       int         `json:"cells"`
}

// SuiteConfig is the matrix asked for.
type SuiteConfig struct {
	Models     []string `json:"models"`
	Conns      []int    `json:"conns"`
	Sizes      []int    `json:"sizes"`
	Works      []string `json:"works"`
	Mode       string   `json:"mode"`
	Depth      int      `json:"depth"`
	Rate       float64  `json:"rate,omitempty"`
	IdleConns  int      `json:"idle_conns"`
	DurationNS int64    `json:"duration_ns"`
	WarmupNS   int64    `json:"warmup_ns"`
	Repeat     int      `json:"repeat"`
	// Retries is how many times a disturbed repetition is measured again.
	Retries int `json:"retries,omitempty"`
	// RepeatWhy, with --repeat auto, says how many repetitions ran and
	// why they stopped there.
	RepeatWhy  string `json:"repeat_why,omitempty"`
	ServerCPUs []int  `json:"server_cpus,omitempty"`
	ClientCPUs []int  `json:"client_cpus,omitempty"`
	// SLO, with run --slo, is the latency target capacity is searched at.
	SLO *SLO `json:"slo,omitempty"`
	// ServerCores are run --server-cores; SharedCPUs says the server and
	// the generator were given CPUs in common (their figures then
	// measure both on the same cores).
	ServerCores []int `json:"server_cores,omitempty"`
	SharedCPUs  bool  `json:"shared_cpus,omitempty"`
}

// Cell is one model × scenario × repetition.
type Cell struct {
	// Model is the variant's spelling (epoll, epoll:loops=4): what tables
	// and comparisons key by. Variant is the same as typed values: the
	// model and its settings (absent in results older than variants).
	Model   string        `json:"model"`
	Variant *servers.Spec `json:"variant,omitempty"`
	Scenario
	Rep int `json:"rep"` // 1-based repetition
	// Skipped says why the cell could not run (not a failure).
	Skipped string `json:"skipped,omitempty"`
	// Error says why a cell that should have run failed: it could not
	// start, or it ran and failed (Run then holds what was measured, and
	// its Failures the reasons). A failed cell is never ranked.
	Error  string       `json:"error,omitempty"`
	Run    *Run         `json:"run,omitempty"`
	Server *ServerUsage `json:"server,omitempty"`
	// Warnings are the cell's notes beyond its run's (the server's).
	Warnings []Warning `json:"warnings,omitempty"`
	// Interference is what else used the measured CPUs during the window.
	Interference *Interference `json:"interference,omitempty"`
	// Disturbed says why the machine, not the model, may explain this
	// repetition's figures ("" when it was quiet). A disturbed repetition
	// is measured again (Superseded then marks this one) up to the run's
	// retries; one still disturbed after them counts, labelled, but never
	// makes its model failed, unfair or a leader.
	Disturbed string `json:"disturbed,omitempty"`
	// Superseded: a re-run of this repetition replaced it; it is kept for
	// the record and counted only as a re-run.
	Superseded bool `json:"superseded,omitempty"`
	// Attempt is which measurement of the repetition this is (0: the first).
	Attempt int `json:"attempt,omitempty"`
}

// Spec is the cell's variant: as recorded, or (older results) the plain
// model its name is.
func (c Cell) Spec() servers.Spec {
	if c.Variant != nil {
		return *c.Variant
	}
	return servers.Spec{Model: c.Model}
}

// ServerFault reports whether the cell failed in a way only the server
// can explain, however busy the machine: it died, corrupted a reply, or
// closed or reset busy connections. A busy machine explains no reply or
// a stall; never these, so they are never re-run away.
func (c Cell) ServerFault() bool {
	if c.Error == "" {
		return false
	}
	if c.Server != nil && c.Server.DiedDuringRun {
		return true
	}
	return c.Run != nil && (c.Run.Errors > 0 || c.Run.Connections.ClosedByPeer > 0)
}

// Excused reports whether a failed cell's failure is the machine's: it
// was disturbed, and the failure is not the server's own.
func (c Cell) Excused() bool { return c.Disturbed != "" && !c.ServerFault() }

// Counted reports whether the cell is one of its model's repetitions
// (not skipped, not replaced by a re-run).
func (c Cell) Counted() bool { return c.Skipped == "" && !c.Superseded }

// ImpossibleCPUPct: a server CPU share (of the CPUs it was given) above
// this is a measuring error (tick resolution), not a use: never shown as
// measured, and the repetition is measured again.
const ImpossibleCPUPct = 110

// CPUPossible says whether the server's CPU share could have been used.
func (in Interference) CPUPossible() bool { return in.ServerCPUPct <= ImpossibleCPUPct }

// Interference is what the machine did besides the measurement, over one
// cell's window, on the CPUs the server and generator were pinned to.
type Interference struct {
	// CPUs are the CPUs watched (the server's and the generator's).
	CPUs []int `json:"cpus,omitempty"`
	// ForeignCPUPct: their busy time minus the server's and the
	// generator's own, as a percentage of their capacity over the window.
	ForeignCPUPct float64 `json:"foreign_cpu_pct"`
	// StealPct: time the hypervisor took from them, likewise.
	StealPct float64 `json:"steal_pct"`
	// StalledMS: measured intervals with no reply while requests waited.
	StalledMS float64 `json:"stalled_ms"`
	// ServerCPUPct: the server's CPU over the window as a percentage of
	// the CPUs it may use; above 100 it is a measuring error.
	ServerCPUPct float64 `json:"server_cpu_pct"`
	// PairStalled: the only reason the repetition was suspected is that
	// replies stopped while requests waited and neither the server nor
	// the generator ran (the machine, or the server deadlocked: a re-run
	// that stalls the same way is the server's failure).
	PairStalled bool `json:"pair_stalled,omitempty"`
	// Unavailable says why per-CPU busy time could not be read.
	Unavailable string `json:"unavailable,omitempty"`
}

// Measured reports whether the cell ran to the end without failing: only
// such cells are ranked, summarised and charted.
func (c Cell) Measured() bool { return c.Run != nil && c.Error == "" && c.Counted() }

// FirstFailure is the cell's first reason for failing, as a line: its
// run's first failure (typed, never cut from the joined Error), or the
// error it could not run with.
func (c Cell) FirstFailure() string {
	if c.Run != nil && len(c.Run.Failures) > 0 {
		return c.Run.Failures[0].String()
	}
	return c.Error
}

// Failed reports whether the cell should have run and did not succeed.
func (c Cell) Failed() bool { return c.Counted() && c.Error != "" }

// AllWarnings is every warning of the cell: its run's and its own.
func (c Cell) AllWarnings() []Warning {
	var w []Warning
	if c.Run != nil {
		w = append(w, c.Run.Warnings...)
	}
	return append(w, c.Warnings...)
}

// Scenario is what a cell's load looked like, apart from the model.
type Scenario struct {
	Mode      string  `json:"mode"`
	Conns     int     `json:"conns"`
	Size      int     `json:"size"`
	Work      string  `json:"work"`
	Depth     int     `json:"depth"`
	Rate      float64 `json:"rate,omitempty"`
	IdleConns int     `json:"idle_conns"`
	// ServerCores, with run --server-cores, is how many of the server
	// CPUs the cell's server had, each model using them in its idiom.
	ServerCores int `json:"server_cores,omitempty"`
}

// Dim is one dimension of a scenario that differs from the default
// (closed loop, depth 1, no rate, no idle connections, no work).
type Dim struct {
	Key   string // benchmark-name key: mode, depth, rate, idle, work
	Value string // benchmark-name value: "rate", "4", "20000"
	Label string // for people: "rate", "depth 4", "20000 msg/s"
}

// NonDefault lists the dimensions of s that differ from the default, in a
// fixed order: the one owner of what "default" means for a scenario.
func (s Scenario) NonDefault() []Dim {
	var d []Dim
	if s.Mode != "" && s.Mode != "closed" {
		d = append(d, Dim{"mode", s.Mode, s.Mode})
	}
	if s.Depth > 1 {
		d = append(d, Dim{"depth", fmt.Sprint(s.Depth), fmt.Sprintf("depth %d", s.Depth)})
	}
	if s.Rate > 0 {
		d = append(d, Dim{"rate", fmt.Sprintf("%.0f", s.Rate), fmt.Sprintf("%.0f msg/s", s.Rate)})
	}
	if s.IdleConns > 0 {
		d = append(d, Dim{"idle", fmt.Sprint(s.IdleConns), fmt.Sprintf("+%d idle conns", s.IdleConns)})
	}
	if s.Work != "" && s.Work != "none" {
		d = append(d, Dim{"work", s.Work, "work " + s.Work})
	}
	if s.ServerCores > 0 {
		d = append(d, Dim{"cores", fmt.Sprint(s.ServerCores), fmt.Sprintf("%d server core%s", s.ServerCores, map[bool]string{true: "", false: "s"}[s.ServerCores == 1])})
	}
	return d
}

// String is the scenario for people: mode, connections, size and depth,
// then whatever else is not the default.
func (s Scenario) String() string {
	conns := "conns"
	if s.Conns == 1 {
		conns = "conn"
	}
	return fmt.Sprintf("%s, %d %s, ", s.Mode, s.Conns, conns) + s.Family()
}

// Family is the scenario without its connection count, the family that
// charts plot over connection counts: "64 B, depth 1, +5000 idle conns".
func (s Scenario) Family() string {
	str := fmt.Sprintf("%d B, depth %d", s.Size, s.Depth)
	for _, d := range s.NonDefault() {
		if d.Key != "mode" && d.Key != "depth" {
			str += ", " + d.Label
		}
	}
	return str
}

// ServerUsage is what the server process used over the measured window
// (CPU) or its whole life (memory, threads, context switches).
type ServerUsage struct {
	PID           int     `json:"pid"`
	UserNS        int64   `json:"user_ns"`
	SysNS         int64   `json:"sys_ns"`
	CPUPerReplyNS float64 `json:"cpu_per_reply_ns"`
	MaxRSSBytes   int64   `json:"max_rss_bytes"`
	PeakThreads   int     `json:"peak_threads"`
	VolCtxSw      int64   `json:"voluntary_ctx_switches"`
	InvolCtxSw    int64   `json:"involuntary_ctx_switches"`
	// ExitedCleanly: the server exited 0 on SIGTERM within the grace time.
	ExitedCleanly bool   `json:"exited_cleanly"`
	ExitNote      string `json:"exit_note,omitempty"`
	// Kernel counts over the measured window, per reply: system calls
	// (raw_syscalls:sys_enter) and context switches, over every thread.
	// Null when they could not be counted; CountsUnavailable says why.
	KernelCounts
	// Shares are the connections each loop (ring, replica) of a
	// multi-loop server accepted, as the server counted them.
	Shares []uint64 `json:"loop_shares,omitempty"`
	// Accepted is how many connections the server accepted over its life
	// (its stop line; nil when it did not say): beside the connections
	// the generator established, it tells a stalled connection that was
	// never accepted from one accepted and never answered.
	Accepted *uint64 `json:"accepted,omitempty"`
	// DiedDuringRun: the server exited before it was asked to stop.
	DiedDuringRun bool `json:"died_during_run,omitempty"`
	// Unmeasured names the figures this OS or run could not measure
	// ("cpu", "rss", "threads", "ctx_switches"): they are unknown, not 0.
	Unmeasured []string `json:"unmeasured,omitempty"`
}

// Measured reports whether figure ("cpu", "rss", "threads",
// "ctx_switches") was measured.
func (u *ServerUsage) Measured(figure string) bool {
	return u != nil && !slices.Contains(u.Unmeasured, figure)
}

// RunSuite is a suite of one cell holding r.
func RunSuite(r *Run) *Suite { return RunsSuite("", r) }

// RunsSuite is a suite of runs of one server (load --repeat): a cell per
// run, its repetitions in order, the model named label (default "server
// HOST:PORT").
func RunsSuite(label string, runs ...*Run) *Suite {
	r := runs[0]
	c := r.Config
	if label == "" {
		label = "server " + c.Addr
	}
	s := &Suite{
		Schema: SchemaVersion, Kind: "suite", Environment: r.Environment,
		Config: SuiteConfig{Mode: c.Mode, Conns: []int{c.Conns}, Sizes: []int{c.SizeMax}, Depth: c.Depth, Rate: c.Rate,
			IdleConns: c.IdleConns, DurationNS: c.DurationNS, WarmupNS: c.WarmupNS, Repeat: len(runs)},
	}
	for i, r := range runs {
		c := r.Config
		cell := Cell{Model: label, Rep: i + 1, Run: r, Scenario: Scenario{
			Mode: c.Mode, Conns: c.Conns, Size: c.SizeMax, Work: "none", Depth: c.Depth, Rate: c.Rate, IdleConns: c.IdleConns}}
		if r.Failed() {
			cell.Error = strings.Join(Lines(r.Failures), "; ")
		}
		s.Interrupted = s.Interrupted || r.Interrupted
		s.Cells = append(s.Cells, cell)
	}
	return s
}

// Merge concatenates suites (for reports over several runs); the
// environment and config are the first's, and Interrupted is any's. When
// the suites' settings differ, Sources keeps each one's.
func Merge(suites ...*Suite) *Suite {
	if len(suites) == 0 {
		return &Suite{Schema: SchemaVersion, Kind: "suite"}
	}
	out := *suites[0]
	out.Cells = nil
	out.Sources = nil
	out.Capacity = nil
	var sources []Source
	differ := false
	for _, s := range suites {
		out.Cells = append(out.Cells, s.Cells...)
		out.Capacity = mergeCapacity(out.Capacity, s.Capacity)
		if s.CommonRate != out.CommonRate {
			out.CommonRate = 0 // the equal-load steps keep their own rates
		}
		out.Interrupted = out.Interrupted || s.Interrupted
		for _, m := range s.Models {
			if _, ok := out.Model(m.Name); !ok {
				out.Models = append(out.Models, m)
			}
		}
		if len(s.Sources) > 0 { // already a merge: keep its parts
			sources = append(sources, s.Sources...)
			differ = true
			continue
		}
		src := Source{Environment: s.Environment, Config: s.Config, Cells: len(s.Cells)}
		if len(sources) > 0 && !sameSettings(sources[0], src) {
			differ = true
		}
		sources = append(sources, src)
	}
	if differ {
		out.Sources = sources
	}
	return &out
}

// sameSettings: two suites measured alike (same timing, pinning and
// machine), so that their cells can be pooled without comment.
func sameSettings(a, b Source) bool {
	ca, cb := a.Config, b.Config
	return ca.DurationNS == cb.DurationNS && ca.WarmupNS == cb.WarmupNS &&
		slices.Equal(ca.ServerCPUs, cb.ServerCPUs) && slices.Equal(ca.ClientCPUs, cb.ClientCPUs) &&
		a.Environment.Kernel == b.Environment.Kernel && a.Environment.CPUModel == b.Environment.CPUModel &&
		a.Environment.Iobench == b.Environment.Iobench && a.Environment.Emulated == b.Environment.Emulated
}
