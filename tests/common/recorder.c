/* recorder.c — see recorder.h. */
#include "recorder.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

void tu_recorder_init(struct tu_recorder *rec)
{
	memset(rec, 0, sizeof(*rec));
	pthread_mutex_init(&rec->mu, NULL);
}

void tu_recorder_free(struct tu_recorder *rec)
{
	free(rec->ev);
	pthread_mutex_destroy(&rec->mu);
	memset(rec, 0, sizeof(*rec));
}

void tu_record(redial_t *r, const struct redial_event *ev, void *user)
{
	struct tu_recorder *rec = user;
	pthread_mutex_lock(&rec->mu);
	if (rec->n == rec->cap) {
		size_t cap = rec->cap ? rec->cap * 2 : 256;
		struct tu_event *p = realloc(rec->ev, cap * sizeof(*p));
		if (!p) {
			pthread_mutex_unlock(&rec->mu);
			cr_assert_fail("out of memory recording events");
		}
		rec->ev = p;
		rec->cap = cap;
	}
	struct tu_event *t = &rec->ev[rec->n++];
	/* Every field but the pointers, which are good only during the callback. */
	*t = (struct tu_event){
		.type = ev->type, .id = ev->id, .user = ev->user, .fd = ev->fd, .err = ev->err,
		.cls = ev->cls, .attempt = ev->attempt, .duration_ns = ev->duration_ns,
		.backoff_ns = ev->backoff_ns, .down_ns = ev->down_ns, .up_ns = ev->up_ns,
		.mono_ns = ev->mono_ns, .reason = ev->reason, .tag = rec->tag,
		.thread = pthread_self(),
	};
	if (ev->addr && ev->addrlen <= sizeof(t->addr)) {
		t->has_addr = true;
		memcpy(&t->addr, ev->addr, ev->addrlen);
	}
	pthread_mutex_unlock(&rec->mu);
	cr_assert(!ev->addr || ev->addrlen <= sizeof(t->addr), "an event address of %u bytes",
		  (unsigned)ev->addrlen);
	if (rec->hook)
		rec->hook(r, ev, rec->hook_arg);
}

static bool matches(const struct tu_event *e, enum redial_event_type type, redial_id_t id)
{
	return (!type || e->type == type) && (!id || e->id == id);
}

size_t tu_count(struct tu_recorder *rec, enum redial_event_type type, redial_id_t id)
{
	size_t c = 0;
	pthread_mutex_lock(&rec->mu);
	for (size_t i = 0; i < rec->n; i++)
		c += matches(&rec->ev[i], type, id);
	pthread_mutex_unlock(&rec->mu);
	return c;
}

/* The k-th match, under the lock; NULL when there is none. */
static const struct tu_event *nth_locked(struct tu_recorder *rec, enum redial_event_type type,
					 redial_id_t id, size_t k)
{
	for (size_t i = 0; i < rec->n; i++)
		if (matches(&rec->ev[i], type, id) && k-- == 0)
			return &rec->ev[i];
	return NULL;
}

const struct tu_event *tu_nth(struct tu_recorder *rec, enum redial_event_type type,
			      redial_id_t id, size_t k)
{
	pthread_mutex_lock(&rec->mu);
	const struct tu_event *e = nth_locked(rec, type, id, k);
	pthread_mutex_unlock(&rec->mu);
	return e;
}

bool tu_nth_copy(struct tu_recorder *rec, enum redial_event_type type, redial_id_t id, size_t k,
		 struct tu_event *ret)
{
	pthread_mutex_lock(&rec->mu);
	const struct tu_event *e = nth_locked(rec, type, id, k);
	if (e)
		*ret = *e;
	pthread_mutex_unlock(&rec->mu);
	return e != NULL;
}
