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

// WriteRun prints one run as a two-column table followed by its warnings.
func WriteRun(w io.Writer, r *results.Run) error {
	c := r.Config
	t := NewTable(w)
	t.Header("Measure", "Value")
	size := fmt.Sprintf("%d B", c.SizeMin)
	if c.SizeMax > c.SizeMin {
		size = fmt.Sprintf("%d-%d B", c.SizeMin, c.SizeMax)
	}
	load := fmt.Sprintf("%s, %d conns, depth %d, %s", c.Mode, c.Conns, c.Depth, size)
	if c.Rate > 0 {
		load += fmt.Sprintf(", target %s msg/s", Count(c.Rate))
	}
	if c.IdleConns > 0 {
		load += fmt.Sprintf(", +%d idle", c.IdleConns)
	}
	rows := [][]string{
		{"server", c.Addr},
		{"load", load},
		{"measured", fmt.Sprintf("%s after %s warmup (engine %s, %d workers)", Dur(r.MeasuredNS), Dur(c.WarmupNS), c.Engine, c.Workers)},
		{"throughput", fmt.Sprintf("%s %s/s, %s", Count(r.ThroughputPerSec), unitOf(c.Mode), Bandwidth(r.BytesPerSec))},
	}
	latName := "latency"
	if r.LatencyUncorrectedNS != nil {
		latName = "latency (from schedule)"
	}
	rows = append(rows, []string{latName, Pcts(r.LatencyNS)})
	if r.LatencyUncorrectedNS != nil {
		rows = append(rows, []string{"latency (from send, uncorrected)", Pcts(*r.LatencyUncorrectedNS)})
	}
	if r.Rate != nil {
		rows = append(rows, []string{"rate", fmt.Sprintf("achieved %s of %s msg/s (%.1f%%), backlog max %d, at end %d, unfinished %d",
			Count(r.Rate.Achieved), Count(r.Rate.Target), 100*r.Rate.Achieved/r.Rate.Target, r.Rate.BacklogMax, r.Rate.BacklogEnd, r.Rate.Unfinished)})
	}
	cn := r.Connections
	conns := fmt.Sprintf("%d requested, %d established, %d failed, %d closed by server", cn.Requested, cn.Established, cn.Failed, cn.ClosedByPeer)
	if len(cn.FailedBy) > 0 {
		conns += " (" + joinCounts(cn.FailedBy) + ")"
	}
	if cn.IdleRequested > 0 {
		conns += fmt.Sprintf("; idle: %d of %d up, %d closed by server", cn.IdleEstablished, cn.IdleRequested, cn.IdleClosed)
	}
	f := r.Fairness
	rows = append(rows,
		[]string{"connect latency", Pcts(r.ConnectNS)},
		[]string{"connections", conns},
		[]string{"errors", fmt.Sprint(r.Errors)},
		[]string{"fairness", fmt.Sprintf("Jain %.3f; replies per conn min %d / median %d / max %d; %d with none", f.Jain, f.Min, f.Median, f.Max, f.ZeroConn)},
		[]string{"client", fmt.Sprintf("CPU %.0f%% of %d cores (user %s, sys %s); %s memory per connection; per reply: %s",
			100*r.Client.Utilization, r.Client.Cores, Dur(r.Client.UserNS), Dur(r.Client.SysNS), Bytes(r.Client.MemoryPerConn), clientCounts(r.Client))},
	)
	if r.Interrupted {
		rows = append(rows, []string{"interrupted", "yes: partial results"})
	}
	if err := t.Bulk(rows); err != nil {
		return err
	}
	if err := t.Render(); err != nil {
		return err
	}
	for _, warn := range r.Warnings {
		if _, err := fmt.Fprintln(w, "warning:", warn); err != nil {
			return err
		}
	}
	return nil
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
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  p99.99 %s  max %s",
		Dur(p.P50), Dur(p.P90), Dur(p.P99), Dur(p.P999), Dur(p.P9999), Dur(p.Max))
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
