// Package servertest is the conformance suite every iobench echo server
// must pass, in the manner of golang.org/x/net/nettest's TestConn: the
// caller supplies a factory, the suite starts fresh servers and checks
// byte-exact echo under sizes, concurrency, streaming, backpressure,
// half-close, resets, churn and shutdown.
package servertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"iobench/servers"
)

// Factory binds a server for cfg; cfg.Addr is always Loopback().
type Factory func(cfg servers.Config) (servers.Server, error)

// Options adapts the suite to its platform.
type Options struct {
	// Light shrinks counts and sizes (not the cases) for slow platforms
	// such as Wine, where a loopback round trip costs ~45× native.
	Light bool
}

// Run runs every conformance case as a subtest of t.
func Run(t *testing.T, f Factory, opt Options) {
	scale := func(full, light int) int {
		if opt.Light {
			return light
		}
		return full
	}
	t.Run("sizes", func(t *testing.T) { testSizes(t, f) })
	t.Run("concurrent", func(t *testing.T) { testConcurrent(t, f, scale(500, 100)) })
	t.Run("stream", func(t *testing.T) { testStream(t, f, scale(8<<20, 2<<20)) })
	t.Run("backpressure", func(t *testing.T) { testBackpressure(t, f) })
	t.Run("half-close", func(t *testing.T) { testHalfClose(t, f) })
	t.Run("resets", func(t *testing.T) { testResets(t, f, 50) })
	t.Run("cycles", func(t *testing.T) { testCycles(t, f, scale(2000, 200)) })
	t.Run("close", func(t *testing.T) { testClose(t, f) })
}

// Start binds a server with cfg (Addr forced to Loopback()), serves it in
// the background and closes it when t ends, failing t if Serve failed or
// did not return.
func Start(t testing.TB, f Factory, cfg servers.Config) servers.Server {
	t.Helper()
	cfg.Addr = Loopback()
	srv, err := f(cfg)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background()) }()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not return 10s after Close")
		}
	})
	return srv
}

// Loopback is the address a test server binds: port 0 on a loopback
// address of its own where the whole of 127.0.0.0/8 is local (Linux,
// Windows, Wine), 127.0.0.1 elsewhere. A shared machine's other programs
// dial 127.0.0.1 ports, including, by chance, one a test server holds:
// with a loopback neighbour dialing every ephemeral port of 127.0.0.1,
// 5 of 10 runs of the 2,000-connection cycles test under Wine counted 3
// to 8 connections too many ("server accepted 2006 connections, want
// 2000", the failure first seen in the 30-run Wine loop, while other
// tests ran beside it); on addresses of their own, none.
func Loopback() string {
	if runtime.GOOS != "linux" && runtime.GOOS != "windows" {
		return "127.0.0.1:0"
	}
	return fmt.Sprintf("127.%d.%d.%d:0", 1+rand.IntN(254), rand.IntN(256), 1+rand.IntN(254))
}

// Dial connects to addr with a generous deadline, so that a server that
// hangs fails the test instead of hanging it.
func Dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	t.Cleanup(func() { c.Close() })
	return c
}

// Payload returns n deterministic bytes that differ with seed, so that a
// reply from the wrong connection or out of order does not match.
func Payload(n int, seed uint64) []byte {
	p := make([]byte, n)
	x := seed*0x9E3779B97F4A7C15 + 1
	for i := range p {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		p[i] = byte(x)
	}
	return p
}

// Echo sends msg on c while reading the reply concurrently (a large
// message would otherwise fill both directions' buffers) and checks it.
func Echo(c net.Conn, msg []byte) error {
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(msg)
		werr <- err
	}()
	got := make([]byte, len(msg))
	_, rerr := io.ReadFull(c, got)
	if err := <-werr; err != nil {
		return fmt.Errorf("write %d bytes: %w", len(msg), err)
	}
	if rerr != nil {
		return fmt.Errorf("read %d-byte echo: %w", len(msg), rerr)
	}
	return compare(got, msg)
}

func compare(got, want []byte) error {
	if bytes.Equal(got, want) {
		return nil
	}
	if len(got) != len(want) {
		return fmt.Errorf("echo has %d bytes, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			return fmt.Errorf("echo differs at byte %d of %d: got %#x, want %#x", i, len(want), got[i], want[i])
		}
	}
	return nil
}

func testSizes(t *testing.T, f Factory) {
	srv := Start(t, f, servers.Config{})
	c := Dial(t, srv.Addr())
	for i, n := range []int{1, 2, 100, 1460, 4096, 65535, 65536, 65537, 300_000, 1 << 20} {
		if err := Echo(c, Payload(n, uint64(i))); err != nil {
			t.Fatalf("size %d: %v", n, err)
		}
	}
}

