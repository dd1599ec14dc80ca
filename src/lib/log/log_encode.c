/* log_encode.c — record encoding: one function per library record type (wire.h's bodies),
 * rd_log_event that picks one for an application event, and redial_log_app. */
#include <errno.h>
#include <netinet/in.h>

#include "log/log_ring.h"
#include "tls_cfg.h"

/* ---- Addresses ------------------------------------------------------------------------------
 * connect_failed and each resolved entry carry an address the same way: u8 family, u16 port
 * (host value), then the address bytes (IPv4: 4; IPv6: 16 and a u32 scope_id). */

/* Bytes after the family and port for sa's family; 0 for no address or one the format has
 * no family for. */
static uint32_t addr_bytes(const struct sockaddr *sa)
{
	if (sa && sa->sa_family == AF_INET)
		return 4;
	if (sa && sa->sa_family == AF_INET6)
		return 20;
	return 0;
}

/* Writes family, port and address at p: 3 + addr_bytes(sa) bytes (just RD_LOG_AF_NONE and a
 * zero port when sa has no family the format knows). */
static void addr_put(uint8_t *p, const struct sockaddr *sa)
{
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		p[0] = RD_LOG_AF_INET;
		rd_put16(p + 1, ntohs(in->sin_port));
		memcpy(p + 3, &in->sin_addr, 4);
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		p[0] = RD_LOG_AF_INET6;
		rd_put16(p + 1, ntohs(in6->sin6_port));
		memcpy(p + 3, &in6->sin6_addr, 16);
		rd_put32(p + 19, in6->sin6_scope_id);
	} else {
		p[0] = RD_LOG_AF_NONE;
		rd_put16(p + 1, 0);
	}
}

/* ---- One function per record type ---------------------------------------------------------
 * Each checks the level first: a filtered record costs one compare and touches no ring. */

/* A short string of a tail: u8 length, then the bytes (cut at 255). */
static size_t tail_len(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n > 255 ? 255 : n;
}

static uint8_t *tail_put(uint8_t *p, const char *s, size_t n)
{
	p[0] = (uint8_t)n;
	if (n)
		memcpy(p + 1, s, n);
	return p + 1 + n;
}

void rd_log_connect_failed_reason(struct redial_log *l, uint64_t mono_ns, redial_id_t id,
				  uint32_t attempt, int err, enum redial_class cls,
				  uint64_t duration_ns, uint64_t backoff_ns,
				  const struct sockaddr *addr, const char *reason)
{
	if (REDIAL_LOG_ERROR < l->min_level)
		return;
	/* The reason is a tail after the address (wire.h): older readers ignore it. */
	size_t rlen = tail_len(reason);
	uint32_t a = addr_bytes(addr);
	struct rd_log_ring *r;
	uint8_t *b = rd_log_rec_begin(l, &r, REDIAL_LOG_CONNECT_FAILED, REDIAL_LOG_ERROR,
				      RD_LOG_CF_BODY + a + (reason ? 1 + (uint32_t)rlen : 0),
				      mono_ns, id);
	if (!b)
		return;
	rd_put64(b, duration_ns);
	rd_put64(b + 8, backoff_ns);
	rd_put32(b + 16, attempt);
	rd_put32(b + 20, (uint32_t)err);
	b[24] = (uint8_t)cls;
	addr_put(b + 25, addr);
	if (reason)
		tail_put(b + RD_LOG_CF_BODY + a, reason, rlen);
	rd_log_rec_commit(l, r);
}

void rd_log_connect_failed(struct redial_log *l, uint64_t mono_ns, redial_id_t id,
			   uint32_t attempt, int err, enum redial_class cls, uint64_t duration_ns,
			   uint64_t backoff_ns, const struct sockaddr *addr)
{
	rd_log_connect_failed_reason(l, mono_ns, id, attempt, err, cls, duration_ns, backoff_ns,
				     addr, NULL);
}

/* "TLSv1.3" -> 0x0304, the wire's TLS version. */
static uint16_t tls_version_code(const char *v)
{
	static const struct {
		const char *name;
		uint16_t code;
	} t[] = { { "TLSv1.3", 0x0304 }, { "TLSv1.2", 0x0303 }, { "TLSv1.1", 0x0302 },
		  { "TLSv1", 0x0301 } };
	for (size_t i = 0; v && i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(v, t[i].name) == 0)
			return t[i].code;
	return 0;
}

