/* policy.c — what outcomes mean: failure streaks, backoff, alerts, give-up, throttling,
 * connects, disconnects and cancellation. */
#include "policy.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "attempt.h"
#include "connection.h"
#include "dns.h"
#include "events.h"
#include "launch.h"
#include "log/log.h"
#include "clock.h"
#include "fdbudget.h"
#include "late.h"
#include "tls.h"
#include "tls_cfg.h"
#include "tls_conn.h"

#define RD_THROTTLE_MIN_NS REDIAL_MSEC(10)
#define RD_THROTTLE_MAX_NS REDIAL_SEC(1)
#define RD_SPARE_KEEP_NS REDIAL_MSEC(100) /* longest backoff a failed socket is kept for */

bool rd_throttled(const struct redial *r)
{
	return r->throttle_until_ns > r->now;
}

static enum redial_class classify(struct redial *r, int err)
{
	enum redial_class c = redial_classify(err);
	if (r->cfg.classify)
		c = r->cfg.classify(err, c, r->cfg.classify_user);
	return c;
}

/* Pauses new attempts after a local shortage. Attempts already in flight when the pause
 * began report the same shortage, so only an error after the window closed (the shortage
 * outlasted a pause) lengthens the next window: the pause grows once per window. */
static void throttle(struct redial *r)
{
	if (rd_throttled(r))
		return;
	uint64_t d = r->throttle_delay_ns ? r->throttle_delay_ns * 2 : RD_THROTTLE_MIN_NS;
	if (d > RD_THROTTLE_MAX_NS)
		d = RD_THROTTLE_MAX_NS;
	r->throttle_delay_ns = d;
	if (r->throttle_until_ns < r->now + d)
		r->throttle_until_ns = r->now + d;
	r->throttles++;
}

/* The TLS library's reason for err, for the events that report it. It lives in the
 * endpoint until its next failure, which cannot come before these events are delivered. */
static const char *tls_reason(const struct redial *r, const struct rd_endpoint *ep, int err)
{
	const struct rd_tls_ep *t = rd_ep_tls(r, ep);
	return t && err >= REDIAL_E_TLS_CERT_UNTRUSTED && err <= REDIAL_E_TLS_ERROR ? t->reason
										 : NULL;
}

static void give_up(struct redial *r, struct rd_endpoint *ep, enum redial_gave_up_reason why,
		    int err, enum redial_class cls)
{
	rd_ep_set_state(r, ep, REDIAL_STATE_FAILED);
	ep->gave_up = (uint8_t)why;
	ep->mark_ns = r->now;
	r->gave_up++;
	union rd_addr a;
	struct redial_event *ev = rd_ev_queue(r, ep, REDIAL_EV_GAVE_UP, rd_ep_addr(r, ep, &a));
	ev->reason = why;
	ev->err = err;
	ev->cls = cls;
	ev->attempt = ep->streak;
	ev->tls_reason = tls_reason(r, ep, err);
	/* recheck_permanent_ns: a permanent answer is not forever (a certificate renewed, a
	 * name created); the endpoint stays FAILED until then. */
	uint64_t recheck = rd_ep_opts(r, ep)->recheck_permanent_ns;
	if (why == REDIAL_GAVE_UP_PERMANENT && recheck)
		rd_ep_schedule(r, ep, r->now + recheck);
}

/* The process is short of fds, ports or memory: pause every new attempt, and don't hold it
 * against this endpoint's streak. A NAME endpoint retries the same address. */
static void local_failure(struct redial *r, struct rd_endpoint *ep, int err, uint64_t dur,
			  const union rd_addr *addr, int addr_idx, bool busy)
{
	struct rd_ep_name *en = rd_ep_name(r, ep);
	struct rd_cycle *c = en ? &en->cyc : NULL;
	ep->local_errors++;
	r->local_errors++;
	rd_attempt_drop_spare(r, ep); /* short of resources: hold none idle */
	throttle(r);
	if (c && addr_idx >= 0 && !busy && (uint32_t)addr_idx < c->next)
		c->next = (uint32_t)addr_idx;
	rd_ep_unschedule(r, ep);
	rd_ep_schedule(r, ep, r->throttle_until_ns);
	if (!busy)
		rd_ep_set_state(r, ep, REDIAL_STATE_BACKOFF);
	struct redial_event *ev = rd_ev_queue(r, ep, REDIAL_EV_ATTEMPT_FAILED, addr);
	ev->err = err;
	ev->cls = REDIAL_CLASS_LOCAL;
	ev->attempt = ep->streak + 1;
	ev->duration_ns = dur;
	ev->backoff_ns = r->throttle_until_ns - r->now;
}

