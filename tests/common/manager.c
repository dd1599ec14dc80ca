/* manager.c — see manager.h. */
#include "manager.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fds.h"

void tu_config(struct redial_config *cfg, struct tu_recorder *rec)
{
	redial_config_init(cfg);
	cfg->on_event = tu_record;
	cfg->event_user = rec;
	cfg->seed = 42;
	cfg->max_endpoints = 8192;
	redial_endpoint_opts_init(&rec->defs);
	rec->defs.backoff_jitter = REDIAL_JITTER_NONE;
	cfg->endpoint_defaults = &rec->defs;
}

void tu_fast_retry(struct redial_endpoint_opts *o)
{
	o->backoff_initial_ns = REDIAL_MSEC(20);
	o->backoff_max_ns = REDIAL_MSEC(200);
	o->connect_timeout_ns = REDIAL_SEC(2);
}

/* ---- The ids tu_finish removes ---------------------------------------------------------- */

/* Every (manager, id) that tu_add or tu_track saw; managers may live on several threads
 * (tests/embed/test_embed_log.c). A manager freed without tu_finish leaves its entries
 * behind; tu_make drops them when a new manager gets the same address. */
static struct tracked {
	redial_t *r;
	redial_id_t id;
} *tracked;
static size_t ntracked, cap_tracked;
static pthread_mutex_t tracked_mu = PTHREAD_MUTEX_INITIALIZER;

redial_id_t tu_track(redial_t *r, redial_id_t id)
{
	pthread_mutex_lock(&tracked_mu);
	if (ntracked == cap_tracked) {
		size_t cap = cap_tracked ? cap_tracked * 2 : 256;
		struct tracked *p = realloc(tracked, cap * sizeof(*p));
		if (!p) {
			pthread_mutex_unlock(&tracked_mu);
			cr_assert_fail("out of memory remembering endpoint ids");
		}
		tracked = p;
		cap_tracked = cap;
	}
	tracked[ntracked++] = (struct tracked){ r, id };
	pthread_mutex_unlock(&tracked_mu);
	return id;
}

/* Takes the ids remembered for r out of the list, into a malloc'd array (NULL when none). */
static redial_id_t *untrack(redial_t *r, size_t *ret_n)
{
	pthread_mutex_lock(&tracked_mu);
	redial_id_t *ids = NULL;
	size_t n = 0, keep = 0;
	for (size_t i = 0; i < ntracked; i++)
		n += tracked[i].r == r;
	if (n)
		ids = malloc(n * sizeof(*ids));
	n = 0;
	for (size_t i = 0; i < ntracked; i++) {
		if (tracked[i].r != r)
			tracked[keep++] = tracked[i];
		else if (ids)
			ids[n++] = tracked[i].id;
	}
	ntracked = keep;
	pthread_mutex_unlock(&tracked_mu);
	*ret_n = n;
	return ids;
}

redial_t *tu_make(const struct redial_config *cfg)
{
	redial_t *r = NULL;
	int ret = redial_create(cfg, &r);
	cr_assert_eq(ret, 0, "redial_create: %s: %s", strerror(-ret), redial_strerror_create());
	cr_assert_not_null(r);
	size_t stale;
	free(untrack(r, &stale));
	return r;
}

redial_id_t tu_add(redial_t *r, const char *s, const struct redial_endpoint_opts *o)
{
	redial_id_t id = 0;
	char err[256] = "";
	int ret = redial_endpoint_add(r, s, o, &id, err, sizeof(err));
	cr_assert_eq(ret, 0, "redial_endpoint_add %s: %s (%s)", s, strerror(-ret), err);
	cr_assert_neq(id, 0, "redial_endpoint_add %s gave id 0", s);
	return tu_track(r, id);
}

/* ---- Counters ------------------------------------------------------------------------------ */

struct redial_stats tu_stats(redial_t *r)
{
	struct redial_stats s;
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	int ret = redial_stats_get(r, &s);
	cr_assert_eq(ret, 0, "redial_stats_get: %s", strerror(-ret));
	return s;
}

struct redial_endpoint_stats tu_ep_stats(redial_t *r, redial_id_t id)
{
	struct redial_endpoint_stats s;
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	int ret = redial_endpoint_stats_get(r, id, &s);
	cr_assert_eq(ret, 0, "redial_endpoint_stats_get(%#llx): %s", (unsigned long long)id,
		     strerror(-ret));
	return s;
}

uint32_t tu_state_count(redial_t *r, enum redial_state st)
{
	return tu_stats(r).by_state[st];
}

enum redial_state tu_state(redial_t *r, redial_id_t id)
{
	return tu_ep_stats(r, id).state;
}

/* ---- The end of a test --------------------------------------------------------------------- */

void tu_finish(redial_t *r, int fds_before)
{
	tu_finish_within(r, fds_before, REDIAL_SEC(10));
}

void tu_finish_within(redial_t *r, int fds_before, uint64_t shutdown_ns)
{
	int ret = redial_shutdown(r, shutdown_ns);
	cr_assert_eq(ret, 0, "redial_shutdown: %s", strerror(-ret));
	struct redial_stats s = tu_stats(r);
	cr_expect_eq(s.inflight_ops, 0, "after shutdown: %llu operations still in flight",
		     (unsigned long long)s.inflight_ops);
	cr_expect_eq(s.attempts_inflight, 0, "after shutdown: %u attempts still hold a slot",
		     s.attempts_inflight);
	cr_expect_eq(s.fds_open, 0, "after shutdown: the manager still owns %u fds", s.fds_open);
	cr_expect_eq(s.stale_cqes, 0, "%llu CQEs matched nothing",
		     (unsigned long long)s.stale_cqes);
	cr_expect_eq(s.lost_cqes, 0, "%llu lost CQEs", (unsigned long long)s.lost_cqes);
	cr_expect_eq(s.events_lost, 0, "%llu events lost", (unsigned long long)s.events_lost);

	size_t n, bad = 0;
	int first_err = 0;
	redial_id_t *ids = untrack(r, &n);
	for (size_t i = 0; i < n; i++) {
		ret = redial_endpoint_remove(r, ids[i]);
		if (ret < 0 && ret != -ENOENT && !bad++)
			first_err = ret;
	}
	free(ids);
	cr_expect_eq(bad, 0, "%zu endpoints could not be removed (first: %s)", bad,
		     strerror(-first_err));
	s = tu_stats(r);
	cr_expect_eq(s.endpoints, 0, "after removing every endpoint, %u are still live",
		     s.endpoints);
	for (unsigned st = 0; st < REDIAL_STATE_SLOTS; st++)
		cr_expect_eq(s.by_state[st], 0, "%u endpoints left in state %s", s.by_state[st],
			     redial_state_name((enum redial_state)st));

	redial_destroy(r);
	cr_expect(tu_leak_check(), "LeakSanitizer found leaks after redial_destroy (see above)");
	int now = tu_count_fds();
	cr_expect_eq(now, fds_before, "after destroy the process has %d fds, it had %d before",
		     now, fds_before);
}

bool tu_kernel_cqe_skip(void)
{
	/* A one-entry ring, asked directly (the helpers link no liburing), only for its
	 * feature bits. */
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	long fd = syscall(__NR_io_uring_setup, 1, &p);
	if (fd < 0)
		return false;
	close((int)fd);
	return (p.features & IORING_FEAT_CQE_SKIP) != 0;
}
