/* log.c — the writing side of the event log: one single-producer ring per producer thread,
 * and a drain thread that merges the rings into framed, checksummed records in a file.
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
#include "log/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "log/crc32c.h"
#include "log/u64map.h"
#include "log/wire.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define CACHELINE 64
#define BATCH_BYTES (1u << 20)   /* one write() moves at most this much */
#define MERGE_MAX 16             /* rings merged by timestamp in one pass */
#define TLS_SLOTS 4              /* logs a thread remembers its ring for */
#define RING_MIN 4096u
#define RING_MAX (1u << 30)

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
	struct redial_log *live_next; /* under reg_mu */
};

/* ---- Registration: which ring a thread writes to -------------------------------------------
 *
 * A thread finds its ring through a thread-local cache keyed by the log's gen (not its
 * address: a closed log's memory may come back as a new log). A miss walks the log's ring
 * list (lock-free: the list only grows, and a ring's fields are set before the release push)
 * looking for the thread's token; a thread's first record on a log takes reg_mu to claim a
 * ring left by an exited thread or allocate a new one. reg_mu is never taken on the hot
 * path: only on a thread's first record per log, at thread exit, and in open/close. (When
 * the ring cannot be allocated, the record is dropped and counted and the thread's next
 * record tries again: only a thread that has no ring, under memory exhaustion, ever takes
 * the lock more than once.)
 */
struct tls_ent {
	uint64_t gen;
	struct rd_log_ring *ring;
};
struct tls_cache {
	struct tls_ent ent[TLS_SLOTS];
	uint64_t token; /* this thread's identity, unique for the process's life */
	bool keyed;     /* the exit destructor is armed */
};
static __thread struct tls_cache tl __attribute__((tls_model("initial-exec")));

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct redial_log *live_logs; /* under reg_mu */
static _Atomic uint64_t next_gen = 1;
static _Atomic uint64_t next_token = 1;
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static bool exit_key_ok;

/* Thread exit: the thread's rings in live logs become free for later threads, so a program
 * that keeps starting short-lived threads does not grow a ring per thread. The release store
 * of owner = 0 (and reg_mu) hand the ring's producer-private fields to the next claimer. */
static void tls_exit(void *arg)
{
	struct tls_cache *t = arg;
	pthread_mutex_lock(&reg_mu);
	for (struct redial_log *l = live_logs; l; l = l->live_next)
		for (struct rd_log_ring *r = atomic_load_explicit(&l->rings, memory_order_acquire);
		     r; r = r->next)
			if (atomic_load_explicit(&r->owner, memory_order_relaxed) == t->token)
				atomic_store_explicit(&r->owner, 0, memory_order_release);
	pthread_mutex_unlock(&reg_mu);
	memset(t->ent, 0, sizeof(t->ent));
	/* A later destructor that logs registers again, and must be able to re-arm this one. */
	t->keyed = false;
}

static void exit_key_make(void)
{
	exit_key_ok = pthread_key_create(&exit_key, tls_exit) == 0;
}

static void *alloc_aligned(size_t n, void **ret_mem)
{
	void *mem = rd_malloc(n + CACHELINE - 1);
	if (!mem)
		return NULL;
	void *p = (void *)(((uintptr_t)mem + CACHELINE - 1) & ~(uintptr_t)(CACHELINE - 1));
	memset(p, 0, n);
	*ret_mem = mem;
	return p;
}

static struct rd_log_ring *ring_new(uint32_t bytes)
{
	void *mem;
	struct rd_log_ring *r = alloc_aligned(sizeof(*r), &mem);
	if (!r)
		return NULL;
	r->mem = mem;
	r->data = rd_malloc(bytes);
	if (!r->data) {
		rd_free(mem);
		return NULL;
	}
	/* Touch every page now, so the first lap of the ring takes no page faults on the
	 * producer's hot path. */
	memset(r->data, 0, bytes);
	r->size = bytes;
	r->mask = bytes - 1;
	r->wake_mark = bytes / 2;
	atomic_init(&r->accepted, 0);
	atomic_init(&r->dropped, 0);
	atomic_init(&r->pending_drops, 0);
	atomic_init(&r->owner, 0);
	atomic_init(&r->pub_head, 0);
	atomic_init(&r->pub_tail, 0);
	return r;
}

