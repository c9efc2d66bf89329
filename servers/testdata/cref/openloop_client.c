/* Minimal single-thread open-loop (fixed-rate) epoll client: the
 * technique every open-loop generator uses (wrk2's, iobench load's),
 * stripped to its bones, to measure what it costs on this machine.
 * RATE messages/s over CONNS connections on a fixed schedule, one in
 * flight per connection (a message due on a busy connection waits for its
 * reply); the thread sleeps in epoll_wait on a timerfd armed for the next
 * due message (no earlier than QUANTUM_US after the last wake-up) and on
 * the sockets, so a reply wakes it too.
 * Usage: openloop_client PORT CONNS RATE SECONDS QUANTUM_US
 * Prints: replies/s, its own CPU per reply in µs (getrusage), wake-ups per
 * reply, over SECONDS after a 1s warmup. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define SIZE 64

static double cputime(void) {
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

static int64_t now_ns(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int main(int argc, char **argv) {
	if (argc < 6) { fprintf(stderr, "usage: openloop_client PORT CONNS RATE SECONDS QUANTUM_US\n"); return 2; }
	int port = atoi(argv[1]), conns = atoi(argv[2]);
	double rate = atof(argv[3]), secs = atof(argv[4]);
	int64_t quantum = (int64_t)(atof(argv[5]) * 1000);
	int64_t gap = (int64_t)(1e9 / rate); /* between two scheduled messages, over all connections */
	int ep = epoll_create1(0), one = 1;
	int *fds = calloc(conns, sizeof(int)), *busy = calloc(conns, sizeof(int)), *got = calloc(conns, sizeof(int));
	long *backlog = calloc(conns, sizeof(long));
	char msg[SIZE], buf[SIZE];
	memset(msg, 'x', SIZE);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < conns; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(s, (struct sockaddr *)&a, sizeof a)) { perror("connect"); return 1; }
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
		epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
		fds[i] = s;
	}
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	struct epoll_event tev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);
	struct epoll_event evs[512];
	long replies = 0, wakes = 0;
	int64_t start = now_ns(), mstart = start + 1000000000, end = mstart + (int64_t)(secs * 1e9);
	int64_t next = start; /* when message number `slot` is due */
	long slot = 0;
	int measuring = 0;
	double cpu0 = 0;
	for (;;) {
		int64_t t = now_ns();
		if (!measuring && t >= mstart) { measuring = 1; replies = 0; wakes = 0; cpu0 = cputime(); }
		if (t >= end) break;
		for (; next <= t; next += gap, slot++) { /* everything due goes out now */
			int i = slot % conns;
			if (busy[i]) { backlog[i]++; continue; }
			if (write(fds[i], msg, SIZE) != SIZE) { perror("write"); return 1; }
			busy[i] = 1;
		}
		int64_t at = next > t + quantum ? next : t + quantum;
		struct itimerspec its = {.it_value = {at / 1000000000, at % 1000000000}};
		timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
		int n = epoll_wait(ep, evs, 512, 100);
		wakes++;
		for (int k = 0; k < n; k++) {
			uint32_t i = evs[k].data.u32;
			if (i == UINT32_MAX) { uint64_t x; (void)read(tfd, &x, sizeof x); continue; }
			ssize_t r = read(fds[i], buf, SIZE - got[i]);
			if (r <= 0) { fprintf(stderr, "read: %s\n", r ? strerror(errno) : "EOF"); return 1; }
			got[i] += r;
			if (got[i] < SIZE) continue;
			got[i] = 0, busy[i] = 0, replies++;
			if (backlog[i] > 0) { /* due while it waited: send at once */
				backlog[i]--;
				if (write(fds[i], msg, SIZE) != SIZE) { perror("write"); return 1; }
				busy[i] = 1;
			}
		}
	}
	double el = (now_ns() - mstart) / 1e9;
	printf("%.0f %.3f %.2f\n", replies / el, (cputime() - cpu0) * 1e6 / replies, (double)wakes / replies);
	return 0;
}
