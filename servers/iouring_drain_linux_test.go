package servers

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestIOUringDrains: closing a busy iouring server must reap every
// operation it had in flight, not give up and park the buffers for good.
func TestIOUringDrains(t *testing.T) {
	if err := probeIOUring(); err != nil {
		t.Skipf("io_uring unavailable here: %v", err)
	}
	for _, workers := range []int{0, 2} {
		before := leaked.count()
		srv, err := Open("iouring", Config{Addr: "127.0.0.1:0", Settings: Settings{Workers: workers}})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- srv.Serve(context.Background()) }()
		for range 20 {
			c, err := net.Dial("tcp", srv.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte("hi"))
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Read(make([]byte, 2)); err != nil {
				t.Fatal(err)
			}
		}
		srv.Close()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if leaked.count() != before {
			t.Errorf("workers=%d: the ring did not drain on Close (operations left in flight)", workers)
		}
	}
}
