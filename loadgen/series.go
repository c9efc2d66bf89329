package loadgen

import (
	"iobench/results"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// The time series: an interval closed every --interval (and as the
// window opens), with its replies, latency, the requests waiting and the
// stall bookkeeping; live progress from the same ticks.

// startProgress runs progress until the returned stop is called; stop
// waits for it to close the last interval, so the series is whole.
func (s *session) startProgress() (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		s.progress(done)
	}()
	return func() {
		close(done)
		<-finished
	}
}

// progress closes an interval of the time series every cfg.Interval
// until done is closed, reports progress about once a second, and
// samples CPU at the end of warmup.
func (s *session) progress(done <-chan struct{}) {
	tick := time.NewTicker(s.cfg.Interval)
	defer tick.Stop()
	warm := time.NewTimer(time.Until(s.base.Add(s.cfg.Warmup)))
	defer warm.Stop()
	// The window closes on time, as it opens: CPU, system calls and the
	// server's marks stop there, before the engines tear down (closing a
	// thousand connections is no part of serving replies).
	end := time.NewTimer(time.Until(s.base.Add(s.cfg.Warmup + s.cfg.Duration)))
	defer end.Stop()
	lastReport, replies := time.Now(), uint64(0)
	sofar := results.NewHistogram()
	for {
		select {
		case <-done:
			s.closeInterval(s.now(), nil)
			return
		case <-warm.C:
			// The measured window opens: so does a new interval.
			s.closeInterval(s.now(), sofar)
			tick.Reset(s.cfg.Interval)
			s.markCPU(false)
		case <-end.C:
			s.markCPU(true)
		case now := <-tick.C:
			iv := s.closeInterval(s.now(), sofar)
			replies += iv.Replies
			if s.cfg.Progress == nil || now.Sub(lastReport) < 900*time.Millisecond {
				continue
			}
			elapsed := time.Since(s.base)
			s.cfg.Progress(Progress{
				Elapsed: elapsed, Warmup: elapsed < s.cfg.Warmup,
				RatePerSec:  float64(replies) / now.Sub(lastReport).Seconds(),
				P99:         time.Duration(sofar.ValueAtQuantile(99)),
				Established: int(s.established.Load()), Requested: s.cfg.Conns + s.cfg.IdleConns,
			})
			lastReport, replies = now, 0
		}
	}
}

// closeInterval ends the current interval at now (ns since base): its
// replies and latency from every worker, the requests still waiting and
// the oldest of them, and the stall bookkeeping. merged, when set, gets
// the interval's histogram added.
func (s *session) closeInterval(now int64, merged *hdrhistogram.Histogram) results.Interval {
	// Nothing after the window counts (replies past it are not recorded):
	// the series ends with the window, not with a sliver of silence.
	now = min(now, s.endedAt.Load())
	h := s.ivHist
	h.Reset()
	iv := results.Interval{StartNS: s.ivStart, EndNS: now, Warmup: s.ivStart < s.plan.measureAt}
	for _, w := range s.workers {
		w.mu.Lock()
		iv.Replies += w.rec.intervalRepl
		w.rec.intervalRepl = 0
		h.Merge(w.rec.iv)
		w.rec.iv.Reset()
		for _, c := range w.conns {
			age := c.oldest(now)
			if age == 0 {
				continue
			}
			iv.Outstanding += c.n
			iv.OldestNS = max(iv.OldestNS, age)
			if age > int64(s.cfg.StallAfter) && !s.stalledConn[c.id] {
				s.stalledConn[c.id] = true
			}
		}
		w.mu.Unlock()
	}
	if now <= s.ivStart {
		return iv // past the window: nothing to record
	}
	if h.TotalCount() > 0 {
		iv.P50NS, iv.P99NS, iv.MaxNS = h.ValueAtQuantile(50), h.ValueAtQuantile(99), h.Max()
	}
	s.stallMax = max(s.stallMax, iv.OldestNS)
	if iv.Replies == 0 && iv.Outstanding > 0 && !iv.Warmup {
		s.stalledNS += now - s.ivStart
	}
	if merged != nil {
		merged.Merge(h)
	}
	s.intervals = append(s.intervals, iv)
	if s.cfg.OnInterval != nil {
		h.SetStartTimeMs(s.base.Add(time.Duration(s.ivStart)).UnixMilli())
		h.SetEndTimeMs(s.base.Add(time.Duration(now)).UnixMilli())
		s.cfg.OnInterval(iv, h)
	}
	s.ivStart = now
	return iv
}

// series records the time series and the stalls: the intervals, and
// every request still waiting when the window closed, with its age.
func (s *session) series(r *results.Run, t tally) {
	r.Series = &results.Series{IntervalNS: int64(s.cfg.Interval), Intervals: s.intervals}
	st := &results.Stall{AfterNS: int64(s.cfg.StallAfter), StalledNS: s.stalledNS, MaxAgeNS: s.stallMax}
	for _, w := range s.workers {
		for _, c := range w.conns {
			age := c.oldest(t.end)
			if age == 0 {
				continue
			}
			st.OutstandingAtEnd += c.n
			st.OldestAtEndNS = max(st.OldestAtEndNS, age)
			st.MaxAgeNS = max(st.MaxAgeNS, age)
			if age > int64(s.cfg.StallAfter) {
				s.stalledConn[c.id] = true
				if c.rxOff > 0 {
					st.Partial++
				}
			}
		}
	}
	st.Conns = len(s.stalledConn)
	r.Stall = st
}
