/* config.h — checking and copying what the caller configures: the manager's config, each
 * endpoint's options (optstab.c interns them: endpoints with equal options share one copy),
 * and the thread-local sentence that says why redial_create failed. Knows nothing of the
 * manager. */
#ifndef RD_CONFIG_H
#define RD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redial.h"

/* An endpoint id names its slot with 24 bits (endpoint.h): the most a table can hold. */
#define RD_ID_SLOT_BITS 24
#define RD_MAX_ENDPOINTS (1u << RD_ID_SLOT_BITS)

/* The options an endpoint runs with, shared by every endpoint with the same values and
 * reference counted (optstab.h): a table of 100k endpoints usually holds one of these. */
struct rd_opts {
	uint32_t refs;
	uint32_t alert_after;
	uint64_t connect_timeout_ns;
	uint64_t stable_after_ns;
	struct redial_backoff backoff;
	struct rd_tls_cfg *tls;     /* NULL: plain TCP (shared, the manager's: tls.h) */
	uint64_t tls_handshake_timeout_ns;
	uint64_t recheck_permanent_ns;
};
struct rd_tls_cfg;

/* Copies a caller's sized struct over defaults already in dst. A caller built against a
 * newer header may pass a larger struct: accepted only when the fields we don't know are
 * zero (-E2BIG otherwise). A size smaller than the size field itself is -EINVAL. */
int rd_copy_sized(void *dst, size_t dst_size, const void *src, size_t src_size);

/* Fills *out from the caller's options (defaults for fields its size does not cover) and
 * checks them; on failure errbuf (may be NULL) names the bad field. */
int rd_opts_load(struct redial_endpoint_opts *out, const struct redial_endpoint_opts *in,
		 char *errbuf, size_t errlen);

/* A copy of o (with tls, the configuration made from o->tls), with no reference yet
 * (optstab.c counts them); rd_free frees it. NULL when out of memory. */
struct rd_opts *rd_opts_new(const struct redial_endpoint_opts *o, struct rd_tls_cfg *tls);
/* Whether a holds the values of o with tls. */
bool rd_opts_same(const struct rd_opts *a, const struct redial_endpoint_opts *o,
		  const struct rd_tls_cfg *tls);

/* Checks and completes a caller's config: *ret_cfg gets every field with defaults filled
 * in (max_connecting chosen from RLIMIT_NOFILE when 0), *ret_defs the checked endpoint
 * defaults, and ret_cfg->endpoint_defaults is cleared (the pointer is the caller's).
 * On failure the create-error sentence names the field. */
int rd_config_load(const struct redial_config *ucfg, struct redial_config *ret_cfg,
		   struct redial_endpoint_opts *ret_defs);

/* Sets the sentence redial_strerror_create returns (this thread's). */
void rd_set_create_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
