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
	"strings"

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

// StatsLine is the last line `iobench serve` prints on stdout as it
// stops: the connections it accepted, and each loop's share of them
// for a server of several loops.
func StatsLine(st servers.Stats) string {
	s := fmt.Sprintf("stopped: accepted %d", st.Accepted)
	if len(st.Shares) > 0 {
		s += " shares"
		for _, n := range st.Shares {
			s += " " + strconv.FormatUint(n, 10)
		}
	}
	return s
}

var statsRE = regexp.MustCompile(`^stopped: accepted ([0-9]+)((?: shares(?: [0-9]+)+)?)$`)

// ParseStats reads StatsLine back: accepted, and the shares (nil when
// none were printed).
func ParseStats(line string) (accepted uint64, shares []uint64, ok bool) {
	m := statsRE.FindStringSubmatch(line)
	if m == nil {
		return 0, nil, false
	}
	accepted, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil {
		return 0, nil, false
	}
	for _, f := range strings.Fields(strings.TrimPrefix(m[2], " shares")) {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, nil, false
		}
		shares = append(shares, n)
	}
	return accepted, shares, true
}

// ParseLine reads Line's address and variant spelling back (the parent
// compares it with the spelling of what it asked for).
func ParseLine(line string) (addr, model string, ok bool) {
	m := lineRE.FindStringSubmatch(line)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}
