/* netns.h — namespaces of the test's own: a network with nothing but lo, a private mount
 * table. No Criterion: the caller decides to skip. */
#ifndef TU_NETNS_H
#define TU_NETNS_H

#include <stddef.h>

/* Moves this process into new namespaces (CLONE_NEWNET, CLONE_NEWNS, ...): directly as
 * root, else inside a user namespace of its own where it is root. A new network namespace
 * gets its lo up; a new mount namespace is made private first. Returns 0, or -errno with a
 * sentence in why (the test should then skip: the sandbox does not allow it). */
int tu_unshare(int flags, char *why, size_t whylen);

#endif