void rd_log_connected_tls(struct redial_log *l, uint64_t mono_ns, redial_id_t id,
			  uint32_t attempts, uint64_t duration_ns, uint64_t down_ns,
			  const struct redial_tls_info *tls)
{
	if (REDIAL_LOG_INFO < l->min_level)
		return;
	/* TLS endpoints add a tail (wire.h): flags, version, cipher, ALPN. */
	size_t clen = tls ? tail_len(tls->cipher) : 0, alen = tls ? tail_len(tls->alpn) : 0;
	uint32_t tail = tls ? (uint32_t)(RD_LOG_TLS_TAIL_MIN + clen + alen) : 0;
	struct rd_log_ring *r;
	uint8_t *b = rd_log_rec_begin(l, &r, REDIAL_LOG_CONNECTED, REDIAL_LOG_INFO,
				      RD_LOG_CONNECTED_BODY + tail, mono_ns, id);
	if (!b)
		return;
	rd_put64(b, duration_ns);
	rd_put64(b + 8, down_ns);
	rd_put32(b + 16, attempts);
	if (tls) {
		uint8_t *t = b + RD_LOG_CONNECTED_BODY;
		t[0] = (uint8_t)(RD_LOG_TLS_F_TLS | (tls->resumed ? RD_LOG_TLS_F_RESUMED : 0));
		rd_put16(t + 1, tls_version_code(tls->version));
		t = tail_put(t + 3, tls->cipher, clen);
		tail_put(t, tls->alpn, alen);
	}
	rd_log_rec_commit(l, r);
}

void rd_log_connected(struct redial_log *l, uint64_t mono_ns, redial_id_t id, uint32_t attempts,
		      uint64_t duration_ns, uint64_t down_ns)
{
	rd_log_connected_tls(l, mono_ns, id, attempts, duration_ns, down_ns, NULL);
}

void rd_log_alert(struct redial_log *l, uint64_t mono_ns, redial_id_t id, uint32_t streak,
		  int last_err)
{
	if (REDIAL_LOG_WARN < l->min_level)
		return;
	struct rd_log_ring *r;
	uint8_t *b = rd_log_rec_begin(l, &r, REDIAL_LOG_ALERT, REDIAL_LOG_WARN, RD_LOG_ALERT_BODY,
				      mono_ns, id);
	if (!b)
		return;
	rd_put32(b, streak);
	rd_put32(b + 4, (uint32_t)last_err);
	rd_log_rec_commit(l, r);
}

void rd_log_gave_up(struct redial_log *l, uint64_t mono_ns, redial_id_t id,
		    enum redial_gave_up_reason reason, int err, uint32_t attempts)
{
	if (REDIAL_LOG_ERROR < l->min_level)
		return;
	struct rd_log_ring *r;
	uint8_t *b = rd_log_rec_begin(l, &r, REDIAL_LOG_GAVE_UP, REDIAL_LOG_ERROR,
				      RD_LOG_GAVE_UP_BODY, mono_ns, id);
	if (!b)
		return;
	rd_put32(b, attempts);
	rd_put32(b + 4, (uint32_t)err);
	b[8] = (uint8_t)reason;
	rd_log_rec_commit(l, r);
}

void rd_log_disconnected(struct redial_log *l, uint64_t mono_ns, redial_id_t id, int err,
			 uint64_t up_ns)
{
	if (REDIAL_LOG_WARN < l->min_level)
		return;
	struct rd_log_ring *r;
	uint8_t *b = rd_log_rec_begin(l, &r, REDIAL_LOG_DISCONNECTED, REDIAL_LOG_WARN,
				      RD_LOG_DISCONNECTED_BODY, mono_ns, id);
	if (!b)
		return;
	rd_put64(b, up_ns);
	rd_put32(b + 8, (uint32_t)err);
	rd_log_rec_commit(l, r);
}

void rd_log_cancelled(struct redial_log *l, uint64_t mono_ns, redial_id_t id)
{
	if (REDIAL_LOG_INFO < l->min_level)
		return;
	struct rd_log_ring *r;
	if (rd_log_rec_begin(l, &r, REDIAL_LOG_CANCELLED, REDIAL_LOG_INFO, 0, mono_ns, id))
		rd_log_rec_commit(l, r);
}

void rd_log_endpoint_added(struct redial_log *l, uint64_t mono_ns, redial_id_t id,
			   const char *endpoint, size_t len)
{
	if (REDIAL_LOG_INFO < l->min_level)
		return;
	if (!endpoint)
		len = 0;
	if (len > RD_LOG_ENDPOINT_STR_MAX)
		len = RD_LOG_ENDPOINT_STR_MAX;
	struct rd_log_ring *r;
	uint8_t *b = rd_log_rec_begin(l, &r, REDIAL_LOG_ENDPOINT_ADDED, REDIAL_LOG_INFO,
				      RD_LOG_ADDED_BODY + (uint32_t)len, mono_ns, id);
	if (!b)
		return;
	rd_put16(b, (uint16_t)len);
	if (len)
		memcpy(b + 2, endpoint, len);
	rd_log_rec_commit(l, r);
}

