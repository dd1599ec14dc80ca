/* redial_log.c — redial-log, the event-log decoder: text or JSON lines, filters, --follow
 * and --stats over the binary files the library's log writes. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log/reader.h"
#include "log/render.h"
#include "log/u64map.h"
#include "log/wire.h"
#include "redial_log.h"

enum exit_code {
	EXIT_CLEAN = 0,
	EXIT_TORN = 1,
	EXIT_USAGE = 2,
	EXIT_CORRUPT = 3,
	EXIT_IO = 4,
};

static const char usage_text[] =
	"Usage: redial-log [OPTIONS] FILE...\n"
	"Decode redial event-log files: one line per record, in file order. FILEs are read in\n"
	"the order given (oldest first: file.2 file.1 file), sharing endpoint names. '-' is\n"
	"standard input.\n"
	"\n"
	"Options:\n"
	"  --json            JSON lines instead of text\n"
	"  --level L         only records at level L or above: debug, info, warn, error\n"
	"  --event E[,E...]  only these events: connect_failed, connected, alert, gave_up,\n"
	"                    disconnected, cancelled, endpoint_added, endpoint_removed,\n"
	"                    dropped, resolved, app (application records), unknown\n"
	"  --endpoint S      only records of this endpoint: its string exactly as added\n"
	"                    (\"10.0.0.1:80\"), or its numeric endpoint id\n"
	"  --since T         only records at or after T: RFC 3339 (2024-05-01T12:00:00Z,\n"
	"                    2024-05-01T14:00:00.5+02:00, or a date 2024-05-01 for midnight UTC)\n"
	"                    or a duration back from now: 30s, 5m, 2h, 1d, 1h30m (units ns,\n"
	"                    us, ms, s, m, h, d). Records whose file has no readable header\n"
	"                    have no wall-clock time and are left out.\n"
	"  -f, --follow      after the last FILE's end, wait for more (like tail -f); follows\n"
	"                    the path across rotations. Stop with Ctrl-C.\n"
	"  --stats           instead of records: counts by event, errno and endpoint (with\n"
	"                    --json, one JSON object)\n"
	"  -h, --help        this text\n"
	"\n"
	"Damaged data is reported on standard error with its offset; decoding goes on after it.\n"
	"\n"
	"Exit status:\n"
	"  0  every file decoded cleanly\n"
	"  1  a file ends in a torn (incomplete) record, e.g. its writer was killed; every\n"
	"     complete record before it was decoded\n"
	"  2  usage error\n"
	"  3  corrupt records found (bad checksum or length) and skipped\n"
	"  4  I/O error (a file could not be opened or read)\n"
	"When several apply, the highest wins.\n";

struct name {
	size_t len;
	char s[];
};

struct opts {
	bool json, follow, stats;
	int min_level;
	bool events_set;
	bool events[REDIAL_LOG_RESOLVED + 3]; /* library types, then app, then unknown */
	const char *endpoint;
	bool endpoint_is_id;
	uint64_t endpoint_id;
	bool since_set;
	uint64_t since_ns;
};

#define EV_APP (REDIAL_LOG_RESOLVED + 1)
#define EV_UNKNOWN (REDIAL_LOG_RESOLVED + 2)

/* The name of a --stats event slot: the reader's for the library's types. */
static const char *ev_slot_name(int slot)
{
	return slot == EV_APP ? "app" : slot == EV_UNKNOWN ? "unknown" : rd_log_type_name((uint16_t)slot);
}

struct stats {
	uint64_t records, corrupt, torn;
	uint64_t by_event[EV_UNKNOWN + 1];
	struct rd_u64map by_errno;    /* errno + 2^32 (keys must not be 0) -> count */
	struct rd_u64map by_endpoint; /* id -> count */
	uint64_t first_ts, last_ts;
	bool have_ts;
};

static struct opts opt = { .min_level = REDIAL_LOG_DEBUG };
static struct rd_u64map names; /* endpoint id -> struct name * */
static struct stats tally;
static int status = EXIT_CLEAN;
static struct rd_strbuf out;

static void raise_status(int s)
{
	if (s > status)
		status = s;
}

