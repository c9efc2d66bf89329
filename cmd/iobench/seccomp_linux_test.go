package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// denyIOUringSetup installs a seccomp filter on every thread of this
// process that fails io_uring_setup with EPERM, as a container runtime's
// default profile does.
func denyIOUringSetup() error {
	const ioUringSetup = 425
	filter := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // seccomp_data.nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: ioUringSetup},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog)))
	if errno != 0 {
		return errno
	}
	return nil
}

func init() {
	if os.Getenv("IOBENCH_TEST_DENY_IOURING") == "1" {
		if err := denyIOUringSetup(); err != nil {
			os.Stderr.WriteString("seccomp: " + err.Error() + "\n")
			os.Exit(3)
		}
	}
}

// TestIOUringDenied: where a seccomp profile refuses io_uring (as container
// runtimes' defaults do), list says why and serve fails with that reason.
func TestIOUringDenied(t *testing.T) {
	run := func(args ...string) (string, error) {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), "IOBENCH_TEST_MAIN=1", "IOBENCH_TEST_DENY_IOURING=1")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("list")
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 3 {
		t.Skipf("skipped: can't install a seccomp filter here: %s", out)
	}
	if err != nil {
		t.Fatalf("list: %v\n%s", err, out)
	}
	var row string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "│ iouring ") {
			row = l
		}
	}
	// Not here, and why: the kernel's own errno text, wrapped through to
	// the user in the model's description under the table.
	eperm := "io_uring_setup: " + unix.EPERM.Error()
	_, prose, _ := strings.Cut(out, "\niouring: ")
	prose = strings.Join(strings.Fields(prose), " ")
	if !strings.Contains(row, " no ") || !strings.Contains(prose, "Not here: unavailable: ") || !strings.Contains(prose, eperm) {
		t.Errorf("iouring row %q, description %.300q; want not here, naming %q", row, prose, eperm)
	}
	out, err = run("serve", "--model", "iouring", "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(out, eperm) || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("serve: %v, %q; want one line and a non-zero exit naming %q", err, out, eperm)
	}
}
