package servers

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// Settings are a model's tunables: what makes a variant of it (epoll
// with 4 loops, io_uring with single-shot recv). The zero value of each
// is the model's default. They are parsed once (ParseSpec, or serve's
// flags), checked once (Check), and carried typed to a server child, an
// agent and every result.
type Settings struct {
	// Loops: epoll runs this many event loops sharing the port with
	// SO_REUSEPORT (0 or 1: one).
	Loops int `json:"loops,omitempty"`
	// Edge: epoll is edge-triggered instead of level-triggered.
	Edge bool `json:"edge,omitempty"`
	// Workers: iouring hands completions to this many worker goroutines
	// (IOCP style), 0 handles them on the ring's thread; iocp runs this
	// many GetQueuedCompletionStatus workers, 0 meaning one per CPU.
	Workers int `json:"workers,omitempty"`
	// Recv: how iouring receives — multishot where the kernel has it
	// (RecvAuto), or one recv per message (RecvSingle, the textbook loop).
	Recv RecvMode `json:"recv,omitempty"`
	// BufRing: iouring receives into provided buffers (a registered
	// buffer ring, Linux 5.19) instead of one buffer per connection.
	BufRing bool `json:"buf_ring,omitempty"`
	// MaxThreads caps the blocking model's connection threads: past it a
	// new connection is refused (closed and counted), never a crash.
	MaxThreads int `json:"max_threads,omitempty"`
}

// Spec is a variant: a model and its settings. Its String is the one
// spelling everywhere (--models, tables, results): the model, then each
// setting that is not the default, in a fixed order, after colons —
// epoll:edge:loops=4, iouring:recv=single.
type Spec struct {
	Model    string   `json:"model"`
	Settings Settings `json:"settings"`
}

// Variant limits: beyond them a setting can't be what anyone means here
// (the descriptors run out first), and is refused up front.
const (
	MaxLoops   = 1024
	MaxWorkers = 1024
)

// settingNames are the settings in their spelling's order.
var settingNames = []string{"edge", "loops", "workers", "recv", "buf-ring", "max-threads"}

func (s Spec) String() string {
	var b strings.Builder
	b.WriteString(s.Model)
	st := s.Settings
	for _, name := range settingNames {
		switch {
		case name == "edge" && st.Edge, name == "buf-ring" && st.BufRing:
			b.WriteString(":" + name)
		case name == "loops" && st.Loops > 1:
			fmt.Fprintf(&b, ":loops=%d", st.Loops)
		case name == "workers" && st.Workers > 0:
			fmt.Fprintf(&b, ":workers=%d", st.Workers)
		case name == "recv" && st.Recv != RecvAuto:
			fmt.Fprintf(&b, ":recv=%s", st.Recv)
		case name == "max-threads" && st.MaxThreads > 0:
			fmt.Fprintf(&b, ":max-threads=%d", st.MaxThreads)
		}
	}
	return b.String()
}

// IsVariant reports whether s sets anything beyond the model's defaults.
func (s Spec) IsVariant() bool { return s.Settings != Settings{} }

// ParseSpec parses a variant's spelling: a model name, then settings
// after colons ("epoll:loops=4:edge", "iouring:recv=single"). A model
// this build does not know, a setting the model does not have, or a
// value it can't take is an error wrapping ErrUnknownModel or ErrConfig.
func ParseSpec(s string) (Spec, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	m, ok := ModelNamed(parts[0])
	if !ok {
		return Spec{}, fmt.Errorf("servers: %w %q on %s (have: %s)", ErrUnknownModel, parts[0], runtime.GOOS, strings.Join(AvailableNames(), ", "))
	}
	spec := Spec{Model: m.Name}
	seen := map[string]bool{}
	for _, p := range parts[1:] {
		key, val, hasVal := strings.Cut(p, "=")
		if !slices.Contains(m.Tunables, key) {
			return Spec{}, fmt.Errorf("servers: %w: %s has no setting %q in %q (its settings: %s)", ErrConfig, m.Name, key, s, m.settingList())
		}
		if seen[key] {
			return Spec{}, fmt.Errorf("servers: %w: %s given twice in %q", ErrConfig, key, s)
		}
		seen[key] = true
		if err := spec.Settings.set(key, val, hasVal); err != nil {
			return Spec{}, fmt.Errorf("servers: %w: %q: %v", ErrConfig, s, err)
		}
	}
	return spec, spec.Check()
}

