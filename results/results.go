// Package results owns the versioned JSON schema of an iobench run: what
// was asked, where it ran, what was measured, and the histograms encoded
// so that runs can be merged exactly later. It reads, writes and checks
// runs; it measures nothing.
package results

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"slices"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// SchemaVersion is the version of Run's and Suite's JSON form. A field
// that changed meaning must bump it. Decoding reads this version and
// those in ReadsSchemas: 2 made warnings and failures objects with a
// code (Warning); schema 1's "label: detail" lines are read into them.
const SchemaVersion = 2

// ReadsSchemas are the older versions still read.
var ReadsSchemas = []int{1}

// Histogram range: 1 µs to 60 s in nanoseconds, 3 significant figures.
const (
	HistLowest  = int64(time.Microsecond)
	HistHighest = int64(60 * time.Second)
	HistDigits  = 3
)

// NewHistogram returns an empty latency histogram in nanoseconds.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(HistLowest, HistHighest, HistDigits)
}

// Record adds v nanoseconds to h, clamping to the histogram's range so that
// an outlier is counted at the ceiling rather than dropped.
func Record(h *hdrhistogram.Histogram, v int64) { RecordN(h, v, 1) }

// RecordN records n values of v, clamped as Record does.
func RecordN(h *hdrhistogram.Histogram, v, n int64) {
	_ = h.RecordValues(min(max(v, 0), HistHighest), n)
}

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

// Percentiles of a latency histogram, in nanoseconds.
type Percentiles struct {
	P50   int64 `json:"p50"`
	P90   int64 `json:"p90"`
	P99   int64 `json:"p99"`
	P999  int64 `json:"p999"`
	P9999 int64 `json:"p9999"`
	Max   int64 `json:"max"`
	Count int64 `json:"count"`
	// Open counts requests still unanswered when the window closed,
	// recorded at their age then (a lower bound of their latency);
	// LowerFrom names the lowest percentile that rests on them ("p99"):
	// it and every one above it are lower bounds, the true figures may
	// be higher.
	Open      int64  `json:"open,omitempty"`
	LowerFrom string `json:"lower_from,omitempty"`
}

