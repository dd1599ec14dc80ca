/* log_drain.c — the drain thread that merges the producers' rings into the file, and the
 * log's lifetime: redial_log_open, _close, _flush, _error, _stats_get and the test hooks.
 *
 * Why a drain thread rather than writes submitted on the manager's io_uring: the log must
 * work without a manager (application threads log too, and a log may outlive a manager), the
 * engine's ring is owned by one thread that would then have to copy records out and account
 * for write completions in its loop, and on a 2-core host a thread that sleeps on a futex
 * for most of the flush interval costs the loop nothing. The drain makes one fused copy+CRC
 * pass per record and one write() per batch of up to 1 MiB; bench/log measures it (on the
 * development VM, 20-30 M records/s from full rings, most of that time in the kernel's
 * tmpfs write path), far above what the engine produces.
 */
#include <errno.h>
#include <signal.h>

#include "config.h"
#include "log/log_file.h"
#include "log/log_ring.h"

#define MERGE_MAX 16 /* rings merged by timestamp in one pass */
#define RING_MIN 4096u
#define RING_MAX (1u << 30)

/* ---- Drain: rings ---------------------------------------------------------------------------- */

struct cursor {
	struct rd_log_ring *r;
	uint64_t tail, head;
};

/* Skips pad markers; returns the entry at the cursor, or NULL once it reached its head. */
static const uint8_t *cur_front(struct cursor *c)
{
	while (c->tail != c->head) {
		uint64_t off = c->tail & c->r->mask;
		const uint8_t *p = c->r->data + off;
		if (rd_get16(p + 4) != 0)
			return p;
		c->tail += c->r->size - off;
	}
	return NULL;
}

/* Hands consumed space back to the producers (the release half of the drain's side of the
 * ordering argument in log_int.h). Called before every write(), not after, so a producer
 * never waits on the disk for room that is already copied out. */
static void publish_tails(struct cursor *cur, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (cur[i].r->dtail == cur[i].tail)
			continue;
		cur[i].r->dtail = cur[i].tail;
		atomic_store_explicit(&cur[i].r->pub_tail, cur[i].tail, memory_order_release);
	}
}

/* Adds a frame, writing the batch out first when it is full and rotating when the file
 * would pass rotate_bytes. */
static void take_frame(struct redial_log *l, const uint8_t *p, size_t flen, struct cursor *cur,
		       unsigned n)
{
	if (l->batch_len + flen > BATCH_BYTES) {
		publish_tails(cur, n);
		rd_log_batch_write(l);
	}
	if (l->cfg.rotate_bytes && l->file_recs &&
	    l->file_size + l->batch_len + flen > l->cfg.rotate_bytes &&
	    !atomic_load_explicit(&l->error, memory_order_relaxed)) {
		publish_tails(cur, n);
		rd_log_batch_write(l);
		rd_log_file_rotate(l);
	}
	rd_log_batch_append(l, p, flen, 0);
}

/* Moves every published entry into the file. Rings are taken in groups of up to MERGE_MAX,
 * and within a group merged by timestamp, so a file written by a few threads reads in time
 * order (each thread's own records are always in the order it logged them). */
static void drain_pass(struct redial_log *l)
{
	struct cursor cur[MERGE_MAX];
	struct rd_log_ring *r = atomic_load_explicit(&l->rings, memory_order_acquire);

	while (r) {
		unsigned n = 0;
		for (; r && n < MERGE_MAX; r = r->next) {
			uint64_t h = atomic_load_explicit(&r->pub_head, memory_order_acquire);
			if (h != r->dtail)
				cur[n++] = (struct cursor){ .r = r, .tail = r->dtail, .head = h };
		}
		for (;;) {
			struct cursor *best = NULL;
			const uint8_t *bp = NULL;
			uint64_t bmono = 0;
			for (unsigned i = 0; i < n; i++) {
				const uint8_t *p = cur_front(&cur[i]);
				if (!p)
					continue;
				uint64_t m = rd_get64(p + RD_LOG_FRAME_HDR);
				if (!best || m < bmono) {
					best = &cur[i];
					bp = p;
					bmono = m;
				}
			}
			if (!best)
				break;
			size_t flen = RD_LOG_FRAME_HDR + (size_t)rd_get32(bp);
			/* The producer's core wrote these lines: start pulling the next few over. */
			__builtin_prefetch(best->r->data + ((best->tail + 512) & best->r->mask));
			take_frame(l, bp, flen, cur, n);
			best->tail += (flen + 7) & ~(size_t)7;
		}
		publish_tails(cur, n);
	}
}

/* A `dropped` record written by the drain itself (drops with no ring to carry them). */
static void put_drain_dropped(struct redial_log *l, uint64_t count)
{
	uint8_t f[RD_LOG_FRAME_HDR + RD_LOG_PREFIX + RD_LOG_DROPPED_BODY];
	rd_log_hdr_put(f, RD_LOG_PREFIX + RD_LOG_DROPPED_BODY, REDIAL_LOG_DROPPED, REDIAL_LOG_WARN,
		       clock_ns(CLOCK_MONOTONIC), 0);
	rd_put64(f + RD_LOG_FRAME_HDR + RD_LOG_PREFIX, count);
	take_frame(l, f, sizeof(f), NULL, 0);
}

