/* log_int.h — the writer's shared state: struct redial_log, struct rd_log_ring and the few
 * helpers every writer file uses (clocks, the futex that wakes the drain). */
#ifndef RD_LOG_LOG_INT_H
#define RD_LOG_LOG_INT_H

#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "log/log.h"
#include "log/u64map.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define CACHELINE 64
#define BATCH_BYTES (1u << 20) /* one write() moves at most this much */

/* ---- Ring ---------------------------------------------------------------------------------
 *
 * One producer thread's ring: a power-of-two byte array of entries laid out exactly as file
 * frames (wire.h), each padded to a multiple of 8 bytes, with the crc field left for the drain
 * to fill. An entry never wraps: when it does not fit before the end of the array the
 * producer writes a pad marker (an entry header with type 0) there and puts the entry at
 * offset 0. Offsets are multiples of 8, so at least 8 bytes always remain for the marker.
 *
 * head and tail are free-running byte counts (2^64 bytes never wrap); used = head - tail,
 * always <= size.
 *
 * Memory ordering, the whole argument:
 *  - The producer writes an entry's bytes with plain stores, then publishes it with a
 *    release store of pub_head. The drain acquire-loads pub_head and only then reads bytes
 *    below it, so every byte it reads was written before the release: it never sees a torn
 *    entry.
 *  - The drain copies entries out, then release-stores pub_tail. The producer acquire-loads
 *    pub_tail before reusing space below it, so the drain's reads of old bytes happen before
 *    the producer's overwrites (no write-after-read race).
 *  - Everything else each side needs is private: the producer's head/tail_cache, the drain's
 *    dtail. On x86-64 the release stores and acquire loads are plain movs: the hot path has
 *    no locked instruction and no fence.
 *  - Waking the drain is a Dekker handshake, kept off the common path: the drain stores
 *    sleeping = 1, issues a seq_cst fence and re-reads every pub_head before it sleeps; a
 *    producer past the half-full mark stores pub_head, issues a seq_cst fence and reads
 *    sleeping. With both fences at least one side sees the other's store, so the drain never
 *    sleeps through a half-full ring; only the producer that swaps sleeping from 1 to 0 makes
 *    the futex call.
 *
 * The producer's side is in log_ring.h/.c (rd_log_rec_begin, rd_log_rec_commit,
 * rd_log_ring_check_half); the drain's in log_drain.c (drain_pass, drain_sleep).
 *
 * Layout: the first cache lines belong to the producer, pub_head has a line of its own (the
 * producer writes it, the drain reads it), and pub_tail shares one with the drain's cursor.
 */
struct rd_log_ring {
	/* producer-private */
	uint64_t head;       /* next byte to write */
	uint64_t tail_cache; /* pub_tail as last loaded: at least this much was consumed */
	uint64_t wake_mark;  /* don't look at the half-full condition again before head gets here */
	uint8_t *data;
	uint64_t mask;       /* size - 1 */
	uint64_t size;
	/* written by the producer only; read by stats and by the drain at close: relaxed */
	_Atomic uint64_t accepted;
	_Atomic uint64_t dropped;
	_Atomic uint64_t pending_drops; /* dropped since the last `dropped` record went in */
	/* the producer thread's token; 0 once that thread exited (a new thread may claim it) */
	_Atomic uint64_t owner;
	struct rd_log_ring *next; /* immutable once the ring is on the log's list */
	void *mem;                /* the allocation this struct was aligned within */

	alignas(CACHELINE) _Atomic uint64_t pub_head;
	alignas(CACHELINE) _Atomic uint64_t pub_tail;
	uint64_t dtail; /* drain-private: where the drain reads next */
};

struct redial_log {
	/* Read by producers on every record, written only before the log is published. */
	uint64_t gen; /* unique per open: a thread's cached ring is only valid for its gen */
	uint8_t min_level;
	uint32_t ring_bytes;
	_Atomic(struct rd_log_ring *) rings; /* push-front; pushed under reg_mu, read lock-free */
	void *mem;

	/* Shared, rarely written. */
	alignas(CACHELINE) _Atomic int sleeping; /* futex word: 1 while the drain sleeps */
	_Atomic uint32_t flush_req;              /* bumped by redial_log_flush */
	_Atomic uint32_t flush_done;             /* futex word: the drain caught up to this req */
	_Atomic int closing;
	_Atomic int paused;
	_Atomic int error;                       /* first write error, -errno */
	_Atomic uint64_t unreg_drops;            /* records dropped for want of a ring */
	_Atomic uint64_t written, bytes, batches, lost;

	/* Drain-private (and open/close, which run while the drain does not). */
	alignas(CACHELINE) int fd;
	struct redial_log_config cfg;
	char *path;
	char *path_a, *path_b; /* scratch for "path.N" during rotation */
	uint8_t *batch;
	size_t batch_len;
	uint64_t batch_recs;
	uint64_t file_size;    /* bytes in the current file, batch excluded */
	uint64_t file_recs;    /* records in the current file, batch included, replays excluded */
	uint64_t unreg_reported;
	uint32_t last_done;
	struct rd_u64map names; /* endpoint id -> its endpoint_added frame (when rotating) */
	pthread_t thread;
	bool thread_started;
	struct redial_log *live_next; /* under the registry's lock (log_ring.c) */
};

static inline uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	/* Cannot fail for the two clocks used here, which every Linux has. */
	(void)clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Zeroed memory aligned to a cache line, for structs whose fields are laid out by line;
 * *ret_mem is what to free. */
static inline void *alloc_aligned(size_t n, void **ret_mem)
{
	void *mem = rd_malloc(n + CACHELINE - 1);
	if (!mem)
		return NULL;
	void *p = (void *)(((uintptr_t)mem + CACHELINE - 1) & ~(uintptr_t)(CACHELINE - 1));
	memset(p, 0, n);
	*ret_mem = mem;
	return p;
}

/* The futex calls' results are not needed: a wake that finds no waiter is fine, and every
 * way a wait returns (woken, timed out, EAGAIN because the word changed, EINTR) sends the
 * caller back to look at the state it waits for. */
static inline void futex_wake(void *word)
{
	(void)syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static inline void futex_wait(void *word, int val, uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
			       .tv_nsec = (long)(ns % 1000000000u) };
	(void)syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

/* Used by producers past half full, by flush and by close. The exchange makes sure one
 * caller, not every caller, pays for the futex call. */
static inline void drain_wake(struct redial_log *l)
{
	if (atomic_exchange_explicit(&l->sleeping, 0, memory_order_seq_cst))
		futex_wake(&l->sleeping);
}

#endif
