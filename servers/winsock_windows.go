package servers

import (
	"net/netip"
	"sync"

	"golang.org/x/sys/windows"

	"iobench/internal/winsock"
)

// Non-blocking read and write for the shared echo state machine (echo.go):
// recv/send on sockets in non-blocking mode (ioctlsocket FIONBIO), with
// WSAEWOULDBLOCK meaning "not now".
var errAgain error = windows.WSAEWOULDBLOCK

func readNB(fd int, p []byte) (int, error)  { return winsock.Recv(windows.Handle(fd), p) }
func writeNB(fd int, p []byte) (int, error) { return winsock.Send(windows.Handle(fd), p) }

// base is the frame every Windows model shares, as on Linux
// (base_linux.go): the listening socket, the lifecycle, the counters, and
// the release of every handle once. A model adds what it owns with
// onRelease.
type base struct {
	cfg    Config
	ln     windows.Handle
	addr   netip.AddrPort
	lnOnce sync.Once
	releaser
	lifecycle
	counters
}

// newBase binds cfg.Addr, with an overlapped socket for AcceptEx.
func newBase(cfg Config, o listenOpts) (*base, error) {
	ap, err := parseAddr(cfg.Addr)
	if err != nil {
		return nil, err
	}
	ln, bound, err := winsock.Listen(ap, o.overlapped)
	if err != nil {
		return nil, fmtListenErr(cfg.Addr, err)
	}
	s := &base{cfg: cfg, ln: ln, addr: bound, lifecycle: newLifecycle()}
	s.logf = cfg.Logf
	return s, nil
}

func (s *base) Addr() string { return s.addr.String() }

// closeListener closes the listening socket once; on Windows that is also
// what wakes a thread blocked in accept.
func (s *base) closeListener() {
	s.lnOnce.Do(func() { windows.Closesocket(s.ln) })
}

// Close stops Serve, waits for it to return and releases every handle
// once; later calls do nothing. (The listener may have closed already:
// closing it is what wakes a blocked accept.)
func (s *base) Close() error {
	s.shutdown()
	s.closeListener()
	return s.releaseAll(nil)
}

// setNonblock puts the listener in non-blocking mode, ioctlsocket(FIONBIO);
// the sockets accept returns inherit it.
func (s *base) setNonblock() error {
	if err := winsock.SetNonblock(s.ln, true); err != nil {
		s.Close()
		return err
	}
	return nil
}

// admit counts a newly accepted socket as served.
func (s *base) admit(sock windows.Handle) *conn {
	s.opened()
	return &conn{fd: int(sock)}
}

// closeConn closes a connection a loop owns.
func (s *base) closeConn(c *conn) {
	windows.Closesocket(windows.Handle(c.fd))
	c.fd = -1
	s.active.Add(-1)
}

// sendAll writes p on a blocking socket, finishing short sends.
func sendAll(sock windows.Handle, p []byte) error {
	return writeFull(p, func(b []byte) (int, error) { return winsock.Send(sock, b) })
}
