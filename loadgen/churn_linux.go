package loadgen

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// canBindNoPort: Linux has IP_BIND_ADDRESS_NO_PORT (4.2).
const canBindNoPort = true

// bindNoPort asks the kernel to choose the source port at connect(2), not
// at bind(2): only then may it reuse a port in TIME_WAIT.
func bindNoPort(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// pendingBytes reports whether bytes wait unread on c, without waiting
// (recv with MSG_PEEK | MSG_DONTWAIT).
func pendingBytes(c syscall.Conn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	n := 0
	rc.Control(func(fd uintptr) {
		var b [1]byte
		n, _, _ = unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
	})
	return n > 0
}
