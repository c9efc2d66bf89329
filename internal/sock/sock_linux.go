// Package sock holds the raw socket setup every Linux model shares:
// a listening socket, accept with EINTR retried and EMFILE survived, and
// the socket options iobench sets on every connection.
package sock

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Backlog is passed to listen(2); the kernel clamps it to
// net.core.somaxconn. It must be at least the connection count a run opens
// at once, or connects stall in SYN retries.
const Backlog = 65535

// Listen returns a TCP socket bound to ap and listening. With reusePort
// several sockets may bind the same port and the kernel spreads new
// connections over them (SO_REUSEPORT, see socket(7)).
func Listen(ap netip.AddrPort, nonblock, reusePort bool) (fd int, bound netip.AddrPort, err error) {
	family := unix.AF_INET
	if ap.Addr().Is6() {
		family = unix.AF_INET6
	}
	typ := unix.SOCK_STREAM | unix.SOCK_CLOEXEC
	if nonblock {
		typ |= unix.SOCK_NONBLOCK
	}
	fd, err = unix.Socket(family, typ, 0)
	if err != nil {
		return -1, bound, os.NewSyscallError("socket", err)
	}
	defer func() {
		if err != nil {
			unix.Close(fd)
			fd = -1
		}
	}()
	if err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fd, bound, os.NewSyscallError("setsockopt SO_REUSEADDR", err)
	}
	if reusePort {
		if err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return fd, bound, os.NewSyscallError("setsockopt SO_REUSEPORT", err)
		}
	}
	if err = unix.Bind(fd, Sockaddr(ap)); err != nil {
		if errors.Is(err, unix.EADDRINUSE) {
			return fd, bound, fmt.Errorf("address %s already in use (another server on that port?): %w", ap, os.NewSyscallError("bind", err))
		}
		if errors.Is(err, unix.EADDRNOTAVAIL) {
			return fd, bound, fmt.Errorf("address %s is not an address of this machine: %w", ap, os.NewSyscallError("bind", err))
		}
		return fd, bound, os.NewSyscallError("bind", err)
	}
	if err = unix.Listen(fd, Backlog); err != nil {
		return fd, bound, os.NewSyscallError("listen", err)
	}
	bound, err = LocalAddr(fd)
	return fd, bound, err
}

// CheckFree reports an error when another socket already listens on ap.
// SO_REUSEPORT lets any number of sockets bind one port, so a server that
// uses it (for its own loops) calls this first: a second server on a
// busy port must fail, not silently take half its connections. The probe
// binds without SO_REUSEPORT and never listens.
func CheckFree(ap netip.AddrPort) error {
	if ap.Port() == 0 {
		return nil
	}
	family := unix.AF_INET
	if ap.Addr().Is6() {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return os.NewSyscallError("setsockopt SO_REUSEADDR", err)
	}
	if err := unix.Bind(fd, Sockaddr(ap)); errors.Is(err, unix.EADDRINUSE) {
		return fmt.Errorf("address %s already in use (another server on that port?): %w", ap, os.NewSyscallError("bind", err))
	}
	return nil
}

// Sockaddr converts ap for bind/connect.
func Sockaddr(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is6() {
		return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
}

// LocalAddr returns the address fd is bound to.
func LocalAddr(fd int) (netip.AddrPort, error) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}, os.NewSyscallError("getsockname", err)
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)), nil
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port)), nil
	}
	return netip.AddrPort{}, fmt.Errorf("getsockname: unexpected address %T", sa)
}

// ErrFDLimit is returned by Listener.Accept when the process ran out of
// descriptors; the pending connection was accepted and closed so that it
// does not sit in the backlog forever.
var ErrFDLimit = errors.New("out of file descriptors (EMFILE: raise ulimit -n)")

// Listener is a listening socket with one spare descriptor held back, so
// that at EMFILE it can still accept the pending connection and close it
// (the libev/nginx trick) instead of spinning on a ready listener.
type Listener struct {
	FD    int
	Addr  netip.AddrPort
	spare int
}

