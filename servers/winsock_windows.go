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

// winServer is what the Windows models share: the listening socket, the
// lifecycle and the counters.
type winServer struct {
	cfg     Config
	ln      windows.Handle
	addr    netip.AddrPort
	lnOnce  sync.Once
	release sync.Once
	lifecycle
	counters
}

func newWinServer(cfg Config, overlapped bool) (*winServer, error) {
	ap, err := parseAddr(cfg.Addr)
	if err != nil {
		return nil, err
	}
	ln, bound, err := winsock.Listen(ap, overlapped)
	if err != nil {
		return nil, fmtListenErr(cfg.Addr, err)
	}
	s := &winServer{cfg: cfg, ln: ln, addr: bound, lifecycle: newLifecycle()}
	s.logf = cfg.Logf
	return s, nil
}

func (s *winServer) Addr() string { return s.addr.String() }

// closeListener closes the listening socket once; on Windows that is also
// what wakes a thread blocked in accept.
func (s *winServer) closeListener() {
	s.lnOnce.Do(func() { windows.Closesocket(s.ln) })
}

func (s *winServer) Close() error {
	s.shutdown()
	s.closeListener()
	return nil
}

// setNonblock puts the listener in non-blocking mode, ioctlsocket(FIONBIO);
// the sockets accept returns inherit it.
func (s *winServer) setNonblock() error {
	if err := winsock.SetNonblock(s.ln, true); err != nil {
		s.Close()
		return err
	}
	return nil
}

// admit counts a newly accepted socket as served.
func (s *winServer) admit(sock windows.Handle) *conn {
	s.accepted.Add(1)
	s.active.Add(1)
	return &conn{fd: int(sock)}
}

// closeConn closes a connection a loop owns.
func (s *winServer) closeConn(c *conn) {
	windows.Closesocket(windows.Handle(c.fd))
	c.fd = -1
	s.active.Add(-1)
}

// sendAll writes p on a blocking socket, finishing short sends.
func sendAll(sock windows.Handle, p []byte) error {
	for len(p) > 0 {
		n, err := winsock.Send(sock, p)
		if err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}
