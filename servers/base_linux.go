package servers

import "iobench/internal/sock"

// base is the frame every Linux model shares, as base_windows.go's
// base is on Windows:
// the listener, the lifecycle (Serve, Close and a cancelled context
// agreeing), the counters behind Stats, and the release of every
// descriptor exactly once. A model embeds it and adds what it owns with
// onRelease.
type base struct {
	cfg Config
	ln  *sock.Listener
	releaser
	lifecycle
	counters
}

// newBase binds cfg.Addr (non-blocking or blocking sockets; SO_REUSEPORT
// when the model runs several listeners on one port).
func newBase(cfg Config, o listenOpts) (*base, error) {
	// Several loops on one port (epoll's, or replicas) share it with
	// SO_REUSEPORT.
	ln, err := listen(cfg, o.nonblock, o.reusePort || cfg.Loops > 1)
	if err != nil {
		return nil, err
	}
	b := &base{cfg: cfg, ln: ln, lifecycle: newLifecycle()}
	b.logf = cfg.Logf
	return b, nil
}

func (b *base) Addr() string { return b.ln.Addr.String() }

// Close stops Serve, waits for it to return and releases every descriptor
// once; later calls do nothing.
func (b *base) Close() error {
	b.shutdown()
	return b.releaseAll(b.ln.Close)
}
