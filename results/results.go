// Package results owns the versioned JSON schema of an iobench run: what
// was asked, where it ran, what was measured, and the histograms encoded
// so that runs can be merged exactly later. It reads, writes and checks
// runs; it measures nothing.
package results

// SchemaVersion is the version of Run's and Suite's JSON form. A field
// that changed meaning must bump it. Decoding reads this version and
// those in ReadsSchemas: 2 made warnings and failures objects with a
// code (Warning); schema 1's "label: detail" lines are read into them.
const SchemaVersion = 2

// ReadsSchemas are the older versions still read.
var ReadsSchemas = []int{1}

// Run is one load run against one server.
type Run struct {
	Schema      int         `json:"schema"`
	Config      RunConfig   `json:"config"`
	Environment Environment `json:"environment"`
	// Interrupted: the run was cut short (Ctrl-C); what it measured so far
	// is here, over the time it actually measured.
	Interrupted bool `json:"interrupted"`
	// MeasuredNS is the length of the measured window (after warmup).
	MeasuredNS int64 `json:"measured_ns"`

	Replies          uint64  `json:"replies"`            // verified replies in the window
	ThroughputPerSec float64 `json:"throughput_per_sec"` // replies per second
	BytesPerSec      float64 `json:"bytes_per_sec"`      // verified echoed bytes per second
	// Errors counts replies that did not match what was sent, and bytes
	// that arrived when no reply was expected.
	Errors     uint64            `json:"errors"`
	ErrorKinds map[string]uint64 `json:"error_kinds,omitempty"`

	// LatencyNS is measured from each message's intended send time in rate
	// mode (corrected for coordinated omission) and from its send time in
	// the other modes.
	LatencyNS Percentiles `json:"latency_ns"`
	// LatencyUncorrectedNS is measured from the actual send time (rate mode).
	LatencyUncorrectedNS *Percentiles `json:"latency_uncorrected_ns,omitempty"`
	ConnectNS            Percentiles  `json:"connect_latency_ns"`

	Connections Connections `json:"connections"`
	Fairness    Fairness    `json:"fairness"`
	Rate        *RateStats  `json:"rate,omitempty"`
	// WorkerReplies are the replies each of the generator's workers
	// (threads) received in the window: how its load spread.
	WorkerReplies []uint64   `json:"worker_replies,omitempty"`
	Client        ClientCPU  `json:"client"`
	Histograms    Histograms `json:"histograms"`
	// Warnings say why the numbers may not mean what they seem to.
	Warnings []Warning `json:"warnings,omitempty"`
	// Shard is this run's share of a load split over several processes
	// (load --shard I/N); Shards, in a merged run, is every shard's.
	Shard       *Shard       `json:"shard,omitempty"`
	Shards      []ShardEntry `json:"shards,omitempty"`
	StartSkewNS int64        `json:"start_skew_ns,omitempty"` // merged: latest minus earliest shard start
	// ConnReplies are the replies of each busy connection (shard runs
	// only): what makes a merged run's fairness exact, median included.
	ConnReplies []uint64 `json:"connection_replies,omitempty"`
	// Failures say why the run failed (replies corrupted, the server
	// closed or reset busy connections, no reply at all). A failed run is
	// still written whole; its numbers must not be ranked.
	Failures []Warning `json:"failures,omitempty"`
	// Series is the run over time, an entry per interval (warmup
	// included, flagged): what a window's totals hide — stalls, warm-up
	// not yet over, pauses.
	Series *Series `json:"series,omitempty"`
	// Stall says how long requests waited for their replies at worst,
	// and which connections waited past the threshold (a failure).
	Stall *Stall `json:"stall,omitempty"`
}

// Series is a run's per-interval time series.
type Series struct {
	IntervalNS int64      `json:"interval_ns"`
	Intervals  []Interval `json:"intervals"`
}

// Interval is one slice of a run. Replies and the latency percentiles
// are of the replies that arrived in it; Outstanding is how many requests
// were waiting for a reply at its end, the oldest of them OldestNS old.
type Interval struct {
	StartNS     int64  `json:"start_ns"` // since the run's start (warmup included)
	EndNS       int64  `json:"end_ns"`
	Warmup      bool   `json:"warmup,omitempty"`
	Replies     uint64 `json:"replies"`
	P50NS       int64  `json:"p50_ns"`
	P99NS       int64  `json:"p99_ns"`
	MaxNS       int64  `json:"max_ns"`
	Outstanding int    `json:"outstanding"`
	OldestNS    int64  `json:"oldest_ns"`
}