static uint64_t now_realtime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int ev_index(uint16_t type)
{
	if (type >= REDIAL_LOG_APP_MIN)
		return EV_APP;
	if (type >= REDIAL_LOG_CONNECT_FAILED && type <= REDIAL_LOG_RESOLVED)
		return type;
	return EV_UNKNOWN;
}

/* ---- Option parsing ----------------------------------------------------------------------- */

static int parse_level(const char *s)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = { { "debug", 0 }, { "info", 1 }, { "warn", 2 }, { "warning", 2 }, { "error", 3 } };
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcasecmp(s, levels[i].name) == 0)
			return levels[i].level;
	return -1;
}

static bool parse_events(const char *list)
{
	const char *p = list;
	opt.events_set = true;
	while (*p) {
		size_t n = strcspn(p, ",");
		char name[32];
		if (n == 0 || n >= sizeof(name))
			return false;
		memcpy(name, p, n);
		name[n] = 0;
		if (strcmp(name, "unknown") == 0) {
			opt.events[EV_UNKNOWN] = true;
		} else {
			int t = rd_log_type_from_name(name);
			if (t < 0)
				return false;
			opt.events[ev_index((uint16_t)t)] = true;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return true;
}

/* "1h30m", "5m", "250ms": a sum of <digits><unit>. */
static bool parse_duration(const char *s, uint64_t *ret_ns)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = { { "ns", 1 },
		      { "us", 1000 },
		      { "ms", 1000000 },
		      { "s", 1000000000ull },
		      { "m", 60 * 1000000000ull },
		      { "h", 3600 * 1000000000ull },
		      { "d", 86400 * 1000000000ull } };
	uint64_t total = 0;
	if (!*s)
		return false;
	while (*s) {
		if (!isdigit((unsigned char)*s))
			return false;
		uint64_t v = 0;
		while (isdigit((unsigned char)*s)) {
			if (v > (UINT64_MAX - 9) / 10)
				return false;
			v = v * 10 + (uint64_t)(*s++ - '0');
		}
		size_t ulen = 0;
		while (isalpha((unsigned char)s[ulen]))
			ulen++;
		uint64_t mul = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].unit) == ulen && strncmp(units[i].unit, s, ulen) == 0)
				mul = units[i].ns;
		if (!mul)
			return false;
		uint64_t part;
		if (__builtin_mul_overflow(v, mul, &part) || __builtin_add_overflow(total, part, &total))
			return false;
		s += ulen;
	}
	*ret_ns = total;
	return true;
}

static bool take_digits(const char **s, int n, int *ret)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*s)[i]))
			return false;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*ret = v;
	return true;
}

