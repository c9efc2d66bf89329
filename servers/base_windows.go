package servers

import (
	"net/netip"
	"sync"

	"golang.org/x/sys/windows"

	"iobench/internal/winsock"
)

// base is the frame every Windows model shares, as on Linux
// (base_linux.go): the listening socket, the lifecycle, the counters, and
// the release of every handle once. A model adds what it owns with
// onRelease.
type base struct {
	cfg    Config
	ln     windows.Handle
	addr   netip.AddrPort
	lnOnce sync.Once
	releaser
	lifecycle
	counters
}

// newBase binds cfg.Addr, with an overlapped socket for AcceptEx.
func newBase(cfg Config, o listenOpts) (*base, error) {
	ap, err := parseAddr(cfg.Addr)
	if err != nil {
		return nil, err
	}
	ln, bound, err := winsock.Listen(ap, o.overlapped)
	if err != nil {
		return nil, fmtListenErr(cfg.Addr, err)
	}
	s := &base{cfg: cfg, ln: ln, addr: bound, lifecycle: newLifecycle()}
	s.logf = cfg.Logf
	return s, nil
}

func (s *base) Addr() string { return s.addr.String() }

// closeListener closes the listening socket once; on Windows that is also
// what wakes a thread blocked in accept.
func (s *base) closeListener() {
	s.lnOnce.Do(func() { windows.Closesocket(s.ln) })
}

// Close stops Serve, waits for it to return and releases every handle
// once; later calls do nothing. (The listener may have closed already:
// closing it is what wakes a blocked accept.)
func (s *base) Close() error {
	s.shutdown()
	s.closeListener()
	return s.releaseAll(nil)
}
