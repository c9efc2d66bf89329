package loadgen_test

import (
	"context"
	"errors"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"iobench/loadgen"
	"iobench/results"
)

// testServer is an in-process echo server with faults to order.
type testServer struct {
	ln        net.Listener
	delay     time.Duration // before every reply
	stallAt   time.Duration // from the first connection: hold every reply...
	stallFor  time.Duration // ...for this long
	corrupt   int           // flip a byte in every corrupt-th read (0: never)
	short     bool          // echo one byte short
	appendX   bool          // append a byte to every echo
	closeRead int           // close each connection after this many reads (0: never)
	dying     atomic.Bool   // close every connection at its next read
	held      atomic.Int64  // the longest a delayed reply was actually held (ns)
	ended     atomic.Int64  // connections the client ended (EOF or reset seen)
	start     time.Time
	once      sync.Once
	wg        sync.WaitGroup
}

func startServer(t testing.TB, s *testServer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.once.Do(func() { s.start = time.Now() })
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

func (s *testServer) serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 64<<10)
	for reads := 1; ; reads++ {
		n, err := c.Read(buf[:len(buf)-1]) // room for appendX's byte
		if err != nil {
			s.ended.Add(1)
			return
		}
		if s.dying.Load() {
			return
		}
		if s.delay > 0 {
			t0 := time.Now()
			time.Sleep(s.delay)
			for d := int64(time.Since(t0)); ; {
				if old := s.held.Load(); d <= old || s.held.CompareAndSwap(old, d) {
					break
				}
			}
		}
		if s.stallFor > 0 {
			since := time.Since(s.start)
			if since >= s.stallAt && since < s.stallAt+s.stallFor {
				time.Sleep(s.stallAt + s.stallFor - since)
			}
		}
		if s.corrupt > 0 && reads%s.corrupt == 0 {
			buf[n-1] ^= 0xff
		}
		switch {
		case s.short:
			n--
		case s.appendX:
			buf[n] = 'x'
			n++
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
		if s.closeRead > 0 && reads >= s.closeRead {
			return
		}
	}
}

// engines are the load engines this OS has.
func engines() []string {
	if loadgenHasEpoll {
		return append([]string{"epoll", "net"}, uringEngines()...)
	}
	return []string{"net"}
}

func mustRun(t *testing.T, cfg loadgen.Config) *results.Run {
	t.Helper()
	r, err := loadgen.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return r
}

func TestPlainEcho(t *testing.T) {
	addr := startServer(t, &testServer{})
	for _, eng := range engines() {
		for _, mode := range []loadgen.Mode{loadgen.Closed, loadgen.Stream} {
			t.Run(eng+"/"+string(mode), func(t *testing.T) {
				r := mustRun(t, loadgen.Config{Addr: addr, Engine: eng, Mode: mode, Conns: 8, Depth: 2,
					SizeMin: 1, SizeMax: 3000, Duration: 500 * time.Millisecond, Warmup: 100 * time.Millisecond, IdleConns: 3})
				if r.Errors != 0 || r.Replies == 0 || r.Connections.Established != 11 || r.Connections.IdleEstablished != 3 {
					t.Fatalf("errors %d, replies %d, connections %+v", r.Errors, r.Replies, r.Connections)
				}
				if r.Fairness.ZeroConn != 0 || !samplesMatch(r) {
					t.Errorf("fairness %+v, %d latency samples for %d replies", r.Fairness, r.LatencyNS.Count, r.Replies)
				}
				if r.Config.Engine != eng {
					t.Errorf("engine %q, want %q", r.Config.Engine, eng)
				}
				for _, w := range r.Warnings {
					// The server shares this process's CPUs (and its
					// goroutine scheduler), so the generator may well look
					// like the bottleneck, and service a little uneven.
					if w.Code != results.CodeGeneratorBound && w.Code != results.CodeUnfair {
						t.Errorf("warning: %s", w)
					}
				}
				if r.Failed() {
					t.Errorf("failures: %q", r.Failures)
				}
			})
		}
	}
}

