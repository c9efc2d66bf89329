package loadgen_test

import (
	"context"
	"errors"
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
	addr := startServer(t, &testServer{})
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
			lim := old
			lim.Cur = uint64(len(ents) + 40) // room for ~20 connections, both ends in this process
			if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
				t.Skipf("setrlimit: %v", err)
			}
			defer unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
			_, err := loadgen.Run(context.Background(), loadgen.Config{Addr: addr, Engine: eng, Conns: 200, Duration: time.Second})
			var re *loadgen.ResourceError
			if !errors.As(err, &re) || re.Errno != "EMFILE" || !strings.Contains(err.Error(), "ulimit -n") {
				t.Fatalf("%v; want a ResourceError for EMFILE naming ulimit -n", err)
			}
			if re.Established == 0 || re.Established >= 200 || !strings.Contains(err.Error(), "of 200 connections") {
				t.Errorf("%v: want how many of the 200 were established", err)
			}
		})
	}
}
