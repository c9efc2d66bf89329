package servers

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"iobench/internal/sock"

	"golang.org/x/sys/unix"
)

// blockingServer is thread-per-connection: a blocking accept loop hands
// each connection to an OS thread of its own, which loops read → work →
// write with blocking syscalls. Nothing is multiplexed; the kernel's
// scheduler is the event loop. With cgo (the default build) the thread is
// a C pthread running the loop in C (blocking_cgo_linux.go), as a C
// programmer writes it; without cgo, a goroutine locked to its thread
// (blocking_nocgo_linux.go). Each connection costs a thread (kernel task,
// kernel stack) and a read buffer.
//
// Go aborts the whole process past debug.SetMaxThreads (default 10000), so
// Serve raises that limit to cover cfg.MaxThreads and refuses connections
// past cfg.MaxThreads instead of letting the runtime crash.
type blockingServer struct {
	*base

	connMu      sync.Mutex
	conns       map[int]struct{} // open connection descriptors
	threads     sync.WaitGroup
	threadState // how this build runs connection threads
}

func newBlocking(cfg Config) (Server, error) {
	b, err := newBase(cfg, listenOpts{})
	if err != nil {
		return nil, err
	}
	s := &blockingServer{base: b, conns: map[int]struct{}{}}
	if err := s.initThreads(); err != nil {
		b.Close()
		return nil, err
	}
	// shutdown(2) on a listening socket wakes a thread blocked in accept.
	s.wake = func() { _ = unix.Shutdown(b.ln.FD, unix.SHUT_RDWR) }
	return s, nil
}

func (s *blockingServer) Serve(ctx context.Context) error {
	return s.serve(ctx, false, s.loop)
}

func (s *blockingServer) loop() error {
	// Headroom for the runtime's own threads (sysmon, GC workers, idle Ps).
	raiseThreadLimit(s.cfg.MaxThreads)
	defer s.closeAll()
	limit := fmt.Sprintf("thread limit reached (max-threads %d)", s.cfg.MaxThreads)
	for {
		fd, err := s.ln.Accept(false)
		if s.stopped() {
			if err == nil {
				unix.Close(fd)
			}
			return nil
		}
		switch {
		case errors.Is(err, sock.ErrFDLimit):
			s.refuse(err.Error())
			continue
		case err != nil:
			return wrapSyscall("accept4", err)
		case !s.admitThread(s.cfg.MaxThreads):
			s.refuse(limit) // counted before the client can see the close
			unix.Close(fd)
			continue
		}
		s.connMu.Lock()
		s.conns[fd] = struct{}{}
		s.connMu.Unlock()
		s.threads.Add(1)
		if err := s.startThread(fd); err != nil {
			s.refuse("can't start a thread: " + err.Error())
			s.connDone(fd)
		}
	}
}

// connDone releases a connection whose thread has finished (or never
// started): the descriptor is closed under connMu, so closeAll can't
// shut down a reused one.
func (s *blockingServer) connDone(fd int) {
	s.connMu.Lock()
	delete(s.conns, fd)
	unix.Close(fd)
	s.connMu.Unlock()
	s.active.Add(-1)
	s.threads.Done()
}

// closeAll wakes every connection thread and waits for them to exit.
func (s *blockingServer) closeAll() {
	s.connMu.Lock()
	for fd := range s.conns {
		// Under connMu the descriptor can't have been closed and reused.
		_ = unix.Shutdown(fd, unix.SHUT_RDWR)
	}
	s.connMu.Unlock()
	s.threads.Wait()
}