/* RFC 3339 date-time (or a bare full-date, meaning its midnight UTC) to ns since the epoch. */
static bool parse_rfc3339(const char *s, uint64_t *ret_ns)
{
	struct tm tm = { 0 };
	int y, mo, d, h = 0, mi = 0, sec = 0;
	uint64_t frac = 0;
	int64_t offset = 0;

	if (!take_digits(&s, 4, &y) || *s++ != '-' || !take_digits(&s, 2, &mo) || *s++ != '-' ||
	    !take_digits(&s, 2, &d))
		return false;
	if (*s) {
		if (*s != 'T' && *s != 't' && *s != ' ')
			return false;
		s++;
		if (!take_digits(&s, 2, &h) || *s++ != ':' || !take_digits(&s, 2, &mi) ||
		    *s++ != ':' || !take_digits(&s, 2, &sec))
			return false;
		if (*s == '.') {
			s++;
			int nd = 0;
			if (!isdigit((unsigned char)*s))
				return false;
			while (isdigit((unsigned char)*s)) {
				if (nd < 9) {
					frac = frac * 10 + (uint64_t)(*s - '0');
					nd++;
				}
				s++;
			}
			while (nd++ < 9)
				frac *= 10;
		}
		if (*s == 'Z' || *s == 'z') {
			s++;
		} else if (*s == '+' || *s == '-') {
			int sign = *s++ == '-' ? -1 : 1, oh, om;
			if (!take_digits(&s, 2, &oh) || *s++ != ':' || !take_digits(&s, 2, &om) ||
			    oh > 23 || om > 59)
				return false;
			offset = sign * (int64_t)(oh * 3600 + om * 60);
		} else {
			return false;
		}
		if (*s)
			return false;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	int64_t secs = (int64_t)t - offset;
	if (t == (time_t)-1 || secs < 0)
		return false;
	*ret_ns = (uint64_t)secs * 1000000000u + frac;
	return true;
}

static bool parse_since(const char *s)
{
	uint64_t v;
	if (parse_rfc3339(s, &v)) {
		opt.since_ns = v;
	} else if (parse_duration(s, &v)) {
		uint64_t now = now_realtime();
		opt.since_ns = v < now ? now - v : 0;
	} else {
		return false;
	}
	opt.since_set = true;
	return true;
}

/* ---- Records -------------------------------------------------------------------------------- */

static const struct name *name_of(redial_id_t id)
{
	struct rd_u64map_ent *e = id ? rd_u64map_get(&names, id) : NULL;
	return e ? e->val : NULL;
}

static void name_set(redial_id_t id, const char *s, size_t n)
{
	if (!id)
		return;
	struct name *nm = malloc(sizeof(*nm) + n + 1);
	struct rd_u64map_ent *e = nm ? rd_u64map_upsert(&names, id) : NULL;
	if (!e) {
		free(nm);
		return;
	}
	nm->len = n;
	memcpy(nm->s, s, n);
	nm->s[n] = 0;
	free(e->val);
	e->val = nm;
}

static bool passes(const struct rd_log_item *it, const struct name *nm)
{
	const struct rd_log_record *rec = &it->rec;
	if (rec->level < opt.min_level)
		return false;
	if (opt.events_set && !opt.events[ev_index(rec->type)])
		return false;
	if (opt.endpoint) {
		bool match = (nm && strlen(opt.endpoint) == nm->len &&
			      memcmp(opt.endpoint, nm->s, nm->len) == 0) ||
			     (opt.endpoint_is_id && rec->id == opt.endpoint_id);
		if (!match)
			return false;
	}
	if (opt.since_set) {
		uint64_t t;
		if (!rd_log_record_time(it, &t) || t < opt.since_ns)
			return false;
	}
	return true;
}

static void count_record(const struct rd_log_item *it, const struct rd_log_event *ev)
{
	const struct rd_log_record *rec = &it->rec;
	struct rd_u64map_ent *e;
	uint64_t t;

	tally.records++;
	tally.by_event[ev_index(rec->type)]++;
	switch (rec->type) {
	case REDIAL_LOG_CONNECT_FAILED:
	case REDIAL_LOG_GAVE_UP:
	case REDIAL_LOG_DISCONNECTED:
		if ((e = rd_u64map_upsert(&tally.by_errno, (uint64_t)(uint32_t)ev->err | 1ull << 32)))
			e->n++;
		break;
	default:
		break;
	}
	if (rec->id && (e = rd_u64map_upsert(&tally.by_endpoint, rec->id)))
		e->n++;
	if (rd_log_record_time(it, &t)) {
		if (!tally.have_ts || t < tally.first_ts)
			tally.first_ts = t;
		if (!tally.have_ts || t > tally.last_ts)
			tally.last_ts = t;
		tally.have_ts = true;
	}
}

static void handle_record(const struct rd_log_item *it)
{
	struct rd_log_event ev;
	const struct rd_log_record *rec = &it->rec;

	if (rd_log_decode(rec, &ev) < 0)
		return; /* the reader reports these as corrupt; not reached */
	if (rec->type == REDIAL_LOG_ENDPOINT_ADDED)
		name_set(rec->id, ev.str, ev.str_len);
	/* A replay repeats a name at the top of a rotated file; it is not an event. */
	if (rec->flags & RD_LOG_F_REPLAY)
		return;
	const struct name *nm = name_of(rec->id);
	if (passes(it, nm)) {
		if (opt.stats) {
			count_record(it, &ev);
		} else {
			out.len = 0;
			if (opt.json)
				rd_log_render_json(&out, it, &ev, nm ? nm->s : NULL, nm ? nm->len : 0);
			else
				rd_log_render_text(&out, it, &ev, nm ? nm->s : NULL, nm ? nm->len : 0);
			fwrite(out.p, 1, out.len, stdout);
		}
	}
	if (rec->type == REDIAL_LOG_ENDPOINT_REMOVED && !opt.stats)
		free(rd_u64map_del(&names, rec->id));
}

static void handle_item(const char *file, const struct rd_log_item *it)
{
	switch (it->kind) {
	case RD_LOG_ITEM_RECORD:
		handle_record(it);
		break;
	case RD_LOG_ITEM_HEADER:
		break;
	case RD_LOG_ITEM_CORRUPT:
		fflush(stdout);
		fprintf(stderr,
			"redial-log: %s: corrupt data at offset %" PRIu64 ", %" PRIu64
			" bytes skipped: %s\n",
			file, it->offset, it->length, it->why);
		tally.corrupt++;
		raise_status(EXIT_CORRUPT);
		break;
	case RD_LOG_ITEM_TORN:
		fflush(stdout);
		fprintf(stderr,
			"redial-log: %s: torn record at offset %" PRIu64 " (%" PRIu64
			" bytes): %s; read as the end of the writer's output\n",
			file, it->offset, it->length, it->why);
		tally.torn++;
		raise_status(EXIT_TORN);
		break;
	}
}

static void pause_follow(void)
{
	struct timespec ts = { 0, 100 * 1000000 };
	fflush(stdout);
	nanosleep(&ts, NULL);
}

/* Did `path` get replaced (rotated, recreated) since fd was opened? */
static bool replaced(const char *path, int fd)
{
	struct stat a, b;
	if (fstat(fd, &a) < 0 || stat(path, &b) < 0)
		return false; /* gone for the moment: keep reading what we have */
	return a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}

/* Was the file cut shorter than what we read (copy-and-truncate rotation)? */
static bool truncated(int fd, uint64_t offset)
{
	struct stat sb;
	return fstat(fd, &sb) == 0 && (uint64_t)sb.st_size < offset;
}

/* Decodes one file; with follow, never returns on its own. */
static void decode_file(const char *path, bool follow)
{
	bool is_stdin = strcmp(path, "-") == 0;
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "redial-log: %s: %s\n", path, strerror(errno));
		raise_status(EXIT_IO);
		return;
	}
	if (is_stdin)
		follow = false;
	struct rd_log_reader *r;
	int ret = rd_log_reader_fd(fd, follow, &r);
	if (ret < 0) {
		fprintf(stderr, "redial-log: %s: %s\n", path, strerror(-ret));
		raise_status(EXIT_IO);
		goto out;
	}
	bool rotated = false;
	for (;;) {
		struct rd_log_item it;
		ret = rd_log_reader_next(r, &it);
		if (ret == 1) {
			handle_item(path, &it);
			continue;
		}
		if (ret == -EAGAIN && follow) {
			if (!rotated && truncated(fd, rd_log_reader_offset(r))) {
				/* start again from the top of the same file */
				rd_log_reader_free(r);
				r = NULL;
				if (lseek(fd, 0, SEEK_SET) < 0 ||
				    (ret = rd_log_reader_fd(fd, true, &r)) < 0)
					break;
				continue;
			}
			if (!rotated && replaced(path, fd)) {
				/* the writer moved on: finish the old file, then start the new */
				rotated = true;
				rd_log_reader_stop_following(r);
				continue;
			}
			pause_follow();
			continue;
		}
		if (ret == 0 && rotated) {
			rd_log_reader_free(r);
			r = NULL;
			close(fd);
			fd = -1;
			while ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
				pause_follow();
			if ((ret = rd_log_reader_fd(fd, true, &r)) < 0)
				break;
			rotated = false;
			continue;
		}
		break;
	}
	if (ret < 0 && ret != -EAGAIN) {
		fflush(stdout);
		fprintf(stderr, "redial-log: %s: read error at offset %" PRIu64 ": %s\n", path,
			r ? rd_log_reader_offset(r) : 0, strerror(-ret));
		raise_status(EXIT_IO);
	}
	rd_log_reader_free(r);
