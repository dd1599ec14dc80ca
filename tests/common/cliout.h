/* cliout.h — what the `redial` command leaves behind, read back: its JSON summary, and its
 * event log decoded by the real `redial-log --json` (REDIAL_LOG_BIN). For the suites that run
 * the binary (tests/cli, tests/faults). */
#ifndef TU_CLIOUT_H
#define TU_CLIOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "tjson.h"

/* text parsed as one JSON value, or the test fails showing it. */
struct tj *tu_parse_json(const char *text);
/* The summary file at path, parsed. */
struct tj *tu_read_summary(const char *path);

struct tu_records {
	struct tj **v;
	size_t n;
};
/* Decodes a log with `redial-log --json`, which must exit 0 (no torn or corrupt record). */
void tu_decode_log(const char *path, struct tu_records *recs);
void tu_records_free(struct tu_records *recs);
/* The records of one event type (and endpoint, unless NULL), in file order: the first cap
 * into out; returns how many there are. */
size_t tu_select_records(const struct tu_records *recs, const char *event, const char *ep,
			 const struct tj **out, size_t cap);

/* The summary's object for endpoint string ep (fails the test when there is none). */
const struct tj *tu_endpoint_of(const struct tj *summary, const char *ep);
/* A member that must be a number / a string (the test fails otherwise). */
double tu_num(const struct tj *o, const char *key);
const char *tu_str(const struct tj *o, const char *key);
/* Whether the member is there and null. */
bool tu_is_null(const struct tj *o, const char *key);
/* The summary's totals are the sums of its endpoints, and each endpoint is self-consistent. */
void tu_check_summary_consistent(const struct tj *sum, size_t endpoints);

#endif
