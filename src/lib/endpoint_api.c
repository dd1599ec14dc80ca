/* endpoint_api.c — the public calls on one endpoint: add, start, cancel, remove, release,
 * fail, and what can be read of it. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "connection.h"
#include "dns.h"
#include "embed.h"
#include "log/log.h"
#include "clock.h"
#include "fdbudget.h"
#include "late.h"
#include "manager.h"
#include "ring.h"
#include "policy.h"
#include "tls.h"
#include "tls_cfg.h"
#include "tls_conn.h"

/* The endpoint an id names, for a call from the owner thread; NULL with *ret set otherwise. */
static struct rd_endpoint *lookup(struct redial *r, redial_id_t id, int *ret)
{
	if (!r) {
		*ret = -EINVAL;
		return NULL;
	}
	*ret = rd_owner_check(r, false);
	if (*ret < 0)
		return NULL;
	struct rd_endpoint *ep = rd_ep_lookup(r, id);
	if (!ep)
		*ret = -ENOENT;
	return ep;
}

/* After a call that may have delivered CANCELLED from outside the loop: a callback that
 * destroyed the manager had it freed here, on the way out. */
static void finish_call(struct redial *r)
{
	if (r->destroy_pending && !r->in_run && !r->in_dispatch)
		rd_destroy_now(r);
}

/* Adds an endpoint for an address (sa) or a name (host, port), with the transport its
 * string's prefix (scheme) asks for. */
static int add_common(struct redial *r, const struct sockaddr *sa, socklen_t len,
		      const char *host, uint16_t port, enum rd_scheme scheme,
		      const struct redial_endpoint_opts *uopts, const char *text,
		      redial_id_t *ret_id, char *errbuf, size_t errlen)
{
	struct redial_endpoint_opts o;
	int ret = rd_opts_load(&o, uopts ? uopts : &r->defaults, errbuf, errlen);
	if (ret < 0)
		return ret;
	if (o.flags & ~REDIAL_EP_START_IDLE) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "endpoint options: unknown flags 0x%x",
				 o.flags & ~REDIAL_EP_START_IDLE);
		return -EINVAL;
	}
	/* "tls://" takes the TLS options of the options in use (opts, or endpoint_defaults
	 * when opts is NULL), else the library's: verified against the system store. Never
	 * endpoint_defaults' when opts was given, as for every other field: a default that
	 * turns verification off or names another peer (sni) must not reach an endpoint whose
	 * caller chose its own options. "tcp://" with TLS options is a contradiction, refused
	 * rather than settled by quietly dropping TLS. */
	struct redial_tls_opts tls_defaults;
	if (scheme == RD_SCHEME_TLS && !o.tls) {
		redial_tls_opts_init(&tls_defaults);
		o.tls = &tls_defaults; /* copied by rd_tls_cfg_get below */
	} else if (scheme == RD_SCHEME_TCP && o.tls) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen,
				 "\"tcp://\" asks for plain TCP, but %s set TLS: drop the prefix, "
				 "or add with options without tls",
				 uopts ? "the endpoint options (opts->tls)"
				       : "the config's endpoint_defaults");
		return -EINVAL;
	}
	if (rd_ep_free_slot(r) == RD_NONE) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "endpoint table full (%u)", r->neps);
		return -ENOSPC;
	}
	if (host) {
		char msg[160] = "";
		ret = rd_dns_init(r, msg, sizeof(msg));
		if (ret < 0) {
			if (errbuf && errlen)
				snprintf(errbuf, errlen, "%s", msg);
			return ret;
		}
	}
	struct rd_tls_cfg *tls = NULL;
	if (o.tls && (ret = rd_tls_cfg_get(r, o.tls, &tls, errbuf, errlen)) < 0)
		return ret;
	uint32_t opts;
	if ((ret = rd_optstab_get(&r->opts, &o, tls, &opts)) < 0)
		return ret;

	/* The free slot rd_ep_alloc will hand out: the name attaches to it first, so that a
	 * failure leaves the table as it was. A name, TLS or an address that is not IPv4 live
	 * in the cold record (ep_cold.h); a plain IPv4 endpoint starts without one. */
	struct rd_endpoint *ep = &r->eps[r->ep_free];
	bool cold = host || tls || sa->sa_family != AF_INET;
	if (cold && !rd_ep_cold_need(r, ep)) {
		rd_optstab_put(&r->opts, opts);
		return -ENOMEM;
	}
	if (tls && (ret = rd_tls_ep_attach(r, ep, tls)) < 0)
		goto fail;
	if (host && (ret = rd_dns_attach(r, ep, host, port)) < 0)
		goto fail;
	ep = rd_ep_alloc(r, opts, o.user);
	if (sa) {
		union rd_addr a;
		memset(&a, 0, sizeof(a));
		memcpy(&a, sa, len);
		rd_ep_set_addr(r, ep, &a);
	}
	r->now = rd_clock_ns();
	ep->mark_ns = r->now;
	if (r->cfg.log) {
		char buf[REDIAL_ENDPOINT_MAX + 1];
		if (!text) {
			int n = redial_endpoint_format(sa, buf, sizeof(buf));
			text = n > 0 ? buf : "";
		}
		rd_log_endpoint_added(r->cfg.log, r->now, rd_ep_id(r, ep), text, strlen(text));
	}
	if (!(o.flags & REDIAL_EP_START_IDLE)) {
		rd_ep_schedule(r, ep, r->now);
		rd_ep_set_state(r, ep, REDIAL_STATE_QUEUED);
		rd_embed_kick(r);
	}
	rd_ep_check(r, ep);
	*ret_id = rd_ep_id(r, ep);
	return 0;

