package servers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// gonetServer is the baseline every other model is measured against: a
// goroutine per connection on Go's net package. The goroutines look
// blocking, but the runtime parks them and multiplexes the sockets on its
// netpoller (epoll on Linux, IOCP on Windows, kqueue on BSD and macOS)
// over GOMAXPROCS threads.
type gonetServer struct {
	cfg Config
	ln  net.Listener
	lifecycle
	counters

	connMu sync.Mutex
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func newGonet(cfg Config) (Server, error) {
	ap, err := parseAddr(cfg.Addr)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", ap.String())
	if isAddrInUse(err) {
		return nil, fmtListenErr(cfg.Addr, fmt.Errorf("address %s already in use (another server on that port?)", ap))
	}
	if err != nil {
		return nil, fmtListenErr(cfg.Addr, err)
	}
	s := &gonetServer{cfg: cfg, ln: ln, lifecycle: newLifecycle(), conns: map[net.Conn]struct{}{}}
	s.logf = cfg.Logf
	s.wake = func() { ln.Close() }
	return s, nil
}

func (s *gonetServer) Addr() string { return s.ln.Addr().String() }

func (s *gonetServer) Close() error {
	s.shutdown()
	err := s.ln.Close()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (s *gonetServer) Serve(ctx context.Context) error {
	return s.serve(ctx, false, s.loop)
}

func (s *gonetServer) loop() error {
	defer s.closeAll()
	for {
		c, err := s.ln.Accept()
		if s.stopped() {
			if err == nil {
				c.Close()
			}
			return nil
		}
		if errors.Is(err, net.ErrClosed) {
			return err
		}
		if err != nil {
			// Everything else concerns one connection, not the listener:
			// EMFILE (the connection stays in the backlog: back off rather
			// than spin), or a client that reset before it was accepted
			// (AcceptEx reports WSAECONNRESET, or WSAENOTCONN under Wine).
			if isFDLimit(err) {
				s.refuse("accept: " + err.Error())
			} else {
				s.refuse("accept failed for one connection")
			}
			time.Sleep(time.Millisecond)
			continue
		}
		s.connMu.Lock()
		s.conns[c] = struct{}{}
		s.connMu.Unlock()
		s.opened()
		s.wg.Add(1)
		go s.serveConn(c)
	}
}

func (s *gonetServer) serveConn(c net.Conn) {
	defer s.wg.Done()
	buf := make([]byte, s.cfg.MaxMsg)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			s.cfg.Work.Do()
			if _, werr := c.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil { // io.EOF included: everything read was echoed
			break
		}
	}
	s.connMu.Lock()
	delete(s.conns, c)
	s.connMu.Unlock()
	c.Close()
	s.active.Add(-1)
}

func (s *gonetServer) closeAll() {
	s.connMu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.connMu.Unlock()
	s.wg.Wait()
}
