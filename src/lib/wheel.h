/* wheel.h — a hierarchical timer wheel: O(1) insert and remove, amortised O(1) expiry.
 *
 * Why it exists: the kernel keeps pending IORING_OP_TIMEOUTs on one list, and cancelling one
 * by user_data walks that list (about 48 us with 10k pending). Long backoff waits therefore
 * live here, in user space, where removing an endpoint is an unlink; only waits that end
 * within the pre-arm horizon go into the kernel as part of a connect chain.
 *
 * Four levels of 64 slots over 1 ms ticks: level k holds timers due within 64^(k+1) ticks
 * that share every bit above level k with the current tick, at slot (due >> 6k) & 63. When
 * the wheel enters a slot of level k > 0, its timers cascade to lower levels. Timers beyond
 * 64^4 ticks (4.6 h) wait on an overflow list that is re-sorted at each 64^4 boundary.
 *
 * A timer is two 32-bit links and nothing else (8 bytes: it sits in every endpoint). Its
 * owners are the items of one array (the endpoint table), so a link names an item by its
 * index, and the list heads by their number in the wheel (RD_TL_HEAD set): the wheel knows
 * the array's base and stride. The due tick is the owner's to keep, and the wheel asks for
 * it (rd_timer_due_fn) when it files the timer again; the slot a timer sits in is not stored
 * either: a slot whose last timer leaves is known by its list head. The owner may keep lists
 * of its own on the same links (RD_TL_USER heads: the ready queue). */
#ifndef RD_WHEEL_H
#define RD_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RD_WHEEL_BITS 6
#define RD_WHEEL_SLOTS (1u << RD_WHEEL_BITS)
#define RD_WHEEL_LEVELS 4
#define RD_WHEEL_NONE UINT64_MAX

/* Link values: 0 is "on no list", RD_TL_HEAD | h is list head h, any other is item + 1. */
#define RD_TL_HEAD 0x80000000u
#define RD_TL_NONE UINT32_MAX      /* "no item", from rd_tlist_pop and rd_tlist_first */
#define RD_TL_MAX_ITEMS (RD_TL_HEAD - 1u)

/* The wheel's list heads: one per slot, the overflow list, a scratch list, and the owner's. */
enum {
	RD_TL_OVERFLOW = RD_WHEEL_LEVELS * RD_WHEEL_SLOTS,
	RD_TL_SCRATCH,
	RD_TL_USER0,
	RD_TL_NUSER = 2,
	RD_TL_HEADS = RD_TL_USER0 + RD_TL_NUSER,
};
#define RD_TL_USER(k) ((unsigned)RD_TL_USER0 + (k))

/* Embedded in the owner; next == 0 when the timer is on no list (a zeroed timer). */
struct rd_timer {
	uint32_t next, prev;
};

/* The tick a timer on the wheel is due at: what was given to rd_wheel_add, unchanged for as
 * long as the timer stays on the wheel. */
typedef uint64_t rd_timer_due_fn(uint32_t item, void *ctx);

struct rd_wheel {
	uint64_t now;                                 /* the last tick processed */
	uint64_t pending[RD_WHEEL_LEVELS];            /* bit s: slot s of that level non-empty */
	uint32_t count;
	char *base;                                   /* item i's timer: base + i * stride */
	size_t stride;
	rd_timer_due_fn *due;
	void *due_ctx;
	struct rd_timer head[RD_TL_HEADS];            /* list heads (sentinels) */
};

/* base: the first item's timer; every list starts empty. */
void rd_wheel_init(struct rd_wheel *w, uint64_t now, void *base, size_t stride,
		   rd_timer_due_fn *due, void *due_ctx);
static inline bool rd_timer_armed(const struct rd_timer *t) { return t->next != 0; }
/* Puts item on the wheel to expire at tick `due`, which must be later than w->now and equal
 * to what w->due says of it until it leaves the wheel. */
void rd_wheel_add(struct rd_wheel *w, uint32_t item, uint64_t due);
/* Takes item off the wheel; a no-op when it is not on it. */
void rd_wheel_del(struct rd_wheel *w, uint32_t item);
/* Advances to tick `to` and moves every timer due at or before it onto the owner's list
 * `list` (RD_TL_USER(k)), in no particular order. */
void rd_wheel_advance(struct rd_wheel *w, uint64_t to, unsigned list);
/* The earliest tick at which rd_wheel_advance has work (an expiry or a cascade), or
 * RD_WHEEL_NONE when the wheel is empty. Never earlier than w->now + 1. */
uint64_t rd_wheel_next(const struct rd_wheel *w);

/* The timer a link value names. */
static inline struct rd_timer *rd_tl_at(struct rd_wheel *w, uint32_t ref)
{
	if (ref & RD_TL_HEAD)
		return &w->head[ref & ~RD_TL_HEAD];
	return (struct rd_timer *)(void *)(w->base + (size_t)(ref - 1) * w->stride);
}
static inline struct rd_timer *rd_tl_item(struct rd_wheel *w, uint32_t item)
{
	return rd_tl_at(w, item + 1);
}

/* Lists on the wheel's links: `list` is a head's number, `item` an item's index. */
static inline bool rd_tlist_empty(const struct rd_wheel *w, unsigned list)
{
	return w->head[list].next == (RD_TL_HEAD | list);
}
static inline void rd_tl_insert_before(struct rd_wheel *w, uint32_t at, uint32_t ref)
{
	struct rd_timer *t = rd_tl_at(w, ref), *n = rd_tl_at(w, at);
	t->next = at;
	t->prev = n->prev;
	rd_tl_at(w, n->prev)->next = ref;
	n->prev = ref;
}
static inline void rd_tlist_push(struct rd_wheel *w, unsigned list, uint32_t item)
{
	rd_tl_insert_before(w, RD_TL_HEAD | list, item + 1);
}
static inline void rd_tlist_push_front(struct rd_wheel *w, unsigned list, uint32_t item)
{
	rd_tl_insert_before(w, w->head[list].next, item + 1);
}
static inline void rd_tl_unlink(struct rd_wheel *w, uint32_t ref)
{
	struct rd_timer *t = rd_tl_at(w, ref);
	rd_tl_at(w, t->prev)->next = t->next;
	rd_tl_at(w, t->next)->prev = t->prev;
	t->next = t->prev = 0;
}
static inline void rd_tlist_unlink(struct rd_wheel *w, uint32_t item)
{
	rd_tl_unlink(w, item + 1);
}
/* The first item of a list, or RD_TL_NONE when it is empty. */
static inline uint32_t rd_tlist_first(const struct rd_wheel *w, unsigned list)
{
	uint32_t ref = w->head[list].next;
	return ref & RD_TL_HEAD ? RD_TL_NONE : ref - 1;
}
/* Unlinks and returns the first item of a list, or RD_TL_NONE when it is empty. */
static inline uint32_t rd_tlist_pop(struct rd_wheel *w, unsigned list)
{
	uint32_t item = rd_tlist_first(w, list);
	if (item != RD_TL_NONE)
		rd_tlist_unlink(w, item);
	return item;
}

#endif
