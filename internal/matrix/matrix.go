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
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

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
	}
	if len(cfg.ClientCPUs) > 0 {
		if err := pinProcess(cfg.ClientCPUs); err != nil {
			return nil, fmt.Errorf("matrix: pinning the load generator to CPUs %v: %w", cfg.ClientCPUs, err)
		}
	}
	cells := plan(cfg)
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

// plan lists the cells in run order, with the ones that can't run here
// already marked skipped.
func plan(cfg Config) []results.Cell {
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
	if _, err := servers.Lookup(model); err != nil {
		return err.Error()
	}
	// The server holds n sockets plus a few of its own.
	if model == "select" && n+16 > 1024 {
		return fmt.Sprintf("select: %d connections need descriptors past FD_SETSIZE (1024)", n)
	}
	if lim := fdLimit(); lim > 0 && n+64 > lim {
		return fmt.Sprintf("%d connections exceed the open-file limit (ulimit -n %d) of one process", n, lim)
	}
	return ""
}

var listeningLine = regexp.MustCompile(`^listening on (\S+) \(model ([a-z0-9]+)\)$`)

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
	winStart    procCPU
	winEnd      procCPU
}

// startServer starts the child on the server CPUs and waits for its
// listening line.
func startServer(ctx context.Context, cfg Config, c *results.Cell) (*server, error) {
	args := append([]string{}, cfg.ServerCmd[1:]...)
	args = append(args, "serve", "--model", c.Model, "--addr", "127.0.0.1:0", "--work", c.Work)
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
		return nil, fmt.Errorf("starting the %s server: %w", c.Model, err)
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
		m := listeningLine.FindStringSubmatch(line)
		if !ok || m == nil {
			s.kill()
			return nil, fmt.Errorf("the %s server did not start: %s", c.Model, firstLine(s.stderr.String(), line))
		}
		s.addr = m[1]
	case <-time.After(10 * time.Second):
		s.kill()
		return nil, fmt.Errorf("the %s server printed no listening line within 10s", c.Model)
	case <-ctx.Done():
		s.kill()
		return nil, ctx.Err()
	}
	s.sampled.Add(1)
	go s.sampleThreads()
	return s, nil
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
// killed and the cell says so.
func (s *server) stop() (clean bool, note string) {
	close(s.stopSample)
	s.sampled.Wait()
	s.peakRSS = peakRSS(s.cmd.Process.Pid)
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
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
	pid := srv.cmd.Process.Pid
	lc := loadgen.Config{
		Addr: srv.addr, Mode: cfg.Mode, Conns: c.Conns, Depth: c.Depth, Rate: c.Rate,
		SizeMin: c.Size, SizeMax: c.Size, Duration: cfg.Duration, Warmup: cfg.Warmup,
		IdleConns: c.IdleConns, Version: cfg.Version,
		OnWindow: func(end bool) {
			if end {
				srv.winEnd = readProcCPU(pid)
			} else {
				srv.winStart = readProcCPU(pid)
			}
		},
	}
	run, err := loadgen.Run(ctx, lc)
	clean, note := srv.stop()
	if err != nil {
		c.Error = err.Error()
		if !clean {
			c.Error += "; server " + note
		}
		return
	}
	c.Run = run
	u := &results.ServerUsage{
		PID:    pid,
		UserNS: srv.winEnd.user - srv.winStart.user, SysNS: srv.winEnd.sys - srv.winStart.sys,
		PeakThreads: srv.peakThreads, MaxRSSBytes: srv.peakRSS, ExitedCleanly: clean, ExitNote: note,
	}
	if run.Replies > 0 {
		u.CPUPerReplyNS = float64(u.UserNS+u.SysNS) / float64(run.Replies)
	}
	if st := srv.state; st != nil {
		fillRusage(u, st)
	}
	c.Server = u
	if !clean {
		cfg.Logf("%s server %s", c.Model, note)
	}
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
			return nil, fmt.Errorf("bad CPU list %q: want e.g. 0, 0-3 or 0,2", s)
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// ErrNoCPUs is returned by DefaultCPUs when the machine has one CPU.
var ErrNoCPUs = errors.New("one CPU: server and load generator share it")
