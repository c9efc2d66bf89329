package servers_test

import (
	"errors"
	"testing"

	"iobench/servers"
)

// TestParseSpec: a variant's spelling is read into typed settings and
// written back in its one spelling; a setting the model does not have, a
// value it can't take, or two that contradict each other are refused.
func TestParseSpec(t *testing.T) {
	for _, tc := range []struct {
		in, canon string
		want      servers.Settings
	}{
		{"epoll", "epoll", servers.Settings{}},
		{"epoll:edge", "epoll:edge", servers.Settings{Edge: true}},
		{"epoll:loops=4:edge", "epoll:edge:loops=4", servers.Settings{Loops: 4, Edge: true}},
		{"epoll:loops=1", "epoll", servers.Settings{Loops: 1}},
		{"iouring:recv=single", "iouring:recv=single", servers.Settings{Recv: servers.RecvSingle}},
		{"iouring:workers=2:buf-ring", "iouring:workers=2:buf-ring", servers.Settings{Workers: 2, BufRing: true}},
		{"iocp:workers=4", "iocp:workers=4", servers.Settings{Workers: 4}},
		{"blocking:max-threads=100", "blocking:max-threads=100", servers.Settings{MaxThreads: 100}},
	} {
		got, err := servers.ParseSpec(tc.in)
		if err != nil || got.Settings != tc.want || got.String() != tc.canon {
			t.Errorf("ParseSpec(%q) = %+v (%s), %v; want %+v, spelled %s", tc.in, got, got, err, tc.want, tc.canon)
		}
		if back, err := servers.ParseSpec(got.String()); err != nil || back.String() != got.String() {
			t.Errorf("%s does not read back: %+v, %v", got, back, err)
		}
	}
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"nosuch", servers.ErrUnknownModel},
		{"epoll:workers=2", servers.ErrConfig},
		{"gonet:loops=2", servers.ErrConfig},
		{"epoll:loops=0", servers.ErrConfig},
		{"epoll:loops=100000000", servers.ErrConfig},
		{"epoll:loops", servers.ErrConfig},
		{"epoll:edge=maybe", servers.ErrConfig},
		{"epoll:edge:edge", servers.ErrConfig},
		{"iouring:recv=fast", servers.ErrConfig},
		{"iouring:recv=multishot:workers=2", servers.ErrConfig},
		{"epoll:", servers.ErrConfig},
	} {
		if _, err := servers.ParseSpec(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("ParseSpec(%q) = %v; want %v", tc.in, err, tc.want)
		}
	}
}
