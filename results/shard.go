package results

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Shard says which share of a load a run was (load --shard I/N): Index
// of Count, and the whole load's settings it took its share of.
type Shard struct {
	Index      int     `json:"index"` // 0-based, as a Kubernetes Indexed Job's completion index
	Count      int     `json:"count"`
	TotalConns int     `json:"total_conns"`
	TotalIdle  int     `json:"total_idle_conns"`
	TotalRate  float64 `json:"total_rate,omitempty"`
	// StartAt is when every shard was asked to begin its warmup; StartedAt
	// when this one did (connecting may have made it late).
	StartAt   time.Time `json:"start_at,omitzero"`
	StartedAt time.Time `json:"started_at"`
}

// ShardEntry is one shard of a merged run: where it ran and when it began.
type ShardEntry struct {
	Shard
	Environment Environment `json:"environment"`
}

// ErrMerge is returned when runs can't be merged into one exactly.
var ErrMerge = errors.New("can't merge")

// MergeShards merges the runs of every shard of one load into one run, in
// the same schema: counts summed, histograms merged exactly (refused if a
// value would be dropped), fairness recomputed from every connection's
// count, every shard's environment kept. It refuses runs of different
// servers or settings, duplicated or missing shards.
func MergeShards(runs []*Run) (*Run, error) {
	if err := checkShards(runs); err != nil {
		return nil, err
	}
	runs = slices.Clone(runs)
	slices.SortFunc(runs, func(a, b *Run) int { return a.Shard.Index - b.Shard.Index })
	first := runs[0]
	out := &Run{Schema: SchemaVersion, Config: first.Config, Environment: first.Environment, ErrorKinds: map[string]uint64{}}
	sh := first.Shard
	out.Config.Conns, out.Config.IdleConns, out.Config.Rate = sh.TotalConns, sh.TotalIdle, sh.TotalRate
	out.Config.Workers = 0 // every shard's, added below (shard 0's once)
	var counts []uint64
	var start, end time.Time
	for _, r := range runs {
		addRun(out, r)
		counts = append(counts, r.ConnReplies...)
		out.Shards = append(out.Shards, ShardEntry{Shard: *r.Shard, Environment: r.Environment})
		if t := r.Shard.StartedAt; start.IsZero() || t.Before(start) {
			start = t
		}
		if t := r.Shard.StartedAt; t.After(end) {
			end = t
		}
		for _, w := range r.Warnings {
			out.Warnings = append(out.Warnings, shardLine(w, r.Shard.Index))
		}
		for _, f := range r.Failures {
			out.Failures = append(out.Failures, shardLine(f, r.Shard.Index))
		}
	}
	out.StartSkewNS = int64(end.Sub(start))
	out.Fairness = FairnessOf(counts)
	if err := mergeHistograms(out, runs); err != nil {
		return nil, err
	}
	if out.Client.Cores > 0 && out.MeasuredNS > 0 {
		// The most loaded generator decides whether any was the bottleneck.
		for _, r := range runs {
			out.Client.Utilization = max(out.Client.Utilization, r.Client.Utilization)
		}
		out.Client.Bottleneck = GeneratorBound(out.Client.Utilization)
	}
	if out.StartSkewNS > int64(10*time.Millisecond) {
		out.Warnings = append(out.Warnings, Warn(CodeStartSkew, "the shards began their warmups up to %s apart: the windows overlap less than they seem", time.Duration(out.StartSkewNS)))
	}
	return out, nil
}

// shardLine is a shard's warning in the merged run: "shard I: text".
func shardLine(w Warning, index int) Warning {
	w.Text = fmt.Sprintf("shard %d: %s", index, w.Text)
	return w
}

func checkShards(runs []*Run) error {
	if len(runs) == 0 {
		return fmt.Errorf("results: %w: no runs", ErrMerge)
	}
	f := runs[0]
	if f.Shard == nil {
		return fmt.Errorf("results: %w: run 1 is not a shard (iobench load --shard I/N writes shards)", ErrMerge)
	}
	seen := map[int]bool{}
	for i, r := range runs {
		switch {
		case r.Shard == nil:
			return fmt.Errorf("results: %w: run %d is not a shard (iobench load --shard I/N writes shards)", ErrMerge, i+1)
		case r.Config.Addr != f.Config.Addr:
			return fmt.Errorf("results: %w: shard %d measured %s, shard %d %s: different servers", ErrMerge, r.Shard.Index, r.Config.Addr, f.Shard.Index, f.Config.Addr)
		case !sameLoad(r, f):
			return fmt.Errorf("results: %w: shard %d was run with other settings than shard %d (mode, size, depth, duration, warmup, engine or the whole load's connections and rate differ)", ErrMerge, r.Shard.Index, f.Shard.Index)
		case r.Shard.Count != f.Shard.Count:
			return fmt.Errorf("results: %w: shard %d is one of %d, shard %d one of %d", ErrMerge, r.Shard.Index, r.Shard.Count, f.Shard.Index, f.Shard.Count)
		case seen[r.Shard.Index]:
			return fmt.Errorf("results: %w: shard %d is given twice", ErrMerge, r.Shard.Index)
		}
		seen[r.Shard.Index] = true
	}
	for i := range f.Shard.Count {
		if !seen[i] {
			return fmt.Errorf("results: %w: shard %d of %d is missing", ErrMerge, i, f.Shard.Count)
		}
	}
	return nil
}

