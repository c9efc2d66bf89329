// Package matrix runs `iobench run`: every model × scenario × repetition
// as a cell, each against a fresh server child process (the same binary's
// `serve`), pinned apart from the load generator, with the child's
// resource use measured over the same window as the load.
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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"iobench/cmd/internal/serveproto"
	"iobench/internal/perfcount"
	"iobench/loadgen"
	"iobench/results"
	"iobench/servers"
)

// Config is the matrix.
type Config struct {
	Models     []string
	Conns      []int
	Sizes      []int
	Works      []string
	Mode       loadgen.Mode
	Depth      int
	Rate       float64
	IdleConns  int
	Duration   time.Duration
	Warmup     time.Duration
	Repeat     int
	ServerCPUs []int // nil: no pinning
	ClientCPUs []int
	// ServerCmd is the command that runs `iobench` (argv[0] and any
	// leading arguments), and ServerEnv extra environment for it.
	ServerCmd []string
	ServerEnv []string
	Version   string
	// Progress is called before each cell (done of total) and at the end.
	Progress func(done, total int, cell results.Cell)
	// Checkpoint, when set, gets the suite after every cell, so that a
	// run killed outright still leaves what it measured.
	Checkpoint func(*results.Suite)
	// Logf receives notices (a server that did not stop cleanly).
	Logf func(format string, args ...any)
}

// Run runs every cell, interleaving repetitions (A B C A B C) so drift on
// a shared machine spreads over all models. A cancelled ctx stops at once:
// the current server is stopped and the suite so far returned, marked
// interrupted.
func Run(ctx context.Context, cfg Config) (*results.Suite, error) {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	suite := &results.Suite{
		Schema: results.SchemaVersion, Kind: "suite",
		Environment: results.CurrentEnvironment(cfg.Version),
		Config: results.SuiteConfig{
			Models: cfg.Models, Conns: cfg.Conns, Sizes: cfg.Sizes, Works: cfg.Works,
			Mode: string(cfg.Mode), Depth: cfg.Depth, Rate: cfg.Rate, IdleConns: cfg.IdleConns,
			DurationNS: int64(cfg.Duration), WarmupNS: int64(cfg.Warmup), Repeat: cfg.Repeat,
			ServerCPUs: cfg.ServerCPUs, ClientCPUs: cfg.ClientCPUs,
		},
		Models: modelInfo(cfg.Models),
	}
	if len(cfg.ClientCPUs) > 0 {
		if err := pinProcess(cfg.ClientCPUs); err != nil {
			return nil, fmt.Errorf("matrix: pinning the load generator to CPUs %v: %w", cfg.ClientCPUs, err)
		}
	}
	cells := Plan(cfg)
	for i := range cells {
		if cfg.Progress != nil {
			cfg.Progress(i, len(cells), cells[i])
		}
		if ctx.Err() != nil {
			suite.Interrupted = true
			break
		}
		c := cells[i]
		if c.Skipped == "" {
			runCell(ctx, cfg, &c)
		}
		if c.Run != nil && c.Run.Interrupted {
			suite.Interrupted = true
		}
		suite.Cells = append(suite.Cells, c)
		if cfg.Checkpoint != nil {
			cfg.Checkpoint(suite)
		}
		if suite.Interrupted {
			break
		}
	}
	if cfg.Progress != nil {
		cfg.Progress(len(suite.Cells), len(cells), results.Cell{})
	}
	return suite, nil
}

// modelInfo is what the models say about themselves, for the report.
func modelInfo(names []string) []results.ModelInfo {
	var out []results.ModelInfo
	for _, m := range servers.List() {
		if slices.Contains(names, m.Name) {
			out = append(out, results.ModelInfo{Name: m.Name, Mechanism: string(m.Mechanism), Summary: m.Summary, Impl: m.Impl, Why: m.Why, WhyFew: m.WhyFew})
		}
	}
	return out
}