/* An attempt (or, with connect_made false, a resolution) failed. addr: where it tried
 * (NULL for a resolver failure); addr_idx: its place in a NAME endpoint's cycle, or -1;
 * force_cls: a class decided by the caller, or -1 for the classifier's. */
static void attempt_failed(struct redial *r, struct rd_endpoint *ep, int err, uint64_t start_ns,
			   const union rd_addr *addr, int addr_idx, int force_cls,
			   bool connect_made)
{
	uint64_t dur = r->now > start_ns ? r->now - start_ns : 0;
	enum redial_class cls = force_cls >= 0 ? (enum redial_class)force_cls : classify(r, err);
	const struct rd_opts *o = rd_ep_opts(r, ep);
	struct rd_ep_name *en = rd_ep_name(r, ep);
	struct rd_cycle *c = en ? &en->cyc : NULL;
	bool busy = rd_ep_attempt(ep) != RD_NONE || (c && c->racer != RD_NONE);
	rd_ep_count_err(r, ep, err);
	ep->last_error = (uint16_t)err;
	ep->last_class = (uint8_t)cls;
	if (addr)
		rd_ep_set_addr(r, ep, addr);

	if (cls == REDIAL_CLASS_LOCAL) {
		local_failure(r, ep, err, dur, addr, addr_idx, busy);
		return;
	}

	if (connect_made) {
		ep->attempts++;
		r->attempts++;
	}
	ep->failures++;
	r->failures++;
	ep->streak++;
	if (ep->streak == 1)
		ep->streak_start_ns = start_ns;

	/* A NAME endpoint moves on to its next address (or waits for the one still racing)
	 * before it backs off: the backoff is per cycle, not per address. */
	bool more = c && cls == REDIAL_CLASS_TRANSIENT && (c->next < c->naddrs || busy);
	uint64_t delay = 0;
	enum redial_gave_up_reason why = REDIAL_GAVE_UP_NONE;
	if (cls == REDIAL_CLASS_PERMANENT) {
		why = REDIAL_GAVE_UP_PERMANENT;
	} else if (more) {
		if (o->backoff.max_attempts && ep->streak >= o->backoff.max_attempts)
			why = REDIAL_GAVE_UP_MAX_ATTEMPTS;
	} else {
		ep->level++;
		delay = redial_backoff_delay(&o->backoff, ep->level, ep->prev_delay_ns, &r->rng);
		uint64_t elapsed = r->now - ep->streak_start_ns;
		if (redial_backoff_exhausted(&o->backoff, ep->streak, elapsed, delay)) {
			why = (o->backoff.max_attempts && ep->streak >= o->backoff.max_attempts)
				      ? REDIAL_GAVE_UP_MAX_ATTEMPTS
				      : REDIAL_GAVE_UP_MAX_ELAPSED;
			delay = 0;
		}
	}

	struct redial_event *ev = rd_ev_queue(r, ep, REDIAL_EV_ATTEMPT_FAILED, addr);
	ev->err = err;
	ev->cls = cls;
	ev->attempt = ep->streak;
	ev->duration_ns = dur;
	ev->backoff_ns = delay;
	ev->tls_reason = tls_reason(r, ep, err);

	if (o->alert_after && ep->streak == o->alert_after) {
		ev = rd_ev_queue(r, ep, REDIAL_EV_ALERT, addr);
		ev->err = err;
		ev->cls = cls;
		ev->attempt = ep->streak;
		ev->tls_reason = tls_reason(r, ep, err);
	}

	if (why != REDIAL_GAVE_UP_NONE) {
		rd_attempt_abandon_all(r, ep);
		rd_ep_unschedule(r, ep);
		if (c)
			c->next = c->naddrs;
		give_up(r, ep, why, err, cls);
		return;
	}
	if (more) {
		/* RFC 8305: when the attempt in flight fails, the racer still sitting out its
		 * head start goes now. */
		if (c->racer != RD_NONE && rd_ep_attempt(ep) == RD_NONE &&
		    rd_attempt_waiting(r, c->racer)) {
			uint32_t idx = r->att[c->racer].addr_idx;
			if (idx < c->next)
				c->next = idx;
			rd_attempt_abandon(r, c->racer);
			c->racer = RD_NONE;
		}
		if (c->next < c->naddrs && !(ep->flags & RD_EPF_READYQ)) {
			ep->due_ns = r->now;
			rd_readyq_push(r, ep);
		}
		rd_ep_set_state(r, ep, REDIAL_STATE_CONNECTING);
		return;
	}
	if (c)
		c->next = c->naddrs; /* cycle over: the next one resolves again */
	ep->prev_delay_ns = delay;
	/* The socket the attempt left (attempt.c) serves the next one only if that comes
	 * soon: a long backoff should not hold a kernel socket and an attempt slot. */
	if (delay > RD_SPARE_KEEP_NS)
		rd_attempt_drop_spare(r, ep);
	rd_ep_schedule(r, ep, r->now + delay);
	rd_ep_set_state(r, ep, REDIAL_STATE_BACKOFF);
}

