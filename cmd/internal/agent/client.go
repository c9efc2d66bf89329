package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"iobench/cmd/internal/matrix"
	"iobench/results"
)

// ClientConfig is how the runner reaches an agent.
type ClientConfig struct {
	Addr  string // HOST:PORT
	Token string
	// CAFile, when set, is the PEM of the CA that signed the agent's
	// certificate; Pin, when set, the SHA-256 (hex) of the agent's
	// certificate. Either makes the connection TLS.
	CAFile string
	Pin    string
}

// Client is a session with an agent: the runner's matrix.Host.
type Client struct {
	base  string
	token string
	http  *http.Client
	id    string
	Hello Hello

	stopRenew chan struct{}
	renewed   sync.WaitGroup
	mu        sync.Mutex
	renewErr  error
}

// Dial greets the agent and opens a session, renewed until Close.
func Dial(ctx context.Context, cfg ClientConfig) (*Client, error) {
	c := &Client{base: "http://" + cfg.Addr, token: cfg.Token, http: &http.Client{Timeout: 30 * time.Second}, stopRenew: make(chan struct{})}
	if cfg.CAFile != "" || cfg.Pin != "" {
		tc, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		c.base = "https://" + cfg.Addr
		c.http.Transport = &http.Transport{TLSClientConfig: tc}
	}
	if err := c.call(ctx, http.MethodGet, pathHello, nil, &c.Hello); err != nil {
		return nil, err
	}
	var s SessionReply
	if err := c.call(ctx, http.MethodPost, pathSession, struct{}{}, &s); err != nil {
		return nil, err
	}
	c.id = s.ID
	lease := time.Duration(s.LeaseMS) * time.Millisecond
	c.renewed.Add(1)
	go c.renew(max(lease/3, 100*time.Millisecond))
	return c, nil
}

// ErrConfig marks a runner's own settings as the problem (a pin or CA
// file that can't be used), not the agent or the network.
var ErrConfig = errors.New("bad setting")

func tlsConfig(cfg ClientConfig) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("agent: %w: %w", ErrConfig, err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("agent: %w: no PEM certificate in %s", ErrConfig, cfg.CAFile)
		}
	}
	if cfg.Pin != "" {
		want, err := hex.DecodeString(strings.ReplaceAll(cfg.Pin, ":", ""))
		if err != nil || len(want) != sha256.Size {
			return nil, fmt.Errorf("agent: %w: bad pin %q: want the certificate's SHA-256 in hex", ErrConfig, cfg.Pin)
		}
		if cfg.CAFile == "" {
			tc.InsecureSkipVerify = true // the pin below is the check
		}
		tc.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) > 0 {
				if got := sha256.Sum256(raw[0]); bytes.Equal(got[:], want) {
					return nil
				}
			}
			return errors.New("agent: the agent's certificate does not match --agent-pin")
		}
	}
	return tc, nil
}

// call sends one request and decodes the reply into out (nil: none).
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.id != "" {
		req.Header.Set(sessionHeader, c.id)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("agent: reading its reply: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return ErrBadToken
	case resp.StatusCode == http.StatusConflict && path == pathSession:
		return ErrBusy
	case resp.StatusCode >= 300:
		var e errorReply
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("agent: %s", e.Error)
		}
		return fmt.Errorf("agent: %s %s: %s", method, path, resp.Status)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("agent: malformed reply to %s: %w", path, err)
		}
	}
	return nil
}

func (c *Client) renew(every time.Duration) {
	defer c.renewed.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.stopRenew:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), every)
			err := c.call(ctx, http.MethodPost, pathRenew, struct{}{}, nil)
			cancel()
			if err != nil {
				c.mu.Lock()
				c.renewErr = err
				c.mu.Unlock()
			}
		}
	}
}

// takeRenewErr is the last renewal's failure since it was last taken.
func (c *Client) takeRenewErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.renewErr
	c.renewErr = nil
	return err
}

// Close ends the session: the agent stops whatever is still running.
func (c *Client) Close() error {
	close(c.stopRenew)
	c.renewed.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.call(ctx, http.MethodDelete, pathSession, nil, nil)
}

// Environment is the server host's.
func (c *Client) Environment() results.Environment { return c.Hello.Environment }

// Loopback reports whether the agent is on this machine's loopback.
func (c *Client) Loopback() bool {
	host, _, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(c.base, "https://"), "http://"))
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// Start asks the agent for a server.
func (c *Client) Start(ctx context.Context, spec matrix.Spec) (matrix.Server, error) {
	var r StartReply
	if err := c.call(ctx, http.MethodPost, pathServers, StartRequest{Model: spec.Variant.Model, Settings: spec.Variant.Settings, Work: spec.Work, CPUs: spec.CPUs}, &r); err != nil {
		return nil, err
	}
	return &remote{c: c, id: r.ID, addr: r.Addr}, nil
}

// remote is a server on the agent's host.
type remote struct {
	c    *Client
	id   string
	addr string
}

func (s *remote) Addr() string { return s.addr }

func (s *remote) Mark(ctx context.Context, end bool) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return s.c.call(ctx, http.MethodPost, pathServers+"/"+s.id+"/mark", MarkRequest{End: end}, nil)
}

// Stop asks the agent to stop the server, even after ctx is cancelled (a
// Ctrl-C'd run), within 30 s. A renewal of the session that failed since
// the last stop is said on the cell: the agent may have ended the session
// (and stopped its servers) meanwhile.
func (s *remote) Stop(ctx context.Context, replies uint64) matrix.Stopped {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var st matrix.Stopped
	if err := s.c.call(ctx, http.MethodPost, pathServers+"/"+s.id+"/stop", StopRequest{Replies: replies}, &st); err != nil {
		st = matrix.Stopped{Note: "could not be stopped through the agent: " + err.Error(), Died: true}
	}
	if err := s.c.takeRenewErr(); err != nil {
		st.Warnings = append(st.Warnings, results.Warn(results.CodeLease, "renewing the session with the agent failed (it may have ended the session): %v", err))
	}
	return st
}
