package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"iobench/results"
)

// runIn runs iobench with args in dir and extra environment, and returns
// its exit code and combined output.
func runIn(t *testing.T, dir string, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := iobench(t, args...)
	cmd.Dir = dir
	cmd.Env = append(cmd.Env, env...)
	b, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(b)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(b)
}

// TestRunServerKilled: a server killed mid-cell makes its cell failed —
// in results.json, report.md, summary.csv and the exit status — and keeps
// it out of the ranking, with its CPU per reply never negative.
func TestRunServerKilled(t *testing.T) {
	out := t.TempDir()
	code, output := runIn(t, ".", []string{"IOBENCH_TEST_FAKE_SERVER=die:400ms@epoll"},
		"run", "--models", "epoll,gonet", "--conns", "10", "--duration", "2s", "--warmup", "100ms", "--repeat", "3", "--out", out, "--quiet", "--force")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (a cell failed)\n%s", code, output)
	}
	s, err := results.ReadSuite(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range s.Cells {
		if !c.Counted() {
			continue // a measurement the machine disturbed, measured again
		}
		switch c.Model {
		case "epoll":
			if !c.Failed() || c.Server == nil || !c.Server.DiedDuringRun || !strings.Contains(c.Error, "exited during the run") {
				t.Errorf("epoll rep %d: error %q, server %+v; want failed, died during the run", c.Rep, c.Error, c.Server)
			}
			// The window ends with the server (~300ms in), not at the 2 s asked.
			if c.Run != nil && c.Run.MeasuredNS > int64(1500*time.Millisecond) {
				t.Errorf("epoll rep %d: measured %v; want the window to end when the server died, ~300ms in", c.Rep, time.Duration(c.Run.MeasuredNS))
			}
		case "gonet":
			if !c.Measured() {
				t.Errorf("gonet rep %d: %q; want measured", c.Rep, c.Error)
			}
		}
		if c.Server != nil && c.Server.CPUPerReplyNS < 0 {
			t.Errorf("%s rep %d: server CPU per reply %v", c.Model, c.Rep, c.Server.CPUPerReplyNS)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	csv, _ := os.ReadFile(filepath.Join(out, "summary.csv"))
	for _, want := range []string{"FAILED 3/3", "epoll is not ranked", "## Failed cells", "server died"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if strings.Contains(string(md), "epoll led") || strings.Contains(string(md), "Lowest p99: epoll") {
		t.Errorf("report.md ranks the failed epoll:\n%s", md)
	}
	if !strings.Contains(string(csv), ",true,the server exited during the run") {
		t.Errorf("summary.csv does not mark the failed cells:\n%s", csv)
	}
	if !strings.Contains(output, "FAILED") || !strings.Contains(output, "cell(s) failed") {
		t.Errorf("terminal output does not show the failure:\n%s", output)
	}
}

// TestRunCorruptingServer: replies that do not match fail the cell.
func TestRunCorruptingServer(t *testing.T) {
	out := t.TempDir()
	code, output := runIn(t, ".", []string{"IOBENCH_TEST_FAKE_SERVER=corrupt"},
		"run", "--models", "epoll", "--conns", "4", "--duration", "300ms", "--warmup", "50ms", "--repeat", "1", "--out", out, "--quiet", "--force")
	if code != 1 || !strings.Contains(output, "corrupted") {
		t.Fatalf("exit %d, want 1 naming the corruption\n%s", code, output)
	}
}

// TestLoadFailureExit: load exits 1 when replies are corrupted, and still
// writes the JSON, with the reason.
func TestLoadFailureExit(t *testing.T) {
	addr := echoServer(t, true)
	path := filepath.Join(t.TempDir(), "run.json")
	code, _, stderr := runCLI("load", "--addr", addr, "--conns", "2", "--duration", "400ms", "--warmup", "0s", "--json", path, "--quiet")
	if code != 1 || !strings.Contains(stderr, "corrupted") {
		t.Fatalf("exit %d, stderr %q; want 1 naming the corruption", code, stderr)
	}
	r, err := results.ReadRunFile(path)
	if err != nil || !r.Failed() {
		t.Fatalf("%v; want the failed run written", err)
	}
	// --json - writes the JSON on stdout, the summary on stderr.
	code, stdout, _ := runCLI("load", "--addr", addr, "--duration", "100ms", "--warmup", "0s", "--json", "-", "--quiet")
	var run results.Run
	if err := json.Unmarshal([]byte(stdout), &run); err != nil || code == 0 {
		t.Errorf("--json -: exit %d, stdout not a run: %v\n%s", code, err, stdout)
	}
	if _, err := os.Stat("-"); err == nil {
		os.Remove("-")
		t.Error("--json - created a file named -")
	}
}

// TestRunOutputs: default folders are never shared, --out is never
// overwritten silently, and CPU sets are checked before any folder exists.
func TestRunOutputs(t *testing.T) {
	dir := t.TempDir()
	args := []string{"run", "--models", "gonet", "--conns", "1", "--duration", "50ms", "--warmup", "0s", "--repeat", "1", "--quiet"}
	for range 2 {
		if code, out := runIn(t, dir, nil, args...); code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "iobench-runs"))
	if len(ents) != 2 {
		t.Errorf("two runs left %d folders in iobench-runs; want 2", len(ents))
	}
	out := filepath.Join(dir, "iobench-runs", ents[0].Name())
	if code, output := runIn(t, dir, nil, append(args, "--out", out)...); code != 2 || !strings.Contains(output, "--force") {
		t.Errorf("run into a full --out: exit %d\n%s; want 2 suggesting --force", code, output)
	}
	// A CPU that does not exist, or more server cores than server CPUs.
	// (Sets in common are allowed: run --server-cores on a small machine
	// needs them; the report marks the figures shared.)
	for i, bad := range [][]string{{"--server-cpus", "0", "--client-cpus", "4000"}, {"--server-cpus", "0", "--client-cpus", "1", "--server-cores", "2"}} {
		fresh := filepath.Join(dir, fmt.Sprintf("fresh-%d", i))
		code, output := runIn(t, dir, nil, append(append(args, "--out", fresh), bad...)...)
		if code != 2 || strings.Count(strings.TrimSpace(output), "\n") != 0 {
			t.Errorf("%s: exit %d\n%s; want 2 and one line", strings.Join(bad, " "), code, output)
		}
		if _, err := os.Stat(fresh); err == nil {
			t.Errorf("bad CPU sets left the folder %s behind", fresh)
		}
	}
	if code, output := runIn(t, dir, nil, "run", "--models", "kqueue"); code != 2 || !strings.Contains(output, "darwin/freebsd model, not linux") {
		t.Errorf("run --models kqueue: exit %d\n%s", code, output)
	}
}
