package report

import (
	"fmt"
	"strings"

	"iobench/results"
)

// Summary is the top of report.md: per scenario family (everything but
// the connection count), which models lead, which are level, which
// collapse or are not ranked and why, and the caveats that apply.
func Summary(s *results.Suite, tables []Table) string {
	var b strings.Builder
	b.WriteString("## Summary\n\n")
	b.WriteString(capacitySummary(s))
	cells, bound := 0, 0
	for _, f := range families(tables) {
		fmt.Fprintf(&b, "**%s**\n\n", familyTitle(f.key))
		for _, n := range f.conns {
			t := f.tables[n]
			fmt.Fprintf(&b, "- %s\n", mdEscape(fmt.Sprintf("%d %s: %s", n, plural(n, "conn", "conns"), summaryLine(t))))
			for _, r := range t.Rows {
				if r.Reps > 0 {
					cells++
					if r.note("generator-bound") != nil {
						bound++
					}
				}
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("Caveats:\n\n")
	if bound > 0 {
		fmt.Fprintf(&b, "- The load generator was near its CPU limit (generator-bound) in %d of %d model × scenario rows: there, efficient servers all meet the generator's ceiling and read as level.", bound, cells)
		if len(s.Capacity) > 0 {
			b.WriteString(" Capacity at the target above is the ranking to read; the closed-loop tables show how each model answers a client that waits.")
		}
		b.WriteString("\n")
	}
	if e := s.Environment.Emulated; e != "" {
		fmt.Fprintf(&b, "- Emulated (%s): the numbers show correctness, not performance.\n", e)
	}
	if s.Network != "" || s.ServerEnvironment != nil {
		fmt.Fprintf(&b, "- Two hosts: the servers ran on %s, the load generator here, over %s.\n", serverHost(s), networkOf(s))
	} else {
		b.WriteString("- One machine: server and load generator share this host and talk over loopback; a NIC, interrupts and a second host change the picture.\n")
	}
	if n, total, why := reruns(s); n > 0 {
		fmt.Fprintf(&b, "- The machine disturbed %d of %d measurements (first: %s); they were measured again, up to %d time(s) each.\n", n, total, why, s.Config.Retries)
	}
	if bb := s.BusyBefore; bb != nil && bb.Unavailable == "" && (bb.ForeignCPUPct > 5 || bb.StealPct > 2) {
		fmt.Fprintf(&b, "- Before measuring, the CPUs were already %.0f%% busy with other work (%.0f%% steal).\n", bb.ForeignCPUPct, bb.StealPct)
	}
	if reps := maxRep(s); reps < samplesNeeded(Alpha) {
		fmt.Fprintf(&b, "- %d repetition(s): too few for any difference to be significant; use --repeat 5 or more.\n", reps)
	}
	return b.String()
}

// summaryLine is a table's verdict in a few words.
func summaryLine(t Table) string {
	v := judge(t)
	var parts []string
	switch {
	case len(v.ranked) == 0 && len(v.busy) > 0 && len(v.failed) == 0 && len(v.unfair) == 0:
		parts = append(parts, "the machine was busy: no verdict ("+joinAnd(modelNames(v.busy))+" disturbed even after re-runs)")
	case len(v.ranked) == 0:
		parts = append(parts, "no model measured fairly and without failure")
	case len(v.ranked) == 1:
		parts = append(parts, "only "+v.ranked[0].Model+" measured fairly and without failure")
	case !v.decidable:
		parts = append(parts, "too few repetitions to rank; best median "+v.ranked[0].Model)
	case len(v.level) > 1:
		parts = append(parts, joinAnd(modelNames(v.level))+" level at the top")
	case len(v.unsettled) > 0 && (len(v.below) == 0 || v.ranked[1].Model == v.unsettled[0].Model):
		parts = append(parts, "best median "+v.ranked[0].Model)
	case v.cpuRule:
		lead := v.ranked[0]
		parts = append(parts, fmt.Sprintf("%s leads on server CPU per reply (%.2f× less than %s)", lead.Model, v.better(lead, v.ranked[1]), v.ranked[1].Model))
	default:
		lead := v.ranked[0]
		parts = append(parts, fmt.Sprintf("%s leads (%.2f× %s)", lead.Model, lead.Throughput.Median/v.ranked[1].Throughput.Median, v.ranked[1].Model))
	}
	if v.cpuRule {
		parts = append(parts, "ranked by server CPU per reply: the generator was the ceiling")
	}
	if v.decidable && len(v.ranked) > 1 {
		parts = append(parts, v.placings()...)
	}
	for _, r := range v.busy {
		if len(v.ranked) > 0 || len(v.failed) > 0 || len(v.unfair) > 0 {
			parts = append(parts, r.Model+" not ranked (the machine disturbed most repetitions)")
		}
	}
	for _, r := range v.unfair {
		parts = append(parts, fmt.Sprintf("%s unfair (median Jain %.2f), not ranked", r.Model, r.Jain))
	}
	for _, r := range v.failed {
		parts = append(parts, fmt.Sprintf("%s failed (%s)", r.Model, r.firstFailure()))
	}
	var skipped []string
	for _, r := range t.Rows {
		if r.Reps == 0 && r.Skipped != "" && len(r.Failures) == 0 {
			skipped = append(skipped, r.Model)
		}
	}
	if len(skipped) > 0 {
		parts = append(parts, joinAnd(skipped)+" skipped")
	}
	return strings.Join(parts, "; ")
}

// placings are the summary's parts placing the other ranked models
// against the leader.
func (v verdict) placings() []string {
	var parts []string
	lead := v.ranked[0]
	if len(v.unsettled) > 0 {
		parts = append(parts, "not told apart from "+lead.Model+" but further than the threshold: "+joinAnd(modelNames(v.unsettled)))
	}
	var lower, collapsed []string
	for _, r := range v.below {
		f := fmt.Sprintf("%s %s", r.Model, v.fewer(v.better(lead, r)))
		if !v.cpuRule && r.Throughput.Median*collapseFactor < lead.Throughput.Median {
			collapsed = append(collapsed, f)
		} else {
			lower = append(lower, f)
		}
	}
	if len(lower) > 0 {
		parts = append(parts, "below: "+strings.Join(lower, ", "))
	}
	if len(collapsed) > 0 {
		parts = append(parts, "collapsed: "+strings.Join(collapsed, ", "))
	}
	if l := v.cpuLine(); l != "" {
		parts = append(parts, l)
	}
	return parts
}

// familyTitle names a scenario family: everything but the connection count.
func familyTitle(k results.Scenario) string { return k.Mode + ", " + k.Family() }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// maxRep is the most repetitions any model × scenario has: suites merged
// by `report` pool theirs, whatever each cell's Rep says.
func maxRep(s *results.Suite) int {
	type key struct {
		model string
		results.Scenario
	}
	n := map[key]int{}
	reps := 0
	for _, c := range s.Cells {
		if c.Counted() {
			k := key{c.Model, c.Scenario}
			n[k]++
			reps = max(reps, n[k])
		}
	}
	return reps
}

// reruns counts the measurements the machine disturbed (re-run or still
// disturbed), of all measurements, with the first reason.
func reruns(s *results.Suite) (n, total int, why string) {
	for _, c := range s.Cells {
		if c.Skipped != "" {
			continue
		}
		total++
		if c.Disturbed != "" {
			n++
			if why == "" {
				why = c.Disturbed
			}
		}
	}
	return n, total, why
}

func serverHost(s *results.Suite) string {
	if e := s.ServerEnvironment; e != nil && e.Host != "" {
		return e.Host
	}
	return "another host"
}

func networkOf(s *results.Suite) string {
	if s.Network != "" {
		return s.Network
	}
	return "a network"
}

// Settler tells --repeat auto when to stop: when a round leaves every
// table's verdict — the leaders, the level, the told-apart and the
// unsettled models — as the round before left it, and no table has
// models it can't yet tell apart for want of repetitions.
type Settler struct{ last string }

// Settled reports whether s's verdicts are stable since the last call,
// and why (not).
func (st *Settler) Settled(s *results.Suite) (bool, string) {
	var key strings.Builder
	open := 0
	for _, t := range Tables(s) {
		v := judge(t)
		fmt.Fprintf(&key, "%v|%v|%v|%v|%v|%v;", modelNames(v.level), modelNames(v.below), modelNames(v.unsettled),
			modelNames(v.unfair), modelNames(v.failed), modelNames(v.busy))
		if !v.decidable && len(v.ranked) > 1 {
			open++
		}
		open += len(v.unsettled)
	}
	k := key.String()
	same := k == st.last
	st.last = k
	switch {
	case open > 0:
		return false, fmt.Sprintf("%d model(s) not yet told apart from their leader though far from it", open)
	case !same:
		return false, "the verdicts changed in the last round"
	}
	return true, "two rounds in a row gave the same leaders and the same told-apart models"
}

// Order is one verdict that a model beat another in a scenario.
type Order struct {
	Scenario      results.Scenario
	Higher, Lower string
}

// ToldApart lists, for every table of s, the models its verdict tells
// apart below the leader: what two runs of the same setup must never
// contradict.
func ToldApart(s *results.Suite) []Order {
	var out []Order
	for _, t := range Tables(s) {
		v := judge(t)
		if len(v.ranked) == 0 || !v.decidable {
			continue
		}
		for _, r := range v.below {
			out = append(out, Order{t.Scenario, v.ranked[0].Model, r.Model})
		}
	}
	return out
}
