package uring

import (
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// ProbeMultishot says why multishot recv into a provided buffer ring
// can't run here, or nil: it needs provided buffer rings (5.19) and
// multishot recv (6.0), which the opcode probe can't tell apart from
// plain recv, so it arms one on a socket pair and looks for CQEFMore on
// the completion. It builds a ring to find out, so it does so once per
// process (the answer does not change while the process lives): the one
// probe of the servers' iouring model and of the generator's engine.
var ProbeMultishot = sync.OnceValue(func() error {
	if err := Check(OpRecv, OpSend, OpRead); err != nil {
		return err
	}
	ring, err := New(4, 8)
	if err != nil {
		return err
	}
	defer ring.Close()
	if _, err := ring.RegisterBufRing(1, 64, 1); err != nil {
		return err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socketpair", err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	ring.SQE().PrepRecvMultishot(fds[0], 1, 1)
	if _, err := unix.Write(fds[1], []byte{1}); err != nil {
		return os.NewSyscallError("write", err)
	}
	if err := ring.Submit(1); err != nil {
		return err
	}
	var cqe CQE
	ring.Completions(func(c *CQE) { cqe = *c })
	if cqe.Res != 1 || cqe.Flags&CQEFMore == 0 {
		return fmt.Errorf("%w: no multishot recv (res %d, flags %#x; needs Linux 6.0)", ErrUnavailable, cqe.Res, cqe.Flags)
	}
	return nil
})
