/* log_ring.h — a producer thread's ring: finding it, reserving room for a record, committing
 * it, counting drops; and the registry of live logs that thread exit walks. The per-record
 * path is inline here so that each record function in log_encode.c compiles to straight-line
 * stores; everything off that path is in log_ring.c. */
#ifndef RD_LOG_LOG_RING_H
#define RD_LOG_LOG_RING_H

#include "log/log_int.h"
#include "log/wire.h"

#define RD_LOG_TLS_SLOTS 4 /* logs a thread remembers its ring for */

/* A thread finds its ring through this thread-local cache, keyed by the log's gen (see
 * log_ring.c). ent[0] is the one the hot path looks at. */
struct rd_log_tls_ent {
	uint64_t gen;
	struct rd_log_ring *ring;
};
struct rd_log_tls {
	struct rd_log_tls_ent ent[RD_LOG_TLS_SLOTS];
	uint64_t token; /* this thread's identity, unique for the process's life */
	bool keyed;     /* the exit destructor is armed */
};
extern __thread struct rd_log_tls rd_log_tl __attribute__((tls_model("initial-exec")));

/* ---- Off the per-record path (log_ring.c) ------------------------------------------------ */

/* The calling thread's ring, registered on first use; NULL when none could be allocated. */
struct rd_log_ring *rd_log_ring_lookup_slow(struct redial_log *l) __attribute__((cold));
/* A producer's head passed its wake mark: wake the drain if the ring is past half full. */
void rd_log_ring_check_half(struct redial_log *l, struct rd_log_ring *r);
/* Counts a record that found no room (r NULL: the thread has no ring). */
void rd_log_ring_drop(struct redial_log *l, struct rd_log_ring *r);
/* Puts the `dropped` record for r's pending drops; false when there is no room for it. */
bool rd_log_ring_put_dropped(struct rd_log_ring *r, uint64_t mono_ns);

/* Frees every ring of the log (close, or a failed open). */
void rd_log_rings_free(struct redial_log *l);

/* The registry: open gives l its gen and makes its rings reachable from thread exit;
 * unregister undoes both (and forgets the calling thread's cached ring) before close frees
 * the log. */
void rd_log_register(struct redial_log *l);
void rd_log_unregister(struct redial_log *l);

/* ---- The per-record path ----------------------------------------------------------------- */

static inline struct rd_log_ring *rd_log_ring_lookup(struct redial_log *l)
{
	if (likely(rd_log_tl.ent[0].gen == l->gen))
		return rd_log_tl.ent[0].ring;
	return rd_log_ring_lookup_slow(l);
}

static inline uint64_t rd_log_stride(uint32_t payload)
{
	return ((uint64_t)RD_LOG_FRAME_HDR + payload + 7) & ~(uint64_t)7;
}

/* Room for an entry of `stride` bytes; NULL when the ring is full. */
static inline uint8_t *rd_log_ring_take(struct rd_log_ring *r, uint64_t stride)
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

/* The frame header and payload prefix of an entry (the crc is the drain's to fill). */
static inline void rd_log_hdr_put(uint8_t *p, uint32_t len, uint16_t type, uint8_t level,
				  uint64_t mono_ns, redial_id_t id)
{
	rd_put64(p, (uint64_t)len | (uint64_t)type << 32 | (uint64_t)level << 48);
	rd_put64(p + RD_LOG_FRAME_HDR, mono_ns);
	rd_put64(p + RD_LOG_FRAME_HDR + 8, id);
}

static inline void rd_log_relaxed_inc(_Atomic uint64_t *c, uint64_t by)
{
	/* single writer: a load and a store, no locked read-modify-write */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
			      memory_order_relaxed);
}

/* Opens an entry of `body` bytes and returns where its body goes, or NULL when the record
 * was dropped (and counted). A non-NULL return must be followed by rd_log_rec_commit. */
static inline uint8_t *rd_log_rec_begin(struct redial_log *l, struct rd_log_ring **ret_r,
					uint16_t type, uint8_t level, uint32_t body,
					uint64_t mono_ns, redial_id_t id)
{
	struct rd_log_ring *r = rd_log_ring_lookup(l);
	uint32_t len = RD_LOG_PREFIX + body;
	uint8_t *p;

	if (unlikely(!r))
		goto drop;
	if (unlikely(atomic_load_explicit(&r->pending_drops, memory_order_relaxed)) &&
	    !rd_log_ring_put_dropped(r, mono_ns))
		goto drop;
	p = rd_log_ring_take(r, rd_log_stride(len));
	if (unlikely(!p))
		goto drop;
	rd_log_hdr_put(p, len, type, level, mono_ns, id);
	*ret_r = r;
	return p + RD_LOG_FRAME_HDR + RD_LOG_PREFIX;
drop:
	rd_log_ring_drop(l, r);
	return NULL;
}

/* Publishes the entry rd_log_rec_begin opened: the release half of the ordering argument in
 * log_int.h. */
static inline void rd_log_rec_commit(struct redial_log *l, struct rd_log_ring *r)
{
	atomic_store_explicit(&r->pub_head, r->head, memory_order_release);
	rd_log_relaxed_inc(&r->accepted, 1);
	if (unlikely(r->head >= r->wake_mark))
		rd_log_ring_check_half(l, r);
}

#endif