// NewListener binds and listens on ap (see Listen).
func NewListener(ap netip.AddrPort, nonblock, reusePort bool) (*Listener, error) {
	fd, bound, err := Listen(ap, nonblock, reusePort)
	if err != nil {
		return nil, err
	}
	spare, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("open /dev/null", err)
	}
	return &Listener{FD: fd, Addr: bound, spare: spare}, nil
}

// Accept returns a new connection, non-blocking if asked, with TCP_NODELAY
// set. It returns unix.EAGAIN when none is pending on a non-blocking
// listener and ErrFDLimit when one was refused for lack of descriptors.
func (l *Listener) Accept(nonblock bool) (int, error) {
	flags := unix.SOCK_CLOEXEC
	if nonblock {
		flags |= unix.SOCK_NONBLOCK
	}
	for {
		fd, _, err := unix.Accept4(l.FD, flags)
		switch {
		case err == nil:
			// Replies go out as soon as they are written; Nagle would hold
			// small ones back when several are in flight.
			_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
			return fd, nil
		case errors.Is(err, unix.EINTR) || errors.Is(err, unix.ECONNABORTED):
			continue
		case errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE):
			return -1, l.RefuseOne()
		default:
			return -1, err
		}
	}
}

// RefuseOne is called at EMFILE: it frees the spare descriptor, accepts
// the pending connection into it, closes that, and takes the spare back.
// It returns ErrFDLimit if it refused a connection and EAGAIN if none was
// pending (a non-blocking listener hits EMFILE even with an empty queue).
// It never blocks, even on a blocking listener.
func (l *Listener) RefuseOne() error {
	pfd := []unix.PollFd{{Fd: int32(l.FD), Events: unix.POLLIN}}
	if n, err := unix.Poll(pfd, 0); err != nil || n == 0 {
		return unix.EAGAIN
	}
	if l.spare < 0 {
		// Another thread took the spare's slot last time; try again.
		if l.spare, _ = unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0); l.spare < 0 {
			return ErrFDLimit
		}
	}
	unix.Close(l.spare)
	fd, _, err := unix.Accept4(l.FD, unix.SOCK_CLOEXEC)
	if err == nil {
		unix.Close(fd)
	}
	l.spare, _ = unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return unix.EAGAIN
	}
	return ErrFDLimit
}

// Close releases the listening socket and the spare descriptor.
func (l *Listener) Close() error {
	if l.spare >= 0 {
		unix.Close(l.spare)
		l.spare = -1
	}
	if l.FD < 0 {
		return nil
	}
	err := unix.Close(l.FD)
	l.FD = -1
	return err
}

// ReadNB is read(2) on a non-blocking descriptor without telling the Go
// scheduler: it can't block, so the entersyscall/exitsyscall bookkeeping
// of unix.Read is pure overhead on the hot path (see syscall.RawSyscall).
// Never use it on a blocking descriptor.
func ReadNB(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		if e == 0 {
			return int(n), nil
		}
		if e != unix.EINTR {
			return 0, e
		}
	}
}

// WriteNB is write(2) on a non-blocking descriptor; see ReadNB.
func WriteNB(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		if e == 0 {
			return int(n), nil
		}
		if e != unix.EINTR {
			return 0, e
		}
	}
}

// EpollWait returns ready events, first polling without blocking (a raw
// syscall, cheap) and only then waiting through the scheduler, so a busy
// loop never pays for parking its thread while a wait that blocks still
// lets the runtime run other goroutines. EINTR is returned as n = 0.
func EpollWait(ep int, events []unix.EpollEvent) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(ep), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if e == 0 && n > 0 {
		return int(n), nil
	}
	if e != 0 && e != unix.EINTR {
		return 0, os.NewSyscallError("epoll_pwait", e)
	}
	n2, err := unix.EpollWait(ep, events, -1)
	if errors.Is(err, unix.EINTR) {
		return 0, nil
	}
	if err != nil {
		return 0, os.NewSyscallError("epoll_wait", err)
	}
	return n2, nil
}