// TestDelay: a server that answers after 20ms must read as p50 ≈ 20ms.
func TestDelay(t *testing.T) {
	srv := &testServer{delay: 20 * time.Millisecond}
	addr := startServer(t, srv)
	for _, eng := range engines() {
		t.Run(eng, func(t *testing.T) {
			r := mustRun(t, loadgen.Config{Addr: addr, Engine: eng, Conns: 4, Duration: time.Second, Warmup: 100 * time.Millisecond})
			// Twice the longest hold the server saw would mean the delay
			// was counted twice; a busy machine that oversleeps the 20ms
			// lengthens both sides alike.
			held := time.Duration(srv.held.Load())
			if p50 := time.Duration(r.LatencyNS.P50); p50 < 20*time.Millisecond || p50 >= 2*max(held, 20*time.Millisecond) {
				t.Errorf("p50 %v; want 20ms up to twice the longest hold, %v", p50, held)
			}
		})
	}
}

// TestStallCorrected: with a fixed schedule, a 300ms stall of every reply
// must show in the corrected tail (many messages were due during it) and
// not in the uncorrected p99 (only the few in flight waited).
func TestStallCorrected(t *testing.T) {
	for _, eng := range engines() {
		t.Run(eng, func(t *testing.T) {
			addr := startServer(t, &testServer{stallAt: 700 * time.Millisecond, stallFor: 300 * time.Millisecond})
			r := mustRun(t, loadgen.Config{Addr: addr, Engine: eng, Mode: loadgen.Rate, Rate: 1000, Conns: 10,
				Duration: 2 * time.Second, Warmup: 0})
			corr, raw := time.Duration(r.LatencyNS.P99), time.Duration(r.LatencyUncorrectedNS.P99)
			if corr < 150*time.Millisecond {
				t.Errorf("corrected p99 %v; the 300ms stall should be in it", corr)
			}
			if raw > 50*time.Millisecond {
				t.Errorf("uncorrected p99 %v; the stall should hide from it", raw)
			}
			if time.Duration(r.LatencyUncorrectedNS.Max) < 200*time.Millisecond {
				t.Errorf("uncorrected max %v; the messages in flight did wait out the stall", time.Duration(r.LatencyUncorrectedNS.Max))
			}
		})
	}
}

// TestRateHeld: the schedule is exact — every message due in the window
// was either sent or is counted as backlog, 5000/s within 1% — and with a
// server that keeps up, nearly all of them were sent. (How many were
// still due at the end depends on the server's last milliseconds, which a
// loaded CI machine can stall; the accounting must hold regardless.)
func TestRateHeld(t *testing.T) {
	addr := startServer(t, &testServer{})
	for _, eng := range engines() {
		t.Run(eng, func(t *testing.T) {
			r := mustRun(t, loadgen.Config{Addr: addr, Engine: eng, Mode: loadgen.Rate, Rate: 5000, Conns: 10,
				Duration: time.Second, Warmup: 200 * time.Millisecond})
			secs := float64(r.MeasuredNS) / 1e9
			due := r.Rate.Achieved + float64(r.Rate.BacklogEnd)/secs
			if due < 0.99*5000 || due > 1.01*5000 {
				t.Errorf("sent %.0f/s + %d still due at the end = %.0f/s scheduled; want 5000 ± 1%%", r.Rate.Achieved, r.Rate.BacklogEnd, due)
			}
			if r.Rate.Achieved < 0.95*5000 {
				t.Errorf("achieved %.0f msg/s against a server that keeps up; want ≥ 95%% of 5000", r.Rate.Achieved)
			}
		})
	}
}

// samplesMatch: latency is of the requests due in the window (answered,
// or open at its end), replies are those that arrived in it: the two
// differ by at most what was in flight as the window opened and closed.
func samplesMatch(r *results.Run) bool {
	inFlight := int64(r.Config.Conns * r.Config.Depth)
	if r.Config.Mode == string(loadgen.Stream) {
		inFlight = int64(r.Config.Conns * 4096)
	}
	d := r.LatencyNS.Count - int64(r.Replies)
	return d >= -inFlight && d <= inFlight
}

func TestCorruptionCounted(t *testing.T) {
	addr := startServer(t, &testServer{corrupt: 10})
	for _, eng := range engines() {
		t.Run(eng, func(t *testing.T) {
			r := mustRun(t, loadgen.Config{Addr: addr, Engine: eng, Conns: 2, Duration: 300 * time.Millisecond})
			if r.Errors == 0 || r.ErrorKinds["reply mismatch"] != r.Errors {
				t.Fatalf("errors %d (%v); want every tenth reply counted as a mismatch", r.Errors, r.ErrorKinds)
			}
			if !samplesMatch(r) || !hasWarning(r, "did not match") {
				t.Errorf("%d samples for %d good replies; warnings %q", r.LatencyNS.Count, r.Replies, r.Warnings)
			}
			if !r.Failed() || r.Failures[0].Code != results.CodeCorrupted {
				t.Errorf("failures %q; want the run failed as corrupted", r.Failures)
			}
		})
	}
}

