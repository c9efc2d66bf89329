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
	"runtime"
	"strings"
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
	// Shares are the connections each of a multi-loop server's loops (or
	// rings, or replicas) accepted, counted as they were: how the kernel
	// spread them. Nil for a server with one loop.
	Shares []uint64
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
	if err := cfg.Validate(v.Model.Name); err != nil {
		return nil, err
	}
	return v.New(cfg.withDefaults())
}
