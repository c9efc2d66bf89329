package matrix

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"iobench/results"
)

// A shared machine takes CPU from a measured window: other processes, the
// hypervisor (steal), a stall of the whole machine. A repetition so
// disturbed says more about the machine than about the model, so it is
// marked and measured again (Config.Retries). The thresholds:
const (
	// foreignLimit: other processes used more than 5% of the watched
	// CPUs' time...
	foreignLimit = 5.0
	// ...and more than this, since /proc/stat and the server's
	// /proc/PID/stat count in 10 ms ticks, each truncated on its own:
	// up to about four ticks either way are their resolution, not a
	// neighbour (a quiet machine showed 0–10% of 200 ms windows on two
	// CPUs, never more than 4 ticks).
	foreignFloor = 50 * time.Millisecond
	// stealLimit: the hypervisor took more than 2% of them, and at least
	// stealFloor (two ticks).
	stealLimit = 2.0
	stealFloor = 20 * time.Millisecond
)

// cpuTicks is one CPU's busy and steal time, in ns.
type cpuTicks struct{ busy, steal int64 }

// watcher samples the watched CPUs' time at both ends of a window.
type watcher struct {
	cpus           []int
	start, end     map[int]cpuTicks
	startAt, endAt time.Time
	err            error
}

// watchedCPUs are the CPUs whose time a cell's measurement uses: the
// server's and the generator's, or every CPU when nothing is pinned.
// With the servers on another host only the generator's are here.
func watchedCPUs(cfg Config) []int {
	if sameMachine(cfg) {
		return allCPUs()
	}
	var cpus []int
	if cfg.Remote == nil {
		cpus = append(cpus, cfg.ServerCPUs...)
	}
	cpus = append(cpus, cfg.ClientCPUs...)
	if len(cpus) == 0 || (cfg.Remote == nil && len(cfg.ServerCPUs) == 0) {
		return allCPUs()
	}
	slices.Sort(cpus)
	return slices.Compact(cpus)
}

func allCPUs() []int {
	cpus := make([]int, runtime.NumCPU())
	for i := range cpus {
		cpus[i] = i
	}
	return cpus
}

// sameMachine: the servers run on an agent on this very machine (in
// another network namespace, say): their CPU is then on these CPUs too.
func sameMachine(cfg Config) bool {
	if cfg.Remote == nil {
		return false
	}
	host, err := os.Hostname()
	return err == nil && host == cfg.Remote.Environment.Host
}

func (w *watcher) mark(end bool) {
	t, err := readCPUStat()
	if err != nil {
		w.err = err
		return
	}
	if end {
		w.end, w.endAt = t, time.Now()
	} else {
		w.start, w.startAt = t, time.Now()
	}
}

// sum is the watched CPUs' busy and steal time between the marks.
func (w *watcher) sum() (busy, steal int64, ok bool) {
	if w.err != nil || w.start == nil || w.end == nil {
		return 0, 0, false
	}
	for _, c := range w.cpus {
		a, okA := w.start[c]
		b, okB := w.end[c]
		if !okA || !okB {
			return 0, 0, false
		}
		busy += b.busy - a.busy
		steal += b.steal - a.steal
	}
	return busy, steal, true
}

// measure says what else ran on the watched CPUs while own ns of CPU
// were iobench's.
func (w *watcher) measure(own int64) *results.Interference {
	in := &results.Interference{CPUs: w.cpus}
	busy, steal, ok := w.sum()
	window := w.endAt.Sub(w.startAt)
	if !ok || window <= 0 {
		in.Unavailable = "per-CPU time could not be read at both ends of the window"
		if w.err != nil {
			in.Unavailable = w.err.Error()
		}
		return in
	}
	capacity := float64(window) * float64(len(w.cpus))
	in.ForeignCPUPct = 100 * float64(max(0, busy-own)) / capacity
	in.StealPct = 100 * float64(steal) / capacity
	return in
}

// foreignNS is the CPU time a percentage of the watched CPUs' window
// stands for.
func (w *watcher) foreignNS(pct float64) time.Duration {
	return time.Duration(pct / 100 * float64(w.endAt.Sub(w.startAt)) * float64(len(w.cpus)))
}

