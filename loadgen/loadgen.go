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
	"errors"
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

// Normalize fills defaults and rejects impossible settings with one clear
// error naming the flag.
func (c *Config) Normalize() error {
	if c.Mode == "" {
		c.Mode = Closed
	}
	if c.Conns == 0 {
		c.Conns = 1
	}
	if c.Depth == 0 {
		c.Depth = 1
	}
	if c.SizeMin == 0 && c.SizeMax == 0 {
		c.SizeMin, c.SizeMax = 64, 64
	}
	if c.SizeMax < c.SizeMin {
		c.SizeMax = c.SizeMin
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.StallAfter == 0 {
		c.StallAfter = DefaultStallAfter
	}
	_, port, addrErr := net.SplitHostPort(c.Addr)
	if n, err := strconv.Atoi(port); addrErr == nil && (err != nil || n < 1 || n > 65535) {
		addrErr = fmt.Errorf("port %q: want 1 to 65535", port)
	}
	switch {
	case c.Addr == "":
		return errors.New("loadgen: --addr is required (HOST:PORT of an echo server)")
	case addrErr != nil:
		return fmt.Errorf("loadgen: bad --addr %q: %v (want HOST:PORT)", c.Addr, addrErr)
	case c.Mode != Closed && c.Mode != Rate && c.Mode != Stream && c.Mode != Churn:
		return fmt.Errorf("loadgen: --mode %q: want closed, rate, stream or churn", c.Mode)
	case c.Mode == Churn && c.Depth != 1:
		return fmt.Errorf("loadgen: --depth %d: churn sends one message per connection", c.Depth)
	case c.Conns < 1:
		return fmt.Errorf("loadgen: --conns %d: want at least 1", c.Conns)
	case c.IdleConns < 0:
		return fmt.Errorf("loadgen: --idle-conns %d: want 0 or more", c.IdleConns)
	case c.Depth < 1 || c.Depth > maxWindow:
		return fmt.Errorf("loadgen: --depth %d: want 1 to %d", c.Depth, maxWindow)
	case c.SizeMin < 1 || c.SizeMax > MaxSize:
		return fmt.Errorf("loadgen: --size %d-%d: want 1 to %d bytes", c.SizeMin, c.SizeMax, MaxSize)
	case c.Mode == Rate && !(c.Rate > 0 && c.Rate <= 1e8):
		return errors.New("loadgen: --mode rate needs --rate R, messages per second (0 < R ≤ 1e8)")
	case c.Mode != Rate && c.Rate != 0:
		return errors.New("loadgen: --rate applies only to --mode rate")
	case c.Duration < 0 || c.Warmup < 0 || c.ConnectTimeout < 0:
		return errors.New("loadgen: durations must not be negative")
	case c.Engine != "" && c.Engine != "epoll" && c.Engine != "net" && c.Engine != "uring":
		return fmt.Errorf("loadgen: --engine %q: want epoll, uring or net", c.Engine)
	case c.Interval < time.Millisecond || c.Interval > time.Hour:
		return fmt.Errorf("loadgen: --interval %s: want 1ms to 1h", c.Interval)
	case c.StallAfter < time.Millisecond:
		return fmt.Errorf("loadgen: --stall-after %s: want at least 1ms", c.StallAfter)
	case c.ConnectRate < 0 || math.IsNaN(c.ConnectRate):
		return errors.New("loadgen: --connect-rate must not be negative")
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
		return 0, 0, fmt.Errorf("loadgen: bad --size %q: want BYTES or MIN-MAX, 1 to %d", s, MaxSize)
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
