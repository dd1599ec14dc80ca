/* logread.c — see logread.h. */
#include "logread.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void lt_free(struct lt_log *lg)
{
	for (size_t i = 0; i < lg->n; i++)
		free(lg->recs[i].body);
	free(lg->recs);
	memset(lg, 0, sizeof(*lg));
}

static int collect(struct rd_log_reader *r, struct lt_log *lg)
{
	struct rd_log_item it;
	int ret;
	memset(lg, 0, sizeof(*lg));
	lg->first_bad = UINT64_MAX;
	lg->first_skipped = UINT64_MAX;
	while ((ret = rd_log_reader_next(r, &it)) == 1) {
		if (it.kind == RD_LOG_ITEM_HEADER) {
			lg->headers++;
			lg->last_hdr = *it.hdr;
			continue;
		}
		if (it.kind == RD_LOG_ITEM_SKIPPED) {
			if (!lg->skipped++) {
				lg->first_skipped = it.offset;
				lg->skipped_version = it.version;
			}
			continue;
		}
		if (it.kind == RD_LOG_ITEM_CORRUPT || it.kind == RD_LOG_ITEM_TORN) {
			if (it.kind == RD_LOG_ITEM_CORRUPT)
				lg->corrupt++;
			else
				lg->torn++;
			if (lg->first_bad == UINT64_MAX)
				lg->first_bad = it.offset;
			continue;
		}
		if (lg->n == lg->cap) {
			lg->cap = lg->cap ? lg->cap * 2 : 64;
			lg->recs = realloc(lg->recs, lg->cap * sizeof(*lg->recs));
			if (!lg->recs)
				abort();
		}
		struct lt_rec *rc = &lg->recs[lg->n++];
		memset(rc, 0, sizeof(*rc));
		rc->offset = it.offset;
		rc->type = it.rec.type;
		rc->level = it.rec.level;
		rc->flags = it.rec.flags;
		rc->mono_ns = it.rec.mono_ns;
		rc->id = it.rec.id;
		rc->body_len = it.rec.body_len;
		rc->body = malloc(it.rec.body_len + 1);
		if (!rc->body)
			abort();
		memcpy(rc->body, it.rec.body, it.rec.body_len);
		struct rd_log_record copy = it.rec;
		copy.body = rc->body;
		if (rd_log_decode(&copy, &rc->ev) < 0)
			abort(); /* the reader reports those as corrupt */
		rc->has_hdr = it.hdr != NULL;
		if (it.hdr)
			rc->hdr = *it.hdr;
	}
	lg->err = ret < 0 ? ret : 0;
	return ret;
}

int lt_read_mem(const void *buf, size_t len, struct lt_log *lg)
{
	struct rd_log_reader *r;
	int ret = rd_log_reader_mem(buf, len, &r);
	if (ret < 0)
		return ret;
	ret = collect(r, lg);
	rd_log_reader_free(r);
	return ret;
}

int lt_read_path(const char *path, struct lt_log *lg)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct rd_log_reader *r;
	int ret = rd_log_reader_fd(fd, false, &r);
	if (ret == 0) {
		ret = collect(r, lg);
		rd_log_reader_free(r);
	}
	close(fd);
	return ret;
}

struct redial_log *lt_open(const char *path, uint32_t ring_bytes,
					 enum redial_log_level min_level)
{
	struct redial_log_config cfg;
	struct redial_log *l = NULL;
	redial_log_config_init(&cfg);
	cfg.path = path;
	cfg.ring_bytes = ring_bytes;
	cfg.min_level = min_level;
	cfg.flush_interval_ns = 5 * 1000000ull;
	if (redial_log_open(&cfg, &l) < 0)
		return NULL;
	return l;
}

