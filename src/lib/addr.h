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

/* The transport an endpoint string's prefix asks for. */
enum rd_scheme {
	RD_SCHEME_NONE = 0, /* no prefix: the endpoint options decide */
	RD_SCHEME_TCP = 1,  /* "tcp://": plain TCP */
	RD_SCHEME_TLS = 2,  /* "tls://": TLS */
};

/* Parses an endpoint string in one scan: 0 and *ret_addr, *ret_len for an address
 * (redial_endpoint_parse's forms), 1 and *ret_name for a well-formed NAME:PORT, or -EINVAL
 * with a message in errbuf naming the bad part. *ret_scheme gets the prefix on success.
 * The same scan as redial_endpoint_parse's, name checks included, so that the two never
 * disagree about a string. */
int rd_endpoint_parse_any(const char *s, struct sockaddr_storage *ret_addr, socklen_t *ret_len,
			  struct rd_name *ret_name, enum rd_scheme *ret_scheme, char *errbuf,
			  size_t errlen);

#endif
