package agent

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"iobench/cmd/internal/matrix"
	"iobench/results"
	"iobench/servers"
)

func newTestAgent(t *testing.T, token string) (*Agent, *httptest.Server) {
	a := &Agent{Launcher: matrix.Launcher{Cmd: []string{"/nonexistent/iobench"}}, Token: token, Lease: time.Second}
	ts := httptest.NewServer(a.Handler())
	t.Cleanup(ts.Close)
	return a, ts
}

func addr(ts *httptest.Server) string { return strings.TrimPrefix(ts.URL, "http://") }

// TestAgentRefusals: a bad token gets 401 and ErrBadToken; malformed,
// oversized and impossible requests get a 4xx with a clear message, and
// the agent keeps serving; a second runner is told the agent is busy.
func TestAgentRefusals(t *testing.T) {
	_, ts := newTestAgent(t, "right")
	ctx := context.Background()
	if _, err := Dial(ctx, ClientConfig{Addr: addr(ts), Token: "wrong"}); !errors.Is(err, ErrBadToken) {
		t.Errorf("wrong token: %v; want ErrBadToken", err)
	}
	if _, err := Dial(ctx, ClientConfig{Addr: addr(ts)}); !errors.Is(err, ErrBadToken) {
		t.Errorf("no token: %v; want ErrBadToken", err)
	}
	c, err := Dial(ctx, ClientConfig{Addr: addr(ts), Token: "right"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := Dial(ctx, ClientConfig{Addr: addr(ts), Token: "right"}); !errors.Is(err, ErrBusy) {
		t.Errorf("second runner: %v; want ErrBusy", err)
	}
	for _, tc := range []struct {
		spec matrix.Spec
		want string
	}{
		{matrix.Spec{Variant: servers.Spec{Model: "nosuch"}, Work: "none"}, "unknown model"},
		{matrix.Spec{Variant: servers.Spec{Model: "gonet"}, Work: "fast"}, "bad work"},
		{matrix.Spec{Variant: servers.Spec{Model: "gonet"}, Work: "none", CPUs: []int{4000}}, "CPU 4000"},
		{matrix.Spec{Variant: servers.Spec{Model: "gonet"}, Work: "none", CPUs: []int{-64}}, "CPU -64 does not exist"},
		{matrix.Spec{Variant: servers.Spec{Model: "gonet"}, Work: "none", CPUs: []int{-1}}, "CPU -1 does not exist"},
	} {
		if _, err := c.Start(ctx, tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("start %+v: %v; want %q", tc.spec, err, tc.want)
		}
	}
	// Malformed and oversized bodies.
	for _, body := range []string{"{not json", `{"model":"gonet","bogus":1}`, `{"model":"` + strings.Repeat("x", MaxBody) + `"}`} {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+pathServers, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer right")
		req.Header.Set(sessionHeader, c.id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("body %.30q: status %d; want 4xx", body, resp.StatusCode)
		}
	}
	// Still serving.
	var h Hello
	if err := c.call(ctx, http.MethodGet, pathHello, nil, &h); err != nil || len(h.Models) == 0 {
		t.Errorf("hello after the refusals: %v, %+v", err, h)
	}
}

// TestLeaseExpires: a runner that vanishes (no more renewals) loses its
// session to Expire when the lease runs out, and Expire stops the
// session's servers — with nobody else asking the agent anything.
func TestLeaseExpires(t *testing.T) {
	a, ts := newTestAgent(t, "")
	c, err := Dial(context.Background(), ClientConfig{Addr: addr(ts)})
	if err != nil {
		t.Fatal(err)
	}
	close(c.stopRenew) // the runner vanishes
	c.renewed.Wait()
	f := &fakeServer{}
	a.mu.Lock()
	a.servers["1"] = f
	a.mu.Unlock()
	go a.Expire(t.Context())
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		a.mu.Lock()
		ended, stops := a.session == "", f.stops
		a.mu.Unlock()
		if ended {
			if stops != 1 {
				t.Errorf("the session expired and its server was stopped %d times, want once", stops)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the session outlived its 1 s lease by 10 s")
		}
	}
}

// TestTLSPin: over TLS the runner trusts the agent whose certificate has
// the pinned SHA-256, and no other.
func TestTLSPin(t *testing.T) {
	a := &Agent{Launcher: matrix.Launcher{Cmd: []string{"/nonexistent"}}, Token: "t"}
	ts := httptest.NewTLSServer(a.Handler())
	defer ts.Close()
	sum := sha256.Sum256(ts.Certificate().Raw)
	ctx := context.Background()
	c, err := Dial(ctx, ClientConfig{Addr: strings.TrimPrefix(ts.URL, "https://"), Token: "t", Pin: hex.EncodeToString(sum[:])})
	if err != nil {
		t.Fatalf("pinned: %v", err)
	}
	c.Close()
	sum[0] ^= 1
	if _, err := Dial(ctx, ClientConfig{Addr: strings.TrimPrefix(ts.URL, "https://"), Token: "t", Pin: hex.EncodeToString(sum[:])}); err == nil {
		t.Error("a wrong pin was accepted")
	}
}

// TestAuthScheme: the token counts only after "Bearer " (the scheme
// case-insensitive, RFC 6750); a bare token is refused.
func TestAuthScheme(t *testing.T) {
	_, ts := newTestAgent(t, "right-token-0123456789")
	for _, tc := range []struct {
		header string
		want   int
	}{
		{"Bearer right-token-0123456789", http.StatusOK},
		{"bearer right-token-0123456789", http.StatusOK},
		{"right-token-0123456789", http.StatusUnauthorized},
		{"Basic right-token-0123456789", http.StatusUnauthorized},
		{"Bearer wrong", http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+pathHello, nil)
		req.Header.Set("Authorization", tc.header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("Authorization: %q: status %d, want %d", tc.header, resp.StatusCode, tc.want)
		}
	}
}

// fakeServer is a server that counts its stops.
type fakeServer struct{ stops int }

func (f *fakeServer) Addr() string                     { return "127.0.0.1:1" }
func (f *fakeServer) Mark(context.Context, bool) error { return nil }
func (f *fakeServer) Stop(context.Context, uint64) matrix.Stopped {
	f.stops++
	return matrix.Stopped{Clean: true}
}

// TestStopOnce: a second stop of a server, or one after its session
// ended, is a 404, never a second stop (it was a panic: close of a closed
// channel).
func TestStopOnce(t *testing.T) {
	a, ts := newTestAgent(t, "")
	ctx := context.Background()
	c, err := Dial(ctx, ClientConfig{Addr: addr(ts)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f := &fakeServer{}
	a.mu.Lock()
	a.servers["1"] = f
	a.mu.Unlock()
	for i, want := range []int{http.StatusOK, http.StatusNotFound} {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+pathServers+"/1/stop", strings.NewReader(`{"replies":0}`))
		req.Header.Set(sessionHeader, c.id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("stop %d: status %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	if f.stops != 1 {
		t.Errorf("stopped %d times, want once", f.stops)
	}
}

// TestGuardListener: past its limit a new connection evicts the oldest
// that has not presented the token, never a trusted one; when every
// connection held is trusted, the new one is closed.
func TestGuardListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := GuardListener(inner, 2).(*guardListener)
	defer ln.Close()
	accepted := make(chan *guardConn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c.(*guardConn)
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	closed := func(c net.Conn) bool {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err := c.Read(make([]byte, 1))
		return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
	}
	first, second := dial(), dial()
	g1, g2 := <-accepted, <-accepted
	g1.trusted.Store(true) // the runner
	third := dial()
	g3 := <-accepted
	if !closed(second) {
		t.Error("the oldest untrusted connection was not evicted for a new one")
	}
	if n := ln.held(); n != 2 {
		t.Errorf("holds %d connections, want 2", n)
	}
	if g2.trusted.Load() {
		t.Error("an evicted connection is trusted")
	}
	g3.trusted.Store(true)
	fourth := dial()
	if !closed(fourth) {
		t.Error("a new connection was kept past the limit with every held one trusted")
	}
	first.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	third.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	for i, c := range []net.Conn{first, third} {
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("trusted connection %d: %v; want it held open", i+1, err)
		}
	}
}

// TestRefusalLogLimited: a client's refusals reach the log once per
// interval, the next line counting those left out; each client has its
// own interval.
func TestRefusalLogLimited(t *testing.T) {
	var l refusalLog
	t0 := time.Now()
	if ok, _ := l.admit("192.0.2.1", t0); !ok {
		t.Fatal("the first refusal was not logged")
	}
	for i := range 1000 {
		if ok, _ := l.admit("192.0.2.1", t0.Add(time.Duration(i)*time.Millisecond)); ok {
			t.Fatalf("refusal %d within the interval was logged", i+2)
		}
	}
	if ok, _ := l.admit("192.0.2.2", t0.Add(time.Second)); !ok {
		t.Error("another client's first refusal was not logged")
	}
	if ok, left := l.admit("192.0.2.1", t0.Add(RefusalLogEvery)); !ok || left != 1000 {
		t.Errorf("after the interval: logged %v, left out %d; want true, 1000", ok, left)
	}
	for i := range maxRefusalClients * 2 {
		l.admit(fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255), t0.Add(2*RefusalLogEvery))
	}
	if n := len(l.clients); n > maxRefusalClients+1 {
		t.Errorf("remembers %d clients, want at most %d", n, maxRefusalClients+1)
	}

	// End to end: 50 wrong tokens from one client are one log line.
	a, ts := newTestAgent(t, "right")
	a.FailDelay = -1
	var mu sync.Mutex
	var logged []string
	a.Logf = func(format string, args ...any) {
		mu.Lock()
		logged = append(logged, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	for range 50 {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+pathHello, nil)
		req.Header.Set("Authorization", "Bearer wrong")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logged) != 1 || !strings.Contains(logged[0], "401") {
		t.Errorf("50 refusals logged as %q; want one line", logged)
	}
}

// slowHost starts fake servers slowly and counts the starts.
type slowHost struct{ starts atomic.Int32 }

func (h *slowHost) Start(context.Context, matrix.Spec) (matrix.Server, error) {
	h.starts.Add(1)
	time.Sleep(100 * time.Millisecond)
	return &fakeServer{}, nil
}

// TestStartsRacingLimit: starts racing past the session's limit are
// refused with 429 before anything is spawned.
func TestStartsRacingLimit(t *testing.T) {
	a, ts := newTestAgent(t, "")
	h := &slowHost{}
	a.Launcher = h
	c, err := Dial(context.Background(), ClientConfig{Addr: addr(ts)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	codes := make(chan int, 20)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, ts.URL+pathServers, strings.NewReader(`{"model":"gonet","work":"none"}`))
			req.Header.Set(sessionHeader, c.id)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for code := range codes {
		count[code]++
	}
	if count[http.StatusOK] != MaxServers || count[http.StatusTooManyRequests] != 20-MaxServers {
		t.Errorf("statuses %v; want %d × 200 and %d × 429", count, MaxServers, 20-MaxServers)
	}
	if n := h.starts.Load(); n != MaxServers {
		t.Errorf("spawned %d servers, want %d", n, MaxServers)
	}
}

// FuzzAgentRequest: any method, path, header and body sent to the agent
// gets an answer (never a panic, never a 5xx for the caller's mistake),
// and the agent still answers hello afterwards.
func FuzzAgentRequest(f *testing.F) {
	f.Add("POST", "/v1/servers", "Bearer right-token-0123456789", `{"model":"gonet","work":"none","cpus":[-64]}`)
	f.Add("POST", "/v1/servers/1/stop", "bearer right-token-0123456789", `{"replies":1}`)
	f.Add("DELETE", "/v1/session", "right-token-0123456789", ``)
	f.Add("POST", "/v1/session", "Bearer right-token-0123456789", `{}`)
	a := &Agent{Launcher: matrix.Launcher{Cmd: []string{"/nonexistent/iobench"}}, Token: "right-token-0123456789", Lease: time.Second, FailDelay: -1}
	h := a.Handler()
	f.Fuzz(func(t *testing.T, method, path, auth, body string) {
		req, err := http.NewRequest(method, "http://agent"+path, strings.NewReader(body))
		if err != nil || !strings.HasPrefix(path, "/") {
			return // not a request net/http would pass on
		}
		req.RemoteAddr = "192.0.2.1:1234"
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusInternalServerError {
			t.Fatalf("%s %s: status %d", method, path, rec.Code)
		}
		hello := httptest.NewRequest(http.MethodGet, "http://agent"+pathHello, nil)
		hello.Header.Set("Authorization", "Bearer "+a.Token)
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, hello)
		if rec.Code != http.StatusOK {
			t.Fatalf("hello after %s %s: status %d", method, path, rec.Code)
		}
	})
}

// TestRenewFailureSaid: a renewal that failed is said on the next cell
// (its server's stop), once.
func TestRenewFailureSaid(t *testing.T) {
	_, ts := newTestAgent(t, "")
	c, err := Dial(context.Background(), ClientConfig{Addr: addr(ts)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.mu.Lock()
	c.renewErr = errors.New("connection refused")
	c.mu.Unlock()
	s := &remote{c: c, id: "9", addr: "127.0.0.1:1"}
	st := s.Stop(context.Background(), 0)
	if len(st.Warnings) != 1 || st.Warnings[0].Code != results.CodeLease || !strings.Contains(st.Warnings[0].Text, "connection refused") {
		t.Errorf("stop after a failed renewal: warnings %q", st.Warnings)
	}
	if st := s.Stop(context.Background(), 0); len(st.Warnings) != 0 {
		t.Errorf("the failure was said again: %q", st.Warnings)
	}
}

// TestRefusalCloses: a refused request (a wrong token) is answered and
// its connection closed, so that clients without the token can't hold
// the agent's descriptors; its log line quotes the client's path.
func TestRefusalCloses(t *testing.T) {
	a, ts := newTestAgent(t, "right")
	a.FailDelay = time.Millisecond
	var logged []string
	a.Logf = func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }
	c, err := net.Dial("tcp", addr(ts))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET /v1/hello%%0asession%%20forged HTTP/1.1\r\nHost: agent\r\nAuthorization: Bearer wrong\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
		t.Errorf("status %d, close %v; want 401 and the connection closed", resp.StatusCode, resp.Close)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("the connection stayed open after the refusal")
	}
	if len(logged) != 1 || strings.Contains(logged[0], "\n") || !strings.Contains(logged[0], `\nsession forged`) {
		t.Errorf("log %q; want one line with the path quoted", logged)
	}
}

// TestTrailingBytesRefused: a request body is one JSON value; bytes
// after it are refused, not ignored.
func TestTrailingBytesRefused(t *testing.T) {
	for body, ok := range map[string]bool{`{"model":"epoll"}`: true, `{"model":"epoll"} {"model":"poll"}`: false, `{"model":"epoll"}x`: false} {
		rec := httptest.NewRecorder()
		var req StartRequest
		got := (&Agent{}).decode(rec, httptest.NewRequest(http.MethodPost, "http://agent"+pathServers, strings.NewReader(body)), &req)
		if got != ok || !ok && rec.Code != http.StatusBadRequest {
			t.Errorf("decode(%q) = %v, status %d; want %v", body, got, rec.Code, ok)
		}
	}
}