// Plan lists the cells in run order, with the ones that can't run here
// already marked skipped.
func Plan(cfg Config) []results.Cell {
	var cells []results.Cell
	for rep := 1; rep <= cfg.Repeat; rep++ {
		for _, work := range cfg.Works {
			for _, size := range cfg.Sizes {
				for _, conns := range cfg.Conns {
					for _, model := range cfg.Models {
						c := results.Cell{Model: model, Rep: rep, Scenario: results.Scenario{
							Mode: string(cfg.Mode), Conns: conns, Size: size, Work: work,
							Depth: cfg.Depth, Rate: cfg.Rate, IdleConns: cfg.IdleConns,
						}}
						c.Skipped = skipReason(model, conns+cfg.IdleConns)
						cells = append(cells, c)
					}
				}
			}
		}
	}
	return cells
}

// skipReason says why model can't hold n connections here, or "".
func skipReason(model string, n int) string {
	v, err := servers.Lookup(model)
	if err != nil {
		return err.Error()
	}
	if why := v.CantHold(n); why != "" {
		return why
	}
	// The server holds n sockets plus its own; so does the generator.
	if lim := loadgen.FDLimit(); lim > 0 && n+loadgen.FDReserve > lim {
		return fmt.Sprintf("%d connections exceed the open-file limit (ulimit -n %d) of one process", n, lim)
	}
	return ""
}

// server is a running child `iobench serve`.
type server struct {
	cmd    *exec.Cmd
	addr   string
	stderr *tailBuffer
	done   chan struct{} // closed when Wait returned
	state  *os.ProcessState
	werr   error

	peakThreads int
	peakRSS     int64 // VmHWM, read just before SIGTERM
	stopSample  chan struct{}
	sampled     sync.WaitGroup
	sigErr      error             // from sending SIGTERM
	counts      [2]*perfcount.Set // system calls, context switches
	countsErr   error             // why they are not counted
}

// startServer starts the child on the server CPUs and waits for its
// listening line.
func startServer(ctx context.Context, cfg Config, c *results.Cell) (*server, error) {
	args := append([]string{}, cfg.ServerCmd[1:]...)
	args = append(args, serveproto.Request{Model: c.Model, Addr: "127.0.0.1:0", Work: c.Work}.Args()...)
	cmd := exec.Command(cfg.ServerCmd[0], args...)
	cmd.Env = append(os.Environ(), cfg.ServerEnv...)
	cmd.SysProcAttr = childAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, stderr: &tailBuffer{max: 4096}, done: make(chan struct{}), stopSample: make(chan struct{})}
	cmd.Stderr = s.stderr
	if err := startPinned(cmd, cfg.ServerCPUs); err != nil {
		return nil, fmt.Errorf("matrix: starting the %s server: %w", c.Model, err)
	}
	go func() {
		s.werr = cmd.Wait()
		s.state = cmd.ProcessState
		close(s.done)
	}()
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, stdout)
	}()
	select {
	case line, ok := <-lines:
		addr, _, parsed := serveproto.ParseLine(line)
		if !ok || !parsed {
			s.kill()
			return nil, fmt.Errorf("matrix: the %s server did not start: %s", c.Model, firstLine(s.stderr.String(), line))
		}
		s.addr = addr
	case <-time.After(10 * time.Second):
		s.kill()
		return nil, fmt.Errorf("matrix: the %s server printed no listening line within 10s", c.Model)
	case <-ctx.Done():
		s.kill()
		return nil, ctx.Err()
	}
	s.openCounts()
	s.sampled.Add(1)
	go s.sampleThreads()
	return s, nil
}

