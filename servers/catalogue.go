package servers

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
)

// The catalogue: every model iobench knows, what it is, how its loop
// goes (explain), and which of them this OS has.

// Mechanism is how a model learns that a socket can make progress.
type Mechanism string

const (
	Thread     Mechanism = "thread"     // a blocked thread per connection
	Readiness  Mechanism = "readiness"  // the kernel says which sockets are ready
	BusyPoll   Mechanism = "busy-poll"  // try every socket in turn, no readiness API
	Completion Mechanism = "completion" // the kernel says which operations finished
	Runtime    Mechanism = "runtime"    // Go's netpoller decides
)

// Model describes an IO model, whether or not this OS has it.
type Model struct {
	Name      string
	Mechanism Mechanism
	OS        []string // GOOS values that implement it
	Summary   string
	// Tunables lists the Config fields beyond Addr, MaxMsg and Work that
	// the model honours ("loops", "edge", "max-threads").
	Tunables []string
	// Why says in a few words why this model leading a comparison fits
	// how it works; WhyFew, when set, says it for few connections (≤ 10).
	// Reports ask the model for them rather than guess from its name.
	Why, WhyFew string
	// Loop is the model's serving loop on Linux as docs/models.md tells
	// it, a step per system call it makes: what `iobench explain` puts
	// beside the calls the kernel counted.
	Loop []Step
	// Cores is how the model spreads over N server cores: the one place
	// run --server-cores asks.
	Cores Idiom
}

// Idiom is a model's way of using N cores.
type Idiom struct {
	// Setting takes N ("loops": a loop or ring per core over
	// SO_REUSEPORT; "workers": a pool on one completion port); "" when
	// the kernel or the runtime spreads the model by itself, or it is
	// one thread by design (OneThread).
	Setting   string
	OneThread bool
	How       string // in a few words, for reports and docs
}

// OnCores is st as the model runs on n cores in its idiom: its Setting
// set to n unless st already sets it (a variant the user spelled keeps
// its own count).
func (m Model) OnCores(st Settings, n int) Settings {
	switch {
	case n < 1:
	case m.Cores.Setting == "loops" && st.Loops <= 1:
		st.Loops = n
	case m.Cores.Setting == "workers" && st.Workers == 0:
		st.Workers = n
	}
	return st
}

// Step is one step of a model's loop: the system call(s) it makes (any
// of Calls, by their kernel names), what for, and how many of them per
// reply the docs say it makes at ToldAt connections: at least Min, at
// most Max (0: no bound). TestExplainTold holds the code to it.
type Step struct {
	Calls    []string
	Does     string
	Min, Max float64
}

// ToldAt is the connection count a Step's Min and Max are told for.
const ToldAt = 100

// Told is the step's bound as explain shows it: "≈1", "≤1", "≥1", "0.9–1.1".
func (s Step) Told() string {
	switch {
	case s.Min == 0 && s.Max == 0:
		return "any"
	case s.Max == 0:
		return fmt.Sprintf("≥%g", s.Min)
	case s.Min == 0:
		return fmt.Sprintf("≤%g", s.Max)
	case s.Min == 0.9 && s.Max == 1.1:
		return "≈1"
	}
	return fmt.Sprintf("%g–%g", s.Min, s.Max)
}

// The steps the readiness loops share: one read and one write per reply.
var (
	readStep  = Step{[]string{"read", "recvfrom"}, "read the request from a ready connection", 0.9, 1.1}
	writeStep = Step{[]string{"write", "sendto"}, "write the reply (a short write waits for writability)", 0.9, 1.1}
)