fail:
	rd_tls_ep_free(r, ep);
	rd_cold_free(&r->cold, ep->cold);
	ep->cold = 0;
	rd_optstab_put(&r->opts, opts);
	return ret;
}

int redial_endpoint_add(redial_t *r, const char *endpoint, const struct redial_endpoint_opts *opts,
			redial_id_t *ret_id, char *errbuf, size_t errlen)
{
	if (!r || !ret_id)
		return -EINVAL;
	int ret = rd_owner_check(r, false);
	if (ret < 0)
		return ret;
	struct sockaddr_storage ss;
	socklen_t len;
	struct rd_name name;
	enum rd_scheme scheme;
	ret = rd_endpoint_parse_any(endpoint, &ss, &len, &name, &scheme, errbuf, errlen);
	if (ret == 1)
		return add_common(r, NULL, 0, name.host, name.port, scheme, opts, endpoint,
				  ret_id, errbuf, errlen);
	if (ret < 0)
		return ret;
	return add_common(r, (struct sockaddr *)&ss, len, NULL, 0, scheme, opts, endpoint,
			  ret_id, errbuf, errlen);
}

int redial_endpoint_add_addr(redial_t *r, const struct sockaddr *sa, socklen_t len,
			     const struct redial_endpoint_opts *opts, redial_id_t *ret_id)
{
	if (!r || !sa || !ret_id)
		return -EINVAL;
	int ret = rd_owner_check(r, false);
	if (ret < 0)
		return ret;
	if (!((sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) ||
	      (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))))
		return -EAFNOSUPPORT;
	len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	if (sin->sin_port == 0)
		return -EINVAL;
	return add_common(r, sa, len, NULL, 0, RD_SCHEME_NONE, opts, NULL, ret_id, NULL, 0);
}

int redial_endpoint_start(redial_t *r, redial_id_t id)
{
	int ret;
	struct rd_endpoint *ep = lookup(r, id, &ret);
	if (!ep)
		return ret;
	if (rd_ep_active(ep))
		return -EALREADY;
	/* The restart marks the failures so far (the next CONNECTED event counts from there);
	 * with some to mark, the mark needs the cold record. */
	if (ep->failures && !rd_ep_cold_need(r, ep))
		return -ENOMEM;
	r->now = rd_clock_ns();
	rd_policy_restart(r, ep);
	rd_embed_kick(r);
	return 0;
}

int redial_endpoint_cancel(redial_t *r, redial_id_t id)
{
	int ret;
	struct rd_endpoint *ep = lookup(r, id, &ret);
	if (!ep)
		return ret;
	/* A FAILED endpoint waiting for its recheck (recheck_permanent_ns) can still act. */
	if (!rd_ep_active(ep) && ep->state != REDIAL_STATE_IDLE && !rd_timer_armed(&ep->link))
		return -EALREADY;
	rd_policy_cancel(r, ep);
	finish_call(r);
	return 0;
}

int redial_endpoint_remove(redial_t *r, redial_id_t id)
{
	int ret;
	struct rd_endpoint *ep = lookup(r, id, &ret);
	if (!ep)
		return ret;
	if (rd_ep_active(ep))
		rd_policy_cancel(r, ep);
	/* The callback may have removed it already, or destroyed the manager. */
	if (r->destroy_pending) {
		finish_call(r);
		return 0;
	}
	if (!(ep->flags & RD_EPF_LIVE) || ep->gen != (uint32_t)(id >> 32))
		return 0;
	if (rd_ep_active(ep) || rd_timer_armed(&ep->link))
		rd_policy_stop(r, ep); /* restarted from the CANCELLED callback, or a recheck */
	if (r->cfg.log)
		rd_log_endpoint_removed(r->cfg.log, rd_clock_ns(), id);
	/* Nothing of a removed endpoint waits on or races for its name any more. */
	rd_dns_detach(r, ep);
	rd_tls_ep_free(r, ep); /* nothing of it is in flight: the handshake was abandoned */
	rd_ep_kill(r, ep);
	return 0;
}

