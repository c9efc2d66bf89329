package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"iobench/cmd/internal/serveproto"
	"iobench/results"
	"iobench/servers"
)

// TestMain lets tests run this test binary as the iobench command.
func TestMain(m *testing.M) {
	if os.Getenv("IOBENCH_TEST_MAIN") == "1" {
		if kind, ok := fakeFor(os.Args[1:]); ok {
			fakeServe(kind, os.Args[2:])
			return
		}
		main()
		return
	}
	os.Exit(m.Run())
}

// fakeFor says whether this `serve` child should be a fake server:
// IOBENCH_TEST_FAKE_SERVER is KIND, or KIND@MODEL for one model only.
func fakeFor(args []string) (kind string, ok bool) {
	fake := os.Getenv("IOBENCH_TEST_FAKE_SERVER")
	if fake == "" || len(args) == 0 || args[0] != "serve" {
		return "", false
	}
	kind, model, one := strings.Cut(fake, "@")
	if one && !slices.Contains(args, model) {
		return "", false
	}
	return kind, true
}

// fakeServe stands in for `iobench serve` as a `run` child, speaking the
// same protocol (serveproto), but broken on purpose: "corrupt" flips a
// byte of every 100th read it echoes; "die:DURATION" echoes faithfully,
// then kills itself with SIGKILL that long after it starts listening.
func fakeServe(kind string, args []string) {
	model := "fake"
	for i, a := range args {
		if a == "--model" && i+1 < len(args) {
			model = args[i+1]
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.Exit(1)
	}
	fmt.Println(serveproto.Line(ln.Addr().String(), servers.Spec{Model: model}))
	if d, ok := strings.CutPrefix(kind, "die:"); ok {
		after, _ := time.ParseDuration(d)
		time.AfterFunc(after, func() {
			self, _ := os.FindProcess(os.Getpid())
			self.Kill() // SIGKILL on unix: no goodbye
		})
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		go fakeEcho(c, kind == "corrupt")
	}
}

// echoServer serves fakeEcho on loopback in this process until the test
// ends, and returns its address.
func echoServer(t *testing.T, corrupt bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go fakeEcho(c, corrupt)
		}
	}()
	return ln.Addr().String()
}

