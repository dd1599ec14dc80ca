/* drive.c — see drive.h. */
#include "drive.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "manager.h"

bool tu_run_until(redial_t *r, tu_pred pred, void *arg, uint64_t timeout_ns)
{
	uint64_t end = redial_now_ns() + timeout_ns;
	for (;;) {
		if (pred(r, arg))
			return true;
		if (redial_now_ns() >= end)
			return false;
		int ret = redial_run(r, REDIAL_MSEC(10));
		cr_assert_geq(ret, 0, "redial_run: %s", strerror(-ret));
	}
}

struct want_events {
	struct tu_recorder *rec;
	enum redial_event_type type;
	redial_id_t id;
	size_t n;
};

static bool have_events(redial_t *r, void *arg)
{
	(void)r;
	struct want_events *w = arg;
	return tu_count(w->rec, w->type, w->id) >= w->n;
}

/* The failure message of the _event waits: what came, of what was wanted. */
#define TU_ONLY_EVENTS "only %zu of %zu %s events within %llu ms"

void tu_run_until_event(redial_t *r, struct tu_recorder *rec, enum redial_event_type type,
			redial_id_t id, size_t n, uint64_t timeout_ns)
{
	struct want_events w = { rec, type, id, n };
	cr_assert(tu_run_until(r, have_events, &w, timeout_ns), TU_ONLY_EVENTS,
		  tu_count(rec, type, id), n, type ? redial_event_name(type) : "",
		  (unsigned long long)(timeout_ns / 1000000));
}

struct want_state {
	enum redial_state st;
	uint32_t n;
};

static bool have_state(redial_t *r, void *arg)
{
	struct want_state *w = arg;
	return tu_state_count(r, w->st) >= w->n;
}

void tu_run_until_state(redial_t *r, enum redial_state st, uint32_t n, uint64_t timeout_ns)
{
	struct want_state w = { st, n };
	cr_assert(tu_run_until(r, have_state, &w, timeout_ns), "only %u of %u endpoints reached %s",
		  tu_state_count(r, st), n, redial_state_name(st));
}

void tu_run_for(redial_t *r, uint64_t ns)
{
	uint64_t end = redial_now_ns() + ns;
	while (redial_now_ns() < end) {
		int ret = redial_run(r, REDIAL_MSEC(10));
		cr_assert_geq(ret, 0, "redial_run: %s", strerror(-ret));
	}
}

/* ---- The application's epoll loop ----------------------------------------------------------- */

void tu_loop_open(struct tu_loop *l, redial_t *r)
{
	memset(l, 0, sizeof(*l));
	l->r = r;
	l->rfd = redial_fd(r);
	cr_assert_geq(l->rfd, 0, "redial_fd: %s", strerror(-l->rfd));
	cr_assert_eq(redial_fd(r), l->rfd, "redial_fd returns another fd the second time");
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	cr_assert_geq(l->ep, 0, "epoll_create1: %s", strerror(errno));
	struct epoll_event e = { .events = EPOLLIN, .data.fd = l->rfd };
	cr_assert_eq(epoll_ctl(l->ep, EPOLL_CTL_ADD, l->rfd, &e), 0, "epoll_ctl ADD redial_fd: %s",
		     strerror(errno));
}

void tu_loop_close(struct tu_loop *l)
{
	if (l->ep >= 0)
		close(l->ep);
	l->ep = -1;
}

bool tu_loop_readable(struct tu_loop *l, int timeout_ms)
{
	struct epoll_event evs[8];
	int n;
	do
		n = epoll_wait(l->ep, evs, 8, timeout_ms);
	while (n < 0 && errno == EINTR);
	cr_assert_geq(n, 0, "epoll_wait: %s", strerror(errno));
	for (int i = 0; i < n; i++)
		if (evs[i].data.fd == l->rfd)
			return true;
	return false;
}

static void loop_poll(struct tu_loop *l)
{
	int ret = redial_poll(l->r);
	l->polls++;
	cr_assert_geq(ret, 0, "redial_poll: %s", strerror(-ret));
}

bool tu_loop_step(struct tu_loop *l, int max_ms)
{
	if (!tu_loop_readable(l, max_ms))
		return false;
	l->wakeups++;
	loop_poll(l);
	return true;
}

bool tu_loop_until(struct tu_loop *l, tu_pred pred, void *arg, uint64_t timeout_ns)
{
	uint64_t end = redial_now_ns() + timeout_ns;
	for (;;) {
		if (pred(l->r, arg))
			return true;
		uint64_t now = redial_now_ns();
		if (now >= end)
			return false;
		uint64_t left_ms = (end - now) / 1000000 + 1;
		tu_loop_step(l, left_ms > 100 ? 100 : (int)left_ms);
	}
}

void tu_loop_until_event(struct tu_loop *l, struct tu_recorder *rec, enum redial_event_type type,
			 redial_id_t id, size_t n, uint64_t timeout_ns)
{
	struct want_events w = { rec, type, id, n };
	cr_assert(tu_loop_until(l, have_events, &w, timeout_ns),
		  TU_ONLY_EVENTS " of epoll-driven polling", tu_count(rec, type, id), n,
		  type ? redial_event_name(type) : "", (unsigned long long)(timeout_ns / 1000000));
}

void tu_loop_settle(struct tu_loop *l, int quiet_ms)
{
	for (int i = 0; i < 500; i++) {
		if (!tu_loop_readable(l, quiet_ms))
			return;
		loop_poll(l);
	}
	cr_assert_fail("redial_fd stays readable through 500 polls of an idle manager");
}