/* Drop counts no ring record carries yet: drops of threads that got no ring, and counts
 * producers left pending (they dropped, then logged nothing since). Called after each pass,
 * so a count reaches the file within a flush interval even when its thread went quiet. */
static void put_pending_drops(struct redial_log *l)
{
	uint64_t u = atomic_load_explicit(&l->unreg_drops, memory_order_relaxed);
	if (u != l->unreg_reported) {
		put_drain_dropped(l, u - l->unreg_reported);
		l->unreg_reported = u;
	}
	for (struct rd_log_ring *r = atomic_load_explicit(&l->rings, memory_order_acquire); r;
	     r = r->next) {
		if (!atomic_load_explicit(&r->pending_drops, memory_order_relaxed))
			continue;
		uint64_t c = atomic_exchange_explicit(&r->pending_drops, 0, memory_order_relaxed);
		if (c)
			put_drain_dropped(l, c);
	}
}

static bool rings_past_half(struct redial_log *l)
{
	for (struct rd_log_ring *r = atomic_load_explicit(&l->rings, memory_order_acquire); r;
	     r = r->next)
		if (atomic_load_explicit(&r->pub_head, memory_order_relaxed) - r->dtail > r->size / 2)
			return true;
	return false;
}

static void drain_sleep(struct redial_log *l, bool paused)
{
	atomic_store_explicit(&l->sleeping, 1, memory_order_seq_cst);
	/* pairs with rd_log_ring_check_half's: the Dekker handshake in log_int.h */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&l->closing, memory_order_relaxed) ||
	    atomic_load_explicit(&l->flush_req, memory_order_relaxed) != l->last_done ||
	    (!paused && rings_past_half(l))) {
		atomic_store_explicit(&l->sleeping, 0, memory_order_relaxed);
		return;
	}
	futex_wait(&l->sleeping, 1, l->cfg.flush_interval_ns);
	atomic_store_explicit(&l->sleeping, 0, memory_order_relaxed);
}

static void flush_done(struct redial_log *l, uint32_t req)
{
	if (req == l->last_done)
		return;
	l->last_done = req;
	atomic_store_explicit(&l->flush_done, req, memory_order_release);
	futex_wake(&l->flush_done);
}

static void *drain_main(void *arg)
{
	struct redial_log *l = arg;

	for (;;) {
		/* Read before the rings: a flush request covers what was accepted before it. */
		uint32_t req = atomic_load_explicit(&l->flush_req, memory_order_acquire);
		int closing = atomic_load_explicit(&l->closing, memory_order_acquire);
		if (!closing && atomic_load_explicit(&l->paused, memory_order_relaxed)) {
			drain_sleep(l, true);
			continue;
		}
		drain_pass(l);
		put_pending_drops(l);
		if (closing)
			break;
		rd_log_batch_write(l);
		flush_done(l, req);
		drain_sleep(l, false);
	}

	/* Closing: the producers have stopped (close's contract), and the acquire of closing
	 * made their last records visible; the last pass took them and the pending drops. */
	rd_log_batch_write(l);
	flush_done(l, atomic_load_explicit(&l->flush_req, memory_order_acquire));
	return NULL;
}

/* ---- Lifetime ------------------------------------------------------------------------------- */

void redial_log_config_init(struct redial_log_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = sizeof(*cfg);
	cfg->ring_bytes = 1u << 20;
	cfg->flush_interval_ns = 100 * 1000000ull;
	cfg->fdatasync = false;
	cfg->rotate_bytes = 0;
	cfg->rotate_keep = 5;
	cfg->min_level = REDIAL_LOG_INFO;
	cfg->alert_after = 5;
}

static void log_free(struct redial_log *l)
{
	rd_log_rings_free(l);
	rd_log_file_free(l);
	rd_free(l->batch);
	rd_free(l->path);
	rd_free(l->path_a);
	rd_free(l->path_b);
	rd_free(l->mem);
}

