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
		fmt.Fprintf(&b, "- The load generator was near its CPU limit (generator-bound) in %d of %d model × scenario rows: there, efficient servers all meet the generator's ceiling and read as level.\n", bound, cells)
	}
	if e := s.Environment.Emulated; e != "" {
		fmt.Fprintf(&b, "- Emulated (%s): the numbers show correctness, not performance.\n", e)
	}
	b.WriteString("- One machine: server and load generator share this host and talk over loopback; a NIC, interrupts and a second host change the picture.\n")
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
	case len(v.ranked) == 0:
		parts = append(parts, "no model measured fairly and without failure")
	case len(v.ranked) == 1:
		parts = append(parts, "only "+v.ranked[0].Model+" measured fairly and without failure")
	case !v.decidable:
		parts = append(parts, "too few repetitions to rank; highest median "+v.ranked[0].Model)
	case len(v.level) > 1:
		parts = append(parts, joinAnd(modelNames(v.level))+" level at the top")
	default:
		lead := v.ranked[0]
		parts = append(parts, fmt.Sprintf("%s leads (%.2f× %s)", lead.Model, lead.Throughput.Median/v.ranked[1].Throughput.Median, v.ranked[1].Model))
	}
	if v.decidable && len(v.ranked) > 1 {
		var collapsed []string
		for _, r := range v.below {
			if r.Throughput.Median*collapseFactor < v.ranked[0].Throughput.Median {
				collapsed = append(collapsed, fmt.Sprintf("%s %.1f× fewer", r.Model, v.ranked[0].Throughput.Median/r.Throughput.Median))
			}
		}
		if len(collapsed) > 0 {
			parts = append(parts, "collapsed: "+strings.Join(collapsed, ", "))
		}
	}
	for _, r := range v.unfair {
		parts = append(parts, fmt.Sprintf("%s unfair (Jain %.2f), not ranked", r.Model, r.Jain))
	}
	for _, r := range v.failed {
		parts = append(parts, fmt.Sprintf("%s failed (%s)", r.Model, firstClause(r.Failures[0])))
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
		if c.Skipped == "" {
			k := key{c.Model, c.Scenario}
			n[k]++
			reps = max(reps, n[k])
		}
	}
	return reps
}