out:
	if (fd >= 0 && !is_stdin)
		close(fd);
}

/* ---- --stats --------------------------------------------------------------------------------- */

struct pair {
	uint64_t key, n;
};

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return x->key < y->key ? -1 : x->key > y->key;
}

static struct pair *sorted(const struct rd_u64map *m)
{
	struct pair *v = calloc(m->len + 1, sizeof(*v));
	size_t k = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < m->cap; i++)
		if (m->ent[i].key)
			v[k++] = (struct pair){ m->ent[i].key, m->ent[i].n };
	qsort(v, k, sizeof(*v), pair_cmp);
	return v;
}

static void errno_label(struct rd_strbuf *sb, int err, bool json)
{
	const char *name = redial_errno_name(err);
	if (json && name)
		rd_sb_printf(sb, "\"%s\"", name);
	else if (json)
		rd_sb_printf(sb, "\"%d\"", err);
	else if (name)
		rd_sb_printf(sb, "%s(%d)", name, err);
	else
		rd_sb_printf(sb, "%d", err);
}

static void endpoint_label(struct rd_strbuf *sb, uint64_t id, bool json)
{
	const struct name *nm = name_of(id);
	if (json) {
		if (nm)
			rd_sb_json_str(sb, nm->s, nm->len);
		else
			rd_sb_puts(sb, "null");
	} else if (nm) {
		rd_sb_text_str(sb, nm->s, nm->len);
	} else {
		rd_sb_printf(sb, "id:%" PRIu64, id);
	}
}

