package report

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"iobench/results"
)

// The verdict of one scenario: who leads, by what margin, whether the
// rows are level, and the reading that says it in words.

// why says in a few words why a model leading fits how it works, as the
// model itself says (the suite records the facts of the models it ran).
func why(s *results.Suite, model string, conns int) string {
	if s != nil {
		if m, ok := s.Model(model); ok {
			if conns <= 10 && m.WhyFew != "" {
				return m.WhyFew
			}
			if m.Why != "" {
				return m.Why
			}
		}
	}
	return "how it waits suited this load"
}

// joinAnd lists names as "a, b and c".
func joinAnd(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func modelNames(rows []Row) []string {
	names := make([]string, len(rows))
	for i, r := range rows {
		names[i] = r.Model
	}
	return names
}

// verdict is a table's ranking: who leads, who is level with the leader,
// who is below, and who is not ranked and why.
type verdict struct {
	ranked    []Row // by median throughput, highest first
	level     []Row // the leader and every model within MinDelta of it, not told apart
	unsettled []Row // not told apart from the leader, but further than MinDelta: the repetitions spread too widely
	below     []Row // told apart from the leader, highest first
	decidable bool  // enough repetitions for the test to reach alpha
	unfair    []Row
	failed    []Row
	busy      []Row // the machine disturbed most repetitions: no verdict on them
	// byCPU, when the leaders were generator-bound (their throughput the
	// generator's ceiling, level by construction), is the level models by
	// median server CPU per reply, lowest first, and cpuApart whether the
	// first is told apart from the second.
	byCPU    []Row
	cpuApart bool
	// cpuRule: the generator was the ceiling of some ranked row, so
	// replies/s measure the generator, not the servers: the ranking is by
	// server CPU per reply instead, lowest first (the one rule, said in
	// the reading and the summary).
	cpuRule bool
}

// The ranking's figure, by the table's rule: replies/s (higher is
// better), or server CPU per reply (lower is better).
func (v verdict) val(r Row) float64 {
	if v.cpuRule {
		return r.CPUPerRep.Median
	}
	return r.Throughput.Median
}

func (v verdict) samples(r Row) []float64 {
	if v.cpuRule {
		return r.cpus
	}
	return r.tput
}

// better says how many times better a is than b by the rule (≥ 1 when a
// ranks first).
func (v verdict) better(a, b Row) float64 {
	if v.cpuRule {
		return v.val(b) / v.val(a)
	}
	return v.val(a) / v.val(b)
}

// figure is r's ranking figure with its unit.
func (v verdict) figure(r Row) string {
	if v.cpuRule {
		return Dur(int64(r.CPUPerRep.Median)) + " of server CPU per reply"
	}
	return Count(r.Throughput.Median) + " replies/s"
}

// short is r's ranking figure alone: "34,000" or "4.43µs".
func (v verdict) short(r Row) string {
	if v.cpuRule {
		return Dur(int64(r.CPUPerRep.Median))
	}
	return Count(r.Throughput.Median)
}

// fewer says "1.32× fewer" replies, or "1.32× more CPU per reply".
func (v verdict) fewer(x float64) string {
	if v.cpuRule {
		return fmt.Sprintf("%.2f× more CPU per reply", x)
	}
	return fmt.Sprintf("%.2f× fewer", x)
}

// usesCPURule reports whether ranked rows must rank by server CPU per
// reply: some were generator-bound, and every one has its CPU measured.
func usesCPURule(ranked []Row) bool {
	bound := false
	for _, r := range ranked {
		if len(r.cpus) == 0 {
			return false
		}
		bound = bound || r.note("generator-bound") != nil
	}
	return bound
}

func judge(t Table) verdict {
	var v verdict
	for _, r := range t.Rows {
		switch {
		case r.Reps == 0 && len(r.Failures) == 0 && len(r.DisturbedFailures) == 0:
			// skipped
		case len(r.Failures) > 0:
			// The server's own failures (died, corrupted, reset) count
			// however busy the machine was.
			v.failed = append(v.failed, r)
		case r.Busy():
			v.busy = append(v.busy, r)
		case r.Reps == 0:
			v.busy = append(v.busy, r) // every repetition failed while disturbed
		case !r.Fair():
			v.unfair = append(v.unfair, r)
		case r.Ranked():
			v.ranked = append(v.ranked, r)
		}
	}
	if len(v.ranked) == 0 {
		return v
	}
	v.cpuRule = usesCPURule(v.ranked)
	sort.SliceStable(v.ranked, func(i, j int) bool { return v.better(v.ranked[i], v.ranked[j]) > 1 })
	reps := v.ranked[0].Reps
	for _, r := range v.ranked {
		reps = min(reps, r.Reps)
	}
	v.decidable = minUTestP(reps) <= Alpha
	lead := v.ranked[0]
	v.level = []Row{lead}
	for _, r := range v.ranked[1:] {
		d := differ(v.samples(lead), v.samples(r), Alpha, MinDelta)
		switch {
		case d.Differ:
			v.below = append(v.below, r)
		case math.Abs(d.DeltaPct) <= MinDelta*100:
			v.level = append(v.level, r)
		default:
			v.unsettled = append(v.unsettled, r)
		}
	}
	if !v.cpuRule {
		v.rankByCPU()
	}
	return v
}

// rankByCPU orders the level models by server CPU per reply when the
// generator bound them: the efficiency the servers still show.
func (v *verdict) rankByCPU() {
	if len(v.level) < 2 || !v.decidable {
		return
	}
	bound := false
	for _, r := range v.level {
		bound = bound || r.note("generator-bound") != nil
	}
	if !bound {
		return
	}
	for _, r := range v.level {
		if len(r.cpus) > 0 {
			v.byCPU = append(v.byCPU, r)
		}
	}
	if len(v.byCPU) < 2 {
		v.byCPU = nil
		return
	}
	sort.SliceStable(v.byCPU, func(i, j int) bool { return v.byCPU[i].CPUPerRep.Median < v.byCPU[j].CPUPerRep.Median })
	v.cpuApart = differ(v.byCPU[0].cpus, v.byCPU[1].cpus, Alpha, MinDelta).Differ
}

// cpuLine says how the generator-bound level models compare by server
// CPU per reply, or "".
func (v verdict) cpuLine() string {
	if len(v.byCPU) < 2 {
		return ""
	}
	a, b := v.byCPU[0], v.byCPU[1]
	if !v.cpuApart {
		return fmt.Sprintf("generator-bound, so ranked by server CPU per reply: not told apart (%s %s, %s %s)",
			a.Model, Dur(int64(a.CPUPerRep.Median)), b.Model, Dur(int64(b.CPUPerRep.Median)))
	}
	return fmt.Sprintf("generator-bound, so ranked by server CPU per reply: %s used least (%s, %.2f× less than %s)",
		a.Model, Dur(int64(a.CPUPerRep.Median)), b.CPUPerRep.Median/a.CPUPerRep.Median, b.Model)
}

// reading is the one-paragraph summary of a table of suite s.
func reading(t Table, s *results.Suite) string {
	v := judge(t)
	var b strings.Builder
	v.headline(&b, t, s)
	if v.decidable && len(v.ranked) > 1 {
		v.comparisons(&b)
	}
	v.exclusions(&b)
	v.caveats(&b, s)
	return b.String()
}

// headline is the reading's first sentence: the leader and by how much,
// or why there is none.
func (v verdict) headline(b *strings.Builder, t Table, s *results.Suite) {
	switch {
	case len(v.ranked) == 0 && len(v.busy) > 0 && len(v.failed) == 0 && len(v.unfair) == 0:
		fmt.Fprintf(b, "The machine was busy: most repetitions of %s were disturbed even after re-runs, so there is no verdict here.", joinAnd(modelNames(v.busy)))
	case len(v.ranked) == 0:
		b.WriteString("No model was measured fairly and without failure in this scenario.")
	case len(v.ranked) == 1:
		fmt.Fprintf(b, "Only %s was measured fairly and without failure (%s replies/s).", v.ranked[0].Model, Count(v.ranked[0].Throughput.Median))
	case !v.decidable:
		var parts []string
		for _, r := range v.ranked {
			parts = append(parts, fmt.Sprintf("%s %s", r.Model, v.figure(r)))
		}
		fmt.Fprintf(b, "Not a ranking: with %d repetition(s) no difference can be significant (a Mann-Whitney test needs ≥ %d per model; use --repeat 5). Medians: %s.",
			v.ranked[len(v.ranked)-1].Reps, samplesNeeded(Alpha), strings.Join(parts, ", "))
	case len(v.level) > 1:
		fmt.Fprintf(b, "%s were level (within %.0f%% of %s's %s and not told apart: Mann-Whitney p ≥ %.2f).",
			joinAnd(modelNames(v.level)), MinDelta*100, v.level[0].Model, v.figure(v.level[0]), Alpha)
	case len(v.unsettled) > 0 && (len(v.below) == 0 || v.ranked[1].Model == v.unsettled[0].Model):
		lead := v.ranked[0]
		if v.cpuRule {
			fmt.Fprintf(b, "%s had the lowest median server CPU per reply, %s.", lead.Model, Dur(int64(lead.CPUPerRep.Median)))
		} else {
			fmt.Fprintf(b, "%s had the highest median, %s replies/s.", lead.Model, Count(lead.Throughput.Median))
		}
	case v.cpuRule:
		lead, next := v.ranked[0], v.ranked[1]
		fmt.Fprintf(b, "%s used the least server CPU per reply, %s, %.2f× less than %s (next, p=%.3f).", lead.Model, Dur(int64(lead.CPUPerRep.Median)),
			v.better(lead, next), next.Model, differ(v.samples(lead), v.samples(next), Alpha, MinDelta).P)
	default:
		lead, next := v.ranked[0], v.ranked[1]
		fmt.Fprintf(b, "%s led with %s replies/s, %.2f× %s (next, p=%.3f): %s.", lead.Model, Count(lead.Throughput.Median),
			lead.Throughput.Median/next.Throughput.Median, next.Model, differ(lead.tput, next.tput, Alpha, MinDelta).P, why(s, lead.Model, t.Scenario.Conns))
	}
}

// comparisons places the other ranked models against the leader.
func (v verdict) comparisons(b *strings.Builder) {
	lead := v.ranked[0]
	var lower, collapsed []string
	for _, r := range v.below {
		f := fmt.Sprintf("%s (%s)", r.Model, v.fewer(v.better(lead, r)))
		if !v.cpuRule && r.Throughput.Median*collapseFactor < lead.Throughput.Median {
			collapsed = append(collapsed, f)
		} else if len(v.level) > 1 || r.Model != v.ranked[1].Model {
			lower = append(lower, f)
		}
	}
	if len(v.unsettled) > 0 {
		var parts []string
		for _, r := range v.unsettled {
			parts = append(parts, fmt.Sprintf("%s (%s, %.2f×)", r.Model, v.short(r), v.val(r)/v.val(lead)))
		}
		fmt.Fprintf(b, " Not told apart from %s although their medians differ by more than %.0f%% (the repetitions spread too widely; more --repeat may settle it): %s.",
			lead.Model, MinDelta*100, joinAnd(parts))
	}
	if len(lower) > 0 {
		fmt.Fprintf(b, " Told apart below %s: %s.", lead.Model, joinAnd(lower))
	}
	if l := v.cpuLine(); l != "" {
		b.WriteString(" " + strings.ToUpper(l[:1]) + l[1:] + ".")
	}
	if len(collapsed) > 0 {
		fmt.Fprintf(b, " Collapsed: %s.", joinAnd(collapsed))
	}
	b.WriteString(lowestP99(v))
}

// exclusions say why each unranked model is not ranked.
func (v verdict) exclusions(b *strings.Builder) {
	for _, r := range v.unfair {
		fmt.Fprintf(b, " %s is not ranked: unfair in its typical repetition (median Jain %.2f, %d connection(s) without a reply): its latency covers only the replies it gave.", r.Model, r.Jain, r.ZeroConn)
	}
	if len(v.ranked) > 0 {
		for _, r := range v.busy {
			fmt.Fprintf(b, " %s is not ranked: the machine disturbed most of its repetitions, even after re-runs.", r.Model)
		}
	}
	for _, r := range v.failed {
		fmt.Fprintf(b, " %s is not ranked: %d of %d repetition(s) failed (%s).", r.Model, len(r.Failures), len(r.Failures)+r.Reps, r.firstFailure())
	}
}

// caveats say what the figures of the ranked models rest on.
func (v verdict) caveats(b *strings.Builder, s *results.Suite) {
	var bound []string
	for _, r := range v.ranked {
		if r.note(results.CodeGeneratorBound) != nil {
			bound = append(bound, r.Model)
		}
	}
	switch {
	case len(bound) > 0 && v.cpuRule:
		fmt.Fprintf(b, " Generator-bound: %s (the load generator was near its CPU limit, so replies/s are its ceiling, not the servers': ranked by server CPU per reply instead).", joinAnd(bound))
	case len(bound) > 0:
		fmt.Fprintf(b, " Generator-bound: %s (the load generator was near its CPU limit: those figures may be its ceiling, not the server's).", joinAnd(bound))
	}
	for _, r := range v.ranked {
		if r.CPUShare.N > 0 && r.CPUShare.Median >= 90 && r.CPUPerRep.N > 0 && slices.ContainsFunc(s.Models, func(m results.ModelInfo) bool { return m.Name == r.Model && m.Mechanism == "busy-poll" }) {
			fmt.Fprintf(b, " %s keeps its core busy at any load (%.0f%% of its cores here): it never sleeps.", r.Model, r.CPUShare.Median)
		}
	}
}

// lowestP99 names the ranked model whose p99 is told apart as lower than
// every other's, when there is one.
func lowestP99(v verdict) string {
	rows := slices.Clone(v.ranked)
	rows = slices.DeleteFunc(rows, func(r Row) bool { return len(r.p99s) == 0 })
	if len(rows) < 2 {
		return ""
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].P99.Median < rows[j].P99.Median })
	best := rows[0]
	for _, r := range rows[1:] {
		if !differ(best.p99s, r.p99s, Alpha, MinDelta).Differ {
			return ""
		}
	}
	return fmt.Sprintf(" Lowest p99: %s (%s, next %s %s).", best.Model, Dur(int64(best.P99.Median)), rows[1].Model, Dur(int64(rows[1].P99.Median)))
}