static void ring_free(struct rd_log_ring *r)
{
	rd_free(r->data);
	rd_free(r->mem);
}

static void tls_put_front(uint64_t gen, struct rd_log_ring *r)
{
	memmove(&tl.ent[1], &tl.ent[0], sizeof(tl.ent[0]) * (TLS_SLOTS - 1));
	tl.ent[0] = (struct tls_ent){ gen, r };
}

/* The calling thread's ring, registered on first use; NULL when none could be allocated. */
static __attribute__((noinline, cold)) struct rd_log_ring *ring_lookup_slow(struct redial_log *l)
{
	for (int i = 1; i < TLS_SLOTS; i++) {
		if (tl.ent[i].gen == l->gen) {
			struct tls_ent e = tl.ent[i];
			memmove(&tl.ent[1], &tl.ent[0], sizeof(tl.ent[0]) * (size_t)i);
			tl.ent[0] = e;
			return e.ring;
		}
	}
	if (!tl.token)
		tl.token = atomic_fetch_add_explicit(&next_token, 1, memory_order_relaxed);

	/* Evicted from the cache but registered: only this thread ever stores its own token. */
	for (struct rd_log_ring *r = atomic_load_explicit(&l->rings, memory_order_acquire); r;
	     r = r->next) {
		if (atomic_load_explicit(&r->owner, memory_order_relaxed) == tl.token) {
			tls_put_front(l->gen, r);
			return r;
		}
	}

	pthread_once(&exit_key_once, exit_key_make);
	if (!tl.keyed && exit_key_ok)
		tl.keyed = pthread_setspecific(exit_key, &tl) == 0;

	struct rd_log_ring *r;
	pthread_mutex_lock(&reg_mu);
	for (r = atomic_load_explicit(&l->rings, memory_order_acquire); r; r = r->next) {
		uint64_t free_owner = 0;
		/* acquire: the exited thread's release of owner hands over head and friends */
		if (atomic_compare_exchange_strong_explicit(&r->owner, &free_owner, tl.token,
							    memory_order_acquire,
							    memory_order_relaxed))
			break;
	}
	if (!r) {
		r = ring_new(l->ring_bytes);
		if (r) {
			atomic_store_explicit(&r->owner, tl.token, memory_order_relaxed);
			r->next = atomic_load_explicit(&l->rings, memory_order_relaxed);
			/* release: the drain walks the list without the lock */
			atomic_store_explicit(&l->rings, r, memory_order_release);
		}
	}
	pthread_mutex_unlock(&reg_mu);
	if (r)
		tls_put_front(l->gen, r);
	return r;
}

static inline struct rd_log_ring *ring_lookup(struct redial_log *l)
{
	if (likely(tl.ent[0].gen == l->gen))
		return tl.ent[0].ring;
	return ring_lookup_slow(l);
}

/* ---- Producer ------------------------------------------------------------------------------ */

