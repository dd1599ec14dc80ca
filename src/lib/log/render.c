/* render.c — text and JSON lines for event-log records. Every string that came from the
 * file is escaped: an endpoint string or an application payload can hold any byte. */
#include "log/render.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log/wire.h"

bool rd_log_record_time(const struct rd_log_item *it, uint64_t *ret_realtime_ns)
{
	if (!it->hdr)
		return false;
	uint64_t rt = it->hdr->realtime_ns, anchor = it->hdr->monotonic_ns, m = it->rec.mono_ns;
	uint64_t t;
	if (m >= anchor) {
		if (__builtin_add_overflow(rt, m - anchor, &t))
			return false;
	} else {
		if (__builtin_sub_overflow(rt, anchor - m, &t))
			return false;
	}
	*ret_realtime_ns = t;
	return true;
}

void rd_sb_time(struct rd_strbuf *sb, uint64_t realtime_ns)
{
	time_t secs = (time_t)(realtime_ns / 1000000000u);
	struct tm tm;
	if (!gmtime_r(&secs, &tm)) {
		rd_sb_printf(sb, "@%" PRIu64, realtime_ns);
		return;
	}
	rd_sb_printf(sb, "%04d-%02d-%02dT%02d:%02d:%02d.%09uZ", tm.tm_year + 1900, tm.tm_mon + 1,
		     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     (unsigned)(realtime_ns % 1000000000u));
}

/* 1234 -> "1.2us"; a person reads these, JSON gets the exact ns. */
static void sb_dur(struct rd_strbuf *sb, uint64_t ns)
{
	if (ns < 1000)
		rd_sb_printf(sb, "%" PRIu64 "ns", ns);
	else if (ns < 1000000)
		rd_sb_printf(sb, "%.1fus", (double)ns / 1e3);
	else if (ns < 1000000000)
		rd_sb_printf(sb, "%.1fms", (double)ns / 1e6);
	else if (ns < 60 * 1000000000ull)
		rd_sb_printf(sb, "%.2fs", (double)ns / 1e9);
	else {
		uint64_t s = ns / 1000000000u;
		if (s >= 3600)
			rd_sb_printf(sb, "%" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s", s / 3600,
				     s / 60 % 60, s % 60);
		else
			rd_sb_printf(sb, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	}
}

static void sb_err_text(struct rd_strbuf *sb, int err)
{
	const char *name = redial_errno_name(err);
	if (name)
		rd_sb_printf(sb, "%s(%d)", name, err);
	else
		rd_sb_printf(sb, "%d", err);
}

static const char *class_name(uint8_t cls)
{
	return cls <= REDIAL_CLASS_LOCAL ? redial_class_name((enum redial_class)cls) : "unknown";
}

static const char *reason_name(uint8_t r)
{
	return r <= REDIAL_GAVE_UP_MAX_ELAPSED
		       ? redial_gave_up_reason_name((enum redial_gave_up_reason)r)
		       : "unknown";
}

static void sb_hex(struct rd_strbuf *sb, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		char h[2] = { digits[p[i] >> 4], digits[p[i] & 15] };
		rd_sb_put(sb, h, 2);
	}
}

/* An address of a resolved record, as the parser would take it; "?" for a family this
 * reader does not know. */
static void sb_resolved_addr(struct rd_strbuf *sb, const struct rd_log_event *ev, size_t i)
{
	struct sockaddr_storage ss;
	char a[96];
	if (rd_log_resolved_addr(ev, i, &ss) == 0 &&
	    redial_endpoint_format((const struct sockaddr *)&ss, a, sizeof(a)) > 0)
		rd_sb_puts(sb, a);
	else
		rd_sb_put(sb, "?", 1);
}

void rd_log_render_endpoint(struct rd_strbuf *sb, const char *ep, size_t ep_len, uint64_t id)
{
	/* The id goes last, after a '#': an endpoint string can hold any byte, '#' and
	 * spaces included, but the id is always the digits after the last '#'. */
	if (ep)
		rd_sb_text_str(sb, ep, ep_len);
	if (id)
		rd_sb_printf(sb, "#%" PRIu64, id);
	else if (!ep)
		rd_sb_puts(sb, "-");
}

