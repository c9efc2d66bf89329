/* Minimal io_uring echo server as a careful C programmer writes it: the
 * reference iobench's iouring model is held against (compare.sh).
 * One thread; liburing; multishot accept; multishot recv into a provided
 * buffer ring; each reply sent straight from the buffer the kernel filled,
 * in order per connection (a FIFO of buffer ids), the buffer handed back
 * when its send completes; ENOBUFS or a recv that ends re-armed;
 * SINGLE_ISSUER | DEFER_TASKRUN | COOP_TASKRUN where the kernel has them;
 * a registered ring descriptor; submit-and-wait in one io_uring_enter and
 * every ready completion reaped in one batch.
 * Usage: echo_uring_server PORT   (binds 127.0.0.1; needs liburing >= 2.3) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NBUF 4096        /* provided buffers (a power of two) */
#define BUFSZ 4096       /* bytes each */
#define MAXFD 65536
#define BGID 1

enum { OP_ACCEPT = 1, OP_RECV, OP_SEND };
/* user data: op in the low byte, buffer id above it, fd above that */
#define UD(op, bid, fd) ((__u64)(op) | (__u64)(bid) << 8 | (__u64)(fd) << 32)

struct conn {
	int head, tail;   /* FIFO of buffer ids waiting to be sent, -1 = empty */
	int off;          /* bytes of the head buffer already sent */
	int sending;      /* a send is in flight */
	int recv_armed;   /* a multishot recv is in flight */
	int eof;          /* the peer closed: close once the FIFO is empty */
};

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufs;
static int buflen[NBUF], nextbid[NBUF];
static struct conn conns[MAXFD];
static int starved[MAXFD], nstarved, held;

static struct io_uring_sqe *sqe(void) {
	struct io_uring_sqe *e;
	while (!(e = io_uring_get_sqe(&ring))) io_uring_submit(&ring);
	return e;
}

static void give_back(int bid) {
	io_uring_buf_ring_add(br, bufs + (size_t)bid * BUFSZ, BUFSZ, bid, io_uring_buf_ring_mask(NBUF), 0);
	io_uring_buf_ring_advance(br, 1);
	held--;
}

static void arm_recv(int fd) {
	struct io_uring_sqe *e = sqe();
	io_uring_prep_recv_multishot(e, fd, NULL, 0, 0);
	e->flags |= IOSQE_BUFFER_SELECT;
	e->buf_group = BGID;
	io_uring_sqe_set_data64(e, UD(OP_RECV, 0, fd));
	conns[fd].recv_armed = 1;
}

static void send_head(int fd) {
	struct conn *c = &conns[fd];
	int bid = c->head;
	struct io_uring_sqe *e = sqe();
	io_uring_prep_send(e, fd, bufs + (size_t)bid * BUFSZ + c->off, buflen[bid] - c->off, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(e, UD(OP_SEND, bid, fd));
	c->sending = 1;
}

static void maybe_close(int fd) {
	struct conn *c = &conns[fd];
	if (c->eof && !c->sending && !c->recv_armed) {
		while (c->head >= 0) { int b = c->head; c->head = nextbid[b]; give_back(b); }
		close(fd);
		memset(c, 0, sizeof *c);
		c->head = c->tail = -1;
	}
}

static void rearm_starved(void) {
	while (nstarved > 0 && held < NBUF) arm_recv(starved[--nstarved]);
}

int main(int argc, char **argv) {
	int port = argc > 1 ? atoi(argv[1]) : 7021, one = 1;
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 65535)) { perror("bind/listen"); return 1; }

	struct io_uring_params p = {.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER |
	                                     IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN,
	                            .cq_entries = 16384};
	if (io_uring_queue_init_params(4096, &ring, &p) < 0) {
		p.flags = IORING_SETUP_CQSIZE;
		if (io_uring_queue_init_params(4096, &ring, &p) < 0) { perror("io_uring_queue_init"); return 1; }
	}
	io_uring_register_ring_fd(&ring);
	if (posix_memalign((void **)&br, 4096, NBUF * sizeof(struct io_uring_buf)) ||
	    posix_memalign((void **)&bufs, 4096, (size_t)NBUF * BUFSZ)) { perror("posix_memalign"); return 1; }
	io_uring_buf_ring_init(br);
	struct io_uring_buf_reg reg = {.ring_addr = (unsigned long)br, .ring_entries = NBUF, .bgid = BGID};
	int err = io_uring_register_buf_ring(&ring, &reg, 0);
	if (err) { fprintf(stderr, "io_uring_register_buf_ring: %s\n", strerror(-err)); return 1; }
	for (int i = 0; i < NBUF; i++) io_uring_buf_ring_add(br, bufs + (size_t)i * BUFSZ, BUFSZ, i, io_uring_buf_ring_mask(NBUF), i);
	io_uring_buf_ring_advance(br, NBUF);
	for (int i = 0; i < MAXFD; i++) conns[i].head = conns[i].tail = -1;

	printf("listening on 127.0.0.1:%d (model c-iouring)\n", port);
	fflush(stdout);
	struct io_uring_sqe *e = sqe();
	io_uring_prep_multishot_accept(e, ls, NULL, NULL, 0);
	io_uring_sqe_set_data64(e, UD(OP_ACCEPT, 0, 0));

	for (;;) {
		io_uring_submit_and_wait(&ring, 1);
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			n++;
			__u64 ud = cqe->user_data;
			int op = ud & 0xff, bid = (ud >> 8) & 0xffff, fd = ud >> 32, res = cqe->res;
			struct conn *c = &conns[fd];
			switch (op) {
			case OP_ACCEPT:
				if (res >= 0 && res < MAXFD) {
					setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					conns[res].head = conns[res].tail = -1;
					arm_recv(res);
				} else if (res >= 0) {
					close(res);
				}
				if (!(cqe->flags & IORING_CQE_F_MORE)) {
					e = sqe();
					io_uring_prep_multishot_accept(e, ls, NULL, NULL, 0);
					io_uring_sqe_set_data64(e, UD(OP_ACCEPT, 0, 0));
				}
				break;
			case OP_RECV:
				if (!(cqe->flags & IORING_CQE_F_MORE)) c->recv_armed = 0;
				if (res > 0) {
					int b = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
					held++;
					buflen[b] = res;
					nextbid[b] = -1;
					if (c->tail >= 0) nextbid[c->tail] = b; else c->head = b;
					c->tail = b;
					if (!c->sending) { c->off = 0; send_head(fd); }
					if (!c->recv_armed) arm_recv(fd); /* the multishot ended (CQ full): again */
				} else if (res == -ENOBUFS) {
					starved[nstarved++] = fd; /* re-armed when a buffer comes back */
				} else {
					c->eof = 1; /* 0: the peer closed; < 0: an error */
					maybe_close(fd);
				}
				break;
			case OP_SEND:
				c->sending = 0;
				if (res <= 0) { c->eof = 1; shutdown(fd, SHUT_RDWR); maybe_close(fd); break; }
				c->off += res;
				if (c->off < buflen[bid]) { send_head(fd); break; } /* short send: the rest */
				c->head = nextbid[bid];
				if (c->head < 0) c->tail = -1;
				give_back(bid);
				c->off = 0;
				if (c->head >= 0) send_head(fd); else maybe_close(fd);
				break;
			}
		}
		io_uring_cq_advance(&ring, n);
		rearm_starved();
	}
}
