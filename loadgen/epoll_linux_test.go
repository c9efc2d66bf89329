package loadgen_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"iobench/loadgen"
)

const loadgenHasEpoll = true

// TestFDLimit: running out of descriptors is one clear error naming the
// limit and how far the run got, for both engines.
func TestFDLimit(t *testing.T) {
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Skipf("getrlimit: %v", err)
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("can't count descriptors: %v", err)
	}
	for _, eng := range engines() {
		t.Run(eng, func(t *testing.T) {
			// A server of its own: EMFILE on Accept stops a test server.
			addr := startServer(t, &testServer{})
			lim := old
			lim.Cur = uint64(len(ents) + 200)
			if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
				t.Skipf("setrlimit: %v", err)
			}
			defer unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
			// More than the limit: refused before a single connection.
			_, err := loadgen.Run(context.Background(), loadgen.Config{Addr: addr, Engine: eng, Conns: int(lim.Cur), Duration: time.Second})
			if !errors.Is(err, loadgen.ErrFDLimit) || !strings.Contains(err.Error(), "ulimit -n") {
				t.Fatalf("%v; want ErrFDLimit naming ulimit -n", err)
			}
			// Within the limit by the count, but this process already holds
			// 100 more descriptors than the reserve allows for: EMFILE
			// part way, said as such.
			for range 100 {
				fd, err := unix.Dup(0)
				if err != nil {
					t.Skipf("dup: %v", err)
				}
				defer unix.Close(fd)
			}
			n := int(lim.Cur) - loadgen.FDReserve
			_, err = loadgen.Run(context.Background(), loadgen.Config{Addr: addr, Engine: eng, Conns: n, Duration: time.Second})
			var re *loadgen.ResourceError
			if !errors.As(err, &re) || re.Errno != "EMFILE" || !strings.Contains(err.Error(), "ulimit -n") {
				t.Fatalf("%v; want a ResourceError for EMFILE naming ulimit -n", err)
			}
			if re.Established == 0 || re.Established >= n || !strings.Contains(err.Error(), fmt.Sprintf("of %d connections", n)) {
				t.Errorf("%v: want how many of the %d were established", err, n)
			}
		})
	}
}

// uringEngines is the uring engine where io_uring has what it needs;
// every engine test then runs on it too.
func uringEngines() []string {
	if loadgen.UringUnavailable() != nil {
		return nil
	}
	return []string{"uring"}
}
