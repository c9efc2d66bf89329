package servers

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/sys/windows"

	"iobench/internal/winsock"
)

// winOverlapped is the textbook's completion-routine echo server
// (CmplRouEchoServ_win.c): every connection has one overlapped operation
// in flight, WSARecv or WSASend, each naming a completion routine. The
// kernel queues the routine as an APC to the thread that issued the IO,
// and runs it when that thread waits alertably — so the goroutine is
// locked to its OS thread and all IO and all routines happen on it:
//
//	WSARecv(sock, buf, ov, ReadCompRoutine)
//	  ReadCompRoutine(n):  n == 0 → closesocket; else [work] → WSASend(buf[:n], ov, WriteCompRoutine)
//	  WriteCompRoutine(n): short → WSASend(rest); else WSARecv(..., ReadCompRoutine)
//
// The textbook reaches the connection's socket and buffer from the
// routine by storing a pointer to its PER_IO_DATA in the OVERLAPPED's
// hEvent. Here hEvent holds the connection's id in a table instead (a Go
// pointer must not hide in an integer), and the table keeps the OVERLAPPED
// and the buffer alive and unmoved while the kernel uses them.
//
// The textbook's thread polls accept every 100ms with SleepEx(100, TRUE);
// this one waits alertably on an FD_ACCEPT event (WSAEventSelect) and a
// stop event at once, so accepts are not delayed.
type winOverlapped struct {
	*base
	acceptEv, stopEv windows.Handle
}

// ovConn is the textbook's PER_IO_DATA: the OVERLAPPED, the socket, the
// buffer and where the echo stands.
type ovConn struct {
	ov      windows.Overlapped
	wsabuf  windows.WSABuf
	sock    windows.Handle
	buf     []byte
	n, sent int
	pending bool // an operation is in flight
	srv     *winOverlapped
}

var (
	// One callback per routine, made once: the runtime has ~2000
	// callback slots and never frees them.
	routinesOnce              sync.Once
	readRoutine, writeRoutine uintptr
	ovMu                      sync.Mutex
	ovConns                   = map[windows.Handle]*ovConn{} // by the id stored in hEvent
	ovNextID                  windows.Handle
)

func initRoutines() {
	routinesOnce.Do(func() {
		readRoutine = windows.NewCallback(func(errCode, n, ov, flags uintptr) uintptr {
			if c := lookupOv(ov); c != nil {
				c.readDone(errCode, int(n))
			}
			return 0
		})
		writeRoutine = windows.NewCallback(func(errCode, n, ov, flags uintptr) uintptr {
			if c := lookupOv(ov); c != nil {
				c.writeDone(errCode, int(n))
			}
			return 0
		})
	})
}

// lookupOv finds a connection from the OVERLAPPED the kernel hands back,
// through the id in its hEvent.
func lookupOv(ov uintptr) *ovConn {
	id := (*windows.Overlapped)(unsafePointer(ov)).HEvent
	ovMu.Lock()
	defer ovMu.Unlock()
	return ovConns[id]
}

func newOverlapped(cfg Config) (Server, error) {
	initRoutines()
	b, err := newBase(cfg, listenOpts{overlapped: true})
	if err != nil {
		return nil, err
	}
	s := &winOverlapped{base: b}
	if s.acceptEv, err = windows.CreateEvent(nil, 0, 0, nil); err == nil {
		s.stopEv, err = windows.CreateEvent(nil, 1, 0, nil)
	}
	if err == nil {
		err = winsock.EventSelect(b.ln, s.acceptEv, winsock.FD_ACCEPT)
	}
	if err != nil {
		b.Close()
		return nil, wrapSyscall("CreateEvent/WSAEventSelect", err)
	}
	s.wake = func() { windows.SetEvent(s.stopEv) }
	s.onRelease(func() error { return errors.Join(windows.CloseHandle(s.acceptEv), windows.CloseHandle(s.stopEv)) })
	return s, nil
}

func (s *winOverlapped) Serve(ctx context.Context) error {
	return s.serve(ctx, true, s.loop) // routines run as APCs on this thread only
}

