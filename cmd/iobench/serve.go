package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"iobench/cmd/internal/serveproto"
	"iobench/servers"

	"github.com/spf13/cobra"
)

// serveFlags are the flags of iobench serve.
type serveFlags struct {
	model     string
	work      string
	recv      string
	stopOnEOF bool
	cfg       servers.Config
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve --model M [flags]",
		Short: "Run one echo server until SIGINT or SIGTERM",
		Long: `Run one echo server until SIGINT or SIGTERM, then close every connection and
exit 0. The first line on stdout is exactly

  listening on HOST:PORT (model M)

with the real port when --addr asks for port 0. Notices go to stderr.`,
		Example: `  iobench serve --model epoll
  iobench serve --model epoll --edge --loops 2 --addr 127.0.0.1:0
  iobench serve --model blocking --work sleep:1ms
  iobench serve --model iouring --workers 2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.model, "model", "", "IO model to serve (see iobench list), or a variant spelled as run's --models does (epoll:edge:loops=2)")
	fl.StringVar(&f.cfg.Addr, "addr", servers.DefaultAddr, "address to listen on; port 0 picks a free one")
	fl.IntVar(&f.cfg.Loops, "loops", 1, servers.SettingHelp("loops"))
	fl.BoolVar(&f.cfg.Edge, "edge", false, servers.SettingHelp("edge"))
	fl.IntVar(&f.cfg.MaxMsg, "max-msg", servers.DefaultMaxMsg, "bytes read at once, the most a connection holds in the server")
	fl.IntVar(&f.cfg.Workers, "workers", 0, servers.SettingHelp("workers"))
	fl.BoolVar(&f.cfg.BufRing, "buf-ring", false, servers.SettingHelp("buf-ring"))
	fl.StringVar(&f.recv, "recv", "auto", servers.SettingHelp("recv"))
	fl.IntVar(&f.cfg.MaxThreads, "max-threads", 0, servers.SettingHelp("max-threads"))
	fl.StringVar(&f.work, "work", "none", "simulated work per read before the reply: none, cpu:DURATION or sleep:DURATION")
	fl.BoolVar(&f.stopOnEOF, serveproto.StopOnEOFFlag, false, "stop cleanly when stdin ends (how iobench run stops its servers on Windows)")
	_ = fl.MarkHidden(serveproto.StopOnEOFFlag)
	return cmd
}

func serve(cmd *cobra.Command, f serveFlags) error {
	spec, err := f.check(cmd)
	if err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	f.cfg.Logf = func(format string, args ...any) {
		fmt.Fprintf(stderr, "iobench serve: "+format+"\n", args...)
	}
	srv, err := servers.Open(spec.Model, f.cfg)
	if errors.Is(err, servers.ErrUnknownModel) || errors.Is(err, servers.ErrConfig) {
		return &exitError{code: 2, err: err}
	}
	if err != nil {
		return err
	}
	defer srv.Close()
	if _, err := fmt.Fprintln(cmd.OutOrStdout(), serveproto.Line(srv.Addr(), spec)); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if f.stopOnEOF {
		go func() {
			_, _ = io.Copy(io.Discard, cmd.InOrStdin())
			stop()
		}()
	}
	serveErr := srv.Serve(ctx)
	closeErr := srv.Close()
	closeErr = errors.Join(closeErr, sayStopped(cmd.OutOrStdout(), stderr, srv.Stats()))
	return errors.Join(serveErr, closeErr)
}

// sayStopped writes the stop line the runner reads (stdout) and the
// person's account of it (stderr).
func sayStopped(stdout, stderr io.Writer, st servers.Stats) error {
	_, err := fmt.Fprintln(stdout, serveproto.StatsLine(st))
	fmt.Fprintf(stderr, "iobench serve: stopped: connections served %d, refused %d", st.Accepted, st.Refused)
	if st.PeakThreads > 0 {
		fmt.Fprintf(stderr, ", peak %d connection threads", st.PeakThreads)
	}
	fmt.Fprintln(stderr)
	for reason, n := range st.Refusals {
		fmt.Fprintf(stderr, "iobench serve: refused %d: %s\n", n, reason)
	}
	return err
}

// check reads serve's flags into f.cfg and the variant to serve, each
// refused with one line naming the flag.
func (f *serveFlags) check(cmd *cobra.Command) (servers.Spec, error) {
	var spec servers.Spec
	names := strings.Join(servers.AvailableNames(), ", ")
	if f.model == "" {
		return spec, usageErr("serve: --model is required (available here: %s)", names)
	}
	work, err := servers.ParseWork(f.work)
	if err != nil {
		return spec, usageErr("%v", err)
	}
	// A flag given is a value: 0 is not one (leaving it out is the
	// default); the ranges are servers.Config.Validate's.
	for _, name := range []string{"loops", "max-threads", "max-msg"} {
		if v, _ := cmd.Flags().GetInt(name); cmd.Flags().Changed(name) && v < 1 {
			return spec, usageErr("serve: --%s %d: want at least 1 (leave it out for the default)", name, v)
		}
	}
	f.cfg.Work = work
	if f.cfg.Recv, err = servers.ParseRecvMode(f.recv); err != nil {
		return spec, usageErr("serve: --recv: %v", err)
	}
	// --model may spell a variant (epoll:loops=4): its settings, or the
	// flags', never both.
	spec, err = servers.ParseSpec(f.model)
	if err != nil {
		return spec, usageErr("serve: --model: %v", err)
	}
	if spec.IsVariant() {
		for _, name := range []string{"loops", "edge", "workers", "recv", "buf-ring", "max-threads"} {
			if cmd.Flags().Changed(name) {
				return spec, usageErr("serve: --model %s and --%s: give the settings one way", f.model, name)
			}
		}
		f.cfg.Settings = spec.Settings
	}
	spec = servers.Spec{Model: spec.Model, Settings: f.cfg.Settings}
	if err := f.cfg.Validate(spec.Model); err != nil {
		return spec, serverSettingErr("serve", err)
	}
	return spec, nil
}

// serverSettingErr is servers' refusal of a setting as one line naming
// the flag (exit 2), as settingErr does for the load's.
func serverSettingErr(command string, err error) error {
	var se *servers.SettingError
	if !errors.As(err, &se) {
		return usageErr("%s: %v", command, err)
	}
	return usageErr("%s: --%s %v: want %s", command, se.Setting, se.Value, se.Want)
}
