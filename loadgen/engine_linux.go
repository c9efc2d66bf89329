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
	switch cfg.Engine {
	case "net":
		return &netEngine{}
	case "uring":
		return &uringEngine{}
	case "":
		// The default: the cheaper engine where the kernel has what it
		// needs (measured: 0.89× the epoll engine's CPU per round trip,
		// servers/testdata/cref/compare-client.sh), else epoll.
		if probeUringEngine() == nil {
			return &uringEngine{}
		}
	}
	return &epollEngine{}
}

// engineUnavailable says why engine can't run on this machine, or nil.
func engineUnavailable(engine string) error {
	if engine == "uring" {
		return probeUringEngine()
	}
	return nil
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
	e.idle, e.busy = splitDialed(fds, idle, func(fd int) bool { return fd >= 0 })
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
	e.driveWorkers(ctx, s, unix.EFD_NONBLOCK, func(w *worker, fds []int, wake int) error {
		ew := &epollWorker{s: s, w: w, fds: fds, wake: wake, timer: -1, ep: -1}
		return ew.run()
	})
}

// driveWorkers is the frame both Linux engines share: it spreads the busy
// connections over the workers and runs each worker's loop on a goroutine
// of its own until all have stopped. wake is an eventfd (a semaphore: one
// count per worker) that an interruption writes, made with extra flags.
func (e *epollEngine) driveWorkers(ctx context.Context, s *session, flags int, run func(w *worker, fds []int, wake int) error) {
	e.mu.Lock()
	busy := e.busy
	e.mu.Unlock()
	s.spread(len(busy))
	fds := byWorker(s, busy)

	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_SEMAPHORE|flags)
	if err != nil {
		// Nothing can run without it: said as an error of the run, which
		// then has no replies and fails, not as an interruption.
		s.workers[0].rec.fail("eventfd: " + err.Error())
		return
	}
	defer unix.Close(wake)
	stop := context.AfterFunc(ctx, func() {
		s.interrupt()
		unix.Write(wake, []byte{byte(len(s.workers)), 0, 0, 0, 0, 0, 0, 0})
	})
	defer stop()

	defer s.startProgress()()
	var wg sync.WaitGroup
	for k, w := range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(w, fds[k], wake); err != nil {
				w.mu.Lock()
				w.rec.fail(err.Error())
				w.mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// pinWorker puts the calling thread, locked to its goroutine, on the
// k-th of this process's CPUs, when there is one per worker: each
// worker a core of its own, as a C generator pins its threads. The
// returned func gives the thread its CPUs back before it is unlocked:
// the thread goes back to the runtime as it came (ending it instead
// would SIGKILL any server child it had started: Pdeathsig follows the
// thread that forked).
func pinWorker(k, workers int) (restore func()) {
	var set unix.CPUSet
	if workers < 2 || unix.SchedGetaffinity(0, &set) != nil || set.Count() < workers {
		return func() {}
	}
	seen := -1
	for c := range 1024 {
		if set.IsSet(c) {
			if seen++; seen == k {
				var one unix.CPUSet
				one.Set(c)
				if unix.SchedSetaffinity(0, &one) != nil {
					return func() {}
				}
				return func() { _ = unix.SchedSetaffinity(0, &set) }
			}
		}
	}
	return func() {}
}

// Event tags in epoll data: connections use their index in the worker.
const (
	tagWake  = -1
	tagTimer = -2
)

// epollWorker is one worker's epoll loop over its share of the
// connections, on a thread of its own.
type epollWorker struct {
	s       *session
	w       *worker
	fds     []int
	wake    int
	ep      int
	timer   int    // rate mode: fires at the next scheduled send
	writing []bool // EPOLLOUT armed, per connection
	alive   int
	buf     []byte
}

// run sets the loop up, runs it until the plan's end, an interruption or
// every connection's loss, and releases what it made.
func (ew *epollWorker) run() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer pinWorker(ew.w.index, len(ew.s.workers))()
	defer ew.release()
	if err := ew.setup(); err != nil {
		return err
	}
	ew.w.mu.Lock()
	now := ew.s.now()
	for i := range ew.fds {
		ew.service(i, now)
	}
	ew.w.mu.Unlock()
	return ew.loop()
}

func (ew *epollWorker) add(fd int, tag int32, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: tag}
	return os.NewSyscallError("epoll_ctl", unix.EpollCtl(ew.ep, unix.EPOLL_CTL_ADD, fd, &ev))
}

