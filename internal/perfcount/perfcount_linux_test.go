package perfcount

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestCountsSyscalls: 1000 getppid(2) calls count as about 1000 system
// calls — the kernel's count, not a timing.
func TestCountsSyscalls(t *testing.T) {
	s, err := Open(0, Syscalls)
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("skipped: counting is unavailable here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before, err := s.Read()
	if err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		os.Getppid()
	}
	after, err := s.Read()
	if err != nil {
		t.Fatal(err)
	}
	// The runtime's other threads may make a few calls meanwhile.
	if n := after - before; n < 1000 || n > 1500 {
		t.Errorf("counted %d system calls for 1000 getppid; want 1000 and a few", n)
	}
}

// TestCountsAnotherProcess: a child's system calls, on its threads, are
// counted from outside.
func TestCountsAnotherProcess(t *testing.T) {
	cmd := exec.Command("sh", "-c", "read x; i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	s, err := Open(cmd.Process.Pid, Syscalls)
	if errors.Is(err, ErrUnavailable) {
		in.Close()
		t.Skipf("skipped: counting is unavailable here: %v", err)
	}
	if err != nil {
		in.Close()
		t.Fatal(err)
	}
	defer s.Close()
	in.Write([]byte("go\n"))
	in.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cmd.ProcessState != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
		if n, _ := s.Read(); n > 200*20 {
			break // 200 forks and execs of /bin/true, counted through inheritance
		}
	}
	if n, err := s.Read(); err != nil || n < 200*20 {
		t.Errorf("counted %d system calls (%v) for a shell running /bin/true 200 times; want the children's too", n, err)
	}
}

func TestContextSwitches(t *testing.T) {
	s, err := Open(0, ContextSwitches)
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("skipped: counting is unavailable here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before, _ := s.Read()
	for range 20 {
		time.Sleep(time.Millisecond) // each sleep blocks a thread: a switch
	}
	if after, _ := s.Read(); after-before < 20 {
		t.Errorf("counted %d context switches over 20 sleeps; want ≥ 20", after-before)
	}
}

// TestByName: a process's calls counted by name — 1000
// writes to /dev/null show as 1000 writes — and "other" calls stay out.
func TestByName(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n, err := OpenByName(0, []string{"write", "nanosleep", "no_such_call"})
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("skipped: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	before, err := n.Read()
	if err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		unix.Write(int(f.Fd()), []byte{1})
	}
	after, err := n.Read()
	if err != nil {
		t.Fatal(err)
	}
	if d := after["write"] - before["write"]; d < 1000 || d > 1100 {
		t.Errorf("%d writes counted, want 1000 (a few more from the runtime)", d)
	}
	if _, ok := after["no_such_call"]; ok {
		t.Error("a call this kernel lacks was counted")
	}
}
