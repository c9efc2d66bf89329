package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"iobench/cmd/internal/agent"
	"iobench/cmd/internal/matrix"
	"iobench/internal/buildinfo"
)

// tokenEnv is the environment variable that may hold the agent's token.
const tokenEnv = "IOBENCH_AGENT_TOKEN"

type agentFlags struct {
	listen, tokenFile, tlsCert, tlsKey string
	lease                              time.Duration
}

func newAgentCmd() *cobra.Command {
	var f agentFlags
	cmd := &cobra.Command{
		Use:   "agent [--listen ADDR] [--token-file F]",
		Short: "Serve the models on this host for a runner on another (iobench run --agent)",
		Long: `Run on the server host; iobench run --agent HOST:PORT on the generator host
then runs its whole matrix with the servers here. The first line on stdout is
exactly

  agent listening on HOST:PORT

The agent starts and stops iobench's own model servers on request (never an
arbitrary command), pinned to the CPUs asked for, bound to the address the
runner reached it on, measures them over the window the runner marks, and
reports this host's environment. One runner at a time; if the runner
vanishes its lease expires (--lease) and the agent stops its servers.

Security: listening on anything but loopback requires a token (--token-file,
or the environment variable IOBENCH_AGENT_TOKEN), compared in constant time;
without one the agent refuses to start. Over plain HTTP the token travels in
clear: give --tls-cert and --tls-key on networks you do not control (the
runner then trusts the agent with --agent-ca or --agent-pin).`,
		Example: `  iobench agent                                   # loopback, no token
  iobench agent --listen 10.0.0.5:7700 --token-file /etc/iobench/token
  iobench agent --listen 10.0.0.5:7700 --token-file token --tls-cert agent.pem --tls-key agent.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAgent(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:7700", "address to listen on (IP:PORT; port 0 picks a free one)")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the token runners must present (or set "+tokenEnv+")")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "serve TLS with this certificate (PEM)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "and this key (PEM)")
	fl.DurationVar(&f.lease, "lease", agent.DefaultLease, "stop a runner's servers when it has not renewed its session for this long")
	return cmd
}

// readToken reads the token from file, or from the environment.
func readToken(file string) (string, error) {
	if file == "" {
		return os.Getenv(tokenEnv), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("%s is empty", file)
	}
	return tok, nil
}

func runAgent(cmd *cobra.Command, f agentFlags) error {
	token, tlsCfg, err := f.check(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("agent: can't find this program to start servers: %w", err)
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	stderr := cmd.ErrOrStderr()
	a := &agent.Agent{Launcher: matrix.Launcher{Cmd: []string{exe}}, Token: token, Lease: f.lease, Version: buildinfo.Version(),
		Logf: func(format string, args ...any) {
			fmt.Fprintf(stderr, "%s iobench agent: "+format+"\n", append([]any{time.Now().UTC().Format(time.RFC3339)}, args...)...)
		}}
	if _, err := fmt.Fprintf(cmd.OutOrStdout(), "agent listening on %s\n", ln.Addr()); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	expired := make(chan struct{})
	go func() {
		a.Expire(ctx)
		close(expired)
	}()
	// Every connection is bounded in time and in number, whoever sends
	// it, and clients without the token give way to one with it.
	srv := a.NewHTTPServer()
	ln = agent.GuardListener(ln, agent.MaxConns)
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	err = srv.Serve(ln)
	stop()
	<-expired // every server stopped
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("agent: %w", err)
}

// check reads the agent's flags: the address, the token (required off
// loopback, long enough), the lease and TLS; each refused with one line.
func (f agentFlags) check(stderr io.Writer) (token string, tlsCfg *tls.Config, err error) {
	host, _, err := net.SplitHostPort(f.listen)
	ip := net.ParseIP(host)
	if err != nil || (host != "" && ip == nil) {
		return "", nil, usageErr("agent: --listen %q: want IP:PORT, e.g. 127.0.0.1:7700", f.listen)
	}
	token, err = readToken(f.tokenFile)
	if err != nil {
		return "", nil, usageErr("agent: --token-file: %v", err)
	}
	if token == "" && (ip == nil || !ip.IsLoopback()) {
		return "", nil, usageErr("agent: listening on %s (not loopback) needs a token: --token-file F or %s", f.listen, tokenEnv)
	}
	if token != "" && len(token) < agent.MinTokenLen {
		return "", nil, usageErr("agent: the token is %d bytes: want at least %d (e.g. head -c 24 /dev/urandom | base64)", len(token), agent.MinTokenLen)
	}
	if f.lease < agent.MinLease {
		return "", nil, usageErr("agent: --lease %v: want at least %v (the runner renews a third of the way through, at most every 100ms)", f.lease, agent.MinLease)
	}
	if ip != nil && ip.IsUnspecified() {
		fmt.Fprintf(stderr, "iobench agent: listening on every interface (%s); its model servers bind the address each runner reached\n", f.listen)
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return "", nil, usageErr("agent: give both --tls-cert and --tls-key, or neither")
	}
	if f.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return "", nil, usageErr("agent: %v", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return token, tlsCfg, nil
}