int redial_endpoint_release(redial_t *r, redial_id_t id, unsigned flags, int *ret_fd)
{
	int ret;
	struct rd_endpoint *ep = lookup(r, id, &ret);
	if (!ep)
		return ret;
	if (!ret_fd || (flags & ~REDIAL_RELEASE_RECONNECT))
		return -EINVAL;
	if (ep->state != REDIAL_STATE_CONNECTED)
		return -ENOTCONN;
	struct rd_ep_cold *c = rd_ep_cold(r, ep); /* connected: it has one */
	int fd = c->fd;
	rd_tls_conn_release(r, ep); /* the SSL goes with the fd: the caller's now */
	rd_conn_unwatch_now(r, ep);
	c->fd = -1;
	c->conn_seq = (c->conn_seq + 1) & 0xffffffu;
	rd_fds_closed(r, 1);
	r->now = rd_clock_ns();
	ep->streak = 0;
	ep->level = 0;
	ep->prev_delay_ns = 0;
	ep->mark_ns = r->now;
	c->fail_mark = ep->failures;
	if (flags & REDIAL_RELEASE_RECONNECT) {
		rd_ep_schedule(r, ep, r->now);
		rd_ep_set_state(r, ep, REDIAL_STATE_QUEUED);
		rd_embed_kick(r);
	} else {
		rd_ep_set_state(r, ep, REDIAL_STATE_IDLE);
	}
	rd_ep_check(r, ep);
	*ret_fd = fd;
	return 0;
}

int redial_endpoint_fail(redial_t *r, redial_id_t id, int err)
{
	int ret;
	struct rd_endpoint *ep = lookup(r, id, &ret);
	if (!ep)
		return ret;
	if (err <= 0 || err > UINT16_MAX) /* errnos, and the library's own codes, fit 16 bits */
		return -EINVAL;
	if (ep->state != REDIAL_STATE_CONNECTED)
		return -ENOTCONN;
	r->now = rd_clock_ns();
	rd_policy_disconnected(r, ep, err, true);
	rd_embed_kick(r); /* the DISCONNECTED event waits for the next poll */
	return 0;
}

int redial_endpoint_stats_get(redial_t *r, redial_id_t id, struct redial_endpoint_stats *ret_stats)
{
	int ret;
	struct rd_endpoint *ep = lookup(r, id, &ret);
	if (!ep)
		return ret;
	if (!ret_stats || ret_stats->size < sizeof(size_t))
		return -EINVAL;
	struct redial_endpoint_stats s;
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.state = (enum redial_state)ep->state;
	s.attempts = ep->attempts;
	const struct rd_ep_cold *c = rd_ep_cold(r, ep);
	s.connects = c ? c->connects : 0;
	s.failures = ep->failures;
	s.disconnects = c ? c->disconnects : 0;
	s.local_errors = ep->local_errors;
	r->now = rd_clock_ns();
	s.streak = rd_policy_streak(r, ep);
	s.last_error = ep->last_error;
	s.last_class = ep->last_error ? (enum redial_class)ep->last_class : REDIAL_CLASS_NONE;
	s.gave_up = (enum redial_gave_up_reason)ep->gave_up;
	s.fd = rd_ep_fd(r, ep);
	s.user = ep->user;
	const struct rd_tls_ep *t = rd_ep_tls(r, ep);
	if (t) {
		s.tls = true;
		s.tls_handshakes = t->handshakes;
		s.tls_resumed = t->resumed;
		snprintf(s.tls_version, sizeof(s.tls_version), "%s", t->version);
		snprintf(s.tls_cipher, sizeof(s.tls_cipher), "%s", t->cipher);
		snprintf(s.tls_alpn, sizeof(s.tls_alpn), "%s", t->alpn);
	}
	size_t n = ret_stats->size < sizeof(s) ? ret_stats->size : sizeof(s);
	memcpy(ret_stats, &s, n);
	ret_stats->size = n;
	return 0;
}

int redial_endpoint_errors(redial_t *r, redial_id_t id, struct redial_errno_count *out, size_t cap)
{
	int ret;
	struct rd_endpoint *ep = lookup(r, id, &ret);
	if (!ep)
		return ret;
	if (cap && !out)
		return -EINVAL;
	return rd_ep_errors(r, ep, out, cap);
}

int redial_endpoint_name(redial_t *r, redial_id_t id, char *buf, size_t len)
{
	int ret;
	struct rd_endpoint *ep = lookup(r, id, &ret);
	if (!ep)
		return ret;
	const struct rd_ep_name *en = rd_ep_name(r, ep);
	if (en) {
		int n = snprintf(buf, len, "%s:%u", en->n->name, ntohs(en->port));
		return n < 0 ? -EINVAL : (size_t)n >= len ? -ENOSPC : n;
	}
	union rd_addr a;
	memset(&a, 0, sizeof(a)); /* every endpoint without a name has its address */
	rd_ep_addr(r, ep, &a);
	return redial_endpoint_format(&a.sa, buf, len);
}

int redial_endpoint_tls(redial_t *r, redial_id_t id, redial_tls_t **ret_tls)
{
	int ret;
	struct rd_endpoint *ep = lookup(r, id, &ret);
	if (!ep)
		return ret;
	if (!ret_tls)
		return -EINVAL;
	const struct rd_tls_ep *t = rd_ep_tls(r, ep);
	if (!t)
		return -ENOPROTOOPT;
	if (ep->state != REDIAL_STATE_CONNECTED || !t->ssl)
		return -ENOTCONN;
	*ret_tls = (redial_tls_t *)t->ssl;
	return 0;
}