/* fd_counted: the socket is in fds_open already (a TLS handshake held it). The endpoint has
 * its cold record (rd_policy_outcome made sure). */
static void connected(struct redial *r, struct rd_endpoint *ep, int fd, uint64_t start_ns,
		      bool fd_counted)
{
	struct rd_ep_cold *c = rd_ep_cold(r, ep);
	uint64_t dur = r->now > start_ns ? r->now - start_ns : 0;
	uint32_t took = ep->failures - c->fail_mark + 1;
	uint64_t down = r->now - ep->mark_ns;
	c->fd = fd;
	c->conn_seq = (c->conn_seq + 1) & 0xffffffu;
	ep->mark_ns = r->now;
	/* The streak ends only once the connection proves stable (see disconnected): a peer
	 * that accepts and drops at once is a failing peer, and must raise alerts. */
	ep->attempts++;
	c->connects++;
	r->attempts++;
	r->connects++;
	if (!fd_counted)
		rd_fds_opened(r);
	r->throttle_delay_ns = 0; /* a success: local pressure has eased */
	rd_ep_set_state(r, ep, REDIAL_STATE_CONNECTED);
	rd_conn_watch(r, ep);
	union rd_addr a;
	struct redial_event *ev = rd_ev_queue(r, ep, REDIAL_EV_CONNECTED, rd_ep_addr(r, ep, &a));
	ev->fd = fd;
	ev->attempt = took;
	ev->duration_ns = dur;
	ev->down_ns = down;
	ev->tls = c->tls ? (redial_tls_t *)c->tls->ssl : NULL;
}

void rd_policy_outcome(struct redial *r, const struct rd_outcome *o)
{
	struct rd_endpoint *ep = &r->eps[o->ep];
	if (o->res == 0 && !rd_ep_cold_need(r, ep)) {
		/* Connected, but the record a connection lives in cannot be had: a local
		 * shortage, like a socket that could not be made. */
		close(o->fd);
		attempt_failed(r, ep, ENOMEM, o->start_ns, &o->addr, (int)o->addr_idx, -1, false);
	} else if (o->res == 0) {
		/* First to connect wins; the other attempt, if any, is cancelled. */
		rd_attempt_abandon_all(r, ep);
		rd_ep_unschedule(r, ep);
		struct rd_ep_name *en = rd_ep_name(r, ep);
		if (en)
			en->cyc.next = en->cyc.naddrs;
		rd_ep_set_addr(r, ep, &o->addr);
		if (!rd_ep_tls(r, ep)) {
			connected(r, ep, o->fd, o->start_ns, false);
		} else {
			/* Connected is not CONNECTED yet: the handshake comes first. */
			int ret = rd_tls_start(r, ep, o);
			if (ret != 0) {
				close(o->fd);
				attempt_failed(r, ep, ret < 0 ? -ret : ret, o->start_ns, &o->addr, -1,
					       -1, true);
			}
		}
	} else {
		attempt_failed(r, ep, -o->res, o->start_ns, &o->addr, (int)o->addr_idx, -1, true);
	}
	rd_ep_check(r, ep);
}

