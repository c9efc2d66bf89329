package loadgen

import (
	"fmt"
	"iobench/results"
	"sort"
	"strings"
	"time"
)

// What a run's numbers mean: the warnings (they may not mean what they
// seem) and the failures (not a result about the server's speed).

// Fair reports whether r's service was fair (results.FairJain).
func Fair(r *results.Run) bool {
	return r.Fairness.Fair()
}

// warnings says why the numbers may not mean what they seem to.
func warnings(r *results.Run, busy int) []results.Warning {
	var w []results.Warning
	c := r.Connections
	if c.Established < c.Requested {
		w = append(w, results.Warn(results.CodeLostConns, "only %d of %d connections were established (%d busy of %d): %s",
			c.Established, c.Requested, busy, r.Config.Conns, describeFailures(c.FailedBy)).WithFigure(float64(c.Established)))
	}
	if c.IdleClosed > 0 {
		w = append(w, results.Warn(results.CodeIdleClosed, "the server closed %d of %d idle connections", c.IdleClosed, c.IdleEstablished).WithFigure(float64(c.IdleClosed)))
	}
	if rs := r.Rate; rs != nil && rs.Overloaded {
		who := "the server could not keep up"
		if r.Client.Bottleneck {
			who = "the generator, near its cores' limit, may be what could not keep up"
		}
		w = append(w, results.Warn(results.CodeMissedRate, "overloaded: carried %.0f replies/s of %.0f msg/s offered (%.1f%%), %d due and unsent at the end: %s; latency is corrected from the schedule",
			r.ThroughputPerSec, rs.Target, 100*r.ThroughputPerSec/rs.Target, rs.BacklogEnd, who).WithFigure(r.ThroughputPerSec))
	}
	if r.Replies > 0 && !Fair(r) {
		w = append(w, results.Warn(results.CodeUnfair, "Jain %.2f, %d of %d busy connections got no reply: some connections waited while others were served, so its latency covers only the replies it gave",
			r.Fairness.Jain, r.Fairness.ZeroConn, busy).WithFigure(r.Fairness.Jain))
	}
	if r.Client.Bottleneck {
		cores := fmt.Sprintf("%d cores", r.Client.Cores)
		if r.Client.Cores == 1 {
			cores = "1 core"
		}
		w = append(w, results.Warn(results.CodeGeneratorBound, "the load generator used %.0f%% of its %s: it may be the bottleneck, not the server",
			100*r.Client.Utilization, cores).WithFigure(r.Client.Utilization))
	}
	if r.Interrupted {
		w = append(w, results.Warn(results.CodeInterrupted, "%.1fs of %.1fs measured", float64(r.MeasuredNS)/1e9, float64(r.Config.DurationNS)/1e9).WithFigure(float64(r.MeasuredNS)/1e9))
	}
	if r.Environment.Emulated != "" {
		w = append(w, results.Warn(results.CodeEmulated, "under %s: numbers are for correctness, not performance", r.Environment.Emulated))
	}
	if sh := r.Shard; sh != nil && !sh.StartAt.IsZero() {
		if late := sh.StartedAt.Sub(sh.StartAt); late > 10*time.Millisecond {
			w = append(w, results.Warn(results.CodeLateStart, "this shard began its warmup %s after --start-at (connecting took that long)", late.Round(time.Millisecond)).WithFigure(late.Seconds()))
		}
	}
	return w
}

// failures says why the run failed, if it did: what it measured is then
// not a result about the server's speed.
func failures(r *results.Run, busy int) []results.Warning {
	var f []results.Warning
	if r.Errors > 0 {
		f = append(f, results.Warn(results.CodeCorrupted, "%d replies did not match what was sent (%s)", r.Errors, joinKinds(r.ErrorKinds)).WithFigure(float64(r.Errors)))
	}
	if n := r.Connections.ClosedByPeer; n > 0 {
		if r.Config.Mode == string(Churn) {
			// Each transaction is a connection of its own.
			f = append(f, results.Warn(results.CodeServerClosed, "the server closed or reset %d transactions' connections before they were answered", n).WithFigure(float64(n)))
		} else {
			f = append(f, results.Warn(results.CodeServerClosed, "the server closed or reset %d of %d busy connections during the run; throughput is over the %.2fs they were alive",
				n, busy, float64(r.MeasuredNS)/1e9).WithFigure(float64(n)))
		}
	}
	if st := r.Stall; st != nil && st.Conns > 0 {
		short := ""
		if st.Partial > 0 {
			short = fmt.Sprintf("; %d of them had part of a reply and waited for the rest: short replies", st.Partial)
		}
		f = append(f, results.Warn(results.CodeStalled, "%d of %d busy connections waited longer than %s for a reply (the longest %s; %d requests unanswered when the window closed%s)",
			st.Conns, busy, time.Duration(st.AfterNS), time.Duration(st.MaxAgeNS).Round(time.Millisecond), st.OutstandingAtEnd, short).WithFigure(float64(st.Conns)))
	}
	if r.Replies == 0 && !r.Interrupted {
		f = append(f, results.Warn(results.CodeNoReplies, "not one reply in %.1fs measured", float64(r.MeasuredNS)/1e9))
	}
	// A cause the host saw: handshakes the server's accept queue had no
	// room for are dropped and retried after a second or more.
	if n := r.Connections.ListenOverflows; n > 0 && len(f) > 0 {
		for i, w := range f {
			if w.Code == results.CodeStalled || w.Code == results.CodeNoReplies {
				f[i].Text += fmt.Sprintf("; this host's TCP accept queues overflowed %d times meanwhile (TcpExtListenOverflows): connections the server did not accept in time wait a second or more for the handshake's retry", n)
			}
		}
	}
	return f
}

func joinKinds(m map[string]uint64) string {
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%d %s", v, k))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func describeFailures(by map[string]int) string {
	if len(by) == 0 {
		return "no failures recorded"
	}
	var parts []string
	for k, v := range by {
		parts = append(parts, fmt.Sprintf("%d %s", v, k))
	}
	sort.Strings(parts)
	s := strings.Join(parts, ", ")
	if by["ECONNREFUSED"] > 0 {
		s += " (is a server listening there?)"
	}
	return s
}