int redial_log_open(const struct redial_log_config *cfg, struct redial_log **ret_log)
{
	struct redial_log_config c;
	void *mem;
	int ret;

	if (!cfg || !ret_log || cfg->size < offsetof(struct redial_log_config, path) + sizeof(char *))
		return -EINVAL;
	redial_log_config_init(&c);
	/* The same size contract as the manager's config: a newer caller's larger struct is
	 * accepted only when the fields this library does not know are zero. */
	ret = rd_copy_sized(&c, sizeof(c), cfg, cfg->size);
	if (ret < 0)
		return ret;
	if (!c.path || !*c.path || strlen(c.path) > PATH_MAX - 16 || c.ring_bytes < RING_MIN ||
	    c.ring_bytes > RING_MAX || (c.ring_bytes & (c.ring_bytes - 1)) ||
	    c.flush_interval_ns == 0 || (unsigned)c.min_level > REDIAL_LOG_ERROR)
		return -EINVAL;

	struct redial_log *l = alloc_aligned(sizeof(*l), &mem);
	if (!l)
		return -ENOMEM;
	l->mem = mem;
	l->fd = -1;
	l->cfg = c;
	l->min_level = (uint8_t)c.min_level;
	l->ring_bytes = c.ring_bytes;
	size_t plen = strlen(c.path);
	l->path = rd_malloc(plen + 1);
	l->path_a = rd_malloc(plen + 16);
	l->path_b = rd_malloc(plen + 16);
	l->batch = rd_malloc(BATCH_BYTES);
	if (!l->path || !l->path_a || !l->path_b || !l->batch) {
		ret = -ENOMEM;
		goto fail;
	}
	memcpy(l->path, c.path, plen + 1);
	l->cfg.path = l->path;

	if ((ret = rd_log_file_start(l)) < 0)
		goto fail;
	rd_log_register(l);

	/* The drain gets no signals: they belong to the application's threads. */
	sigset_t all, old;
	sigfillset(&all);
	if ((ret = -pthread_sigmask(SIG_SETMASK, &all, &old)) < 0)
		goto fail_live;
	ret = -pthread_create(&l->thread, NULL, drain_main, l);
	/* Restoring a mask this thread had a moment ago cannot fail. */
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret < 0)
		goto fail_live;
	l->thread_started = true;
	/* The opening thread is usually the one that runs the manager: give it its ring now
	 * rather than on its first record. Failure is not fatal: it retries then. */
	(void)rd_log_ring_lookup(l);
	*ret_log = l;
	return 0;

fail_live:
	rd_log_unregister(l);
fail:
	log_free(l);
	return ret;
}

/* Producers must have stopped logging to this log before close is called: the manager is
 * destroyed first, application threads are joined or told to stop. */
int redial_log_close(struct redial_log *l)
{
	if (!l)
		return 0;
	rd_log_unregister(l);
	if (l->thread_started) {
		atomic_store_explicit(&l->closing, 1, memory_order_seq_cst);
		drain_wake(l);
		/* Only EDEADLK or an invalid thread, neither possible for our own drain. */
		(void)pthread_join(l->thread, NULL);
	}
	int err = rd_log_file_close(l, atomic_load_explicit(&l->error, memory_order_relaxed));
	log_free(l);
	return err;
}

int redial_log_flush(struct redial_log *l, uint64_t timeout_ns)
{
	if (!l)
		return -EINVAL;
	/* seq_cst: ordered after this thread's records and before the wake below */
	uint32_t my = atomic_fetch_add(&l->flush_req, 1) + 1;
	drain_wake(l);
	uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + timeout_ns;
	if (deadline < timeout_ns)
		deadline = UINT64_MAX;
	for (;;) {
		uint32_t d = atomic_load_explicit(&l->flush_done, memory_order_acquire);
		if ((int32_t)(d - my) >= 0)
			break;
		uint64_t now = clock_ns(CLOCK_MONOTONIC);
		if (now >= deadline)
			return -ETIMEDOUT;
		uint64_t wait = deadline - now;
		futex_wait(&l->flush_done, (int)d, wait < 10000000u ? wait : 10000000u);
	}
	return atomic_load_explicit(&l->error, memory_order_relaxed);
}

int redial_log_error(const struct redial_log *log)
{
	if (!log)
		return -EINVAL;
	return atomic_load_explicit(&((struct redial_log *)log)->error, memory_order_relaxed);
}

int redial_log_stats_get(const struct redial_log *log, struct redial_log_stats *ret_stats)
{
	if (!log || !ret_stats || ret_stats->size < offsetof(struct redial_log_stats, accepted))
		return -EINVAL;
	struct redial_log *l = (struct redial_log *)log;
	size_t n = ret_stats->size < sizeof(struct redial_log_stats) ? ret_stats->size
								     : sizeof(struct redial_log_stats);
	struct redial_log_stats s = { .size = n };
	for (struct rd_log_ring *r = atomic_load_explicit(&l->rings, memory_order_acquire); r;
	     r = r->next) {
		s.accepted += atomic_load_explicit(&r->accepted, memory_order_relaxed);
		s.dropped += atomic_load_explicit(&r->dropped, memory_order_relaxed);
	}
	s.dropped += atomic_load_explicit(&l->unreg_drops, memory_order_relaxed);
	s.written = atomic_load_explicit(&l->written, memory_order_relaxed);
	s.bytes = atomic_load_explicit(&l->bytes, memory_order_relaxed);
	s.batches = atomic_load_explicit(&l->batches, memory_order_relaxed);
	s.lost = atomic_load_explicit(&l->lost, memory_order_relaxed);
	memcpy(ret_stats, &s, n); /* size says how much was written */
	return 0;
}

void rd_log__drain_pause(struct redial_log *l, bool paused)
{
	atomic_store(&l->paused, paused);
	if (!paused)
		drain_wake(l);
}

unsigned rd_log__ring_count(struct redial_log *l)
{
	unsigned n = 0;
	for (struct rd_log_ring *r = atomic_load_explicit(&l->rings, memory_order_acquire); r;
	     r = r->next)
		n++;
	return n;
}
