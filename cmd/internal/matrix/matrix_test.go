package matrix

import (
	"context"
	"errors"
	"strings"
	"testing"

	"iobench/results"
	"iobench/servers"
)

// TestPlanInterleaves: repetitions run as rounds (A B A B), never a
// model's repetitions back to back, and a model the server host lacks is
// planned skipped, saying so.
func TestPlanInterleaves(t *testing.T) {
	cfg := Config{Models: []servers.Spec{{Model: "epoll"}, {Model: "poll"}, {Model: "nosuch"}}, Conns: []int{1, 10}, Sizes: []int{64}, Works: []string{"none"}, Repeat: 3,
		Remote: &Remote{Models: []string{"epoll", "poll"}, Environment: results.Environment{Host: "far"}}}
	cells := Plan(cfg)
	if len(cells) != 3*2*3 {
		t.Fatalf("%d cells, want 18", len(cells))
	}
	for i, c := range cells {
		if want := i/6 + 1; c.Rep != want {
			t.Fatalf("cell %d (%s@%d) is repetition %d, want %d: rounds interleave", i, c.Model, c.Conns, c.Rep, want)
		}
		if skipped := c.Skipped != ""; skipped != (c.Model == "nosuch") {
			t.Errorf("cell %s: skipped %q", c.Model, c.Skipped)
		}
	}
	if s := cells[2].Skipped; !strings.Contains(s, "not available on the server host far") {
		t.Errorf("skip reason %q", s)
	}
}

// TestModelFacts: a remote run's model facts are the server host's
// build's, when its agent sent them, else this build's; only the models
// run are kept.
func TestModelFacts(t *testing.T) {
	local := Config{Models: []servers.Spec{{Model: "epoll"}}}.modelFacts()
	if len(local) != 1 || local[0].Name != "epoll" || local[0].Summary == "" {
		t.Fatalf("local facts %+v", local)
	}
	remote := Config{Models: []servers.Spec{{Model: "epoll"}}, Remote: &Remote{Facts: []results.ModelInfo{
		{Name: "epoll", Summary: "the agent's build"}, {Name: "poll", Summary: "not run"}}}}.modelFacts()
	if len(remote) != 1 || remote[0].Summary != "the agent's build" {
		t.Errorf("remote facts %+v; want the agent's epoll only", remote)
	}
	old := Config{Models: []servers.Spec{{Model: "epoll"}}, Remote: &Remote{}}.modelFacts()
	if len(old) != 1 || old[0].Summary != local[0].Summary {
		t.Errorf("facts from an agent that sent none: %+v; want this build's", old)
	}
}

// TestChildWrongModel: a child that says it serves another model than
// the one asked for is refused (and killed), not measured under the
// wrong name.
func TestChildWrongModel(t *testing.T) {
	l := Launcher{Cmd: []string{"sh", "-c", "echo 'listening on 127.0.0.1:1 (model poll)'; exec sleep 30", "sh"}}
	srv, err := l.Start(context.Background(), Spec{Variant: servers.Spec{Model: "epoll"}, Addr: "127.0.0.1:0"})
	if err == nil {
		srv.Stop(context.Background(), 0)
		t.Fatal("a child serving poll was taken for epoll")
	}
	if !strings.Contains(err.Error(), "asked for the epoll model, the child serves poll") {
		t.Errorf("error %q", err)
	}
}

// TestWindowOrder: a window opens once and then closes once; an end
// before its start, or either twice, is ErrWindowOrder (the agent's 409).
func TestWindowOrder(t *testing.T) {
	for _, tc := range []struct {
		marks []bool // end?
		bad   int    // index of the first refused mark, -1 none
	}{
		{[]bool{false, true}, -1},
		{[]bool{true}, 0},
		{[]bool{false, false}, 1},
		{[]bool{false, true, true}, 2},
		{[]bool{false, true, false}, 2},
	} {
		var w window
		bad := -1
		for i, end := range tc.marks {
			if err := w.order(end); err != nil {
				if !errors.Is(err, ErrWindowOrder) {
					t.Errorf("%v: mark %d: %v, not ErrWindowOrder", tc.marks, i, err)
				}
				bad = i
				break
			}
		}
		if bad != tc.bad {
			t.Errorf("marks %v: refused at %d, want %d", tc.marks, bad, tc.bad)
		}
	}
}

// TestStallCause: a stall is told apart by what the server accepted:
// connections that waited in its listen queue, or accepted and not
// answered; nothing is said without a stall or without the count.
func TestStallCause(t *testing.T) {
	n := func(v uint64) *uint64 { return &v }
	run := &results.Run{Connections: results.Connections{Established: 10}, Stall: &results.Stall{Conns: 7}}
	for _, tc := range []struct {
		run  *results.Run
		u    *results.ServerUsage
		want string
	}{
		{run, &results.ServerUsage{Accepted: n(3)}, "accepted 3 of the 10 connections the generator established: 7 waited in its listen queue"},
		{run, &results.ServerUsage{Accepted: n(10)}, "accepted all 10 connections the generator established: the 7 that stalled were accepted and not answered"},
		{run, &results.ServerUsage{}, ""},
		{&results.Run{Connections: results.Connections{Established: 10}}, &results.ServerUsage{Accepted: n(3)}, ""},
	} {
		w, ok := stallCause(tc.run, tc.u)
		if ok != (tc.want != "") || !strings.Contains(w.Text, tc.want) {
			t.Errorf("stallCause: %v %q; want %q", ok, w.Text, tc.want)
		}
	}
}
