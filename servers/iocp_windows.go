package servers

import (
	"cmp"
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// winIOCP is the I/O completion port model. Every socket is associated
// with one completion port; overlapped AcceptEx, WSARecv and WSASend are
// posted ahead, and N worker goroutines, each locked to an OS thread, wait
// in GetQueuedCompletionStatus and handle whichever operation finished:
//
//	CreateIoCompletionPort(listener) ; AcceptEx × 16 posted ahead
//	worker: GetQueuedCompletionStatus → accept done → SO_UPDATE_ACCEPT_CONTEXT,
//	          associate the socket, WSARecv, post another AcceptEx
//	        recv done (n) → n == 0: close; else [work] → WSASend(buf[:n])
//	        send done (n) → short: WSASend(rest); else WSARecv
//
// Unlike completion routines, the completion is not tied to the issuing
// thread: any worker takes it, so a slow handler blocks one worker, not
// the server. Shutdown closes every socket (pending operations complete
// with an error), waits until none is outstanding, then wakes each worker
// with PostQueuedCompletionStatus.
type winIOCP struct {
	*base
	port        windows.Handle
	workers     int
	outstanding atomic.Int64 // operations posted and not yet completed
	mu          sync.Mutex
	conns       map[*iocpOp]struct{} // live connections (their recv/send op)
}

// Operation kinds.
const (
	opAccept = iota + 1
	opRecv
	opSend
)

// iocpOp is one overlapped operation. Overlapped must be the first field:
// the *Overlapped that GetQueuedCompletionStatus returns is converted
// back to the *iocpOp that holds it, which stays referenced (in conns, or
// in accepts) until its completion is taken.
type iocpOp struct {
	ov      windows.Overlapped
	kind    int
	sock    windows.Handle
	buf     []byte
	wsabuf  windows.WSABuf
	n, sent int
	addrs   [2 * (28 + 16)]byte // AcceptEx: local and remote sockaddr_in6 + 16
}

const keyStop = 1 // completion key of PostQueuedCompletionStatus wake-ups

func newIOCP(cfg Config) (Server, error) {
	b, err := newBase(cfg, listenOpts{overlapped: true})
	if err != nil {
		return nil, err
	}
	port, err := windows.CreateIoCompletionPort(windows.InvalidHandle, 0, 0, 0)
	if err == nil {
		_, err = windows.CreateIoCompletionPort(b.ln, port, 0, 0)
	}
	if err != nil {
		b.Close()
		return nil, wrapSyscall("CreateIoCompletionPort", err)
	}
	s := &winIOCP{base: b, port: port, workers: cmp.Or(cfg.Workers, runtime.GOMAXPROCS(0)), conns: map[*iocpOp]struct{}{}}
	s.wake = s.closeListener // the posted AcceptEx complete with an error
	s.onRelease(func() error { return windows.CloseHandle(port) })
	return s, nil
}

var accepts sync.Map // *iocpOp posted AcceptEx ops, kept referenced

func (s *winIOCP) Serve(ctx context.Context) error {
	return s.serve(ctx, false, s.loop)
}

func (s *winIOCP) loop() error {
	for range 16 {
		s.postAccept()
	}
	var wg sync.WaitGroup
	for range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.worker()
		}()
	}
	<-s.stopping
	// Close everything; each outstanding operation completes with an error
	// and a worker takes it. Then stop the workers.
	s.closeListener()
	s.mu.Lock()
	for op := range s.conns {
		windows.Closesocket(op.sock)
	}
	s.mu.Unlock()
	if !waitDrained(func() bool { return s.outstanding.Load() > 0 }, func() { time.Sleep(time.Millisecond) }) {
		s.mu.Lock()
		leaked.keep(s.conns) // the operations still in flight, and their buffers
		s.mu.Unlock()
	}
	for range s.workers {
		windows.PostQueuedCompletionStatus(s.port, 0, keyStop, nil)
	}
	wg.Wait()
	return nil
}

