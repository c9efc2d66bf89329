package loadgen_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"iobench/loadgen"
)

// BenchmarkClosed runs the closed loop against the in-process test server
// and reports the generator's round trips per second per engine; one
// iteration is a 500ms run. For the comparison with a C client on pinned
// CPUs see servers/testdata/cref/compare-client.sh.
func BenchmarkClosed(b *testing.B) {
	addr := startServer(b, &testServer{}) // closed by b's cleanup
	for _, eng := range engines() {
		for _, conns := range []int{1, 100} {
			b.Run(fmt.Sprintf("engine=%s/conns=%d", eng, conns), func(b *testing.B) {
				var replies, secs float64
				for b.Loop() {
					r, err := loadgen.Run(context.Background(), loadgen.Config{Addr: addr, Engine: eng, Conns: conns,
						Duration: 500 * time.Millisecond, Warmup: 100 * time.Millisecond})
					if err != nil {
						b.Fatal(err)
					}
					replies += float64(r.Replies)
					secs += float64(r.MeasuredNS) / 1e9
				}
				b.ReportMetric(replies/secs, "roundtrips/s")
			})
		}
	}
}

// BenchmarkVerify measures building and checking payloads, the per-byte
// cost of every mode.
func BenchmarkVerify(b *testing.B) {
	for _, size := range []int{64, 64 << 10} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			loadgen.BenchVerify(b, size)
		})
	}
}
