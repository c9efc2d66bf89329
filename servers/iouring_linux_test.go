package servers_test

import (
	"testing"

	"iobench/servers"
	"iobench/servers/servertest"
)

// TestIOUringBufRingStarved: with a single provided buffer, most recvs
// find none (ENOBUFS) and must be retried as the buffer comes back; the
// whole suite must still pass. A buffer returned between the kernel's
// ENOBUFS and our reaping it once left connections starved for good (CI
// saw the concurrent subtest time out).
func TestIOUringBufRingStarved(t *testing.T) {
	if _, err := servers.Lookup("iouring"); err != nil {
		t.Skipf("skipped: %v", err)
	}
	for _, v := range []struct {
		name string
		cfg  servers.Config
	}{
		{"single", servers.Config{Settings: servers.Settings{Recv: servers.RecvSingle, BufRing: true}}},
		// Multishot: every connection's recv ends with ENOBUFS but the
		// one holding the buffer, and must be armed again when it is back.
		{"multishot", servers.Config{}},
	} {
		t.Run(v.name, func(t *testing.T) {
			servertest.Run(t, func(cfg servers.Config) (servers.Server, error) {
				v.cfg.Addr = cfg.Addr
				s, err := servers.Open("iouring", v.cfg)
				if err == nil {
					servers.SetBufRingSize(s, 1)
				}
				return s, err
			}, servertest.Options{})
		})
	}
}
