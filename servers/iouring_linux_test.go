package servers_test

import (
	"testing"

	"iobench/servers"
	"iobench/servers/servertest"
)

// TestIOUringBufRingStarved: with only two provided buffers, most recvs
// find none (ENOBUFS) and must be retried as buffers come back; the whole
// suite must still pass.
func TestIOUringBufRingStarved(t *testing.T) {
	if _, err := servers.Lookup("iouring"); err != nil {
		t.Skipf("skipped: %v", err)
	}
	old := *servers.BufRingSize
	*servers.BufRingSize = 2
	defer func() { *servers.BufRingSize = old }()
	servertest.Run(t, factory("iouring", servers.Config{BufRing: true}), servertest.Options{})
}