void rd_log_endpoint_removed(struct redial_log *l, uint64_t mono_ns, redial_id_t id)
{
	if (REDIAL_LOG_INFO < l->min_level)
		return;
	struct rd_log_ring *r;
	if (rd_log_rec_begin(l, &r, REDIAL_LOG_ENDPOINT_REMOVED, REDIAL_LOG_INFO, 0, mono_ns, id))
		rd_log_rec_commit(l, r);
}

void rd_log_resolved(struct redial_log *l, uint64_t mono_ns, redial_id_t id,
		     const union rd_addr *addrs, size_t n, uint32_t ttl_s)
{
	if (REDIAL_LOG_DEBUG < l->min_level)
		return;
	/* Sized before the ring is touched: addresses of other families are left out, and the
	 * entry count must be known for the header. */
	uint32_t body = RD_LOG_RESOLVED_BODY;
	uint16_t count = 0;
	for (size_t i = 0; i < n && count < RD_LOG_RESOLVED_MAX; i++) {
		uint32_t a = addr_bytes(&addrs[i].sa);
		if (a) {
			body += 4 + a;
			count++;
		}
	}
	struct rd_log_ring *r;
	uint8_t *b = rd_log_rec_begin(l, &r, REDIAL_LOG_RESOLVED, REDIAL_LOG_DEBUG, body, mono_ns,
				      id);
	if (!b)
		return;
	rd_put32(b, ttl_s);
	rd_put16(b + 4, count);
	rd_put16(b + 6, 0);
	uint8_t *e = b + RD_LOG_RESOLVED_BODY;
	for (size_t i = 0, k = 0; i < n && k < count; i++) {
		uint32_t a = addr_bytes(&addrs[i].sa);
		if (!a)
			continue;
		e[0] = (uint8_t)(4 + a); /* entry_len: itself, family, port, address */
		addr_put(e + 1, &addrs[i].sa);
		e += 4 + a;
		k++;
	}
	rd_log_rec_commit(l, r);
}

void rd_log_event(struct redial_log *l, const struct redial_event *ev)
{
	switch (ev->type) {
	case REDIAL_EV_CONNECTED: {
		/* What the record needs, without the peer's subject (an allocation). */
		struct redial_tls_info in;
		bool tls = ev->tls != NULL;
		if (tls)
			rd_tls_negotiated((struct ssl_st *)ev->tls, &in);
		rd_log_connected_tls(l, ev->mono_ns, ev->id, ev->attempt, ev->duration_ns,
				     ev->down_ns, tls ? &in : NULL);
		break;
	}
	case REDIAL_EV_DISCONNECTED:
		rd_log_disconnected(l, ev->mono_ns, ev->id, ev->err, ev->up_ns);
		break;
	case REDIAL_EV_ATTEMPT_FAILED:
		rd_log_connect_failed_reason(l, ev->mono_ns, ev->id, ev->attempt, ev->err, ev->cls,
					     ev->duration_ns, ev->backoff_ns, ev->addr,
					     ev->tls_reason);
		break;
	case REDIAL_EV_ALERT:
		rd_log_alert(l, ev->mono_ns, ev->id, ev->attempt, ev->err);
		break;
	case REDIAL_EV_GAVE_UP:
		rd_log_gave_up(l, ev->mono_ns, ev->id, ev->reason, ev->err, ev->attempt);
		break;
	case REDIAL_EV_CANCELLED:
		rd_log_cancelled(l, ev->mono_ns, ev->id);
		break;
	}
}

int redial_log_app(struct redial_log *log, uint16_t type, enum redial_log_level level,
		   redial_id_t endpoint, const void *payload, size_t len)
{
	if (!log || type < REDIAL_LOG_APP_MIN || (unsigned)level > REDIAL_LOG_ERROR ||
	    len > RD_LOG_APP_MAX_BODY || (len && !payload))
		return -EINVAL;
	if ((unsigned)level < log->min_level)
		return 0;
	struct rd_log_ring *r;
	uint8_t *b = rd_log_rec_begin(log, &r, type, (uint8_t)level, (uint32_t)len,
				      clock_ns(CLOCK_MONOTONIC), endpoint);
	if (!b)
		return -ENOBUFS;
	if (len)
		memcpy(b, payload, len);
	rd_log_rec_commit(log, r);
	return 0;
}