func testConcurrent(t *testing.T, f Factory, n int) {
	srv := Start(t, f, servers.Config{})
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = Dial(t, srv.Addr())
	}
	// Every connection is open before any talks, so the server holds n at once.
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 5 {
				if err := Echo(c, Payload(64+(i*37+j*101)%1000, uint64(i*10+j))); err != nil {
					errs <- fmt.Errorf("conn %d message %d: %w", i, j, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := srv.Stats(); st.Active != int64(n) || st.Refused != 0 {
		t.Errorf("server reports %d active, %d refused; want %d active, 0 refused", st.Active, st.Refused, n)
	}
}

func testStream(t *testing.T, f Factory, total int) {
	srv := Start(t, f, servers.Config{})
	c := Dial(t, srv.Addr())
	msg := Payload(total, 7)
	werr := make(chan error, 1)
	go func() {
		// Many writes of odd sizes, so the server sees short reads and,
		// while the reader lags, short writes.
		var err error
		for p := msg; len(p) > 0 && err == nil; {
			n := min(len(p), 100_003)
			_, err = c.Write(p[:n])
			p = p[n:]
		}
		werr <- err
	}()
	got := make([]byte, total)
	buf := got
	for len(buf) > 0 {
		n, err := c.Read(buf[:min(len(buf), 7919)])
		if err != nil {
			t.Fatalf("read after %d of %d bytes: %v", total-len(buf), total, err)
		}
		buf = buf[n:]
	}
	if err := <-werr; err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := compare(got, msg); err != nil {
		t.Fatal(err)
	}
}

// testBackpressure writes 1 MiB before reading anything: the server must
// stop reading while its replies can't be sent, and lose nothing.
func testBackpressure(t *testing.T, f Factory) {
	srv := Start(t, f, servers.Config{})
	c := Dial(t, srv.Addr())
	msg := Payload(1<<20, 11)
	c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(msg); err != nil {
		t.Fatalf("writing 1 MiB before reading: %v (deadlock?)", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading the echo back: %v", err)
	}
	if err := compare(got, msg); err != nil {
		t.Fatal(err)
	}
	// The connection still works both ways afterwards.
	if err := Echo(c, Payload(1000, 12)); err != nil {
		t.Fatal(err)
	}
}

// testHalfClose sends, shuts down its write side and expects every byte
// back followed by EOF: the server flushes what is pending, then closes.
func testHalfClose(t *testing.T, f Factory) {
	srv := Start(t, f, servers.Config{})
	c := Dial(t, srv.Addr())
	msg := Payload(200_000, 13)
	go func() {
		c.Write(msg)
		c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c) // ends at the server's FIN
	if err != nil {
		t.Fatalf("read until EOF: %v", err)
	}
	if err := compare(got, msg); err != nil {
		t.Fatal(err)
	}
}

// testResets has clients reset their connections mid-message while
// another connection keeps echoing; it must not notice.
func testResets(t *testing.T, f Factory, n int) {
	srv := Start(t, f, servers.Config{})
	worker := Dial(t, srv.Addr())
	stop := make(chan struct{})
	var rounds atomic.Int64
	werr := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				werr <- nil
				return
			default:
			}
			if err := Echo(worker, Payload(512, uint64(i))); err != nil {
				werr <- err
				return
			}
			rounds.Add(1)
		}
	}()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", srv.Addr(), 10*time.Second)
			if err != nil {
				t.Errorf("dial: %v", err)
				return
			}
			c.Write(Payload(100_000+i, uint64(i))) // a message it never reads back
			c.(*net.TCPConn).SetLinger(0)          // close sends RST
			c.Close()
		}()
	}
	wg.Wait()
	before := rounds.Load()
	for rounds.Load() < before+10 {
		select {
		case err := <-werr:
			t.Fatalf("the working connection failed during resets: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	close(stop)
	if err := <-werr; err != nil {
		t.Fatalf("the working connection failed: %v", err)
	}
	if err := Echo(Dial(t, srv.Addr()), []byte("still serving")); err != nil {
		t.Fatalf("a new connection after the resets: %v", err)
	}
	waitActive(t, srv, 2) // the worker and the last one
}

func testCycles(t *testing.T, f Factory, n int) {
	srv := Start(t, f, servers.Config{})
	const workers = 4
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				c, err := net.DialTimeout("tcp", srv.Addr(), 10*time.Second)
				if err != nil {
					errs <- fmt.Errorf("cycle %d: dial: %w", i, err)
					return
				}
				c.SetDeadline(time.Now().Add(30 * time.Second))
				err = Echo(c, Payload(64, uint64(i)))
				c.Close()
				if err != nil {
					errs <- fmt.Errorf("cycle %d: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := srv.Stats().Accepted; got != uint64(n) {
		t.Errorf("server accepted %d connections, want %d", got, n)
	}
	waitActive(t, srv, 0)
}

// testClose closes a server with live connections, one of them mid-reply:
// Close must return promptly and leave no descriptor behind.
func testClose(t *testing.T, f Factory) {
	// Let the runtime open its own descriptors (netpoller) before counting.
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
	}
	before, countErr := openFDs()
	srv, err := f(servers.Config{Addr: Loopback()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background()) }()
	var conns []net.Conn
	for range 20 {
		c, err := net.DialTimeout("tcp", srv.Addr(), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if err := Echo(c, []byte("hello")); err != nil {
			t.Fatal(err)
		}
	}
	// A client that writes without reading leaves the server with a
	// pending reply it can't send.
	conns[0].Write(Payload(4<<20, 1))

	closeWithin(t, srv, done)
	// The clients see the server's side closed.
	for i, c := range conns[1:] {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("conn %d: read after server Close: %v, want EOF or reset", i+1, err)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if countErr != nil {
		t.Skipf("skipped: the descriptor-leak check (everything else was checked): %v", countErr)
	}
	noLeak(t, before)
}

// closeWithin closes srv and checks that Close and Serve (whose result
// arrives on done) both return, without error, within 10s.
func closeWithin(t *testing.T, srv servers.Server, done <-chan error) {
	t.Helper()
	closed := make(chan error, 1)
	go func() { closed <- srv.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return within 10s")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return within 10s of Close")
	}
}

// noLeak checks that the process holds no more descriptors than before
// (closed sockets may take a moment to leave the table).
func noLeak(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		after, _ := openFDs()
		if after <= before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d descriptors open after Close, %d before the server existed", after, before)
		}
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
	}
}

// waitActive waits for the server to report want open connections (closes
// are seen by the server a moment after the client makes them).
func waitActive(t *testing.T, srv servers.Server, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for srv.Stats().Active != want {
		if time.Now().After(deadline) {
			t.Fatalf("server reports %d active connections, want %d", srv.Stats().Active, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
