package agent

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"iobench/cmd/internal/matrix"
	"iobench/results"
	"iobench/servers"
)

// Limits of the agent (docs/distributed.md, security model).
const (
	// MinTokenLen: a shorter token is refused when the agent starts.
	MinTokenLen = 16
	// MinLease: a shorter lease would expire between a runner's renewals.
	MinLease = time.Second
	// MaxServers is how many servers one session may have running.
	MaxServers = 8
	// MaxConns is how many connections the agent holds at once; past it
	// a new one evicts the oldest without the token (GuardListener).
	MaxConns = 64
	// DefaultFailDelay slows every refused token down, so guessing is slow.
	DefaultFailDelay = 200 * time.Millisecond
)

// Agent serves the protocol on the server host.
type Agent struct {
	// Launcher starts the servers: a matrix.Launcher of this program.
	Launcher matrix.Host
	Token    string        // "" only on loopback
	Lease    time.Duration // 0: DefaultLease
	Version  string
	Logf     func(format string, args ...any)
	// FailDelay is how long a refused token waits for its 401 (0:
	// DefaultFailDelay; negative: none, for tests).
	FailDelay time.Duration

	mu      sync.Mutex
	session string
	expires time.Time
	servers map[string]matrix.Server
	next    int
	// starting counts servers being spawned (their slots reserved).
	starting int
	refused  refusalLog
}

// Handler is the agent's HTTP handler.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathHello, a.hello)
	mux.HandleFunc("POST "+pathSession, a.open)
	mux.HandleFunc("POST "+pathRenew, a.renew)
	mux.HandleFunc("DELETE "+pathSession, a.close)
	mux.HandleFunc("POST "+pathServers, a.start)
	mux.HandleFunc("POST "+pathServers+"/{id}/mark", a.mark)
	mux.HandleFunc("POST "+pathServers+"/{id}/stop", a.stop)
	return a.auth(mux)
}

// Expire stops the servers of a session whose lease ran out: the runner
// vanished. It runs until ctx ends, and then stops every server.
func (a *Agent) Expire(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			a.mu.Lock()
			a.endLocked("the agent is stopping")
			a.mu.Unlock()
			return
		case now := <-t.C:
			a.mu.Lock()
			if a.session != "" && now.After(a.expires) {
				a.endLocked("its runner stopped renewing the lease")
			}
			a.mu.Unlock()
		}
	}
}

// endLocked ends the session and stops its servers.
func (a *Agent) endLocked(why string) {
	if a.session == "" {
		return
	}
	for id, s := range a.servers {
		s.Stop(context.Background(), 0)
		delete(a.servers, id)
	}
	a.logf("session %s ended: %s", a.session, why)
	a.session = ""
}

func (a *Agent) logf(format string, args ...any) {
	if a.Logf != nil {
		a.Logf(format, args...)
	}
}

func (a *Agent) lease() time.Duration {
	if a.Lease > 0 {
		return a.Lease
	}
	return DefaultLease
}

// auth checks the token in constant time, and the session for every
// request but hello and opening one.
func (a *Agent) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.Token != "" {
			// RFC 6750: "Bearer" (the scheme is case-insensitive), a space,
			// the token; nothing else is a credential.
			scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(got), []byte(a.Token)) != 1 {
				if d := cmp.Or(a.FailDelay, DefaultFailDelay); d > 0 {
					time.Sleep(d)
				}
				a.fail(w, r, http.StatusUnauthorized, "bad token (want Authorization: Bearer TOKEN)")
				return
			}
			trust(r.Context())
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		if r.URL.Path != pathHello && !(r.URL.Path == pathSession && r.Method == http.MethodPost) {
			a.mu.Lock()
			ok := a.session != "" && r.Header.Get(sessionHeader) == a.session
			a.mu.Unlock()
			if !ok {
				a.fail(w, r, http.StatusConflict, "no such session (expired, or held by another runner)")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the runner is gone if this fails
}

// decode reads a request body strictly; false after replying 4xx.
func (a *Agent) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.fail(w, r, http.StatusRequestEntityTooLarge, "request larger than %d bytes", MaxBody)
		} else {
			a.fail(w, r, http.StatusBadRequest, "malformed request: %v", err)
		}
		return false
	}
	// One JSON value and nothing after it.
	if _, err := dec.Token(); err != io.EOF {
		a.fail(w, r, http.StatusBadRequest, "malformed request: bytes after the JSON body")
		return false
	}
	return true
}

func (a *Agent) hello(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, Hello{Environment: results.CurrentEnvironment(a.Version), Models: servers.AvailableNames(), Facts: matrix.ModelFacts()})
}

func (a *Agent) open(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.session != "" && time.Now().Before(a.expires) {
		a.fail(w, r, http.StatusConflict, "busy: another runner holds this agent")
		return
	}
	a.endLocked("a new runner took over after its lease expired")
	var b [16]byte
	_, _ = rand.Read(b[:])
	a.session, a.expires, a.servers = hex.EncodeToString(b[:]), time.Now().Add(a.lease()), map[string]matrix.Server{}
	a.logf("session %s opened by %s", a.session, r.RemoteAddr)
	reply(w, http.StatusOK, SessionReply{ID: a.session, LeaseMS: a.lease().Milliseconds()})
}

