package report

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"golang.org/x/perf/benchmath"
)

// Stat is a median with its confidence interval over n samples (one
// sample per repetition). Lo and Hi are ±Inf when the sample is too small
// to bound the interval at the confidence asked.
type Stat struct {
	N          int     `json:"n"`
	Median     float64 `json:"median"`
	Lo         float64 `json:"ci_lo"`
	Hi         float64 `json:"ci_hi"`
	Confidence float64 `json:"confidence"`
}

// Bounded reports whether the interval is finite.
func (s Stat) Bounded() bool { return !math.IsInf(s.Lo, 0) && !math.IsInf(s.Hi, 0) }

// MarshalJSON writes an unbounded interval's ends as null (JSON has no ∞).
func (s Stat) MarshalJSON() ([]byte, error) {
	end := func(v float64) *float64 {
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil
		}
		return &v
	}
	return json.Marshal(struct {
		N          int      `json:"n"`
		Median     float64  `json:"median"`
		Lo         *float64 `json:"ci_lo"`
		Hi         *float64 `json:"ci_hi"`
		Confidence float64  `json:"confidence"`
	}{s.N, s.Median, end(s.Lo), end(s.Hi), s.Confidence})
}

// Confidence asked of every interval.
const Confidence = 0.95

// Gate is how two samples are told apart, in `compare` and in the report
// alike: a Mann-Whitney U test below Alpha and a difference of medians
// above MinDelta.
const (
	Alpha    = 0.05
	MinDelta = 0.05
)

// The output formats, each listed once: what `report --format` and
// `compare --format` accept (and their help and errors say).
var (
	ReportFormats     = []string{"table", "md", "csv", "benchfmt", "json"}
	ComparisonFormats = []string{"table", "md", "json"}
)

// CheckFormat refuses a format not in formats, naming them.
func CheckFormat(format string, formats []string) error {
	if slices.Contains(formats, format) {
		return nil
	}
	return fmt.Errorf("--format %q: want %s", format, OrList(formats))
}

// OrList is "a, b or c".
func OrList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

func thresholds(alpha float64) *benchmath.Thresholds {
	t := benchmath.DefaultThresholds
	t.CompareAlpha = alpha
	return &t
}

// summarize is the 95% interval of the median (golang.org/x/perf's
// benchmath, assuming nothing about the distribution), exactly what
// compare prints; unbounded below 6 samples.
func summarize(v []float64) Stat {
	if len(v) == 0 {
		return Stat{}
	}
	s := benchmath.AssumeNothing.Summary(benchmath.NewSample(v, thresholds(Alpha)), Confidence)
	return Stat{N: len(v), Median: s.Center, Lo: s.Lo, Hi: s.Hi, Confidence: s.Confidence}
}

// Spread is summarize's interval where it is finite; below 6 samples,
// where a 95% interval of the median is unbounded, it is the sample's
// range, whose confidence for the median is 1 − 2·0.5ⁿ (75% with 3
// samples, 94% with 5), said in Confidence. One sample has no spread.
func Spread(v []float64) Stat {
	s := summarize(v)
	if s.N >= 2 && !s.Bounded() {
		s.Lo, s.Hi = math.Inf(1), math.Inf(-1)
		for _, x := range v {
			s.Lo, s.Hi = math.Min(s.Lo, x), math.Max(s.Hi, x)
		}
		s.Confidence = 1 - 2*math.Pow(0.5, float64(s.N))
	}
	return s
}

// Difference is how two samples compare under the gate.
type Difference struct {
	P        float64 // Mann-Whitney U, two-sided
	DeltaPct float64 // (b/a − 1) × 100, of the medians
	// Decidable: the samples are large enough for the test to reach
	// alpha at all (≥ 4 each at 0.05).
	Decidable bool
	// Differ: p < alpha and |delta| > the threshold.
	Differ bool
}

// differ tests a against b at alpha, counting a difference only above
// threshold (a fraction).
func differ(a, b []float64, alpha, threshold float64) Difference {
	thr := thresholds(alpha)
	sa, sb := benchmath.NewSample(a, thr), benchmath.NewSample(b, thr)
	cmp := benchmath.AssumeNothing.Compare(sa, sb)
	d := Difference{P: cmp.P, Decidable: minUTestP(min(len(a), len(b))) <= alpha}
	ma, mb := summarize(a).Median, summarize(b).Median
	if ma != 0 {
		d.DeltaPct = (mb/ma - 1) * 100
	}
	d.Differ = d.Decidable && cmp.P < alpha && math.Abs(d.DeltaPct) > threshold*100
	return d
}

// minUTestP is the smallest two-sided p-value a Mann-Whitney U test can
// give with n samples on each side (total separation): 2 / C(2n, n). Below
// 4 samples a side it never reaches 0.05, however large the change.
func minUTestP(n int) float64 {
	if n < 1 {
		return 1
	}
	c := 1.0
	for i := 1; i <= n; i++ {
		c = c * float64(n+i) / float64(i)
	}
	return math.Min(1, 2/c)
}

// samplesNeeded is the fewest samples a side that can reach alpha.
func samplesNeeded(alpha float64) int {
	for n := 1; n < 64; n++ {
		if minUTestP(n) <= alpha {
			return n
		}
	}
	return 64
}