func (s *winIOCP) postAccept() {
	if s.stopped() {
		return
	}
	// One socket of the listener's family (an AF_INET one made first and
	// replaced for IPv6 leaked a handle per accept).
	family := int32(windows.AF_INET)
	if s.addr.Addr().Is6() {
		family = windows.AF_INET6
	}
	sock, err := windows.WSASocket(family, windows.SOCK_STREAM, windows.IPPROTO_TCP, nil, 0, windows.WSA_FLAG_OVERLAPPED)
	if err != nil {
		s.refuse("WSASocket for AcceptEx: " + err.Error())
		return
	}
	op := &iocpOp{kind: opAccept, sock: sock}
	accepts.Store(op, s)
	s.outstanding.Add(1)
	var n uint32
	err = windows.AcceptEx(s.ln, sock, &op.addrs[0], 0, 28+16, 28+16, &n, &op.ov)
	if err != nil && err != windows.ERROR_IO_PENDING {
		s.outstanding.Add(-1)
		accepts.Delete(op)
		windows.Closesocket(sock)
	}
}

func (s *winIOCP) worker() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for {
		var n uint32
		var key uintptr
		var ov *windows.Overlapped
		err := windows.GetQueuedCompletionStatus(s.port, &n, &key, &ov, windows.INFINITE)
		if ov == nil {
			if key == keyStop || err != nil {
				return
			}
			continue
		}
		op := (*iocpOp)(unsafe.Pointer(ov))
		s.complete(op, int(n), err)
		s.outstanding.Add(-1)
	}
}

func (s *winIOCP) complete(op *iocpOp, n int, err error) {
	switch op.kind {
	case opAccept:
		accepts.Delete(op)
		s.postAccept() // keep the queue of AcceptEx full
		if err != nil || s.stopped() {
			windows.Closesocket(op.sock)
			return
		}
		ln := s.ln
		windows.Setsockopt(op.sock, windows.SOL_SOCKET, windows.SO_UPDATE_ACCEPT_CONTEXT, (*byte)(unsafe.Pointer(&ln)), int32(unsafe.Sizeof(ln)))
		windows.SetsockoptInt(op.sock, windows.IPPROTO_TCP, windows.TCP_NODELAY, 1)
		if _, err := windows.CreateIoCompletionPort(op.sock, s.port, 0, 0); err != nil {
			windows.Closesocket(op.sock)
			return
		}
		c := &iocpOp{sock: op.sock, buf: make([]byte, s.cfg.MaxMsg)}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.opened()
		s.recv(c)
	case opRecv:
		if err != nil || n == 0 || s.stopped() {
			s.closeConn(op) // FIN or error; nothing is pending, one operation at a time
			return
		}
		s.cfg.Work.Do()
		op.n, op.sent = n, 0
		s.send(op)
	case opSend:
		if err != nil || s.stopped() {
			s.closeConn(op)
			return
		}
		if op.sent += n; op.sent < op.n {
			s.send(op) // short send: the rest
			return
		}
		s.recv(op)
	}
}

func (s *winIOCP) recv(op *iocpOp) {
	op.ov = windows.Overlapped{}
	op.kind = opRecv
	op.wsabuf = windows.WSABuf{Len: uint32(len(op.buf)), Buf: &op.buf[0]}
	var got, flags uint32
	s.outstanding.Add(1)
	if err := windows.WSARecv(op.sock, &op.wsabuf, 1, &got, &flags, &op.ov, nil); err != nil && err != windows.ERROR_IO_PENDING {
		s.outstanding.Add(-1)
		s.closeConn(op)
	}
}

func (s *winIOCP) send(op *iocpOp) {
	op.ov = windows.Overlapped{}
	op.kind = opSend
	op.wsabuf = windows.WSABuf{Len: uint32(op.n - op.sent), Buf: &op.buf[op.sent]}
	var sent uint32
	s.outstanding.Add(1)
	if err := windows.WSASend(op.sock, &op.wsabuf, 1, &sent, 0, &op.ov, nil); err != nil && err != windows.ERROR_IO_PENDING {
		s.outstanding.Add(-1)
		s.closeConn(op)
	}
}

func (s *winIOCP) closeConn(op *iocpOp) {
	s.mu.Lock()
	_, live := s.conns[op]
	delete(s.conns, op)
	s.mu.Unlock()
	windows.Closesocket(op.sock)
	if live {
		s.active.Add(-1)
	}
}
