package servers

import (
	"context"

	"iobench/internal/winsock"
)

// winNonblocking is the textbook's pattern to the letter:
//
//	hLisnSock = WSASocket(PF_INET, SOCK_STREAM, 0, NULL, 0, WSA_FLAG_OVERLAPPED);
//	ioctlsocket(hLisnSock, FIONBIO, &mode);   // mode = 1: non-blocking
//
// accept on that listener returns INVALID_SOCKET at once when nobody is
// waiting, with WSAGetLastError() == WSAEWOULDBLOCK, and the sockets it
// returns are non-blocking too. One thread retries accept and every
// connection in turn and never sleeps: a full core, by design.
type winNonblocking struct{ loopServer }

func newNonblocking(cfg Config) (Server, error) {
	l, err := newLoopServer(cfg, listenOpts{overlapped: true})
	if err != nil {
		return nil, err
	}
	return winNonblocking{l}, nil
}

func (s winNonblocking) Serve(ctx context.Context) error {
	return s.serve(ctx, true, s.loop)
}

func (s winNonblocking) loop() error {
	var conns []*conn
	defer func() {
		for _, c := range conns {
			s.closeConn(c)
		}
	}()
	scratch := make([]byte, s.cfg.MaxMsg)
	for !s.stopped() {
		for {
			c, err := winsock.Accept(s.ln)
			if err != nil {
				if !winsock.WouldBlock(err) && !s.stopped() {
					s.refuse("accept: " + err.Error())
				}
				break
			}
			conns = append(conns, s.admit(c))
		}
		// No readiness API: every connection is tried every pass.
		conns = serveReady(conns, func(int, *conn) bool { return true }, scratch, s.cfg.Work, s.closeConn)
	}
	return nil
}
