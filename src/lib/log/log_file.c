/* log_file.c — the log file: segment headers, the batch of checksummed frames and its
 * write(), write errors, rotation, and the endpoint names replayed at the top of each new
 * file. */
#include "log/log_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "log/crc32c.h"
#include "log/wire.h"

static void set_error(struct redial_log *l, int err)
{
	int zero = 0;
	atomic_compare_exchange_strong(&l->error, &zero, err);
}

/* write() until done. Returns 0, or -errno with *ret_done the bytes that did get written (a
 * short write is retried once more, which is what turns it into its errno). */
static int write_full(int fd, const uint8_t *p, size_t len, size_t *ret_done)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*ret_done = done;
			return n < 0 ? -errno : -EIO;
		}
		done += (size_t)n;
	}
	*ret_done = done;
	return 0;
}

/* Cuts the file back to `size` after a failed write. When even that fails the reader still
 * stops cleanly at the torn frame, and the write's own error is the one worth reporting. */
static void truncate_back(struct redial_log *l, uint64_t size)
{
	if (ftruncate(l->fd, (off_t)size) < 0)
		return;
}

/* ---- Segment header -------------------------------------------------------------------------- */

/* REALTIME and MONOTONIC read as close together as we can: the tightest of a few tries. */
static void clock_anchor(uint64_t *ret_real, uint64_t *ret_mono)
{
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 5; i++) {
		uint64_t m1 = clock_ns(CLOCK_MONOTONIC);
		uint64_t rt = clock_ns(CLOCK_REALTIME);
		uint64_t m2 = clock_ns(CLOCK_MONOTONIC);
		if (m2 - m1 < best) {
			best = m2 - m1;
			*ret_real = rt;
			*ret_mono = m1 + (m2 - m1) / 2;
		}
	}
}

static int write_header(struct redial_log *l)
{
	uint8_t h[RD_LOG_HEADER_V1] = { 0 };
	uint64_t rt = 0, mono = 0;
	size_t done;

	clock_anchor(&rt, &mono);
	memcpy(h, RD_LOG_MAGIC, RD_LOG_MAGIC_LEN);
	rd_put16(h + 8, RD_LOG_VERSION);
	rd_put16(h + 10, RD_LOG_HEADER_V1);
	rd_put32(h + 12, 0);
	rd_put64(h + 16, rt);
	rd_put64(h + 24, mono);
	rd_put32(h + 32, l->cfg.alert_after);
	rd_put32(h + 36, (uint32_t)getpid());
	rd_put32(h + 40, 0);
	rd_put32(h + 44, rd_crc32c(0, h, RD_LOG_HEADER_V1 - 4));
	int ret = write_full(l->fd, h, sizeof(h), &done);
	if (ret < 0) {
		/* a partial header is worth nothing: take it back if we can */
		if (done)
			truncate_back(l, l->file_size);
		return ret;
	}
	l->file_size += sizeof(h);
	atomic_fetch_add_explicit(&l->bytes, sizeof(h), memory_order_relaxed);
	return 0;
}

/* ---- Files ----------------------------------------------------------------------------------- */

static void path_n(const struct redial_log *l, char *buf, unsigned n)
{
	size_t plen = strlen(l->path);
	memcpy(buf, l->path, plen);
	snprintf(buf + plen, 16, ".%u", n);
}

/* path.(keep-1) -> path.keep, ..., path -> path.1. rename() replaces path.keep, which is how
 * the oldest file goes. */
static int shift_files(struct redial_log *l)
{
	unsigned keep = l->cfg.rotate_keep;
	if (keep == 0)
		return unlink(l->path) < 0 && errno != ENOENT ? -errno : 0;
	for (unsigned k = keep - 1; k >= 1; k--) {
		path_n(l, l->path_a, k);
		path_n(l, l->path_b, k + 1);
		if (rename(l->path_a, l->path_b) < 0 && errno != ENOENT)
			return -errno;
	}
	path_n(l, l->path_b, 1);
	if (rename(l->path, l->path_b) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int open_file(struct redial_log *l, bool truncate)
{
	int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0);
	int fd = open(l->path, flags, 0644);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int err = -errno;
		close(fd); /* fstat's error is the one to report */
		return err;
	}
	l->fd = fd;
	l->file_size = (uint64_t)st.st_size;
	l->file_recs = 0;
	return 0;
}