void rd_policy_tls(struct redial *r, const struct rd_tls_outcome *o)
{
	struct rd_endpoint *ep = &r->eps[o->ep];
	struct rd_tls_ep *t = rd_ep_tls(r, ep);
	if (o->err == 0) {
		struct redial_tls_info in;
		rd_tls_negotiated(t->ssl, &in);
		snprintf(t->version, sizeof(t->version), "%s", in.version ? in.version : "");
		snprintf(t->cipher, sizeof(t->cipher), "%s", in.cipher ? in.cipher : "");
		snprintf(t->alpn, sizeof(t->alpn), "%s", in.alpn);
		t->handshakes++;
		r->tls_handshakes++;
		if (in.resumed) {
			t->resumed++;
			r->tls_resumed++;
		}
		t->unnamed = 0;
		connected(r, ep, o->fd, o->start_ns, true);
	} else {
		/* A verification failure the library could not name may be a passing fault (a
		 * store that failed to load, memory): retried a few times before it is taken as
		 * the permanent answer it usually is. */
		int force = -1;
		if (o->unnamed)
			force = ++t->unnamed <= REDIAL_TLS_UNNAMED_RETRIES ? REDIAL_CLASS_TRANSIENT
									    : REDIAL_CLASS_PERMANENT;
		attempt_failed(r, ep, o->err, o->start_ns, &o->addr, -1, force, true);
	}
	rd_ep_check(r, ep);
}

/* The connection is gone (peer closed, reset, or the application says so): close it and
 * plan the reconnect. A connection that had been up for stable_after_ns ends the failure
 * streak and resets the backoff; one that dropped sooner counts as one more failure of the
 * streak, as does every failure the application reports, so a peer that accepts and drops
 * at once raises alerts and gives up like one that refuses, and cannot drive a reconnect
 * storm. */
void rd_policy_disconnected(struct redial *r, struct rd_endpoint *ep, int err, bool by_app)
{
	uint64_t up = r->now - ep->mark_ns;
	const struct rd_opts *o = rd_ep_opts(r, ep);
	/* The application asked: the fd is closed before its call returns. The peer went
	 * away: the fd goes out in the event, open, and is closed at the next run. */
	int fd = -1;
	redial_tls_t *tls = NULL;
	if (by_app) {
		rd_tls_conn_end(r, ep, false);
		rd_conn_close_now(r, ep);
	} else {
		struct ssl_st *ssl = rd_tls_conn_end(r, ep, true);
		fd = rd_conn_hand_to_event(r, ep);
		rd_late_add(r, fd, ssl);
		tls = (redial_tls_t *)ssl;
	}
	struct rd_ep_cold *c = rd_ep_cold(r, ep); /* it was connected: it has one */
	c->disconnects++;
	r->disconnects++;
	enum redial_class cls = err ? classify(r, err) : REDIAL_CLASS_NONE;
	if (err) {
		rd_ep_count_err(r, ep, err);
		ep->last_error = (uint16_t)err;
		ep->last_class = (uint8_t)cls;
	}
	bool stable = up >= o->stable_after_ns;
	if (stable) {
		ep->level = 0;
		ep->prev_delay_ns = 0;
		ep->streak = 0;
	}
	bool counts = !stable || by_app;
	if (counts && ep->streak++ == 0)
		ep->streak_start_ns = ep->mark_ns;
	ep->level++;
	uint64_t delay = redial_backoff_delay(&o->backoff, ep->level, ep->prev_delay_ns, &r->rng);
	enum redial_gave_up_reason why = REDIAL_GAVE_UP_NONE;
	if (counts && redial_backoff_exhausted(&o->backoff, ep->streak, r->now - ep->streak_start_ns,
					       delay)) {
		why = (o->backoff.max_attempts && ep->streak >= o->backoff.max_attempts)
			      ? REDIAL_GAVE_UP_MAX_ATTEMPTS
			      : REDIAL_GAVE_UP_MAX_ELAPSED;
		delay = 0;
	}
	ep->prev_delay_ns = delay;
	ep->mark_ns = r->now;
	c->fail_mark = ep->failures;
	union rd_addr a;
	const union rd_addr *addr = rd_ep_addr(r, ep, &a);
	struct redial_event *ev = rd_ev_queue(r, ep, REDIAL_EV_DISCONNECTED, addr);
	ev->fd = fd;
	ev->tls = tls;
	ev->err = err;
	ev->cls = cls;
	ev->up_ns = up;
	ev->backoff_ns = delay;
	if (counts && o->alert_after && ep->streak == o->alert_after) {
		ev = rd_ev_queue(r, ep, REDIAL_EV_ALERT, addr);
		ev->err = err;
		ev->cls = cls;
		ev->attempt = ep->streak;
	}
	if (why != REDIAL_GAVE_UP_NONE) {
		give_up(r, ep, why, err, cls);
	} else {
		rd_ep_schedule(r, ep, r->now + delay);
		rd_ep_set_state(r, ep, REDIAL_STATE_BACKOFF);
	}
	rd_ep_check(r, ep);
}

