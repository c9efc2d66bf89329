package agent

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Limits of the agent's log of refusals (docs/distributed.md).
const (
	// RefusalLogEvery: each client's refusals are logged at most once per
	// this interval; the next line says how many were left out.
	RefusalLogEvery = 10 * time.Second
	// maxRefusalClients bounds the clients remembered; past it, the
	// others share one entry.
	maxRefusalClients = 4096
	// clipLen bounds a client-given string in a log line.
	clipLen = 200
)

// refusalLog decides which refusals reach the log: a client sending
// thousands of bad requests costs the log one line per interval, and
// what it sent is quoted and clipped, so no byte of it can forge or
// flood a line.
type refusalLog struct {
	mu      sync.Mutex
	clients map[string]*refusals
}

type refusals struct {
	last       time.Time
	suppressed int
}

// admit says whether a refusal to client is logged now and, if so, how
// many of its refusals were left out since the last one logged.
func (l *refusalLog) admit(client string, now time.Time) (log bool, left int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.clients == nil {
		l.clients = map[string]*refusals{}
	}
	e, ok := l.clients[client]
	if !ok && len(l.clients) >= maxRefusalClients {
		for c, o := range l.clients {
			if now.Sub(o.last) >= RefusalLogEvery && o.suppressed == 0 {
				delete(l.clients, c)
			}
		}
		if len(l.clients) >= maxRefusalClients {
			client = "other clients"
			e, ok = l.clients[client]
		}
	}
	if !ok {
		e = &refusals{}
		l.clients[client] = e
	}
	if !e.last.IsZero() && now.Sub(e.last) < RefusalLogEvery {
		e.suppressed++
		return false, 0
	}
	left, e.last, e.suppressed = e.suppressed, now, 0
	return true, left
}

// fail answers a refusal (or an error) and closes the connection after
// it: a client refused must not keep one of the agent's few descriptors
// for the idle timeout. The refusal is logged, rate-limited per client.
func (a *Agent) fail(w http.ResponseWriter, r *http.Request, code int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	w.Header().Set("Connection", "close")
	reply(w, code, errorReply{Error: msg})
	if a.Logf == nil {
		return
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	log, left := a.refused.admit(host, time.Now())
	if !log {
		return
	}
	more := ""
	if left > 0 {
		more = fmt.Sprintf(" (and %d more refusals of this client left out of the log)", left)
	}
	a.logf("refused %q %q from %s: %d %q%s", clip(r.Method), clip(r.URL.Path), r.RemoteAddr, code, clip(msg), more)
}

// clip bounds a client-given string for the log (quoted there with %q,
// so no byte of it can forge a line).
func clip(s string) string {
	if len(s) > clipLen {
		return s[:clipLen] + "…"
	}
	return s
}
