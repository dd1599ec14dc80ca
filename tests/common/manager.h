/* manager.h — a manager made, fed and checked the way every test does it: the config, create
 * and add that fail the test instead of returning an error, the counters in one call, and
 * tu_finish, the check that ends each test that made a manager. */
#ifndef TU_MANAGER_H
#define TU_MANAGER_H

#include <stdbool.h>
#include <stdint.h>

#include "recorder.h"
#include "redial.h"

/* A config with the recorder as callback, a fixed seed, room for 8,192 endpoints, and
 * rec->defs (the library's defaults, without jitter) as the endpoint defaults. */
void tu_config(struct redial_config *cfg, struct tu_recorder *rec);
/* Quick retries for tests that wait on them: backoff 20 ms to 200 ms, a 2 s connect
 * deadline. */
void tu_fast_retry(struct redial_endpoint_opts *o);

/* redial_create, or the test fails with the library's reason. */
redial_t *tu_make(const struct redial_config *cfg);
/* redial_endpoint_add, or the test fails with the parser's message. The id is remembered
 * for tu_finish, which removes it. */
redial_id_t tu_add(redial_t *r, const char *s, const struct redial_endpoint_opts *o);
/* Remembers an id added some other way (redial_endpoint_add_addr, an add that a test makes
 * itself to look at its return value) for tu_finish. Returns id. */
redial_id_t tu_track(redial_t *r, redial_id_t id);

struct redial_stats tu_stats(redial_t *r);
struct redial_endpoint_stats tu_ep_stats(redial_t *r, redial_id_t id);
/* Live endpoints in a state. */
uint32_t tu_state_count(redial_t *r, enum redial_state st);
enum redial_state tu_state(redial_t *r, redial_id_t id);

/* The end of every test that made a manager (style item 18): shuts it down (within 10 s)
 * and checks that nothing is in flight, no attempt holds a slot, no fd is owned and no CQE
 * or event was lost; removes every endpoint tu_add or tu_track remembered for it and checks
 * that none is left in any state; destroys it; and checks that, under ASan, nothing leaked
 * and that the process has fds_before descriptors again. */
void tu_finish(redial_t *r, int fds_before);
/* The same with another deadline for the shutdown. */
void tu_finish_within(redial_t *r, int fds_before, uint64_t shutdown_ns);

/* Whether this kernel's io_uring has IOSQE_CQE_SKIP_SUCCESS (IORING_FEAT_CQE_SKIP), which the
 * library then uses for the ops whose success says nothing new. */
bool tu_kernel_cqe_skip(void);

#endif