func TestClosedByServer(t *testing.T) {
	addr := startServer(t, &testServer{closeRead: 5})
	for _, eng := range engines() {
		t.Run(eng, func(t *testing.T) {
			r := mustRun(t, loadgen.Config{Addr: addr, Engine: eng, Conns: 6, Duration: 300 * time.Millisecond})
			if r.Connections.ClosedByPeer != 6 || !hasWarning(r, "reset 6 of 6") || !r.Failed() {
				t.Errorf("closed by peer %d, failures %q; want 6 and the run failed", r.Connections.ClosedByPeer, r.Failures)
			}
		})
	}
}

// TestServerDies: the server goes away mid-run; the run still ends with
// what it measured.
func TestServerDies(t *testing.T) {
	for _, eng := range engines() {
		t.Run(eng, func(t *testing.T) {
			s := &testServer{}
			addr := startServer(t, s)
			start := time.Now()
			var died atomic.Int64
			time.AfterFunc(400*time.Millisecond, func() { died.Store(int64(time.Since(start))); s.dying.Store(true); s.ln.Close() })
			r := mustRun(t, loadgen.Config{Addr: addr, Engine: eng, Conns: 3, Duration: 5 * time.Second, Warmup: 0})
			if r.Replies == 0 || r.Connections.ClosedByPeer != 3 {
				t.Errorf("replies %d, closed by peer %d; want some replies and 3 closed", r.Replies, r.Connections.ClosedByPeer)
			}
			// Throughput is over the time the connections were alive, not
			// averaged over the whole second they were asked for.
			// The window ends when the last connection is lost: not the 5 s
			// asked for, and no later than the death plus its noticing.
			if lived := time.Duration(died.Load()); r.MeasuredNS > int64(lived+time.Second) || !r.Failed() {
				t.Errorf("measured %v, failures %q; want at most the %v until the server died (and a second to notice), and the run failed", time.Duration(r.MeasuredNS), r.Failures, lived)
			}
			if got := float64(r.Replies) / (float64(r.MeasuredNS) / 1e9); math.Abs(got-r.ThroughputPerSec) > 1 {
				t.Errorf("throughput %.0f; want replies over the alive window, %.0f", r.ThroughputPerSec, got)
			}
		})
	}
}

func TestNoServer(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	for _, eng := range engines() {
		_, err := loadgen.Run(context.Background(), loadgen.Config{Addr: addr, Engine: eng, Conns: 3, Duration: time.Second})
		if !errors.Is(err, loadgen.ErrNoServer) || !strings.Contains(err.Error(), "ECONNREFUSED") {
			t.Errorf("%s: %v; want ErrNoServer naming ECONNREFUSED", eng, err)
		}
	}
}

