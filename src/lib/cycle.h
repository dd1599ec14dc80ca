/* cycle.h — one attempt cycle of a NAME:PORT endpoint: the addresses its last resolution
 * gave (RFC 8305 order), which one goes next, the cycle's share of the connect deadline,
 * and the second attempt racing the first (Happy Eyeballs). The resolver fills the
 * addresses (dns.c); launching attempts (launch.c) and judging them (policy.c) use the rest. */
#ifndef RD_CYCLE_H
#define RD_CYCLE_H

#include <stdint.h>

#include "sockaddr.h"

struct rd_cycle {
	union rd_addr *addrs;       /* this cycle's addresses, port set */
	uint32_t naddrs, cap;
	uint32_t next;              /* next address to try; naddrs: the cycle is over */
	uint64_t deadline_ns;       /* the cycle's share of connect_timeout ends then */
	uint32_t racer;             /* the attempt racing rd_ep_attempt(ep), or RD_NONE */
};

#endif
