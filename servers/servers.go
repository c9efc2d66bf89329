// Package servers holds one TCP echo server per IO model: blocking
// thread-per-connection, select, poll, non-blocking polling, epoll, Go's
// runtime netpoller (gonet) and, on other systems, their native models.
//
// Every model implements Server and echoes every byte it reads, in order,
// with a bounded buffer per connection: while a reply is pending the server
// stops reading from that connection, so a client that never reads cannot
// make the server grow without bound (the kernel's socket buffers then push
// back on the client). After the client's FIN the pending reply is flushed
// and the connection closed.
//
// The models available on an OS are listed by hand in available_GOOS.go;
// there is no init-time registration.
package servers

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is one echo server bound to its address.
//
// New binds the listening socket, so Addr is valid before Serve starts.
// Serve runs until ctx is done or Close is called and then returns nil,
// having closed every connection it accepted. Close unblocks Serve, waits
// for it to return and releases every descriptor the server holds; it is
// safe to call more than once and from any goroutine.
type Server interface {
	Addr() string
	Serve(ctx context.Context) error
	Close() error
	Stats() Stats
}

// Stats counts what a server did with its connections.
type Stats struct {
	Accepted uint64 // connections accepted and served
	Refused  uint64 // connections accepted and closed at once (see Refusals)
	Active   int64  // connections open now
	// PeakThreads is the most connection threads alive at once (blocking
	// model only).
	PeakThreads int64
	// Refusals counts refused connections by reason.
	Refusals map[string]uint64
}

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
		{Name: "blocking", Mechanism: Thread, OS: []string{"linux", "windows"}, Summary: "one OS thread per connection, blocking read/write", Tunables: []string{"max-threads"},
			Why: "the kernel scheduler multiplexes the threads, here well enough", WhyFew: "with few connections a thread each is cheap and needs no event loop", Loop: []Step{{[]string{"accept4"}, "the acceptor thread takes a connection and starts its thread (once per connection: next to none per reply)", 0, 0.01}, {[]string{"read", "recvfrom"}, "the connection's thread blocks until the request is in", 0.9, 1.1}, writeStep}},
		{Name: "select", Mechanism: Readiness, OS: []string{"linux", "windows"}, Summary: "one thread, select(2); at most FD_SETSIZE descriptors",
			Why: "its O(n) scan was still cheaper than the others' overheads at this count", WhyFew: "with few descriptors the O(n) scan costs next to nothing", Loop: []Step{{[]string{"select", "pselect6"}, "wait until some descriptor of the set is ready (the set rebuilt each time); one wait serves every ready one", 0, 1}, readStep, writeStep}},
		{Name: "poll", Mechanism: Readiness, OS: []string{"linux"}, Summary: "one thread, poll(2); O(n) scan per wakeup",
			Why: "its O(n) scan was still cheaper than the others' overheads at this count", WhyFew: "with few descriptors the O(n) scan costs next to nothing", Loop: []Step{{[]string{"poll", "ppoll"}, "wait until some descriptor of the array is ready (scanned each time); one wait serves every ready one", 0, 1}, readStep, writeStep}},
		{Name: "nonblocking", Mechanism: BusyPoll, OS: []string{"linux", "windows"}, Summary: "one thread retrying every O_NONBLOCK socket; burns a core by design",
			Why: "it never sleeps, so it answers at once, paying a full core for it", Loop: []Step{{[]string{"read", "recvfrom"}, "try every connection in turn; most tries find nothing (EAGAIN), so more than one per reply", 1, 0}, writeStep}},
		{Name: "epoll", Mechanism: Readiness, OS: []string{"linux"}, Summary: "epoll(7), level- or edge-triggered, N loops with SO_REUSEPORT", Tunables: []string{"loops", "edge"},
			Why: "it reports only the ready connections, so a wakeup costs O(ready), not O(connections)", Loop: []Step{{[]string{"epoll_wait", "epoll_pwait"}, "wait for the ready connections only; one wait serves every ready one", 0, 1}, readStep, writeStep, {[]string{"epoll_ctl"}, "arm or disarm writability around a short write (rare with small replies)", 0, 0.05}}},
		{Name: "iouring", Mechanism: Completion, OS: []string{"linux"}, Summary: "io_uring: recv/send submitted to the kernel, completions reaped from a ring; multishot recv by default (--recv single: one per message); --workers N hands them to a pool like IOCP", Tunables: []string{"workers", "buf-ring", "recv"},
			Why: "one io_uring_enter submits and reaps the IO of many connections", Loop: []Step{{[]string{"io_uring_enter"}, "submit the batch's sends, wait for completions, reap them: the recvs are multishot and need no call", 0, 0.2}}},
		{Name: "overlapped", Mechanism: Completion, OS: []string{"windows"}, Summary: "WSARecv/WSASend with completion routines run as APCs in an alertable wait",
			Why: "completions arrive for finished IO only, with no readiness round trip"},
		{Name: "iocp", Mechanism: Completion, OS: []string{"windows"}, Summary: "I/O completion port drained by worker threads (--workers, default one per CPU)", Tunables: []string{"workers"},
			Why: "completions arrive for finished IO only, with no readiness round trip"},
		{Name: "kqueue", Mechanism: Readiness, OS: []string{"darwin", "freebsd"}, Summary: "kqueue(2)/kevent(2)",
			Why: "it reports only the ready connections, so a wakeup costs O(ready), not O(connections)"},
		{Name: "gonet", Mechanism: Runtime, OS: []string{"linux", "windows", "darwin", "freebsd"}, Summary: "goroutine per connection on Go's net package (runtime netpoller)",
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

// ErrConfig marks a setting the model can't take (an address that is not
// HOST:PORT, a tunable of another model): the caller's input is wrong.
var ErrConfig = errors.New("bad setting")

// ErrUnknownModel is returned by Lookup for a name this OS does not have.
var ErrUnknownModel = errors.New("unknown model")

// ErrUnavailable is returned by Lookup for a model this OS has but this
// machine can't run (its probe failed).
var ErrUnavailable = errors.New("model unavailable")

// Lookup returns the variant called name, checking that it can run here.
func Lookup(name string) (Variant, error) {
	for _, v := range variants() {
		if v.Name != name {
			continue
		}
		if v.Probe != nil {
			if err := v.Probe(); err != nil {
				return Variant{}, fmt.Errorf("servers: model %q: %w: %w", name, ErrUnavailable, err)
			}
		}
		return v, nil
	}
	for _, m := range Models() {
		if m.Name == name {
			return Variant{}, fmt.Errorf("servers: %w: %q is a %s model, not %s (have here: %s)", ErrUnknownModel, name,
				strings.Join(m.OS, "/"), runtime.GOOS, strings.Join(AvailableNames(), ", "))
		}
	}
	return Variant{}, fmt.Errorf("servers: %w %q on %s (have: %s)", ErrUnknownModel, name, runtime.GOOS, strings.Join(AvailableNames(), ", "))
}

// AvailableNames lists the models that can run on this machine.
func AvailableNames() []string {
	var names []string
	for _, a := range List() {
		if a.Available {
			names = append(names, a.Name)
		}
	}
	return names
}

// Open looks up cfg's model and binds a server for it.
func Open(model string, cfg Config) (Server, error) {
	v, err := Lookup(model)
	if err != nil {
		return nil, err
	}
	if err := cfg.check(v.Model); err != nil {
		return nil, err
	}
	return v.New(cfg.withDefaults())
}

// DefaultAddr is where a server listens unless told otherwise.
const DefaultAddr = "127.0.0.1:7000"

// DefaultMaxMsg is the default size of a server's read buffer, and so the
// most it holds for one connection at once.
const DefaultMaxMsg = 64 << 10

// DefaultMaxThreads caps the blocking model's connection threads.
const DefaultMaxThreads = 10000

// Config is what every model is built from. The zero value of each field
// means its default.
type Config struct {
	Addr   string // host:port to bind; port 0 picks a free one
	MaxMsg int    // bytes read at once per connection, the bound on what it holds
	Work   Work   // simulated backend work per read, before the reply
	Loops  int    // epoll: event loops sharing the port with SO_REUSEPORT
	Edge   bool   // epoll: edge-triggered instead of level-triggered
	// Workers: iouring hands completions to this many worker goroutines
	// (IOCP style), 0 handles them on the ring's thread; iocp runs this many
	// GetQueuedCompletionStatus workers, 0 meaning one per CPU.
	Workers int
	// BufRing: iouring receives into provided buffers (a registered buffer
	// ring, Linux 5.19) instead of one buffer per connection.
	BufRing bool
	// Recv: how iouring receives — multishot where the kernel has it
	// (RecvAuto), or one recv per message (RecvSingle, the textbook loop).
	Recv RecvMode
	// MaxThreads caps the blocking model's connection threads: past it a
	// new connection is refused (closed and counted), never a crash.
	MaxThreads int
	// Logf receives one-line notices (refused connections); nil drops them.
	Logf func(format string, args ...any)
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.MaxMsg <= 0 {
		c.MaxMsg = DefaultMaxMsg
	}
	if c.Loops <= 0 {
		c.Loops = 1
	}
	if c.MaxThreads <= 0 {
		c.MaxThreads = DefaultMaxThreads
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	return c
}

// check rejects settings the model would silently ignore.
func (c Config) check(m Model) error {
	if c.Loops > 1 && !slices.Contains(m.Tunables, "loops") {
		return fmt.Errorf("servers: %w: loops applies only to epoll, not %s", ErrConfig, m.Name)
	}
	if c.Edge && !slices.Contains(m.Tunables, "edge") {
		return fmt.Errorf("servers: %w: edge applies only to epoll, not %s", ErrConfig, m.Name)
	}
	if c.MaxThreads > 0 && !slices.Contains(m.Tunables, "max-threads") {
		return fmt.Errorf("servers: %w: max-threads applies only to blocking, not %s", ErrConfig, m.Name)
	}
	if c.Workers > 0 && !slices.Contains(m.Tunables, "workers") {
		return fmt.Errorf("servers: %w: workers applies only to iouring and iocp, not %s", ErrConfig, m.Name)
	}
	if c.BufRing && !slices.Contains(m.Tunables, "buf-ring") {
		return fmt.Errorf("servers: %w: buf-ring applies only to iouring, not %s", ErrConfig, m.Name)
	}
	if c.Recv != RecvAuto && !slices.Contains(m.Tunables, "recv") {
		return fmt.Errorf("servers: %w: recv applies only to iouring, not %s", ErrConfig, m.Name)
	}
	if c.Recv == RecvMultishot && c.Workers > 0 {
		return fmt.Errorf("servers: %w: iouring's workers take single-shot completions: recv multishot needs workers 0", ErrConfig)
	}
	if c.MaxMsg < 0 || c.MaxMsg > 64<<20 {
		return fmt.Errorf("servers: %w: max-msg %d out of range (1 to %d bytes)", ErrConfig, c.MaxMsg, 64<<20)
	}
	return nil
}

// RecvMode is how the iouring model receives.
type RecvMode int

const (
	RecvAuto      RecvMode = iota // multishot where the kernel has it, else single
	RecvMultishot                 // multishot recv into a provided buffer ring, or an error
	RecvSingle                    // one recv per message, resubmitted after each reply
)

var recvModes = []string{"auto", "multishot", "single"}

func (m RecvMode) String() string {
	if int(m) < len(recvModes) {
		return recvModes[m]
	}
	return fmt.Sprintf("RecvMode(%d)", int(m))
}

// ParseRecvMode parses "auto", "multishot" or "single".
func ParseRecvMode(s string) (RecvMode, error) {
	if i := slices.Index(recvModes, s); i >= 0 {
		return RecvMode(i), nil
	}
	return 0, fmt.Errorf("servers: %w: recv %q: want %s", ErrConfig, s, strings.Join(recvModes, ", "))
}

// WorkKind is the kind of simulated backend work.
type WorkKind int

const (
	NoWork    WorkKind = iota
	CPUWork            // spin on the CPU
	SleepWork          // block the serving thread
)

// Work is simulated backend work done for every read before the reply:
// slow CPU work (cpu:D) or a slow query that blocks the thread (sleep:D).
type Work struct {
	Kind WorkKind
	D    time.Duration
}

// ParseWork parses "none", "cpu:50us" or "sleep:1ms".
func ParseWork(s string) (Work, error) {
	if s == "" || s == "none" {
		return Work{}, nil
	}
	kind, dur, ok := strings.Cut(s, ":")
	var w Work
	switch kind {
	case "cpu":
		w.Kind = CPUWork
	case "sleep":
		w.Kind = SleepWork
	default:
		ok = false
	}
	if !ok {
		return Work{}, fmt.Errorf("servers: bad work %q: want none, cpu:DURATION or sleep:DURATION (e.g. cpu:50us)", s)
	}
	d, err := time.ParseDuration(dur)
	if err != nil || d <= 0 || d > time.Minute {
		return Work{}, fmt.Errorf("servers: bad work %q: duration must be between 1ns and 1m (e.g. cpu:50us)", s)
	}
	w.D = d
	return w, nil
}

func (w Work) String() string {
	switch w.Kind {
	case CPUWork:
		return "cpu:" + w.D.String()
	case SleepWork:
		return "sleep:" + w.D.String()
	}
	return "none"
}

// Do performs the work on the calling thread.
func (w Work) Do() {
	switch w.Kind {
	case CPUWork:
		for start := time.Now(); time.Since(start) < w.D; {
		}
	case SleepWork:
		time.Sleep(w.D)
	}
}

// parseAddr parses addr as an IP literal and port ("localhost" means
// 127.0.0.1): servers bind addresses, they do not resolve names.
func parseAddr(addr string) (netip.AddrPort, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return netip.AddrPort{}, fmt.Errorf("servers: %w: address %q: want HOST:PORT, e.g. 127.0.0.1:7000", ErrConfig, addr)
	}
	host, ps := strings.Trim(addr[:i], "[]"), addr[i+1:]
	port, err := strconv.ParseUint(ps, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("servers: %w: address %q: port must be 0 to 65535", ErrConfig, addr)
	}
	switch host {
	case "localhost":
		host = "127.0.0.1"
	case "":
		host = "0.0.0.0"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("servers: %w: address %q: host must be an IP address or localhost", ErrConfig, addr)
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
}

// counters is the bookkeeping behind Stats, shared by every model.
type counters struct {
	accepted, refused atomic.Uint64
	active            atomic.Int64
	peakThreads       atomic.Int64

	mu       sync.Mutex
	refusals map[string]uint64
	logf     func(format string, args ...any)
}

// refuse counts a connection closed at once for reason, and logs the first
// of each reason (the rest are counted, not logged: one clear line).
func (c *counters) refuse(reason string) {
	c.refused.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refusals == nil {
		c.refusals = map[string]uint64{}
	}
	c.refusals[reason]++
	if c.refusals[reason] == 1 && c.logf != nil {
		c.logf("refusing connections: %s (counted; further refusals are not logged)", reason)
	}
}

// raiseThreadLimit makes room in the runtime for maxConns connection
// threads plus its own (sysmon, GC workers, idle Ps): Go aborts the whole
// process past debug.SetMaxThreads (default 10000).
func raiseThreadLimit(maxConns int) {
	if need := maxConns + 256; need > 10000 {
		if prev := debug.SetMaxThreads(need); prev > need {
			debug.SetMaxThreads(prev)
		}
	}
}

// admitThread admits one more connection thread unless limit are already
// running, and keeps the peak; a connection refused here is counted by
// the caller before it closes it, so the client can't see the close first.
func (c *counters) admitThread(limit int) bool {
	var n int64
	for {
		n = c.active.Load()
		if n >= int64(limit) {
			return false
		}
		if c.active.CompareAndSwap(n, n+1) {
			break
		}
	}
	c.accepted.Add(1)
	for {
		peak := c.peakThreads.Load()
		if n+1 <= peak || c.peakThreads.CompareAndSwap(peak, n+1) {
			return true
		}
	}
}

func (c *counters) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Stats{
		Accepted:    c.accepted.Load(),
		Refused:     c.refused.Load(),
		Active:      c.active.Load(),
		PeakThreads: c.peakThreads.Load(),
		Refusals:    map[string]uint64{},
	}
	for k, v := range c.refusals {
		s.Refusals[k] = v
	}
	return s
}

// releaser releases, once, what a server owns (descriptors, handles),
// last added first, and then its listener: the part of Close every OS's
// base shares.
type releaser struct {
	once sync.Once
	fns  []func() error
}

// onRelease adds something the server owns to what Close releases.
func (r *releaser) onRelease(f func() error) { r.fns = append(r.fns, f) }

// releaseAll runs the releases the first time, then listener (if any).
func (r *releaser) releaseAll(listener func() error) error {
	var errs []error
	r.once.Do(func() {
		for i := len(r.fns) - 1; i >= 0; i-- {
			errs = append(errs, r.fns[i]())
		}
		if listener != nil {
			errs = append(errs, listener())
		}
	})
	return errors.Join(errs...)
}

// lifecycle makes Serve, Close and a cancelled context agree: stop is called
// once to unblock the model's loop, Close waits for Serve to return.
type lifecycle struct {
	stopOnce sync.Once
	stopping chan struct{} // closed when the server must stop
	started  atomic.Bool
	served   chan struct{} // closed when Serve has returned
	wake     func()        // unblocks the model's wait; called once, after stopping is closed
}

func newLifecycle() lifecycle {
	return lifecycle{stopping: make(chan struct{}), served: make(chan struct{})}
}

func (l *lifecycle) stop() {
	l.stopOnce.Do(func() {
		close(l.stopping)
		if l.wake != nil {
			l.wake()
		}
	})
}

func (l *lifecycle) stopped() bool {
	select {
	case <-l.stopping:
		return true
	default:
		return false
	}
}

// begin marks Serve as started and stops the server when ctx is done; the
// returned func must be deferred by Serve.
func (l *lifecycle) begin(ctx context.Context) (end func(), err error) {
	if !l.started.CompareAndSwap(false, true) {
		return nil, errors.New("servers: Serve called twice")
	}
	go func() {
		select {
		case <-ctx.Done():
			l.stop()
		case <-l.served:
		}
	}()
	return func() { close(l.served) }, nil
}

// serve is the frame of every model's Serve: it marks Serve as started,
// returns at once if the server was already closed, and runs loop — on a
// locked OS thread when the model's state is bound to one (an APC queue,
// an io_uring with a single issuer) or it simply owns a core.
func (l *lifecycle) serve(ctx context.Context, lockThread bool, loop func() error) error {
	end, err := l.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	if l.stopped() {
		return nil
	}
	if lockThread {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	return loop()
}

// shutdown stops the server and waits for a running Serve to return.
func (l *lifecycle) shutdown() {
	l.stop()
	if l.started.Load() {
		<-l.served
	}
}
