package results

import "slices"

// Fairness: how evenly the busy connections were served.

// Fairness of replies over the busy connections.
// FairJain: a run whose Jain index is below it, or that left a busy
// connection without a reply, served some connections at the others'
// expense; its latency covers only the replies it gave. results owns the
// rule; loadgen warns by it and report ranks by it.
const FairJain = 0.9

// Fair reports whether service was fair (see FairJain).
func (f Fairness) Fair() bool { return f.Jain >= FairJain && f.ZeroConn == 0 }

type Fairness struct {
	Jain     float64 `json:"jain"` // (Σx)² / (n·Σx²): 1 is perfectly even, 1/n is one connection got all
	Min      uint64  `json:"min"`
	Median   uint64  `json:"median"`
	Max      uint64  `json:"max"`
	ZeroConn int     `json:"zero_reply_conns"` // connections that got no reply in the window
	// The sums Jain's index is made of, so that shards merge exactly.
	Conns int     `json:"conns"`
	Sum   uint64  `json:"sum"`
	SumSq float64 `json:"sum_sq"`
}

// FairnessOf computes Jain's index and the spread of per-connection counts.
func FairnessOf(counts []uint64) Fairness {
	if len(counts) == 0 {
		return Fairness{}
	}
	s := append([]uint64(nil), counts...)
	slices.Sort(s)
	f := Fairness{Min: s[0], Max: s[len(s)-1], Median: s[len(s)/2], Conns: len(s)}
	for _, x := range s {
		f.Sum += x
		f.SumSq += float64(x) * float64(x)
		if x == 0 {
			f.ZeroConn++
		}
	}
	if f.SumSq > 0 {
		f.Jain = float64(f.Sum) * float64(f.Sum) / (float64(len(s)) * f.SumSq)
	}
	return f
}
