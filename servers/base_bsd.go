//go:build darwin || freebsd

package servers

import (
	"errors"
	"net/netip"
	"sync"

	"golang.org/x/sys/unix"
)

// base is the frame every BSD model shares, as on Linux (base_linux.go)
// and Windows (winsock_windows.go): the listener, the lifecycle, the
// counters, and the release of every descriptor once.
type base struct {
	cfg      Config
	ln       int
	addr     netip.AddrPort
	release  sync.Once
	releases []func() error
	lifecycle
	counters
}

func newBase(cfg Config) (*base, error) {
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

// onRelease adds something the server owns to what Close releases.
func (b *base) onRelease(f func() error) { b.releases = append(b.releases, f) }

// Close stops Serve, waits for it to return and releases every descriptor
// once; later calls do nothing.
func (b *base) Close() error {
	b.shutdown()
	var errs []error
	b.release.Do(func() {
		for i := len(b.releases) - 1; i >= 0; i-- {
			errs = append(errs, b.releases[i]())
		}
		errs = append(errs, unix.Close(b.ln))
	})
	return errors.Join(errs...)
}
