/* wheel.c — hierarchical timer wheel (see wheel.h for the layout). */
#include "wheel.h"

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

/* Moves every timer of `from` to the end of `to`, leaving `from` empty. */
static void tlist_splice(struct rd_timer *to, struct rd_timer *from)
{
	if (rd_tlist_empty(from))
		return;
	from->next->prev = to->prev;
	to->prev->next = from->next;
	from->prev->next = to;
	to->prev = from->prev;
	rd_tlist_init(from);
}

void rd_wheel_init(struct rd_wheel *w, uint64_t now, rd_timer_due_fn *due, void *due_ctx)
{
	w->now = now;
	w->count = 0;
	w->due = due;
	w->due_ctx = due_ctx;
	for (unsigned l = 0; l < RD_WHEEL_LEVELS; l++) {
		w->pending[l] = 0;
		for (unsigned s = 0; s < RD_WHEEL_SLOTS; s++)
			rd_tlist_init(&w->slot[l][s]);
	}
	rd_tlist_init(&w->overflow);
}

static void place(struct rd_wheel *w, struct rd_timer *t, uint64_t due)
{
	assert(due > w->now);
	for (unsigned l = 0; l < RD_WHEEL_LEVELS; l++) {
		unsigned above = RD_WHEEL_BITS * (l + 1);
		/* Lowest level whose higher bits agree with now: the slot is reached by walking
		 * this level forward, never wrapping past the current position. */
		if ((due >> above) == (w->now >> above)) {
			unsigned s = (unsigned)(due >> (RD_WHEEL_BITS * l)) & (RD_WHEEL_SLOTS - 1);
			rd_tlist_push(&w->slot[l][s], t);
			w->pending[l] |= 1ull << s;
			return;
		}
	}
	rd_tlist_push(&w->overflow, t);
}

void rd_wheel_add(struct rd_wheel *w, struct rd_timer *t, uint64_t due)
{
	assert(!rd_timer_armed(t));
	assert(w->due(t, w->due_ctx) == due);
	place(w, t, due);
	w->count++;
}

void rd_wheel_del(struct rd_wheel *w, struct rd_timer *t)
{
	if (!rd_timer_armed(t))
		return;
	struct rd_timer *left = t->prev;
	bool last = t->prev == t->next; /* only the list's head is left once t goes */
	rd_tlist_unlink(t);
	w->count--;
	/* The head of a slot's list lies in w->slot (the overflow list has no pending bit).
	 * Compared as integers: the timer's neighbour may be in another object. */
	uintptr_t first = (uintptr_t)&w->slot[0][0], at = (uintptr_t)left;
	if (last && at >= first && at < first + sizeof(w->slot)) {
		size_t idx = (at - first) / sizeof(struct rd_timer);
		w->pending[idx / RD_WHEEL_SLOTS] &= ~(1ull << (idx % RD_WHEEL_SLOTS));
	}
}

/* Bits of the slots a level enters when its index goes from a (exclusive) to b (inclusive). */
static uint64_t entered_mask(uint64_t a, uint64_t b)
{
	if (b - a >= RD_WHEEL_SLOTS)
		return ~0ull;
	uint64_t m = 0;
	/* At most 63 slots: build the mask in two pieces so it can wrap around slot 63. */
	unsigned from = (unsigned)((a + 1) & (RD_WHEEL_SLOTS - 1));
	unsigned n = (unsigned)(b - a);
	if (n == 0)
		return 0;
	uint64_t run = (n == 64) ? ~0ull : ((1ull << n) - 1);
	m = run << from;
	if (from + n > RD_WHEEL_SLOTS)
		m |= run >> (RD_WHEEL_SLOTS - from);
	return m;
}

void rd_wheel_advance(struct rd_wheel *w, uint64_t to, struct rd_timer *out)
{
	if (to <= w->now)
		return;
	struct rd_timer todo;
	rd_tlist_init(&todo);
	for (unsigned l = 0; l < RD_WHEEL_LEVELS; l++) {
		unsigned shift = RD_WHEEL_BITS * l;
		uint64_t m = entered_mask(w->now >> shift, to >> shift) & w->pending[l];
		while (m) {
			unsigned s = (unsigned)__builtin_ctzll(m);
			m &= m - 1;
			tlist_splice(&todo, &w->slot[l][s]);
			w->pending[l] &= ~(1ull << s);
		}
	}
	unsigned top = RD_WHEEL_BITS * RD_WHEEL_LEVELS;
	if ((to >> top) != (w->now >> top))
		tlist_splice(&todo, &w->overflow);
	w->now = to;

	struct rd_timer *t;
	while ((t = rd_tlist_pop(&todo))) {
		uint64_t due = w->due(t, w->due_ctx);
		if (due <= to) {
			w->count--;
			rd_tlist_push(out, t);
		} else {
			place(w, t, due); /* cascades to a lower level */
		}
	}
}

uint64_t rd_wheel_next(const struct rd_wheel *w)
{
	uint64_t best = RD_WHEEL_NONE;
	for (unsigned l = 0; l < RD_WHEEL_LEVELS; l++) {
		if (!w->pending[l])
			continue;
		unsigned shift = RD_WHEEL_BITS * l;
		uint64_t idx = w->now >> shift;
		unsigned cur = (unsigned)(idx & (RD_WHEEL_SLOTS - 1));
		/* Rotate so that bit 0 is the slot after the current one. */
		unsigned r = (cur + 1) & (RD_WHEEL_SLOTS - 1);
		uint64_t rot = (w->pending[l] >> r) | (r ? (w->pending[l] << (RD_WHEEL_SLOTS - r)) : 0);
		unsigned d = (unsigned)__builtin_ctzll(rot) + 1; /* slots ahead, 1..64 */
		uint64_t when = (idx + d) << shift;
		if (when < best)
			best = when;
	}
	if (!rd_tlist_empty(&w->overflow)) {
		unsigned top = RD_WHEEL_BITS * RD_WHEEL_LEVELS;
		uint64_t when = ((w->now >> top) + 1) << top;
		if (when < best)
			best = when;
	}
	return best;
}
