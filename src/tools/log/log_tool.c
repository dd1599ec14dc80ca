/* log_tool.c — redial-log, the event-log decoder: main, the usage text, and the loop that
 * reads each file (following it when asked) and prints, or counts, the records that pass
 * the filters. Option values are parsed in log_tool_args.c, --stats in log_tool_stats.c. */
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

#include "log/render.h"
#include "log/wire.h"
#include "log_tool.h"

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
	"A segment of a format version this redial-log does not read is skipped with a warning\n"
	"on standard error (its offset and version); it does not change the exit status.\n"
	"\n"
	"Exit status:\n"
	"  0  every file decoded cleanly\n"
	"  1  a file ends in a torn (incomplete) record or header, e.g. its writer was killed,\n"
	"     or is empty; every complete record before it was decoded\n"
	"  2  usage error\n"
	"  3  corrupt records found (bad checksum or length) and skipped\n"
	"  4  I/O error (a file could not be opened or read)\n"
	"When several apply, the highest wins.\n";

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

/* ---- Records -------------------------------------------------------------------------------- */

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
	const struct name *nm = name_of(&names, rec->id);
	if (passes(it, nm)) {
		if (opt.stats) {
			stats_count(&tally, it, &ev);
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
	case RD_LOG_ITEM_SKIPPED:
		/* The format lets a later writer add segments of a new version (log-format.md):
		 * this tool cannot show them, but nothing is damaged, so the status stays. */
		fflush(stdout);
		fprintf(stderr,
			"redial-log: %s: offset %" PRIu64 ": segment of format version %u skipped (%" PRIu64
			" bytes): this redial-log reads version %d\n",
			file, it->offset, (unsigned)it->version, it->length, RD_LOG_VERSION);
		break;
	}
}

static void pause_follow(void)
{
	struct timespec ts = { 0, 100 * 1000000 };
	fflush(stdout);
	(void)nanosleep(&ts, NULL); /* woken early by a signal: the caller just looks sooner */
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
				if (lseek(fd, 0, SEEK_SET) < 0) {
					ret = -errno;
					break;
				}
				if ((ret = rd_log_reader_fd(fd, true, &r)) < 0)
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
			(void)close(fd); /* read-only: its close has nothing left to report */
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
	if (ret == 0 && rd_log_reader_offset(r) == 0) {
		/* Not even a header: its writer stopped before it wrote one (or this is not a
		 * log). Reported like a file cut inside its header, which reads as torn. */
		fflush(stdout);
		fprintf(stderr, "redial-log: %s: empty file, no log header\n", path);
		raise_status(EXIT_TORN);
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
		(void)close(fd); /* read-only: its close has nothing left to report */
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
			if (!parse_events(&opt, optarg))
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
			if (!parse_since(&opt, optarg))
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
		raise_status(stats_print(&tally, &names, opt.json));
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "redial-log: writing output: %s\n", strerror(errno));
		raise_status(EXIT_IO);
	}
	for (size_t i = 0; i < names.cap; i++)
		free(names.ent[i].val);
	rd_u64map_free(&names);
	stats_free(&tally);
	rd_sb_free(&out);
	return status;
}
