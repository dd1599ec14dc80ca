/* net.h — the test's own sockets on loopback (listeners it accepts from itself, ports that
 * refuse, free ports for a server it starts) and the endpoint strings that point at them. */
#ifndef TU_NET_H
#define TU_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A TCP listener on ip (of family AF_INET or AF_INET6; an IPv6 one is V6ONLY) at *port, or
 * at a port the kernel picks when *port is 0; *port is the port it got. SO_REUSEADDR, so a
 * test can listen again on a port it closed. */
int tu_listen_at(int family, const char *ip, uint16_t *port);
/* A TCP listener on 127.0.0.1, port chosen by the kernel. */
int tu_listen(uint16_t *ret_port);
/* A TCP port bound on every address and never listening, so that nobody else can listen
 * there: a connect to any 127/8 address at *ret_port is refused at once. Returns the fd
 * that holds it. */
int tu_refusing_port(uint16_t *ret_port);
/* A UDP socket on 127.0.0.1 that never answers: a DNS server that times out, at the
 * "127.0.0.1:PORT" it writes into servers (len bytes). Returns its fd. */
int tu_silent_udp(char *servers, size_t len);
/* A TCP port free on 127.0.0.1 now, for a server the test starts (which fails if it is
 * taken by then). */
uint16_t tu_free_port(void);
/* Whether a TCP connect to 127.0.0.1:port succeeds now. */
bool tu_port_open(uint16_t port);

/* Accepts one connection within timeout_ms (fails the test if none comes). */
int tu_accept(int lfd, int timeout_ms);
/* Waits up to timeout_ms for fd to read EOF (recv returns 0 after any data, or a reset);
 * true if so. Bytes read before the EOF go to buf (up to cap), their count to *ret_n when
 * not NULL. */
bool tu_wait_eof(int fd, int timeout_ms, char *buf, size_t cap, size_t *ret_n);

/* "127.0.0.1:port", in one of 8 rotating static buffers. */
const char *tu_loopback(uint16_t port);
/* "127.a.b.c:port" for index i inside the /16 given by its second octet. */
void tu_addr(char *buf, size_t len, unsigned second_octet, unsigned i, uint16_t port);

#endif
