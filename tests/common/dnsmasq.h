/* dnsmasq.h — a DNS server of the test's own: dnsmasq on 127.0.0.1 at a free port, answering
 * from a hosts file the test controls, with NXDOMAIN for the rest of .test and every query
 * logged. It dies with the test. */
#ifndef TU_DNSMASQ_H
#define TU_DNSMASQ_H

#include <stddef.h>
#include <stdint.h>

struct tu_dnsmasq {
	int pid;
	uint16_t port;
	char dir[64];
	char hosts[96];
	char log[96];
	char servers[32]; /* "127.0.0.1:PORT", for redial_config.dns_servers */
};

/* Starts it with hosts as the hosts file; skips the test where dnsmasq is not installed,
 * fails it when dnsmasq does not start. */
void tu_dnsmasq_start(struct tu_dnsmasq *d, const char *hosts);
/* Rewrites the hosts file and waits until dnsmasq has read it again. */
void tu_dnsmasq_reload(struct tu_dnsmasq *d, const char *hosts);
/* The same two without Criterion (tests/soak): 0, or -1 with a sentence in why; start
 * returns -ENOENT where dnsmasq is not installed. */
int tu_dnsmasq_start_err(struct tu_dnsmasq *d, const char *hosts, char *why, size_t whylen);
int tu_dnsmasq_reload_err(struct tu_dnsmasq *d, const char *hosts, char *why, size_t whylen);
/* How many queries of a type ("A", "AAAA") for a name dnsmasq logged. */
int tu_dnsmasq_queries(const struct tu_dnsmasq *d, const char *type, const char *name);
void tu_dnsmasq_stop(struct tu_dnsmasq *d);

#endif
