package serveproto

import (
	"slices"
	"testing"
)

// TestLine: what a child prints is read back exactly, and nothing else
// is taken for it.
func TestLine(t *testing.T) {
	for _, tc := range []struct{ addr, model string }{
		{"127.0.0.1:40000", "epoll"},
		{"[::1]:7", "iouring"},
		{"10.199.0.1:65535", "gonet"},
	} {
		addr, model, ok := ParseLine(Line(tc.addr, tc.model))
		if !ok || addr != tc.addr || model != tc.model {
			t.Errorf("ParseLine(Line(%q, %q)) = %q, %q, %v", tc.addr, tc.model, addr, model, ok)
		}
	}
	for _, bad := range []string{
		"", "listening on 127.0.0.1:1", "listening on 127.0.0.1:1 (model Epoll)",
		"listening on  (model epoll)", "iobench: listen: address in use", "listening on 127.0.0.1:1 (model epoll) extra",
	} {
		if _, _, ok := ParseLine(bad); ok {
			t.Errorf("ParseLine(%q) accepted", bad)
		}
	}
}

// TestArgs: the request's flags, in serve's spelling.
func TestArgs(t *testing.T) {
	got := Request{Model: "epoll", Addr: "127.0.0.1:0", Work: "cpu:50us", StopOnEOF: true}.Args()
	want := []string{"serve", "--model", "epoll", "--addr", "127.0.0.1:0", "--work", "cpu:50us", "--" + StopOnEOFFlag}
	if !slices.Equal(got, want) {
		t.Errorf("Args() = %q, want %q", got, want)
	}
	if got := (Request{Model: "poll", Addr: "127.0.0.1:0"}).Args(); slices.Contains(got, "--work") || slices.Contains(got, "--"+StopOnEOFFlag) {
		t.Errorf("Args() of a plain request = %q", got)
	}
}
