/* reader.c — parses event-log input. Nothing read from the input is trusted before it is
 * checked: a length is bounded before any buffer is sized or indexed with it, and a frame
 * counts only when its whole extent is present and its CRC matches. */
#include "log/reader.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "log/crc32c.h"
#include "log/wire.h"

/* The fd reader keeps a window of the file; it must hold the largest frame whole. */
#define WINDOW (4u * (RD_LOG_FRAME_HDR + RD_LOG_MAX_PAYLOAD))

struct rd_log_reader {
	int fd;           /* -1: memory reader */
	bool follow;
	bool eof;         /* the input ended for good (memory, or fd without follow) */
	int io_err;
	const uint8_t *data; /* the window: data[0] is input offset `base` */
	uint8_t *buf;        /* fd: the window's storage (WINDOW bytes) */
	uint64_t base;
	size_t len;          /* valid bytes in the window */
	uint64_t pos;        /* next input offset to parse */
	bool have_hdr;
	struct rd_log_header hdr;
};

int rd_log_reader_mem(const void *buf, size_t len, struct rd_log_reader **ret_reader)
{
	if ((!buf && len) || !ret_reader)
		return -EINVAL;
	struct rd_log_reader *r = rd_calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->fd = -1;
	r->eof = true;
	r->data = buf;
	r->len = len;
	*ret_reader = r;
	return 0;
}

int rd_log_reader_fd(int fd, bool follow, struct rd_log_reader **ret_reader)
{
	if (fd < 0 || !ret_reader)
		return -EINVAL;
	struct rd_log_reader *r = rd_calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->buf = rd_malloc(WINDOW);
	if (!r->buf) {
		rd_free(r);
		return -ENOMEM;
	}
	r->fd = fd;
	r->follow = follow;
	r->data = r->buf;
	*ret_reader = r;
	return 0;
}

void rd_log_reader_free(struct rd_log_reader *r)
{
	if (!r)
		return;
	rd_free(r->buf);
	rd_free(r);
}

void rd_log_reader_stop_following(struct rd_log_reader *r)
{
	r->follow = false;
}

uint64_t rd_log_reader_offset(const struct rd_log_reader *r)
{
	return r->pos;
}

/* How many of the n bytes at input offset off are in the window (<= n), reading more when
 * it can. Callers only move forward: bytes before off may be dropped from the window. */
static size_t avail(struct rd_log_reader *r, uint64_t off, size_t n)
{
	if (off < r->base)
		return 0; /* not reached: offsets only grow */
	if (r->fd >= 0 && off + n > r->base + r->len && !r->eof && !r->io_err) {
		if (off + n > r->base + WINDOW) {
			/* Slide the window to start at off. Every caller asks for offsets at or
			 * after the last one it parsed, and off never lies past what was read. */
			size_t drop = off - r->base <= r->len ? (size_t)(off - r->base) : r->len;
			memmove(r->buf, r->buf + drop, r->len - drop);
			r->len -= drop;
			r->base += drop;
		}
		while (off + n > r->base + r->len && r->len < WINDOW) {
			ssize_t got = read(r->fd, r->buf + r->len, WINDOW - r->len);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0) {
				r->io_err = -errno;
				break;
			}
			if (got == 0) {
				/* following: the end is only for now, the next call reads again */
				if (!r->follow)
					r->eof = true;
				break;
			}
			r->len += (size_t)got;
		}
	}
	uint64_t end = r->base + r->len;
	if (off >= end)
		return 0;
	return end - off < n ? (size_t)(end - off) : n;
}

static const uint8_t *at(const struct rd_log_reader *r, uint64_t off)
{
	return r->data + (off - r->base);
}

/* Is there a complete, checksummed frame at off? Cheap tests first: most offsets fail on
 * the length, type or level before any CRC is computed. */
static bool frame_ok(struct rd_log_reader *r, uint64_t off, uint32_t *ret_flen)
{
	if (avail(r, off, RD_LOG_FRAME_HDR) < RD_LOG_FRAME_HDR)
		return false;
	const uint8_t *p = at(r, off);
	uint32_t len = rd_get32(p);
	if (len < RD_LOG_PAYLOAD_MIN || len > RD_LOG_MAX_PAYLOAD || rd_get16(p + 4) == 0 ||
	    p[6] > REDIAL_LOG_ERROR)
		return false;
	if (avail(r, off, RD_LOG_FRAME_HDR + len) < RD_LOG_FRAME_HDR + len)
		return false;
	p = at(r, off); /* avail may have moved the window */
	uint32_t crc = rd_crc32c(0, p, 8);
	crc = rd_crc32c(crc, p + RD_LOG_FRAME_HDR, len);
	if (crc != rd_get32(p + 8))
		return false;
	*ret_flen = RD_LOG_FRAME_HDR + len;
	return true;
}

