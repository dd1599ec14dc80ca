/* drive.h — running a manager until something holds: with redial_run in short slices, or
 * from an application's own epoll loop around redial_fd() with redial_poll(), the way a load
 * balancer embeds it. Every wait has a deadline; the _event forms fail the test when it
 * passes. */
#ifndef TU_DRIVE_H
#define TU_DRIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "recorder.h"
#include "redial.h"

/* A condition the drivers test between slices. */
typedef bool (*tu_pred)(redial_t *r, void *arg);

/* redial_run in 10 ms slices until pred holds or timeout_ns passes; returns whether it held. */
bool tu_run_until(redial_t *r, tu_pred pred, void *arg, uint64_t timeout_ns);
/* Runs until rec holds n events of a type (0: any) for id (0: any); fails the test when
 * timeout_ns passes first. */
void tu_run_until_event(redial_t *r, struct tu_recorder *rec, enum redial_event_type type,
			redial_id_t id, size_t n, uint64_t timeout_ns);
/* Runs until n endpoints are in state st; fails the test when timeout_ns passes first. */
void tu_run_until_state(redial_t *r, enum redial_state st, uint32_t n, uint64_t timeout_ns);
/* Runs for ns, whatever happens. */
void tu_run_for(redial_t *r, uint64_t ns);

/* The application's epoll set around redial_fd(). */
struct tu_loop {
	redial_t *r;
	int ep;
	int rfd;
	uint64_t wakeups; /* epoll_wait returned with redial_fd readable */
	uint64_t polls;   /* redial_poll calls */
};
void tu_loop_open(struct tu_loop *l, redial_t *r);
void tu_loop_close(struct tu_loop *l);
/* epoll_wait only (no redial_poll): true when redial_fd is readable within timeout_ms. */
bool tu_loop_readable(struct tu_loop *l, int timeout_ms);
/* One step of the application loop: epoll_wait (max_ms at most) and redial_poll when
 * redial_fd is readable. Returns whether it polled. (redial_timeout_ms is "never needed for
 * correctness"; the scale test uses it in its own loop.) */
bool tu_loop_step(struct tu_loop *l, int max_ms);
/* Steps until pred holds or timeout_ns passes; returns whether it held. */
bool tu_loop_until(struct tu_loop *l, tu_pred pred, void *arg, uint64_t timeout_ns);
/* tu_run_until_event through the loop. */
void tu_loop_until_event(struct tu_loop *l, struct tu_recorder *rec, enum redial_event_type type,
			 redial_id_t id, size_t n, uint64_t timeout_ns);
/* Polls while the fd is readable and the manager still has something to do right away,
 * until the fd stays quiet for quiet_ms (fails the test unless it does within 500 polls). */
void tu_loop_settle(struct tu_loop *l, int quiet_ms);

#endif
