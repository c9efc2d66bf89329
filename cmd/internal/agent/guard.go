package agent

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// GuardListener holds at most n connections at once, and never makes a
// new one wait for an old one: when it is full, a new connection evicts
// the oldest connection that has not yet presented the token (one that
// has is "trusted", see trust). Clients without the token can therefore
// not lock a runner out by holding connections open (idle, half a
// request, or a wrong token after another): the runner's own connection
// is the newest and evicts one of theirs. When every connection held is
// trusted the new one is closed at once.
func GuardListener(ln net.Listener, n int) net.Listener {
	return &guardListener{Listener: ln, n: n}
}

type guardListener struct {
	net.Listener
	n     int
	mu    sync.Mutex
	conns []*guardConn // in the order accepted
}

func (l *guardListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		g := &guardConn{Conn: c, l: l}
		l.mu.Lock()
		var evict *guardConn
		if len(l.conns) >= l.n {
			for _, o := range l.conns {
				if !o.trusted.Load() {
					evict = o
					break
				}
			}
			if evict == nil {
				l.mu.Unlock()
				c.Close()
				continue
			}
		}
		l.conns = append(l.conns, g)
		l.mu.Unlock()
		if evict != nil {
			evict.Close()
		}
		return g, nil
	}
}

// held is how many connections the listener holds.
func (l *guardListener) held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

type guardConn struct {
	net.Conn
	l       *guardListener
	trusted atomic.Bool
	once    sync.Once
}

func (c *guardConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		for i, o := range c.l.conns {
			if o == c {
				c.l.conns = append(c.l.conns[:i], c.l.conns[i+1:]...)
				break
			}
		}
		c.l.mu.Unlock()
	})
	return err
}

type connKey struct{}

// trust marks the connection a request came on as having presented the
// token: GuardListener no longer evicts it.
func trust(ctx context.Context) {
	if c, ok := ctx.Value(connKey{}).(*guardConn); ok {
		c.trusted.Store(true)
	}
}

// NewHTTPServer is the agent's HTTP server: every connection bounded in
// time whoever sends it, and each request able to find its connection
// (for trust). Serve it on a GuardListener.
func (a *Agent) NewHTTPServer() *http.Server {
	return &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 30 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context { return context.WithValue(ctx, connKey{}, c) }}
}