static void print_stats(void)
{
	struct rd_strbuf sb = { 0 };
	struct pair *errs = sorted(&tally.by_errno), *eps = sorted(&tally.by_endpoint);
	if (!errs || !eps) {
		fprintf(stderr, "redial-log: out of memory\n");
		raise_status(EXIT_IO);
		goto out;
	}
	if (opt.json) {
		rd_sb_printf(&sb, "{\"records\":%" PRIu64 ",\"corrupt\":%" PRIu64 ",\"torn\":%" PRIu64,
			     tally.records, tally.corrupt, tally.torn);
		if (tally.have_ts) {
			rd_sb_puts(&sb, ",\"first_ts\":\"");
			rd_sb_time(&sb, tally.first_ts);
			rd_sb_puts(&sb, "\",\"last_ts\":\"");
			rd_sb_time(&sb, tally.last_ts);
			rd_sb_puts(&sb, "\"");
		}
		rd_sb_puts(&sb, ",\"events\":{");
		bool first = true;
		for (int i = 1; i <= EV_UNKNOWN; i++) {
			if (!tally.by_event[i])
				continue;
			rd_sb_printf(&sb, "%s\"%s\":%" PRIu64, first ? "" : ",", ev_slot_name(i),
				     tally.by_event[i]);
			first = false;
		}
		rd_sb_puts(&sb, "},\"errno\":{");
		for (size_t i = 0; errs[i].key; i++) {
			if (i)
				rd_sb_puts(&sb, ",");
			errno_label(&sb, (int)(uint32_t)errs[i].key, true);
			rd_sb_printf(&sb, ":%" PRIu64, errs[i].n);
		}
		rd_sb_puts(&sb, "},\"endpoints\":[");
		for (size_t i = 0; eps[i].key; i++) {
			rd_sb_puts(&sb, i ? ",{\"endpoint\":" : "{\"endpoint\":");
			endpoint_label(&sb, eps[i].key, true);
			rd_sb_printf(&sb, ",\"endpoint_id\":%" PRIu64 ",\"count\":%" PRIu64 "}",
				     eps[i].key, eps[i].n);
		}
		rd_sb_puts(&sb, "]}\n");
	} else {
		rd_sb_printf(&sb, "records: %" PRIu64 "  corrupt regions: %" PRIu64
				  "  torn records: %" PRIu64 "\n",
			     tally.records, tally.corrupt, tally.torn);
		if (tally.have_ts) {
			rd_sb_puts(&sb, "from: ");
			rd_sb_time(&sb, tally.first_ts);
			rd_sb_puts(&sb, "\nto:   ");
			rd_sb_time(&sb, tally.last_ts);
			rd_sb_puts(&sb, "\n");
		}
		rd_sb_puts(&sb, "\nby event:\n");
		for (int i = 1; i <= EV_UNKNOWN; i++)
			if (tally.by_event[i])
				rd_sb_printf(&sb, "  %-18s %12" PRIu64 "\n", ev_slot_name(i), tally.by_event[i]);
		rd_sb_puts(&sb, "\nby errno (connect_failed, gave_up, disconnected):\n");
		for (size_t i = 0; errs[i].key; i++) {
			size_t start = sb.len;
			rd_sb_puts(&sb, "  ");
			errno_label(&sb, (int)(uint32_t)errs[i].key, false);
			while (sb.len - start < 21)
				rd_sb_puts(&sb, " ");
			rd_sb_printf(&sb, " %12" PRIu64 "\n", errs[i].n);
		}
		rd_sb_puts(&sb, "\nby endpoint:\n");
		for (size_t i = 0; eps[i].key; i++) {
			size_t start = sb.len;
			rd_sb_puts(&sb, "  ");
			endpoint_label(&sb, eps[i].key, false);
			while (sb.len - start < 21)
				rd_sb_puts(&sb, " ");
			rd_sb_printf(&sb, " %12" PRIu64 "\n", eps[i].n);
		}
	}
	fwrite(sb.p, 1, sb.len, stdout);
out:
	free(errs);
	free(eps);
	rd_sb_free(&sb);
}