int rd_log_file_start(struct redial_log *l)
{
	int ret;
	if ((ret = open_file(l, false)) < 0)
		return ret;
	/* An existing file already at its size limit rotates now, not after our first batch. */
	if (l->cfg.rotate_bytes && l->file_size &&
	    l->file_size + RD_LOG_HEADER_V1 >= l->cfg.rotate_bytes) {
		ret = close(l->fd);
		l->fd = -1;
		if (ret < 0 && errno != EINTR)
			return -errno;
		if ((ret = shift_files(l)) < 0 || (ret = open_file(l, true)) < 0)
			return ret;
	}
	return write_header(l);
}

int rd_log_file_close(struct redial_log *l, int err)
{
	if (l->fd < 0)
		return err;
	if (l->cfg.fdatasync && !err && fdatasync(l->fd) < 0)
		err = -errno;
	/* EINTR: Linux has closed the fd anyway, and nothing was lost that fdatasync (when
	 * asked for) did not already report. */
	if (close(l->fd) < 0 && !err && errno != EINTR)
		err = -errno;
	l->fd = -1;
	return err;
}

void rd_log_file_free(struct redial_log *l)
{
	for (size_t i = 0; i < l->names.cap; i++)
		rd_free(l->names.ent[i].val);
	rd_u64map_free(&l->names);
	if (l->fd >= 0)
		(void)close(l->fd); /* a failed open: nothing was written that could be lost */
	l->fd = -1;
}

/* ---- Endpoint names, for the replays after a rotation ------------------------------------------ */

/* Remembers endpoint names while rotation is on: the frame of each live endpoint_added. */
static void track_name(struct redial_log *l, const uint8_t *f, size_t flen)
{
	uint16_t type = rd_get16(f + 4);
	uint64_t id = rd_get64(f + RD_LOG_FRAME_HDR + 8);
	if (type == REDIAL_LOG_ENDPOINT_REMOVED) {
		rd_free(rd_u64map_del(&l->names, id));
	} else if (type == REDIAL_LOG_ENDPOINT_ADDED && id) {
		uint8_t *copy = rd_malloc(flen);
		struct rd_u64map_ent *e = copy ? rd_u64map_upsert(&l->names, id) : NULL;
		if (!e) {
			rd_free(copy); /* out of memory: this name is missing after a rotation */
			return;
		}
		memcpy(copy, f, flen);
		rd_free(e->val);
		e->val = copy;
	}
}

void rd_log_file_rotate(struct redial_log *l)
{
	int ret;
	if (l->fd >= 0) {
		if (l->cfg.fdatasync && fdatasync(l->fd) < 0 &&
		    !atomic_load_explicit(&l->error, memory_order_relaxed))
			set_error(l, -errno);
		/* Every byte went out with write(); only an fdatasync could have lost any, and
		 * its error was just taken. */
		(void)close(l->fd);
		l->fd = -1;
	}
	if (atomic_load_explicit(&l->error, memory_order_relaxed))
		return;
	if ((ret = shift_files(l)) < 0 || (ret = open_file(l, true)) < 0 ||
	    (ret = write_header(l)) < 0) {
		set_error(l, ret);
		return;
	}
	/* Repeat the names of endpoints still alive, so this file decodes on its own. */
	for (size_t i = 0; i < l->names.cap; i++) {
		const uint8_t *f = l->names.ent[i].val;
		if (l->names.ent[i].key && f)
			rd_log_batch_append(l, f, RD_LOG_FRAME_HDR + rd_get32(f), RD_LOG_F_REPLAY);
	}
}

/* ---- The batch ------------------------------------------------------------------------------- */

#if defined(__x86_64__)
#include <nmmintrin.h>

