//go:build linux && !cgo

package servers

import (
	"runtime"

	"iobench/internal/sock"
)

// blockingImpl says how this build runs connection threads.
const blockingImpl = "connection loop in Go (built without cgo): a thread returning from read must get the runtime's P, so with many connections the Go scheduler, not the kernel, decides who is served (docs/models.md)"

// threadState: goroutines locked to their threads need none.
type threadState struct{}

func (s *blockingServer) initThreads() error { return nil }

// startThread serves fd on a goroutine locked to its own thread.
func (s *blockingServer) startThread(fd int) error {
	go func() {
		// Locked and never unlocked: when this goroutine returns, its
		// thread exits with it, so threads come and go with connections.
		runtime.LockOSThread()
		echoLoop(fd, s.cfg.MaxMsg, s.cfg.Work)
		s.connDone(fd)
	}()
	return nil
}

// echoLoop echoes on fd until the peer is done.
func echoLoop(fd, bufsize int, w Work) {
	buf := make([]byte, bufsize)
	for {
		n, err := sock.Read(fd, buf)
		if err != nil || n == 0 {
			return
		}
		w.Do()
		if writeAll(fd, buf[:n]) != nil {
			return
		}
	}
}

// writeAll writes p with a blocking socket, finishing short writes.
func writeAll(fd int, p []byte) error {
	return writeFull(p, func(b []byte) (int, error) { return sock.Write(fd, b) })
}
