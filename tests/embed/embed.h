/* embed.h — helpers for the embedding tests (tests/embed): they drive libredial the way an
 * application such as a load balancer does, through the public headers only (redial.h,
 * redial_log.h), linked like a separate program. Helpers assert with Criterion. */
#ifndef EMBED_H
#define EMBED_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redial.h"

/* One recorded event, plus what the recorder saw around it. */
struct em_event {
	enum redial_event_type type;
	redial_id_t id;
	void *user;
	int fd;
	int err;
	enum redial_class cls;
	uint32_t attempt;
	uint64_t duration_ns, backoff_ns, down_ns, up_ns, mono_ns;
	enum redial_gave_up_reason reason;
	pthread_t thread; /* the thread the callback ran on */
};

/* An event recorder; thread-safe (the callbacks run on the owner thread, readers may not). */
struct em_rec {
	pthread_mutex_t mu;
	struct em_event *ev;
	size_t n, cap;
	/* Optional hook, run after recording (outside the lock). */
	void (*hook)(redial_t *r, const struct redial_event *ev, void *arg);
	void *hook_arg;
};

void em_rec_init(struct em_rec *rec);
void em_rec_free(struct em_rec *rec);
/* The event callback: cfg.event_user must be a struct em_rec. */
void em_record(redial_t *r, const struct redial_event *ev, void *user);
/* Events of a type (0: any) for an id (0: any id). */
size_t em_count(struct em_rec *rec, enum redial_event_type type, redial_id_t id);
/* A copy of the k-th (0-based) such event; false when there is none. */
bool em_nth(struct em_rec *rec, enum redial_event_type type, redial_id_t id, size_t k,
	    struct em_event *ret);

/* Open descriptors of this process (without the one used to count). */
int em_count_fds(void);
/* The same, or -errno (EMFILE when the process is out of descriptors). */
int em_try_count_fds(void);

/* A config with the recorder as callback, a fixed seed, and *defs (no jitter, fast backoff)
 * as endpoint defaults. */
void em_config(struct redial_config *cfg, struct em_rec *rec, struct redial_endpoint_opts *defs);
redial_t *em_create(const struct redial_config *cfg);
redial_id_t em_add(redial_t *r, const char *s, const struct redial_endpoint_opts *o);
struct redial_stats em_stats(redial_t *r);
struct redial_endpoint_stats em_ep_stats(redial_t *r, redial_id_t id);

/* The end of every test: shuts the manager down and asserts nothing is in flight and no fd
 * is owned, removes ids[0..n) and asserts no endpoint is left, destroys the manager and
 * asserts the process has fds_before descriptors again (and, under ASan, that nothing
 * leaked). */
void em_finish(redial_t *r, const redial_id_t *ids, size_t n, int fds_before);

/* In an ASan build, runs LeakSanitizer now (it prints what it finds) and returns false when
 * it found leaks; elsewhere true. */
bool em_leak_check(void);

/* A TCP listener on 127.0.0.1, port chosen by the kernel. */
int em_listen(uint16_t *ret_port);
/* Accepts one connection within timeout_ms (asserts it came). */
int em_accept(int lfd, int timeout_ms);
/* Waits up to timeout_ms for fd to read EOF (recv returns 0 after any data); true if so.
 * Bytes read before the EOF go to buf (up to cap), their count to *ret_n when not NULL. */
bool em_wait_eof(int fd, int timeout_ms, char *buf, size_t cap, size_t *ret_n);

/* The application's epoll set around redial_fd(). */
struct em_loop {
	redial_t *r;
	int ep;
	int rfd;
	uint64_t wakeups; /* epoll_wait returns with redial_fd readable */
	uint64_t polls;   /* redial_poll calls */
};
void em_loop_open(struct em_loop *l, redial_t *r);
void em_loop_close(struct em_loop *l);
/* epoll_wait only (no redial_poll): true when redial_fd is readable within timeout_ms. */
bool em_loop_readable(struct em_loop *l, int timeout_ms);
/* One step of the application loop: epoll_wait (max_ms at most) and redial_poll when
 * redial_fd is readable. Returns whether it polled. (redial_timeout_ms is "never needed for
 * correctness"; the scale test uses it in its own loop.) */
bool em_loop_step(struct em_loop *l, int max_ms);
/* Steps until pred holds or timeout_ns passes; returns whether it held. */
bool em_loop_until(struct em_loop *l, bool (*pred)(void *arg), void *arg, uint64_t timeout_ns);
/* Polls while the fd is readable and the manager still has something to do right away,
 * until the fd stays quiet for quiet_ms (asserts it does within a few seconds). */
void em_loop_settle(struct em_loop *l, int quiet_ms);

/* redial_run in 10 ms slices until pred holds or timeout_ns passes. */
bool em_run_until(redial_t *r, bool (*pred)(void *arg), void *arg, uint64_t timeout_ns);

/* Sleeps ms milliseconds (never what makes a test pass; only pacing). */
void em_sleep_ms(unsigned ms);
/* "127.a.b.c:port" for index i inside a /16 given by its second octet. */
void em_addr(char *buf, size_t len, unsigned second_octet, unsigned i, uint16_t port);

#endif