static void futex_wake(void *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static void futex_wait(void *word, int val, uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
			       .tv_nsec = (long)(ns % 1000000000u) };
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

/* Used by producers past half full, by flush and by close. The exchange makes sure one
 * caller, not every caller, pays for the futex call. */
static void drain_wake(struct redial_log *l)
{
	if (atomic_exchange_explicit(&l->sleeping, 0, memory_order_seq_cst))
		futex_wake(&l->sleeping);
}

static inline uint64_t stride_of(uint32_t payload)
{
	return ((uint64_t)RD_LOG_FRAME_HDR + payload + 7) & ~(uint64_t)7;
}

/* Room for an entry of `stride` bytes; NULL when the ring is full. */
static inline uint8_t *ring_take(struct rd_log_ring *r, uint64_t stride)
{
	uint64_t head = r->head;
	uint64_t off = head & r->mask;
	uint64_t room = r->size - off;
	uint64_t need = likely(stride <= room) ? stride : room + stride;

	if (unlikely(head + need - r->tail_cache > r->size)) {
		r->tail_cache = atomic_load_explicit(&r->pub_tail, memory_order_acquire);
		if (head + need - r->tail_cache > r->size)
			return NULL;
	}
	if (unlikely(stride > room)) {
		rd_put64(r->data + off, 0); /* pad marker: len 0, type 0 */
		head += room;
		off = 0;
	}
	r->head = head + stride;
	return r->data + off;
}

static inline void hdr_put(uint8_t *p, uint32_t len, uint16_t type, uint8_t level,
			   uint64_t mono_ns, redial_id_t id)
{
	rd_put64(p, (uint64_t)len | (uint64_t)type << 32 | (uint64_t)level << 48);
	rd_put64(p + RD_LOG_FRAME_HDR, mono_ns);
	rd_put64(p + RD_LOG_FRAME_HDR + 8, id);
}

static inline void relaxed_inc(_Atomic uint64_t *c, uint64_t by)
{
	/* single writer: a load and a store, no locked read-modify-write */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
			      memory_order_relaxed);
}

static __attribute__((noinline)) void ring_check_half(struct redial_log *l,
						      struct rd_log_ring *r)
{
	uint64_t half = r->size / 2;
	r->tail_cache = atomic_load_explicit(&r->pub_tail, memory_order_acquire);
	if (r->head - r->tail_cache <= half) {
		r->wake_mark = r->tail_cache + half;
		return;
	}
	/* Past half: look again only after another eighth, so a drain that is awake but slow
	 * does not cost every record a fence. */
	r->wake_mark = r->head + r->size / 8;
	atomic_thread_fence(memory_order_seq_cst); /* pairs with the drain's, see the top */
	if (atomic_load_explicit(&l->sleeping, memory_order_relaxed))
		drain_wake(l);
}

static inline void ring_commit(struct redial_log *l, struct rd_log_ring *r)
{
	atomic_store_explicit(&r->pub_head, r->head, memory_order_release);
	relaxed_inc(&r->accepted, 1);
	if (unlikely(r->head >= r->wake_mark))
		ring_check_half(l, r);
}

static __attribute__((noinline)) void ring_drop(struct redial_log *l, struct rd_log_ring *r)
{
	if (!r) {
		atomic_fetch_add_explicit(&l->unreg_drops, 1, memory_order_relaxed);
		return;
	}
	relaxed_inc(&r->dropped, 1);
	/* A locked add: the drain may take the pending count at the same time (see below). */
	atomic_fetch_add_explicit(&r->pending_drops, 1, memory_order_relaxed);
	/* A full ring means the drain is behind: make sure it is not asleep. */
	if (r->head >= r->wake_mark)
		ring_check_half(l, r);
}

/* Puts the `dropped` record for the drops counted so far, if there is room. The count is
 * taken with an exchange because the drain also reports counts that producers leave
 * pending (a thread that dropped and then went quiet); whoever swaps it to 0 reports it. */
static __attribute__((noinline)) bool ring_put_dropped(struct rd_log_ring *r, uint64_t mono_ns)
{
	uint64_t h0 = r->head;
	uint8_t *p = ring_take(r, stride_of(RD_LOG_PREFIX + RD_LOG_DROPPED_BODY));
	if (!p)
		return false;
	uint64_t count = atomic_exchange_explicit(&r->pending_drops, 0, memory_order_relaxed);
	if (!count) {
		r->head = h0; /* the drain reported them; nothing was published */
		return true;
	}
	hdr_put(p, RD_LOG_PREFIX + RD_LOG_DROPPED_BODY, REDIAL_LOG_DROPPED, REDIAL_LOG_WARN, mono_ns,
		0);
	rd_put64(p + RD_LOG_FRAME_HDR + RD_LOG_PREFIX, count);
	/* Published at once: the record that follows may not fit. */
	atomic_store_explicit(&r->pub_head, r->head, memory_order_release);
	return true;
}

