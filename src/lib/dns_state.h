/* dns_state.h — the resolver's state, shared by dns.c (names, pacing, lifetime) and
 * dns_ring.c (its sockets and timeouts on the ring). No functions: see dns.h. */
#ifndef RD_DNS_STATE_H
#define RD_DNS_STATE_H

#include <stdbool.h>
#include <stdint.h>

struct ares_channeldata; /* <ares.h>: typedef struct ares_channeldata *ares_channel */
struct redial;
struct rd_dns_name;

/* Pacing.
 *
 * Issue 19: 300 names added at once sent 600 queries (an A and an AAAA each) down one UDP
 * socket in one burst. A socket's default receive buffer (net.core.rmem_default, 212992
 * bytes) holds 256 small datagrams, whatever their size (each costs ~830 bytes of skb), so
 * answers the loop had not read yet overflowed it (Udp RcvbufErrors in /proc/net/snmp), and
 * every dropped answer came back as DNS_TIMEOUT. The server's socket has the same limit for
 * the queries, and a dnsmasq that forwards refuses more than 150 at once (--dns-forward-max).
 *
 * So at most RD_DNS_INFLIGHT names (twice as many queries) are in flight at once: half of a
 * default buffer, and below 150. They are spread over RD_DNS_CHANNELS c-ares channels, each
 * with its own UDP socket per server and at most RD_DNS_PER_CHAN names on it, and each socket
 * asks for a receive buffer 20 times what it can be sent. Names beyond that wait in a FIFO,
 * in the order they were asked for, and start as answers make room: no name is overtaken,
 * and the FIFO runs through the name records, so it costs no memory of its own.
 *
 * c-ares 1.18 (Debian 12) has no ARES_OPT_UDP_MAX_QUERIES (1.20); a channel per socket does
 * its work here, and bounds what one socket carries at once rather than over its life. */
enum {
	RD_DNS_CHANNELS = 4,
	RD_DNS_PER_CHAN = 16,
	RD_DNS_INFLIGHT = RD_DNS_CHANNELS * RD_DNS_PER_CHAN,
	/* The kernel doubles it, and caps it at twice net.core.rmem_max (212992 by default:
	 * then ~512 small datagrams, still far above the 32 a socket is sent at once). */
	RD_DNS_RCVBUF = 256 * 1024,
};
_Static_assert(RD_DNS_CHANNELS <= 256, "rd_dns_name.chan and rd_dns_sock.chan are 8 bits");

/* One c-ares channel: its own sockets, its own timeouts, part of the names in flight. */
struct rd_dns_chan {
	struct rd_dns *d;
	struct ares_channeldata *ch; /* an ares_channel; NULL in a half-built resolver */
	uint32_t inflight;  /* names in flight on it, at most RD_DNS_PER_CHAN */
};

/* One socket c-ares told us about. `seq` changes each time the socket closes, so a watch
 * armed for an earlier socket with the same fd number is recognised and removed. */
struct rd_dns_sock {
	int fd;
	uint8_t chan;       /* the channel whose socket it is now (an fd number moves on) */
	bool live;
	bool armed;
	uint16_t want;      /* POLLIN / POLLOUT c-ares asks for */
	uint16_t armed_mask;
	uint32_t seq;
	uint32_t armed_seq;
	uint32_t pending;   /* our POLL_ADD / POLL_REMOVE CQEs still to come */
};

/* Invariant (pacing_ok): inflight is the sum of the channels' counts, none above
 * RD_DNS_PER_CHAN, and after every drain() the FIFO is empty or every channel is full. */
struct rd_dns {
	struct redial *r;
	struct rd_dns_chan chans[RD_DNS_CHANNELS];
	uint32_t inflight;          /* names in flight on all channels */
	struct rd_dns_name *qhead, *qtail; /* FIFO of names waiting for room */
	bool draining;              /* drain() is running: a nested call leaves it to that one */
	bool stopping;              /* cancelling or destroying: no query may start */
	bool silent;                /* the last lookup to end got no answer in time */
	struct rd_dns_sock *socks;
	uint32_t nsocks, sockcap;
	struct rd_dns_name **buckets;
	uint32_t nbuckets, nnames;
	struct rd_dns_name *done;   /* answered names whose waiters have not been told */
	uint64_t cache_cap_ns;
};

#endif
