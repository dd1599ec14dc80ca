/* wheel.c — hierarchical timer wheel (see wheel.h for the layout). */
#include "wheel.h"

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

/* Moves every timer of list `from` to the end of list `to`, leaving `from` empty. */
static void tlist_splice(struct rd_wheel *w, unsigned to, unsigned from)
{
	if (rd_tlist_empty(w, from))
		return;
	struct rd_timer *t = &w->head[to], *f = &w->head[from];
	uint32_t tref = RD_TL_HEAD | to, fref = RD_TL_HEAD | from;
	rd_tl_at(w, f->next)->prev = t->prev;
	rd_tl_at(w, t->prev)->next = f->next;
	rd_tl_at(w, f->prev)->next = tref;
	t->prev = f->prev;
	f->next = f->prev = fref;
}

void rd_wheel_init(struct rd_wheel *w, uint64_t now, void *base, size_t stride,
		   rd_timer_due_fn *due, void *due_ctx)
{
	w->now = now;
	w->count = 0;
	w->base = base;
	w->stride = stride;
	w->due = due;
	w->due_ctx = due_ctx;
	for (unsigned l = 0; l < RD_WHEEL_LEVELS; l++)
		w->pending[l] = 0;
	for (unsigned h = 0; h < RD_TL_HEADS; h++)
		w->head[h].next = w->head[h].prev = RD_TL_HEAD | h;
}

static void place(struct rd_wheel *w, uint32_t item, uint64_t due)
{
	assert(due > w->now);
	for (unsigned l = 0; l < RD_WHEEL_LEVELS; l++) {
		unsigned above = RD_WHEEL_BITS * (l + 1);
		/* Lowest level whose higher bits agree with now: the slot is reached by walking
		 * this level forward, never wrapping past the current position. */
		if ((due >> above) == (w->now >> above)) {
			unsigned s = (unsigned)(due >> (RD_WHEEL_BITS * l)) & (RD_WHEEL_SLOTS - 1);
			rd_tlist_push(w, l * RD_WHEEL_SLOTS + s, item);
			w->pending[l] |= 1ull << s;
			return;
		}
	}
	rd_tlist_push(w, RD_TL_OVERFLOW, item);
}

void rd_wheel_add(struct rd_wheel *w, uint32_t item, uint64_t due)
{
	assert(item < RD_TL_MAX_ITEMS);
	assert(!rd_timer_armed(rd_tl_item(w, item)));
	assert(w->due(item, w->due_ctx) == due);
	place(w, item, due);
	w->count++;
}

void rd_wheel_del(struct rd_wheel *w, uint32_t item)
{
	struct rd_timer *t = rd_tl_item(w, item);
	if (!rd_timer_armed(t))
		return;
	uint32_t left = t->prev;
	bool last = t->prev == t->next; /* only the list's head is left once t goes */
	rd_tlist_unlink(w, item);
	w->count--;
	/* A slot's list head has its number below RD_TL_OVERFLOW (the overflow list has no
	 * pending bit). */
	if (last && (left & RD_TL_HEAD) && (left & ~RD_TL_HEAD) < RD_TL_OVERFLOW) {
		unsigned idx = left & ~RD_TL_HEAD;
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

void rd_wheel_advance(struct rd_wheel *w, uint64_t to, unsigned list)
{
	if (to <= w->now)
		return;
	assert(rd_tlist_empty(w, RD_TL_SCRATCH));
	for (unsigned l = 0; l < RD_WHEEL_LEVELS; l++) {
		unsigned shift = RD_WHEEL_BITS * l;
		uint64_t m = entered_mask(w->now >> shift, to >> shift) & w->pending[l];
		while (m) {
			unsigned s = (unsigned)__builtin_ctzll(m);
			m &= m - 1;
			tlist_splice(w, RD_TL_SCRATCH, l * RD_WHEEL_SLOTS + s);
			w->pending[l] &= ~(1ull << s);
		}
	}
	unsigned top = RD_WHEEL_BITS * RD_WHEEL_LEVELS;
	if ((to >> top) != (w->now >> top))
		tlist_splice(w, RD_TL_SCRATCH, RD_TL_OVERFLOW);
	w->now = to;

	uint32_t item;
	while ((item = rd_tlist_pop(w, RD_TL_SCRATCH)) != RD_TL_NONE) {
		uint64_t due = w->due(item, w->due_ctx);
		if (due <= to) {
			w->count--;
			rd_tlist_push(w, list, item);
		} else {
			place(w, item, due); /* cascades to a lower level */
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
	if (!rd_tlist_empty(w, RD_TL_OVERFLOW)) {
		unsigned top = RD_WHEEL_BITS * RD_WHEEL_LEVELS;
		uint64_t when = ((w->now >> top) + 1) << top;
		if (when < best)
			best = when;
	}
	return best;
}