// Quantiles are the percentiles Percentiles holds, by name.
var Quantiles = []struct {
	Name string
	Q    float64
}{{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p999", 99.9}, {"p9999", 99.99}, {"max", 100}}

// Get is the percentile named name (one of Quantiles) and whether it is
// a lower bound.
func (p Percentiles) Get(name string) (v int64, lowerBound bool) {
	lowerBound = p.LowerFrom != "" && quantileOf(name) >= quantileOf(p.LowerFrom)
	switch name {
	case "p50":
		return p.P50, lowerBound
	case "p90":
		return p.P90, lowerBound
	case "p99":
		return p.P99, lowerBound
	case "p999":
		return p.P999, lowerBound
	case "p9999":
		return p.P9999, lowerBound
	}
	return p.Max, lowerBound
}

func quantileOf(name string) float64 {
	for _, q := range Quantiles {
		if q.Name == name {
			return q.Q
		}
	}
	return 100
}

// PercentilesOf reads the percentiles of h.
func PercentilesOf(h *hdrhistogram.Histogram) Percentiles {
	if h == nil || h.TotalCount() == 0 {
		return Percentiles{}
	}
	v := h.ValueAtPercentiles([]float64{50, 90, 99, 99.9, 99.99})
	return Percentiles{P50: v[50], P90: v[90], P99: v[99], P999: v[99.9], P9999: v[99.99],
		Max: h.Max(), Count: h.TotalCount()}
}

// PercentilesWithOpen reads the percentiles of the answered requests'
// latencies (done) together with the unanswered ones' ages (open, lower
// bounds), and marks the lowest percentile that rests on an open one:
// whose value (within the histogram's precision) is the age of a
// request still unanswered, so the true figure may be higher. Young
// requests in flight at a healthy end sit below the tail and mark
// nothing; a backlog or a stalled connection does. done gets open
// merged in.
func PercentilesWithOpen(done, open *hdrhistogram.Histogram) Percentiles {
	n := open.TotalCount()
	done.Merge(open)
	p := PercentilesOf(done)
	if n == 0 {
		return p
	}
	p.Open = n
	var bars []hdrhistogram.Bar
	for _, b := range open.Distribution() {
		if b.Count > 0 {
			bars = append(bars, b)
		}
	}
	for _, q := range Quantiles {
		v, _ := p.Get(q.Name)
		if slices.ContainsFunc(bars, func(b hdrhistogram.Bar) bool { return done.ValuesAreEquivalent(v, b.From) || v >= b.From && v <= b.To }) {
			p.LowerFrom = q.Name
			break
		}
	}
	return p
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

// Fairness of replies over the busy connections.
// FairJain: a run whose Jain index is below it, or that left a busy
// connection without a reply, served some connections at the others'
// expense; its latency covers only the replies it gave. results owns the
// rule; loadgen warns by it and report ranks by it.
const FairJain = 0.9

// Fair reports whether service was fair (see FairJain).
func (f Fairness) Fair() bool { return f.Jain >= FairJain && f.ZeroConn == 0 }

type Fairness struct {
	Jain     float64 `json:"jain"` // (Σx)² / (n·Σx²): 1 is perfectly even, 1/n is one connection got all
	Min      uint64  `json:"min"`
	Median   uint64  `json:"median"`
	Max      uint64  `json:"max"`
	ZeroConn int     `json:"zero_reply_conns"` // connections that got no reply in the window
	// The sums Jain's index is made of, so that shards merge exactly.
	Conns int     `json:"conns"`
	Sum   uint64  `json:"sum"`
	SumSq float64 `json:"sum_sq"`
}

// FairnessOf computes Jain's index and the spread of per-connection counts.
func FairnessOf(counts []uint64) Fairness {
	if len(counts) == 0 {
		return Fairness{}
	}
	s := append([]uint64(nil), counts...)
	slices.Sort(s)
	f := Fairness{Min: s[0], Max: s[len(s)-1], Median: s[len(s)/2], Conns: len(s)}
	for _, x := range s {
		f.Sum += x
		f.SumSq += float64(x) * float64(x)
		if x == 0 {
			f.ZeroConn++
		}
	}
	if f.SumSq > 0 {
		f.Jain = float64(f.Sum) * float64(f.Sum) / (float64(len(s)) * f.SumSq)
	}
	return f
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

// ClientCPU is the load generator's own CPU use over the measured window.
// GeneratorBoundAt: a generator that used more than this share of its
// cores over the window may be the bottleneck, not the server (the
// "generator-bound" note). The one threshold of it.
const GeneratorBoundAt = 0.8

// GeneratorBound says whether utilization is past GeneratorBoundAt.
func GeneratorBound(utilization float64) bool { return utilization > GeneratorBoundAt }

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

// Histograms are HdrHistogram V2 compressed, base64 encoded.
type Histograms struct {
	Latency            string `json:"latency"`
	LatencyUncorrected string `json:"latency_uncorrected,omitempty"`
	// Lateness (rate mode) is the generator's own: each message's
	// actual send time minus its scheduled one.
	Lateness string `json:"lateness,omitempty"`
	Connect  string `json:"connect"`
}

// EncodeHistogram encodes h for Histograms.
func EncodeHistogram(h *hdrhistogram.Histogram) (string, error) {
	if h == nil {
		return "", nil
	}
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	return string(b), err
}

// DecodeHistogram decodes one of Histograms' fields.
// Only iobench's own histograms are read (its range and precision,
// checked in the header before the counts are allocated): a crafted one
// of range 1..2^62 at 5 digits costs ~50 MB and a second of CPU each.
func DecodeHistogram(s string) (*hdrhistogram.Histogram, error) {
	if s == "" {
		return nil, nil
	}
	if err := checkHistogramHeader(s); err != nil {
		return nil, fmt.Errorf("results: bad histogram: %w", err)
	}
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("results: bad histogram: %w", err)
	}
	return h, nil
}

// checkHistogramHeader reads an encoded histogram's header (V2
// compressed: an 8-byte cookie and length, then zlib holding a 40-byte
// header: cookie, payload length, offset, digits, lowest, highest,
// ratio) and accepts only NewHistogram's range and precision.
func checkHistogramHeader(s string) error {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	if len(raw) < 8 {
		return errors.New("too short")
	}
	z, err := zlib.NewReader(bytes.NewReader(raw[8:]))
	if err != nil {
		return err
	}
	defer z.Close()
	var hdr [40]byte
	if _, err := io.ReadFull(z, hdr[:]); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	digits := int32(binary.BigEndian.Uint32(hdr[12:]))
	lowest := int64(binary.BigEndian.Uint64(hdr[16:]))
	highest := int64(binary.BigEndian.Uint64(hdr[24:]))
	if digits != HistDigits || lowest != HistLowest || highest != HistHighest {
		return fmt.Errorf("range %d..%d at %d digits: iobench writes %d..%d at %d", lowest, highest, digits, HistLowest, int64(HistHighest), HistDigits)
	}
	return nil
}

// Latency decodes the run's main latency histogram.
func (r *Run) Latency() (*hdrhistogram.Histogram, error) {
	return DecodeHistogram(r.Histograms.Latency)
}

// Write writes r as indented JSON.
func (r *Run) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteFile writes r to path, replacing it whole or not at all.
func (r *Run) WriteFile(path string) error { return writeJSONFile(path, r) }

func writeFileAtomic(path string, data []byte) error {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		// A device or pipe (/dev/stdout): write through, nothing to replace.
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("results: %w", err)
		}
		_, err = f.Write(data)
		return errors.Join(err, f.Close())
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("results: %w", err)
	}
	return nil
}

// ErrSchema is returned for a run of another schema version.
var ErrSchema = errors.New("unsupported schema version")

// decodeVersioned decodes data into v, strictly (no unknown fields, and
// within the limits of checkShape),
// after checking its schema version and, when kind is not "", its kind:
// the one reader of every versioned document this package owns.
func decodeVersioned(data []byte, what, kind string, v any) error {
	probe, err := readHead(data)
	if err != nil {
		return fmt.Errorf("results: not an iobench %s: %w", what, err)
	}
	if probe.Schema == nil || probe.Kind != kind {
		return fmt.Errorf("results: not an iobench %s (no \"schema\" field, or \"kind\" is not %q)", what, kind)
	}
	if *probe.Schema != SchemaVersion && !slices.Contains(ReadsSchemas, *probe.Schema) {
		return fmt.Errorf("results: %w %d (this iobench reads %d and %v)", ErrSchema, *probe.Schema, SchemaVersion, ReadsSchemas)
	}
	// Checked first, without decoding: then decoded in place (an
	// encoding/json Decoder would copy the whole document first).
	if err := checkShape(data, reflect.TypeOf(v)); err != nil {
		return fmt.Errorf("results: malformed %s: %w", what, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("results: malformed %s: %w", what, err)
	}
	return nil
}

// head is what a document says it is: its schema version and kind.
type head struct {
	Schema *int   `json:"schema"`
	Kind   string `json:"kind"`
}

// readHead finds the top-level "schema" and "kind" of a JSON document.
// iobench writes them first, so it reads tokens only up to the first
// object or array (a suite's cells come after): the document is parsed
// in full once, by the decode that follows. A document that puts them
// later (written by hand) is parsed for them in full.
func readHead(data []byte) (head, error) {
	var h head
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		if err == nil {
			err = fmt.Errorf("a JSON object was expected, not %v", t)
		}
		return h, err
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return h, err
		}
		t, err := dec.Token()
		if err != nil {
			return h, err
		}
		if _, nested := t.(json.Delim); nested {
			break // the rest is data: look no further this way
		}
		switch k {
		case "schema":
			n, ok := t.(json.Number)
			v, err := n.Int64()
			if !ok || err != nil || v != int64(int(v)) {
				return h, fmt.Errorf("\"schema\" is %v, not a version number", t)
			}
			i := int(v)
			h.Schema = &i
		case "kind":
			str, ok := t.(string)
			if !ok {
				return h, fmt.Errorf("\"kind\" is %v, not a string", t)
			}
			h.Kind = str
		}
		if h.Schema != nil && h.Kind != "" {
			return h, nil
		}
	}
	var full head
	if err := json.Unmarshal(data, &full); err != nil {
		return h, err
	}
	return full, nil
}

