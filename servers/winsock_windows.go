package servers

import (
	"golang.org/x/sys/windows"

	"iobench/internal/winsock"
)

// Non-blocking read and write for the shared echo state machine (echo.go):
// recv/send on sockets in non-blocking mode (ioctlsocket FIONBIO), with
// WSAEWOULDBLOCK meaning "not now".
var errAgain error = windows.WSAEWOULDBLOCK

func readNB(fd int, p []byte) (int, error)  { return winsock.Recv(windows.Handle(fd), p) }
func writeNB(fd int, p []byte) (int, error) { return winsock.Send(windows.Handle(fd), p) }

// loopServer is the part the single-threaded Windows loops (select,
// nonblocking) share beyond the base, as on Linux (echo_linux.go): a
// non-blocking listener and the connection bookkeeping.
type loopServer struct{ *base }

// newLoopServer binds cfg.Addr with the listener in non-blocking mode,
// ioctlsocket(FIONBIO): the sockets accept returns inherit it.
func newLoopServer(cfg Config, o listenOpts) (loopServer, error) {
	b, err := newBase(cfg, o)
	if err != nil {
		return loopServer{}, err
	}
	if err := winsock.SetNonblock(b.ln, true); err != nil {
		b.Close()
		return loopServer{}, err
	}
	return loopServer{b}, nil
}

// admit counts a newly accepted socket as served.
func (s loopServer) admit(sock windows.Handle) *conn {
	s.opened()
	return &conn{fd: int(sock)}
}

// closeConn closes a connection a loop owns.
func (s loopServer) closeConn(c *conn) {
	windows.Closesocket(windows.Handle(c.fd))
	c.fd = -1
	s.active.Add(-1)
}

// sendAll writes p on a blocking socket, finishing short sends.
func sendAll(sock windows.Handle, p []byte) error {
	return writeFull(p, func(b []byte) (int, error) { return winsock.Send(sock, b) })
}
