package matrix

import (
	"testing"

	"iobench/results"
	"iobench/servers"
)

// TestSearchFindsKnee drives the search against made-up servers: one
// that holds every rate up to its capacity, one whose generator gives out
// first, one that holds nothing. The knee must sit at or below the
// capacity (above is impossible) and within Precision of it (further
// below means the search stopped early), in a bounded number of steps.
func TestSearchFindsKnee(t *testing.T) {
	for _, tc := range []struct {
		name     string
		closed   float64 // the probe's closed-loop throughput
		capacity float64 // the server holds rates up to here
		genLimit float64 // the generator can't offer more than this (0: no limit)
		limited  string
	}{
		{"server-bound", 60_000, 40_000, 0, "server"},
		{"knee above the probe", 10_000, 25_000, 0, "server"},
		{"knee far below the probe", 150_000, 2_000, 0, "server"},
		{"generator-bound", 150_000, 1e9, 70_000, "generator"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &search{cap: &results.Capacity{}, k: 1, total: 3, closed: tc.closed, next: tc.closed / 2}
			steps := 0
			for !s.done {
				if steps++; steps > 3*maxSteps {
					t.Fatalf("no end after %d steps", steps)
				}
				st := results.Step{Rate: s.next, Held: s.next <= tc.capacity && (tc.genLimit == 0 || s.next <= tc.genLimit)}
				st.GeneratorLimit = !st.Held && tc.genLimit > 0 && s.next > tc.genLimit
				s.advance(st)
			}
			c := s.cap
			ceiling := min(tc.capacity, tc.genLimit)
			if tc.genLimit == 0 {
				ceiling = tc.capacity
			}
			if len(c.Knees) != 3 || c.LimitedBy != tc.limited {
				t.Fatalf("knees %v, limited by %q; want 3 knees, %q", c.Knees, c.LimitedBy, tc.limited)
			}
			for _, k := range c.Knees {
				if k > ceiling || k < ceiling/Precision {
					t.Errorf("knee %.0f; want within %.2f× below %.0f", k, Precision, ceiling)
				}
			}
		})
	}
}

// TestSearchNothingHeld: a server that holds no rate gets a knee of 0,
// never a negative or endless search.
func TestSearchNothingHeld(t *testing.T) {
	s := &search{cap: &results.Capacity{}, k: 1, total: 2, closed: 1000, next: 500}
	for n := 0; !s.done; n++ {
		if n > 2*maxSteps {
			t.Fatal("no end")
		}
		s.advance(results.Step{Rate: s.next})
	}
	if len(s.cap.Knees) != 2 || s.cap.Knees[0] != 0 || s.cap.Knees[1] != 0 {
		t.Errorf("knees %v; want [0 0]", s.cap.Knees)
	}
}

// TestFloor: the bare round trip and the null call are measured, and
// are what they can be: a round trip takes at least two system calls.
func TestFloor(t *testing.T) {
	f := Floor(nil, nil)
	if f.Unavailable != "" {
		t.Skipf("skipped: the floor is unavailable here: %s", f.Unavailable)
	}
	if f.RoundTrip.Count < 1000 || f.NullCallNS <= 0 || float64(f.RoundTrip.P50) < 2*f.NullCallNS {
		t.Errorf("floor %+v; want ≥ 1000 round trips, each longer than two null calls", f)
	}
}

// TestSearchGeneratorMajority: one search of three ending at the
// generator's limit leaves the knee the server's.
func TestSearchGeneratorMajority(t *testing.T) {
	s := &search{cap: &results.Capacity{}, k: 1, total: 3, closed: 60_000, next: 30_000}
	for n := 0; !s.done; n++ {
		if n > 3*maxSteps {
			t.Fatal("no end")
		}
		st := results.Step{Rate: s.next, Held: s.next <= 40_000}
		st.GeneratorLimit = !st.Held && s.k == 2 // the second search's failures are the generator's
		s.advance(st)
	}
	if s.cap.LimitedBy != "server" || s.atGen != 1 {
		t.Errorf("limited by %q after %d generator-ended searches of 3; want server", s.cap.LimitedBy, s.atGen)
	}
}

// TestRerunKeepsVariant: a repetition measured again runs the same
// variant (its settings), not a model named by its spelling.
func TestRerunKeepsVariant(t *testing.T) {
	v := &servers.Spec{Model: "epoll", Settings: servers.Settings{Loops: 2, Edge: true}}
	c := results.Cell{Model: v.String(), Variant: v, Rep: 1}
	cells := rerun([]results.Cell{c}, 0, c)
	if len(cells) != 2 || cells[1].Attempt != 1 || cells[1].Spec() != *v {
		t.Errorf("re-run %+v; want attempt 1 of %s", cells[len(cells)-1], v)
	}
}