void rd_log_render_text(struct rd_strbuf *sb, const struct rd_log_item *it,
			const struct rd_log_event *ev, const char *ep, size_t ep_len)
{
	const struct rd_log_record *rec = &it->rec;
	uint64_t rt;

	if (rd_log_record_time(it, &rt))
		rd_sb_time(sb, rt);
	else
		rd_sb_printf(sb, "mono:%" PRIu64, rec->mono_ns);
	rd_sb_printf(sb, " %-5s %s ", rd_log_level_name(rec->level), rd_log_type_name(rec->type));
	rd_log_render_endpoint(sb, ep, ep_len, rec->id);

	switch (rec->type) {
	case REDIAL_LOG_CONNECT_FAILED:
		rd_sb_printf(sb, " attempt=%" PRIu32 " error=", ev->attempt);
		sb_err_text(sb, ev->err);
		rd_sb_printf(sb, " class=%s duration=", class_name(ev->cls));
		sb_dur(sb, ev->duration_ns);
		rd_sb_puts(sb, " backoff=");
		sb_dur(sb, ev->backoff_ns);
		if (ev->has_addr) {
			char a[96];
			if (redial_endpoint_format((const struct sockaddr *)&ev->addr, a, sizeof(a)) > 0)
				rd_sb_printf(sb, " addr=%s", a);
		}
		if (ev->tls_reason) {
			rd_sb_puts(sb, " reason=");
			rd_sb_text_str(sb, ev->tls_reason, ev->tls_reason_len);
		}
		break;
	case REDIAL_LOG_CONNECTED:
		if (ev->attempt > 1)
			rd_sb_printf(sb, " reconnected after %" PRIu32 " attempts", ev->attempt);
		else
			rd_sb_printf(sb, " connected after %" PRIu32 " attempt%s", ev->attempt,
				     ev->attempt == 1 ? "" : "s");
		rd_sb_puts(sb, " duration=");
		sb_dur(sb, ev->duration_ns);
		rd_sb_puts(sb, " down=");
		sb_dur(sb, ev->down_ns);
		if (ev->tls) {
			const char *v = rd_log_tls_version_name(ev->tls_version);
			rd_sb_printf(sb, " tls=%s cipher=", v ? v : "?");
			rd_sb_text_str(sb, ev->cipher, ev->cipher_len);
			if (ev->alpn_len) {
				rd_sb_puts(sb, " alpn=");
				rd_sb_text_str(sb, ev->alpn, ev->alpn_len);
			}
			rd_sb_puts(sb, ev->resumed ? " resumed" : " full handshake");
		}
		break;
	case REDIAL_LOG_ALERT:
		rd_sb_printf(sb, " %" PRIu32 " consecutive failures, last error=", ev->attempt);
		sb_err_text(sb, ev->err);
		break;
	case REDIAL_LOG_GAVE_UP:
		rd_sb_printf(sb, " reason=%s error=", reason_name(ev->reason));
		sb_err_text(sb, ev->err);
		rd_sb_printf(sb, " attempts=%" PRIu32, ev->attempt);
		break;
	case REDIAL_LOG_DISCONNECTED:
		rd_sb_puts(sb, " error=");
		sb_err_text(sb, ev->err);
		rd_sb_puts(sb, " up=");
		sb_dur(sb, ev->up_ns);
		break;
	case REDIAL_LOG_DROPPED:
		rd_sb_printf(sb, " count=%" PRIu64, ev->count);
		break;
	case REDIAL_LOG_RESOLVED:
		rd_sb_puts(sb, " ttl=");
		sb_dur(sb, (uint64_t)ev->ttl_s * 1000000000u);
		rd_sb_puts(sb, " addrs=");
		for (size_t i = 0; i < ev->naddrs; i++) {
			if (i)
				rd_sb_put(sb, ",", 1);
			sb_resolved_addr(sb, ev, i);
		}
		break;
	case REDIAL_LOG_ENDPOINT_ADDED:
	case REDIAL_LOG_ENDPOINT_REMOVED:
	case REDIAL_LOG_CANCELLED:
		break;
	default:
		rd_sb_printf(sb, " type=%u len=%" PRIu32 " payload=", rec->type, rec->body_len);
		sb_hex(sb, rec->body, rec->body_len < 64 ? rec->body_len : 64);
		if (rec->body_len > 64)
			rd_sb_puts(sb, "...");
		break;
	}
	rd_sb_put(sb, "\n", 1);
}

static void json_err(struct rd_strbuf *sb, int err)
{
	const char *name = redial_errno_name(err);
	rd_sb_printf(sb, ",\"errno\":%d,\"error\":", err);
	if (name)
		rd_sb_printf(sb, "\"%s\"", name);
	else
		rd_sb_puts(sb, "null");
}

