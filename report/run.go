// Package report turns results into what people read: terminal tables,
// markdown, charts and comparisons. It measures nothing.
package report

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"iobench/results"
)

// WriteRun prints one run as a compact block, a figure a line under its
// label (it fits a terminal: no table of 150 columns), then its warnings
// and failures.
func WriteRun(w io.Writer, r *results.Run) error {
	c := r.Config
	load := loadText(c)
	measured := fmt.Sprintf("%s after %s warmup (engine %s, %s)", Dur(r.MeasuredNS), Dur(c.WarmupNS), c.Engine, fmt.Sprintf("%d %s%s", c.Workers, plural(c.Workers, "worker", "workers"), workerShares(r)))
	if r.Interrupted && r.MeasuredNS == 0 {
		measured = "nothing: interrupted before the warmup ended"
	}
	rows := [][2]string{
		{"server", c.Addr},
		{"load", load},
		{"measured", measured},
		{"throughput", fmt.Sprintf("%s %s/s, %s", Count(r.ThroughputPerSec), unitOf(c.Mode), Bandwidth(r.BytesPerSec))},
	}
	latName := "latency"
	if r.LatencyUncorrectedNS != nil {
		latName = "latency (schedule)"
	}
	rows = append(rows, [2]string{latName, Pcts(r.LatencyNS)})
	if r.LatencyUncorrectedNS != nil {
		rows = append(rows, [2]string{"latency (send)", Pcts(*r.LatencyUncorrectedNS)})
	}
	if r.Rate != nil {
		rows = append(rows, [2]string{"rate", fmt.Sprintf("offered %s msg/s, carried %s replies/s (%.1f%%); of the messages due in the window %s/s sent; backlog max %d, at end %d; unfinished %d",
			Count(r.Rate.Target), Count(r.ThroughputPerSec), 100*r.ThroughputPerSec/r.Rate.Target, Count(r.Rate.Achieved), r.Rate.BacklogMax, r.Rate.BacklogEnd, r.Rate.Unfinished)},
			[2]string{"generator late", Pcts(r.Rate.Lateness) + " (its own: sent after due, not the server's)"})
	}
	conns := connectionsText(r.Connections)
	f := r.Fairness
	rows = append(rows,
		[2]string{"connect", Pcts(r.ConnectNS)},
		[2]string{"connections", conns},
		[2]string{"errors", fmt.Sprint(r.Errors)},
		[2]string{"fairness", fmt.Sprintf("Jain %.3f; replies per conn min %d, median %d, max %d; %d with none", f.Jain, f.Min, f.Median, f.Max, f.ZeroConn)},
		[2]string{"stalls", stallText(r.Stall)},
		[2]string{"client", fmt.Sprintf("CPU %.0f%% of %s (user %s, sys %s); %s per connection",
			100*r.Client.Utilization, fmt.Sprintf("%d %s", r.Client.Cores, plural(r.Client.Cores, "core", "cores")), Dur(r.Client.UserNS), Dur(r.Client.SysNS), Bytes(r.Client.MemoryPerConn))},
		[2]string{"client per reply", clientCounts(r.Client)},
		[2]string{"client calls", clientCalls(r.Client)},
	)
	if r.Interrupted {
		rows = append(rows, [2]string{"interrupted", "yes: partial results"})
	}
	var b strings.Builder
	for _, row := range rows {
		fmt.Fprintf(&b, "%-18s %s\n", row[0], row[1])
	}
	for _, warn := range r.Warnings {
		fmt.Fprintln(&b, "warning:", warn.String())
	}
	for _, fl := range r.Failures {
		fmt.Fprintln(&b, "FAILED:", fl.String())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// loadText is the load a run was asked for, in one line.
func loadText(c results.RunConfig) string {
	size := fmt.Sprintf("%d B", c.SizeMin)
	if c.SizeMax > c.SizeMin {
		size = fmt.Sprintf("%d-%d B", c.SizeMin, c.SizeMax)
	}
	load := fmt.Sprintf("%s, %d conns, %s", c.Mode, c.Conns, size)
	if c.Mode != "stream" && c.Depth > 1 {
		load += fmt.Sprintf(", %d in flight per conn", c.Depth)
	}
	if c.Rate > 0 {
		load += fmt.Sprintf(", target %s msg/s", Count(c.Rate))
	}
	if c.IdleConns > 0 {
		load += fmt.Sprintf(", +%d idle", c.IdleConns)
	}
	return load
}

// connectionsText is a run's connections in one line.
func connectionsText(cn results.Connections) string {
	conns := fmt.Sprintf("%d requested, %d established, %d failed, %d closed by server", cn.Requested, cn.Established, cn.Failed, cn.ClosedByPeer)
	if len(cn.FailedBy) > 0 {
		conns += " (" + joinCounts(cn.FailedBy) + ")"
	}
	if cn.IdleRequested > 0 {
		conns += fmt.Sprintf("; idle: %d of %d up, %d closed by server", cn.IdleEstablished, cn.IdleRequested, cn.IdleClosed)
	}
	if cn.ListenOverflows > 0 {
		conns += fmt.Sprintf("; this host's accept queues overflowed %d times", cn.ListenOverflows)
	}
	return conns
}

// workerShares is each worker's share of the replies (", replies
// 51%/49%"), or "" for one worker.
func workerShares(r *results.Run) string {
	if len(r.WorkerReplies) < 2 || r.Replies == 0 {
		return ""
	}
	parts := make([]string, len(r.WorkerReplies))
	for i, n := range r.WorkerReplies {
		parts[i] = fmt.Sprintf("%.0f%%", 100*float64(n)/float64(r.Replies))
	}
	return ", replies " + strings.Join(parts, "/")
}

// stallText says how long requests waited at worst.
func stallText(st *results.Stall) string {
	switch {
	case st == nil:
		return unknown
	case st.Conns > 0:
		return fmt.Sprintf("%d connection(s) waited past %s (the longest %s); %s of the window without a reply; %d unanswered at the end",
			st.Conns, Dur(st.AfterNS), Dur(st.MaxAgeNS), Dur(st.StalledNS), st.OutstandingAtEnd)
	case st.StalledNS > 0:
		return fmt.Sprintf("none past %s; %s of the window without a reply while requests waited (longest wait %s)", Dur(st.AfterNS), Dur(st.StalledNS), Dur(st.MaxAgeNS))
	}
	return fmt.Sprintf("none (longest wait %s; %d unanswered at the end)", Dur(st.MaxAgeNS), st.OutstandingAtEnd)
}

// unitOf is what a run counts: replies, or in churn mode transactions
// (connect, one echo, close).
func unitOf(mode string) string {
	if mode == "churn" {
		return "transactions"
	}
	return "replies"
}

// clientCounts is the generator's kernel counts per reply, or why not.
func clientCounts(c results.ClientCPU) string {
	per := func(v *float64, what string) string {
		if v == nil {
			return what + " " + unknown
		}
		return fmt.Sprintf("%.2f %s", *v, what)
	}
	s := per(c.SyscallsPerReply, "system calls") + ", " + per(c.CtxSwitchesPerReply, "context switches")
	if c.CountsUnavailable != "" {
		s += " (system calls " + c.CountsUnavailable + ")"
	}
	return s
}

// Pcts formats percentiles as "p50 … / p90 … / …".
func Pcts(p results.Percentiles) string {
	if p.Count == 0 {
		return "no samples"
	}
	labels := []string{"p50", "p90", "p99", "p99.9", "p99.99", "max"}
	parts := make([]string, len(results.Quantiles))
	for i, q := range results.Quantiles {
		parts[i] = labels[i] + " " + PctDur(p, q.Name)
	}
	s := strings.Join(parts, "  ")
	if p.LowerFrom != "" {
		s += fmt.Sprintf("  (≥: lower bounds, %d requests unanswered at the end counted at their age)", p.Open)
	}
	return s
}

// PctDur formats percentile name of p, "≥ " before it when it is a lower
// bound (it rests on requests still unanswered at the end).
func PctDur(p results.Percentiles, name string) string {
	v, lb := p.Get(name)
	if lb {
		return "≥" + Dur(v)
	}
	return Dur(v)
}

// Dur formats nanoseconds with three significant figures.
func Dur(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", ns)
	case d < time.Millisecond:
		return fmt.Sprintf("%.3gµs", float64(ns)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.3gms", float64(ns)/1e6)
	}
	return fmt.Sprintf("%.3gs", float64(ns)/1e9)
}

// Count formats a rate with thousands separated.
func Count(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	return b.String()
}

// Compact formats a count in three significant figures ("148k", "1.23M").
func Compact(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.3gk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// Bytes formats a size in binary units.
func Bytes(n int64) string {
	switch {
	case n <= 0:
		return "unknown"
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// Bandwidth formats bytes per second in MB/s (10^6).
func Bandwidth(bps float64) string { return fmt.Sprintf("%.1f MB/s", bps/1e6) }

func joinCounts(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%d %s", v, k))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// clientCalls is the generator's most frequent system calls per reply.
func clientCalls(c results.ClientCPU) string {
	switch {
	case c.SyscallsByName != nil:
		return TopCalls(c.SyscallsByName, 4)
	case c.ByNameUnavailable != "":
		return "unavailable: " + strings.TrimPrefix(c.ByNameUnavailable, "unavailable: ")
	}
	return unknown
}
