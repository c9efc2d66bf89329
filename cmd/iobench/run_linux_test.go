package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"iobench/cmd/internal/matrix"
	"iobench/cmd/internal/serveproto"
	"iobench/report"
	"iobench/results"
	"iobench/servers"
)

// gone reports whether process pid no longer exists.
func gone(pid int) bool {
	return syscall.Kill(pid, 0) == syscall.ESRCH
}

// TestRunMatrix: a short real matrix end to end, and every server child
// gone afterwards.
func TestRunMatrix(t *testing.T) {
	out := t.TempDir()
	cmd := iobench(t, "run", "--models", "epoll,gonet", "--conns", "1,4", "--duration", "200ms", "--warmup", "50ms", "--repeat", "1", "--out", out, "--quiet")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run: %v\n%s", err, b)
	}
	s, err := results.ReadSuite(out)
	if err != nil {
		t.Fatal(err)
	}
	counted := slices.DeleteFunc(slices.Clone(s.Cells), func(c results.Cell) bool { return !c.Counted() })
	if len(counted) != 4 || s.Interrupted {
		t.Fatalf("%d cells counted, interrupted %v; want 4 complete cells", len(counted), s.Interrupted)
	}
	for _, c := range counted {
		if c.Run == nil || c.Run.Replies == 0 || c.Server == nil || !c.Server.ExitedCleanly || noCPU(c) {
			t.Errorf("cell %s@%d: %+v / %+v", c.Model, c.Conns, c.Run, c.Server)
			continue
		}
		// Kernel counts: there, or absent with the reason, never 0.
		t.Run(fmt.Sprintf("kernel counts %s@%d", c.Model, c.Conns), func(t *testing.T) {
			switch u := c.Server; {
			case u.SyscallsPerReply != nil && u.CountsUnavailable == "":
				if *u.SyscallsPerReply <= 0 || u.CtxSwitchesPerReply == nil {
					t.Errorf("%v syscalls per reply, ctx %v", *u.SyscallsPerReply, u.CtxSwitchesPerReply)
				}
			case u.SyscallsPerReply == nil && u.CountsUnavailable != "":
				t.Skipf("skipped: kernel counts unavailable here: %s", u.CountsUnavailable)
			default:
				t.Errorf("syscalls %v with reason %q; want one or the other", u.SyscallsPerReply, u.CountsUnavailable)
			}
		})
		if !gone(c.Server.PID) {
			t.Errorf("server %d (%s) still exists after the run", c.Server.PID, c.Model)
		}
	}
	for _, f := range []string{"report.md", "summary.csv", "throughput.svg"} {
		if _, err := os.Stat(out + "/" + f); err != nil {
			t.Error(err)
		}
	}
	// One repetition: tables, but no ranking (or, on a machine busy
	// throughout, no verdict at all).
	noRank := func(s string) bool {
		return strings.Contains(s, "Not a ranking") || strings.Contains(s, "The machine was busy")
	}
	if !strings.Contains(string(b), "replies/s") || !noRank(string(b)) {
		t.Errorf("no tables on stdout:\n%s", b)
	}
	// iobench report rebuilds the same tables from the saved suite.
	code, table, stderr := runCLI("report", out)
	if code != 0 || !noRank(table) {
		t.Errorf("report: exit %d\n%s\n%s", code, table, stderr)
	}
}

// TestRunInterrupted: SIGINT mid-cell stops the server child, writes the
// cells so far and exits 130.
func TestRunInterrupted(t *testing.T) {
	out := t.TempDir()
	cmd := iobench(t, "run", "--models", "epoll", "--conns", "2", "--duration", "30s", "--warmup", "0s", "--out", out, "--quiet")
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child := 0
	for deadline := time.Now().Add(10 * time.Second); child == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		child = childOf(cmd.Process.Pid)
	}
	if child == 0 {
		cmd.Process.Kill()
		t.Fatal("no server child appeared")
	}
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130\n%s", err, output.String())
	}
	if !gone(child) {
		t.Errorf("server child %d still exists after the interrupted run", child)
	}
	s, err := results.ReadSuite(out)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Interrupted || len(s.Cells) != 1 || s.Cells[0].Run == nil || !s.Cells[0].Run.Interrupted || s.Cells[0].Run.Replies == 0 {
		t.Errorf("suite after interrupt: interrupted %v, %d cells; want the partial cell, marked", s.Interrupted, len(s.Cells))
	}
}