func fakeEcho(c net.Conn, corrupt bool) {
	defer c.Close()
	buf := make([]byte, 64<<10)
	for reads := 1; ; reads++ {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if corrupt && reads%100 == 0 {
			buf[0] ^= 0xff
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

// iobench returns a command running iobench with args in a child process.
func iobench(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], noSLO(args)...)
	cmd.Env = append(os.Environ(), "IOBENCH_TEST_MAIN=1")
	return cmd
}

// noSLO adds --slo none to a run that does not name a target: a bare
// run searches capacity too (a minute or more), which only the tests of
// capacity ask for.
func noSLO(args []string) []string {
	if len(args) > 0 && args[0] == "run" && !slices.Contains(args, "--slo") {
		return append(slices.Clone(args), "--slo", "none")
	}
	return args
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(noSLO(args), &out, &errb)
	return code, out.String(), errb.String()
}

func TestList(t *testing.T) {
	code, out, _ := runCLI("list")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, a := range servers.List() {
		line := ""
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "│ "+a.Name+" ") {
				line = l
			}
		}
		if line == "" {
			t.Errorf("list has no row for %s:\n%s", a.Name, out)
			continue
		}
		if a.Available != strings.Contains(line, " yes ") {
			t.Errorf("row %q: available=%v", line, a.Available)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI("version")
	if code != 0 || !strings.HasPrefix(out, "iobench ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

// TestBadInput: every kind of bad input gets one line and a non-zero exit.
func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"serve", "--model", "nosuch"}, 2, "have: "},
		{[]string{"serve"}, 2, "--model is required"},
		{[]string{"serve", "--model", "epoll", "--work", "cpu:fast"}, 2, "bad work"},
		{[]string{"serve", "--model", "gonet", "--addr", "nowhere"}, 2, "want HOST:PORT"},
		{[]string{"serve", "--model", "gonet", "--edge"}, 2, "gonet has no setting edge"},
		{[]string{"serve", "--model", "epoll", "--loops", "0"}, 2, "--loops"},
		{[]string{"serve", "--bogus"}, 2, "unknown flag"},
		{[]string{"nosuch"}, 2, "unknown command"},
		{[]string{"list", "extra"}, 2, "unknown command"},
		{[]string{"compare", "a"}, 2, "want BASE and NEW"},
		{[]string{"load", "--addr", "127.0.0.1:1", "--conns", "0"}, 2, "--conns 0: want at least 1"},
		{[]string{"load", "--addr", "127.0.0.1:1", "--duration", "0"}, 2, "--duration 0s: want more than 0"},
		{[]string{"load", "--addr", "127.0.0.1:1", "--warmup", "-1s"}, 2, "--warmup"},
		{[]string{"load", "--addr", "127.0.0.1:1", "--conns", "1000000"}, 2, "open-file limit"},
		{[]string{"load", "--addr", "127.0.0.1:1", "--json", "/nonexistent/x.json"}, 2, "can't write /nonexistent/x.json"},
		{[]string{"run", "--duration", "0"}, 2, "--duration 0s: want more than 0"},
		{[]string{"run", "--repeat", "0"}, 2, "--repeat 0"},
		{[]string{"run", "--models", "nosuch"}, 2, "unknown model"},
		{[]string{"compare", "a", "b", "--threshold", "0.05"}, 2, "ambiguous: write 5%"},
		{[]string{"serve", "--model", "blocking", "--max-threads", "-1"}, 2, "--max-threads -1: want at least 1"},
		{[]string{"run", "--models", "select", "--conns", "5000"}, 2, "every cell would be skipped"},
		{[]string{"run", "--slo", "p98=1ms"}, 2, "--slo: bad latency target"},
		{[]string{"run", "--server-cpus", "0,0", "--client-cpus", "1"}, 2, "CPU 0 given twice"},
		{[]string{"report", "../../docs/example-report", "../../docs/example-report/results.json"}, 2, "given twice"},
		{[]string{"run", "--models", "epoll:workers=2"}, 2, `epoll has no setting "workers"`},
		{[]string{"run", "--models", "gonet:loops=2"}, 2, `gonet has no setting "loops"`},
		{[]string{"run", "--models", "epoll:loops=0"}, 2, "loops=0: want loops=N with 1 ≤ N ≤ 1024"},
		{[]string{"serve", "--model", "epoll:loops=2", "--edge"}, 2, "give the settings one way"},
		{[]string{"run", "--slo", "p99=fast"}, 2, "the bound is not a duration"},
		{[]string{"run", "--slo", "p99=1ms", "--searches", "0"}, 2, "--searches 0"},
		{[]string{"run", "--slo", "none", "--at-rate", "1000"}, 2, "--at-rate needs --slo"},
	} {
		code, _, stderr := runCLI(tc.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != tc.code || len(lines) != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("iobench %s: exit %d, stderr %q; want exit %d and one line containing %q",
				strings.Join(tc.args, " "), code, stderr, tc.code, tc.want)
		}
	}
}

// TestServe starts every model as `iobench serve` in a child process,
// checks the listening line and an echo, then stops it with SIGTERM.
func TestServe(t *testing.T) {
	for _, model := range servers.AvailableNames() {
		t.Run(model, func(t *testing.T) {
			cmd := iobench(t, "serve", "--model", model, "--addr", "127.0.0.1:0")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil {
				t.Fatalf("reading the first line: %v (stderr %q)", err, stderr.String())
			}
			addr, name, ok := serveproto.ParseLine(strings.TrimSuffix(line, "\n"))
			if !ok || name != model || !strings.HasPrefix(addr, "127.0.0.1:") {
				t.Fatalf("first line %q; want %q (serve binds 127.0.0.1 by default)", line, serveproto.Line("127.0.0.1:PORT", servers.Spec{Model: model}))
			}
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			c.Write([]byte("ping"))
			got := make([]byte, 4)
			if _, err := io.ReadFull(c, got); err != nil || string(got) != "ping" {
				t.Fatalf("echo: %q, %v", got, err)
			}
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("after SIGTERM: %v (stderr %q)", err, stderr.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("serve did not exit within 10s of SIGTERM")
			}
			if !strings.Contains(stderr.String(), "connections served 1,") {
				t.Errorf("stderr %q does not report the connection", stderr.String())
			}
			c.Close()
		})
	}
}

func TestServePortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, _, stderr := runCLI("serve", "--model", "gonet", "--addr", ln.Addr().String())
	if code == 0 || !strings.Contains(stderr, "already in use") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q; want non-zero and one line saying the address is in use", code, stderr)
	}
}

// startServe runs `iobench serve` in a child process and returns its address.
func startServe(t *testing.T, model string) string {
	t.Helper()
	cmd := iobench(t, "serve", "--model", model, "--addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, _, ok := serveproto.ParseLine(strings.TrimSuffix(line, "\n"))
	if err != nil || !ok {
		t.Fatalf("serve's first line %q, %v", line, err)
	}
	return addr
}

func TestLoad(t *testing.T) {
	addr := startServe(t, "gonet")
	dir := t.TempDir()
	code, out, stderr := runCLI("load", "--addr", addr, "--conns", "4", "--duration", "300ms", "--warmup", "100ms",
		"--json", dir+"/run.json", "--hgrm", dir+"/run.hgrm")
	if code != 0 || !strings.Contains(out, "replies/s") {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	run, err := results.ReadRunFile(dir + "/run.json")
	if err != nil || run.Replies == 0 || run.Interrupted {
		t.Fatalf("run.json: %+v, %v", run, err)
	}
	if b, err := os.ReadFile(dir + "/run.hgrm"); err != nil || !strings.Contains(string(b), "Percentile") {
		t.Errorf("run.hgrm: %v\n%s", err, b)
	}
}

func TestLoadErrors(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"load"}, 2, "--addr is required"},
		{[]string{"load", "--addr", closed, "--duration", "1s"}, 1, "ECONNREFUSED"},
		{[]string{"load", "--addr", closed, "--size", "big"}, 2, "--size \"big\": want BYTES or MIN-MAX"},
		{[]string{"load", "--addr", closed, "--mode", "rate"}, 2, "--rate"},
		{[]string{"load", "--addr", "nohost", "--duration", "1s"}, 2, "--addr"},
		{[]string{"load", "--addr", "127.0.0.1:99999", "--duration", "1s"}, 2, "out of 1 to 65535"},
	} {
		code, _, stderr := runCLI(tc.args...)
		if code != tc.code || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("iobench %s: exit %d, stderr %q; want exit %d and one line containing %q",
				strings.Join(tc.args, " "), code, stderr, tc.code, tc.want)
		}
	}
}

// TestLoadInterrupted: SIGINT mid-run writes the partial run and exits 130.
func TestLoadInterrupted(t *testing.T) {
	addr := startServe(t, "gonet")
	path := t.TempDir() + "/run.json"
	cmd := iobench(t, "load", "--addr", addr, "--conns", "2", "--duration", "30s", "--warmup", "0s", "--json", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(1500*time.Millisecond, func() { cmd.Process.Signal(os.Interrupt) })
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit: %v; want 130 (stderr %q)", err, stderr.String())
	}
	run, err := results.ReadRunFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !run.Interrupted || run.Replies == 0 || run.MeasuredNS > int64(10*time.Second) {
		t.Errorf("partial run: interrupted %v, %d replies over %v", run.Interrupted, run.Replies, time.Duration(run.MeasuredNS))
	}
}