func (ew *epollWorker) setup() error {
	var err error
	if ew.ep, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return os.NewSyscallError("epoll_create1", err)
	}
	if err := ew.add(ew.wake, tagWake, unix.EPOLLIN); err != nil {
		return err
	}
	if ew.s.plan.mode == Rate {
		_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
		if ew.timer, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC|unix.TFD_NONBLOCK); err != nil {
			return os.NewSyscallError("timerfd_create", err)
		}
		if err := ew.add(ew.timer, tagTimer, unix.EPOLLIN); err != nil {
			return err
		}
	}
	for i, fd := range ew.fds {
		if err := ew.add(fd, int32(i), unix.EPOLLIN|unix.EPOLLRDHUP); err != nil {
			return err
		}
	}
	ew.writing = make([]bool, len(ew.fds))
	ew.alive = len(ew.fds)
	ew.buf = make([]byte, 256<<10)
	return nil
}

func (ew *epollWorker) release() {
	for _, fd := range []int{ew.timer, ew.ep} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// kill marks connection i lost: mid-run, the server closed or reset it.
func (ew *epollWorker) kill(i int) {
	if ew.s.lose(ew.w, ew.w.conns[i]) {
		ew.alive--
		_ = unix.EpollCtl(ew.ep, unix.EPOLL_CTL_DEL, ew.fds[i], nil) // closed with it anyway
	}
}

// service queues what connection i may send now, writes it, and arms
// EPOLLOUT while part of it is left.
func (ew *epollWorker) service(i int, now int64) {
	c := ew.w.conns[i]
	if c.dead {
		return
	}
	out := c.fill(now, ew.w.rec)
	if ew.s.plan.mode == Rate {
		ew.w.backlogMax = max(ew.w.backlogMax, c.backlog(now))
	}
	if len(out) > 0 {
		n, err := sock.WriteNB(ew.fds[i], out)
		if err != nil && !errors.Is(err, unix.EAGAIN) {
			ew.kill(i)
			return
		}
		c.wrote(n)
	}
	if want := c.pendingOut(); want != ew.writing[i] {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(i)}
		if want {
			ev.Events |= unix.EPOLLOUT
		}
		if err := unix.EpollCtl(ew.ep, unix.EPOLL_CTL_MOD, ew.fds[i], &ev); err != nil {
			ew.w.rec.fail("epoll_ctl: " + err.Error())
			ew.kill(i)
			return
		}
		ew.writing[i] = want
	}
}

// receive reads what connection i has, verifies it, and sends what the
// replies free up.
func (ew *epollWorker) receive(i int, now int64) {
	c := ew.w.conns[i]
	for !c.dead {
		m, err := sock.ReadNB(ew.fds[i], ew.buf)
		if errors.Is(err, unix.EAGAIN) {
			break
		}
		if err != nil || m == 0 {
			ew.kill(i)
			break
		}
		c.received(ew.buf[:m], now, ew.w.rec)
		if m < len(ew.buf) {
			break
		}
	}
	ew.service(i, now)
}

// loop waits for events until the end. Rate mode walks the schedule slot
// by slot: slot k belongs to connection k mod n and falls at its phase
// plus k/n periods.
func (ew *epollWorker) loop() error {
	s, n := ew.s, len(ew.fds)
	var slot int64
	slotAt := func(k int64) int64 { return ew.w.conns[k%int64(n)].phase + (k/int64(n))*s.plan.period }
	events := make([]unix.EpollEvent, 256)
	for !s.stopped.Load() {
		now := s.now()
		if now >= s.plan.endAt || ew.alive == 0 {
			return nil
		}
		timeout := int((s.plan.endAt-now)/int64(time.Millisecond)) + 1
		if ew.timer >= 0 {
			ts := unix.NsecToTimespec(max(s.plan.wakeAt(slotAt(slot), now)-now, 1))
			if err := unix.TimerfdSettime(ew.timer, 0, &unix.ItimerSpec{Value: ts}, nil); err != nil {
				return os.NewSyscallError("timerfd_settime", err)
			}
		}
		ne, err := unix.EpollWait(ew.ep, events, timeout)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return os.NewSyscallError("epoll_wait", err)
		}
		ew.w.mu.Lock()
		now = s.now()
		for _, ev := range events[:ne] {
			switch i := int(ev.Fd); {
			case i == tagWake:
			case i == tagTimer:
				var b [8]byte
				_, _ = unix.Read(ew.timer, b[:]) // only to rearm it
			case ev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0:
				ew.receive(i, now)
			default: // EPOLLOUT
				ew.service(i, now)
			}
		}
		if ew.timer >= 0 {
			for ; slotAt(slot) <= now; slot++ {
				ew.service(int(slot%int64(n)), now)
			}
		}
		ew.w.mu.Unlock()
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
