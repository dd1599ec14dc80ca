/* recorder.h — the event recorder: an on_event callback that keeps a copy of every event,
 * and the questions the tests ask of it. Thread-safe: the callbacks run on the manager's
 * owner thread, while a test may read from another (tests/embed/test_embed_threads.c). */
#ifndef TU_RECORDER_H
#define TU_RECORDER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "redial.h"

/* One recorded event: its fields, and what the recorder saw around it. */
struct tu_event {
	enum redial_event_type type;
	redial_id_t id;
	void *user;
	int fd;
	int err;
	enum redial_class cls;
	uint32_t attempt;
	uint64_t duration_ns, backoff_ns, down_ns, up_ns, mono_ns;
	enum redial_gave_up_reason reason;
	bool has_addr; /* ev->addr was set: a copy is in addr */
	struct sockaddr_storage addr;
	unsigned tag;     /* the recorder's tag when the event came (see below) */
	pthread_t thread; /* the thread the callback ran on */
};

struct tu_recorder {
	pthread_mutex_t mu;
	struct tu_event *ev;
	size_t n, cap;
	/* Copied into each event: a test that wants to tell which redial_run delivered an
	 * event bumps it before each run. */
	unsigned tag;
	/* Optional hook, run after recording (outside the lock), e.g. to cancel from inside a
	 * callback. */
	void (*hook)(redial_t *r, const struct redial_event *ev, void *arg);
	void *hook_arg;
	/* The endpoint defaults tu_config points the config at. */
	struct redial_endpoint_opts defs;
};

/* An empty recorder (no hook, tag 0). */
void tu_recorder_init(struct tu_recorder *rec);
/* Frees the events; the recorder is empty and must be initialised again before reuse. */
void tu_recorder_free(struct tu_recorder *rec);

/* The event callback: the user pointer must be a struct tu_recorder. */
void tu_record(redial_t *r, const struct redial_event *ev, void *user);

/* Events of a type (0: any type) for an id (0: any id). */
size_t tu_count(struct tu_recorder *rec, enum redial_event_type type, redial_id_t id);
/* The k-th (0-based) such event, or NULL. The pointer is good until the next event is
 * recorded: for a test that reads on the thread that runs the manager. */
const struct tu_event *tu_nth(struct tu_recorder *rec, enum redial_event_type type,
			      redial_id_t id, size_t k);
/* The same as a copy, from any thread; false when there is no such event. */
bool tu_nth_copy(struct tu_recorder *rec, enum redial_event_type type, redial_id_t id, size_t k,
		 struct tu_event *ret);

#endif