/* ---- main ------------------------------------------------------------------------------------ */

static int usage_error(const char *what, const char *arg)
{
	if (arg)
		fprintf(stderr, "redial-log: %s '%s'\nTry 'redial-log --help'.\n", what, arg);
	else
		fprintf(stderr, "redial-log: %s\nTry 'redial-log --help'.\n", what);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	enum { O_JSON = 256, O_LEVEL, O_EVENT, O_ENDPOINT, O_SINCE, O_STATS };
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, O_JSON },
		{ "level", required_argument, NULL, O_LEVEL },
		{ "event", required_argument, NULL, O_EVENT },
		{ "endpoint", required_argument, NULL, O_ENDPOINT },
		{ "since", required_argument, NULL, O_SINCE },
		{ "follow", no_argument, NULL, 'f' },
		{ "stats", no_argument, NULL, O_STATS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "fh", longopts, NULL)) != -1) {
		switch (c) {
		case O_JSON:
			opt.json = true;
			break;
		case O_LEVEL:
			if ((opt.min_level = parse_level(optarg)) < 0)
				return usage_error("unknown level (debug, info, warn, error):",
						   optarg);
			break;
		case O_EVENT:
			if (!parse_events(optarg))
				return usage_error("bad event list:", optarg);
			break;
		case O_ENDPOINT: {
			char *end;
			opt.endpoint = optarg;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 0);
			if (*optarg && isdigit((unsigned char)*optarg) && !*end && !errno) {
				opt.endpoint_is_id = true;
				opt.endpoint_id = v;
			}
			break;
		}
		case O_SINCE:
			if (!parse_since(optarg))
				return usage_error("bad time (RFC 3339, or a duration like 5m):",
						   optarg);
			break;
		case 'f':
			opt.follow = true;
			break;
		case O_STATS:
			opt.stats = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_CLEAN;
		default:
			return usage_error("bad option:", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("no FILE given", NULL);
	if (opt.follow && opt.stats)
		return usage_error("--follow and --stats do not go together", NULL);

	static char obuf[1 << 16];
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	for (int i = optind; i < argc; i++)
		decode_file(argv[i], opt.follow && i == argc - 1);
	if (opt.stats)
		print_stats();
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "redial-log: writing output: %s\n", strerror(errno));
		raise_status(EXIT_IO);
	}
	for (size_t i = 0; i < names.cap; i++)
		free(names.ent[i].val);
	rd_u64map_free(&names);
	rd_u64map_free(&tally.by_errno);
	rd_u64map_free(&tally.by_endpoint);
	rd_sb_free(&out);
	return status;
}
