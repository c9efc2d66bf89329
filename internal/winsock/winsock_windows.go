// Package winsock holds the Winsock calls the Windows models share:
// what golang.org/x/sys/windows has (WSASocket, bind, listen, AcceptEx,
// WSARecv, WSASend, completion ports) and what it lacks, loaded from
// ws2_32.dll: accept, recv, send, ioctlsocket, select, WSAEventSelect, and
// WSARecv/WSASend with a completion routine passed as a plain pointer.
package winsock

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	ws2            = windows.NewLazySystemDLL("ws2_32.dll")
	kernel32       = windows.NewLazySystemDLL("kernel32.dll")
	procAccept     = ws2.NewProc("accept")
	procRecv       = ws2.NewProc("recv")
	procSend       = ws2.NewProc("send")
	procIoctl      = ws2.NewProc("ioctlsocket")
	procSelect     = ws2.NewProc("select")
	procEventSel   = ws2.NewProc("WSAEventSelect")
	procWSARecv    = ws2.NewProc("WSARecv")
	procWSASend    = ws2.NewProc("WSASend")
	procWaitMultEx = kernel32.NewProc("WaitForMultipleObjectsEx")
)

// Winsock constants x/sys/windows does not define.
const (
	// Functions returning int give SOCKET_ERROR (-1) in the low 32 bits of r1.
	FIONBIO       = 0x8004667e // _IOW('f', 126, u_long)
	FD_ACCEPT     = 1 << 3
	InvalidSocket = ^windows.Handle(0)
	somaxconn     = 0x7fffffff
)

var (
	startOnce sync.Once
	startErr  error
)

// Startup calls WSAStartup(2.2) once per process.
func Startup() error {
	startOnce.Do(func() {
		var d windows.WSAData
		startErr = windows.WSAStartup(0x202, &d)
	})
	return startErr
}

// WouldBlock reports WSAEWOULDBLOCK: a non-blocking call that can't
// progress now.
func WouldBlock(err error) bool { return errors.Is(err, windows.WSAEWOULDBLOCK) }

func errno(e error) error {
	if en, ok := e.(syscall.Errno); ok && en != 0 {
		return en
	}
	return windows.WSAEINVAL
}

// Listen creates a TCP socket (overlapped-capable when asked, as
// WSASocket(..., WSA_FLAG_OVERLAPPED) in the textbook), binds and listens.
// It does not set SO_REUSEADDR: on Windows that lets a second socket steal
// a port in use.
func Listen(ap netip.AddrPort, overlapped bool) (windows.Handle, netip.AddrPort, error) {
	if err := Startup(); err != nil {
		return InvalidSocket, ap, fmt.Errorf("WSAStartup: %w", err)
	}
	family := int32(windows.AF_INET)
	if ap.Addr().Is6() {
		family = windows.AF_INET6
	}
	var flags uint32
	if overlapped {
		flags = windows.WSA_FLAG_OVERLAPPED
	}
	s, err := windows.WSASocket(family, windows.SOCK_STREAM, windows.IPPROTO_TCP, nil, 0, flags)
	if err != nil {
		return InvalidSocket, ap, fmt.Errorf("WSASocket: %w", err)
	}
	var sa windows.Sockaddr = &windows.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	if ap.Addr().Is6() {
		sa = &windows.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	if err := windows.Bind(s, sa); err != nil {
		windows.Closesocket(s)
		if errors.Is(err, windows.WSAEADDRINUSE) {
			return InvalidSocket, ap, fmt.Errorf("address %s already in use (another server on that port?)", ap)
		}
		return InvalidSocket, ap, fmt.Errorf("bind: %w", err)
	}
	if err := windows.Listen(s, somaxconn); err != nil {
		windows.Closesocket(s)
		return InvalidSocket, ap, fmt.Errorf("listen: %w", err)
	}
	bound, err := LocalAddr(s)
	if err != nil {
		windows.Closesocket(s)
		return InvalidSocket, ap, err
	}
	return s, bound, nil
}

// LocalAddr is getsockname as an address.
func LocalAddr(s windows.Handle) (netip.AddrPort, error) {
	sa, err := windows.Getsockname(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("getsockname: %w", err)
	}
	switch sa := sa.(type) {
	case *windows.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)), nil
	case *windows.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port)), nil
	}
	return netip.AddrPort{}, fmt.Errorf("getsockname: unexpected %T", sa)
}

// Accept is accept(2): INVALID_SOCKET and WSAEWOULDBLOCK on a non-blocking
// listener with nobody waiting; the new socket inherits non-blocking mode.
func Accept(l windows.Handle) (windows.Handle, error) {
	r, _, e := procAccept.Call(uintptr(l), 0, 0)
	if windows.Handle(r) == InvalidSocket {
		return InvalidSocket, errno(e)
	}
	s := windows.Handle(r)
	_ = windows.SetsockoptInt(s, windows.IPPROTO_TCP, windows.TCP_NODELAY, 1)
	return s, nil
}

// SetNonblock is ioctlsocket(s, FIONBIO, &mode).
func SetNonblock(s windows.Handle, on bool) error {
	mode := uint32(0)
	if on {
		mode = 1
	}
	r, _, e := procIoctl.Call(uintptr(s), FIONBIO, uintptr(unsafe.Pointer(&mode)))
	if int32(r) == -1 {
		return fmt.Errorf("ioctlsocket(FIONBIO): %w", errno(e))
	}
	return nil
}