/* Opens an entry and returns where its body goes, or NULL when the record was dropped. */
static inline uint8_t *rec_begin(struct redial_log *l, struct rd_log_ring **ret_r, uint16_t type,
				 uint8_t level, uint32_t body, uint64_t mono_ns, redial_id_t id)
{
	struct rd_log_ring *r = ring_lookup(l);
	uint32_t len = RD_LOG_PREFIX + body;
	uint8_t *p;

	if (unlikely(!r))
		goto drop;
	if (unlikely(atomic_load_explicit(&r->pending_drops, memory_order_relaxed)) &&
	    !ring_put_dropped(r, mono_ns))
		goto drop;
	p = ring_take(r, stride_of(len));
	if (unlikely(!p))
		goto drop;
	hdr_put(p, len, type, level, mono_ns, id);
	*ret_r = r;
	return p + RD_LOG_FRAME_HDR + RD_LOG_PREFIX;
drop:
	ring_drop(l, r);
	return NULL;
}

void rd_log_connect_failed(struct redial_log *l, uint64_t mono_ns, redial_id_t id,
			   uint32_t attempt, int err, enum redial_class cls, uint64_t duration_ns,
			   uint64_t backoff_ns, const struct sockaddr *addr)
{
	if (REDIAL_LOG_ERROR < l->min_level)
		return;
	uint32_t alen = 0;
	uint8_t fam = RD_LOG_AF_NONE;
	if (addr && addr->sa_family == AF_INET) {
		alen = 4;
		fam = RD_LOG_AF_INET;
	} else if (addr && addr->sa_family == AF_INET6) {
		alen = 20;
		fam = RD_LOG_AF_INET6;
	}
	struct rd_log_ring *r;
	uint8_t *b = rec_begin(l, &r, REDIAL_LOG_CONNECT_FAILED, REDIAL_LOG_ERROR,
			       RD_LOG_CF_BODY + alen, mono_ns, id);
	if (!b)
		return;
	rd_put64(b, duration_ns);
	rd_put64(b + 8, backoff_ns);
	rd_put32(b + 16, attempt);
	rd_put32(b + 20, (uint32_t)err);
	b[24] = (uint8_t)cls;
	b[25] = fam;
	if (fam == RD_LOG_AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
		rd_put16(b + 26, ntohs(in->sin_port));
		memcpy(b + 28, &in->sin_addr, 4);
	} else if (fam == RD_LOG_AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
		rd_put16(b + 26, ntohs(in6->sin6_port));
		memcpy(b + 28, &in6->sin6_addr, 16);
		rd_put32(b + 44, in6->sin6_scope_id);
	} else {
		rd_put16(b + 26, 0);
	}
	ring_commit(l, r);
}

void rd_log_connected(struct redial_log *l, uint64_t mono_ns, redial_id_t id, uint32_t attempts,
		      uint64_t duration_ns, uint64_t down_ns)
{
	if (REDIAL_LOG_INFO < l->min_level)
		return;
	struct rd_log_ring *r;
	uint8_t *b = rec_begin(l, &r, REDIAL_LOG_CONNECTED, REDIAL_LOG_INFO, RD_LOG_CONNECTED_BODY,
			       mono_ns, id);
	if (!b)
		return;
	rd_put64(b, duration_ns);
	rd_put64(b + 8, down_ns);
	rd_put32(b + 16, attempts);
	ring_commit(l, r);
}

void rd_log_alert(struct redial_log *l, uint64_t mono_ns, redial_id_t id, uint32_t streak,
		  int last_err)
{
	if (REDIAL_LOG_WARN < l->min_level)
		return;
	struct rd_log_ring *r;
	uint8_t *b = rec_begin(l, &r, REDIAL_LOG_ALERT, REDIAL_LOG_WARN, RD_LOG_ALERT_BODY, mono_ns,
			       id);
	if (!b)
		return;
	rd_put32(b, streak);
	rd_put32(b + 4, (uint32_t)last_err);
	ring_commit(l, r);
}

