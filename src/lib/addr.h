/* addr.h — endpoint strings beyond the public parser: the NAME:PORT form. */
#ifndef RD_ADDR_H
#define RD_ADDR_H

#include <stddef.h>
#include <stdint.h>

/* Splits "NAME:PORT" into a host name (checked as a DNS name) and a port. -EINVAL with a
 * message in errbuf naming the bad part. */
int rd_endpoint_parse_name(const char *s, char *host, size_t hostcap, uint16_t *ret_port,
			   char *errbuf, size_t errlen);

#endif
