package perfcount

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
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

// TestCountsAnotherProcess: a child's system calls, on threads it starts
// after counting began, are counted from outside — and no other
// process's.
func TestCountsAnotherProcess(t *testing.T) {
	// The shell waits for a line, then becomes dd (same process), which
	// copies 2000 single bytes: 4000 calls.
	cmd := exec.Command("sh", "-c", "read x; exec dd if=/dev/zero of=/dev/null bs=1 count=2000 status=none")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(cmd.Process.Pid, Syscalls)
	if errors.Is(err, ErrUnavailable) {
		in.Close()
		cmd.Wait()
		t.Skipf("skipped: counting is unavailable here: %v", err)
	}
	if err != nil {
		in.Close()
		cmd.Wait()
		t.Fatal(err)
	}
	defer s.Close()
	before, _ := s.Read()
	for range 1000 {
		os.Getppid() // this process's calls are not the child's
	}
	if mid, _ := s.Read(); mid-before > 100 {
		t.Errorf("the child, waiting for a line, made %d calls while this process made 1000", mid-before)
	}
	in.Write([]byte("go\n"))
	in.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Read(); err != nil || n-before < 4000 {
		t.Errorf("counted %d system calls (%v) for dd copying 2000 single bytes; want ≥ 4000", n-before, err)
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

// TestByName: a process's calls counted by name — 1000 writes to
// /dev/null from a thread started after counting began show as 1000
// writes — and a name this architecture lacks is left out.
func TestByName(t *testing.T) {
	s, err := Open(0, Syscalls)
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("skipped: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	names := []string{"write", "nanosleep", "no_such_call"}
	before, err := s.ReadByName(names)
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("skipped: counted in total only: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread() // a thread of its own, ended with the goroutine
		for range 1000 {
			unix.Write(int(f.Fd()), []byte{1})
		}
		close(done)
	}()
	<-done
	after, err := s.ReadByName(names)
	if err != nil {
		t.Fatal(err)
	}
	if d := after["write"] - before["write"]; d < 1000 || d > 1100 {
		t.Errorf("%d writes counted, want 1000 (a few more from the runtime)", d)
	}
	if _, ok := after["no_such_call"]; ok {
		t.Error("a call this architecture lacks was counted")
	}
	if _, ok := after["nanosleep"]; !ok {
		t.Error("nanosleep, which this architecture has, is missing")
	}
}

// TestSharedProgram: two counts of one process and one of another share
// the program; closing one leaves the others counting.
func TestSharedProgram(t *testing.T) {
	a, err := Open(0, Syscalls)
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("skipped: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.calls == nil {
		t.Skipf("skipped: counted by perf counters, not the program: %v", a.namesErr)
	}
	b, err := Open(0, Syscalls)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	before, _ := a.Read()
	for range 500 {
		os.Getppid()
	}
	if after, err := a.Read(); err != nil || after-before < 500 {
		t.Errorf("after another count of this process closed: %d calls counted (%v) for 500 getppid", after-before, err)
	}
}

// BenchmarkCost: what counting adds to a system call (a 1-byte read of
// /dev/zero) and to a context switch (two threads on one CPU passing a
// byte over pipes: two switches a round), uncounted and counted (the
// total and by name: one program).
//
//	go test -run - -bench Cost -count 5 ./internal/perfcount
func BenchmarkCost(b *testing.B) {
	for _, counted := range []bool{false, true} {
		name := "counted=no"
		if counted {
			name = "counted=yes"
		}
		b.Run(name+"/call=read", func(b *testing.B) {
			if counted {
				defer openOrSkip(b).Close()
			}
			fd, err := unix.Open("/dev/zero", unix.O_RDONLY, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer unix.Close(fd)
			buf := make([]byte, 1)
			for b.Loop() {
				unix.Read(fd, buf)
			}
		})
		b.Run(name+"/call=pingpong", func(b *testing.B) {
			var a, c [2]int
			if err := unix.Pipe(a[:]); err != nil {
				b.Fatal(err)
			}
			if err := unix.Pipe(c[:]); err != nil {
				b.Fatal(err)
			}
			defer func() {
				for _, fd := range []int{a[0], a[1], c[0], c[1]} {
					unix.Close(fd)
				}
			}()
			stop := make(chan struct{})
			go func() { // the echoing thread, on the same CPU as the benchmark
				runtime.LockOSThread()
				pinCPU0()
				buf := make([]byte, 1)
				for {
					if n, _ := unix.Read(a[0], buf); n == 0 {
						close(stop)
						return
					}
					unix.Write(c[1], buf)
				}
			}()
			runtime.LockOSThread() // never unlocked: the pinned thread ends with the goroutine
			pinCPU0()
			if counted {
				defer openOrSkip(b).Close()
			}
			buf := make([]byte, 1)
			for b.Loop() {
				unix.Write(a[1], buf)
				unix.Read(c[0], buf)
			}
			unix.Close(a[1])
			a[1] = -1
			<-stop
		})
	}
}

func openOrSkip(b *testing.B) *Set {
	s, err := Open(0, Syscalls)
	if err != nil {
		b.Skipf("skipped: %v", err)
	}
	return s
}

func pinCPU0() {
	var set unix.CPUSet
	set.Set(0)
	unix.SchedSetaffinity(0, &set)
}

// TestFallbackToPerf: where the BPF program may not load, the total is
// still counted (perf counters on raw_syscalls:sys_enter) and the counts
// by name say why they are missing, never 0s.
func TestFallbackToPerf(t *testing.T) {
	noBPF = errors.New("unavailable: the BPF program is refused (test)")
	defer func() { noBPF = nil }()
	s, err := Open(0, Syscalls)
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("skipped: perf counting is unavailable here too: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before, _ := s.Read()
	for range 1000 {
		os.Getppid()
	}
	if after, err := s.Read(); err != nil || after-before < 1000 || after-before > 1500 {
		t.Errorf("perf total: %d calls (%v) for 1000 getppid", after-before, err)
	}
	if m, err := s.ReadByName(Calls); m != nil || err == nil || !strings.Contains(err.Error(), "refused (test)") {
		t.Errorf("by name without the program: %v, %v; want none and the reason", m, err)
	}
}
