package matrix

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"

	"iobench/cmd/internal/serveproto"
	"iobench/internal/perfcount"
	"iobench/results"
	"iobench/servers"
)

// Spec is what a server is started for.
type Spec struct {
	Variant servers.Spec // the model and its settings
	Work    string
	Addr    string // HOST:PORT to bind; port 0 picks a free one
	CPUs    []int  // nil: not pinned
}

// Launcher starts `iobench serve` children on this machine: Cmd runs
// iobench (argv[0] and any leading arguments), Env is extra environment.
type Launcher struct {
	Cmd []string
	Env []string
}

// Child is a running `iobench serve` child, measured over the window its
// caller marks: this machine's Server (see Host).
type Child struct {
	// winMu orders the window's marks and their reading at Stop.
	winMu sync.Mutex
	win   window
	// stopOnce makes Stop idempotent; stopped is its answer.
	stopOnce sync.Once
	stopped  Stopped
	cmd      *exec.Cmd
	stdin    io.WriteCloser // closing it stops a child started with --stop-on-eof
	addr     string
	stderr   *tailBuffer
	done     chan struct{} // closed when Wait returned
	state    *os.ProcessState
	werr     error

	peakThreads int
	peakRSS     int64 // VmHWM, read just before SIGTERM
	stopSample  chan struct{}
	sampled     sync.WaitGroup
	sigErr      error             // from sending SIGTERM
	counts      [2]*perfcount.Set // system calls, context switches
	countsErr   error             // why they are not counted
	namedErr    error             // why system calls are not counted by name
	// shares are the loops' connections and accepted the connections
	// from the child's stop line;
	// stdoutDone is closed when its stdout ended.
	shares     []uint64
	accepted   *uint64
	stdoutDone chan struct{}
}

// Start starts a child for spec, pinned to its CPUs, and waits for its
// listening line.
func (l Launcher) Start(ctx context.Context, spec Spec) (Server, error) {
	return l.start(ctx, spec)
}

func (l Launcher) start(ctx context.Context, spec Spec) (*Child, error) {
	args := append([]string{}, l.Cmd[1:]...)
	args = append(args, serveproto.Request{Variant: spec.Variant, Addr: spec.Addr, Work: spec.Work, StopOnEOF: stopByStdin}.Args()...)
	cmd := exec.Command(l.Cmd[0], args...)
	cmd.Env = append(os.Environ(), l.Env...)
	cmd.SysProcAttr = childAttr()
	// A pipe of our own, not StdoutPipe: Wait would close that one as
	// the child exits, and its stop line could be lost unread.
	stdout, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = w
	stdin, err := cmd.StdinPipe()
	if err != nil {
		stdout.Close()
		w.Close()
		return nil, err
	}
	s := &Child{cmd: cmd, stdin: stdin, stderr: &tailBuffer{max: 4096}, done: make(chan struct{}), stopSample: make(chan struct{}), stdoutDone: make(chan struct{})}
	cmd.Stderr = s.stderr
	err = startPinned(cmd, spec.CPUs)
	w.Close() // the child has its own copy
	if err != nil {
		stdout.Close()
		return nil, fmt.Errorf("matrix: starting the %s server: %w", spec.Variant, err)
	}
	go func() {
		s.werr = cmd.Wait()
		s.state = cmd.ProcessState
		close(s.done)
	}()
	lines := make(chan string, 1)
	go s.readStdout(stdout, lines)
	select {
	case line, ok := <-lines:
		addr, model, parsed := serveproto.ParseLine(line)
		if !ok || !parsed {
			s.kill()
			return nil, fmt.Errorf("matrix: the %s server did not start: %s", spec.Variant, firstLine(s.stderr.String(), line))
		}
		if model != spec.Variant.String() {
			s.kill()
			return nil, fmt.Errorf("matrix: asked for the %s model, the child serves %s", spec.Variant, model)
		}
		s.addr = addr
	case <-time.After(10 * time.Second):
		s.kill()
		return nil, fmt.Errorf("matrix: the %s server printed no listening line within 10s", spec.Variant)
	case <-ctx.Done():
		s.kill()
		return nil, ctx.Err()
	}
	s.openCounts()
	s.sampled.Add(1)
	go s.sampleThreads()
	return s, nil
}

