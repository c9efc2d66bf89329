package results

import (
	"slices"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Percentiles: read from a histogram, with the requests still unanswered
// counted at their age (a lower bound where they decide it).

// Percentiles of a latency histogram, in nanoseconds.
type Percentiles struct {
	P50   int64 `json:"p50"`
	P90   int64 `json:"p90"`
	P99   int64 `json:"p99"`
	P999  int64 `json:"p999"`
	P9999 int64 `json:"p9999"`
	Max   int64 `json:"max"`
	Count int64 `json:"count"`
	// Open counts requests still unanswered when the window closed,
	// recorded at their age then (a lower bound of their latency);
	// LowerFrom names the lowest percentile that rests on them ("p99"):
	// it and every one above it are lower bounds, the true figures may
	// be higher.
	Open      int64  `json:"open,omitempty"`
	LowerFrom string `json:"lower_from,omitempty"`
}

// Quantiles are the percentiles Percentiles holds, by name.
var Quantiles = []struct {
	Name string
	Q    float64
}{{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p999", 99.9}, {"p9999", 99.99}, {"max", 100}}

// Get is the percentile named name (one of Quantiles) and whether it is
// a lower bound.
func (p Percentiles) Get(name string) (v int64, lowerBound bool) {
	lowerBound = p.LowerFrom != "" && quantileOf(name) >= quantileOf(p.LowerFrom)
	switch name {
	case "p50":
		return p.P50, lowerBound
	case "p90":
		return p.P90, lowerBound
	case "p99":
		return p.P99, lowerBound
	case "p999":
		return p.P999, lowerBound
	case "p9999":
		return p.P9999, lowerBound
	}
	return p.Max, lowerBound
}

func quantileOf(name string) float64 {
	for _, q := range Quantiles {
		if q.Name == name {
			return q.Q
		}
	}
	return 100
}

// PercentilesOf reads the percentiles of h.
func PercentilesOf(h *hdrhistogram.Histogram) Percentiles {
	if h == nil || h.TotalCount() == 0 {
		return Percentiles{}
	}
	v := h.ValueAtPercentiles([]float64{50, 90, 99, 99.9, 99.99})
	return Percentiles{P50: v[50], P90: v[90], P99: v[99], P999: v[99.9], P9999: v[99.99],
		Max: h.Max(), Count: h.TotalCount()}
}

// PercentilesWithOpen reads the percentiles of the answered requests'
// latencies (done) together with the unanswered ones' ages (open, lower
// bounds), and marks the lowest percentile that rests on an open one:
// whose value (within the histogram's precision) is the age of a
// request still unanswered, so the true figure may be higher. Young
// requests in flight at a healthy end sit below the tail and mark
// nothing; a backlog or a stalled connection does. done gets open
// merged in.
func PercentilesWithOpen(done, open *hdrhistogram.Histogram) Percentiles {
	n := open.TotalCount()
	done.Merge(open)
	p := PercentilesOf(done)
	if n == 0 {
		return p
	}
	p.Open = n
	var bars []hdrhistogram.Bar
	for _, b := range open.Distribution() {
		if b.Count > 0 {
			bars = append(bars, b)
		}
	}
	for _, q := range Quantiles {
		v, _ := p.Get(q.Name)
		if slices.ContainsFunc(bars, func(b hdrhistogram.Bar) bool { return done.ValuesAreEquivalent(v, b.From) || v >= b.From && v <= b.To }) {
			p.LowerFrom = q.Name
			break
		}
	}
	return p
}