// Recv is recv(2); 0 means the peer closed.
func Recv(s windows.Handle, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r, _, e := procRecv.Call(uintptr(s), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), 0)
	if int32(r) == -1 {
		return 0, errno(e)
	}
	return int(r), nil
}

// Send is send(2); it may send less than len(p).
func Send(s windows.Handle, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r, _, e := procSend.Call(uintptr(s), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), 0)
	if int32(r) == -1 {
		return 0, errno(e)
	}
	return int(r), nil
}

// FdSet is a Winsock fd_set: a count followed by an array of sockets
// (not a bitmap as on Unix). FD_SETSIZE defaults to 64 only because the C
// header sizes the array so; select reads fd_count entries, so a larger
// array works as long as the count says how many are used.
type FdSet struct {
	words []uintptr // words[0] holds fd_count (u_int, padded to 8 bytes); then SOCKETs
}

// NewFdSet makes a set for up to n sockets.
func NewFdSet(n int) *FdSet { return &FdSet{words: make([]uintptr, 1, n+1)} }

// Zero empties the set.
func (f *FdSet) Zero() { f.words = f.words[:1]; f.words[0] = 0 }

// Set adds s.
func (f *FdSet) Set(s windows.Handle) {
	f.words = append(f.words, uintptr(s))
	f.words[0] = uintptr(len(f.words) - 1)
}

// Sockets lists the sockets in the set (after select: the ready ones).
func (f *FdSet) Sockets() []windows.Handle {
	n := int(uint32(f.words[0]))
	out := make([]windows.Handle, 0, n)
	for _, w := range f.words[1 : 1+n] {
		out = append(out, windows.Handle(w))
	}
	return out
}

// IsSet reports whether s is in the set.
func (f *FdSet) IsSet(s windows.Handle) bool {
	n := int(uint32(f.words[0]))
	for _, w := range f.words[1 : 1+n] {
		if windows.Handle(w) == s {
			return true
		}
	}
	return false
}

// Select is select(2) with a timeout in microseconds; it rewrites the sets
// to hold only the ready sockets and returns how many there are.
func Select(r, w *FdSet, timeoutUS int64) (int, error) {
	tv := windows.Timeval{Sec: int32(timeoutUS / 1e6), Usec: int32(timeoutUS % 1e6)}
	ptr := func(f *FdSet) uintptr {
		if f == nil || len(f.words) == 1 {
			return 0
		}
		return uintptr(unsafe.Pointer(&f.words[0]))
	}
	rp, wp := ptr(r), ptr(w)
	n, _, e := procSelect.Call(0, rp, wp, 0, uintptr(unsafe.Pointer(&tv)))
	if int32(n) == -1 {
		return 0, fmt.Errorf("select: %w", errno(e))
	}
	// An empty set was passed as NULL: nothing in it is ready.
	if r != nil && rp == 0 {
		r.Zero()
	}
	if w != nil && wp == 0 {
		w.Zero()
	}
	return int(n), nil
}

// EventSelect is WSAEventSelect: signal ev on the network events in mask.
// It also makes s non-blocking.
func EventSelect(s, ev windows.Handle, mask uint32) error {
	r, _, e := procEventSel.Call(uintptr(s), uintptr(ev), uintptr(mask))
	if int32(r) == -1 {
		return fmt.Errorf("WSAEventSelect: %w", errno(e))
	}
	return nil
}

// WaitAlertable waits for any of handles, or for an APC (a completion
// routine) to run: it returns WAIT_IO_COMPLETION then. This is the
// alertable wait of the completion-routine model.
func WaitAlertable(handles []windows.Handle, ms uint32) (uint32, error) {
	r, _, e := procWaitMultEx.Call(uintptr(len(handles)), uintptr(unsafe.Pointer(&handles[0])), 0, uintptr(ms), 1)
	if uint32(r) == windows.WAIT_FAILED {
		return 0, fmt.Errorf("WaitForMultipleObjectsEx: %w", errno(e))
	}
	return uint32(r), nil
}

// WSARecvRoutine posts an overlapped receive whose completion runs
// routine (made once with windows.NewCallback) as an APC on this thread.
func WSARecvRoutine(s windows.Handle, buf *windows.WSABuf, ov *windows.Overlapped, routine uintptr) error {
	var flags, n uint32
	r, _, e := procWSARecv.Call(uintptr(s), uintptr(unsafe.Pointer(buf)), 1, uintptr(unsafe.Pointer(&n)),
		uintptr(unsafe.Pointer(&flags)), uintptr(unsafe.Pointer(ov)), routine)
	if int32(r) == -1 && !errors.Is(errno(e), windows.ERROR_IO_PENDING) {
		return errno(e)
	}
	return nil
}

// WSASendRoutine posts an overlapped send with a completion routine.
func WSASendRoutine(s windows.Handle, buf *windows.WSABuf, ov *windows.Overlapped, routine uintptr) error {
	var n uint32
	r, _, e := procWSASend.Call(uintptr(s), uintptr(unsafe.Pointer(buf)), 1, uintptr(unsafe.Pointer(&n)),
		0, uintptr(unsafe.Pointer(ov)), routine)
	if int32(r) == -1 && !errors.Is(errno(e), windows.ERROR_IO_PENDING) {
		return errno(e)
	}
	return nil
}