// childOf returns a child process of pid, or 0.
func childOf(pid int) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			n, _ := strconv.Atoi(e.Name())
			return n
		}
	}
	return 0
}

// TestCompareRealSlowdown: a server made slower (20µs of CPU per read, the
// way a code change would) is flagged against real runs of the plain one,
// and a suite compared with itself is not.
func TestCompareRealSlowdown(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []struct{ out, work string }{{"base", "none"}, {"slow", "cpu:20us"}} {
		cmd := iobench(t, "run", "--models", "epoll", "--conns", "10", "--duration", "150ms", "--warmup", "50ms",
			"--repeat", "6", "--work", v.work, "--out", dir+"/"+v.out, "--quiet")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("run %s: %v\n%s", v.out, err, b)
		}
	}
	// Make the slow suite look like the same scenario, as a slower build of
	// the same server would.
	slow, err := results.ReadSuite(dir + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	for i := range slow.Cells {
		slow.Cells[i].Work = "none"
	}
	if err := slow.WriteFile(dir + "/slow/results.json"); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI("compare", dir+"/base", dir+"/slow", "--metric", "throughput,cpu")
	if code != 1 || !strings.Contains(out, "worse") || !strings.Contains(stderr, "regression") {
		t.Errorf("slower server: exit %d\n%s\n%s", code, out, stderr)
	}
	code, _, stderr = runCLI("compare", dir+"/base", dir+"/base")
	if code != 0 {
		t.Errorf("a suite against itself: exit %d, %s", code, stderr)
	}
}

func TestCompareBadInput(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/junk.json", []byte("{not json"), 0o644)
	os.WriteFile(dir+"/run.json", []byte(`{"schema":1}`), 0o644)
	for _, args := range [][]string{
		{"compare", dir + "/missing", dir + "/missing"},
		{"compare", dir + "/junk.json", dir + "/junk.json"},
		{"compare", dir + "/run.json", dir + "/run.json"},
		{"compare", dir + "/junk.json"},
		{"compare", dir, dir, "--threshold", "lots"},
	} {
		code, _, stderr := runCLI(args...)
		if code != 2 || strings.Count(stderr, "\n") != 1 {
			t.Errorf("iobench %s: exit %d, stderr %q; want 2 and one line", strings.Join(args, " "), code, stderr)
		}
	}
}

// TestWineIOCP: the Windows build of iobench serves the iocp model under
// Wine and answers a Linux client on 127.0.0.1. Correctness only: Wine's
// loopback costs ~45× native.
func TestWineIOCP(t *testing.T) {
	wineExec, exe := wineIobench(t)
	line, stderr := startChild(t, exec.Command(wineExec, exe, "serve", "--model", "iocp", "--addr", "127.0.0.1:0"), 60*time.Second)
	addr, model, ok := serveproto.ParseLine(line)
	if !ok || model != "iocp" {
		t.Fatalf("first line %q (stderr %q)", line, stderr.String())
	}
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	msg := bytes.Repeat([]byte("iocp under wine "), 4096) // 64 KiB: several completions
	go c.Write(msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo from the iocp server under Wine: %v", err)
	}
}

var (
	wineBuild    sync.Once
	wineExe      string
	wineBuildErr error
	wineBuildDir string
)

// wineIobench returns the Wine wrapper and a Windows build of iobench,
// built once; it skips, saying why, where Wine is not ready.
func wineIobench(t *testing.T) (wineExec, exe string) {
	t.Helper()
	wineExec, err := filepath.Abs("../../.ci/wine/exec.sh")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(wineExec, "--which").Output(); err != nil || len(out) == 0 {
		t.Skip("skipped: Wine is not installed (.ci/wine/setup.sh installs it; make test runs it on CI)")
	}
	prefix := os.Getenv("WINEPREFIX")
	if prefix == "" {
		home, _ := os.UserHomeDir()
		prefix = filepath.Join(home, ".wine-iobench")
	}
	if _, err := os.Stat(filepath.Join(prefix, "drive_c/windows/system32/bcryptprimitives.dll")); err != nil {
		t.Skipf("skipped: the Wine prefix %s is not prepared (no ProcessPrng shim: %v); bash .ci/wine/setup.sh prepares it", prefix, err)
	}
	wineBuild.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		if wineBuildDir, wineBuildErr = os.MkdirTemp("", "iobench-wine"); wineBuildErr != nil {
			return
		}
		wineExe = filepath.Join(wineBuildDir, "iobench.exe")
		build := exec.Command(goTool, "build", "-o", wineExe, ".")
		build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64")
		if b, err := build.CombinedOutput(); err != nil {
			wineBuildErr = fmt.Errorf("building iobench.exe: %v\n%s", err, b)
		}
	})
	if wineBuildErr != nil {
		t.Fatal(wineBuildErr)
	}
	return wineExec, wineExe
}

