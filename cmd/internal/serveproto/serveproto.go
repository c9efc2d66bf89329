// Package serveproto is the one owner of the protocol between a process
// that starts an `iobench serve` child (the `run` matrix, an agent) and
// that child: the arguments it is started with and the first line it
// prints once it listens. Both ends call this package, so the two can't
// drift apart.
package serveproto

import (
	"fmt"
	"regexp"
)

// Request is what a child server is started for.
type Request struct {
	Model string
	Addr  string // HOST:PORT to bind; port 0 picks a free one
	Work  string // servers.ParseWork syntax; "" means none
	// StopOnEOF: the server stops cleanly when its stdin ends — how a
	// parent asks a child to stop where there is no SIGTERM (Windows).
	StopOnEOF bool
}

// StopOnEOFFlag is the serve flag behind Request.StopOnEOF.
const StopOnEOFFlag = "stop-on-eof"

// Args are the command-line arguments after the program name.
func (r Request) Args() []string {
	args := []string{"serve", "--model", r.Model, "--addr", r.Addr}
	if r.Work != "" {
		args = append(args, "--work", r.Work)
	}
	if r.StopOnEOF {
		args = append(args, "--"+StopOnEOFFlag)
	}
	return args
}

// Line is the first line `iobench serve` prints, without its newline.
func Line(addr, model string) string {
	return fmt.Sprintf("listening on %s (model %s)", addr, model)
}

var lineRE = regexp.MustCompile(`^listening on (\S+) \(model ([a-z0-9]+)\)$`)

// ParseLine reads Line's address and model back.
func ParseLine(line string) (addr, model string, ok bool) {
	m := lineRE.FindStringSubmatch(line)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}