/* Copy and checksum in one pass over the frame, 8 bytes at a time: the drain's inner loop.
 * The CRC covers bytes [0, 8) and [12, flen); the crc field itself is the caller's. */
__attribute__((target("sse4.2"))) static uint32_t copy_crc_hw(uint8_t *d, const uint8_t *s,
							     size_t flen)
{
	uint64_t w;
	memcpy(&w, s, 8);
	memcpy(d, &w, 8);
	uint64_t c = _mm_crc32_u64(0xffffffffu, w);
	size_t i = RD_LOG_FRAME_HDR;
	for (; i + 8 <= flen; i += 8) {
		memcpy(&w, s + i, 8);
		memcpy(d + i, &w, 8);
		c = _mm_crc32_u64(c, w);
	}
	for (; i < flen; i++) {
		d[i] = s[i];
		c = _mm_crc32_u8((uint32_t)c, s[i]);
	}
	return ~(uint32_t)c;
}
#endif

static uint32_t copy_crc(uint8_t *d, const uint8_t *s, size_t flen)
{
#if defined(__x86_64__)
	if (rd_crc32c_hw_available())
		return copy_crc_hw(d, s, flen);
#endif
	memcpy(d, s, flen);
	uint32_t crc = rd_crc32c(0, d, 8);
	return rd_crc32c(crc, d + RD_LOG_FRAME_HDR, flen - RD_LOG_FRAME_HDR);
}

void rd_log_batch_append(struct redial_log *l, const uint8_t *p, size_t flen, uint8_t flags)
{
	uint8_t *d = l->batch + l->batch_len;
	uint32_t crc;
	if (likely(!flags)) {
		crc = copy_crc(d, p, flen);
	} else {
		memcpy(d, p, flen);
		d[7] |= flags;
		crc = rd_crc32c(0, d, 8);
		crc = rd_crc32c(crc, d + RD_LOG_FRAME_HDR, flen - RD_LOG_FRAME_HDR);
	}
	rd_put32(d + 8, crc);
	l->batch_len += flen;
	l->batch_recs++;
	if (!(flags & RD_LOG_F_REPLAY)) {
		l->file_recs++;
		if (l->cfg.rotate_bytes)
			track_name(l, d, flen);
	}
}

void rd_log_batch_write(struct redial_log *l)
{
	if (!l->batch_len)
		return;
	if (atomic_load_explicit(&l->error, memory_order_relaxed) || l->fd < 0) {
		atomic_fetch_add_explicit(&l->lost, l->batch_recs, memory_order_relaxed);
		goto out;
	}
	size_t done;
	int ret = write_full(l->fd, l->batch, l->batch_len, &done);
	if (ret < 0) {
		/* Keep the whole frames that made it, so the file never holds a partial frame we
		 * wrote. */
		size_t good = 0;
		uint64_t recs = 0;
		while (good + RD_LOG_FRAME_HDR <= done) {
			size_t flen = RD_LOG_FRAME_HDR + rd_get32(l->batch + good);
			if (good + flen > done)
				break;
			good += flen;
			recs++;
		}
		if (good < done)
			truncate_back(l, l->file_size + good);
		l->file_size += good;
		atomic_fetch_add_explicit(&l->written, recs, memory_order_relaxed);
		atomic_fetch_add_explicit(&l->bytes, good, memory_order_relaxed);
		atomic_fetch_add_explicit(&l->lost, l->batch_recs - recs, memory_order_relaxed);
		set_error(l, ret);
		goto out;
	}
	l->file_size += l->batch_len;
	atomic_fetch_add_explicit(&l->written, l->batch_recs, memory_order_relaxed);
	atomic_fetch_add_explicit(&l->bytes, l->batch_len, memory_order_relaxed);
	atomic_fetch_add_explicit(&l->batches, 1, memory_order_relaxed);
	if (l->cfg.fdatasync && fdatasync(l->fd) < 0)
		set_error(l, -errno);
out:
	l->batch_len = 0;
	l->batch_recs = 0;
}
