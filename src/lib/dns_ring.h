/* dns_ring.h — the resolver's sockets on the ring: c-ares tells which sockets it wants
 * watched (rd_dns_sock_state), the loop sends the POLL_ADD/POLL_REMOVE they need and hands
 * back their completions, and runs c-ares' timeouts when they are due. */
#ifndef RD_DNS_RING_H
#define RD_DNS_RING_H

#include <stdbool.h>
#include <stdint.h>

struct redial;

/* Runs the queries' timeouts that are due. */
void rd_dns_tick(struct redial *r);
/* Sends the POLL_ADD/POLL_REMOVE the sockets need (stopping: removes only). False when the
 * SQ filled up first. */
bool rd_dns_pump(struct redial *r, bool stopping);
/* c-ares' socket-state callback: a socket opened, changed interest, or is about to close
 * (0, 0). data is the socket's channel, a struct rd_dns_chan (dns_state.h). */
void rd_dns_sock_state(void *data, int fd, int readable, int writable);
/* A poll CQE of a resolver socket (remove: of its POLL_REMOVE). */
void rd_dns_cqe(struct redial *r, bool remove, uint32_t seq, uint32_t fd, int res);
/* When c-ares next wants to run its timeouts, CLOCK_MONOTONIC ns; UINT64_MAX: never. */
uint64_t rd_dns_next_ns(const struct redial *r);

#endif