// TestMachineReadable: --version, list --json and report --format json.
func TestMachineReadable(t *testing.T) {
	code, out, _ := runCLI("--version")
	if code != 0 || !strings.HasPrefix(out, "iobench ") {
		t.Errorf("--version: exit %d, %q", code, out)
	}
	code, out, _ = runCLI("list", "--json")
	var models []struct {
		Name      string `json:"name"`
		Available bool   `json:"available"`
		Why       string `json:"why_not"`
	}
	if err := json.Unmarshal([]byte(out), &models); code != 0 || err != nil || len(models) != len(servers.Models()) {
		t.Errorf("list --json: exit %d, %v\n%s", code, err, out)
	}
	for _, m := range models {
		if !m.Available && m.Why == "" {
			t.Errorf("list --json: %s unavailable without a reason", m.Name)
		}
	}
	code, out, stderr := runCLI("report", "../../report/testdata/suite.json", "--format", "json")
	if code != 0 || !json.Valid([]byte(out)) || !strings.Contains(out, `"reading"`) {
		t.Errorf("report --format json: exit %d, %s\n%s", code, stderr, out)
	}
	if code, _, stderr := runCLI("report", "../../report/testdata/suite.json", "--format", "xml"); code != 2 || !strings.Contains(stderr, "json") {
		t.Errorf("report --format xml: exit %d, %s", code, stderr)
	}
}

// startChild starts cmd, stops it when the test ends (an interrupt, then a
// kill after 10 s), and returns its first line on stdout, waiting up to
// wait for it, and its stderr so far.
func startChild(t *testing.T, cmd *exec.Cmd, wait time.Duration) (line string, stderr *lockedBuffer) {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr = &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	lines := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- strings.TrimSpace(l)
		io.Copy(io.Discard, stdout)
	}()
	select {
	case line = <-lines:
		return line, stderr
	case <-time.After(wait):
		t.Fatalf("%s printed no line within %s (stderr %q)", strings.Join(cmd.Args, " "), wait, stderr.String())
		return "", stderr
	}
}

// lockedBuffer is a bytes.Buffer safe to read while a child writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLoadSeries: --interval prints a line per interval, --json-stream an
// object per interval on stdout, and --hlog an interval log that
// hdrhistogram-go's reader reads back with as many replies as the
// intervals counted.
func TestLoadSeries(t *testing.T) {
	addr := echoServer(t, false)
	dir := t.TempDir()
	code, out, stderr := runCLI("load", "--addr", addr, "--conns", "4", "--duration", "500ms", "--warmup", "100ms",
		"--interval", "100ms", "--json-stream", "--hlog", dir+"/run.hlog")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	var replies int64
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		var iv results.Interval
		if err := json.Unmarshal([]byte(l), &iv); err != nil {
			t.Fatalf("stdout line %q: %v", l, err)
		}
		replies += int64(iv.Replies)
	}
	if n := strings.Count(stderr, " replies  p50 "); n != len(lines) || n < 5 {
		t.Errorf("%d live lines for %d intervals (want ≥ 5):\n%s", n, len(lines), stderr)
	}
	f, err := os.Open(dir + "/run.hlog")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := hdrhistogram.NewHistogramLogReader(f)
	var logged int64
	var n int
	for {
		h, err := r.NextIntervalHistogram()
		if err != nil {
			t.Fatalf("reading the hlog: %v", err)
		}
		if h == nil {
			break
		}
		n++
		logged += h.TotalCount()
	}
	if n != len(lines) || logged != replies || replies == 0 {
		t.Errorf("hlog: %d intervals, %d values; the stream had %d intervals, %d replies", n, logged, len(lines), replies)
	}
}

// TestLoadHangingServer: a server that answers, then stops answering with
// its connections open, is a failure of load (exit 1) naming the stalled
// connections and how long they waited.
func TestLoadHangingServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	hangAt := time.Now().Add(400 * time.Millisecond)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 64<<10)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if time.Now().After(hangAt) {
						time.Sleep(time.Hour) // keeps the connection open, silent
					}
					c.Write(buf[:n])
				}
			}()
		}
	}()
	code, out, stderr := runCLI("load", "--addr", ln.Addr().String(), "--conns", "4", "--duration", "1500ms", "--warmup", "0s", "--stall-after", "500ms")
	if code != 1 || !strings.Contains(stderr, "stalled: 4 of 4 busy connections waited longer than 500ms") {
		t.Fatalf("exit %d, want 1 with the stalled connections named\n%s\n%s", code, out, stderr)
	}
}
