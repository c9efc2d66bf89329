// Package loadgen drives any TCP echo server and measures it: closed-loop
// throughput, open-loop latency at a fixed rate (corrected for coordinated
// omission), or streaming bandwidth. Every reply is verified byte by byte.
//
// The hot path on Linux is its own epoll loop, one per worker thread, each
// worker owning a share of the connections and its own histograms, merged
// at the end; elsewhere it is a goroutine per connection on Go's net
// package. The result is a results.Run.
package loadgen

import (
	"context"
	"fmt"
	"math"
	"net"
	"runtime"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"iobench/results"
)

// Mode is how messages are sent.
type Mode string

const (
	// Closed keeps Depth messages in flight per connection: the next is
	// sent when a reply arrives. It finds the maximum throughput.
	Closed Mode = "closed"
	// Rate sends Rate messages per second over all connections on a fixed
	// schedule (open loop), whatever the replies do, at most Depth in
	// flight per connection; latency is timed from the schedule.
	Rate Mode = "rate"
	// Stream keeps each connection's pipe full and reports bandwidth.
	Stream Mode = "stream"
	// Churn runs Conns transactions at once, each a new connection that
	// sends one message, reads its echo and closes (netperf's TCP_CRR).
	Churn Mode = "churn"
)

// Config is one load run.
type Config struct {
	Addr           string
	Mode           Mode
	Conns          int
	Depth          int
	Rate           float64 // messages per second over all connections (rate mode)
	SizeMin        int     // message size; a range when SizeMax > SizeMin
	SizeMax        int
	Duration       time.Duration // measured time, after Warmup
	Warmup         time.Duration
	ConnectRate    float64 // new connections per second; 0 = as fast as possible
	ConnectTimeout time.Duration
	IdleConns      int // extra connections that stay silent all run
	// Workers is the number of threads driving connections (Linux engine)
	// or recorder shares (net engine); 0 means GOMAXPROCS.
	Workers int
	// Engine is "epoll" (Linux only, the default there) or "net".
	Engine string
	// Progress, when set, is called about once a second during the run.
	Progress func(Progress)
	// Interval is the time series' step (DefaultInterval when 0): the run
	// records replies, latency and outstanding requests per interval.
	Interval time.Duration
	// OnInterval, when set, gets each interval as it closes, with its
	// latency histogram (for an interval log); it must not keep h.
	OnInterval func(iv results.Interval, h *hdrhistogram.Histogram)
	// StallAfter is how long a request may wait for its reply before its
	// connection counts as stalled, a failure (DefaultStallAfter when 0).
	StallAfter time.Duration
	// OnWindow, when set, is called as the measured window opens
	// (end=false) and closes (end=true), so a caller can sample the
	// server's resource use over exactly the same window.
	OnWindow func(end bool)
	// Version is iobench's version, recorded in the run's environment.
	Version string
	// Shard, when set, says this run is one share of a load split over
	// several processes (Conns, IdleConns and Rate are already the
	// share); its StartAt, when set, is when the warmup begins, after
	// connecting, so that every shard starts together.
	Shard *results.Shard
	// StartBarrier, when set (with Shard), is called once every
	// connection is made and returns the instant every shard agreed to
	// begin at (never before Shard.StartAt): shards that connected late
	// move the start for all of them instead of missing it.
	StartBarrier func(ctx context.Context) (time.Time, error)
}

// Progress is a live view of a run.
type Progress struct {
	Elapsed     time.Duration
	Warmup      bool    // still in warmup
	RatePerSec  float64 // replies per second over the last interval
	P99         time.Duration
	Established int
	Requested   int
}

// Defaults applied by Normalize.
const (
	DefaultDuration       = 5 * time.Second
	DefaultWarmup         = time.Second
	DefaultConnectTimeout = 5 * time.Second
	DefaultInterval       = 100 * time.Millisecond
	// DefaultQuantum is rate mode's least sleep between timed wake-ups
	// (plan.quantum): measured against an epoll server at 20,000 msg/s
	// over 50 connections, the uring engine used 63% of its core with
	// none, 53% at 50µs, 47% at 100µs, 42% at 200µs, each wake-up of an
	// idle generator costing about 15µs of this VM's CPU; 100µs keeps the
	// lateness it adds an order below a 1ms target.
	DefaultQuantum = 100 * time.Microsecond
	// DefaultStallAfter: a reply a second late is no latency figure but a
	// server (or a machine) that stopped.
	DefaultStallAfter = time.Second
	// streamWindow is how many bytes a stream connection keeps in flight.
	streamWindow = 1 << 20
	// maxWindow caps the messages in flight per connection.
	maxWindow = 4096
	// MaxSize is the largest message.
	MaxSize = 64 << 20
)

// Normalize fills defaults and checks the result (Validate); Run
// normalizes its Config, and needs Addr.
func (c *Config) Normalize() error {
	c.defaults()
	if c.Addr == "" {
		return &SettingError{Field: "Addr", Value: "", Want: "HOST:PORT of an echo server"}
	}
	return c.Validate()
}

// Defaults is a Config with every setting at its default: what a
// caller that exposes only some settings starts from before Validate.
func Defaults() Config {
	return Config{Mode: Closed, Conns: 1, Depth: 1, SizeMin: 64, SizeMax: 64, Duration: DefaultDuration, Warmup: DefaultWarmup,
		ConnectTimeout: DefaultConnectTimeout, Interval: DefaultInterval, StallAfter: DefaultStallAfter}
}