func sameLoad(a, b *Run) bool {
	ca, cb := a.Config, b.Config
	sa, sb := *a.Shard, *b.Shard
	return ca.Mode == cb.Mode && ca.SizeMin == cb.SizeMin && ca.SizeMax == cb.SizeMax && ca.Depth == cb.Depth &&
		ca.DurationNS == cb.DurationNS && ca.WarmupNS == cb.WarmupNS && ca.Engine == cb.Engine &&
		sa.TotalConns == sb.TotalConns && sa.TotalIdle == sb.TotalIdle && sa.TotalRate == sb.TotalRate && sa.StartAt.Equal(sb.StartAt)
}

// addRun adds r's counts to out.
func addRun(out, r *Run) {
	out.Interrupted = out.Interrupted || r.Interrupted
	out.MeasuredNS = max(out.MeasuredNS, r.MeasuredNS)
	out.Replies += r.Replies
	out.ThroughputPerSec += r.ThroughputPerSec
	out.BytesPerSec += r.BytesPerSec
	out.Errors += r.Errors
	for k, v := range r.ErrorKinds {
		out.ErrorKinds[k] += v
	}
	c, rc := &out.Connections, r.Connections
	c.Requested += rc.Requested
	c.Established += rc.Established
	c.Failed += rc.Failed
	c.ClosedByPeer += rc.ClosedByPeer
	c.IdleRequested += rc.IdleRequested
	c.IdleEstablished += rc.IdleEstablished
	c.IdleClosed += rc.IdleClosed
	if len(rc.FailedBy) > 0 {
		if c.FailedBy == nil {
			c.FailedBy = map[string]int{}
		}
		for k, v := range rc.FailedBy {
			c.FailedBy[k] += v
		}
	}
	if r.Rate != nil {
		if out.Rate == nil {
			out.Rate = &RateStats{}
		}
		out.Rate.Target += r.Rate.Target
		out.Rate.Achieved += r.Rate.Achieved
		out.Rate.BacklogMax = max(out.Rate.BacklogMax, r.Rate.BacklogMax)
		out.Rate.BacklogEnd += r.Rate.BacklogEnd
		out.Rate.Unfinished += r.Rate.Unfinished
	}
	out.Client.UserNS += r.Client.UserNS
	out.Client.SysNS += r.Client.SysNS
	out.Client.Cores += r.Client.Cores
	out.Config.Workers += r.Config.Workers
	if out.Client.CountsUnavailable == "" {
		out.Client.CountsUnavailable = r.Client.CountsUnavailable
	}
}

// mergeHistograms merges every shard's histograms exactly into out.
func mergeHistograms(out *Run, runs []*Run) error {
	for _, h := range []struct {
		name string
		get  func(*Run) string
		set  func(string)
		pct  func(Percentiles)
	}{
		{"latency", func(r *Run) string { return r.Histograms.Latency }, func(s string) { out.Histograms.Latency = s },
			func(p Percentiles) { out.LatencyNS = p }},
		{"latency_uncorrected", func(r *Run) string { return r.Histograms.LatencyUncorrected }, func(s string) { out.Histograms.LatencyUncorrected = s },
			func(p Percentiles) {
				if p.Count > 0 || out.Rate != nil {
					out.LatencyUncorrectedNS = &p
				}
			}},
		{"connect", func(r *Run) string { return r.Histograms.Connect }, func(s string) { out.Histograms.Connect = s },
			func(p Percentiles) { out.ConnectNS = p }},
	} {
		merged := NewHistogram()
		any := false
		for _, r := range runs {
			hist, err := DecodeHistogram(h.get(r))
			if err != nil {
				return fmt.Errorf("results: shard %d: %w", r.Shard.Index, err)
			}
			if hist == nil {
				continue
			}
			any = true
			if dropped := merged.Merge(hist); dropped > 0 {
				return fmt.Errorf("results: %w: merging shard %d's %s histogram would drop %d values (its range differs)", ErrMerge, r.Shard.Index, h.name, dropped)
			}
		}
		if !any {
			continue
		}
		enc, err := EncodeHistogram(merged)
		if err != nil {
			return err
		}
		h.set(enc)
		h.pct(PercentilesOf(merged))
	}
	return nil
}