// TestWineRun: iobench.exe run under Wine drives the completion models
// of the textbook and measures their server CPU, memory and threads, and
// stops each server cleanly (by closing its stdin: Windows has no
// SIGTERM). Correctness only.
func TestWineRun(t *testing.T) {
	wineExec, exe := wineIobench(t)
	out := t.TempDir()
	cmd := exec.Command(wineExec, exe, "run", "--slo", "none", "--models", "iocp,overlapped", "--conns", "2", "--repeat", "1",
		"--duration", "500ms", "--warmup", "200ms", "--out", `Z:`+out, "--force", "--quiet")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("iobench.exe run under Wine: %v\n%s", err, b)
	}
	s, err := results.ReadSuite(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Cells) != 2 || s.Environment.Emulated == "" {
		t.Fatalf("%d cells, emulated %q\n%s", len(s.Cells), s.Environment.Emulated, b)
	}
	for _, c := range s.Cells {
		u := c.Server
		if !c.Measured() || u == nil || !u.ExitedCleanly || u.UserNS+u.SysNS == 0 || u.PeakThreads == 0 || u.MaxRSSBytes == 0 || u.CPUPerReplyNS <= 0 {
			t.Errorf("cell %s: error %q, server %+v", c.Model, c.Error, u)
		}
	}
}

// TestWineAgent: iobench.exe agent under Wine, driven by this (Linux)
// iobench run --agent over loopback. Correctness only.
func TestWineAgent(t *testing.T) {
	wineExec, exe := wineIobench(t)
	line, stderr := startChild(t, exec.Command(wineExec, exe, "agent", "--listen", "127.0.0.1:0"), 60*time.Second)
	addr, ok := strings.CutPrefix(line, "agent listening on ")
	if !ok {
		t.Fatalf("agent's first line %q (stderr %q)", line, stderr.String())
	}
	out := t.TempDir()
	code, stdoutRun, stderrRun := runCLI("run", "--agent", addr, "--models", "iocp,overlapped", "--conns", "2", "--repeat", "1",
		"--duration", "500ms", "--warmup", "200ms", "--out", out, "--force", "--quiet")
	if code != 0 {
		t.Fatalf("run --agent (Wine): exit %d\n%s\n%s\nagent: %s", code, stdoutRun, stderrRun, stderr.String())
	}
	s, err := results.ReadSuite(out)
	if err != nil {
		t.Fatal(err)
	}
	if s.ServerEnvironment == nil || s.ServerEnvironment.OS != "windows" || s.ServerEnvironment.Emulated == "" {
		t.Errorf("server environment %+v; want the Windows host under Wine", s.ServerEnvironment)
	}
	for _, c := range s.Cells {
		if !c.Counted() {
			continue // Wine on this machine may disturb a repetition: measured again
		}
		if !c.Measured() || c.Server == nil || !c.Server.ExitedCleanly || c.Server.PeakThreads == 0 {
			t.Errorf("cell %s: error %q, server %+v", c.Model, c.Error, c.Server)
		}
	}
}

// noCPU reports a cell whose server CPU reads 0 although it did enough
// work to show: /proc counts CPU in 10 ms ticks, so a starved server on a
// loaded machine (a few hundred replies) may honestly read 0.
func noCPU(c results.Cell) bool {
	return c.Server.UserNS+c.Server.SysNS == 0 && c.Run.Replies > 5000
}

