package uring

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel reads these layouts; a wrong size is silent corruption.
func TestLayout(t *testing.T) {
	if s := unsafe.Sizeof(SQE{}); s != 64 {
		t.Errorf("SQE is %d bytes, want 64", s)
	}
	if s := unsafe.Sizeof(CQE{}); s != 16 {
		t.Errorf("CQE is %d bytes, want 16", s)
	}
	if s := unsafe.Sizeof(Params{}); s != 120 {
		t.Errorf("Params is %d bytes, want 120", s)
	}
	if o := unsafe.Offsetof(SQE{}.UserData); o != 32 {
		t.Errorf("SQE.UserData at %d, want 32", o)
	}
}

// TestReadPipe submits a read on a pipe, writes to it, and waits for the
// completion: the whole path from SQE to CQE.
func TestReadPipe(t *testing.T) {
	if err := Check(OpRead); err != nil {
		t.Skipf("io_uring not usable here: %v", err)
	}
	r, err := New(8, 16)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	buf := make([]byte, 16)
	r.SQE().PrepRead(p[0], buf, 42)
	if err := r.Submit(0); err != nil {
		t.Fatal(err)
	}
	unix.Write(p[1], []byte("hello"))
	var got []CQE
	for len(got) == 0 {
		if err := r.Submit(1); err != nil {
			t.Fatal(err)
		}
		r.Completions(func(c *CQE) { got = append(got, *c) })
	}
	if got[0].UserData != 42 || got[0].Res != 5 || string(buf[:5]) != "hello" {
		t.Errorf("completion %+v, buffer %q; want user data 42, 5 bytes, hello", got[0], buf[:5])
	}
	ops, err := r.Probe()
	if err != nil || !ops[OpRead] || !ops[OpNop] {
		t.Errorf("probe: %v, %v; want read and nop supported", ops, err)
	}
}

// TestFull: SQE returns nil when the submission queue is full.
func TestFull(t *testing.T) {
	if err := Check(); err != nil {
		t.Skipf("io_uring not usable here: %v", err)
	}
	r, err := New(4, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := range 4 {
		if r.SQE() == nil {
			t.Fatalf("SQE %d: nil before the queue is full", i)
		}
	}
	if r.SQE() != nil {
		t.Fatal("a fifth SQE from a 4-entry queue")
	}
}
