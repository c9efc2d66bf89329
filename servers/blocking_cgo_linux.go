//go:build linux && cgo

package servers

/*
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

// The blocking model's connection threads, the way a C
// thread-per-connection server runs them: a pthread the Go runtime never
// sees, doing read, optional work and write until the peer closes or
// errs, then handing the descriptor back to Go through a pipe. The kernel
// alone schedules these threads.
enum { WORK_NONE, WORK_CPU, WORK_SLEEP };

struct iobench_conn {
	int fd, bufsize, work, donefd;
	long long work_ns;
};

static long long iobench_now_ns(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void iobench_work(int kind, long long ns) {
	if (kind == WORK_CPU) {
		long long end = iobench_now_ns() + ns;
		while (iobench_now_ns() < end) {
		}
	} else if (kind == WORK_SLEEP) {
		struct timespec d = {ns / 1000000000LL, ns % 1000000000LL};
		while (nanosleep(&d, &d) != 0 && errno == EINTR) {
		}
	}
}

static void iobench_echo(struct iobench_conn *c) {
	char *buf = malloc(c->bufsize);
	if (buf == NULL) {
		return;
	}
	for (;;) {
		ssize_t n = read(c->fd, buf, c->bufsize);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		iobench_work(c->work, c->work_ns);
		for (ssize_t off = 0; off < n;) {
			// send, not write: a peer gone away must not raise SIGPIPE
			// on a thread the Go runtime does not know.
			ssize_t w = send(c->fd, buf + off, n - off, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR) {
				continue;
			}
			if (w <= 0) {
				goto done;
			}
			off += w;
		}
	}
done:
	free(buf);
}

static void *iobench_thread(void *arg) {
	struct iobench_conn *c = arg;
	iobench_echo(c);
	// The descriptor goes back to Go, which closes it: 4 bytes, written
	// whole (less than PIPE_BUF).
	int fd = c->fd;
	while (write(c->donefd, &fd, sizeof fd) < 0 && errno == EINTR) {
	}
	free(c);
	return NULL;
}

// iobench_spawn starts fd's thread; 0, or the errno why not.
static int iobench_spawn(int fd, int bufsize, int work, long long work_ns, int donefd) {
	struct iobench_conn *c = malloc(sizeof *c);
	if (c == NULL) {
		return ENOMEM;
	}
	*c = (struct iobench_conn){fd, bufsize, work, donefd, work_ns};
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 << 10);
	pthread_t t;
	int err = pthread_create(&t, &attr, iobench_thread, c);
	pthread_attr_destroy(&attr);
	if (err != 0) {
		free(c);
	}
	return err;
}
*/
import "C"

import (
	"encoding/binary"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// blockingImpl says how this build runs connection threads.
const blockingImpl = "connection threads are pthreads running a C loop (cgo): the kernel alone schedules them"

// threadState is the pipe through which finished C threads hand their
// descriptors back.
type threadState struct {
	done *os.File // read end, on Go's poller
	wr   int      // write end, written by the C threads
}

func (s *blockingServer) initThreads() error {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return wrapSyscall("pipe2", err)
	}
	if err := unix.SetNonblock(p[0], true); err != nil {
		unix.Close(p[0])
		unix.Close(p[1])
		return wrapSyscall("fcntl", err)
	}
	s.threadState = threadState{done: os.NewFile(uintptr(p[0]), "blocking-done"), wr: p[1]}
	s.onRelease(func() error { unix.Close(s.wr); return s.done.Close() })
	go s.reap()
	return nil
}

// reap releases each connection whose C thread has finished.
func (s *blockingServer) reap() {
	var b [4]byte
	for {
		if _, err := io.ReadFull(s.done, b[:]); err != nil {
			return // closed by Close, after every thread is done
		}
		s.connDone(int(int32(binary.NativeEndian.Uint32(b[:]))))
	}
}

// startThread hands fd to a new C thread.
func (s *blockingServer) startThread(fd int) error {
	kind := C.int(C.WORK_NONE)
	switch s.cfg.Work.Kind {
	case CPUWork:
		kind = C.WORK_CPU
	case SleepWork:
		kind = C.WORK_SLEEP
	}
	if e := C.iobench_spawn(C.int(fd), C.int(s.cfg.MaxMsg), kind, C.longlong(s.cfg.Work.D.Nanoseconds()), C.int(s.wr)); e != 0 {
		return syscall.Errno(e)
	}
	return nil
}