void rd_log_gave_up(struct redial_log *l, uint64_t mono_ns, redial_id_t id,
		    enum redial_gave_up_reason reason, int err, uint32_t attempts)
{
	if (REDIAL_LOG_ERROR < l->min_level)
		return;
	struct rd_log_ring *r;
	uint8_t *b = rec_begin(l, &r, REDIAL_LOG_GAVE_UP, REDIAL_LOG_ERROR, RD_LOG_GAVE_UP_BODY,
			       mono_ns, id);
	if (!b)
		return;
	rd_put32(b, attempts);
	rd_put32(b + 4, (uint32_t)err);
	b[8] = (uint8_t)reason;
	ring_commit(l, r);
}

void rd_log_disconnected(struct redial_log *l, uint64_t mono_ns, redial_id_t id, int err,
			 uint64_t up_ns)
{
	if (REDIAL_LOG_WARN < l->min_level)
		return;
	struct rd_log_ring *r;
	uint8_t *b = rec_begin(l, &r, REDIAL_LOG_DISCONNECTED, REDIAL_LOG_WARN,
			       RD_LOG_DISCONNECTED_BODY, mono_ns, id);
	if (!b)
		return;
	rd_put64(b, up_ns);
	rd_put32(b + 8, (uint32_t)err);
	ring_commit(l, r);
}

void rd_log_cancelled(struct redial_log *l, uint64_t mono_ns, redial_id_t id)
{
	if (REDIAL_LOG_INFO < l->min_level)
		return;
	struct rd_log_ring *r;
	if (rec_begin(l, &r, REDIAL_LOG_CANCELLED, REDIAL_LOG_INFO, 0, mono_ns, id))
		ring_commit(l, r);
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
	uint8_t *b = rec_begin(l, &r, REDIAL_LOG_ENDPOINT_ADDED, REDIAL_LOG_INFO,
			       RD_LOG_ADDED_BODY + (uint32_t)len, mono_ns, id);
	if (!b)
		return;
	rd_put16(b, (uint16_t)len);
	if (len)
		memcpy(b + 2, endpoint, len);
	ring_commit(l, r);
}

void rd_log_endpoint_removed(struct redial_log *l, uint64_t mono_ns, redial_id_t id)
{
	if (REDIAL_LOG_INFO < l->min_level)
		return;
	struct rd_log_ring *r;
	if (rec_begin(l, &r, REDIAL_LOG_ENDPOINT_REMOVED, REDIAL_LOG_INFO, 0, mono_ns, id))
		ring_commit(l, r);
}

void rd_log_resolved(struct redial_log *l, uint64_t mono_ns, redial_id_t id,
		     const union rd_addr *addrs, size_t n, uint32_t ttl_s)
{
	if (REDIAL_LOG_DEBUG < l->min_level)
		return;
	uint32_t body = RD_LOG_RESOLVED_BODY;
	uint16_t count = 0;
	for (size_t i = 0; i < n && count < RD_LOG_RESOLVED_MAX; i++) {
		if (addrs[i].sa.sa_family == AF_INET)
			body += 8, count++;
		else if (addrs[i].sa.sa_family == AF_INET6)
			body += 24, count++;
	}
	struct rd_log_ring *r;
	uint8_t *b = rec_begin(l, &r, REDIAL_LOG_RESOLVED, REDIAL_LOG_DEBUG, body, mono_ns, id);
	if (!b)
		return;
	rd_put32(b, ttl_s);
	rd_put16(b + 4, count);
	rd_put16(b + 6, 0);
	uint8_t *e = b + RD_LOG_RESOLVED_BODY;
	for (size_t i = 0, k = 0; i < n && k < count; i++) {
		if (addrs[i].sa.sa_family == AF_INET) {
			const struct sockaddr_in *in = &addrs[i].v4;
			e[0] = 8;
			e[1] = RD_LOG_AF_INET;
			rd_put16(e + 2, ntohs(in->sin_port));
			memcpy(e + 4, &in->sin_addr, 4);
			e += 8;
			k++;
		} else if (addrs[i].sa.sa_family == AF_INET6) {
			const struct sockaddr_in6 *in6 = &addrs[i].v6;
			e[0] = 24;
			e[1] = RD_LOG_AF_INET6;
			rd_put16(e + 2, ntohs(in6->sin6_port));
			memcpy(e + 4, &in6->sin6_addr, 16);
			rd_put32(e + 20, in6->sin6_scope_id);
			e += 24;
			k++;
		}
	}
	ring_commit(l, r);
}