// Stall is what the generator saw of requests left waiting. An interval
// in which no reply came while requests were outstanding is a stalled
// interval; a connection whose request waited past AfterNS is a stalled
// connection, and fails the run.
type Stall struct {
	AfterNS int64 `json:"after_ns"` // the threshold
	// StalledNS sums the intervals of the measured window with no reply
	// while requests were outstanding.
	StalledNS int64 `json:"stalled_ns"`
	// Conns are the connections whose oldest request waited past AfterNS
	// (at any interval's end, or at the window's end), MaxAgeNS the
	// longest wait seen.
	Conns    int   `json:"conns"`
	MaxAgeNS int64 `json:"max_age_ns"`
	// OutstandingAtEnd are the requests still unanswered when the window
	// closed, OldestAtEndNS the oldest of them: counted, never dropped.
	OutstandingAtEnd int   `json:"outstanding_at_end"`
	OldestAtEndNS    int64 `json:"oldest_at_end_ns"`
	// Partial: stalled connections that had received part of the reply
	// they waited for (a server that sends short replies).
	Partial int `json:"partial,omitempty"`
}

// Failed reports whether the run failed (see Failures).
func (r *Run) Failed() bool { return len(r.Failures) > 0 }

// RunConfig is what the run was asked to do.
type RunConfig struct {
	Addr           string  `json:"addr"`
	Mode           string  `json:"mode"`
	Conns          int     `json:"conns"`
	IdleConns      int     `json:"idle_conns"`
	Depth          int     `json:"depth"`
	Rate           float64 `json:"rate,omitempty"`
	SizeMin        int     `json:"size_min"`
	SizeMax        int     `json:"size_max"`
	DurationNS     int64   `json:"duration_ns"`
	WarmupNS       int64   `json:"warmup_ns"`
	ConnectRate    float64 `json:"connect_rate,omitempty"`
	ConnectTimeout int64   `json:"connect_timeout_ns"`
	Workers        int     `json:"workers"`
	Engine         string  `json:"engine"` // "epoll" (Linux) or "net" (portable)
}

// Connections accounts for every connection asked for.
type Connections struct {
	Requested       int            `json:"requested"`
	Established     int            `json:"established"`
	Failed          int            `json:"failed"`
	FailedBy        map[string]int `json:"failed_by,omitempty"` // errno name → count
	ClosedByPeer    int            `json:"closed_by_peer"`      // busy connections the server closed or reset mid-run
	IdleRequested   int            `json:"idle_requested"`
	IdleEstablished int            `json:"idle_established"`
	IdleClosed      int            `json:"idle_closed_by_peer"`
	// ListenOverflows: this host's TCP accept queues overflowed this many
	// times from connecting to the window's end (Linux's
	// TcpExtListenOverflows, host-wide; a server on another host is not
	// seen). Each drops a handshake, retried a second or more later.
	ListenOverflows uint64 `json:"listen_overflows,omitempty"`
}

// RateStats describes how well rate mode held its target.
type RateStats struct {
	Target   float64 `json:"target_per_sec"`
	Achieved float64 `json:"achieved_per_sec"` // messages sent per second in the window
	// BacklogMax is the most messages that were due but not yet sent at
	// once; BacklogEnd those still due and unsent when the run ended.
	BacklogMax int64 `json:"backlog_max"`
	BacklogEnd int64 `json:"backlog_end"`
	// Unfinished counts messages due in the window whose reply had not
	// arrived by its end (sent or not): their latency is not in the
	// histogram, and would only make it worse.
	Unfinished int64 `json:"unfinished"`
	// Lateness is the generator's own lateness over the messages sent in
	// the window: actual send time minus the later of when it was due
	// and when a reply made room for it: the part of a corrected
	// tail that is the generator's, not the server's.
	Lateness Percentiles `json:"lateness"`
	// Overloaded: less than 99% of the offered rate was carried.
	Overloaded bool `json:"overloaded,omitempty"`
}

type ClientCPU struct {
	UserNS      int64   `json:"user_ns"`
	SysNS       int64   `json:"sys_ns"`
	Cores       int     `json:"cores"`       // cores the generator may use
	Utilization float64 `json:"utilization"` // (user+sys) / (window × cores)
	Bottleneck  bool    `json:"bottleneck"`  // Utilization above GeneratorBoundAt: the numbers may describe the client
	// MemoryPerConn is the generator's RSS growth from before connecting to
	// the end of the run, per established connection (0 where the OS does
	// not say); it includes the fixed cost of the histograms.
	MemoryPerConn int64 `json:"memory_per_conn_bytes"`
	// The generator's own kernel counts per reply over the window: system
	// calls (perf tracepoint) and context switches (getrusage).
	KernelCounts
}