// judgeCell fills c's interference and says why it was disturbed, if it
// was: other processes or the hypervisor took the CPUs, the server's CPU
// figure is impossible, or neither side ran while replies stalled.
func judgeCell(cfg Config, c *results.Cell, w *watcher) {
	run := c.Run
	if run == nil {
		return
	}
	var own, server int64
	if u := c.Server; u != nil && u.Measured("cpu") {
		server = u.UserNS + u.SysNS
	}
	own = run.Client.UserNS + run.Client.SysNS
	if cfg.Remote == nil || sameMachine(cfg) {
		own += server
	}
	in := w.measure(own)
	if st := run.Stall; st != nil {
		in.StalledMS = float64(st.StalledNS) / 1e6
	}
	serverCPUs := len(cfg.cellCPUs(*c))
	if serverCPUs == 0 {
		serverCPUs = runtime.NumCPU()
	}
	if run.MeasuredNS > 0 && cfg.Remote == nil {
		in.ServerCPUPct = 100 * float64(server) / (float64(run.MeasuredNS) * float64(serverCPUs))
	}
	c.Interference = in
	var why []string
	if in.Unavailable == "" {
		if in.ForeignCPUPct > foreignLimit && w.foreignNS(in.ForeignCPUPct) > foreignFloor {
			why = append(why, fmt.Sprintf("foreign CPU %.0f%% (other processes on CPUs %s)", in.ForeignCPUPct, cpuListString(w.cpus)))
		}
		if in.StealPct > stealLimit && w.foreignNS(in.StealPct) > stealFloor {
			why = append(why, fmt.Sprintf("steal %.0f%% (the hypervisor took the CPUs)", in.StealPct))
		}
	}
	if !in.CPUPossible() && float64(server)-float64(run.MeasuredNS)*float64(serverCPUs) > float64(foreignFloor) {
		why = append(why, fmt.Sprintf("impossible: the server used %.0f%% of its %d CPU(s)", in.ServerCPUPct, serverCPUs))
	}
	if pairStalled(run, server) && len(why) == 0 {
		in.PairStalled = true
		why = append(why, fmt.Sprintf("stalled: neither server nor generator ran for %.0f ms while requests waited", in.StalledMS))
	}
	c.Disturbed = strings.Join(why, "; ")
}

// pairStalled: replies stopped while requests waited, and the server and
// the generator together used under a tenth of a CPU over the window —
// the machine stopped both (a paused VM shows as no steal on some
// hypervisors). A server deadlocked on its own looks the same, so this
// alone is only a reason to measure again: a re-run that stalls the same
// way counts as the server's failure (see measuredAgain).
func pairStalled(run *results.Run, server int64) bool {
	st := run.Stall
	if st == nil || st.StalledNS == 0 || run.MeasuredNS == 0 {
		return false
	}
	used := server + run.Client.UserNS + run.Client.SysNS
	return float64(used) < 0.1*float64(run.MeasuredNS)
}

// measuredAgain settles a repetition after its last allowed attempt: a
// repetition disturbed by what was measured (others' CPU, steal, an
// impossible figure) stays disturbed; one only suspected (the pair
// stalled with the CPUs quiet) is the server's own doing after all.
func measuredAgain(c *results.Cell) {
	if in := c.Interference; in != nil && in.PairStalled {
		c.Disturbed = ""
	}
}

// busyBefore watches the CPUs for d before anything runs and says how
// busy they were: this process is idle meanwhile, so all of it is others'.
func busyBefore(ctx context.Context, cfg Config, d time.Duration) *results.Interference {
	w := &watcher{cpus: watchedCPUs(cfg)}
	w.mark(false)
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return nil
	}
	w.mark(true)
	return w.measure(0)
}

func cpuListString(cpus []int) string {
	parts := make([]string, len(cpus))
	for i, c := range cpus {
		parts[i] = fmt.Sprint(c)
	}
	return strings.Join(parts, ",")
}
