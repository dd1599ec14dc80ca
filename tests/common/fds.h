/* fds.h — descriptors and leaks: the one way every suite counts this process's open fds, and
 * LeakSanitizer on demand. */
#ifndef TU_FDS_H
#define TU_FDS_H

#include <stdbool.h>

/* Open descriptors of this process: the entries of /proc/self/fd, less the one used to list
 * them. Fails the test when the directory cannot be read. */
int tu_count_fds(void);
/* The same without Criterion: the count, or -errno (-EMFILE when the process is out of
 * descriptors). For plain programs (tests/soak) and tests that run at the fd limit. */
int tu_try_count_fds(void);

/* In an ASan build, runs LeakSanitizer now (it prints what it finds) and returns false when
 * it found leaks; elsewhere true. */
bool tu_leak_check(void);

#endif
