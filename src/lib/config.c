/* config.c — the caller's config and endpoint options: defaults, size contract, validation,
 * interning, and the reason a create failed. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "alloc.h"

#define RD_CFG_KNOWN_FLAGS (REDIAL_CFG_NO_DEFER_TASKRUN | REDIAL_CFG_NO_FD_INSTALL)

static __thread char create_error[256];

void rd_set_create_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(create_error, sizeof(create_error), fmt, ap);
	va_end(ap);
}

const char *redial_strerror_create(void)
{
	return create_error;
}

void redial_endpoint_opts_init(struct redial_endpoint_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->connect_timeout_ns = REDIAL_SEC(2);
	struct redial_backoff b;
	redial_backoff_init(&b);
	o->backoff_initial_ns = b.initial_ns;
	o->backoff_max_ns = b.max_ns;
	o->backoff_multiplier = b.multiplier;
	o->backoff_jitter = b.jitter;
	o->backoff_max_attempts = b.max_attempts;
	o->backoff_max_elapsed_ns = b.max_elapsed_ns;
	o->stable_after_ns = REDIAL_SEC(1);
	o->alert_after = 5;
}

void redial_config_init(struct redial_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = sizeof(*cfg);
	cfg->max_endpoints = 65536;
	cfg->max_connecting = 0; /* chosen from RLIMIT_NOFILE at create */
	cfg->sq_entries = 2048;
	cfg->cq_entries = 0;     /* 8 * sq_entries */
	cfg->iowq_max_workers = 4;
	cfg->prearm_ns = 0; /* measured: see redial.h */
	cfg->dns_timeout_ns = REDIAL_SEC(2);
	cfg->dns_cache_max_ttl_ns = REDIAL_SEC(300);
	cfg->happy_eyeballs_delay_ns = REDIAL_MSEC(250);
}

int rd_copy_sized(void *dst, size_t dst_size, const void *src, size_t src_size)
{
	if (src_size < sizeof(size_t))
		return -EINVAL;
	if (src_size > dst_size) {
		const unsigned char *extra = (const unsigned char *)src + dst_size;
		for (size_t i = 0; i < src_size - dst_size; i++)
			if (extra[i])
				return -E2BIG;
		src_size = dst_size;
	}
	memcpy(dst, src, src_size);
	*(size_t *)dst = dst_size;
	return 0;
}

/* The backoff policy that an endpoint's flat options describe. */
static struct redial_backoff opts_backoff(const struct redial_endpoint_opts *o)
{
	struct redial_backoff b = {
		.initial_ns = o->backoff_initial_ns,
		.max_ns = o->backoff_max_ns,
		.multiplier = o->backoff_multiplier,
		.jitter = o->backoff_jitter,
		.max_attempts = o->backoff_max_attempts,
		.max_elapsed_ns = o->backoff_max_elapsed_ns,
	};
	return b;
}

int rd_opts_load(struct redial_endpoint_opts *out, const struct redial_endpoint_opts *in,
		 char *errbuf, size_t errlen)
{
	redial_endpoint_opts_init(out);
	int ret = rd_copy_sized(out, sizeof(*out), in, in->size);
	if (ret < 0) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "endpoint options: bad size %zu%s", in->size,
				 ret == -E2BIG ? " (fields this library does not know are set)"
					       : "");
		return ret;
	}
	const char *bad = NULL;
	struct redial_backoff b = opts_backoff(out);
	if (out->connect_timeout_ns == 0)
		bad = "connect_timeout_ns must be > 0";
	else if (out->connect_timeout_ns > REDIAL_SEC(3600))
		bad = "connect_timeout_ns must be <= 1 h";
	else if (redial_backoff_validate(&b) < 0)
		bad = "backoff policy out of range (initial > 0, max >= initial, multiplier >= 1)";
	else if (out->tls_handshake_timeout_ns > REDIAL_SEC(3600))
		bad = "tls_handshake_timeout_ns must be <= 1 h";
	if (bad) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "endpoint options: %s", bad);
		return -EINVAL;
	}
	return 0;
}

bool rd_opts_same(const struct rd_opts *a, const struct redial_endpoint_opts *o,
		      const struct rd_tls_cfg *tls)
{
	return a->tls == tls && a->tls_handshake_timeout_ns == o->tls_handshake_timeout_ns &&
	       a->recheck_permanent_ns == o->recheck_permanent_ns &&
	       a->connect_timeout_ns == o->connect_timeout_ns &&
	       a->stable_after_ns == o->stable_after_ns && a->alert_after == o->alert_after &&
	       a->backoff.initial_ns == o->backoff_initial_ns &&
	       a->backoff.max_ns == o->backoff_max_ns &&
	       a->backoff.multiplier == o->backoff_multiplier &&
	       a->backoff.jitter == o->backoff_jitter &&
	       a->backoff.max_attempts == o->backoff_max_attempts &&
	       a->backoff.max_elapsed_ns == o->backoff_max_elapsed_ns;
}

