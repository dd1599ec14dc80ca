/* tls_cfg.h — TLS configurations: one SSL_CTX per distinct set of options, shared by every
 * endpoint with those options, and what a failed handshake is called. */
#ifndef RD_TLS_CFG_H
#define RD_TLS_CFG_H

#include <stdbool.h>
#include <stddef.h>

#include "redial.h"

struct redial;
struct ssl_st;
struct ssl_ctx_st;

/* One distinct TLS configuration: its SSL_CTX and a copy of the caller's options. Kept,
 * and shared by every endpoint with equal options, until the manager is destroyed. */
struct rd_tls_cfg;

/* The shared configuration for o: an existing one with equal options, else a new one.
 * -EINVAL (errbuf names the field or the file), -ENOMEM. */
int rd_tls_cfg_get(struct redial *r, const struct redial_tls_opts *o, struct rd_tls_cfg **ret,
		   char *errbuf, size_t errlen);
/* The options a configuration was made from (strings owned by it). */
const struct redial_tls_opts *rd_tls_cfg_opts(const struct rd_tls_cfg *c);
void rd_tls_cfgs_free(struct redial *r);

/* What a failed handshake is called: a REDIAL_E_TLS_* code (or errno), with the library's
 * reason in reason. rc is SSL_do_handshake's return. */
int rd_tls_map_error(struct ssl_st *ssl, int rc, bool *ret_unnamed, char *reason, size_t len);
/* What a connection negotiated: redial_tls_info without the peer's subject. */
void rd_tls_negotiated(struct ssl_st *ssl, struct redial_tls_info *in);
/* The verification results the library gives no reason for (tests reach it). */
bool rd_tls_verify_unnamed(long verify_result);
/* The SSL_CTX connections of this configuration are made from. */
struct ssl_ctx_st *rd_tls_cfg_ctx(const struct rd_tls_cfg *c);

#endif