void lt_log_sample(struct redial_log *l)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(80) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(8080) };
	inet_pton(AF_INET, "10.0.0.1", &a4.sin_addr);
	inet_pton(AF_INET6, "::1", &a6.sin6_addr);

	rd_log_endpoint_added(l, LT_M, LT_A, "10.0.0.1:80", 11);
	rd_log_endpoint_added(l, LT_M + 1000, LT_B, "[::1]:8080", 10);
	rd_log_connect_failed(l, LT_M + 1000000, LT_A, 3, ECONNREFUSED, REDIAL_CLASS_TRANSIENT,
			      1500000, 400000000, (const struct sockaddr *)&a4);
	rd_log_connect_failed(l, LT_M + 2000000, LT_B, 1, ETIMEDOUT, REDIAL_CLASS_TRANSIENT,
			      2000000000, 0, (const struct sockaddr *)&a6);
	rd_log_connect_failed(l, LT_M + 3000000, LT_A, 4, EACCES, REDIAL_CLASS_PERMANENT, 10, 0,
			      NULL);
	rd_log_alert(l, LT_M + 4000000, LT_A, 5, ECONNREFUSED);
	rd_log_connected(l, LT_M + 5000000, LT_A, 6, 1200000, 12500000000ull);
	rd_log_connected(l, LT_M + 6000000, LT_B, 1, 300000, 2000000);
	rd_log_disconnected(l, LT_M + 7000000, LT_A, ECONNRESET, 3723000000000ull);
	rd_log_disconnected(l, LT_M + 8000000, LT_B, 0, 5000000);
	rd_log_gave_up(l, LT_M + 9000000, LT_A, REDIAL_GAVE_UP_MAX_ATTEMPTS, ECONNREFUSED, 10);
	rd_log_cancelled(l, LT_M + 10000000, LT_B);
	rd_log_endpoint_removed(l, LT_M + 11000000, LT_A);
	rd_log_endpoint_added(l, LT_M + 12000000, LT_C, LT_WEIRD, sizeof(LT_WEIRD) - 1);
	rd_log_connect_failed(l, LT_M + 13000000, LT_C, 1, 9999, REDIAL_CLASS_LOCAL, 5, 7, NULL);
	rd_log_gave_up(l, LT_M + 14000000, LT_C, REDIAL_GAVE_UP_PERMANENT, EACCES, 1);

	union rd_addr rs[3];
	memset(rs, 0, sizeof(rs));
	struct sockaddr_in *r4 = &rs[0].v4;
	struct sockaddr_in6 *r6 = &rs[2].v6;
	r4->sin_family = AF_INET;
	r4->sin_port = htons(443);
	inet_pton(AF_INET, "10.0.0.9", &r4->sin_addr);
	rs[1].sa.sa_family = AF_UNIX; /* not an address the log keeps */
	r6->sin6_family = AF_INET6;
	r6->sin6_port = htons(443);
	inet_pton(AF_INET6, "2001:db8::1", &r6->sin6_addr);
	rd_log_resolved(l, LT_M + 14500000, LT_C, rs, 3, 30);
}

size_t lt_frame(uint8_t *d, uint16_t type, uint8_t level, uint8_t flags,
			      uint64_t mono_ns, uint64_t id, const void *body, uint32_t blen)
{
	rd_put32(d, RD_LOG_PREFIX + blen);
	rd_put16(d + 4, type);
	d[6] = level;
	d[7] = flags;
	rd_put64(d + 12, mono_ns);
	rd_put64(d + 20, id);
	if (blen)
		memcpy(d + 28, body, blen);
	uint32_t crc = rd_crc32c(0, d, 8);
	crc = rd_crc32c(crc, d + 12, RD_LOG_PREFIX + blen);
	rd_put32(d + 8, crc);
	return RD_LOG_FRAME_HDR + RD_LOG_PREFIX + blen;
}

size_t lt_header(uint8_t *d, uint16_t version, uint64_t realtime_ns,
			       uint64_t mono_ns, uint32_t alert_after)
{
	memset(d, 0, RD_LOG_HEADER_V1);
	memcpy(d, RD_LOG_MAGIC, RD_LOG_MAGIC_LEN);
	rd_put16(d + 8, version);
	rd_put16(d + 10, RD_LOG_HEADER_V1);
	rd_put64(d + 16, realtime_ns);
	rd_put64(d + 24, mono_ns);
	rd_put32(d + 32, alert_after);
	rd_put32(d + 44, rd_crc32c(0, d, RD_LOG_HEADER_V1 - 4));
	return RD_LOG_HEADER_V1;
}

void lt_set_anchor(uint8_t *d, uint64_t realtime_ns, uint64_t mono_ns)
{
	rd_put64(d + 16, realtime_ns);
	rd_put64(d + 24, mono_ns);
	rd_put32(d + 44, rd_crc32c(0, d, RD_LOG_HEADER_V1 - 4));
}