func (s *winOverlapped) loop() error {
	var mine []*ovConn
	defer s.drain(&mine)
	handles := []windows.Handle{s.acceptEv, s.stopEv}
	var tried time.Time // the last accept attempt
	for {
		// A timeout, too, and an attempt at least every 10ms while
		// completion routines keep the wait returning: an FD_ACCEPT
		// signal can be lost (under Wine, a wait that ran routines
		// consumed it: 7 of 10 connections were never accepted while the
		// other 3 kept the loop busy), and then the textbook's polling
		// (SleepEx(100, TRUE), shortened) is what accepts.
		r, err := winsock.WaitAlertable(handles, 10)
		if err != nil {
			return err
		}
		if r == windows.WAIT_OBJECT_0+1 {
			return nil
		}
		if r == windows.WAIT_OBJECT_0 || time.Since(tried) >= 10*time.Millisecond {
			tried = time.Now()
			for {
				sock, err := winsock.Accept(s.ln)
				if err != nil {
					break // WSAEWOULDBLOCK
				}
				// Drop the FD_ACCEPT association the socket inherited from
				// the listener; overlapped IO does not need it.
				winsock.EventSelect(sock, 0, 0)
				c := &ovConn{sock: sock, buf: make([]byte, s.cfg.MaxMsg), srv: s}
				ovMu.Lock()
				ovNextID++
				c.ov.HEvent = ovNextID
				ovConns[c.ov.HEvent] = c
				ovMu.Unlock()
				mine = append(mine, c)
				s.opened()
				c.recv()
			}
		}
		mine = forgetClosed(mine)
	}
}

func (c *ovConn) recv() {
	c.ov.Internal, c.ov.InternalHigh = 0, 0
	c.wsabuf = windows.WSABuf{Len: uint32(len(c.buf)), Buf: &c.buf[0]}
	c.pending = true
	if err := winsock.WSARecvRoutine(c.sock, &c.wsabuf, &c.ov, readRoutine); err != nil {
		c.pending = false
		c.close()
	}
}

func (c *ovConn) send() {
	c.ov.Internal, c.ov.InternalHigh = 0, 0
	c.wsabuf = windows.WSABuf{Len: uint32(c.n - c.sent), Buf: &c.buf[c.sent]}
	c.pending = true
	if err := winsock.WSASendRoutine(c.sock, &c.wsabuf, &c.ov, writeRoutine); err != nil {
		c.pending = false
		c.close()
	}
}

// readDone is ReadCompRoutine.
func (c *ovConn) readDone(errCode uintptr, n int) {
	c.pending = false
	if errCode != 0 || n == 0 || c.srv.stopped() {
		c.close() // EOF: nothing is pending, one operation at a time
		return
	}
	c.srv.cfg.Work.Do()
	c.n, c.sent = n, 0
	c.send()
}

// writeDone is WriteCompRoutine.
func (c *ovConn) writeDone(errCode uintptr, n int) {
	c.pending = false
	if errCode != 0 || c.srv.stopped() {
		c.close()
		return
	}
	if c.sent += n; c.sent < c.n {
		c.send() // short send: the rest
		return
	}
	c.recv()
}

// close closes the socket (an operation in flight then completes with an
// error) and forgets the connection once nothing is in flight.
func (c *ovConn) close() {
	if c.sock != windows.InvalidHandle {
		windows.Closesocket(c.sock)
		c.sock = windows.InvalidHandle
		c.srv.active.Add(-1)
	}
	if !c.pending {
		ovMu.Lock()
		delete(ovConns, c.ov.HEvent)
		ovMu.Unlock()
	}
}

// forgetClosed drops closed connections whose last operation completed.
func forgetClosed(cs []*ovConn) []*ovConn {
	out := cs[:0]
	for _, c := range cs {
		if c.sock != windows.InvalidHandle || c.pending {
			out = append(out, c)
		}
	}
	clear(cs[len(out):])
	return out
}

// drain closes every connection and waits alertably until every pending
// operation's routine has run (closesocket makes them complete with an
// error), so no buffer is freed while the kernel may write into it.
func (s *winOverlapped) drain(mine *[]*ovConn) {
	for _, c := range *mine {
		c.close()
	}
	pending := func() bool {
		*mine = forgetClosed(*mine)
		return len(*mine) > 0
	}
	if waitDrained(pending, func() { windows.SleepEx(10, true) }) {
		return
	}
	ovMu.Lock()
	for _, c := range *mine {
		if c.pending {
			leaked.keep(c) // its OVERLAPPED and buffer, still the kernel's
		}
		delete(ovConns, c.ov.HEvent)
	}
	ovMu.Unlock()
}
