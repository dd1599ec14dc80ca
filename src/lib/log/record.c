/* record.c — what a record's body means: the per-type decoding of wire.h's bodies (with every
 * length checked against the body it came in) and the names of types and levels. */
#include "log/record.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "log/wire.h"

static int body_min(uint16_t type)
{
	switch (type) {
	case REDIAL_LOG_CONNECT_FAILED: return RD_LOG_CF_BODY;
	case REDIAL_LOG_CONNECTED: return RD_LOG_CONNECTED_BODY;
	case REDIAL_LOG_ALERT: return RD_LOG_ALERT_BODY;
	case REDIAL_LOG_GAVE_UP: return RD_LOG_GAVE_UP_BODY;
	case REDIAL_LOG_DISCONNECTED: return RD_LOG_DISCONNECTED_BODY;
	case REDIAL_LOG_ENDPOINT_ADDED: return RD_LOG_ADDED_BODY;
	case REDIAL_LOG_DROPPED: return RD_LOG_DROPPED_BODY;
	case REDIAL_LOG_RESOLVED: return RD_LOG_RESOLVED_BODY;
	default: return 0;
	}
}

int rd_log_decode(const struct rd_log_record *rec, struct rd_log_event *ret_ev)
{
	struct rd_log_event ev;
	const uint8_t *b = rec->body;
	uint32_t n = rec->body_len;

	memset(&ev, 0, sizeof(ev));
	if (n < (uint32_t)body_min(rec->type))
		return -EBADMSG;
	switch (rec->type) {
	case REDIAL_LOG_CONNECT_FAILED: {
		ev.duration_ns = rd_get64(b);
		ev.backoff_ns = rd_get64(b + 8);
		ev.attempt = rd_get32(b + 16);
		ev.err = (int32_t)rd_get32(b + 20);
		ev.cls = b[24];
		uint16_t port = rd_get16(b + 26);
		if (b[25] == RD_LOG_AF_INET) {
			if (n < RD_LOG_CF_BODY + 4)
				return -EBADMSG;
			struct sockaddr_in *in = (struct sockaddr_in *)&ev.addr;
			in->sin_family = AF_INET;
			in->sin_port = htons(port);
			memcpy(&in->sin_addr, b + 28, 4);
			ev.has_addr = true;
		} else if (b[25] == RD_LOG_AF_INET6) {
			if (n < RD_LOG_CF_BODY + 20)
				return -EBADMSG;
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ev.addr;
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons(port);
			memcpy(&in6->sin6_addr, b + 28, 16);
			in6->sin6_scope_id = rd_get32(b + 44);
			ev.has_addr = true;
		}
		/* another family: a later writer's; the rest of the record still decodes */
		/* The TLS reason's tail, after an address of a known family (or none). */
		uint32_t off = RD_LOG_CF_BODY + (b[25] == RD_LOG_AF_INET    ? 4
						 : b[25] == RD_LOG_AF_INET6 ? 20
									    : 0);
		if ((b[25] == RD_LOG_AF_NONE || ev.has_addr) && n > off && n >= off + 1u + b[off]) {
			ev.tls_reason = (const char *)b + off + 1;
			ev.tls_reason_len = b[off];
		}
		break;
	}
	case REDIAL_LOG_CONNECTED:
		ev.duration_ns = rd_get64(b);
		ev.down_ns = rd_get64(b + 8);
		ev.attempt = rd_get32(b + 16);
		/* The TLS tail, when it is whole (an inconsistent one is ignored, not fatal). */
		if (n >= RD_LOG_CONNECTED_BODY + RD_LOG_TLS_TAIL_MIN &&
		    (b[RD_LOG_CONNECTED_BODY] & RD_LOG_TLS_F_TLS)) {
			const uint8_t *t = b + RD_LOG_CONNECTED_BODY;
			uint32_t clen = t[3], left = n - RD_LOG_CONNECTED_BODY;
			if (left >= RD_LOG_TLS_TAIL_MIN + clen &&
			    left >= RD_LOG_TLS_TAIL_MIN + clen + t[4 + clen]) {
				ev.tls = true;
				ev.resumed = t[0] & RD_LOG_TLS_F_RESUMED;
				ev.tls_version = rd_get16(t + 1);
				ev.cipher = (const char *)t + 4;
				ev.cipher_len = clen;
				ev.alpn_len = t[4 + clen];
				ev.alpn = (const char *)t + 5 + clen;
			}
		}
		break;
	case REDIAL_LOG_ALERT:
		ev.attempt = rd_get32(b);
		ev.err = (int32_t)rd_get32(b + 4);
		break;
	case REDIAL_LOG_GAVE_UP:
		ev.attempt = rd_get32(b);
		ev.err = (int32_t)rd_get32(b + 4);
		ev.reason = b[8];
		break;
	case REDIAL_LOG_DISCONNECTED:
		ev.up_ns = rd_get64(b);
		ev.err = (int32_t)rd_get32(b + 8);
		break;
	case REDIAL_LOG_ENDPOINT_ADDED:
		ev.str_len = rd_get16(b);
		if (n < RD_LOG_ADDED_BODY + ev.str_len)
			return -EBADMSG;
		ev.str = (const char *)b + 2;
		break;
	case REDIAL_LOG_DROPPED:
		ev.count = rd_get64(b);
		break;
	case REDIAL_LOG_RESOLVED: {
		ev.ttl_s = rd_get32(b);
		ev.naddrs = rd_get16(b + 4);
		ev.addrs = b + RD_LOG_RESOLVED_BODY;
		/* every entry must lie inside the body, and be long enough for its family */
		size_t off = RD_LOG_RESOLVED_BODY;
		for (uint16_t i = 0; i < ev.naddrs; i++) {
			if (off + 2 > n)
				return -EBADMSG;
			uint8_t elen = b[off], fam = b[off + 1];
			if (elen < 4 || off + elen > n || (fam == RD_LOG_AF_INET && elen < 8) ||
			    (fam == RD_LOG_AF_INET6 && elen < 24))
				return -EBADMSG;
			off += elen;
		}
		ev.addrs_len = off - RD_LOG_RESOLVED_BODY;
		break;
	}
	default:
		break;
	}
	*ret_ev = ev;
	return 0;
}