// readStdout sends the child's first line (its listening line) on
// first, then keeps the loops' shares from its stop line.
func (s *Child) readStdout(stdout *os.File, first chan<- string) {
	defer close(s.stdoutDone)
	defer stdout.Close()
	sc := bufio.NewScanner(stdout)
	if sc.Scan() {
		first <- sc.Text()
	}
	close(first)
	for sc.Scan() {
		if accepted, shares, ok := serveproto.ParseStats(sc.Text()); ok {
			s.accepted, s.shares = &accepted, shares // read after stdoutDone is closed
		}
	}
}

// openCounts starts the kernel's counts of the server's system calls and
// context switches, on every thread it has now and every thread those
// create; countsErr says why they are unavailable.
func (s *Child) openCounts() {
	for i, kind := range []perfcount.Kind{perfcount.Syscalls, perfcount.ContextSwitches} {
		set, err := perfcount.Open(s.cmd.Process.Pid, kind)
		if err != nil {
			s.countsErr = err
			s.closeCounts()
			return
		}
		s.counts[i] = set
	}
}

func (s *Child) closeCounts() {
	for i, set := range s.counts {
		if set != nil {
			set.Close()
			s.counts[i] = nil
		}
	}
}

// readCounts reads both counts (system calls, context switches).
func (s *Child) readCounts() (c [2]uint64, ok bool) {
	if s.counts[0] == nil {
		return c, false
	}
	for i, set := range s.counts {
		n, err := set.Read()
		if err != nil {
			s.countsErr = err
			return c, false
		}
		c[i] = n
	}
	return c, true
}

// sampleThreads tracks the child's peak thread count.
func (s *Child) sampleThreads() {
	defer s.sampled.Done()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if n := threadCount(s.cmd.Process.Pid); n > s.peakThreads {
			s.peakThreads = n
		}
		select {
		case <-s.stopSample:
			return
		case <-s.done:
			return
		case <-t.C:
		}
	}
}

// stop sends SIGTERM and waits; a server that does not exit in 10s is
// killed and the cell says so. died: it had exited (or was a zombie, or
// was already being reaped) before it was asked to stop.
func (s *Child) stop() (clean, died bool, note string) {
	close(s.stopSample)
	s.sampled.Wait()
	pid := s.cmd.Process.Pid
	if !s.exited() && !isZombie(pid) {
		s.peakRSS = peakRSS(pid)
		clean, note = s.terminate()
		if !errors.Is(s.sigErr, os.ErrProcessDone) {
			return clean, false, note
		}
	}
	<-s.done
	detail := lastLine(s.stderr.String())
	if detail != "" {
		detail = ": " + detail
	}
	return false, true, fmt.Sprintf("exited during the run (%v)%s", s.werr, detail)
}

func (s *Child) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// terminate asks the child to stop — SIGTERM, or on Windows closing its
// stdin (it was started with --stop-on-eof) — and waits for it.
func (s *Child) terminate() (clean bool, note string) {
	how := "SIGTERM"
	var err error
	if stopByStdin {
		how, err = "the end of its stdin", s.stdin.Close()
	} else {
		err = s.cmd.Process.Signal(syscall.SIGTERM)
	}
	if err != nil {
		s.sigErr = err
		s.kill()
		return false, "could not be sent " + how + " (" + err.Error() + "); killed"
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.kill()
		return false, "did not exit within 10s of " + how + "; killed"
	}
	if s.werr != nil {
		return false, fmt.Sprintf("exited with %v: %s", s.werr, lastLine(s.stderr.String()))
	}
	return true, ""
}

func (s *Child) kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// window is the server's CPU time at the two ends of the measured window.
type window struct {
	start, end               procCPU
	startOK, endOK           bool
	countStart, countEnd     [2]uint64 // system calls, context switches
	countStartOK, countEndOK bool
	namedStart, namedEnd     map[string]uint64 // system calls by name
	opened, closed           bool              // marked so far
}

// ErrWindowOrder is a mark out of order: a window's end before its start,
// or either of them twice.
var ErrWindowOrder = errors.New("the measured window is marked out of order")

// order takes a mark: its start once, then its end once.
func (w *window) order(end bool) error {
	switch {
	case !end && w.opened:
		return fmt.Errorf("%w: its start was marked already", ErrWindowOrder)
	case end && !w.opened:
		return fmt.Errorf("%w: its end before its start", ErrWindowOrder)
	case end && w.closed:
		return fmt.Errorf("%w: its end was marked already", ErrWindowOrder)
	}
	w.opened = w.opened || !end
	w.closed = w.closed || end
	return nil
}

