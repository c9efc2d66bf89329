package perfcount

import "golang.org/x/sys/unix"

// callNR numbers the calls of Calls on this architecture (arm64 has no
// epoll_wait, select or poll: only their p- forms).
var callNR = map[string]uint32{
	"read": unix.SYS_READ, "write": unix.SYS_WRITE, "recvfrom": unix.SYS_RECVFROM, "sendto": unix.SYS_SENDTO,
	"recvmsg": unix.SYS_RECVMSG, "sendmsg": unix.SYS_SENDMSG, "readv": unix.SYS_READV, "writev": unix.SYS_WRITEV,
	"epoll_pwait": unix.SYS_EPOLL_PWAIT, "epoll_ctl": unix.SYS_EPOLL_CTL, "pselect6": unix.SYS_PSELECT6, "ppoll": unix.SYS_PPOLL,
	"io_uring_enter": unix.SYS_IO_URING_ENTER, "accept4": unix.SYS_ACCEPT4, "close": unix.SYS_CLOSE,
	"futex": unix.SYS_FUTEX, "sched_yield": unix.SYS_SCHED_YIELD, "nanosleep": unix.SYS_NANOSLEEP,
	"clock_nanosleep": unix.SYS_CLOCK_NANOSLEEP, "setsockopt": unix.SYS_SETSOCKOPT,
}