int rd_log_resolved_addr(const struct rd_log_event *ev, size_t i,
			 struct sockaddr_storage *ret_addr)
{
	if (i >= ev->naddrs)
		return -ENOENT;
	const uint8_t *e = ev->addrs;
	for (size_t k = 0; k < i; k++)
		e += e[0]; /* rd_log_decode checked every entry_len */
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (e[1] == RD_LOG_AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(rd_get16(e + 2));
		memcpy(&in->sin_addr, e + 4, 4);
	} else if (e[1] == RD_LOG_AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(rd_get16(e + 2));
		memcpy(&in6->sin6_addr, e + 4, 16);
		in6->sin6_scope_id = rd_get32(e + 20);
	} else {
		return -EAFNOSUPPORT;
	}
	*ret_addr = ss;
	return 0;
}

static const char *const type_names[] = {
	[REDIAL_LOG_CONNECT_FAILED] = "connect_failed",
	[REDIAL_LOG_CONNECTED] = "connected",
	[REDIAL_LOG_ALERT] = "alert",
	[REDIAL_LOG_GAVE_UP] = "gave_up",
	[REDIAL_LOG_DISCONNECTED] = "disconnected",
	[REDIAL_LOG_CANCELLED] = "cancelled",
	[REDIAL_LOG_ENDPOINT_ADDED] = "endpoint_added",
	[REDIAL_LOG_ENDPOINT_REMOVED] = "endpoint_removed",
	[REDIAL_LOG_DROPPED] = "dropped",
	[REDIAL_LOG_RESOLVED] = "resolved",
};

const char *rd_log_type_name(uint16_t type)
{
	if (type >= REDIAL_LOG_APP_MIN)
		return "app";
	if (type < sizeof(type_names) / sizeof(type_names[0]) && type_names[type])
		return type_names[type];
	return "unknown";
}

int rd_log_type_from_name(const char *name)
{
	for (size_t t = 0; t < sizeof(type_names) / sizeof(type_names[0]); t++)
		if (type_names[t] && strcmp(type_names[t], name) == 0)
			return (int)t;
	if (strcmp(name, "app") == 0)
		return REDIAL_LOG_APP_MIN;
	return -EINVAL;
}

const char *rd_log_level_name(unsigned level)
{
	static const char *const names[] = { "DEBUG", "INFO", "WARN", "ERROR" };
	return level < 4 ? names[level] : "?";
}

const char *rd_log_tls_version_name(uint16_t v)
{
	switch (v) {
	case 0x0304: return "TLSv1.3";
	case 0x0303: return "TLSv1.2";
	case 0x0302: return "TLSv1.1";
	case 0x0301: return "TLSv1";
	default: return NULL;
	}
}
