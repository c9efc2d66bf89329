package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"time"

	"iobench/internal/sock"

	"golang.org/x/sys/unix"
)

func newEngine(cfg Config) engine {
	if cfg.Engine == "net" {
		return &netEngine{}
	}
	return &epollEngine{}
}

// epollEngine drives connections from Workers threads, each an epoll loop
// over its share of raw non-blocking sockets, the way a C load generator
// does: no goroutine or netpoller hop per message. Rate mode wakes each
// worker on a timerfd at the next scheduled send, with timer slack set to
// 1 ns so the kernel does not round the wake-up.
type epollEngine struct {
	mu   sync.Mutex
	idle []int
	busy []int
}

func (e *epollEngine) name() string { return "epoll" }

func (e *epollEngine) dial(ctx context.Context, s *session, idle, busy int) (int, error) {
	ap, err := resolve(s.cfg.Addr)
	if err != nil {
		return 0, err
	}
	fds := make([]int, idle+busy)
	for i := range fds {
		fds[i] = -1
	}
	err = dialEach(ctx, s, len(fds), func(i int) (time.Duration, error) {
		start := time.Now()
		fd, err := connectNB(ctx, ap, s.cfg.ConnectTimeout)
		if err != nil {
			return 0, err
		}
		fds[i] = fd
		return time.Since(start), nil
	})
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, fd := range fds {
		switch {
		case fd < 0:
		case i < idle:
			e.idle = append(e.idle, fd)
		default:
			e.busy = append(e.busy, fd)
		}
	}
	return len(e.busy), err
}

// resolve turns HOST:PORT into an address (names are looked up once).
func resolve(addr string) (netip.AddrPort, error) {
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("loadgen: bad --addr %q: %v", addr, err)
	}
	if ta.Port == 0 {
		return netip.AddrPort{}, fmt.Errorf("loadgen: bad --addr %q: want HOST:PORT with a port", addr)
	}
	return ta.AddrPort(), nil
}

// connectNB opens a non-blocking socket and connects it within timeout.
func connectNB(ctx context.Context, ap netip.AddrPort, timeout time.Duration) (int, error) {
	family := unix.AF_INET
	if ap.Addr().Is6() && !ap.Addr().Is4In6() {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	err = unix.Connect(fd, sock.Sockaddr(ap))
	if errors.Is(err, unix.EINPROGRESS) || errors.Is(err, unix.EINTR) {
		err = waitConnected(ctx, fd, timeout)
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	return fd, nil
}

func waitConnected(ctx context.Context, fd int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return os.ErrDeadlineExceeded
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// Wake at least every 100ms to notice a cancelled context.
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		n, err := unix.Poll(pfd, int(min(left, 100*time.Millisecond)/time.Millisecond)+1)
		if errors.Is(err, unix.EINTR) || (err == nil && n == 0) {
			continue
		}
		if err != nil {
			return os.NewSyscallError("poll", err)
		}
		soErr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			return os.NewSyscallError("getsockopt", err)
		}
		if soErr != 0 {
			return unix.Errno(soErr)
		}
		return nil
	}
}