// Models is every model iobench knows, in the order tables show them.
func Models() []Model {
	return []Model{
		{Name: "blocking", Mechanism: Thread, OS: []string{"linux", "windows"}, Summary: "one OS thread per connection, blocking read/write", Tunables: []string{"max-threads"}, Cores: Idiom{How: "a thread per connection, scheduled by the kernel over every core it is given"},
			Why: "the kernel scheduler multiplexes the threads, here well enough", WhyFew: "with few connections a thread each is cheap and needs no event loop", Loop: []Step{{[]string{"accept4"}, "the acceptor thread takes a connection and starts its thread (once per connection: next to none per reply)", 0, 0.01}, {[]string{"read", "recvfrom"}, "the connection's thread blocks until the request is in", 0.9, 1.1}, writeStep}},
		{Name: "select", Mechanism: Readiness, OS: []string{"linux", "windows"}, Summary: "one thread, select(2); at most FD_SETSIZE descriptors", Cores: Idiom{OneThread: true, How: "one thread by design: the textbook loop scans one set"},
			Why: "its O(n) scan was still cheaper than the others' overheads at this count", WhyFew: "with few descriptors the O(n) scan costs next to nothing", Loop: []Step{{[]string{"select", "pselect6"}, "wait until some descriptor of the set is ready (the set rebuilt each time); one wait serves every ready one", 0, 1}, readStep, writeStep}},
		{Name: "poll", Mechanism: Readiness, OS: []string{"linux"}, Summary: "one thread, poll(2); O(n) scan per wakeup", Tunables: []string{"loops"}, Cores: Idiom{Setting: "loops", How: "a poll loop per core, each its own listener in one SO_REUSEPORT group"},
			Why: "its O(n) scan was still cheaper than the others' overheads at this count", WhyFew: "with few descriptors the O(n) scan costs next to nothing", Loop: []Step{{[]string{"poll", "ppoll"}, "wait until some descriptor of the array is ready (scanned each time); one wait serves every ready one", 0, 1}, readStep, writeStep}},
		{Name: "nonblocking", Mechanism: BusyPoll, OS: []string{"linux", "windows"}, Summary: "one thread retrying every O_NONBLOCK socket; burns a core by design", Cores: Idiom{OneThread: true, How: "one thread by design: it retries every socket in turn, and a second would only burn a second core"},
			Why: "it never sleeps, so it answers at once, paying a full core for it", Loop: []Step{{[]string{"accept4"}, "try the listener for a new connection every sweep; almost always nothing (EAGAIN)", 0, 0}, {[]string{"read", "recvfrom"}, "try every connection in turn; most tries find nothing (EAGAIN), so more than one per reply", 1, 0}, writeStep}},
		{Name: "epoll", Mechanism: Readiness, OS: []string{"linux"}, Summary: "epoll(7), level- or edge-triggered, N loops with SO_REUSEPORT", Tunables: []string{"loops", "edge"}, Cores: Idiom{Setting: "loops", How: "an epoll loop per core, each its own listener in one SO_REUSEPORT group"},
			Why: "it reports only the ready connections, so a wakeup costs O(ready), not O(connections)", Loop: []Step{{[]string{"epoll_wait", "epoll_pwait"}, "wait for the ready connections only; one wait serves every ready one", 0, 1}, readStep, writeStep, {[]string{"epoll_ctl"}, "arm or disarm writability around a short write (rare with small replies)", 0, 0.05}}},
		{Name: "iouring", Mechanism: Completion, OS: []string{"linux"}, Summary: "io_uring: recv/send submitted to the kernel, completions reaped from a ring; multishot recv by default (--recv single: one per message); --workers N hands them to a pool like IOCP", Tunables: []string{"loops", "workers", "buf-ring", "recv"}, Cores: Idiom{Setting: "loops", How: "a ring per core, each on its own thread with its own listener in one SO_REUSEPORT group"},
			Why: "one io_uring_enter submits and reaps the IO of many connections", Loop: []Step{{[]string{"io_uring_enter"}, "submit the batch's sends, wait for completions, reap them: the recvs are multishot and need no call", 0, 0.2}}},
		{Name: "overlapped", Mechanism: Completion, OS: []string{"windows"}, Summary: "WSARecv/WSASend with completion routines run as APCs in an alertable wait", Cores: Idiom{OneThread: true, How: "one thread by design: completion routines run on the thread that issued the IO, in its alertable wait"},
			Why: "completions arrive for finished IO only, with no readiness round trip"},
		{Name: "iocp", Mechanism: Completion, OS: []string{"windows"}, Summary: "I/O completion port drained by worker threads (--workers, default one per CPU)", Tunables: []string{"workers"}, Cores: Idiom{Setting: "workers", How: "N worker threads on one completion port"},
			Why: "completions arrive for finished IO only, with no readiness round trip"},
		{Name: "kqueue", Mechanism: Readiness, OS: []string{"darwin", "freebsd"}, Summary: "kqueue(2)/kevent(2)", Cores: Idiom{OneThread: true, How: "one loop (a kqueue loop per core is not built)"},
			Why: "it reports only the ready connections, so a wakeup costs O(ready), not O(connections)"},
		{Name: "gonet", Mechanism: Runtime, OS: []string{"linux", "windows", "darwin", "freebsd"}, Summary: "goroutine per connection on Go's net package (runtime netpoller)", Cores: Idiom{How: "goroutines the runtime schedules over GOMAXPROCS = the cores it is given"},
			Why: "Go's netpoller is epoll (IOCP, kqueue) underneath and runs on every server CPU", Loop: []Step{{[]string{"read", "recvfrom"}, "Read: the first try finds nothing (EAGAIN) and parks the goroutine; the retry once the netpoller wakes it gets the request", 1, 2.1}, {[]string{"epoll_pwait", "epoll_wait"}, "the runtime's netpoller: which parked goroutines' connections are ready", 0, 1}, writeStep, {[]string{"futex", "nanosleep"}, "the scheduler parking and waking threads", 0, 0}}},
	}
}

// Variant is a model as implemented on this OS.
type Variant struct {
	Model
	// Probe reports why the model can't run here (nil when it can).
	Probe func() error
	// New binds a server for cfg; it does not start serving.
	New func(cfg Config) (Server, error)
	// Limit, when set, says why this variant can't hold conns connections
	// at once (select's FD_SETSIZE), or "" when it can.
	Limit func(conns int) string
	// Impl, when set, says how this build implements the model where
	// builds differ (the blocking model's loop in C or in Go).
	Impl string
}

// CantHold says why v can't hold conns connections at once, or "".
func (v Variant) CantHold(conns int) string {
	if v.Limit == nil {
		return ""
	}
	return v.Limit(conns)
}

// Availability is one row of the model list for this machine.
type Availability struct {
	Model
	Available bool
	Why       string // why not, when not available
	Impl      string // the variant's Impl, when this OS has it
}

// List returns every model with whether it can run on this machine.
func List() []Availability {
	have := map[string]Variant{}
	for _, v := range variants() {
		have[v.Name] = v
	}
	var out []Availability
	for _, m := range Models() {
		a := Availability{Model: m}
		v, ok := have[m.Name]
		var probeErr error
		if ok && v.Probe != nil {
			probeErr = v.Probe()
		}
		a.Impl = v.Impl
		switch {
		case !ok && slices.Contains(m.OS, runtime.GOOS):
			a.Why = "unavailable: not implemented on " + runtime.GOOS + " yet"
		case !ok:
			a.Why = "unavailable: " + strings.Join(m.OS, "/") + " only"
		case probeErr != nil:
			a.Why = "unavailable: " + probeErr.Error()
		default:
			a.Available = true
		}
		out = append(out, a)
	}
	return out
}
