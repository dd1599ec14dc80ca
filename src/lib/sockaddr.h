/* sockaddr.h — the one address type the library stores: big enough for IPv4 and IPv6,
 * small enough (28 bytes) to sit inline in endpoints, attempts and log records. */
#ifndef RD_SOCKADDR_H
#define RD_SOCKADDR_H

#include <netinet/in.h>
#include <sys/socket.h>

union rd_addr {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

/* The length the kernel wants for a's family (IPv4 unless it says IPv6). */
static inline socklen_t rd_addr_len(const union rd_addr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					   : sizeof(struct sockaddr_in);
}

#endif
