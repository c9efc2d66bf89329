package results

// Kernel counts per reply and the generator's CPU rule: one owner for
// the generator's figures and the server's.

// ClientCPU is the load generator's own CPU use over the measured window.
// GeneratorBoundAt: a generator that used more than this share of its
// cores over the window may be the bottleneck, not the server (the
// "generator-bound" note). The one threshold of it.
const GeneratorBoundAt = 0.8

// GeneratorBound says whether utilization is past GeneratorBoundAt.
func GeneratorBound(utilization float64) bool { return utilization > GeneratorBoundAt }

// KernelCounts are a process's kernel counts per reply over the measured
// window — the generator's (ClientCPU) and the server's (ServerUsage)
// alike, made by one rule (CountsPerReply). Null when not counted;
// CountsUnavailable and ByNameUnavailable say why, never 0s.
type KernelCounts struct {
	SyscallsPerReply    *float64 `json:"syscalls_per_reply"`
	CtxSwitchesPerReply *float64 `json:"ctx_switches_per_reply"`
	CountsUnavailable   string   `json:"counts_unavailable,omitempty"`
	// SyscallsByName is SyscallsPerReply by call (perfcount.Calls), with
	// "other" for the rest.
	SyscallsByName    map[string]float64 `json:"syscalls_by_name,omitempty"`
	ByNameUnavailable string             `json:"syscalls_by_name_unavailable,omitempty"`
}

// CountReadings are counters read as a window opened and as it closed.
type CountReadings struct {
	Syscalls   [2]uint64 // total system calls
	SyscallsOK bool      // read at both ends
	Ctx        [2]uint64 // context switches
	CtxOK      bool
	Named      [2]map[string]uint64 // system calls by name (nil: not read)
	Err        error                // why the counters are not there at all
	NamedErr   error                // why the calls by name are not
}

// CountsPerReply is the one rule from readings to KernelCounts.
func CountsPerReply(c CountReadings, replies uint64) KernelCounts {
	const unread, none = "the counters could not be read at both ends of the window", "no replies to count them over"
	var k KernelCounts
	switch {
	case c.SyscallsOK && replies > 0:
		k.SyscallsPerReply = PerReply(c.Syscalls[1]-c.Syscalls[0], replies)
	case c.Err != nil:
		k.CountsUnavailable = c.Err.Error()
	case replies == 0:
		k.CountsUnavailable = none
	default:
		k.CountsUnavailable = unread
	}
	if c.CtxOK && replies > 0 {
		k.CtxSwitchesPerReply = PerReply(c.Ctx[1]-c.Ctx[0], replies)
	}
	switch {
	case c.NamedErr != nil:
		k.ByNameUnavailable = c.NamedErr.Error()
	case c.Err != nil:
		k.ByNameUnavailable = c.Err.Error()
	case c.Named[0] == nil || c.Named[1] == nil || !c.SyscallsOK:
		k.ByNameUnavailable = unread
	case replies == 0:
		k.ByNameUnavailable = none
	default:
		k.SyscallsByName = ByName(c.Named[0], c.Named[1], c.Syscalls[1]-c.Syscalls[0], replies)
	}
	return k
}

// ByName is the calls per reply by name between two readings of the
// counters, "other" the total less the named ones.
func ByName(start, end map[string]uint64, total, replies uint64) map[string]float64 {
	out := map[string]float64{}
	var named uint64
	for name, e := range end {
		d := e - start[name]
		named += d
		if d > 0 {
			out[name] = float64(d) / float64(replies)
		}
	}
	if total > named {
		out["other"] = float64(total-named) / float64(replies)
	}
	return out
}

// PerReply is n per reply, or nil (unknown) without replies.
func PerReply(n uint64, replies uint64) *float64 {
	if replies == 0 {
		return nil
	}
	v := float64(n) / float64(replies)
	return &v
}
