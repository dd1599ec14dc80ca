/* scratch.h — scratch directories and whole files, and the clock: what a test keeps on disk
 * for itself. No Criterion here (tests/log/tsan_log_mp and tests/soak are plain programs):
 * what cannot fail in a sane test environment (mkdtemp under /tmp, malloc) aborts. */
#ifndef TU_SCRATCH_H
#define TU_SCRATCH_H

#include <stddef.h>
#include <stdint.h>

/* A new directory $TMPDIR/PREFIX-XXXXXX (/tmp when TMPDIR is unset), malloc'd. */
char *tu_tmpdir(const char *prefix);
/* Removes dir and everything below it, then frees it. Takes NULL. */
void tu_rmrf(char *dir);
/* "DIR/NAME", malloc'd. */
char *tu_path(const char *dir, const char *name);

/* A file's whole content plus a NUL byte, malloc'd; its length (without the NUL) in *ret_len
 * when not NULL. NULL when the file cannot be opened. */
char *tu_slurp(const char *path, size_t *ret_len);
/* Writes len bytes as the whole file: 0 or -errno. */
int tu_spit(const char *path, const void *buf, size_t len);

/* CLOCK_MONOTONIC. */
uint64_t tu_now_ns(void);
double tu_now_s(void);
/* Sleeps ms milliseconds (pacing only: never what makes a test pass). */
void tu_sleep_ms(unsigned ms);

#endif
