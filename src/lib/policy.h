/* policy.h — what an outcome means for an endpoint: classify it, count it, back off, race
 * on, alert, give up, throttle the manager, connect, disconnect, cancel. Every state change
 * an endpoint goes through after it was added is decided here. */
#ifndef RD_POLICY_H
#define RD_POLICY_H

#include <stdint.h>

#include "attempt.h"
#include "endpoint.h"

/* A finished attempt (attempt.c) reaches its endpoint; a TLS endpoint's connect goes on to
 * its handshake. */
void rd_policy_outcome(struct redial *r, const struct rd_outcome *o);
struct rd_tls_outcome;
/* A finished TLS handshake (tls.c): CONNECTED, or a failed attempt with its TLS error. */
void rd_policy_tls(struct redial *r, const struct rd_tls_outcome *o);
/* The connection's watch saw it go (err 0: the peer closed it), or the application says
 * it is broken (by_app: redial_endpoint_fail; the watch is still armed then). */
void rd_policy_disconnected(struct redial *r, struct rd_endpoint *ep, int err, bool by_app);
/* The failure streak as the application should see it: 0 for a connection that has proven
 * stable, although the field is only cleared when it ends. */
uint32_t rd_policy_streak(const struct redial *r, const struct rd_endpoint *ep);
struct rd_dns_result;
/* A resolution finished (dns.c, rd_dns_settle): status 0 with the cycle's addresses filled
 * in, or a REDIAL_E_DNS_* code / errno. */
void rd_policy_resolved(struct redial *r, const struct rd_dns_result *res);
/* The resolver could not be asked at all (rd_launch's -errno). */
void rd_policy_launch_failed(struct redial *r, struct rd_endpoint *ep, int err);

/* Stops everything an endpoint has going, without any event. */
void rd_policy_stop(struct redial *r, struct rd_endpoint *ep);
/* Stops it and delivers CANCELLED before returning. */
void rd_policy_cancel(struct redial *r, struct rd_endpoint *ep);
/* A fresh failure streak from now, the first attempt due at once (start, reconnect). */
void rd_policy_restart(struct redial *r, struct rd_endpoint *ep);

/* A FAILED endpoint's recheck_permanent_ns is up: a fresh streak; it is QUEUED again. */
void rd_policy_recheck(struct redial *r, struct rd_endpoint *ep);

/* True while local shortages pause new attempts. */
bool rd_throttled(const struct redial *r);

#endif
