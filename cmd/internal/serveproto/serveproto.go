// Package serveproto is the one owner of the protocol between a process
// that starts an `iobench serve` child (the `run` matrix, an agent) and
// that child: the arguments it is started with and the first line it
// prints once it listens. Both ends call this package, so the two can't
// drift apart.
package serveproto

import (
	"fmt"
	"regexp"
	"strconv"

	"iobench/servers"
)

// Request is what a child server is started for.
type Request struct {
	// Variant is the model and its settings, passed as serve's typed
	// flags (--loops 4, --recv single).
	Variant servers.Spec
	Addr    string // HOST:PORT to bind; port 0 picks a free one
	Work    string // servers.ParseWork syntax; "" means none
	// StopOnEOF: the server stops cleanly when its stdin ends — how a
	// parent asks a child to stop where there is no SIGTERM (Windows).
	StopOnEOF bool
}

// StopOnEOFFlag is the serve flag behind Request.StopOnEOF.
const StopOnEOFFlag = "stop-on-eof"

// Args are the command-line arguments after the program name.
func (r Request) Args() []string {
	args := []string{"serve", "--model", r.Variant.Model, "--addr", r.Addr}
	st := r.Variant.Settings
	for _, f := range []struct {
		flag string
		val  string
		set  bool
	}{
		{"--loops", strconv.Itoa(st.Loops), st.Loops > 1},
		{"--edge", "", st.Edge},
		{"--workers", strconv.Itoa(st.Workers), st.Workers != 0},
		{"--recv", st.Recv.String(), st.Recv != servers.RecvAuto},
		{"--buf-ring", "", st.BufRing},
		{"--max-threads", strconv.Itoa(st.MaxThreads), st.MaxThreads != 0},
	} {
		switch {
		case f.set && f.val == "":
			args = append(args, f.flag)
		case f.set:
			args = append(args, f.flag, f.val)
		}
	}
	if r.Work != "" {
		args = append(args, "--work", r.Work)
	}
	if r.StopOnEOF {
		args = append(args, "--"+StopOnEOFFlag)
	}
	return args
}

// Line is the first line `iobench serve` prints, without its newline:
// the address and the variant it serves, in its one spelling.
func Line(addr string, v servers.Spec) string {
	return fmt.Sprintf("listening on %s (model %s)", addr, v)
}

var lineRE = regexp.MustCompile(`^listening on (\S+) \(model ([a-z0-9]+(?::[a-z0-9-]+(?:=[a-z0-9]+)?)*)\)$`)

// ParseLine reads Line's address and variant spelling back (the parent
// compares it with the spelling of what it asked for).
func ParseLine(line string) (addr, model string, ok bool) {
	m := lineRE.FindStringSubmatch(line)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}
