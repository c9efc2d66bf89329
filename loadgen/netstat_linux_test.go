package loadgen_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"iobench/loadgen"
)

// TestListenOverflowNamed: a server whose accept queue is full (it
// listens with a backlog of 1 and never accepts) stalls a churn run, and
// the failure names the cause the host counted: its accept queue
// overflowed, so handshakes wait for their retry.
func TestListenOverflowNamed(t *testing.T) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 1); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port)
	r := mustRun(t, loadgen.Config{Addr: addr, Mode: loadgen.Churn, Conns: 8, Duration: 1500 * time.Millisecond, Warmup: 0,
		StallAfter: 400 * time.Millisecond})
	if r.Connections.ListenOverflows == 0 {
		t.Fatalf("connections %+v: want the accept queue's overflows counted", r.Connections)
	}
	if !r.Failed() || !strings.Contains(r.Failures[0].Text, "accept queues overflowed") {
		t.Errorf("failures %q: want the overflow named", r.Failures)
	}
}
