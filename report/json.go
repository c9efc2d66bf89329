package report

import (
	"encoding/json"
	"io"

	"iobench/results"
)

// The report as JSON: the rows and verdicts of every table.

// WriteJSON writes the tables as JSON: per scenario, each model's figures
// with their intervals, notes and failures, and the reading.
func WriteJSON(w io.Writer, s *results.Suite) error {
	type jsonRow struct {
		Model      string              `json:"model"`
		Reps       int                 `json:"reps"`
		Skipped    string              `json:"skipped,omitempty"`
		Failures   []string            `json:"failures,omitempty"`
		Fair       bool                `json:"fair"`
		Ranked     bool                `json:"ranked"`
		Throughput Stat                `json:"throughput_per_sec"`
		Bandwidth  Stat                `json:"bytes_per_sec"`
		P50        Stat                `json:"p50_ns"`
		P99        Stat                `json:"p99_ns"`
		P999       Stat                `json:"p999_ns"`
		Merged     results.Percentiles `json:"latency_merged_ns"`
		CPUPerRep  *Stat               `json:"server_cpu_per_reply_ns"` // null: not measured
		Syscalls   *Stat               `json:"server_syscalls_per_reply"`
		CtxPerRep  *Stat               `json:"server_ctx_switches_per_reply"`
		MaxRSS     *int64              `json:"server_max_rss_bytes"`
		Threads    *int                `json:"server_peak_threads"`
		Jain       float64             `json:"jain_min"`
		ZeroConn   int                 `json:"zero_reply_conns_max"`
		Errors     uint64              `json:"errors"`
		Notes      []Note              `json:"notes,omitempty"`
	}
	type jsonTable struct {
		Scenario results.Scenario `json:"scenario"`
		Rows     []jsonRow        `json:"rows"`
		Reading  string           `json:"reading"`
	}
	out := struct {
		Kind   string      `json:"kind"` // results.KindReport: what compare tells apart from a suite
		Spread string      `json:"intervals"`
		Tables []jsonTable `json:"tables"`
	}{Kind: results.KindReport, Spread: spreadNote(s)}
	for _, t := range Tables(s) {
		jt := jsonTable{Scenario: t.Scenario, Reading: t.Reading}
		for _, r := range t.Rows {
			jr := jsonRow{Model: r.Model, Reps: r.Reps, Skipped: r.Skipped, Failures: r.Failures, Fair: r.Fair(), Ranked: r.Ranked(),
				Throughput: r.Throughput, Bandwidth: r.Bandwidth, P50: r.P50, P99: r.P99, P999: r.P999, Merged: r.Latency,
				Jain: r.Jain, ZeroConn: r.ZeroConn, Errors: r.Errors, Notes: r.Notes}
			if r.CPUPerRep.N > 0 {
				jr.CPUPerRep = &r.CPUPerRep
			}
			if r.Syscalls.N > 0 {
				jr.Syscalls = &r.Syscalls
			}
			if r.CtxPerRep.N > 0 {
				jr.CtxPerRep = &r.CtxPerRep
			}
			if r.MaxRSS > 0 {
				jr.MaxRSS = &r.MaxRSS
			}
			if r.Threads > 0 {
				jr.Threads = &r.Threads
			}
			jt.Rows = append(jt.Rows, jr)
		}
		out.Tables = append(out.Tables, jt)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
