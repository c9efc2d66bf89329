package results_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"iobench/results"
)

// sampleRun is a run as loadgen would write it, with real histograms.
func sampleRun(t testing.TB) *results.Run {
	h := results.NewHistogram()
	for i := int64(1); i <= 1000; i++ {
		results.Record(h, i*int64(time.Microsecond))
	}
	enc, err := results.EncodeHistogram(h)
	if err != nil {
		t.Fatal(err)
	}
	raw := results.PercentilesOf(h)
	return &results.Run{
		Schema:      results.SchemaVersion,
		Config:      results.RunConfig{Addr: "127.0.0.1:7000", Mode: "rate", Conns: 10, Depth: 1, Rate: 1000, SizeMin: 64, SizeMax: 64, DurationNS: 1e9, Workers: 2, Engine: "epoll"},
		Environment: results.CurrentEnvironment("test"),
		MeasuredNS:  1e9, Replies: 1000, ThroughputPerSec: 1000, BytesPerSec: 64000,
		LatencyNS: results.PercentilesOf(h), LatencyUncorrectedNS: &raw,
		Connections: results.Connections{Requested: 10, Established: 10},
		Fairness:    results.FairnessOf([]uint64{100, 100, 100}),
		Rate:        &results.RateStats{Target: 1000, Achieved: 1000},
		Histograms:  results.Histograms{Latency: enc, LatencyUncorrected: enc, Connect: enc},
	}
}

func TestRoundTrip(t *testing.T) {
	r := sampleRun(t)
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		t.Fatal(err)
	}
	// The field names scripts rely on stay at the top level.
	var top map[string]json.RawMessage
	json.Unmarshal(buf.Bytes(), &top)
	for _, k := range []string{"throughput_per_sec", "latency_ns", "latency_uncorrected_ns", "connections", "errors", "interrupted"} {
		if _, ok := top[k]; !ok {
			t.Errorf("no top-level %q", k)
		}
	}
	back, err := results.DecodeRun(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, r) {
		t.Errorf("round trip changed the run:\n got %+v\nwant %+v", back, r)
	}
	h, err := back.Latency()
	if err != nil || h.TotalCount() != 1000 || results.PercentilesOf(h) != r.LatencyNS {
		t.Errorf("histogram after round trip: %v, %v", h, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := func() map[string]any {
		var m map[string]any
		b, _ := json.Marshal(sampleRun(t))
		json.Unmarshal(b, &m)
		return m
	}
	for name, tc := range map[string]struct {
		edit func(m map[string]any)
		want string
	}{
		"no schema":     {func(m map[string]any) { delete(m, "schema") }, "no \"schema\""},
		"future schema": {func(m map[string]any) { m["schema"] = 99 }, "unsupported schema version 99"},
		"unknown field": {func(m map[string]any) { m["surprise"] = 1 }, "unknown field"},
		"bad histogram": {func(m map[string]any) { m["histograms"].(map[string]any)["latency"] = "AAAA" }, "histogram latency"},
		"wrong type":    {func(m map[string]any) { m["replies"] = "many" }, "malformed"},
		"impossible":    {func(m map[string]any) { m["connections"].(map[string]any)["established"] = 50 }, "more connections"},
	} {
		m := good()
		tc.edit(m)
		b, _ := json.Marshal(m)
		if _, err := results.DecodeRun(b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want an error containing %q", name, err, tc.want)
		}
	}
	if _, err := results.DecodeRun([]byte("not json")); err == nil {
		t.Error("accepted non-JSON")
	}
}

func TestFairness(t *testing.T) {
	f := results.FairnessOf([]uint64{10, 10, 10, 10})
	if f.Jain != 1 || f.Min != 10 || f.Max != 10 || f.ZeroConn != 0 {
		t.Errorf("even: %+v", f)
	}
	f = results.FairnessOf([]uint64{40, 0, 0, 0})
	if f.Jain != 0.25 || f.ZeroConn != 3 || f.Median != 0 || f.Max != 40 {
		t.Errorf("one takes all: %+v; want Jain 1/n = 0.25", f)
	}
}

func TestHgrm(t *testing.T) {
	h := results.NewHistogram()
	results.Record(h, 1500)
	var buf bytes.Buffer
	if err := results.WriteHgrm(&buf, h); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Value") || !strings.Contains(buf.String(), "Total count") {
		t.Errorf("not in the plotter's format:\n%s", buf.String())
	}
}

