package serveproto

import (
	"slices"
	"testing"

	"iobench/servers"
)

// TestLine: what a child prints is read back exactly, variants too, and
// nothing else is taken for it.
func TestLine(t *testing.T) {
	for _, tc := range []struct {
		addr string
		v    servers.Spec
	}{
		{"127.0.0.1:40000", servers.Spec{Model: "epoll"}},
		{"[::1]:7", servers.Spec{Model: "iouring", Settings: servers.Settings{Recv: servers.RecvSingle, BufRing: true}}},
		{"10.199.0.1:65535", servers.Spec{Model: "epoll", Settings: servers.Settings{Loops: 4, Edge: true}}},
		{"127.0.0.1:1", servers.Spec{Model: "blocking", Settings: servers.Settings{MaxThreads: 100}}},
	} {
		addr, model, ok := ParseLine(Line(tc.addr, tc.v))
		if !ok || addr != tc.addr || model != tc.v.String() {
			t.Errorf("ParseLine(Line(%q, %s)) = %q, %q, %v", tc.addr, tc.v, addr, model, ok)
		}
	}
	for _, bad := range []string{
		"", "listening on 127.0.0.1:1", "listening on 127.0.0.1:1 (model Epoll)",
		"listening on  (model epoll)", "iobench: listen: address in use", "listening on 127.0.0.1:1 (model epoll) extra",
		"listening on 127.0.0.1:1 (model epoll::)", "listening on 127.0.0.1:1 (model epoll:loops=)",
	} {
		if _, _, ok := ParseLine(bad); ok {
			t.Errorf("ParseLine(%q) accepted", bad)
		}
	}
}

// TestArgs: the request's flags, in serve's spelling, the settings as
// serve's typed flags.
func TestArgs(t *testing.T) {
	got := Request{Variant: servers.Spec{Model: "epoll"}, Addr: "127.0.0.1:0", Work: "cpu:50us", StopOnEOF: true}.Args()
	want := []string{"serve", "--model", "epoll", "--addr", "127.0.0.1:0", "--work", "cpu:50us", "--" + StopOnEOFFlag}
	if !slices.Equal(got, want) {
		t.Errorf("Args() = %q, want %q", got, want)
	}
	if got := (Request{Variant: servers.Spec{Model: "poll"}, Addr: "127.0.0.1:0"}).Args(); slices.Contains(got, "--work") || slices.Contains(got, "--"+StopOnEOFFlag) {
		t.Errorf("Args() of a plain request = %q", got)
	}
	v := servers.Spec{Model: "iouring", Settings: servers.Settings{Workers: 2, Recv: servers.RecvSingle}}
	got = Request{Variant: v, Addr: "127.0.0.1:0"}.Args()
	want = []string{"serve", "--model", "iouring", "--addr", "127.0.0.1:0", "--workers", "2", "--recv", "single"}
	if !slices.Equal(got, want) {
		t.Errorf("Args() of %s = %q, want %q", v, got, want)
	}
}

// TestStatsLine: the stop line is read back, shares and all.
func TestStatsLine(t *testing.T) {
	for _, st := range []servers.Stats{{Accepted: 7}, {Accepted: 100, Shares: []uint64{52, 48}}} {
		acc, shares, ok := ParseStats(StatsLine(st))
		if !ok || acc != st.Accepted || !slices.Equal(shares, st.Shares) {
			t.Errorf("ParseStats(StatsLine(%+v)) = %d, %v, %v", st, acc, shares, ok)
		}
	}
	for _, bad := range []string{"", "stopped: accepted", "stopped: accepted 1 shares", "stopped: accepted x", "listening on 1.2.3.4:5 (model epoll)"} {
		if _, _, ok := ParseStats(bad); ok {
			t.Errorf("ParseStats(%q) accepted", bad)
		}
	}
}