// defaults sets each zero setting to its default (Workers: one per CPU).
func (c *Config) defaults() {
	d := Defaults()
	if c.Mode == "" {
		c.Mode = d.Mode
	}
	if c.Conns == 0 {
		c.Conns = d.Conns
	}
	if c.Depth == 0 {
		c.Depth = d.Depth
	}
	if c.SizeMin == 0 && c.SizeMax == 0 {
		c.SizeMin, c.SizeMax = d.SizeMin, d.SizeMax
	}
	if c.SizeMax < c.SizeMin {
		c.SizeMax = c.SizeMin
	}
	if c.Duration == 0 {
		c.Duration = d.Duration
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = d.ConnectTimeout
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.Interval == 0 {
		c.Interval = d.Interval
	}
	if c.StallAfter == 0 {
		c.StallAfter = d.StallAfter
	}
}

// SettingError is a Config field with a value no run can have: Field is
// the Config field's name, Want what it may be. Callers with their own
// spelling of the setting (a command-line flag) name it their way.
type SettingError struct {
	Field string
	Value any
	Want  string
}

func (e *SettingError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("loadgen: %s is required: %s", e.Field, e.Want)
	}
	return fmt.Sprintf("loadgen: %s %v: want %s", e.Field, e.Value, e.Want)
}

// Validate checks every setting as given, with no default filled in (0
// conns is an error here; Normalize fills defaults first): the one check
// of a load's settings, whoever builds them — load's flags, run's before
// its first cell, Normalize. Addr is checked when set.
func (c Config) Validate() error {
	bad := func(field string, v any, want string, args ...any) error {
		return &SettingError{Field: field, Value: v, Want: fmt.Sprintf(want, args...)}
	}
	if c.Addr != "" {
		_, port, err := net.SplitHostPort(c.Addr)
		if n, perr := strconv.Atoi(port); err == nil && (perr != nil || n < 1 || n > 65535) {
			err = fmt.Errorf("port %q out of 1 to 65535", port)
		}
		if err != nil {
			return bad("Addr", c.Addr, "HOST:PORT (%v)", err)
		}
	}
	switch {
	case c.Mode != Closed && c.Mode != Rate && c.Mode != Stream && c.Mode != Churn:
		return bad("Mode", c.Mode, "closed, rate, stream or churn")
	case c.Mode == Churn && c.Depth != 1:
		return bad("Depth", c.Depth, "1: churn sends one message per connection")
	case c.Conns < 1:
		return bad("Conns", c.Conns, "at least 1")
	case c.IdleConns < 0:
		return bad("IdleConns", c.IdleConns, "0 or more")
	case c.Depth < 1 || c.Depth > maxWindow:
		return bad("Depth", c.Depth, "1 to %d", maxWindow)
	case c.SizeMin < 1 || c.SizeMax < c.SizeMin || c.SizeMax > MaxSize:
		return bad("Size", fmt.Sprintf("%d-%d", c.SizeMin, c.SizeMax), "1 to %d bytes", MaxSize)
	case c.Mode == Rate && !(c.Rate > 0 && c.Rate <= 1e8):
		return bad("Rate", c.Rate, "messages per second, 0 < R ≤ 1e8, with mode rate")
	case c.Mode != Rate && c.Rate != 0:
		return bad("Rate", c.Rate, "0 unless the mode is rate")
	case c.Duration <= 0:
		return bad("Duration", c.Duration, "more than 0")
	case c.Warmup < 0:
		return bad("Warmup", c.Warmup, "0 or more")
	case c.ConnectTimeout <= 0:
		return bad("ConnectTimeout", c.ConnectTimeout, "more than 0")
	case c.ConnectRate < 0 || math.IsNaN(c.ConnectRate):
		return bad("ConnectRate", c.ConnectRate, "0 (no limit) or more")
	case c.Workers < 0:
		return bad("Workers", c.Workers, "0 (one per CPU) or more")
	case c.Engine != "" && c.Engine != "epoll" && c.Engine != "net" && c.Engine != "uring":
		return bad("Engine", c.Engine, "epoll, uring or net")
	case c.Interval < time.Millisecond || c.Interval > time.Hour:
		return bad("Interval", c.Interval, "1ms to 1h")
	case c.StallAfter < time.Millisecond:
		return bad("StallAfter", c.StallAfter, "at least 1ms")
	}
	return nil
}

// ParseSize parses "64" or a range "64-1024".
func ParseSize(s string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := lo, error(nil)
	if isRange {
		hi, err2 = strconv.Atoi(strings.TrimSpace(b))
	}
	if err1 != nil || err2 != nil || lo < 1 || hi < lo || hi > MaxSize {
		return 0, 0, &SettingError{Field: "Size", Value: fmt.Sprintf("%q", s), Want: fmt.Sprintf("BYTES or MIN-MAX, 1 to %d", MaxSize)}
	}
	return lo, hi, nil
}

// window is how many messages a connection may have in flight.
func (c *Config) window() int {
	if c.Mode == Stream {
		return min(maxWindow, max(c.Depth, streamWindow/c.SizeMax))
	}
	return c.Depth
}

// ShareOf is shard index's share (of count) of total: total/count, one
// more for the first total%count shards, so the shares add up to total.
func ShareOf(total, index, count int) int {
	n := total / count
	if index < total%count {
		n++
	}
	return n
}

// ParseShard parses "I/N": shard I (0-based) of N.
func ParseShard(s string) (index, count int, err error) {
	a, b, ok := strings.Cut(s, "/")
	index, err1 := strconv.Atoi(strings.TrimSpace(a))
	count, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || count < 1 || index < 0 || index >= count {
		return 0, 0, fmt.Errorf("loadgen: bad --shard %q: want I/N with 0 ≤ I < N (e.g. 0/3, as a Kubernetes Indexed Job's completion index)", s)
	}
	return index, count, nil
}