// FuzzDecodeRun: outside input never panics the decoder, and whatever it
// accepts survives a round trip.
func FuzzDecodeRun(f *testing.F) {
	var buf bytes.Buffer
	sampleRun(f).Write(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte(`{"schema":1}`))
	f.Add([]byte(`{"schema":1,"histograms":{"latency":"HISTFAAAACR42pNpmSzMwMDAxAABzFCaEUzOmNZg/wEidgEAK+kDTw=="}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := results.DecodeRun(data)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := r.Write(&out); err != nil {
			t.Fatalf("re-encoding an accepted run: %v", err)
		}
		if _, err := results.DecodeRun(out.Bytes()); err != nil {
			t.Fatalf("an accepted run does not decode after re-encoding: %v", err)
		}
	})
}

// TestMergeShardsRefuses: shards of different servers or settings are
// not merged.
func TestMergeShardsRefuses(t *testing.T) {
	shard := func(i int, addr string, dur int64) *results.Run {
		return &results.Run{Schema: results.SchemaVersion, Config: results.RunConfig{Addr: addr, Mode: "closed", Conns: 1, DurationNS: dur},
			Shard: &results.Shard{Index: i, Count: 2, TotalConns: 2}, ConnReplies: []uint64{5}, Replies: 5}
	}
	for name, runs := range map[string][]*results.Run{
		"servers":  {shard(0, "10.0.0.1:7000", 1e9), shard(1, "10.0.0.2:7000", 1e9)},
		"settings": {shard(0, "10.0.0.1:7000", 1e9), shard(1, "10.0.0.1:7000", 2e9)},
		"missing":  {shard(0, "10.0.0.1:7000", 1e9)},
		"no shard": {{Schema: results.SchemaVersion}},
	} {
		if _, err := results.MergeShards(runs); !errors.Is(err, results.ErrMerge) {
			t.Errorf("%s: %v; want ErrMerge", name, err)
		}
	}
	m, err := results.MergeShards([]*results.Run{shard(1, "a:1", 1e9), shard(0, "a:1", 1e9)})
	if err != nil || m.Replies != 10 || m.Fairness.Conns != 2 || m.Fairness.Jain != 1 || m.Config.Conns != 2 {
		t.Errorf("merge: %v, %+v", err, m)
	}
}

// TestRunChecks: values no run can have are refused with the reason, and
// a file past results.MaxFileSize is refused before it is decoded.
func TestRunChecks(t *testing.T) {
	for name, mutate := range map[string]func(*results.Run){
		"negative conns":      func(r *results.Run) { r.Config.Conns = -5 },
		"jain above 1":        func(r *results.Run) { r.Fairness.Jain = 1.5 },
		"negative percentile": func(r *results.Run) { r.LatencyNS.P99 = -1 },
		"shard 5/2":           func(r *results.Run) { r.Shard = &results.Shard{Index: 5, Count: 2} },
		"shard of 0":          func(r *results.Run) { r.Shard = &results.Shard{Index: 0, Count: 0} },
		"replies wrap": func(r *results.Run) {
			r.ConnReplies = []uint64{math.MaxUint64, 2}
			r.Replies = 1
		},
	} {
		r := &results.Run{Schema: results.SchemaVersion, Config: results.RunConfig{Conns: 2, Depth: 1, SizeMin: 64, SizeMax: 64}, Fairness: results.Fairness{Jain: 1}}
		mutate(r)
		var buf bytes.Buffer
		if err := r.Write(&buf); err != nil {
			t.Fatal(err)
		}
		if _, err := results.DecodeRun(buf.Bytes()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	big := filepath.Join(t.TempDir(), "big.json")
	f, _ := os.Create(big)
	f.Truncate(results.MaxFileSize + 1)
	f.Close()
	if _, err := results.ReadRunFile(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("an oversized file: %v", err)
	}
}

// FuzzDecodeSuite: a suite decoder fed anything never panics, and what it
// accepts the report can aggregate.
func FuzzDecodeSuite(f *testing.F) {
	f.Add([]byte(`{"schema":1,"kind":"suite","cells":[]}`))
	f.Add([]byte(`{"schema":1,"kind":"suite","cells":[{"model":"epoll","mode":"closed","conns":-5,"run":{"schema":1,"fairness":{"jain":2}}}]}`))
	f.Add([]byte(`{"schema":2,"kind":"suite"}`))
	f.Add([]byte(`{"schema":2,"kind":"suite","cells":[{},{},{"run":{"schema":2,"connection_replies":[0,0,0,0,0,0]}}]}`))
	f.Add([]byte(`{"schema":2,"kind":"suite","cells":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`))
	f.Add([]byte(`{"schema":2,"kind":"suite","cells":[{"run":{"schema":2,"errors":99999999999999999999999999999999999999999999}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := results.DecodeSuite(data)
		if err != nil {
			return
		}
		if _, err := json.Marshal(s); err != nil {
			t.Fatalf("re-encoding an accepted suite: %v", err)
		}
	})
}

// FuzzMergeShards: shards decoded from anything merge or are refused,
// never panic, and a merge never adds up to more replies than its shards.
func FuzzMergeShards(f *testing.F) {
	f.Add([]byte(`{"schema":1,"config":{"conns":1},"shard":{"index":0,"count":2,"total_conns":2},"replies":5,"connection_replies":[5]}`),
		[]byte(`{"schema":1,"config":{"conns":1},"shard":{"index":1,"count":2,"total_conns":2},"replies":3,"connection_replies":[3]}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ra, err1 := results.DecodeRun(a)
		rb, err2 := results.DecodeRun(b)
		if err1 != nil || err2 != nil {
			return
		}
		m, err := results.MergeShards([]*results.Run{ra, rb})
		if err != nil {
			return
		}
		if m.Replies != ra.Replies+rb.Replies || m.Config.Workers != ra.Config.Workers+rb.Config.Workers {
			t.Fatalf("merged %d replies, %d workers from %d+%d, %d+%d", m.Replies, m.Config.Workers, ra.Replies, rb.Replies, ra.Config.Workers, rb.Config.Workers)
		}
	})
}

// TestDecodeRefusesForeignHistograms: a histogram of another range or
// precision than iobench writes (1..2^62 at 5 digits costs ~50 MB to
// decode) is refused from its header, before its counts are allocated.
func TestDecodeRefusesForeignHistograms(t *testing.T) {
	wide := hdrhistogram.New(1, 1<<62, 5)
	_ = wide.RecordValue(1000)
	b, err := wide.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := results.DecodeHistogram(string(b)); err == nil || !strings.Contains(err.Error(), "iobench writes") {
		t.Errorf("a 1..2^62 histogram at 5 digits decoded: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Logf("refusing it took %v", d) // timing is the benchmark's, not the test's: logged
	}
	own := results.NewHistogram()
	results.Record(own, 12345)
	enc, _ := results.EncodeHistogram(own)
	if h, err := results.DecodeHistogram(enc); err != nil || h.TotalCount() != 1 {
		t.Errorf("iobench's own histogram: %v", err)
	}
}

// TestDecodeRefusesContradictions: values that contradict each other
// are refused: replies without a window, a throughput that is not its
// replies over its window, an absurd one.
func TestDecodeRefusesContradictions(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*results.Run)
	}{
		{"replies in no window", func(r *results.Run) { r.MeasuredNS = 0 }},
		{"throughput not its replies", func(r *results.Run) { r.ThroughputPerSec *= 3 }},
		{"absurd throughput", func(r *results.Run) { r.ThroughputPerSec = 1.79e308 }},
	} {
		r := sampleRun(t)
		tc.mod(r)
		var b strings.Builder
		if err := r.Write(&b); err != nil {
			t.Fatal(err)
		}
		if _, err := results.DecodeRun([]byte(b.String())); err == nil {
			t.Errorf("%s: decoded", tc.name)
		}
	}
}