/* Is there a complete, checksummed segment header at off (any version)? */
static bool header_ok(struct rd_log_reader *r, uint64_t off, uint32_t *ret_hlen)
{
	if (avail(r, off, 12) < 12)
		return false;
	const uint8_t *p = at(r, off);
	if (memcmp(p, RD_LOG_MAGIC, RD_LOG_MAGIC_LEN) != 0)
		return false;
	uint16_t hlen = rd_get16(p + 10);
	if (hlen < RD_LOG_HEADER_V1 || hlen > RD_LOG_HEADER_MAX)
		return false;
	if (avail(r, off, hlen) < hlen)
		return false;
	p = at(r, off);
	if (rd_crc32c(0, p, hlen - 4u) != rd_get32(p + hlen - 4))
		return false;
	*ret_hlen = hlen;
	return true;
}

enum sync_kind { SYNC_NONE, SYNC_FRAME, SYNC_HEADER };

/* The next offset from `from` on where a valid frame or header starts. With SYNC_NONE,
 * *ret_at is the end of what is available. headers_only skips frames (inside a segment of
 * a version we cannot read). *ret_zero tells whether every byte passed over was 0. */
static enum sync_kind find_sync(struct rd_log_reader *r, uint64_t from, bool headers_only,
				uint64_t *ret_at, bool *ret_zero)
{
	uint32_t n;
	uint64_t q;
	bool zero = true;
	for (q = from; avail(r, q, 1) == 1; q++) {
		uint8_t b = *at(r, q);
		if (b == 0x89 && header_ok(r, q, &n)) {
			*ret_at = q;
			*ret_zero = zero;
			return SYNC_HEADER;
		}
		if (!headers_only && frame_ok(r, q, &n)) {
			*ret_at = q;
			*ret_zero = zero;
			return SYNC_FRAME;
		}
		zero = zero && b == 0;
	}
	*ret_at = q;
	*ret_zero = zero;
	return SYNC_NONE;
}

static int end_of_input(struct rd_log_reader *r)
{
	if (r->io_err)
		return r->io_err;
	return r->eof ? 0 : -EAGAIN;
}

/* A CORRUPT, TORN or SKIPPED item for [from, to), which the reader then moves past. */
static int emit_region(struct rd_log_reader *r, struct rd_log_item *it,
		       enum rd_log_item_kind kind, uint64_t from, uint64_t to, const char *why)
{
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->offset = from;
	it->length = to - from;
	it->why = why;
	it->hdr = r->have_hdr ? &r->hdr : NULL;
	r->pos = to;
	return 1;
}

/* Damage at r->pos: skip to the next valid frame or header. claimed_end is where the bytes
 * at pos say their frame (or header) ends, 0 when they say nothing believable. A frame that
 * runs past the end of the input, or into a new segment's header, is a torn last record
 * (its writer stopped mid-record; a new writer may have appended a segment since), not
 * corruption. */
static int resync(struct rd_log_reader *r, struct rd_log_item *it, uint64_t claimed_end,
		  const char *why)
{
	uint64_t q;
	bool zero;
	bool first_zero = *at(r, r->pos) == 0; /* callers saw at least this byte */
	enum sync_kind k = find_sync(r, r->pos + 1, false, &q, &zero);
	if (r->io_err)
		return r->io_err;
	if (k == SYNC_NONE) {
		if (!r->eof)
			return -EAGAIN; /* follow: the rest may still arrive */
		if (claimed_end > q)
			return emit_region(r, it, RD_LOG_ITEM_TORN, r->pos, q, "incomplete record");
		if (first_zero && zero) /* e.g. blocks allocated but never written before a crash */
			return emit_region(r, it, RD_LOG_ITEM_TORN, r->pos, q, "zero-filled tail");
		return emit_region(r, it, RD_LOG_ITEM_CORRUPT, r->pos, q, why);
	}
	if (k == SYNC_HEADER && claimed_end > q)
		return emit_region(r, it, RD_LOG_ITEM_TORN, r->pos, q, "incomplete record");
	return emit_region(r, it, RD_LOG_ITEM_CORRUPT, r->pos, q, why);
}