struct rd_opts *rd_opts_new(const struct redial_endpoint_opts *o, struct rd_tls_cfg *tls)
{
	struct rd_opts *n = rd_malloc(sizeof(*n));
	if (!n)
		return NULL;
	n->refs = 0;
	n->alert_after = o->alert_after;
	n->connect_timeout_ns = o->connect_timeout_ns;
	n->stable_after_ns = o->stable_after_ns;
	n->backoff = opts_backoff(o);
	n->tls = tls;
	n->tls_handshake_timeout_ns = o->tls_handshake_timeout_ns;
	n->recheck_permanent_ns = o->recheck_permanent_ns;
	return n;
}

/* Every attempt in flight holds a direct descriptor, and the kernel bounds those by
 * RLIMIT_NOFILE; connected sockets need regular fds from the same budget. */
static uint32_t default_max_connecting(uint32_t asked)
{
	struct rlimit rl;
	uint64_t nofile = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		nofile = rl.rlim_cur;
	uint64_t natt = asked;
	if (natt == 0)
		natt = nofile / 2 < 4096 ? nofile / 2 : 4096;
	if (natt > nofile)
		natt = nofile;
	return natt ? (uint32_t)natt : 1;
}

/* Descriptors this process has open now: the entries of /proc/self/fd. */
static uint64_t open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return 0;
	uint64_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n ? n - 1 : 0; /* the directory's own fd */
}

/* Half of what RLIMIT_NOFILE leaves free now: the application keeps the other half for its
 * own sockets and files. */
static uint32_t default_max_fds(void)
{
	struct rlimit rl;
	uint64_t nofile = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		nofile = rl.rlim_cur;
	uint64_t used = open_fds();
	uint64_t free_fds = nofile > used ? nofile - used : 0;
	uint64_t n = free_fds / 2;
	if (n > UINT32_MAX)
		n = UINT32_MAX;
	return n ? (uint32_t)n : 1;
}

int rd_config_load(const struct redial_config *ucfg, struct redial_config *ret_cfg,
		   struct redial_endpoint_opts *ret_defs)
{
	struct redial_config cfg;
	redial_config_init(&cfg);
	int ret = ucfg ? rd_copy_sized(&cfg, sizeof(cfg), ucfg, ucfg->size) : 0;
	if (ret < 0) {
		rd_set_create_error("config: bad size %zu (%s)", ucfg->size,
				    ret == -E2BIG ? "fields this library does not know are set"
						  : "use redial_config_init");
		return ret;
	}
	if (cfg.max_endpoints == 0 || cfg.max_endpoints > RD_MAX_ENDPOINTS) {
		rd_set_create_error("config: max_endpoints %u out of range 1-%u",
				    cfg.max_endpoints, RD_MAX_ENDPOINTS);
		return -EINVAL;
	}
	if (cfg.flags & ~RD_CFG_KNOWN_FLAGS) {
		rd_set_create_error("config: unknown flags 0x%x", cfg.flags & ~RD_CFG_KNOWN_FLAGS);
		return -EINVAL;
	}
	if (cfg.sq_entries == 0 || cfg.sq_entries > 32768) {
		rd_set_create_error("config: sq_entries %u out of range 1-32768", cfg.sq_entries);
		return -EINVAL;
	}
	if (cfg.sq_entries < 8) /* one chain plus its cancel must fit */
		cfg.sq_entries = 8;
	if (cfg.cq_entries == 0)
		cfg.cq_entries = cfg.sq_entries * 8;
	if (cfg.prearm_ns > REDIAL_SEC(10)) {
		rd_set_create_error("config: prearm_ns above 10 s");
		return -EINVAL;
	}
	if (cfg.dns_timeout_ns < REDIAL_MSEC(1) || cfg.dns_timeout_ns > REDIAL_SEC(600)) {
		rd_set_create_error("config: dns_timeout_ns out of range 1 ms - 600 s");
		return -EINVAL;
	}
	if (cfg.happy_eyeballs_delay_ns > REDIAL_SEC(10)) {
		rd_set_create_error("config: happy_eyeballs_delay_ns above 10 s");
		return -EINVAL;
	}
	char msg[160];
	if (cfg.endpoint_defaults)
		ret = rd_opts_load(ret_defs, cfg.endpoint_defaults, msg, sizeof(msg));
	else
		redial_endpoint_opts_init(ret_defs);
	if (ret < 0) {
		rd_set_create_error("config: %s", msg);
		return ret;
	}
	cfg.endpoint_defaults = NULL; /* the caller's; the manager keeps *ret_defs */
	cfg.max_connecting = default_max_connecting(cfg.max_connecting);
	if (cfg.max_fds == 0)
		cfg.max_fds = default_max_fds();
	*ret_cfg = cfg;
	return 0;
}