func (e *epollEngine) drive(ctx context.Context, s *session) {
	e.mu.Lock()
	busy := e.busy
	e.mu.Unlock()
	s.spread(len(busy))
	// Worker k's connections are busy[k], busy[k+nw], ... (see spread).
	nw := len(s.workers)
	fds := make([][]int, nw)
	for i, fd := range busy {
		fds[i%nw] = append(fds[i%nw], fd)
	}

	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		s.stopped.Store(true)
		return
	}
	defer unix.Close(wake)
	stop := context.AfterFunc(ctx, func() {
		s.interrupt()
		unix.Write(wake, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	})
	defer stop()

	done := make(chan struct{})
	go s.progress(done)
	defer close(done)
	var wg sync.WaitGroup
	for k, w := range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := runWorker(s, w, fds[k], wake); err != nil {
				w.mu.Lock()
				w.rec.fail(err.Error())
				w.mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// Event tags in epoll data: connections use their index in the worker.
const (
	tagWake  = -1
	tagTimer = -2
)

// runWorker is one worker's epoll loop.
func runWorker(s *session, w *worker, fds []int, wake int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return os.NewSyscallError("epoll_create1", err)
	}
	defer unix.Close(ep)
	add := func(fd int, tag int32, events uint32) error {
		ev := unix.EpollEvent{Events: events, Fd: tag}
		return unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &ev)
	}
	if err := add(wake, tagWake, unix.EPOLLIN); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	rate := s.plan.mode == Rate
	timer := -1
	if rate {
		_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
		timer, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC|unix.TFD_NONBLOCK)
		if err != nil {
			return os.NewSyscallError("timerfd_create", err)
		}
		defer unix.Close(timer)
		if err := add(timer, tagTimer, unix.EPOLLIN); err != nil {
			return os.NewSyscallError("epoll_ctl", err)
		}
	}
	writing := make([]bool, len(fds))
	for i, fd := range fds {
		if err := add(fd, int32(i), unix.EPOLLIN|unix.EPOLLRDHUP); err != nil {
			return os.NewSyscallError("epoll_ctl", err)
		}
	}
	alive := len(fds)
	kill := func(i int) {
		c := w.conns[i]
		if c.dead {
			return
		}
		c.dead = true
		alive--
		if now := s.now(); now < s.plan.endAt && !s.stopped.Load() {
			w.closedByPeer++
			c.diedAt = now
		}
		unix.EpollCtl(ep, unix.EPOLL_CTL_DEL, fds[i], nil)
	}
	// service queues what may be sent now and writes it.
	service := func(i int, now int64) {
		c := w.conns[i]
		if c.dead {
			return
		}
		out := c.fill(now, w.rec)
		if rate {
			w.backlogMax = max(w.backlogMax, c.backlog(now))
		}
		if len(out) > 0 {
			n, err := sock.WriteNB(fds[i], out)
			if err != nil && !errors.Is(err, unix.EAGAIN) {
				kill(i)
				return
			}
			c.wrote(n)
		}
		if want := c.pendingOut(); want != writing[i] {
			writing[i] = want
			ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(i)}
			if want {
				ev.Events |= unix.EPOLLOUT
			}
			unix.EpollCtl(ep, unix.EPOLL_CTL_MOD, fds[i], &ev)
		}
	}

	w.mu.Lock()
	now := s.now()
	for i := range fds {
		service(i, now)
	}
	w.mu.Unlock()

	// Rate mode walks the schedule slot by slot: slot k belongs to
	// connection k mod n and falls at its phase plus k/n periods.
	n := len(fds)
	var slot int64
	slotAt := func(k int64) int64 { return w.conns[k%int64(n)].phase + (k/int64(n))*s.plan.period }
	buf := make([]byte, 256<<10)
	events := make([]unix.EpollEvent, 256)
	for !s.stopped.Load() {
		now := s.now()
		if now >= s.plan.endAt || alive == 0 {
			break
		}
		timeout := int((s.plan.endAt-now)/int64(time.Millisecond)) + 1
		if rate {
			next := slotAt(slot)
			ts := unix.NsecToTimespec(max(next-now, 1))
			_ = unix.TimerfdSettime(timer, 0, &unix.ItimerSpec{Value: ts}, nil)
		}
		ne, err := unix.EpollWait(ep, events, timeout)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return os.NewSyscallError("epoll_wait", err)
		}
		w.mu.Lock()
		now = s.now()
		for _, ev := range events[:ne] {
			i := int(ev.Fd)
			switch {
			case i == tagWake:
			case i == tagTimer:
				var b [8]byte
				unix.Read(timer, b[:])
			case ev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0:
				c := w.conns[i]
				for !c.dead {
					m, err := sock.ReadNB(fds[i], buf)
					if err == unix.EAGAIN {
						break
					}
					if err != nil || m == 0 {
						kill(i)
						break
					}
					c.received(buf[:m], now, w.rec)
					if m < len(buf) {
						break
					}
				}
				service(i, now)
			default: // EPOLLOUT
				service(i, now)
			}
		}
		if rate {
			for ; slotAt(slot) <= now; slot++ {
				service(int(slot%int64(n)), now)
			}
		}
		w.mu.Unlock()
	}
	return nil
}

func (e *epollEngine) closeAll() (idleClosed int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b [1]byte
	for _, fd := range e.idle {
		n, _, err := unix.Recvfrom(fd, b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		if n == 0 && err == nil || err != nil && !errors.Is(err, unix.EAGAIN) {
			idleClosed++ // EOF or reset: the server let it go
		}
		unix.Close(fd)
	}
	for _, fd := range e.busy {
		unix.Close(fd)
	}
	e.idle, e.busy = nil, nil
	return idleClosed
}
