/* alloc.h — the library's allocation calls (the host's malloc), with fault injection so tests
 * can fail the Nth allocation and expect a clean -ENOMEM. */
#ifndef RD_ALLOC_H
#define RD_ALLOC_H

#include <stddef.h>

void *rd_malloc(size_t n);
void *rd_calloc(size_t count, size_t n);
void *rd_realloc(void *p, size_t n);
void rd_free(void *p);

/* Test hook: the nth allocation from now (1-based) and every later one fail; 0 disarms.
 * Tests reach it by linking the static library. */
void rd__alloc_fail_after(long n);

#endif