func (w *window) mark(s *Child, end bool) {
	pid := s.cmd.Process.Pid
	if end {
		w.end, w.endOK = readProcCPU(pid)
		w.countEnd, w.countEndOK = s.readCounts()
		w.namedEnd = s.readNamed()
	} else {
		w.start, w.startOK = readProcCPU(pid)
		w.countStart, w.countStartOK = s.readCounts()
		w.namedStart = s.readNamed()
	}
}

func (s *Child) readNamed() map[string]uint64 {
	if s.counts[0] == nil {
		return nil
	}
	m, err := s.counts[0].ReadByName(perfcount.Calls)
	if err != nil {
		s.namedErr = err
		return nil
	}
	return m
}

// Addr is where the child listens.
func (s *Child) Addr() string { return s.addr }

// Mark samples the child as the measured window opens (end=false) and
// closes. Reading this machine's /proc does not fail in a way worth an
// error: what could not be read is reported unmeasured.
func (s *Child) Mark(_ context.Context, end bool) error {
	s.winMu.Lock()
	defer s.winMu.Unlock()
	if err := s.win.order(end); err != nil {
		return err
	}
	s.win.mark(s, end)
	return nil
}

// Stop stops the child and says what it used over the window, per reply.
// Only the first call stops it; later ones (a stop racing the end of a
// session) get the same answer.
func (s *Child) Stop(_ context.Context, replies uint64) Stopped {
	s.stopOnce.Do(func() { s.stopped = s.stopNow(replies) })
	return s.stopped
}

func (s *Child) stopNow(replies uint64) Stopped {
	clean, died, note := s.stop()
	s.winMu.Lock()
	defer s.winMu.Unlock()
	s.closeCounts()
	st := Stopped{Clean: clean, Died: died, Note: note, Usage: s.usage(s.win, replies, clean, died, note)}
	if s.countsErr != nil {
		st.Warnings = append(st.Warnings, results.Warn(results.CodeNoKernelCounts, "system calls and context switches per reply are %v", s.countsErr))
	}
	switch {
	case died:
		st.Warnings = append(st.Warnings, results.Warn(results.CodeServerDied, "the server %s", note))
	case !clean:
		st.Warnings = append(st.Warnings, results.Warn(results.CodeServerUnclean, "the server %s", note))
	}
	return st
}

// usage is the server's resource use over the window. A server that died
// in the window was reaped before its end could be sampled: its
// whole-life CPU then stands for the end, as it used no more after dying.
func (s *Child) usage(win window, replies uint64, clean, died bool, note string) *results.ServerUsage {
	u := &results.ServerUsage{
		PID: s.cmd.Process.Pid, PeakThreads: s.peakThreads, MaxRSSBytes: s.peakRSS,
		ExitedCleanly: clean, ExitNote: note, DiedDuringRun: died,
		Unmeasured: slices.Clone(unmeasured),
	}
	select { // the child has exited: its stdout ends with it
	case <-s.stdoutDone:
		u.Shares, u.Accepted = s.shares, s.accepted
	case <-time.After(time.Second):
	}
	if !win.endOK && died {
		win.end, win.endOK = exitCPU(s.state)
	}
	cpu := procCPU{user: win.end.user - win.start.user, sys: win.end.sys - win.start.sys}
	switch {
	case !win.startOK || !win.endOK || cpu.user < 0 || cpu.sys < 0:
		if !slices.Contains(u.Unmeasured, "cpu") {
			u.Unmeasured = append(u.Unmeasured, "cpu")
		}
	default:
		u.UserNS, u.SysNS = cpu.user, cpu.sys
		if replies > 0 {
			u.CPUPerReplyNS = float64(u.UserNS+u.SysNS) / float64(replies)
		}
	}
	if died {
		u.MaxRSSBytes = 0 // its /proc entry was gone before the end
		u.Unmeasured = append(u.Unmeasured, "rss")
	}
	if st := s.state; st != nil {
		fillRusage(u, st)
	}
	ok := win.countStartOK && win.countEndOK
	u.KernelCounts = results.CountsPerReply(results.CountReadings{
		Syscalls: [2]uint64{win.countStart[0], win.countEnd[0]}, SyscallsOK: ok,
		Ctx: [2]uint64{win.countStart[1], win.countEnd[1]}, CtxOK: ok,
		Named: [2]map[string]uint64{win.namedStart, win.namedEnd}, Err: s.countsErr, NamedErr: s.namedErr,
	}, replies)
	return u
}
