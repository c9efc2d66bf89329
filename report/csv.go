package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"

	"iobench/results"
)

// summary.csv: a row per cell, for spreadsheets.

// WriteCSV writes one row per cell, for spreadsheets.
func WriteCSV(w io.Writer, s *results.Suite) error {
	cw := csv.NewWriter(w)
	header := []string{"model", "mode", "conns", "size", "work", "depth", "rate", "idle_conns", "rep",
		"throughput_per_sec", "bytes_per_sec", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "p9999_ns", "max_ns",
		"server_cpu_per_reply_ns", "server_max_rss_bytes", "server_peak_threads", "server_vol_ctx", "server_invol_ctx",
		"server_syscalls_per_reply", "server_ctx_switches_per_reply", "client_syscalls_per_reply", "client_ctx_switches_per_reply",
		"conns_requested", "conns_established", "conns_failed", "errors", "jain", "interrupted", "skipped", "failed", "error", "notes"}
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, c := range s.Cells {
		row := []string{c.Model, c.Mode, strconv.Itoa(c.Conns), strconv.Itoa(c.Size), c.Work, strconv.Itoa(c.Depth),
			ff(c.Rate), strconv.Itoa(c.IdleConns), strconv.Itoa(c.Rep)}
		if r := c.Run; r != nil {
			l := r.LatencyNS
			row = append(row, ff(r.ThroughputPerSec), ff(r.BytesPerSec), i64(l.P50), i64(l.P90), i64(l.P99), i64(l.P999), i64(l.P9999), i64(l.Max))
			row = append(row, serverCSV(c.Server)...)
			row = append(row, optF(r.Client.SyscallsPerReply), optF(r.Client.CtxSwitchesPerReply))
			row = append(row, strconv.Itoa(r.Connections.Requested), strconv.Itoa(r.Connections.Established), strconv.Itoa(r.Connections.Failed),
				strconv.FormatUint(r.Errors, 10), strconv.FormatFloat(r.Fairness.Jain, 'f', 4, 64), strconv.FormatBool(r.Interrupted))
		} else {
			row = append(row, make([]string, 23)...)
		}
		var labels []string
		for _, w := range c.AllWarnings() {
			labels = append(labels, w.Code)
		}
		row = append(row, c.Skipped, strconv.FormatBool(c.Failed()), c.Error, strings.Join(labels, ";"))
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// serverCSV is the server's figures, empty where not measured.
func serverCSV(u *results.ServerUsage) []string {
	out := make([]string, 7)
	if u == nil {
		return out
	}
	out[5], out[6] = optF(u.SyscallsPerReply), optF(u.CtxSwitchesPerReply)
	if u.Measured("cpu") && u.CPUPerReplyNS > 0 {
		out[0] = ff(u.CPUPerReplyNS)
	}
	if u.Measured("rss") && u.MaxRSSBytes > 0 {
		out[1] = i64(u.MaxRSSBytes)
	}
	if u.Measured("threads") && u.PeakThreads > 0 {
		out[2] = strconv.Itoa(u.PeakThreads)
	}
	if u.Measured("ctx_switches") {
		out[3], out[4] = i64(u.VolCtxSw), i64(u.InvolCtxSw)
	}
	return out
}

func ff(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// optF is a figure that may not have been measured: empty then.
func optF(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', 3, 64)
}

func i64(v int64) string { return strconv.FormatInt(v, 10) }
