/* Minimal single-thread io_uring ping-pong client: the reference iobench's
 * `load --engine uring` is held against (compare-client.sh). liburing;
 * multishot recv into a provided buffer ring per connection; the next
 * request sent as soon as a whole reply is in, every send and recv of a
 * batch submitted and reaped in one io_uring_enter; SINGLE_ISSUER |
 * DEFER_TASKRUN | COOP_TASKRUN where the kernel has them; a registered
 * ring descriptor. Like echo_client.c it counts bytes, it does not verify
 * them.
 * Usage: echo_uring_client PORT CONNS SIZE SECONDS [cpu]
 * Prints: round trips per second over the measured seconds (after 1s
 * warmup); with "cpu", also its own CPU time per round trip in µs. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUFSZ 4096
#define BGID 1
enum { OP_RECV = 1, OP_SEND };

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static double cputime(void) {
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

static struct io_uring ring;
static struct io_uring_sqe *sqe(void) {
	struct io_uring_sqe *e;
	while (!(e = io_uring_get_sqe(&ring))) io_uring_submit(&ring);
	return e;
}

int main(int argc, char **argv) {
	if (argc < 5) { fprintf(stderr, "usage: echo_uring_client PORT CONNS SIZE SECONDS [cpu]\n"); return 2; }
	int port = atoi(argv[1]), conns = atoi(argv[2]), size = atoi(argv[3]), one = 1;
	double secs = atof(argv[4]);
	int nbuf = 64;
	while (nbuf < 2 * conns) nbuf <<= 1;
	struct io_uring_params p = {.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER |
	                                     IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN,
	                            .cq_entries = 4 * nbuf};
	if (io_uring_queue_init_params(nbuf, &ring, &p) < 0) {
		p.flags = IORING_SETUP_CQSIZE;
		if (io_uring_queue_init_params(nbuf, &ring, &p) < 0) { perror("io_uring_queue_init"); return 1; }
	}
	io_uring_register_ring_fd(&ring);
	struct io_uring_buf_ring *br;
	char *bufs;
	if (posix_memalign((void **)&br, 4096, nbuf * sizeof(struct io_uring_buf)) ||
	    posix_memalign((void **)&bufs, 4096, (size_t)nbuf * BUFSZ)) { perror("posix_memalign"); return 1; }
	io_uring_buf_ring_init(br);
	struct io_uring_buf_reg reg = {.ring_addr = (unsigned long)br, .ring_entries = nbuf, .bgid = BGID};
	if (io_uring_register_buf_ring(&ring, &reg, 0)) { fprintf(stderr, "io_uring_register_buf_ring failed\n"); return 1; }
	for (int i = 0; i < nbuf; i++) io_uring_buf_ring_add(br, bufs + (size_t)i * BUFSZ, BUFSZ, i, io_uring_buf_ring_mask(nbuf), i);
	io_uring_buf_ring_advance(br, nbuf);

	char *msg = malloc(size);
	memset(msg, 'x', size);
	int *fds = calloc(conns, sizeof(int)), *got = calloc(conns, sizeof(int));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < conns; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(s, (struct sockaddr *)&a, sizeof a)) { perror("connect"); return 1; }
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		fds[i] = s;
		struct io_uring_sqe *e = sqe();
		io_uring_prep_recv_multishot(e, s, NULL, 0, 0);
		e->flags |= IOSQE_BUFFER_SELECT;
		e->buf_group = BGID;
		io_uring_sqe_set_data64(e, (__u64)i << 8 | OP_RECV);
		e = sqe();
		io_uring_prep_send(e, s, msg, size, MSG_NOSIGNAL);
		io_uring_sqe_set_data64(e, (__u64)i << 8 | OP_SEND);
	}
	long rts = 0;
	double start = now(), mstart = start + 1, end = mstart + secs, cpu0 = 0;
	int measuring = 0;
	struct __kernel_timespec ts = {.tv_nsec = 100000000};
	for (;;) {
		double t = now();
		if (!measuring && t >= mstart) { measuring = 1; rts = 0; cpu0 = cputime(); }
		if (t >= end) break;
		struct io_uring_cqe *cqe;
		io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL);
		unsigned head, n = 0, put = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			n++;
			int i = cqe->user_data >> 8, op = cqe->user_data & 0xff, res = cqe->res;
			if (op == OP_SEND) {
				if (res != size) { fprintf(stderr, "send: %d\n", res); return 1; }
				continue;
			}
			if (res <= 0 && res != -ENOBUFS) { fprintf(stderr, "recv: %s\n", res ? strerror(-res) : "EOF"); return 1; }
			if (cqe->flags & IORING_CQE_F_BUFFER) {
				int bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
				io_uring_buf_ring_add(br, bufs + (size_t)bid * BUFSZ, BUFSZ, bid, io_uring_buf_ring_mask(nbuf), put++);
			}
			if (res > 0) {
				got[i] += res;
				while (got[i] >= size) {
					got[i] -= size;
					rts++;
					struct io_uring_sqe *e = sqe();
					io_uring_prep_send(e, fds[i], msg, size, MSG_NOSIGNAL);
					io_uring_sqe_set_data64(e, (__u64)i << 8 | OP_SEND);
				}
			}
			if (!(cqe->flags & IORING_CQE_F_MORE)) { /* ended (ENOBUFS, full CQ): arm again */
				struct io_uring_sqe *e = sqe();
				io_uring_prep_recv_multishot(e, fds[i], NULL, 0, 0);
				e->flags |= IOSQE_BUFFER_SELECT;
				e->buf_group = BGID;
				io_uring_sqe_set_data64(e, (__u64)i << 8 | OP_RECV);
			}
		}
		io_uring_buf_ring_advance(br, put);
		io_uring_cq_advance(&ring, n);
	}
	if (argc > 5) printf("%.0f %.3f\n", rts / (now() - mstart), (cputime() - cpu0) * 1e6 / rts);
	else printf("%.0f\n", rts / (now() - mstart));
	return 0;
}
