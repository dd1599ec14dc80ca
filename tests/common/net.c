/* net.c — see net.h. */
#include "net.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "scratch.h"

int tu_listen_at(int family, const char *ip, uint16_t *port)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	int one = 1;
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	union {
		struct sockaddr sa;
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} a;
	memset(&a, 0, sizeof(a));
	socklen_t len;
	if (family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		a.v6.sin6_family = AF_INET6;
		a.v6.sin6_port = htons(*port);
		cr_assert_eq(inet_pton(AF_INET6, ip, &a.v6.sin6_addr), 1, "address %s", ip);
		len = sizeof(a.v6);
	} else {
		a.v4.sin_family = AF_INET;
		a.v4.sin_port = htons(*port);
		cr_assert_eq(inet_pton(AF_INET, ip, &a.v4.sin_addr), 1, "address %s", ip);
		len = sizeof(a.v4);
	}
	cr_assert_eq(bind(fd, &a.sa, len), 0, "bind %s:%u: %s", ip, *port, strerror(errno));
	cr_assert_eq(listen(fd, 128), 0, "listen: %s", strerror(errno));
	cr_assert_eq(getsockname(fd, &a.sa, &len), 0);
	*port = ntohs(family == AF_INET6 ? a.v6.sin6_port : a.v4.sin_port);
	return fd;
}

int tu_listen(uint16_t *ret_port)
{
	*ret_port = 0;
	return tu_listen_at(AF_INET, "127.0.0.1", ret_port);
}

int tu_refusing_port(uint16_t *ret_port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY) };
	socklen_t len = sizeof(sa);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind: %s", strerror(errno));
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*ret_port = ntohs(sa.sin_port);
	return fd;
}

int tu_silent_udp(char *servers, size_t len)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t salen = sizeof(sa);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind: %s", strerror(errno));
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
	snprintf(servers, len, "127.0.0.1:%u", ntohs(sa.sin_port));
	return fd;
}

uint16_t tu_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		  getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	close(fd);
	return ntohs(a.sin_port);
}

bool tu_port_open(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

int tu_accept(int lfd, int timeout_ms)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int n;
	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	cr_assert_eq(n, 1, "no connection to accept within %d ms", timeout_ms);
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(fd, 0, "accept: %s", strerror(errno));
	return fd;
}

bool tu_wait_eof(int fd, int timeout_ms, char *buf, size_t cap, size_t *ret_n)
{
	size_t got = 0;
	uint64_t end = tu_now_ns() + (uint64_t)timeout_ms * 1000000u;
	for (;;) {
		uint64_t now = tu_now_ns();
		if (now >= end)
			break;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, (int)((end - now + 999999) / 1000000));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		char tmp[512];
		ssize_t k = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
		if (k == 0) {
			if (ret_n)
				*ret_n = got;
			return true;
		}
		if (k < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			if (ret_n)
				*ret_n = got;
			return errno == ECONNRESET; /* a reset is a close too */
		}
		for (ssize_t i = 0; i < k; i++)
			if (buf && got < cap)
				buf[got++] = tmp[i];
	}
	if (ret_n)
		*ret_n = got;
	return false;
}

const char *tu_loopback(uint16_t port)
{
	static char buf[8][32];
	static unsigned k;
	char *b = buf[k++ % 8];
	snprintf(b, 32, "127.0.0.1:%u", port);
	return b;
}

void tu_addr(char *buf, size_t len, unsigned second_octet, unsigned i, uint16_t port)
{
	snprintf(buf, len, "127.%u.%u.%u:%u", second_octet, (i / 250) % 256, 1 + i % 250, port);
}
