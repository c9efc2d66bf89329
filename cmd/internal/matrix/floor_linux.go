package matrix

import (
	"fmt"
	"runtime"
	"time"
	"unsafe"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sys/unix"

	"iobench/results"
)

// Floor measures what this host does at best, with no model: 64-byte
// round trips over one loopback connection between two threads pinned
// as the run pins its server and generator, each blocking in raw
// read(2)/write(2) (no runtime, no event loop), and the cost of one null
// system call. Each model's latency and CPU read against it.
func Floor(serverCPUs, clientCPUs []int) *results.Floor {
	f := &results.Floor{}
	rt, err := loopbackRoundTrips(first(serverCPUs), first(clientCPUs), 20000, 300*time.Millisecond)
	if err != nil {
		return &results.Floor{Unavailable: err.Error()}
	}
	f.RoundTrip = results.PercentilesOf(rt)
	f.NullCallNS = nullCall(1_000_000)
	return f
}

func first(cpus []int) int {
	if len(cpus) == 0 {
		return -1
	}
	return cpus[0]
}

// nullCall is the mean cost of getppid(2), called raw n times.
func nullCall(n int) float64 {
	start := time.Now()
	for range n {
		unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

// loopbackRoundTrips times up to n round trips (or for d), after a
// thousand unmeasured, between an echo thread on CPU srv and a client
// thread on CPU cli (-1: unpinned). Both block in raw system calls, each
// on a locked thread that holds its own P meanwhile (GOMAXPROCS is
// raised for the measurement), and the threads end with it.
func loopbackRoundTrips(srv, cli, n int, d time.Duration) (h *hdrhistogram.Histogram, err error) {
	c, s, err := loopbackPair()
	if err != nil {
		return nil, err
	}
	defer unix.Close(c)
	defer unix.Close(s)
	for _, fd := range []int{c, s} {
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 2))

	echoed := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer pin(srv)()
		buf := make([]byte, 64)
		for {
			if _, err := rawFull(unix.SYS_READ, s, buf); err != nil {
				echoed <- nil // the client closed its end: done
				return
			}
			if _, err := rawFull(unix.SYS_WRITE, s, buf); err != nil {
				echoed <- err
				return
			}
		}
	}()
	timed := make(chan error, 1)
	h = results.NewHistogram()
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer pin(cli)()
		msg := make([]byte, 64)
		deadline := time.Now().Add(d)
		for i := 0; i < n+1000 && (i < 1000 || time.Now().Before(deadline)); i++ {
			start := time.Now()
			if _, err := rawFull(unix.SYS_WRITE, c, msg); err != nil {
				timed <- err
				return
			}
			if _, err := rawFull(unix.SYS_READ, c, msg); err != nil {
				timed <- err
				return
			}
			if i >= 1000 {
				results.Record(h, int64(time.Since(start)))
			}
		}
		unix.Shutdown(c, unix.SHUT_WR)
		timed <- nil
	}()
	if err := <-timed; err != nil {
		unix.Shutdown(s, unix.SHUT_RDWR)
		<-echoed
		return nil, err
	}
	return h, <-echoed
}

// loopbackPair is a connected pair of TCP sockets on loopback: the
// client's end and the server's.
func loopbackPair() (c, s int, err error) {
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, -1, fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(ln)
	if err := unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return -1, -1, fmt.Errorf("bind: %w", err)
	}
	if err := unix.Listen(ln, 1); err != nil {
		return -1, -1, fmt.Errorf("listen: %w", err)
	}
	sa, err := unix.Getsockname(ln)
	if err != nil {
		return -1, -1, fmt.Errorf("getsockname: %w", err)
	}
	c, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, -1, fmt.Errorf("socket: %w", err)
	}
	if err := unix.Connect(c, sa); err != nil {
		unix.Close(c)
		return -1, -1, fmt.Errorf("connect: %w", err)
	}
	s, _, err = unix.Accept4(ln, unix.SOCK_CLOEXEC)
	if err != nil {
		unix.Close(c)
		return -1, -1, fmt.Errorf("accept: %w", err)
	}
	return c, s, nil
}

// pin puts the calling thread on cpu (-1: leaves it); the returned func
// gives it its CPUs back, so the thread returns to the runtime as it
// came (ending it would SIGKILL a server child it had forked: Pdeathsig
// follows the thread).
func pin(cpu int) (restore func()) {
	var was unix.CPUSet
	if cpu < 0 || unix.SchedGetaffinity(0, &was) != nil {
		return func() {}
	}
	var set unix.CPUSet
	set.Set(cpu)
	_ = unix.SchedSetaffinity(0, &set)
	return func() { _ = unix.SchedSetaffinity(0, &was) }
}

// rawFull reads or writes all of buf with raw system calls (no runtime
// hand-off), retrying EINTR.
func rawFull(call uintptr, fd int, buf []byte) (int, error) {
	done := 0
	for done < len(buf) {
		r, _, e := unix.RawSyscall(call, uintptr(fd), uintptr(unsafe.Pointer(&buf[done])), uintptr(len(buf)-done))
		switch {
		case e == unix.EINTR:
			continue
		case e != 0:
			return done, e
		case r == 0:
			return done, fmt.Errorf("closed")
		}
		done += int(r)
	}
	return done, nil
}