// writeJSONFile writes v as indented JSON to path, whole or not at all.
func writeJSONFile(path string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	return writeFileAtomic(path, buf.Bytes())
}

// DecodeRun parses and checks one run.
func DecodeRun(data []byte) (*Run, error) {
	var r Run
	if err := decodeVersioned(data, "run", "", &r); err != nil {
		return nil, err
	}
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("results: malformed run: %w", err)
	}
	return &r, nil
}

// check rejects values no run can have: what `report`, `compare` and
// `merge` would otherwise print or add up as if measured.
func (r *Run) check() error {
	c := r.Config
	p := r.LatencyNS
	switch {
	case c.Conns < 0 || c.IdleConns < 0 || c.Depth < 0 || c.SizeMin < 0 || c.SizeMax < c.SizeMin || c.Workers < 0 || c.DurationNS < 0 || c.WarmupNS < 0:
		return errors.New("negative or inverted settings (conns, depth, size, workers or durations)")
	case p.P50 < 0 || p.P99 < 0 || p.Max < 0 || p.P50 > p.P99 && p.P99 > 0:
		return errors.New("impossible latency percentiles")
	case math.IsNaN(r.Fairness.Jain) || r.Fairness.Jain < 0 || r.Fairness.Jain > 1.000001:
		return errors.New("fairness outside [0, 1]")
	case r.Shard != nil && (r.Shard.Count < 1 || r.Shard.Index < 0 || r.Shard.Index >= r.Shard.Count):
		return fmt.Errorf("shard %d/%d: want 0 ≤ index < count", r.Shard.Index, r.Shard.Count)
	case r.MeasuredNS < 0:
		return errors.New("negative measured_ns")
	case math.IsNaN(r.ThroughputPerSec) || r.ThroughputPerSec < 0 || r.ThroughputPerSec > MaxThroughput || math.IsNaN(r.BytesPerSec) || r.BytesPerSec < 0 || math.IsInf(r.BytesPerSec, 0):
		return fmt.Errorf("throughput_per_sec %g (or bytes_per_sec %g): want 0 to %g", r.ThroughputPerSec, r.BytesPerSec, float64(MaxThroughput))
	case r.Replies > 0 && r.MeasuredNS == 0:
		return fmt.Errorf("%d replies in a window of 0 ns", r.Replies)
	case len(r.Shards) == 0 && r.MeasuredNS > 0 && math.Abs(r.ThroughputPerSec-float64(r.Replies)/(float64(r.MeasuredNS)/1e9)) > 0.01*r.ThroughputPerSec+1:
		// (A merged run adds its shards' rates over windows of their own.)
		return fmt.Errorf("throughput_per_sec %g is not its %d replies over %d ns", r.ThroughputPerSec, r.Replies, r.MeasuredNS)
	case r.Connections.Requested < 0 || r.Connections.Established < 0 || r.Connections.Failed < 0:
		return errors.New("negative connection count")
	case r.Connections.Established+r.Connections.Failed > r.Connections.Requested:
		return errors.New("more connections established and failed than requested")
	}
	if len(r.ConnReplies) > 0 {
		var sum uint64
		for _, n := range r.ConnReplies {
			if sum+n < sum {
				return errors.New("connection_replies overflow")
			}
			sum += n
		}
		if sum != r.Replies {
			return fmt.Errorf("connection_replies add up to %d, replies is %d", sum, r.Replies)
		}
	}
	for name, s := range map[string]string{"latency": r.Histograms.Latency, "latency_uncorrected": r.Histograms.LatencyUncorrected, "connect": r.Histograms.Connect} {
		if _, err := DecodeHistogram(s); err != nil {
			return fmt.Errorf("histogram %s: %w", name, err)
		}
	}
	return nil
}

