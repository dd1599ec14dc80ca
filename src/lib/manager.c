/* manager.c — a manager's lifetime (create, shutdown, destroy), the calls that run it
 * (redial_run, redial_poll, redial_fd) and its counters. It sits above every other file of
 * the engine: it makes and frees what they work on, and a run may end by freeing the
 * manager (redial_destroy from a callback), so nothing below calls into it. */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include "alloc.h"
#include "attempt.h"
#include "clock.h"
#include "dns.h"
#include "embed.h"
#include "endpoint.h"
#include "events.h"
#include "late.h"
#include "loop.h"
#include "manager.h"
#include "policy.h"
#include "ring.h"
#include "tls.h"
#include "tls_cfg.h"
#include "tls_conn.h"

#define RD_DESTROY_DEADLINE_NS REDIAL_SEC(5)

/* Tags each manager's endpoint ids, so that managers sharing a log hand out distinct ids. */
static atomic_uint serials;

uint64_t redial_now_ns(void)
{
	return rd_clock_ns();
}

static void free_tables(struct redial *r)
{
	/* Before the tables are initialised their fds read as 0: close nothing then. */
	if (r->eps && r->tables_ready) {
		for (uint32_t i = 0; i < r->ep_used; i++) {
			struct rd_endpoint *ep = &r->eps[i];
			int fd = rd_ep_fd(r, ep);
			if (fd >= 0)
				close(fd);
			rd_tls_ep_free(r, ep);
			rd_optstab_put(&r->opts, ep->opts);
			struct rd_ep_name *en = rd_ep_name(r, ep);
			if (en) { /* the resolver is gone already: just the memory */
				rd_free(en->cyc.addrs);
				rd_free(en);
			}
		}
	}
	if (r->att && r->tables_ready)
		rd_attempts_close_all(r);
	rd_tls_free(r);
	rd_optstab_free(&r->opts);
	rd_coldtab_free(&r->cold);
	rd_late_free(r);
	rd_embed_free(r);
	rd_free(r->eps);
	rd_errtab_free(&r->errx);
	rd_free(r->att);
	rd_free(r->attq);
	rd_events_free(r);
	rd_tls_cfgs_free(r); /* after every SSL made from them */
}

