/* Minimal level-triggered epoll echo server: the reference iobench's epoll
 * model is held against. One thread, non-blocking sockets, one read and one
 * write per readable event (64-byte ping-pong never writes short).
 * Usage: echo_server PORT   (binds 127.0.0.1) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
	int port = argc > 1 ? atoi(argv[1]) : 7001;
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 65535)) { perror("bind/listen"); return 1; }
	printf("listening on 127.0.0.1:%d (model c-epoll)\n", port);
	fflush(stdout);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls}, evs[512];
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	static char buf[65536];
	for (;;) {
		int n = epoll_wait(ep, evs, 512, -1);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == ls) {
				int c;
				while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					ev.events = EPOLLIN; ev.data.fd = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				}
				continue;
			}
			ssize_t r = read(fd, buf, sizeof buf);
			if (r <= 0) { close(fd); continue; }
			if (write(fd, buf, r) != r) close(fd);
		}
	}
}