// openCounts starts the kernel's counts of the server's system calls and
// context switches, on every thread it has now and every thread those
// create; countsErr says why they are unavailable.
func (s *server) openCounts() {
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

func (s *server) closeCounts() {
	for i, set := range s.counts {
		if set != nil {
			set.Close()
			s.counts[i] = nil
		}
	}
}

// readCounts reads both counts (system calls, context switches).
func (s *server) readCounts() (c [2]uint64, ok bool) {
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
func (s *server) sampleThreads() {
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
func (s *server) stop() (clean, died bool, note string) {
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

func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *server) terminate() (clean bool, note string) {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.sigErr = err
		s.kill() // no SIGTERM on this OS
		return false, "could not be sent SIGTERM (" + err.Error() + "); killed"
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.kill()
		return false, "did not exit within 10s of SIGTERM; killed"
	}
	if s.werr != nil {
		return false, fmt.Sprintf("exited with %v: %s", s.werr, lastLine(s.stderr.String()))
	}
	return true, ""
}

func (s *server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// runCell starts the server, runs the load, stops the server, and fills c.
func runCell(ctx context.Context, cfg Config, c *results.Cell) {
	srv, err := startServer(ctx, cfg, c)
	if err != nil {
		c.Error = err.Error()
		return
	}
	var win window
	lc := loadgen.Config{
		Addr: srv.addr, Mode: cfg.Mode, Conns: c.Conns, Depth: c.Depth, Rate: c.Rate,
		SizeMin: c.Size, SizeMax: c.Size, Duration: cfg.Duration, Warmup: cfg.Warmup,
		IdleConns: c.IdleConns, Version: cfg.Version,
		OnWindow: func(end bool) { win.mark(srv, end) },
	}
	run, err := loadgen.Run(ctx, lc)
	clean, died, note := srv.stop()
	srv.closeCounts()
	if err != nil {
		c.Error = err.Error()
		if !clean {
			c.Error += "; server " + note
		}
		return
	}
	c.Run = run
	c.Server = srv.usage(win, run.Replies, clean, died, note)
	if srv.countsErr != nil {
		c.Warnings = append(c.Warnings, "no kernel counts: system calls and context switches per reply are "+srv.countsErr.Error())
	}
	switch {
	case died:
		c.Warnings = append(c.Warnings, "server died: the server "+note)
	case !clean:
		c.Warnings = append(c.Warnings, "server unclean exit: the server "+note)
		cfg.Logf("%s server %s", c.Model, note)
	}
	var reasons []string
	if died {
		reasons = append(reasons, "the server "+note)
	}
	reasons = append(reasons, run.Failures...)
	if len(reasons) > 0 && !run.Interrupted {
		c.Error = strings.Join(reasons, "; ")
	}
}

// window is the server's CPU time at the two ends of the measured window.
type window struct {
	start, end               procCPU
	startOK, endOK           bool
	countStart, countEnd     [2]uint64 // system calls, context switches
	countStartOK, countEndOK bool
}

func (w *window) mark(s *server, end bool) {
	pid := s.cmd.Process.Pid
	if end {
		w.end, w.endOK = readProcCPU(pid)
		w.countEnd, w.countEndOK = s.readCounts()
	} else {
		w.start, w.startOK = readProcCPU(pid)
		w.countStart, w.countStartOK = s.readCounts()
	}
}

// usage is the server's resource use over the window. A server that died
// in the window was reaped before its end could be sampled: its
// whole-life CPU then stands for the end, as it used no more after dying.
func (s *server) usage(win window, replies uint64, clean, died bool, note string) *results.ServerUsage {
	u := &results.ServerUsage{
		PID: s.cmd.Process.Pid, PeakThreads: s.peakThreads, MaxRSSBytes: s.peakRSS,
		ExitedCleanly: clean, ExitNote: note, DiedDuringRun: died,
		Unmeasured: slices.Clone(unmeasured),
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
	switch {
	case win.countStartOK && win.countEndOK && replies > 0:
		u.SyscallsPerReply = results.PerReply(win.countEnd[0]-win.countStart[0], replies)
		u.CtxSwitchesPerReply = results.PerReply(win.countEnd[1]-win.countStart[1], replies)
	case s.countsErr != nil:
		u.CountsUnavailable = s.countsErr.Error()
	case replies == 0:
		u.CountsUnavailable = "no replies to count them over"
	default:
		u.CountsUnavailable = "the counters could not be read at both ends of the window"
	}
	return u
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

func firstLine(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return strings.SplitN(s, "\n", 2)[0]
		}
	}
	return "no output"
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// ParseCPUs parses "0", "0-3" or "0,2,4".
func ParseCPUs(s string) ([]int, error) {
	var cpus []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err1 := strconv.Atoi(lo)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b < a || b > 4095 {
			return nil, fmt.Errorf("matrix: bad CPU list %q: want e.g. 0, 0-3 or 0,2", s)
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// ErrNoCPUs is returned by DefaultCPUs when the machine has one CPU.
var ErrNoCPUs = errors.New("one CPU: server and load generator share it")
