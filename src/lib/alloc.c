/* alloc.c — allocation entry points of the library, with failure injection for tests. */
#include "alloc.h"

#include <stdatomic.h>
#include <stdlib.h>

/* The host's malloc, always: a library must not choose its host's allocator, and nothing on
 * the engine's hot path allocates (tables are preallocated), so a faster allocator would
 * buy the library nothing. The redial tools link jemalloc as their own choice. */
#define RD_SYS_MALLOC(n) malloc(n)
#define RD_SYS_REALLOC(p, n) realloc((p), (n))
#define RD_SYS_FREE(p) free(p)

/* Countdown to the injected failure; 0 means disarmed. Atomic because the log's drain
 * thread allocates too. */
static _Atomic long fail_countdown;

void rd__alloc_fail_after(long n)
{
	atomic_store(&fail_countdown, n);
}

static int should_fail(void)
{
	long c = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
	if (c == 0)
		return 0;
	if (c == 1)
		return 1; /* stay at 1: every later allocation fails too */
	atomic_fetch_sub(&fail_countdown, 1);
	return 0;
}

void *rd_malloc(size_t n)
{
	if (should_fail() || n == 0)
		return NULL;
	return RD_SYS_MALLOC(n);
}

void *rd_calloc(size_t count, size_t n)
{
	if (should_fail() || n == 0 || count == 0)
		return NULL;
	/* calloc, not malloc + memset: a big table comes back as untouched zero pages, which
	 * cost no memory until a slot is used (endpoint.c sets slots up lazily). */
	return calloc(count, n);
}

void *rd_realloc(void *p, size_t n)
{
	if (!p)
		return rd_malloc(n);
	if (should_fail() || n == 0)
		return NULL;
	return RD_SYS_REALLOC(p, n);
}

void rd_free(void *p)
{
	if (p)
		RD_SYS_FREE(p);
}
