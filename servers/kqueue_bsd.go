//go:build darwin || freebsd

package servers

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"

	"iobench/internal/sock"
)

// Non-blocking read and write for the shared echo state machine (echo.go).
var errAgain error = unix.EAGAIN

func readNB(fd int, p []byte) (int, error)  { return sock.Read(fd, p) }
func writeNB(fd int, p []byte) (int, error) { return sock.Write(fd, p) }

// kqueueServer is one thread around kqueue(2)/kevent(2), the BSD and macOS
// readiness API: like epoll, the kernel keeps the interest list and
// returns only the ready descriptors, but one kevent call both changes
// interests and waits. Read filters stay registered; a write filter is
// added (EV_ADD|EV_ONESHOT) only while a reply is pending. A pipe wakes
// the loop on Close. It builds for darwin and freebsd; this project's CI
// can't run it (Linux only), so it is checked by `GOOS=darwin go vet` and
// `GOOS=freebsd go vet` alone.
type kqueueServer struct {
	*base
	wakeR int
	wakeW int
	spare int // a descriptor held back to refuse connections at EMFILE
}

func newKqueue(cfg Config) (Server, error) {
	b, err := newBase(cfg, listenOpts{nonblock: true})
	if err != nil {
		return nil, err
	}
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		b.Close()
		return nil, wrapSyscall("pipe", err)
	}
	unix.SetNonblock(p[0], true)
	s := &kqueueServer{base: b, wakeR: p[0], wakeW: p[1], spare: -1}
	s.spare, _ = unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	b.onRelease(func() error {
		if s.spare >= 0 {
			unix.Close(s.spare)
		}
		return errors.Join(unix.Close(s.wakeR), unix.Close(s.wakeW))
	})
	s.wake = func() { unix.Write(s.wakeW, []byte{1}) }
	return s, nil
}

func bsdListen(ap netip.AddrPort) (int, netip.AddrPort, error) {
	family := unix.AF_INET
	var sa unix.Sockaddr = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	if ap.Addr().Is6() {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, ap, os.NewSyscallError("socket", err)
	}
	unix.CloseOnExec(fd)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EADDRINUSE) {
			return -1, ap, fmt.Errorf("address %s already in use (another server on that port?): %w", ap, os.NewSyscallError("bind", err))
		}
		return -1, ap, os.NewSyscallError("bind", err)
	}
	if err := unix.Listen(fd, 4096); err != nil {
		unix.Close(fd)
		return -1, ap, os.NewSyscallError("listen", err)
	}
	unix.SetNonblock(fd, true)
	got, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return -1, ap, os.NewSyscallError("getsockname", err)
	}
	switch got := got.(type) {
	case *unix.SockaddrInet4:
		ap = netip.AddrPortFrom(netip.AddrFrom4(got.Addr), uint16(got.Port))
	case *unix.SockaddrInet6:
		ap = netip.AddrPortFrom(netip.AddrFrom16(got.Addr), uint16(got.Port))
	}
	return fd, ap, nil
}

func (s *kqueueServer) Serve(ctx context.Context) error {
	return s.serve(ctx, true, s.loop)
}

func (s *kqueueServer) loop() error {
	kq, err := unix.Kqueue()
	if err != nil {
		return wrapSyscall("kqueue", err)
	}
	defer unix.Close(kq)
	var changes []unix.Kevent_t
	watch := func(fd int, filter int16, flags uint16) {
		var ev unix.Kevent_t
		unix.SetKevent(&ev, fd, int(filter), int(flags))
		changes = append(changes, ev)
	}
	watch(s.wakeR, unix.EVFILT_READ, unix.EV_ADD)
	watch(s.ln, unix.EVFILT_READ, unix.EV_ADD)
	conns := map[int]*conn{}
	defer func() {
		for _, c := range conns {
			unix.Close(c.fd)
			s.active.Add(-1)
		}
	}()
	scratch := make([]byte, s.cfg.MaxMsg)
	events := make([]unix.Kevent_t, 256)
	for {
		n, err := unix.Kevent(kq, changes, events, nil)
		changes = changes[:0]
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return wrapSyscall("kevent", err)
		}
		for _, ev := range events[:n] {
			fd := int(ev.Ident)
			switch fd {
			case s.wakeR:
				return nil
			case s.ln:
				for {
					cfd, _, err := unix.Accept(s.ln)
					if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
						// The listener stays readable while the connection
						// waits: refuse it through the spare descriptor, as
						// Linux's loops do, instead of spinning on EMFILE.
						if s.refuseOne() {
							continue
						}
						break // none refused (no spare to free): back to kevent
					}
					if err != nil {
						if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.ECONNABORTED) && !errors.Is(err, unix.EINTR) {
							s.refuse("accept: " + err.Error())
						}
						break
					}
					unix.SetNonblock(cfd, true)
					unix.CloseOnExec(cfd)
					unix.SetsockoptInt(cfd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
					conns[cfd] = &conn{fd: cfd}
					s.opened()
					watch(cfd, unix.EVFILT_READ, unix.EV_ADD)
				}
			default:
				c := conns[fd]
				if c == nil {
					continue
				}
				switch c.step(scratch, s.cfg.Work) {
				case closeNow:
					delete(conns, fd)
					unix.Close(fd) // close drops its kevents
					s.active.Add(-1)
				case wantWrite:
					// Read nothing more until the reply is out.
					watch(fd, unix.EVFILT_READ, unix.EV_DISABLE)
					watch(fd, unix.EVFILT_WRITE, unix.EV_ADD|unix.EV_ONESHOT)
				default:
					if ev.Filter == unix.EVFILT_WRITE {
						watch(fd, unix.EVFILT_READ, unix.EV_ENABLE)
					}
				}
			}
		}
	}
}

// refuseOne frees the spare descriptor, accepts the waiting connection
// into it, closes that and takes the spare back: the client sees its
// connection closed rather than waiting in the backlog forever. It
// reports whether it refused one.
func (s *kqueueServer) refuseOne() bool {
	if s.spare >= 0 {
		unix.Close(s.spare)
	}
	fd, _, err := unix.Accept(s.ln)
	if err == nil {
		unix.Close(fd)
		s.refuse("accept: out of file descriptors (EMFILE: raise ulimit -n)")
	}
	s.spare, _ = unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	return err == nil
}