// TestInterrupt: cancelling mid-run returns the partial run, marked.
func TestInterrupt(t *testing.T) {
	addr := startServer(t, &testServer{})
	for _, eng := range engines() {
		t.Run(eng, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(600*time.Millisecond, cancel)
			start := time.Now()
			r, err := loadgen.Run(ctx, loadgen.Config{Addr: addr, Engine: eng, Conns: 4, Duration: 20 * time.Second, Warmup: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			if took > 10*time.Second {
				t.Errorf("run took %v after cancel at 600ms of 20s asked", took)
			}
			// The window is what was measured before the cancel: never more
			// than the run lasted, and not the 20 s asked for.
			m := time.Duration(r.MeasuredNS)
			if !r.Interrupted || r.Replies == 0 || m <= 0 || m > took {
				t.Errorf("interrupted %v, replies %d, measured %v in a run of %v; want a marked partial run", r.Interrupted, r.Replies, m, took)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		cfg  loadgen.Config
		want string
	}{
		{loadgen.Config{}, "Addr"},
		{loadgen.Config{Addr: "x:1", Mode: "open"}, "Mode"},
		{loadgen.Config{Addr: "x:1", Conns: -1}, "Conns"},
		{loadgen.Config{Addr: "x:1", Mode: loadgen.Rate}, "Rate"},
		{loadgen.Config{Addr: "x:1", Rate: 5}, "Rate"},
		{loadgen.Config{Addr: "x:1", Depth: 100000}, "Depth"},
		{loadgen.Config{Addr: "x:1", Engine: "kqueue"}, "Engine"},
		{loadgen.Config{Addr: "x:99999"}, "Addr"},
	} {
		var se *loadgen.SettingError
		if err := tc.cfg.Normalize(); !errors.As(err, &se) || se.Field != tc.want {
			t.Errorf("%+v: %v; want a SettingError of %s", tc.cfg, err, tc.want)
		}
	}
	// Validate takes settings as given: zero is no default there.
	d := loadgen.Defaults()
	if err := d.Validate(); err != nil {
		t.Errorf("the defaults are refused: %v", err)
	}
	for field, set := range map[string]func(*loadgen.Config){
		"Conns": func(c *loadgen.Config) { c.Conns = 0 }, "Depth": func(c *loadgen.Config) { c.Depth = 0 },
		"Duration": func(c *loadgen.Config) { c.Duration = 0 }, "ConnectTimeout": func(c *loadgen.Config) { c.ConnectTimeout = 0 },
		"Workers": func(c *loadgen.Config) { c.Workers = -1 }, "Size": func(c *loadgen.Config) { c.SizeMin = 0 },
	} {
		c := loadgen.Defaults()
		set(&c)
		var se *loadgen.SettingError
		if err := c.Validate(); !errors.As(err, &se) || se.Field != field {
			t.Errorf("Validate with %s at zero: %v", field, err)
		}
	}
	for in, want := range map[string][2]int{"64": {64, 64}, "64-1024": {64, 1024}} {
		lo, hi, err := loadgen.ParseSize(in)
		if err != nil || lo != want[0] || hi != want[1] {
			t.Errorf("ParseSize(%q) = %d, %d, %v", in, lo, hi, err)
		}
	}
	for _, bad := range []string{"", "0", "10-5", "x", "1-999999999"} {
		if _, _, err := loadgen.ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}

func hasWarning(r *results.Run, s string) bool {
	for _, w := range append(r.Warnings, r.Failures...) {
		if strings.Contains(w.String(), s) {
			return true
		}
	}
	return false
}

// TestChurn: every transaction is a connection of its own, counted as
// one; replies count transactions, verified byte by byte.
func TestChurn(t *testing.T) {
	s := &testServer{}
	addr := startServer(t, s)
	r := mustRun(t, loadgen.Config{Addr: addr, Mode: loadgen.Churn, Conns: 4, SizeMin: 100, SizeMax: 100,
		Duration: 400 * time.Millisecond, Warmup: 100 * time.Millisecond, IdleConns: 2})
	// How many transactions fit in the window is the machine's business
	// (a busy one fits a few): that each one is clean and counted is this
	// test's.
	if r.Replies == 0 || r.Errors != 0 || r.Failed() {
		t.Fatalf("replies %d, errors %d, failures %q; want clean transactions", r.Replies, r.Errors, r.Failures)
	}
	c := r.Connections
	// A connection per transaction (warmup's and the window's), plus the idle ones.
	if c.Established < int(r.Replies)+2 || c.Requested != c.Established+c.Failed || c.IdleEstablished != 2 {
		t.Errorf("connections %+v for %d transactions; want one each, plus 2 idle", c, r.Replies)
	}
	// Connect latency: the window's transactions' and the idle connections'.
	if r.LatencyNS.Count != int64(r.Replies) || r.ConnectNS.Count != int64(r.Replies)+2 {
		t.Errorf("%d transaction and %d connect latencies for %d transactions", r.LatencyNS.Count, r.ConnectNS.Count, r.Replies)
	}
	if r.ConnectNS.P50 > r.LatencyNS.P50 {
		t.Errorf("connect p50 %d above transaction p50 %d: a transaction includes its connect", r.ConnectNS.P50, r.LatencyNS.P50)
	}
	if r.Fairness.ZeroConn != 0 {
		t.Errorf("fairness %+v: every slot should have run transactions", r.Fairness)
	}
	if _, err := loadgen.Run(context.Background(), loadgen.Config{Addr: addr, Mode: loadgen.Churn, Depth: 2}); err == nil {
		t.Error("churn with --depth 2 was accepted")
	}
}

// TestHangingServer: a server that echoes, then stops replying with its
// connections open, fails the run as stalled in closed and in rate mode,
// naming how many connections waited and how long, and the requests still
// unanswered at the end are counted.
func TestHangingServer(t *testing.T) {
	for _, eng := range engines() {
		for _, mode := range []loadgen.Mode{loadgen.Closed, loadgen.Rate} {
			t.Run(eng+"/"+string(mode), func(t *testing.T) {
				addr := startServer(t, &testServer{stallAt: 300 * time.Millisecond, stallFor: time.Hour})
				cfg := loadgen.Config{Addr: addr, Engine: eng, Mode: mode, Conns: 4, Duration: 1200 * time.Millisecond,
					StallAfter: 400 * time.Millisecond, Interval: 50 * time.Millisecond}
				if mode == loadgen.Rate {
					cfg.Rate = 400
				}
				r := mustRun(t, cfg)
				st := r.Stall
				if st == nil || st.Conns != 4 {
					t.Fatalf("stall %+v: want all 4 connections stalled", st)
				}
				if time.Duration(st.MaxAgeNS) < 700*time.Millisecond || st.OutstandingAtEnd < 4 {
					t.Errorf("stall %+v: want the oldest wait ≥ 700ms and ≥ 4 requests unanswered at the end", st)
				}
				if !r.Failed() || r.Failures[0].Code != results.CodeStalled {
					t.Errorf("failures %q: want stalled first", r.Failures)
				}
				if st.StalledNS < int64(600*time.Millisecond) {
					t.Errorf("stalled %v of the window: want ≥ 600ms", time.Duration(st.StalledNS))
				}
			})
		}
	}
}

// TestSeries: the intervals cover the run, the warmup's flagged, and the
// measured ones' replies add up to the window's, and a healthy server
// leaves no stall.
func TestSeries(t *testing.T) {
	addr := startServer(t, &testServer{})
	var streamed int
	r := mustRun(t, loadgen.Config{Addr: addr, Conns: 4, Duration: 500 * time.Millisecond, Warmup: 200 * time.Millisecond,
		Interval: 50 * time.Millisecond, OnInterval: func(results.Interval, *hdrhistogram.Histogram) { streamed++ }})
	s := r.Series
	if s == nil || len(s.Intervals) < 10 || len(s.Intervals) > 16 {
		t.Fatalf("series %+v: want about 14 intervals of 50ms", s)
	}
	if streamed != len(s.Intervals) {
		t.Errorf("OnInterval called %d times for %d intervals", streamed, len(s.Intervals))
	}
	var measured, warm uint64
	var opened int64 = -1 // when the first measured interval began
	for _, iv := range s.Intervals {
		if iv.Warmup {
			warm += iv.Replies
		} else {
			measured += iv.Replies
			if opened < 0 {
				opened = iv.StartNS
			}
		}
	}
	// The interval that opens the window starts when the warmup timer
	// fires, after the window opened (on a busy machine, tens of ms
	// after): the replies of that lateness, at the window's rate, are in
	// the last warmup interval. Allow them, and 3% either way.
	late := float64(max(opened-r.Config.WarmupNS, 0)) / 1e9 * r.ThroughputPerSec
	if warm == 0 || float64(measured) < 0.97*float64(r.Replies)-late || float64(measured) > 1.03*float64(r.Replies) {
		t.Errorf("intervals: %d warmup + %d measured replies; the window has %d (the first measured interval began %v after the window)",
			warm, measured, r.Replies, time.Duration(opened-r.Config.WarmupNS))
	}
	if r.Stall == nil || r.Stall.Conns != 0 || r.Failed() {
		t.Errorf("stall %+v, failures %q: want none", r.Stall, r.Failures)
	}
}

// TestShortReplies: a server that echoes one byte short is a stalled run
// that says the replies were short, not "no replies".
func TestShortReplies(t *testing.T) {
	addr := startServer(t, &testServer{short: true})
	for _, eng := range engines() {
		t.Run(eng, func(t *testing.T) {
			r := mustRun(t, loadgen.Config{Addr: addr, Engine: eng, Conns: 2, Duration: 700 * time.Millisecond, Warmup: 0,
				StallAfter: 300 * time.Millisecond})
			if !r.Failed() || !strings.Contains(r.Failures[0].Text, "short replies") {
				t.Errorf("failures %q: want stalled with short replies", r.Failures)
			}
		})
	}
}

// TestChurnStall: in churn mode a server that stops answering (its
// connections accepted, their requests never echoed) is a stalled run,
// as in the other modes: a slot waiting for its reply is seen waiting.
// (Against xinetd's echo it said "no replies" beside "stalls none".)
func TestChurnStall(t *testing.T) {
	addr := startServer(t, &testServer{stallAt: 200 * time.Millisecond, stallFor: time.Hour})
	r := mustRun(t, loadgen.Config{Addr: addr, Mode: loadgen.Churn, Conns: 2, Duration: 1200 * time.Millisecond, Warmup: 0,
		StallAfter: 400 * time.Millisecond, Interval: 50 * time.Millisecond})
	if st := r.Stall; st == nil || st.Conns != 2 || time.Duration(st.MaxAgeNS) < 700*time.Millisecond {
		t.Fatalf("stall %+v: want both slots stalled, the longest ≥ 700ms", st)
	}
	if !r.Failed() || r.Failures[0].Code != results.CodeStalled {
		t.Errorf("failures %q: want stalled first", r.Failures)
	}
}

// TestChurnExtraBytes: in churn mode a server that appends a byte to the
// echo corrupts the transaction, as in the other modes.
func TestChurnExtraBytes(t *testing.T) {
	addr := startServer(t, &testServer{appendX: true})
	r := mustRun(t, loadgen.Config{Addr: addr, Mode: loadgen.Churn, Conns: 4, Duration: 300 * time.Millisecond, Warmup: 0})
	if r.Errors == 0 || !r.Failed() {
		t.Errorf("errors %d, failures %q: want the appended bytes counted and the run failed", r.Errors, r.Failures)
	}
}

// TestWindowEndsBeforeTeardown: the measured window (the CPU, system
// calls and the server's marks, OnWindow) closes when its time is up,
// before the engine ends its connections: a server must not be charged
// for closing them.
func TestWindowEndsBeforeTeardown(t *testing.T) {
	for _, eng := range engines() {
		t.Run(eng, func(t *testing.T) {
			srv := &testServer{}
			addr := startServer(t, srv)
			var atEnd atomic.Int64
			atEnd.Store(-1)
			r := mustRun(t, loadgen.Config{Addr: addr, Engine: eng, Conns: 50, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond,
				OnWindow: func(end bool) {
					if end {
						atEnd.Store(srv.ended.Load())
					}
				}})
			if r.Replies == 0 {
				t.Fatal("no replies")
			}
			if n := atEnd.Load(); n != 0 {
				t.Errorf("the window closed after the server saw %d of 50 connections end; want it closed before any", n)
			}
		})
	}
}

// TestOverloadMeasured: offered ten times what a server carries (4
// connections, 1ms a reply), rate mode measures what the server did
// carry — no failure, the run marked overloaded — and the requests left
// due and unanswered count in the corrected tail, which says it is a
// lower bound.
func TestOverloadMeasured(t *testing.T) {
	addr := startServer(t, &testServer{delay: time.Millisecond})
	for _, eng := range engines() {
		t.Run(eng, func(t *testing.T) {
			r := mustRun(t, loadgen.Config{Addr: addr, Engine: eng, Mode: loadgen.Rate, Rate: 40000, Conns: 4,
				Duration: 500 * time.Millisecond, Warmup: 100 * time.Millisecond})
			if r.Failed() {
				t.Fatalf("failures %q: an overloaded server that replies is measured, not failed", r.Failures)
			}
			if r.Rate == nil || !r.Rate.Overloaded || !hasWarning(r, "overloaded") {
				t.Errorf("rate %+v, warnings %q; want it overloaded, said so", r.Rate, r.Warnings)
			}
			// 4 connections × 1 reply per ms at most: 4,000/s is the ceiling.
			if r.ThroughputPerSec <= 0 || r.ThroughputPerSec > 4400 {
				t.Errorf("carried %.0f replies/s; want some, and at most 4,000/s (+10%%)", r.ThroughputPerSec)
			}
			l := r.LatencyNS
			if l.Open == 0 || l.LowerFrom == "" {
				t.Errorf("latency %+v: want the backlog open at the end counted and the tail marked a lower bound", l)
			}
			if _, lb := l.Get("max"); !lb || r.Rate.Lateness.Count == 0 {
				t.Errorf("max not a lower bound, or no lateness recorded (%+v)", r.Rate.Lateness)
			}
		})
	}
}
