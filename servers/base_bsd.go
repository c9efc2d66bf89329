//go:build darwin || freebsd

package servers

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

// base is the frame every BSD model shares, as on Linux (base_linux.go)
// and Windows (base_windows.go): the listener, the lifecycle, the
// counters, and the release of every descriptor once.
type base struct {
	cfg  Config
	ln   int
	addr netip.AddrPort
	releaser
	lifecycle
	counters
}

// newBase binds cfg.Addr; kqueue sets its sockets non-blocking itself.
func newBase(cfg Config, _ listenOpts) (*base, error) {
	ap, err := parseAddr(cfg.Addr)
	if err != nil {
		return nil, err
	}
	ln, bound, err := bsdListen(ap)
	if err != nil {
		return nil, fmtListenErr(cfg.Addr, err)
	}
	b := &base{cfg: cfg, ln: ln, addr: bound, lifecycle: newLifecycle()}
	b.logf = cfg.Logf
	return b, nil
}

func (b *base) Addr() string { return b.addr.String() }

// Close stops Serve, waits for it to return and releases every descriptor
// once; later calls do nothing.
func (b *base) Close() error {
	b.shutdown()
	return b.releaseAll(func() error { return unix.Close(b.ln) })
}