uint32_t rd_policy_streak(const struct redial *r, const struct rd_endpoint *ep)
{
	if (ep->state == REDIAL_STATE_CONNECTED &&
	    r->now - ep->mark_ns >= rd_ep_opts(r, ep)->stable_after_ns)
		return 0; /* proven stable; the streak is cleared at the next disconnect */
	return ep->streak;
}

void rd_policy_resolved(struct redial *r, const struct rd_dns_result *res)
{
	struct rd_endpoint *ep = &r->eps[res->ep];
	int status = res->status;
	struct rd_ep_name *en = rd_ep_name(r, ep);
	if (status == 0) {
		en->nx_since_ns = 0;
		if (r->cfg.log)
			rd_log_resolved(r->cfg.log, r->now, rd_ep_id(r, ep), en->cyc.addrs,
					en->cyc.naddrs, en->n->ttl_s);
		rd_cycle_begin(r, ep);
		rd_readyq_push(r, ep);
		return;
	}
	int force = -1;
	if (status == REDIAL_E_DNS_NXDOMAIN || status == REDIAL_E_DNS_NODATA) {
		/* A name that appears late: hold it as transient for a while (HAProxy's hold nx). */
		if (!en->nx_since_ns)
			en->nx_since_ns = r->now;
		if (r->cfg.dns_nxdomain_hold_ns && r->now - en->nx_since_ns < r->cfg.dns_nxdomain_hold_ns)
			force = REDIAL_CLASS_TRANSIENT;
	}
	en->cyc.next = en->cyc.naddrs = 0;
	attempt_failed(r, ep, status, res->start_ns, NULL, -1, force, false);
	rd_ep_check(r, ep);
}

void rd_policy_launch_failed(struct redial *r, struct rd_endpoint *ep, int err)
{
	attempt_failed(r, ep, err, r->now, NULL, -1, -1, false);
	rd_ep_check(r, ep);
}

void rd_policy_stop(struct redial *r, struct rd_endpoint *ep)
{
	rd_ep_unschedule(r, ep);
	rd_attempt_abandon_all(r, ep);
	rd_dns_unwait(r, ep);
	/* An attempt in its TLS handshake has not ended yet: stopping it abandons it. */
	r->attempts_abandoned += rd_ep_tls(r, ep) && rd_ep_tls(r, ep)->hs != RD_NONE;
	rd_tls_abandon(r, ep);
	struct rd_ep_name *en = rd_ep_name(r, ep);
	if (en)
		en->cyc.next = en->cyc.naddrs;
	if (rd_ep_fd(r, ep) >= 0) {
		rd_tls_conn_end(r, ep, false);
		rd_conn_close_now(r, ep);
	}
	ep->epoch++;
}

void rd_policy_cancel(struct redial *r, struct rd_endpoint *ep)
{
	rd_policy_stop(r, ep);
	rd_ep_set_state(r, ep, REDIAL_STATE_CANCELLED);
	ep->mark_ns = rd_clock_ns();
	rd_ep_check(r, ep);
	rd_ev_deliver_now(r, ep, REDIAL_EV_CANCELLED, ep->mark_ns);
}

void rd_policy_restart(struct redial *r, struct rd_endpoint *ep)
{
	rd_ep_unschedule(r, ep); /* a FAILED endpoint may wait for its recheck */
	ep->streak = 0;
	ep->level = 0;
	ep->prev_delay_ns = 0;
	ep->gave_up = REDIAL_GAVE_UP_NONE;
	ep->epoch++;
	ep->mark_ns = r->now;
	/* The caller made the cold record when there are failures to mark; with none, having
	 * no record reads as a mark of 0. */
	struct rd_ep_cold *c = rd_ep_cold(r, ep);
	assert(c || ep->failures == 0);
	if (c)
		c->fail_mark = ep->failures;
	rd_ep_schedule(r, ep, r->now);
	rd_ep_set_state(r, ep, REDIAL_STATE_QUEUED);
	rd_ep_check(r, ep);
}

void rd_policy_recheck(struct redial *r, struct rd_endpoint *ep)
{
	ep->streak = 0;
	ep->level = 0;
	ep->prev_delay_ns = 0;
	ep->gave_up = REDIAL_GAVE_UP_NONE;
	struct rd_tls_ep *t = rd_ep_tls(r, ep);
	if (t)
		t->unnamed = 0;
	rd_ep_set_state(r, ep, REDIAL_STATE_QUEUED);
}
