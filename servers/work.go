package servers

import (
	"fmt"
	"strings"
	"time"
)

// Simulated per-message work (--work): none, CPU spin or sleep.

// WorkKind is the kind of simulated backend work.
type WorkKind int

const (
	NoWork    WorkKind = iota
	CPUWork            // spin on the CPU
	SleepWork          // block the serving thread
)

// Work is simulated backend work done for every read before the reply:
// slow CPU work (cpu:D) or a slow query that blocks the thread (sleep:D).
type Work struct {
	Kind WorkKind
	D    time.Duration
}

// ParseWork parses "none", "cpu:50us" or "sleep:1ms".
func ParseWork(s string) (Work, error) {
	if s == "" || s == "none" {
		return Work{}, nil
	}
	kind, dur, ok := strings.Cut(s, ":")
	var w Work
	switch kind {
	case "cpu":
		w.Kind = CPUWork
	case "sleep":
		w.Kind = SleepWork
	default:
		ok = false
	}
	if !ok {
		return Work{}, fmt.Errorf("servers: bad work %q: want none, cpu:DURATION or sleep:DURATION (e.g. cpu:50us)", s)
	}
	d, err := time.ParseDuration(dur)
	if err != nil || d <= 0 || d > time.Minute {
		return Work{}, fmt.Errorf("servers: bad work %q: duration must be between 1ns and 1m (e.g. cpu:50us)", s)
	}
	w.D = d
	return w, nil
}

func (w Work) String() string {
	switch w.Kind {
	case CPUWork:
		return "cpu:" + w.D.String()
	case SleepWork:
		return "sleep:" + w.D.String()
	}
	return "none"
}

// Do performs the work on the calling thread.
func (w Work) Do() {
	switch w.Kind {
	case CPUWork:
		for start := time.Now(); time.Since(start) < w.D; {
		}
	case SleepWork:
		time.Sleep(w.D)
	}
}