int redial_create(const struct redial_config *ucfg, redial_t **ret_r)
{
	rd_set_create_error("%s", "");
	if (!ret_r) {
		rd_set_create_error("ret_r is NULL");
		return -EINVAL;
	}
	struct redial_config cfg;
	struct redial_endpoint_opts defs;
	int ret = rd_config_load(ucfg, &cfg, &defs);
	if (ret < 0)
		return ret;

	struct redial *r = rd_calloc(1, sizeof(*r));
	if (!r) {
		rd_set_create_error("out of memory");
		return -ENOMEM;
	}
	r->cfg = cfg;
	r->defaults = defs;
	r->ring.ring_fd = -1;
	r->wake_fd = -1;
	atomic_store(&r->efd, -1);
	r->serial = (uint8_t)atomic_fetch_add(&serials, 1);
	r->max_fds = cfg.max_fds;
	rd_tls_init(r);
	ret = rd_embed_init(r);
	if (ret < 0) {
		rd_set_create_error("could not make the wake-up eventfd: %s", strerror(-ret));
		goto fail;
	}
	if (rd_eps_init(r, cfg.max_endpoints) < 0 || rd_attempts_init(r, cfg.max_connecting) < 0 ||
	    rd_events_init(r, 4 * RD_BATCH) < 0) {
		rd_set_create_error("out of memory for %u endpoints", cfg.max_endpoints);
		ret = -ENOMEM;
		goto fail;
	}
	r->tables_ready = true;
	if (defs.tls) {
		/* The defaults' TLS options are the caller's: checked and copied now, and the
		 * defaults point at the copy from here on. */
		char msg[256];
		struct rd_tls_cfg *c;
		ret = rd_tls_cfg_get(r, defs.tls, &c, msg, sizeof(msg));
		if (ret < 0) {
			rd_set_create_error("config: endpoint_defaults: %s", msg);
			goto fail;
		}
		r->defaults.tls = rd_tls_cfg_opts(c);
	}
	r->t0 = rd_clock_ns();
	r->now = r->t0;
	r->wake_armed_ns = UINT64_MAX;

	uint64_t seed = cfg.seed;
	if (!seed && getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = r->t0 ^ (uint64_t)getpid() << 32;
	redial_rng_seed(&r->rng, seed);

	ret = rd_ring_setup(r);
	if (ret < 0)
		goto fail;
	if (cfg.dns_servers) {
		/* Set up now, so that a bad server list fails here, by name. */
		char msg[160];
		ret = rd_dns_init(r, msg, sizeof(msg));
		r->cfg.dns_servers = NULL; /* copied into the resolver; not the caller's to keep */
		if (ret < 0) {
			rd_set_create_error("config: %s", msg);
			goto fail;
		}
	}
	*ret_r = r;
	return 0;
fail:
	rd_dns_free(r);
	rd_ring_teardown(r);
	free_tables(r);
	rd_free(r);
	return ret;
}

/* The calls that run the loop themselves: the owner's (claim: the first thread to run it
 * becomes the owner), and never from inside the loop (a callback or a posted function). */
static int check_outside_loop(struct redial *r, bool claim)
{
	if (!r)
		return -EINVAL;
	int ret = rd_owner_check(r, claim);
	if (ret < 0)
		return ret;
	return r->in_run || r->in_dispatch ? -EBUSY : 0;
}

int redial_shutdown(redial_t *r, uint64_t timeout_ns)
{
	int ret = check_outside_loop(r, false);
	if (ret < 0)
		return ret;
	uint64_t deadline = rd_clock_ns() + timeout_ns;
	if (deadline < timeout_ns)
		deadline = UINT64_MAX;
	for (uint32_t i = 0; i < r->ep_used; i++) {
		struct rd_endpoint *ep = &r->eps[i];
		/* Every endpoint that could still act: a FAILED one waiting for its recheck too. */
		if ((ep->flags & RD_EPF_LIVE) &&
		    (rd_ep_active(ep) || ep->state == REDIAL_STATE_IDLE ||
		     rd_timer_armed(&ep->link)))
			rd_policy_cancel(r, ep);
	}
	rd_dns_cancel_all(r);
	struct rd_dns_result dr;
	while (rd_dns_settle(r, &dr))
		rd_policy_resolved(r, &dr);
	rd_late_run(r, r->enabled);
	if (!r->enabled)
		return 0; /* nothing was ever submitted */
	ret = rd_ring_enable(r);
	if (ret < 0)
		return ret;
	r->wake_remove = true;
	r->in_run = true;
	while (r->inflight || r->attq_len || r->opq_head != RD_NONE) {
		uint64_t now = rd_clock_ns();
		if (now >= deadline) {
			ret = -ETIMEDOUT;
			break;
		}
		uint64_t wait = deadline - now;
		if (wait > REDIAL_MSEC(100))
			wait = REDIAL_MSEC(100);
		ret = rd_loop_once(r, wait);
		if (ret < 0)
			break;
		ret = 0;
	}
	r->in_run = false;
	r->wake_remove = false;
	return ret;
}

void rd_destroy_now(struct redial *r)
{
	pthread_mutex_lock(&r->post_mu);
	r->post_closed = true;
	pthread_mutex_unlock(&r->post_mu);
	if (r->ring_ok)
		(void)redial_shutdown(r, RD_DESTROY_DEADLINE_NS);
	rd_dns_free(r);
	rd_ring_teardown(r);
	free_tables(r);
	rd_free(r);
}

void redial_destroy(redial_t *r)
{
	if (!r)
		return;
	if (rd_owner_check(r, false) < 0) {
		/* Another thread, once the owner has stopped using the manager (joined it, say):
		 * the kernel refuses a second submitter, so there is no orderly shutdown to run.
		 * Closing the ring cancels whatever it still holds; nobody is told. */
		r->silent = true;
		rd_dns_free(r);
		rd_ring_teardown(r);
		free_tables(r);
		rd_free(r);
		return;
	}
	if (r->in_run || r->in_dispatch) {
		/* From a callback: the loop that called it still holds r. Go silent now, free it
		 * when the loop unwinds (loop.c, endpoint_api.c). */
		r->destroy_pending = true;
		r->silent = true;
		atomic_store(&r->stop, true);
		return;
	}
	rd_destroy_now(r);
}

int redial_run(redial_t *r, uint64_t timeout_ns)
{
	int ret = check_outside_loop(r, true);
	if (ret < 0)
		return ret;
	ret = rd_ring_enable(r);
	if (ret < 0)
		return ret;
	r->in_run = true;
	/* The fds of the DISCONNECTED events the application saw last time: it has had its
	 * chance to take them out of its epoll set. */
	rd_late_run(r, true);
	uint64_t start = rd_clock_ns();
	uint64_t deadline = timeout_ns == UINT64_MAX || start + timeout_ns < start
				    ? UINT64_MAX
				    : start + timeout_ns;
	int delivered = 0;
	/* Events kept back by an earlier redial_stop come first. */
	delivered += rd_ev_dispatch(r);
	for (;;) {
		uint64_t now = rd_clock_ns();
		uint64_t wait = deadline == UINT64_MAX ? REDIAL_SEC(3600)
			       : deadline > now       ? deadline - now
						      : 0;
		/* Inside one long run the application has no batch of its own between our turns:
		 * the fds of DISCONNECTED events delivered by the previous turn (their callbacks
		 * have returned) are closed now, or a run that lasts hours would hold every one
		 * of them (and the fd budget with them). */
		rd_late_run(r, true);
		ret = rd_loop_once(r, wait);
		if (ret < 0) {
			r->in_run = false;
			return ret;
		}
		delivered += ret;
		if (r->stop || wait == 0 || rd_clock_ns() >= deadline)
			break;
	}
	r->in_run = false;
	if (r->destroy_pending) {
		rd_destroy_now(r); /* redial_destroy from a callback: the manager is gone now */
		return delivered;
	}
	/* A stop from another thread that arrived after this point is for the next run. */
	atomic_store(&r->stop, false);
	rd_loop_flush(r);
	rd_embed_settle_fd(r);
	return delivered;
}

int redial_poll(redial_t *r)
{
	return redial_run(r, 0);
}

/* An eventfd registered with the ring, made on first use. The ring fd itself would do
 * without DEFER_TASKRUN, but with it the kernel queues completions as task work for the
 * owning thread and wakes nobody sleeping in epoll on the ring fd; an eventfd it signals. */
int redial_fd(redial_t *r)
{
	if (!r)
		return -EINVAL;
	int ret = rd_owner_check(r, true);
	if (ret < 0)
		return ret;
	if (r->efd >= 0)
		return r->efd;
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	/* Work queued before the fd existed (endpoints added, started or cancelled from
	 * outside the loop) signalled nothing, and an application that adds its endpoints
	 * first and asks for the fd after would wait on it for ever: a new fd starts readable.
	 * At worst that is one redial_poll with nothing to do. */
	uint64_t one = 1;
	if (write(fd, &one, sizeof(one)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = io_uring_register_eventfd(&r->ring, fd);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	r->efd = fd;
	return fd;
}

int redial_stats_get(redial_t *r, struct redial_stats *ret_stats)
{
	if (!r || !ret_stats || ret_stats->size < sizeof(size_t))
		return -EINVAL;
	int ret = rd_owner_check(r, false);
	if (ret < 0)
		return ret;
	struct redial_stats s;
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.endpoints = r->live;
	memcpy(s.by_state, r->by_state, sizeof(r->by_state));
	s.attempts = r->attempts;
	s.connects = r->connects;
	s.failures = r->failures;
	s.disconnects = r->disconnects;
	s.gave_up = r->gave_up;
	s.local_errors = r->local_errors;
	s.inflight_ops = r->inflight;
	s.attempts_inflight = r->att_used;
	s.fds_open = r->fds_open;
	s.submits = r->submits;
	s.sqes = r->sqes;
	s.cqes = r->cqes;
	s.cq_overflows = r->cq_overflows;
	s.sq_full = r->sq_full;
	s.lost_cqes = r->lost_cqes;
	s.throttles = r->throttles;
	s.kernel_cancels = r->kernel_cancels;
	s.ring_flags = r->setup_flags;
	s.ring_features = r->features;
	s.fd_install = r->fd_install;
	s.stale_cqes = r->stale_cqes;
	s.events_lost = r->events_lost;
	s.tls_handshakes = r->tls_handshakes;
	s.tls_resumed = r->tls_resumed;
	s.tls_inflight = r->tls_inflight;
	s.sockets_parked = r->att_parked;
	s.sockets_reused = r->sockets_reused;
	s.attempts_abandoned = r->attempts_abandoned;
	size_t n = ret_stats->size < sizeof(s) ? ret_stats->size : sizeof(s);
	memcpy(ret_stats, &s, n);
	ret_stats->size = n;
	return 0;
}