// MaxThroughput bounds a run's replies/s: far above what any one host
// can echo (a 64-byte round trip costs a few µs of CPU), far below a
// number that only a crafted file holds.
const MaxThroughput = 1e9

// MaxFileSize bounds every results file iobench reads: far above any real
// run or suite (a 5-repetition 140-cell suite is ~3 MB), far below what
// would take minutes and gigabytes to decode.
const MaxFileSize = 256 << 20

// readBounded reads path, refusing files over MaxFileSize.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	defer f.Close()
	// A regular file says its size: refused before a byte is read, and
	// read into a buffer of its size (io.ReadAll's doubling would peak
	// near twice it).
	var data []byte
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		if st.Size() > MaxFileSize {
			return nil, fmt.Errorf("results: %s is larger than %d MiB (%d MiB), more than any iobench result: refused", path, MaxFileSize>>20, st.Size()>>20)
		}
		data = make([]byte, 0, st.Size()+1) // +1: sees a file that grew
	}
	data, err = readAllInto(data, io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("results: %s is larger than %d MiB, more than any iobench result: refused", path, MaxFileSize>>20)
	}
	return data, nil
}

// readAllInto appends all of r to buf, growing it only when full.
func readAllInto(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// ReadRunFile reads and checks the run in path.
func ReadRunFile(path string) (*Run, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	r, err := DecodeRun(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// WriteHgrm writes h's percentile distribution in the text format of
// HdrHistogram's plotter (values in microseconds).
// Values are in microseconds (the histogram's nanoseconds over 1000), and
// a last comment line says so: HdrHistogram's plotter labels its axis in
// milliseconds unless told the ratio.
func WriteHgrm(w io.Writer, h *hdrhistogram.Histogram) error {
	if _, err := h.PercentilesPrint(w, 5, 1000); err != nil {
		return err
	}
	_, err := io.WriteString(w, "#[Values in microseconds: in HdrHistogram's plotter read its \"ms\" as µs, or scale by 1000]\n")
	return err
}