int rd_log_reader_next(struct rd_log_reader *r, struct rd_log_item *ret_item)
{
	uint32_t n;
	size_t a;

	if (!r || !ret_item)
		return -EINVAL;
	if (r->io_err)
		return r->io_err;
	a = avail(r, r->pos, RD_LOG_FRAME_HDR);
	if (a == 0)
		return end_of_input(r);
	const uint8_t *p = at(r, r->pos);

	/* A segment header? Its first bytes can never pass as a frame length. */
	if (p[0] == 0x89 && memcmp(p, RD_LOG_MAGIC, a < RD_LOG_MAGIC_LEN ? a : RD_LOG_MAGIC_LEN) == 0) {
		if (a < 12) /* the input ends inside the magic or the fixed fields */
			return r->eof ? resync(r, ret_item, UINT64_MAX, "incomplete header")
				      : end_of_input(r);
		uint16_t hlen = rd_get16(p + 10);
		if (hlen < RD_LOG_HEADER_V1 || hlen > RD_LOG_HEADER_MAX)
			return resync(r, ret_item, 0, "bad header length");
		if (avail(r, r->pos, hlen) < hlen)
			return r->eof || r->io_err ? resync(r, ret_item, r->pos + hlen,
							   "incomplete header")
						   : end_of_input(r);
		if (!header_ok(r, r->pos, &n))
			return resync(r, ret_item, 0, "bad header checksum");
		p = at(r, r->pos);
		uint16_t version = rd_get16(p + 8);
		if (version != RD_LOG_VERSION) {
			/* Frames of another version may not be frames as we know them: skip to
			 * the next header and say so once. The format allows such segments
			 * (log-format.md), so this is reported as a skip, not as damage. */
			uint64_t q;
			bool zero;
			enum sync_kind k = find_sync(r, r->pos + n, true, &q, &zero);
			if (r->io_err)
				return r->io_err;
			if (k == SYNC_NONE && !r->eof)
				return -EAGAIN;
			r->have_hdr = false;
			emit_region(r, ret_item, RD_LOG_ITEM_SKIPPED, r->pos, q,
				    "segment of an unsupported format version");
			ret_item->version = version;
			return 1;
		}
		r->hdr = (struct rd_log_header){
			.version = version,
			.header_len = hlen,
			.flags = rd_get32(p + 12),
			.realtime_ns = rd_get64(p + 16),
			.monotonic_ns = rd_get64(p + 24),
			.alert_after = rd_get32(p + 32),
			.pid = rd_get32(p + 36),
		};
		r->have_hdr = true;
		memset(ret_item, 0, sizeof(*ret_item));
		ret_item->kind = RD_LOG_ITEM_HEADER;
		ret_item->offset = r->pos;
		ret_item->length = hlen;
		ret_item->hdr = &r->hdr;
		r->pos += hlen;
		return 1;
	}

	/* A frame. */
	if (a < RD_LOG_FRAME_HDR)
		return r->eof ? resync(r, ret_item, UINT64_MAX, "incomplete record")
			      : end_of_input(r);
	uint32_t len = rd_get32(p);
	if (len < RD_LOG_PAYLOAD_MIN || len > RD_LOG_MAX_PAYLOAD)
		return resync(r, ret_item, 0, "bad record length");
	if (rd_get16(p + 4) == 0 || p[6] > REDIAL_LOG_ERROR)
		return resync(r, ret_item, 0, "bad record type or level");
	uint64_t claimed_end = r->pos + RD_LOG_FRAME_HDR + len;
	if (avail(r, r->pos, RD_LOG_FRAME_HDR + len) < RD_LOG_FRAME_HDR + len) {
		if (r->io_err)
			return r->io_err;
		return r->eof ? resync(r, ret_item, claimed_end, "incomplete record") : -EAGAIN;
	}
	if (!frame_ok(r, r->pos, &n))
		return resync(r, ret_item, claimed_end, "bad record checksum");

	p = at(r, r->pos);
	struct rd_log_item it;
	memset(&it, 0, sizeof(it));
	it.kind = RD_LOG_ITEM_RECORD;
	it.offset = r->pos;
	it.length = n;
	it.hdr = r->have_hdr ? &r->hdr : NULL;
	it.rec.type = rd_get16(p + 4);
	it.rec.level = p[6];
	it.rec.flags = p[7];
	it.rec.mono_ns = rd_get64(p + RD_LOG_FRAME_HDR);
	it.rec.id = rd_get64(p + RD_LOG_FRAME_HDR + 8);
	it.rec.body = p + RD_LOG_FRAME_HDR + RD_LOG_PREFIX;
	it.rec.body_len = len - RD_LOG_PREFIX;
	r->pos += n;

	/* The checksum says the writer meant these bytes; a body too short for its type is
	 * still unusable (a writer bug), reported like damage but with the frame's extent. */
	struct rd_log_event ev;
	if (rd_log_decode(&it.rec, &ev) < 0) {
		it.kind = RD_LOG_ITEM_CORRUPT;
		it.why = "record body too short for its type";
		memset(&it.rec, 0, sizeof(it.rec));
	}
	*ret_item = it;
	return 1;
}