void rd_log_render_json(struct rd_strbuf *sb, const struct rd_log_item *it,
			const struct rd_log_event *ev, const char *ep, size_t ep_len)
{
	const struct rd_log_record *rec = &it->rec;
	uint64_t rt;

	rd_sb_puts(sb, "{\"ts\":");
	if (rd_log_record_time(it, &rt)) {
		rd_sb_put(sb, "\"", 1);
		rd_sb_time(sb, rt);
		rd_sb_put(sb, "\"", 1);
	} else {
		rd_sb_puts(sb, "null");
	}
	rd_sb_printf(sb, ",\"mono_ns\":%" PRIu64 ",\"level\":\"%s\",\"event\":\"%s\",\"endpoint\":",
		     rec->mono_ns, rd_log_level_name(rec->level), rd_log_type_name(rec->type));
	if (ep)
		rd_sb_json_str(sb, ep, ep_len);
	else
		rd_sb_puts(sb, "null");
	rd_sb_printf(sb, ",\"endpoint_id\":%" PRIu64, rec->id);

	switch (rec->type) {
	case REDIAL_LOG_CONNECT_FAILED:
		rd_sb_printf(sb, ",\"attempt\":%" PRIu32, ev->attempt);
		json_err(sb, ev->err);
		rd_sb_printf(sb,
			     ",\"class\":\"%s\",\"duration_ns\":%" PRIu64 ",\"backoff_ns\":%" PRIu64,
			     class_name(ev->cls), ev->duration_ns, ev->backoff_ns);
		if (ev->has_addr) {
			char a[96];
			if (redial_endpoint_format((const struct sockaddr *)&ev->addr, a, sizeof(a)) > 0)
				rd_sb_printf(sb, ",\"addr\":\"%s\"", a);
		}
		if (ev->tls_reason) {
			rd_sb_puts(sb, ",\"reason\":");
			rd_sb_json_str(sb, ev->tls_reason, ev->tls_reason_len);
		}
		break;
	case REDIAL_LOG_CONNECTED:
		rd_sb_printf(sb, ",\"attempts\":%" PRIu32 ",\"duration_ns\":%" PRIu64
				 ",\"down_ns\":%" PRIu64,
			     ev->attempt, ev->duration_ns, ev->down_ns);
		if (ev->tls) {
			const char *v = rd_log_tls_version_name(ev->tls_version);
			rd_sb_puts(sb, ",\"tls_version\":");
			if (v)
				rd_sb_printf(sb, "\"%s\"", v);
			else
				rd_sb_puts(sb, "null");
			rd_sb_puts(sb, ",\"cipher\":");
			rd_sb_json_str(sb, ev->cipher, ev->cipher_len);
			rd_sb_puts(sb, ",\"alpn\":");
			if (ev->alpn_len)
				rd_sb_json_str(sb, ev->alpn, ev->alpn_len);
			else
				rd_sb_puts(sb, "null");
			rd_sb_printf(sb, ",\"resumed\":%s", ev->resumed ? "true" : "false");
		}
		break;
	case REDIAL_LOG_ALERT:
		rd_sb_printf(sb, ",\"attempts\":%" PRIu32, ev->attempt);
		json_err(sb, ev->err);
		break;
	case REDIAL_LOG_GAVE_UP:
		rd_sb_printf(sb, ",\"reason\":\"%s\"", reason_name(ev->reason));
		json_err(sb, ev->err);
		rd_sb_printf(sb, ",\"attempts\":%" PRIu32, ev->attempt);
		break;
	case REDIAL_LOG_DISCONNECTED:
		json_err(sb, ev->err);
		rd_sb_printf(sb, ",\"up_ns\":%" PRIu64, ev->up_ns);
		break;
	case REDIAL_LOG_DROPPED:
		rd_sb_printf(sb, ",\"count\":%" PRIu64, ev->count);
		break;
	case REDIAL_LOG_RESOLVED:
		rd_sb_printf(sb, ",\"ttl_s\":%" PRIu32 ",\"addrs\":[", ev->ttl_s);
		for (size_t i = 0; i < ev->naddrs; i++) {
			rd_sb_puts(sb, i ? ",\"" : "\"");
			sb_resolved_addr(sb, ev, i);
			rd_sb_put(sb, "\"", 1);
		}
		rd_sb_put(sb, "]", 1);
		break;
	case REDIAL_LOG_ENDPOINT_ADDED:
	case REDIAL_LOG_ENDPOINT_REMOVED:
	case REDIAL_LOG_CANCELLED:
		break;
	default:
		rd_sb_printf(sb, ",\"type\":%u,\"payload\":\"", rec->type);
		sb_hex(sb, rec->body, rec->body_len);
		rd_sb_put(sb, "\"", 1);
		break;
	}
	rd_sb_put(sb, "}\n", 2);
}
