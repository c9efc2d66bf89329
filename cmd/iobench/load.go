package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"iobench/internal/buildinfo"
	"iobench/loadgen"
	"iobench/report"
	"iobench/results"
)

type loadFlags struct {
	cfg     loadgen.Config
	mode    string
	size    string
	json    string
	hgrm    string
	shard   string
	startAt string
	barrier string // --start-barrier: a folder every shard sees
	quiet   bool
	// The time series: a live line per interval (--interval given),
	// an HdrHistogram interval log, a JSON object per interval.
	liveIntervals bool
	hlog          string
	jsonStream    bool
	// repeat runs the load this many times (load's own flag, not
	// passed to shards); label names the server in the suite it writes.
	repeat int
	label  string
}

func newLoadCmd() *cobra.Command {
	var f loadFlags
	cmd := &cobra.Command{
		Use:   "load --addr HOST:PORT [flags]",
		Short: "Drive any TCP echo server and measure it",
		Long: `Drive any TCP echo server (an iobench one or anyone's) and print a summary.

Modes:
  closed  each connection keeps --depth messages in flight (maximum throughput)
  rate    --rate messages/s on a fixed schedule; latency is timed from the
          schedule (corrected for coordinated omission) and from the send
  stream  each connection keeps its pipe full; reports bandwidth
  churn   --conns transactions at once, each a new connection that sends one
          message, reads the echo and closes (netperf TCP_CRR): what
          accepting costs; replies count transactions

Every reply is verified byte by byte. Ctrl-C stops the run, writes what was
measured (marked interrupted) and exits 130.

Rate mode offered more than the server carries is measured, not failed:
the summary gives the replies/s the server did carry, the backlog and the
corrected latency (requests unanswered at the end counted at their age,
"≥" on the percentiles that rest on them), the generator's own lateness,
and warns "overloaded".

Exit status: 0 when the run measured what it was asked (an overloaded
server included); 1 when it failed —
a reply did not match what was sent, the server closed or reset busy
connections, a request waited longer than --stall-after for its reply (a
stalled connection: a server that stopped answering), or no reply came at all (the summary and --json are written
all the same, with the reasons); 2 on bad input; 130 when interrupted.`,
		Example: `  iobench load --addr 127.0.0.1:7000 --conns 100 --duration 10s
  iobench load --addr 127.0.0.1:7000 --mode rate --rate 20000 --conns 50 --json run.json
  iobench load --addr 127.0.0.1:7000 --mode stream --size 65536 --conns 4
  iobench load --addr 127.0.0.1:7000 --mode churn --conns 50
  iobench load --addr 127.0.0.1:7000 --conns 100 --interval 1s --hlog run.hlog
  iobench load --addr 127.0.0.1:7000 --conns 10 --idle-conns 9990 --connect-rate 2000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.liveIntervals = cmd.Flags().Changed("interval") && !f.quiet
			return load(cmd, f)
		},
	}
	bindLoadFlags(cmd.Flags(), &f)
	bindRepeatFlags(cmd.Flags(), &f)
	countCallsAlways(cmd.Flags())
	return cmd
}

// countCallsAlways keeps --count-calls (opt-in in an earlier build) as a
// flag that is accepted, hidden and says it is no longer needed: system
// calls are counted by name in every run now, at no cost over the total.
func countCallsAlways(fl *pflag.FlagSet) {
	fl.Bool("count-calls", true, "")
	_ = fl.MarkDeprecated("count-calls", "system calls are counted by name in every run now")
}

// bindLoadFlags binds load's flags to f: one definition for load and for
// the commands that pass them on (k8s).
func bindLoadFlags(fl *pflag.FlagSet, f *loadFlags) {
	fl.StringVar(&f.cfg.Addr, "addr", "", "HOST:PORT of the echo server (required)")
	fl.StringVar(&f.mode, "mode", "closed", "closed, rate, stream or churn")
	fl.IntVar(&f.cfg.Conns, "conns", 1, "busy connections")
	fl.IntVar(&f.cfg.Depth, "depth", 1, "messages in flight per connection (1 = ping-pong)")
	fl.Float64Var(&f.cfg.Rate, "rate", 0, "rate mode: messages per second over all connections")
	fl.StringVar(&f.size, "size", "64", "message size in bytes, or a range MIN-MAX")
	fl.DurationVar(&f.cfg.Duration, "duration", loadgen.DefaultDuration, "measured time, after the warmup")
	fl.DurationVar(&f.cfg.Warmup, "warmup", loadgen.DefaultWarmup, "time excluded from every result")
	fl.Float64Var(&f.cfg.ConnectRate, "connect-rate", 0, "new connections per second (0 = unlimited)")
	fl.DurationVar(&f.cfg.ConnectTimeout, "connect-timeout", loadgen.DefaultConnectTimeout, "give up on a connection after this long")
	fl.IntVar(&f.cfg.IdleConns, "idle-conns", 0, "extra connections that stay silent all run")
	fl.IntVar(&f.cfg.Workers, "workers", 0, "threads driving connections (0 = one per usable CPU)")
	fl.StringVar(&f.cfg.Engine, "engine", "", "uring (Linux default where io_uring has multishot recv and buffer rings: cheapest), epoll (the Linux fallback) or net (portable)")
	fl.StringVar(&f.json, "json", "", "write the run as JSON to this file (- for stdout; the summary then goes to stderr)")
	fl.StringVar(&f.hgrm, "hgrm", "", "write the latency distribution for HdrHistogram's plotter to this file (values in microseconds, said in the file)")
	fl.StringVar(&f.shard, "shard", "", "run shard I/N of the load (0 ≤ I < N): this process's share of --conns, --idle-conns and --rate; iobench merge joins the shards")
	fl.StringVar(&f.startAt, "start-at", "", "with --shard: begin the warmup at this instant (RFC 3339, e.g. 2026-11-26T10:00:00Z), after connecting, so every shard starts together")
	fl.StringVar(&f.barrier, "start-barrier", "", "with --shard and --start-at: a folder every shard sees (a shared volume); each writes when it connected there, and all begin at the later of --start-at and 2s after the last one connected")
	fl.BoolVar(&f.quiet, "quiet", false, "no live progress line")
	fl.DurationVar(&f.cfg.Interval, "interval", loadgen.DefaultInterval, "time series step; given, a line per interval is printed on stderr (like iperf3)")
	fl.DurationVar(&f.cfg.StallAfter, "stall-after", loadgen.DefaultStallAfter, "a request waiting longer than this for its reply stalls its connection: the run fails")
	fl.StringVar(&f.hlog, "hlog", "", "write the latency of every interval as an HdrHistogram interval log (.hlog, values in nanoseconds) to this file")
	fl.BoolVar(&f.jsonStream, "json-stream", false, "write one JSON object per interval on stdout as the run goes (the summary then goes to stderr)")
}

// checkSettings validates what the flags say, as the library will see
// it, without touching this machine (no files, no descriptor limit): the
// checks a manifest for other machines needs too.
func (f *loadFlags) checkSettings(now time.Time) error {
	var err error
	if f.cfg.SizeMin, f.cfg.SizeMax, err = loadgen.ParseSize(f.size); err != nil {
		return settingErr("load", err)
	}
	if f.jsonStream && f.json == "-" {
		return usageErr("load: --json - and --json-stream both write to stdout: give --json a file")
	}
	f.cfg.Mode = loadgen.Mode(f.mode)
	if err := f.cfg.Validate(); err != nil { // as typed: before this shard's share is taken
		return settingErr("load", err)
	}
	if err := applyShard(f, now); err != nil {
		return err
	}
	if err := f.cfg.Normalize(); err != nil {
		return settingErr("load", err)
	}
	return nil
}

// loadFlagNames spells loadgen.Config's settings as load's and run's
// flags, so that loadgen's one check speaks of what the user typed.
var loadFlagNames = map[string]string{
	"Addr": "--addr", "Mode": "--mode", "Conns": "--conns", "IdleConns": "--idle-conns", "Depth": "--depth", "Size": "--size",
	"Rate": "--rate", "Duration": "--duration", "Warmup": "--warmup", "ConnectTimeout": "--connect-timeout",
	"ConnectRate": "--connect-rate", "Workers": "--workers", "Engine": "--engine", "Interval": "--interval", "StallAfter": "--stall-after",
}

// settingErr is loadgen's refusal of a setting as one line naming the
// flag (exit 2).
func settingErr(command string, err error) error {
	var se *loadgen.SettingError
	if !errors.As(err, &se) {
		return usageErr("%s: %v", command, err)
	}
	name := loadFlagNames[se.Field]
	if name == "" {
		name = se.Field
	}
	if se.Value == "" {
		return usageErr("%s: %s is required: %s", command, name, se.Want)
	}
	return usageErr("%s: %s %v: want %s", command, name, se.Value, se.Want)
}

// applyShard turns the whole load's settings into this shard's share.
func applyShard(f *loadFlags, now time.Time) error {
	if f.shard == "" {
		if f.startAt != "" {
			return usageErr("load: --start-at needs --shard I/N")
		}
		if f.barrier != "" {
			return usageErr("load: --start-barrier needs --shard I/N")
		}
		return nil
	}
	if f.barrier != "" && f.startAt == "" {
		return usageErr("load: --start-barrier needs --start-at (the earliest start, and the barrier's name)")
	}
	i, n, err := loadgen.ParseShard(f.shard)
	if err != nil {
		return usageErr("%v", err)
	}
	sh := &results.Shard{Index: i, Count: n, TotalConns: f.cfg.Conns, TotalIdle: f.cfg.IdleConns, TotalRate: f.cfg.Rate}
	if f.startAt != "" {
		if sh.StartAt, err = time.Parse(time.RFC3339Nano, f.startAt); err != nil {
			return usageErr("load: --start-at %q: want an RFC 3339 time such as 2026-11-26T10:00:00Z", f.startAt)
		}
		// Past is too late, unless a barrier lets a late shard move the
		// start for all (a slow image pull).
		if !sh.StartAt.After(now) && f.barrier == "" {
			return usageErr("load: --start-at %s is already past (now %s)", sh.StartAt.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	}
	conns := loadgen.ShareOf(f.cfg.Conns, i, n)
	if conns == 0 {
		return usageErr("load: --shard %s of --conns %d: this shard would get no busy connection; use at most %d shards", f.shard, f.cfg.Conns, f.cfg.Conns)
	}
	if f.cfg.Rate > 0 {
		f.cfg.Rate = f.cfg.Rate * float64(conns) / float64(f.cfg.Conns) // every connection at the same rate
	}
	f.cfg.Conns, f.cfg.IdleConns = conns, loadgen.ShareOf(f.cfg.IdleConns, i, n)
	f.cfg.Shard = sh
	if f.barrier != "" {
		if fi, err := os.Stat(f.barrier); err != nil || !fi.IsDir() {
			return usageErr("load: --start-barrier %s: want a folder every shard sees", f.barrier)
		}
		f.cfg.StartBarrier = startBarrier(f.barrier, i, n, sh.StartAt)
	}
	return nil
}

// load runs the load; when it fails before measuring anything and the
// run was to go to a --json file, it leaves FILE.failed with the reason,
// so that whoever waits for the file (merge --wait) learns at once.
func load(cmd *cobra.Command, f loadFlags) error {
	err := loadRun(cmd, f)
	var ee *exitError
	if err != nil && f.json != "" && f.json != "-" && !(errors.As(err, &ee) && ee.code != 2) {
		if _, statErr := os.Stat(f.json); statErr != nil {
			// A missing folder is the run's own complaint already; any
			// other failure to leave the marker is said on stderr (the
			// run's error stays the line that decides the exit).
			if werr := os.WriteFile(f.json+".failed", []byte(err.Error()+"\n"), 0o644); werr != nil && !errors.Is(werr, fs.ErrNotExist) {
				fmt.Fprintf(cmd.ErrOrStderr(), "iobench: load: could not leave %s.failed for whoever waits: %v\n", f.json, werr)
			}
		}
	}
	return err
}

func loadRun(cmd *cobra.Command, f loadFlags) error {
	for _, p := range []string{f.json, f.hgrm, f.hlog} {
		if err := checkOutputFile(p); err != nil {
			return usageErr("load: %v", err)
		}
	}
	f.cfg.Version = buildinfo.Version()
	if err := f.checkSettings(time.Now()); err != nil {
		return err
	}
	if err := f.checkRepeat(); err != nil {
		return err
	}
	if err := loadgen.CheckFDs(f.cfg.Conns + f.cfg.IdleConns); err != nil {
		return usageErr("%v", err)
	}
	stderr := cmd.ErrOrStderr()
	series, err := newSeriesWriter(cmd.OutOrStdout(), stderr, f)
	if err != nil {
		return err
	}
	defer series.close()
	f.cfg.OnInterval = series.interval
	if f.liveIntervals || f.jsonStream {
		f.quiet = true // the lines are the progress
	}
	if bar := progressBar(stderr, f); bar != nil {
		f.cfg.Progress = func(p loadgen.Progress) {
			phase := "measuring"
			if p.Warmup {
				phase = "warmup"
			}
			bar.Describe(fmt.Sprintf("%s %5.1fs  %s msg/s  p99 %s  conns %d/%d", phase, p.Elapsed.Seconds(),
				report.Count(p.RatePerSec), report.Dur(int64(p.P99)), p.Established, p.Requested))
			bar.Set64(int64(p.Elapsed / time.Second))
		}
		defer bar.Clear()
	}

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if f.repeat > 1 {
		return loadRepeated(ctx, cmd, f)
	}
	run, err := loadgen.Run(ctx, f.cfg)
	if err != nil {
		return err
	}
	summary := cmd.OutOrStdout()
	if f.json == "-" || f.jsonStream {
		summary = stderr
	}
	return errors.Join(series.close(), writeRun(cmd.OutOrStdout(), summary, run, f.json, f.hgrm))
}

// seriesWriter writes the time series as the run goes: a line per
// interval, a JSON object per interval, an HdrHistogram interval log.
// It runs on the generator's interval goroutine; the first error is kept
// and returned by close.
type seriesWriter struct {
	live, stream io.Writer // nil: not asked for
	hlogFile     *os.File
	hlog         *hdrhistogram.HistogramLogWriter
	started      bool
	err          error
}

func newSeriesWriter(stdout, stderr io.Writer, f loadFlags) (*seriesWriter, error) {
	w := &seriesWriter{}
	if f.liveIntervals {
		w.live = stderr
	}
	if f.jsonStream {
		w.stream = stdout
	}
	if f.hlog != "" {
		file, err := os.Create(f.hlog)
		if err != nil {
			return nil, usageErr("load: --hlog: %v", err)
		}
		w.hlogFile, w.hlog = file, hdrhistogram.NewHistogramLogWriter(file)
	}
	return w, nil
}

func (w *seriesWriter) interval(iv results.Interval, h *hdrhistogram.Histogram) {
	if w.err != nil {
		return
	}
	if w.live != nil {
		phase := ""
		if iv.Warmup {
			phase = "  (warmup)"
		}
		secs := float64(iv.StartNS) / 1e9
		_, w.err = fmt.Fprintf(w.live, "[%6.1fs] %8d replies  p50 %-8s p99 %-8s max %-8s waiting %d, oldest %s%s\n",
			secs, iv.Replies, report.Dur(iv.P50NS), report.Dur(iv.P99NS), report.Dur(iv.MaxNS), iv.Outstanding, report.Dur(iv.OldestNS), phase)
	}
	if w.stream != nil && w.err == nil {
		var b []byte
		if b, w.err = json.Marshal(iv); w.err == nil {
			_, w.err = w.stream.Write(append(b, '\n'))
		}
	}
	if w.hlog != nil && w.err == nil {
		if !w.started {
			w.started = true
			// Timestamps relative to the first interval's start.
			w.hlog.SetBaseTime(h.StartTimeMs())
			w.err = errors.Join(w.hlog.OutputLogFormatVersion(), w.hlog.OutputComment("[iobench load: reply latency in nanoseconds; HistogramLogProcessor -outputValueUnitRatio 1000000 prints milliseconds]"),
				w.hlog.OutputStartTime(h.StartTimeMs()), w.hlog.OutputBaseTime(h.StartTimeMs()), w.hlog.OutputLegend())
		}
		if w.err == nil {
			w.err = w.hlog.OutputIntervalHistogram(h)
		}
	}
}

// close finishes the interval log; it may be called again.
func (w *seriesWriter) close() error {
	if w.hlogFile != nil {
		if err := w.hlogFile.Close(); err != nil && w.err == nil {
			w.err = fmt.Errorf("load: --hlog: %w", err)
		}
		w.hlogFile = nil
	}
	return w.err
}

// checkLoadFlags rejects zero or negative counts and durations: a flag
// given as 0 is a mistake, not a request for the default.

// writeRun prints the summary and writes the files asked for (JSON "-"
// to stdout); an interrupted run is written all the same and exits 130, a
// failed one exits 1.
func writeRun(stdout, summary io.Writer, run *results.Run, jsonPath, hgrmPath string) error {
	var errs []error
	switch jsonPath {
	case "":
	case "-":
		errs = append(errs, run.Write(stdout))
	default:
		errs = append(errs, run.WriteFile(jsonPath))
	}
	if hgrmPath != "" {
		errs = append(errs, writeHgrm(hgrmPath, run))
	}
	errs = append(errs, report.WriteRun(summary, run))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	switch {
	case run.Interrupted:
		return &exitError{code: 130, err: errors.New("interrupted; partial results written")}
	case run.Failed():
		return &exitError{code: 1, err: fmt.Errorf("load: the run failed: %s", strings.Join(results.Lines(run.Failures), "; "))}
	}
	return nil
}

// checkOutputFile checks, before anything is measured, that path ("" and
// "-" need nothing) can be written: its folder exists and takes files.
func checkOutputFile(path string) error {
	if path == "" || path == "-" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a folder, want a file", path)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".iobench-check-*")
	if err != nil {
		return fmt.Errorf("can't write %s: %v", path, errors.Unwrap(err))
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

func writeHgrm(path string, run *results.Run) error {
	h, err := run.Latency()
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if h == nil {
		h = results.NewHistogram()
	}
	if err := results.WriteHgrm(f, h); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// progressBar returns a live line on stderr when it is a terminal.
func progressBar(w io.Writer, f loadFlags) *progressbar.ProgressBar {
	file, ok := w.(*os.File)
	if f.quiet || !ok || !term.IsTerminal(int(file.Fd())) {
		return nil
	}
	total := int64((f.cfg.Warmup + f.cfg.Duration) / time.Second)
	return progressbar.NewOptions64(max(total, 1),
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(20),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionThrottle(200*time.Millisecond),
	)
}
