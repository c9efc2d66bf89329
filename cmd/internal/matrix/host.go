package matrix

import (
	"context"

	"iobench/results"
)

// Host is where the servers run: this machine (Launcher) or another one's
// agent. The matrix asks it for a server per cell, marks the measured
// window on it and stops it.
type Host interface {
	Start(ctx context.Context, spec Spec) (Server, error)
}

// Server is one running server of a Host.
type Server interface {
	Addr() string
	// Mark samples the server as the measured window opens (end=false)
	// and as it closes; an error (a remote host that did not answer in
	// time) leaves the window's figures unmeasured.
	Mark(ctx context.Context, end bool) error
	// Stop stops it and says what it used over the window. It stops the
	// server even when ctx is cancelled (a Ctrl-C'd run must not leave
	// servers behind): ctx carries values and the caller's intent, and a
	// remote host bounds the call itself.
	Stop(ctx context.Context, replies uint64) Stopped
}

// Stopped is what a server used and how it ended.
type Stopped struct {
	Usage    *results.ServerUsage `json:"usage"`
	Clean    bool                 `json:"clean"` // exited 0 when asked to stop
	Died     bool                 `json:"died"`  // exited before it was asked
	Note     string               `json:"note,omitempty"`
	Warnings []results.Warning    `json:"warnings,omitempty"` // for the cell
}
