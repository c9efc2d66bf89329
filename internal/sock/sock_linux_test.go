package sock

import (
	"errors"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// TestListenInUse: a second listener on a bound port fails with an
// error that says so and keeps the kernel's errno (EADDRINUSE), as does
// CheckFree; SO_REUSEPORT on both lets the second bind, which is why
// servers call CheckFree first.
func TestListenInUse(t *testing.T) {
	fd, bound, err := Listen(netip.MustParseAddrPort("127.0.0.1:0"), false, true)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if bound.Port() == 0 {
		t.Fatalf("bound to %v: no port", bound)
	}
	fd2, _, err := Listen(bound, false, false)
	if err == nil {
		unix.Close(fd2)
		t.Fatalf("a second listener on %v was allowed", bound)
	}
	if !errors.Is(err, unix.EADDRINUSE) {
		t.Errorf("second Listen: %v; want it to wrap EADDRINUSE", err)
	}
	if err := CheckFree(bound); !errors.Is(err, unix.EADDRINUSE) {
		t.Errorf("CheckFree(%v): %v; want EADDRINUSE", bound, err)
	}
	fd3, _, err := Listen(bound, false, true)
	if err != nil {
		t.Fatalf("SO_REUSEPORT on both: %v", err)
	}
	unix.Close(fd3)
}

// TestListenNotHere: an address of no interface here is refused with
// EADDRNOTAVAIL kept.
func TestListenNotHere(t *testing.T) {
	fd, _, err := Listen(netip.MustParseAddrPort("192.0.2.1:0"), false, false) // TEST-NET-1: never local
	if err == nil {
		unix.Close(fd)
		t.Fatal("bound to 192.0.2.1")
	}
	if !errors.Is(err, unix.EADDRNOTAVAIL) {
		t.Errorf("Listen(192.0.2.1): %v; want EADDRNOTAVAIL", err)
	}
}
