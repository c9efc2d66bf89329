/* Minimal single-thread epoll ping-pong client: the reference iobench's
 * load generator is held against, and the client used to compare servers.
 * Usage: echo_client PORT CONNS SIZE SECONDS [cpu]
 * Prints: round trips per second over the measured seconds (after 1s warmup);
 * with "cpu", also its own CPU time per round trip in µs (getrusage). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double cputime(void) {
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
	if (argc < 5) { fprintf(stderr, "usage: echo_client PORT CONNS SIZE SECONDS\n"); return 2; }
	int port = atoi(argv[1]), conns = atoi(argv[2]), size = atoi(argv[3]);
	double secs = atof(argv[4]);
	int ep = epoll_create1(0), one = 1;
	int *got = calloc(conns + 65536, sizeof(int));
	char *msg = malloc(size), *buf = malloc(size);
	memset(msg, 'x', size);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < conns; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(s, (struct sockaddr *)&a, sizeof a)) { perror("connect"); return 1; }
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = s};
		epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
		if (write(s, msg, size) != size) { perror("write"); return 1; }
	}
	struct epoll_event evs[512];
	long rts = 0;
	double start = now(), mstart = start + 1, end = mstart + secs;
	int measuring = 0;
	double cpu0 = 0;
	for (;;) {
		double t = now();
		if (!measuring && t >= mstart) { measuring = 1; rts = 0; cpu0 = cputime(); }
		if (t >= end) break;
		int n = epoll_wait(ep, evs, 512, 100);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			ssize_t r = read(fd, buf, size - got[fd]);
			if (r <= 0) { fprintf(stderr, "read: %s\n", r ? strerror(errno) : "EOF"); return 1; }
			got[fd] += r;
			if (got[fd] == size) {
				got[fd] = 0;
				rts++;
				if (write(fd, msg, size) != size) { perror("write"); return 1; }
			}
		}
	}
	if (argc > 5) printf("%.0f %.3f\n", rts / (now() - mstart), (cputime() - cpu0) * 1e6 / rts);
	else printf("%.0f\n", rts / (now() - mstart));
	return 0;
}