void rd_log_event(struct redial_log *l, const struct redial_event *ev)
{
	switch (ev->type) {
	case REDIAL_EV_CONNECTED:
		rd_log_connected(l, ev->mono_ns, ev->id, ev->attempt, ev->duration_ns, ev->down_ns);
		break;
	case REDIAL_EV_DISCONNECTED:
		rd_log_disconnected(l, ev->mono_ns, ev->id, ev->err, ev->up_ns);
		break;
	case REDIAL_EV_ATTEMPT_FAILED:
		rd_log_connect_failed(l, ev->mono_ns, ev->id, ev->attempt, ev->err, ev->cls,
				      ev->duration_ns, ev->backoff_ns, ev->addr);
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

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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
	uint8_t *b = rec_begin(log, &r, type, (uint8_t)level, (uint32_t)len,
			       clock_ns(CLOCK_MONOTONIC), endpoint);
	if (!b)
		return -ENOBUFS;
	if (len)
		memcpy(b, payload, len);
	ring_commit(log, r);
	return 0;
}

/* ---- Drain: file -------------------------------------------------------------------------- */

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
		if (done && ftruncate(l->fd, (off_t)l->file_size) < 0)
			(void)0;
		return ret;
	}
	l->file_size += sizeof(h);
	atomic_fetch_add_explicit(&l->bytes, sizeof(h), memory_order_relaxed);
	return 0;
}

/* Writes the batch. On a write error the file is cut back to the last whole record, so it
 * never holds a partial frame we wrote, the error is kept, and from then on batches are only
 * counted as lost. */
static void flush_batch(struct redial_log *l)
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
		size_t good = 0;
		uint64_t recs = 0;
		while (good + RD_LOG_FRAME_HDR <= done) {
			size_t flen = RD_LOG_FRAME_HDR + rd_get32(l->batch + good);
			if (good + flen > done)
				break;
			good += flen;
			recs++;
		}
		if (good < done && ftruncate(l->fd, (off_t)(l->file_size + good)) < 0)
			(void)0; /* the reader still stops cleanly at the torn frame */
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
		close(fd);
		return err;
	}
	l->fd = fd;
	l->file_size = (uint64_t)st.st_size;
	l->file_recs = 0;
	return 0;
}

static void append_frame(struct redial_log *l, const uint8_t *p, size_t flen, uint8_t flags);

static void rotate(struct redial_log *l)
{
	int ret;
	if (l->fd >= 0) {
		if (l->cfg.fdatasync && fdatasync(l->fd) < 0 &&
		    !atomic_load_explicit(&l->error, memory_order_relaxed))
			set_error(l, -errno);
		close(l->fd);
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
			append_frame(l, f, RD_LOG_FRAME_HDR + rd_get32(f), RD_LOG_F_REPLAY);
	}
}

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

/* Copies one frame into the batch and fills in its checksum. flags (RD_LOG_F_REPLAY) go in
 * before the checksum is taken. The caller made room. */
static void append_frame(struct redial_log *l, const uint8_t *p, size_t flen, uint8_t flags)
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

