package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
	// Sources are the suites a merged suite was made of, when their
	// settings or machines differ (Merge); empty for one run.
	Sources []Source `json:"sources,omitempty"`
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
	ServerCPUs []int    `json:"server_cpus,omitempty"`
	ClientCPUs []int    `json:"client_cpus,omitempty"`
}

// Cell is one model × scenario × repetition.
type Cell struct {
	Model string `json:"model"`
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
	Warnings []string `json:"warnings,omitempty"`
}

// Measured reports whether the cell ran to the end without failing: only
// such cells are ranked, summarised and charted.
func (c Cell) Measured() bool { return c.Run != nil && c.Error == "" && c.Skipped == "" }

// Failed reports whether the cell should have run and did not succeed.
func (c Cell) Failed() bool { return c.Skipped == "" && c.Error != "" }

// AllWarnings is every warning of the cell: its run's and its own.
func (c Cell) AllWarnings() []string {
	var w []string
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
}

func (s Scenario) String() string {
	conns := "conns"
	if s.Conns == 1 {
		conns = "conn"
	}
	str := fmt.Sprintf("%s, %d %s, %d B, depth %d", s.Mode, s.Conns, conns, s.Size, s.Depth)
	if s.Rate > 0 {
		str += fmt.Sprintf(", %.0f msg/s", s.Rate)
	}
	if s.IdleConns > 0 {
		str += fmt.Sprintf(", +%d idle", s.IdleConns)
	}
	if s.Work != "" && s.Work != "none" {
		str += ", work " + s.Work
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

// WriteFile writes s to path atomically.
func (s *Suite) WriteFile(path string) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return err
	}
	return writeFileAtomic(path, buf.Bytes())
}

// DecodeSuite parses and checks a suite.
func DecodeSuite(data []byte) (*Suite, error) {
	var probe struct {
		Schema *int   `json:"schema"`
		Kind   string `json:"kind"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("results: not an iobench suite: %w", err)
	}
	if probe.Schema == nil || probe.Kind != "suite" {
		return nil, errors.New("results: not an iobench suite (no \"schema\" or \"kind\": \"suite\")")
	}
	if *probe.Schema != SchemaVersion {
		return nil, fmt.Errorf("results: %w %d (this iobench reads %d)", ErrSchema, *probe.Schema, SchemaVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Suite
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("results: malformed suite: %w", err)
	}
	for i, c := range s.Cells {
		if c.Run != nil {
			if err := c.Run.check(); err != nil {
				return nil, fmt.Errorf("results: malformed suite: cell %d (%s): %w", i, c.Model, err)
			}
		}
	}
	return &s, nil
}

// ReadSuite reads a suite from a results.json file or a folder holding one.
func ReadSuite(path string) (*Suite, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, "results.json")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	s, err := DecodeSuite(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
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
	var sources []Source
	differ := false
	for _, s := range suites {
		out.Cells = append(out.Cells, s.Cells...)
		out.Interrupted = out.Interrupted || s.Interrupted
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
