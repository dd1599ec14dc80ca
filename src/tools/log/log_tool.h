/* log_tool.h — what redial-log's files share: exit codes, the parsed options, endpoint
 * names, and the interfaces of the option parsers (log_tool_args.c) and of --stats
 * (log_tool_stats.c). log_tool.c, the decoding loop and main, uses both. */
#ifndef RD_LOG_TOOL_H
#define RD_LOG_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log/reader.h"
#include "log/u64map.h"
#include "redial_log.h"

/* Documented in the usage text and docs/log-format.md; when several apply, the highest. */
enum exit_code {
	EXIT_CLEAN = 0,
	EXIT_TORN = 1,
	EXIT_USAGE = 2,
	EXIT_CORRUPT = 3,
	EXIT_IO = 4,
};

/* Event slots for --event and --stats: the library's types by number, then these two. */
#define EV_APP (REDIAL_LOG_RESOLVED + 1)
#define EV_UNKNOWN (REDIAL_LOG_RESOLVED + 2)

static inline int ev_index(uint16_t type)
{
	if (type >= REDIAL_LOG_APP_MIN)
		return EV_APP;
	if (type >= REDIAL_LOG_CONNECT_FAILED && type <= REDIAL_LOG_RESOLVED)
		return type;
	return EV_UNKNOWN;
}

struct opts {
	bool json, follow, stats;
	int min_level;
	bool events_set;
	bool events[EV_UNKNOWN + 1];
	const char *endpoint;
	bool endpoint_is_id;
	uint64_t endpoint_id;
	bool since_set;
	uint64_t since_ns;
};

/* An endpoint's string as its endpoint_added record gave it; the values of the names map
 * (endpoint id -> struct name *) that the files given share. */
struct name {
	size_t len;
	char s[];
};

static inline const struct name *name_of(const struct rd_u64map *names, redial_id_t id)
{
	struct rd_u64map_ent *e = id ? rd_u64map_get(names, id) : NULL;
	return e ? e->val : NULL;
}

/* ---- log_tool_args.c: option values ----------------------------------------------------- */

/* "debug", "info", "warn"/"warning", "error" (any case) -> the level; -1 otherwise. */
int parse_level(const char *s);
/* --event's comma-separated names into o->events. */
bool parse_events(struct opts *o, const char *list);
/* --since: RFC 3339, or a duration back from now, into o->since_ns. */
bool parse_since(struct opts *o, const char *s);

/* ---- log_tool_stats.c: --stats ----------------------------------------------------------- */

struct stats {
	uint64_t records, corrupt, torn;
	uint64_t by_event[EV_UNKNOWN + 1];
	struct rd_u64map by_errno;    /* errno + 2^32 (keys must not be 0) -> count */
	struct rd_u64map by_endpoint; /* id -> count */
	uint64_t first_ts, last_ts;
	bool have_ts;
};

/* Counts a record that passed the filters. */
void stats_count(struct stats *st, const struct rd_log_item *it, const struct rd_log_event *ev);
/* Prints the tally to stdout, naming endpoints from names. Returns EXIT_CLEAN, or EXIT_IO
 * when out of memory. */
int stats_print(const struct stats *st, const struct rd_u64map *names, bool json);
void stats_free(struct stats *st);

#endif
