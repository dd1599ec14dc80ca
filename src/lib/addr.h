/* addr.h — endpoint strings beyond the public parser: one scan for addresses and names. */
#ifndef RD_ADDR_H
#define RD_ADDR_H

#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

/* A NAME:PORT endpoint: the host name (checked, without a final dot) and the port. */
struct rd_name {
	char host[254];
	uint16_t port;
};

/* Parses an endpoint string in one scan: 0 and *ret_addr, *ret_len for an address
 * (redial_endpoint_parse's forms), 1 and *ret_name for a well-formed NAME:PORT, or -EINVAL
 * with a message in errbuf naming the bad part. */
int rd_endpoint_parse_any(const char *s, struct sockaddr_storage *ret_addr, socklen_t *ret_len,
			  struct rd_name *ret_name, char *errbuf, size_t errlen);

#endif
