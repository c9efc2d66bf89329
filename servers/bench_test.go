package servers_test

import (
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"iobench/servers"
	"iobench/servers/servertest"
)

// BenchmarkEcho measures 64-byte ping-pong round trips against every model
// available here, with the client in the same process (so the numbers
// compare models with each other, not with an outside client; for that
// see servers/testdata/cref/compare.sh and iobench run).
func BenchmarkEcho(b *testing.B) {
	for _, model := range servers.AvailableNames() {
		for _, conns := range []int{1, 100, 1000} {
			b.Run(fmt.Sprintf("model=%s/conns=%d", model, conns), func(b *testing.B) {
				if model == "select" && conns >= 500 {
					b.Skip("select: client and server share this process, so 2×conns descriptors pass FD_SETSIZE (1024)")
				}
				benchEcho(b, model, conns)
			})
		}
	}
}

func benchEcho(b *testing.B, model string, conns int) {
	srv := servertest.Start(b, factory(model, servers.Config{}), servers.Config{})
	cs := make([]net.Conn, conns)
	for i := range cs {
		cs[i] = servertest.Dial(b, srv.Addr())
	}
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	b.SetBytes(64)
	b.ResetTimer()
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg, got := make([]byte, 64), make([]byte, 64)
			for left.Add(-1) >= 0 {
				if _, err := c.Write(msg); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(c, got); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "roundtrips/s")
}