// set sets the setting key from its spelled value.
func (st *Settings) set(key, val string, hasVal bool) error {
	count := func(lo, hi int) (int, error) {
		n, err := strconv.Atoi(val)
		if !hasVal || err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("%s=%s: want %s=N with %d ≤ N ≤ %d", key, val, key, lo, hi)
		}
		return n, nil
	}
	flag := func() (bool, error) {
		switch {
		case !hasVal || val == "true":
			return true, nil
		case val == "false":
			return false, nil
		}
		return false, fmt.Errorf("%s=%s: want %s alone (or =true, =false)", key, val, key)
	}
	var err error
	switch key {
	case "loops":
		st.Loops, err = count(1, MaxLoops)
	case "workers":
		st.Workers, err = count(1, MaxWorkers)
	case "max-threads":
		st.MaxThreads, err = count(1, 1_000_000)
	case "edge":
		st.Edge, err = flag()
	case "buf-ring":
		st.BufRing, err = flag()
	case "recv":
		if !hasVal {
			return fmt.Errorf("recv: want recv=%s", strings.Join(recvModes, ", recv="))
		}
		st.Recv, err = ParseRecvMode(val)
	}
	return err
}

// Check is the one check of a variant's settings, wherever they came
// from (a spelling, serve's flags, an agent's request): each a setting
// of the model, each in range, and no pair that contradicts itself.
func (s Spec) Check() error {
	m, ok := ModelNamed(s.Model)
	if !ok {
		return fmt.Errorf("servers: %w %q", ErrUnknownModel, s.Model)
	}
	st := s.Settings
	for _, c := range []struct {
		name string
		set  bool
	}{
		{"loops", st.Loops > 1}, {"edge", st.Edge}, {"workers", st.Workers != 0}, {"recv", st.Recv != RecvAuto},
		{"buf-ring", st.BufRing}, {"max-threads", st.MaxThreads != 0},
	} {
		if c.set && !slices.Contains(m.Tunables, c.name) {
			return fmt.Errorf("servers: %w: %s has no setting %s (its settings: %s)", ErrConfig, m.Name, c.name, m.settingList())
		}
	}
	switch {
	case st.Loops < 0 || st.Loops > MaxLoops:
		return &SettingError{Setting: "loops", Value: st.Loops, Want: fmt.Sprintf("1 to %d", MaxLoops)}
	case st.Workers < 0 || st.Workers > MaxWorkers:
		return &SettingError{Setting: "workers", Value: st.Workers, Want: fmt.Sprintf("0 to %d", MaxWorkers)}
	case st.MaxThreads < 0:
		return &SettingError{Setting: "max-threads", Value: st.MaxThreads, Want: "at least 1"}
	case st.Recv < RecvAuto || st.Recv > RecvSingle:
		return &SettingError{Setting: "recv", Value: int(st.Recv), Want: strings.Join(recvModes, ", ")}
	case st.Recv == RecvMultishot && st.Workers > 0:
		return fmt.Errorf("servers: %w: iouring's workers take single-shot completions: recv multishot needs workers 0", ErrConfig)
	}
	return nil
}

// SettingsSyntax is how --models spells m's settings ("edge, loops=N"),
// "none" when it has none.
func (m Model) SettingsSyntax() string {
	var out []string
	for _, name := range settingNames {
		if !slices.Contains(m.Tunables, name) {
			continue
		}
		switch name {
		case "loops", "workers", "max-threads":
			out = append(out, name+"=N")
		case "recv":
			out = append(out, "recv="+strings.Join(recvModes[1:], "|"))
		default:
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// settingDocs say what each setting does; which models have it is the
// catalogue's (Model.Tunables): SettingHelp joins the two.
var settingDocs = map[string]string{
	"loops":       "event loops (rings), each its own listener sharing the port with SO_REUSEPORT",
	"edge":        "edge-triggered instead of level-triggered",
	"workers":     "worker threads taking completions from one queue (iouring: 0 = inline on the ring's thread; iocp: 0 = one per CPU)",
	"buf-ring":    "with recv single: receive into provided buffers (Linux 5.19), none held by idle connections (multishot always does)",
	"recv":        "auto (multishot where the kernel has it), multishot, or single (one recv per message, the textbook loop)",
	"max-threads": "refuse connections past this many threads (default 10000)",
}

// SettingHelp is a setting's help: the models of this OS's catalogue
// that have it, and what it does.
func SettingHelp(name string) string {
	var models []string
	for _, m := range Models() {
		if slices.Contains(m.Tunables, name) {
			models = append(models, m.Name)
		}
	}
	return strings.Join(models, ", ") + ": " + settingDocs[name]
}

// settingList names m's settings for a message.
func (m Model) settingList() string {
	if len(m.Tunables) == 0 {
		return "none"
	}
	return strings.Join(m.Tunables, ", ")
}

// ModelNamed is the catalogue's entry called name, on any OS.
func ModelNamed(name string) (Model, bool) {
	for _, m := range Models() {
		if m.Name == name {
			return m, true
		}
	}
	return Model{}, false
}

// MarshalText spells the mode as ParseRecvMode reads it.
func (m RecvMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads ParseRecvMode's spelling.
func (m *RecvMode) UnmarshalText(b []byte) error {
	v, err := ParseRecvMode(string(b))
	*m = v
	return err
}
