package servers_test

import (
	"testing"

	"iobench/servers"
	"iobench/servers/servertest"
)

// TestConformance runs the whole suite against every model this machine
// can run, and every variant of their settings that changes the code path.
func TestConformance(t *testing.T) {
	for _, a := range servers.List() {
		t.Run(a.Name, func(t *testing.T) {
			if !a.Available {
				t.Skipf("skipped: %s", a.Why)
			}
			servertest.Run(t, factory(a.Name, servers.Config{}), servertest.Options{})
		})
	}
	for _, v := range []struct {
		name  string
		model string
		cfg   servers.Config
	}{
		{"epoll-edge", "epoll", servers.Config{Settings: servers.Settings{Edge: true}}},
		{"epoll-loops2", "epoll", servers.Config{Settings: servers.Settings{Loops: 2}}},
		{"poll-loops2", "poll", servers.Config{Settings: servers.Settings{Loops: 2}}},
		{"iouring-loops2", "iouring", servers.Config{Settings: servers.Settings{Loops: 2}}},
		{"epoll-edge-smallbuf", "epoll", servers.Config{MaxMsg: 1000, Settings: servers.Settings{Edge: true}}},
		{"poll-smallbuf", "poll", servers.Config{MaxMsg: 1000}},
		{"iouring-workers2", "iouring", servers.Config{Settings: servers.Settings{Workers: 2}}},
		{"iouring-smallbuf", "iouring", servers.Config{MaxMsg: 1000}},
		{"iouring-single", "iouring", servers.Config{Settings: servers.Settings{Recv: servers.RecvSingle}}},
		{"iouring-single-bufring", "iouring", servers.Config{Settings: servers.Settings{Recv: servers.RecvSingle, BufRing: true}}},
		{"iouring-bufring-workers2", "iouring", servers.Config{MaxMsg: 1000, Settings: servers.Settings{BufRing: true, Workers: 2}}},
		{"iouring-multishot-smallbuf", "iouring", servers.Config{MaxMsg: 1000, Settings: servers.Settings{Recv: servers.RecvMultishot}}},
		{"iocp-workers1", "iocp", servers.Config{Settings: servers.Settings{Workers: 1}}},
		{"overlapped-smallbuf", "overlapped", servers.Config{MaxMsg: 1000}},
	} {
		t.Run(v.name, func(t *testing.T) {
			if _, err := servers.Lookup(v.model); err != nil {
				t.Skipf("skipped: %v", err)
			}
			servertest.Run(t, factory(v.model, v.cfg), servertest.Options{})
		})
	}
}

// factory builds model with base's settings and the suite's address.
func factory(model string, base servers.Config) servertest.Factory {
	return func(cfg servers.Config) (servers.Server, error) {
		base.Addr = cfg.Addr
		return servers.Open(model, base)
	}
}
