/* log_ring.c — the producer rings off the per-record path: registering a thread's ring,
 * handing it on at thread exit, the drop accounting and the half-full wake of the drain. */
#include "log/log_ring.h"

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
__thread struct rd_log_tls rd_log_tl __attribute__((tls_model("initial-exec")));

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
	struct rd_log_tls *t = arg;
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

void rd_log_rings_free(struct redial_log *l)
{
	struct rd_log_ring *r = atomic_load_explicit(&l->rings, memory_order_relaxed);
	while (r) {
		struct rd_log_ring *next = r->next;
		rd_free(r->data);
		rd_free(r->mem);
		r = next;
	}
	atomic_store_explicit(&l->rings, NULL, memory_order_relaxed);
}

static void tls_put_front(uint64_t gen, struct rd_log_ring *r)
{
	memmove(&rd_log_tl.ent[1], &rd_log_tl.ent[0],
		sizeof(rd_log_tl.ent[0]) * (RD_LOG_TLS_SLOTS - 1));
	rd_log_tl.ent[0] = (struct rd_log_tls_ent){ gen, r };
}

struct rd_log_ring *rd_log_ring_lookup_slow(struct redial_log *l)
{
	for (int i = 1; i < RD_LOG_TLS_SLOTS; i++) {
		if (rd_log_tl.ent[i].gen == l->gen) {
			struct rd_log_tls_ent e = rd_log_tl.ent[i];
			memmove(&rd_log_tl.ent[1], &rd_log_tl.ent[0],
				sizeof(rd_log_tl.ent[0]) * (size_t)i);
			rd_log_tl.ent[0] = e;
			return e.ring;
		}
	}
	if (!rd_log_tl.token)
		rd_log_tl.token = atomic_fetch_add_explicit(&next_token, 1, memory_order_relaxed);

	/* Evicted from the cache but registered: only this thread ever stores its own token. */
	for (struct rd_log_ring *r = atomic_load_explicit(&l->rings, memory_order_acquire); r;
	     r = r->next) {
		if (atomic_load_explicit(&r->owner, memory_order_relaxed) == rd_log_tl.token) {
			tls_put_front(l->gen, r);
			return r;
		}
	}

	pthread_once(&exit_key_once, exit_key_make);
	if (!rd_log_tl.keyed && exit_key_ok)
		rd_log_tl.keyed = pthread_setspecific(exit_key, &rd_log_tl) == 0;

	struct rd_log_ring *r;
	pthread_mutex_lock(&reg_mu);
	for (r = atomic_load_explicit(&l->rings, memory_order_acquire); r; r = r->next) {
		uint64_t free_owner = 0;
		/* acquire: the exited thread's release of owner hands over head and friends */
		if (atomic_compare_exchange_strong_explicit(&r->owner, &free_owner, rd_log_tl.token,
							    memory_order_acquire,
							    memory_order_relaxed))
			break;
	}
	if (!r) {
		r = ring_new(l->ring_bytes);
		if (r) {
			atomic_store_explicit(&r->owner, rd_log_tl.token, memory_order_relaxed);
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

void rd_log_register(struct redial_log *l)
{
	l->gen = atomic_fetch_add_explicit(&next_gen, 1, memory_order_relaxed);
	pthread_mutex_lock(&reg_mu);
	l->live_next = live_logs;
	live_logs = l;
	pthread_mutex_unlock(&reg_mu);
}

void rd_log_unregister(struct redial_log *l)
{
	pthread_mutex_lock(&reg_mu);
	for (struct redial_log **pp = &live_logs; *pp; pp = &(*pp)->live_next)
		if (*pp == l) {
			*pp = l->live_next;
			break;
		}
	pthread_mutex_unlock(&reg_mu);
	/* Other threads' caches keep the gen, which no later log reuses: only this thread
	 * can be asked to forget, and a stale entry elsewhere is never matched again. */
	for (int i = 0; i < RD_LOG_TLS_SLOTS; i++)
		if (rd_log_tl.ent[i].gen == l->gen)
			rd_log_tl.ent[i] = (struct rd_log_tls_ent){ 0 };
}

/* ---- Producer: the half-full wake and drops -------------------------------------------------- */

void rd_log_ring_check_half(struct redial_log *l, struct rd_log_ring *r)
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
	atomic_thread_fence(memory_order_seq_cst); /* pairs with drain_sleep's, see log_int.h */
	if (atomic_load_explicit(&l->sleeping, memory_order_relaxed))
		drain_wake(l);
}

void rd_log_ring_drop(struct redial_log *l, struct rd_log_ring *r)
{
	if (!r) {
		atomic_fetch_add_explicit(&l->unreg_drops, 1, memory_order_relaxed);
		return;
	}
	rd_log_relaxed_inc(&r->dropped, 1);
	/* A locked add: the drain may take the pending count at the same time (see below). */
	atomic_fetch_add_explicit(&r->pending_drops, 1, memory_order_relaxed);
	/* A full ring means the drain is behind: make sure it is not asleep. */
	if (r->head >= r->wake_mark)
		rd_log_ring_check_half(l, r);
}

/* Puts the `dropped` record for the drops counted so far, if there is room. The count is
 * taken with an exchange because the drain also reports counts that producers leave
 * pending (a thread that dropped and then went quiet); whoever swaps it to 0 reports it. */
bool rd_log_ring_put_dropped(struct rd_log_ring *r, uint64_t mono_ns)
{
	uint64_t h0 = r->head;
	uint8_t *p = rd_log_ring_take(r, rd_log_stride(RD_LOG_PREFIX + RD_LOG_DROPPED_BODY));
	if (!p)
		return false;
	uint64_t count = atomic_exchange_explicit(&r->pending_drops, 0, memory_order_relaxed);
	if (!count) {
		r->head = h0; /* the drain reported them; nothing was published */
		return true;
	}
	rd_log_hdr_put(p, RD_LOG_PREFIX + RD_LOG_DROPPED_BODY, REDIAL_LOG_DROPPED, REDIAL_LOG_WARN,
		       mono_ns, 0);
	rd_put64(p + RD_LOG_FRAME_HDR + RD_LOG_PREFIX, count);
	/* Published at once: the record that follows may not fit. */
	atomic_store_explicit(&r->pub_head, r->head, memory_order_release);
	return true;
}
