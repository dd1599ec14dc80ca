/* testutil.h — shared helpers for the Criterion suites: an event recorder, a loop driver,
 * fd counting and the end-of-test leak check. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redial.h"

struct tu_event {
	enum redial_event_type type;
	redial_id_t id;
	int fd;
	int err;
	enum redial_class cls;
	uint32_t attempt;
	uint64_t duration_ns, backoff_ns, down_ns, up_ns, mono_ns;
	enum redial_gave_up_reason reason;
};

struct tu_recorder {
	struct tu_event *ev;
	size_t n, cap;
	/* Optional hook run after recording, e.g. to cancel from inside a callback. */
	void (*hook)(redial_t *r, const struct redial_event *ev, void *arg);
	void *hook_arg;
	/* The endpoint defaults tu_config points the config at. */
	struct redial_endpoint_opts defs;
};

/* Open descriptors of this process (entries of /proc/self/fd, minus the one used to list). */
int tu_count_fds(void);

/* An event callback that appends to the struct tu_recorder passed as its user pointer. */
void tu_record(redial_t *r, const struct redial_event *ev, void *user);
void tu_recorder_free(struct tu_recorder *rec);
/* Events of a type for an id (0: any id). */
size_t tu_count(const struct tu_recorder *rec, enum redial_event_type type, redial_id_t id);
/* The k-th (0-based) event of a type for an id, or NULL. */
const struct tu_event *tu_nth(const struct tu_recorder *rec, enum redial_event_type type,
			      redial_id_t id, size_t k);

/* Runs the manager in short slices until pred(arg) holds or timeout_ns passes; returns
 * whether pred held. */
bool tu_run_until(redial_t *r, bool (*pred)(redial_t *r, void *arg), void *arg,
		  uint64_t timeout_ns);

/* A config with the recorder as callback, a fixed seed and no jitter. */
void tu_config(struct redial_config *cfg, struct tu_recorder *rec);

/* Manager counters by state. */
uint32_t tu_state_count(redial_t *r, enum redial_state st);
enum redial_state tu_state(redial_t *r, redial_id_t id);

/* Shuts down, then asserts nothing is left: no op in flight, no attempt, no owned fd, and
 * the process's fd count equal to fds_before. Destroys the manager. */
void tu_finish(redial_t *r, int fds_before);

/* dnsmasq on 127.0.0.1 at a free port, answering from a hosts file the test controls,
 * with NXDOMAIN for the rest of .test and every query logged. */
struct tu_dnsmasq {
	int pid;
	uint16_t port;
	char dir[64];
	char hosts[96];
	char log[96];
	char servers[32]; /* "127.0.0.1:PORT", for redial_config.dns_servers */
};
void tu_dnsmasq_start(struct tu_dnsmasq *d, const char *hosts);
/* The same without Criterion: 0, or -1 with a sentence in why. */
int tu_dnsmasq_start_err(struct tu_dnsmasq *d, const char *hosts, char *why, size_t whylen);
int tu_dnsmasq_reload_err(struct tu_dnsmasq *d, const char *hosts, char *why, size_t whylen);
/* Rewrites the hosts file and makes dnsmasq read it again. */
void tu_dnsmasq_reload(struct tu_dnsmasq *d, const char *hosts);
/* How many queries of a type ("A", "AAAA") for a name dnsmasq logged. */
int tu_dnsmasq_queries(const struct tu_dnsmasq *d, const char *type, const char *name);
void tu_dnsmasq_stop(struct tu_dnsmasq *d);

/* Moves this process into new namespaces (CLONE_NEWNET, CLONE_NEWNS, ...): directly as
 * root, else inside a user namespace of its own where it is root. A new network namespace
 * gets its lo up; a new mount namespace is made private first. Returns 0, or -errno with a
 * sentence in why (the test should then skip: the sandbox does not allow it). */
int tu_unshare(int flags, char *why, size_t whylen);

#endif