/* Hands consumed space back to the producers. Called before every write(), not after, so a
 * producer never waits on the disk for room that is already copied out. */
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
		flush_batch(l);
	}
	if (l->cfg.rotate_bytes && l->file_recs &&
	    l->file_size + l->batch_len + flen > l->cfg.rotate_bytes &&
	    !atomic_load_explicit(&l->error, memory_order_relaxed)) {
		publish_tails(cur, n);
		flush_batch(l);
		rotate(l);
	}
	append_frame(l, p, flen, 0);
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
	hdr_put(f, RD_LOG_PREFIX + RD_LOG_DROPPED_BODY, REDIAL_LOG_DROPPED, REDIAL_LOG_WARN,
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
	atomic_thread_fence(memory_order_seq_cst); /* pairs with ring_check_half's */
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
		flush_batch(l);
		flush_done(l, req);
		drain_sleep(l, false);
	}

	/* Closing: the producers have stopped (close's contract), and the acquire of closing
	 * made their last records visible; the last pass took them and the pending drops. */
	flush_batch(l);
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
	struct rd_log_ring *r = atomic_load_explicit(&l->rings, memory_order_relaxed);
	while (r) {
		struct rd_log_ring *next = r->next;
		ring_free(r);
		r = next;
	}
	for (size_t i = 0; i < l->names.cap; i++)
		rd_free(l->names.ent[i].val);
	rd_u64map_free(&l->names);
	if (l->fd >= 0)
		close(l->fd);
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
	memcpy(&c, cfg, cfg->size < sizeof(c) ? cfg->size : sizeof(c));
	c.size = sizeof(c);
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
	l->gen = atomic_fetch_add_explicit(&next_gen, 1, memory_order_relaxed);
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

	if ((ret = open_file(l, false)) < 0)
		goto fail;
	/* An existing file already at its size limit rotates now, not after our first batch. */
	if (c.rotate_bytes && l->file_size && l->file_size + RD_LOG_HEADER_V1 >= c.rotate_bytes) {
		close(l->fd);
		l->fd = -1;
		if ((ret = shift_files(l)) < 0 || (ret = open_file(l, true)) < 0)
			goto fail;
	}
	if ((ret = write_header(l)) < 0)
		goto fail;

	pthread_mutex_lock(&reg_mu);
	l->live_next = live_logs;
	live_logs = l;
	pthread_mutex_unlock(&reg_mu);

	/* The drain gets no signals: they belong to the application's threads. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&l->thread, NULL, drain_main, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret < 0)
		goto fail_live;
	l->thread_started = true;
	/* The opening thread is usually the one that runs the manager: give it its ring now
	 * rather than on its first record. Failure is not fatal: it retries then. */
	(void)ring_lookup(l);
	*ret_log = l;
	return 0;

fail_live:
	pthread_mutex_lock(&reg_mu);
	for (struct redial_log **pp = &live_logs; *pp; pp = &(*pp)->live_next)
		if (*pp == l) {
			*pp = l->live_next;
			break;
		}
	pthread_mutex_unlock(&reg_mu);
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
	pthread_mutex_lock(&reg_mu);
	for (struct redial_log **pp = &live_logs; *pp; pp = &(*pp)->live_next)
		if (*pp == l) {
			*pp = l->live_next;
			break;
		}
	pthread_mutex_unlock(&reg_mu);

	if (l->thread_started) {
		atomic_store_explicit(&l->closing, 1, memory_order_seq_cst);
		drain_wake(l);
		pthread_join(l->thread, NULL);
	}
	int err = atomic_load_explicit(&l->error, memory_order_relaxed);
	if (l->fd >= 0) {
		if (l->cfg.fdatasync && !err && fdatasync(l->fd) < 0)
			err = -errno;
		if (close(l->fd) < 0 && !err && errno != EINTR)
			err = -errno;
		l->fd = -1;
	}
	for (int i = 0; i < TLS_SLOTS; i++)
		if (tl.ent[i].gen == l->gen)
			tl.ent[i] = (struct tls_ent){ 0 };
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
	struct redial_log_stats s = { .size = ret_stats->size };
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
	memcpy(ret_stats, &s, ret_stats->size < sizeof(s) ? ret_stats->size : sizeof(s));
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
