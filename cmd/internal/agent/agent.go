// Package agent is `iobench agent`, the server-host side of a run across
// two machines, and the runner's client for it: one owner of their
// protocol (plain HTTP and JSON, TLS optional).
//
// The agent starts and stops iobench's own model servers on request —
// never an arbitrary command — pinned to the CPUs asked for, bound to the
// address the runner reached the agent on, and measures each one over the
// window the runner marks, exactly as `iobench run` does locally (it uses
// the same matrix.Launcher). One runner at a time holds a session, kept
// alive by renewing a lease; if the runner vanishes the lease expires and
// the agent stops the servers it started.
//
// Security: an agent listening on anything but loopback requires a token,
// sent by the runner as "Authorization: Bearer TOKEN" and compared in
// constant time. Over plain HTTP the token travels in clear: use TLS
// (--tls-cert/--tls-key) on networks you do not control.
package agent

import (
	"errors"
	"time"

	"iobench/cmd/internal/matrix"
	"iobench/results"
	"iobench/servers"
)

// Protocol paths.
const (
	pathHello   = "/v1/hello"
	pathSession = "/v1/session"
	pathRenew   = "/v1/session/renew"
	pathServers = "/v1/servers" // POST starts; /v1/servers/ID/mark and /stop
)

// sessionHeader carries the session id on every request but the first.
const sessionHeader = "Iobench-Session"

// MaxBody is the largest request body the agent reads.
const MaxBody = 64 << 10

// DefaultLease is how long a session lives without a renewal.
const DefaultLease = 10 * time.Second

// Hello is what the agent says about its host.
type Hello struct {
	Environment results.Environment `json:"environment"`
	Models      []string            `json:"models"`          // available here
	Facts       []results.ModelInfo `json:"facts,omitempty"` // what this build says of them
}

// SessionReply opens a session.
type SessionReply struct {
	ID      string `json:"id"`
	LeaseMS int64  `json:"lease_ms"`
}

// StartRequest asks for a server.
type StartRequest struct {
	Model string `json:"model"`
	// Settings are the variant's (servers.Settings, typed); absent: the
	// model's defaults.
	Settings servers.Settings `json:"settings"`
	Work     string           `json:"work"`
	CPUs     []int            `json:"cpus,omitempty"`
}

// StartReply is a started server.
type StartReply struct {
	ID   string `json:"id"`
	Addr string `json:"addr"`
}

// MarkRequest marks the measured window's start (End false) or end.
type MarkRequest struct {
	End bool `json:"end"`
}

// StopRequest stops a server; Replies is what the window's usage is
// divided by.
type StopRequest struct {
	Replies uint64 `json:"replies"`
}

// StopReply is matrix.Stopped.
type StopReply = matrix.Stopped

// errorReply is every 4xx/5xx body.
type errorReply struct {
	Error string `json:"error"`
}

// ErrBadToken is the runner's error when the agent refused its token.
var ErrBadToken = errors.New("agent refused: bad token")

// ErrBusy is the runner's error when another runner holds the agent.
var ErrBusy = errors.New("agent busy: another runner holds it")