// disturb hogs CPU 0 and then CPU 1 — the server's and the generator's
// by default — for 200 ms of every second until the test ends, as a
// neighbour on a shared machine does.
func disturb(t *testing.T) {
	t.Helper()
	hog := exec.Command("sh", "-c", "while :; do :; done")
	if err := hog.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for cpu := 0; ; cpu = 1 - cpu {
			_ = exec.Command("taskset", "-p", "-c", strconv.Itoa(cpu), strconv.Itoa(hog.Process.Pid)).Run()
			hog.Process.Signal(syscall.SIGCONT)
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
			}
			hog.Process.Signal(syscall.SIGSTOP)
			select {
			case <-done:
				return
			case <-time.After(800 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() {
		close(done)
		<-stopped
		hog.Process.Kill()
		hog.Wait()
	})
}

// TestRunDisturbed: under a neighbour hogging the measured CPUs, runs
// re-measure the repetitions it disturbed and say so, fail or call unfair
// no model a quiet run does not, and two runs never order the same pair
// of models in opposite directions.
func TestRunDisturbed(t *testing.T) {
	if _, err := exec.LookPath("taskset"); err != nil {
		t.Skip("skipped: taskset (util-linux) is not installed")
	}
	if runtime.NumCPU() < 2 {
		t.Skip("skipped: one CPU: server and generator are not pinned apart")
	}
	disturb(t)
	var suites []*results.Suite
	reruns := 0
	for i := range 2 {
		out := t.TempDir()
		cmd := iobench(t, "run", "--models", "epoll,nonblocking", "--conns", "10", "--duration", "200ms", "--warmup", "100ms",
			"--repeat", "5", "--out", out, "--quiet")
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("run %d under a neighbour: %v (want exit 0: no failure is the model's)\n%s", i, err, b)
		}
		s, err := results.ReadSuite(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range s.Cells {
			if c.Superseded {
				reruns++
				if c.Disturbed == "" {
					t.Errorf("a re-run cell without its reason: %+v", c)
				}
			}
		}
		md, _ := os.ReadFile(filepath.Join(out, "report.md"))
		for _, tb := range report.Tables(s) {
			for _, r := range tb.Rows {
				if r.Reps > 0 && !r.Fair() && !r.Busy() {
					t.Errorf("run %d: %s unfair (median Jain %.2f) under a neighbour:\n%s", i, r.Model, r.Jain, md)
				}
			}
		}
		suites = append(suites, s)
	}
	if reruns == 0 {
		t.Errorf("no repetition was re-run: the neighbour went unnoticed")
	}
	for _, a := range report.ToldApart(suites[0]) {
		for _, b := range report.ToldApart(suites[1]) {
			if a.Scenario == b.Scenario && a.Higher == b.Lower && a.Lower == b.Higher {
				t.Errorf("run 1 put %s above %s, run 2 the other way round", a.Higher, a.Lower)
			}
		}
	}
}

// TestExplain: explain runs, prints each step of the loop with its
// measured figure, the "told" column, context switches and the line on
// what changed, as text and as markdown.
func TestExplain(t *testing.T) {
	for _, format := range []string{"text", "md"} {
		b, err := iobench(t, "explain", "epoll", "--conns", "10", "--duration", "300ms", "--format", format).CombinedOutput()
		out := string(b)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if strings.Contains(out, "counting by name unavailable") {
			t.Skipf("skipped: %s", out)
		}
		for _, want := range []string{"epoll_pwait", "read", "write", "≈1", "context switches", "from 1 to 10 connections: "} {
			if !strings.Contains(out, want) {
				t.Errorf("--format %s: no %q in\n%s", format, want, out)
			}
		}
		if format == "md" && !strings.Contains(out, "| step (system call) | told (100 conns) | 1 conn | 10 conns |") {
			t.Errorf("--format md: no table head in\n%s", out)
		}
	}
	if code, _, stderr := runCLI("explain", "epoll", "--format", "html"); code != 2 || !strings.Contains(stderr, "want text or md") {
		t.Errorf("explain --format html: exit %d, %q", code, stderr)
	}
}

// TestExplainTold holds every Linux model's loop, as servers.Models tells
// it (what explain prints) and docs/models.md names it, to what the
// kernel counts: at servers.ToldAt connections each step's calls per
// reply lie within the step's Min and Max, and the model's section of
// docs/models.md names each step's call.
func TestExplainTold(t *testing.T) {
	docs, err := os.ReadFile("../../docs/models.md")
	if err != nil {
		t.Fatal(err)
	}
	var models []string
	for _, m := range servers.Models() {
		if len(m.Loop) > 0 && slices.Contains(m.OS, "linux") {
			if _, err := servers.Lookup(m.Name); err != nil {
				t.Logf("SKIP %s: %v", m.Name, err)
				continue
			}
			models = append(models, m.Name)
			section := modelSection(string(docs), m.Name)
			if section == "" {
				t.Errorf("docs/models.md has no section \"## %s —\"", m.Name)
			}
			for _, st := range m.Loop {
				if !slices.ContainsFunc(st.Calls, func(c string) bool { return strings.Contains(section, c) }) {
					t.Errorf("docs/models.md's %s section names none of %v (%s)", m.Name, st.Calls, st.Does)
				}
			}
		}
	}
	dir := t.TempDir()
	out, err := iobench(t, "run", "--models", strings.Join(models, ","), "--conns", strconv.Itoa(servers.ToldAt), "--repeat", "1",
		"--duration", "400ms", "--warmup", "200ms", "--out", dir, "--quiet").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	s, err := results.ReadSuite(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range models {
		v, _ := servers.Lookup(name)
		var cell *results.Cell
		for i, c := range s.Cells {
			if c.Model == name && c.Counted() {
				cell = &s.Cells[i]
			}
		}
		switch {
		case cell == nil:
			t.Errorf("%s: no counted cell", name)
			continue
		case cell.Server == nil || cell.Server.SyscallsByName == nil:
			t.Skipf("skipped: %s's calls not counted by name: %+v", name, cell.Server)
		}
		for _, st := range v.Model.Loop {
			var n float64
			for _, call := range st.Calls {
				n += cell.Server.SyscallsByName[call]
			}
			// A window's edges leave up to one request per connection
			// read but not yet answered (or the reverse): 1% either way.
			if n < 0.99*st.Min || (st.Max > 0 && n > 1.01*st.Max) {
				t.Errorf("%s at %d connections: %s %.3f per reply; the docs say %s (%s)", name, servers.ToldAt, strings.Join(st.Calls, "/"), n, st.Told(), st.Does)
			}
		}
	}
}

// modelSection is the part of docs/models.md under "## NAME —", up to
// the next "## ".
func modelSection(doc, name string) string {
	_, rest, ok := strings.Cut(doc, "\n## "+name+" —")
	if !ok {
		return ""
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// TestRunCapacity: a server doing 200µs of CPU per request on its one
// core carries at most 5,000/s, so its knee at a loose target sits at or
// below that (above is impossible), and the suite keeps the knee, every
// step, the common rate and the report's capacity table.
func TestRunCapacity(t *testing.T) {
	out := t.TempDir()
	cmd := iobench(t, "run", "--models", "epoll", "--conns", "10", "--work", "cpu:200us", "--duration", "200ms", "--warmup", "50ms",
		"--repeat", "1", "--slo", "p99=50ms", "--slo-conns", "10", "--searches", "1", "--out", out, "--quiet")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run: %v\n%s", err, b)
	}
	s, err := results.ReadSuite(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Capacity) != 1 || s.Config.SLO == nil || s.Config.SLO.Percentile != "p99" {
		t.Fatalf("capacity %+v, slo %+v; want one search at p99", s.Capacity, s.Config.SLO)
	}
	c := s.Capacity[0]
	if len(c.Knees) != 1 || c.Knee.Median <= 0 || c.Knee.Median > 5000*matrix.Precision || len(c.Steps) < 3 {
		t.Errorf("knee %+v over %d steps (closed loop %.0f); want one knee in (0, 5,000/s]", c.Knee, len(c.Steps), c.ClosedLoop)
	}
	if s.CommonRate <= 0 || s.CommonRate > c.Knee.Median || len(c.Equal) != 1 {
		t.Errorf("common rate %.0f, equal-load steps %d; want half the knee, measured once", s.CommonRate, len(c.Equal))
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil || !strings.Contains(string(md), "Capacity at p99 ≤ 50ms") || !strings.Contains(string(md), "capacity-latency-10.svg") {
		t.Errorf("report.md has no capacity table or chart (%v)", err)
	}
}

// TestRunVariants: variants are matrix members — a row each, keyed by
// their one spelling, each cell's settings recorded typed — and the
// server child really runs the settings (an epoll child with 2 loops
// says so in its listening line, which the runner checks).
func TestRunVariants(t *testing.T) {
	out := t.TempDir()
	models := []string{"epoll", "epoll:edge", "epoll:loops=2", "iouring", "iouring:recv=single"}
	b, err := iobench(t, "run", "--models", strings.Join(models, ","), "--conns", "4", "--repeat", "1",
		"--duration", "150ms", "--warmup", "50ms", "--out", out, "--quiet").CombinedOutput()
	if err != nil {
		t.Fatalf("run: %v\n%s", err, b)
	}
	s, err := results.ReadSuite(out)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]servers.Settings{"epoll": {}, "epoll:edge": {Edge: true}, "epoll:loops=2": {Loops: 2}, "iouring": {}, "iouring:recv=single": {Recv: servers.RecvSingle}}
	got := map[string]bool{}
	for _, c := range s.Cells {
		if c.Skipped != "" {
			t.Logf("%s skipped: %s", c.Model, c.Skipped)
			got[c.Model] = true
			continue
		}
		if c.Superseded {
			continue // the machine disturbed it: measured again
		}
		v := c.Spec()
		if c.Variant == nil || v.Settings != want[c.Model] || !strings.HasPrefix(c.Model, v.Model) {
			t.Errorf("cell %q recorded as %+v; want settings %+v", c.Model, c.Variant, want[c.Model])
		}
		if !c.Measured() || c.Run.Replies == 0 {
			t.Errorf("%s: %s", c.Model, c.Error)
		}
		got[c.Model] = true
	}
	if len(got) != len(models) || !slices.Equal(s.Config.Models, models) {
		t.Errorf("rows %v, config models %v; want the %d variants apart", got, s.Config.Models, len(models))
	}
}

// TestRunServerCores: on this machine's CPUs shared by server and
// generator (correctness, not speed), each multi-core model runs in its
// idiom on 1 and 2 server cores; at 2, every loop or ring serves a share
// of 100 connections, as the server counted them; the report has the
// scaling table, marked as measured on shared CPUs.
func TestRunServerCores(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("skipped: needs 2 CPUs to give a server 2 cores")
	}
	out := t.TempDir()
	b, err := iobench(t, "run", "--models", "epoll,poll,iouring,gonet", "--conns", "100", "--server-cores", "1,2",
		"--server-cpus", "0,1", "--client-cpus", "0,1", "--repeat", "1", "--retries", "0", "--duration", "200ms", "--warmup", "100ms",
		"--out", out, "--quiet").CombinedOutput()
	if err != nil {
		t.Fatalf("run: %v\n%s", err, b)
	}
	s, err := results.ReadSuite(out)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Config.SharedCPUs || !slices.Equal(s.Config.ServerCores, []int{1, 2}) {
		t.Errorf("config %+v; want cores 1,2 on shared CPUs", s.Config)
	}
	seen := 0
	for _, c := range s.Cells {
		if c.Skipped != "" {
			t.Logf("%s skipped: %s", c.Model, c.Skipped)
			continue
		}
		if c.Superseded {
			continue // the machine disturbed it: measured again
		}
		if c.Run == nil || c.Server == nil {
			t.Errorf("%s on %d cores: %s", c.Model, c.ServerCores, c.Error)
			continue
		}
		v := c.Spec()
		switch {
		case c.Model == "gonet":
			if len(c.Server.Shares) != 0 {
				t.Errorf("gonet on %d cores reports loops %v; the runtime spreads it", c.ServerCores, c.Server.Shares)
			}
		case c.ServerCores == 1:
			if v.Settings.Loops > 1 || len(c.Server.Shares) != 0 {
				t.Errorf("%s on 1 core ran %+v with shares %v", c.Model, v.Settings, c.Server.Shares)
			}
		default:
			seen++
			sh := c.Server.Shares
			if v.Settings.Loops != 2 || len(sh) != 2 || sh[0]+sh[1] != 100 || sh[0] == 0 || sh[1] == 0 {
				t.Errorf("%s on 2 cores ran %+v, its loops accepted %v; want 2 loops sharing 100 connections", c.Model, v.Settings, sh)
			} else {
				t.Logf("%s on 2 cores: loops accepted %d/%d", c.Model, sh[0], sh[1])
			}
		}
	}
	if seen == 0 {
		t.Error("no multi-core model ran on 2 cores")
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil || !strings.Contains(string(md), "## Scaling over server cores") || !strings.Contains(string(md), "Measured with shared CPUs") {
		t.Errorf("report.md lacks the scaling table or its shared-CPU mark (%v)", err)
	}
}
