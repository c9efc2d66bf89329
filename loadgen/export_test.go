package loadgen

import "testing"

// BenchVerify fills and verifies b.N messages of size bytes.
func BenchVerify(b *testing.B, size int) {
	p := &plan{mode: Closed, sizeMin: size, sizeSpan: 1, window: 1, endAt: 1 << 62}
	c := newConn(7, p, 0)
	rec := newRecorder(false)
	for i := 0; b.Loop(); i++ {
		out := c.fill(int64(i), rec)
		reply := append([]byte(nil), out...)
		c.wrote(len(out))
		c.received(reply, int64(i), rec)
	}
	if rec.errors != 0 {
		b.Fatalf("%d verification errors", rec.errors)
	}
}