func (a *Agent) renew(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.expires = time.Now().Add(a.lease())
	a.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (a *Agent) close(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.endLocked("its runner closed it")
	a.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// start starts a server bound to the address the runner reached us on.
func (a *Agent) start(w http.ResponseWriter, r *http.Request) {
	var req StartRequest
	if !a.decode(w, r, &req) {
		return
	}
	if _, err := servers.Lookup(req.Model); err != nil {
		a.fail(w, r, http.StatusBadRequest, "%v", err)
		return
	}
	variant := servers.Spec{Model: req.Model, Settings: req.Settings}
	if err := variant.Check(); err != nil {
		a.fail(w, r, http.StatusBadRequest, "%v", err)
		return
	}
	work, err := servers.ParseWork(req.Work)
	if err != nil {
		a.fail(w, r, http.StatusBadRequest, "%v", err)
		return
	}
	req.Work = work.String() // refused here, at the edge, if malformed; passed on in its one spelling (the child parses its flags again: a process boundary)
	if err := matrix.CheckCPUs(req.CPUs); err != nil {
		a.fail(w, r, http.StatusBadRequest, "cpus %v: %v", req.CPUs, err)
		return
	}
	sess := r.Header.Get(sessionHeader)
	// A slot is reserved before the server is spawned, so that starts
	// racing past the limit are refused (429) without spawning anything.
	a.mu.Lock()
	full := len(a.servers)+a.starting >= MaxServers
	if !full {
		a.starting++
	}
	a.mu.Unlock()
	if full {
		a.fail(w, r, http.StatusTooManyRequests, "this session already runs (or is starting) %d servers: stop one first", MaxServers)
		return
	}
	defer func() {
		a.mu.Lock()
		a.starting--
		a.mu.Unlock()
	}()
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	host, _, err := net.SplitHostPort(fmt.Sprint(local))
	if local == nil || err != nil {
		a.fail(w, r, http.StatusInternalServerError, "can't tell which address the runner reached")
		return
	}
	srv, err := a.Launcher.Start(r.Context(), matrix.Spec{Variant: variant, Work: req.Work, Addr: net.JoinHostPort(host, "0"), CPUs: req.CPUs})
	if err != nil {
		a.fail(w, r, http.StatusInternalServerError, "%v", err)
		return
	}
	// The session is checked again as the server is registered, under one
	// lock: a session that ended (DELETE, or its lease) while the request
	// was read or the server started gets no server of its own.
	a.mu.Lock()
	if a.session == "" || a.session != sess {
		a.mu.Unlock()
		srv.Stop(r.Context(), 0)
		a.fail(w, r, http.StatusConflict, "the session ended while the server started: stopped it")
		return
	}
	a.next++
	id := fmt.Sprint(a.next)
	a.servers[id] = srv
	a.mu.Unlock()
	a.logf("session %s: started server %s (%s, work %q, cpus %v) on %s", sess, id, variant, req.Work, req.CPUs, srv.Addr())
	reply(w, http.StatusOK, StartReply{ID: id, Addr: srv.Addr()})
}

func (a *Agent) server(w http.ResponseWriter, r *http.Request) (matrix.Server, string, bool) {
	id := r.PathValue("id")
	a.mu.Lock()
	s, ok := a.servers[id]
	a.mu.Unlock()
	if !ok {
		a.fail(w, r, http.StatusNotFound, "no server %q in this session", id)
	}
	return s, id, ok
}

func (a *Agent) mark(w http.ResponseWriter, r *http.Request) {
	s, _, ok := a.server(w, r)
	var req MarkRequest
	if !ok || !a.decode(w, r, &req) {
		return
	}
	if err := s.Mark(r.Context(), req.End); errors.Is(err, matrix.ErrWindowOrder) {
		a.fail(w, r, http.StatusConflict, "%v", err)
		return
	} else if err != nil {
		a.fail(w, r, http.StatusInternalServerError, "marking the window: %v", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *Agent) stop(w http.ResponseWriter, r *http.Request) {
	s, id, ok := a.server(w, r)
	var req StopRequest
	if !ok || !a.decode(w, r, &req) {
		return
	}
	// Whoever takes the server out of the table stops it: a second stop,
	// or one racing DELETE or the lease, finds it gone.
	a.mu.Lock()
	_, mine := a.servers[id]
	delete(a.servers, id)
	a.mu.Unlock()
	if !mine {
		a.fail(w, r, http.StatusNotFound, "server %q was already stopped", id)
		return
	}
	st := s.Stop(r.Context(), req.Replies)
	a.logf("session %s: stopped server %s (%s)", r.Header.Get(sessionHeader), id, stopNote(st))
	reply(w, http.StatusOK, st)
}

func stopNote(st matrix.Stopped) string {
	if st.Clean {
		return "clean"
	}
	return st.Note
}
