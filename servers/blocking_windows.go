package servers

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"golang.org/x/sys/windows"

	"iobench/internal/winsock"
)

// winBlocking is thread-per-connection on Winsock: a blocking accept loop
// hands each socket to a goroutine locked to its own OS thread, which
// loops recv → work → send with blocking calls. closesocket from another
// thread is what wakes a thread blocked in accept or recv on Windows.
type winBlocking struct {
	*base
	connMu  sync.Mutex
	conns   map[windows.Handle]struct{}
	threads sync.WaitGroup
}

func newBlocking(cfg Config) (Server, error) {
	b, err := newBase(cfg, listenOpts{})
	if err != nil {
		return nil, err
	}
	s := &winBlocking{base: b, conns: map[windows.Handle]struct{}{}}
	s.wake = s.closeListener
	return s, nil
}

func (s *winBlocking) Serve(ctx context.Context) error {
	return s.serve(ctx, false, s.loop)
}

func (s *winBlocking) loop() error {
	raiseThreadLimit(s.cfg.MaxThreads)
	defer s.closeAll()
	limit := fmt.Sprintf("thread limit reached (max-threads %d)", s.cfg.MaxThreads)
	for {
		c, err := winsock.Accept(s.ln)
		if s.stopped() {
			if err == nil {
				windows.Closesocket(c)
			}
			return nil
		}
		switch {
		case err != nil:
			s.refuse("accept: " + err.Error())
			continue
		case !s.admitThread(s.cfg.MaxThreads):
			s.refuse(limit) // counted before the client can see the close
			windows.Closesocket(c)
			continue
		}
		s.connMu.Lock()
		s.conns[c] = struct{}{}
		s.connMu.Unlock()
		s.threads.Add(1)
		go s.serveConn(c)
	}
}

func (s *winBlocking) serveConn(c windows.Handle) {
	// Locked for the connection's life, then unlocked so the thread goes
	// back to the runtime's pool instead of exiting: Windows (and Wine)
	// cancel the overlapped IO a thread issued when it exits, and this
	// thread may earlier have issued some for Go's own netpoller.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer s.threads.Done()
	buf := make([]byte, s.cfg.MaxMsg)
	for {
		n, err := winsock.Recv(c, buf)
		if err != nil || n == 0 {
			break
		}
		s.cfg.Work.Do()
		if sendAll(c, buf[:n]) != nil {
			break
		}
	}
	s.forget(c)
	s.active.Add(-1)
}

// forget closes c unless closeAll already did.
func (s *winBlocking) forget(c windows.Handle) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if _, ok := s.conns[c]; ok {
		delete(s.conns, c)
		windows.Closesocket(c)
	}
}

func (s *winBlocking) closeAll() {
	s.connMu.Lock()
	for c := range s.conns {
		delete(s.conns, c)
		windows.Closesocket(c) // wakes the thread blocked in recv or send
	}
	s.connMu.Unlock()
	s.threads.Wait()
}
