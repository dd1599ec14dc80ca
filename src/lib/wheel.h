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
 * A timer is two links and nothing else (16 bytes: it sits in every endpoint). Its due tick
 * is the owner's to keep, and the wheel asks for it (rd_timer_due_fn) when it files the timer
 * again; the slot it sits in is not stored either: a slot whose last timer leaves is known
 * by its list head, which lies inside the wheel. */
#ifndef RD_WHEEL_H
#define RD_WHEEL_H

#include <stdbool.h>
#include <stdint.h>

#define RD_WHEEL_BITS 6
#define RD_WHEEL_SLOTS (1u << RD_WHEEL_BITS)
#define RD_WHEEL_LEVELS 4
#define RD_WHEEL_NONE UINT64_MAX

/* Embedded in the owner; next == NULL when the timer is on no list. */
struct rd_timer {
	struct rd_timer *next, *prev;
};

/* The tick a timer on the wheel is due at: what was given to rd_wheel_add, unchanged for as
 * long as the timer stays on the wheel. */
typedef uint64_t rd_timer_due_fn(const struct rd_timer *t, void *ctx);

struct rd_wheel {
	uint64_t now;                                 /* the last tick processed */
	uint64_t pending[RD_WHEEL_LEVELS];            /* bit s: slot s of that level non-empty */
	struct rd_timer slot[RD_WHEEL_LEVELS][RD_WHEEL_SLOTS]; /* list heads (sentinels) */
	struct rd_timer overflow;                     /* list head */
	uint32_t count;
	rd_timer_due_fn *due;
	void *due_ctx;
};

void rd_wheel_init(struct rd_wheel *w, uint64_t now, rd_timer_due_fn *due, void *due_ctx);
static inline bool rd_timer_armed(const struct rd_timer *t) { return t->next != 0; }
/* Puts t on the wheel to expire at tick `due`, which must be later than w->now and equal to
 * what w->due says of t until t leaves the wheel. */
void rd_wheel_add(struct rd_wheel *w, struct rd_timer *t, uint64_t due);
/* Takes t off the wheel; a no-op when it is not on it. */
void rd_wheel_del(struct rd_wheel *w, struct rd_timer *t);
/* Advances to tick `to` and moves every timer due at or before it onto the list `out`
 * (a sentinel the caller initialised with rd_tlist_init), in no particular order. */
void rd_wheel_advance(struct rd_wheel *w, uint64_t to, struct rd_timer *out);
/* The earliest tick at which rd_wheel_advance has work (an expiry or a cascade), or
 * RD_WHEEL_NONE when the wheel is empty. Never earlier than w->now + 1. */
uint64_t rd_wheel_next(const struct rd_wheel *w);

static inline void rd_tlist_init(struct rd_timer *head)
{
	head->next = head->prev = head;
}
static inline bool rd_tlist_empty(const struct rd_timer *head)
{
	return head->next == head;
}
static inline void rd_tlist_push(struct rd_timer *head, struct rd_timer *t)
{
	t->prev = head->prev;
	t->next = head;
	head->prev->next = t;
	head->prev = t;
}
static inline void rd_tlist_unlink(struct rd_timer *t)
{
	t->prev->next = t->next;
	t->next->prev = t->prev;
	t->next = t->prev = 0;
}
/* Unlinks and returns the first timer of a list, or NULL when it is empty. */
static inline struct rd_timer *rd_tlist_pop(struct rd_timer *head)
{
	struct rd_timer *t = head->next;
	if (t == head)
		return 0;
	head->next = t->next;
	t->next->prev = head;
	t->next = t->prev = 0;
	return t;
}

#endif
