/* demo.c — `redial demo`: the whole product in a few seconds, with no setup and no network.
 * Starts a loopback target farm in a child process, runs redial against it with the live
 * status, then prints the summary, a table per target and a few decoded log records.
 *
 * The targets and settings are chosen so that, within three seconds, every run shows a
 * timeout, an alert, a give-up and a reconnect after several attempts (see the timings in
 * the comment above demo_opts). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "farm.h"
#include "farm_pki.h"
#include "log/reader.h"
#include "log/render.h"
#include "redial_log.h"

#define DEMO_DEFAULT_ENDPOINTS 100
#define DEMO_MAX_ENDPOINTS 5000
#define DEMO_DEFAULT_DURATION_NS REDIAL_SEC(7)
/* The "recover" target refuses until this long after the start, then accepts. */
#define RECOVER_AT_NS REDIAL_MSEC(800)

/* The demo's settings, and why they make the story certain:
 *  - equal jitter keeps every wait in [cap/2, cap], with caps 100, 200, 400, 800, 1000 ms;
 *  - a refused endpoint fails at once, so its 5th failure (the alert) comes by 0.1 + 0.2 +
 *    0.4 + 0.8 = 1.5 s and its 6th (the give-up, max-attempts 6) by 2.5 s;
 *  - a blackholed attempt times out (ETIMEDOUT) at 400 ms;
 *  - a "recover" endpoint has failed at least 3 times by 0.3 s and cannot reach its 6th
 *    attempt before 0.05 + 0.1 + 0.2 + 0.4 + 0.5 = 1.25 s, so once its target starts
 *    accepting at 0.8 s its next attempt connects: "reconnected after N attempts", N >= 4. */
static void demo_opts(struct redial_endpoint_opts *o)
{
	o->connect_timeout_ns = REDIAL_MSEC(400);
	o->backoff_initial_ns = REDIAL_MSEC(100);
	o->backoff_max_ns = REDIAL_MSEC(1000);
	o->backoff_multiplier = 2.0;
	o->backoff_jitter = REDIAL_JITTER_EQUAL;
	o->backoff_max_attempts = 6;
	o->alert_after = 5;
	o->stable_after_ns = REDIAL_MSEC(1000);
}

enum group {
	G_ACCEPT,
	G_DROP,
	G_SLOW,
	G_REFUSE,
	G_BLACKHOLE,
	G_RECOVER,
	G_TLS,
	G_TLS_EXPIRED,
	G_TLS_RESUME,
	G_COUNT
};

/* The TLS groups' certificates (made at run time) and behaviour; their endpoints are
 * tls://, verified against the demo's CA by the name redial.test (every endpoint has its own
 * 127.0.X.Y address, which the certificate does not list). A tls-resume connection is closed
 * (close_notify) 1.5 s after its handshake, and is up long enough to count as stable, so it
 * reconnects after a jittered 50-100 ms and resumes its session: by 1.7 s. */
static const struct {
	enum farm_cert cert;
	uint32_t hold_ms;
} tls_groups[G_COUNT] = {
	[G_TLS] = { FARM_CERT_VALID, 0 },
	[G_TLS_EXPIRED] = { FARM_CERT_EXPIRED, 0 },
	[G_TLS_RESUME] = { FARM_CERT_VALID, 1500 },
};
#define IS_TLS_GROUP(g) ((g) >= G_TLS)

static const struct {
	const char *name;
	const char *spec; /* farm_spec_parse syntax; NULL: the demo's own socket */
	unsigned percent; /* share of the endpoints */
	const char *behaviour;
} groups[G_COUNT] = {
	[G_ACCEPT] = { "accept", "accept", 24, "accepts and holds every connection" },
	[G_DROP] = { "drop", "drop:2000:rst", 12, "accepts, resets each connection after 2 s" },
	[G_SLOW] = { "slow", "slow:20:backlog=2", 12, "accepts 20 connections/s, backlog 2" },
	[G_REFUSE] = { "refuse", "refuse", 12, "refuses every connect (ECONNREFUSED)" },
	[G_BLACKHOLE] = { "blackhole", "blackhole", 12, "never answers: attempts time out" },
	[G_RECOVER] = { "recover", NULL, 10, "refuses until 0.8 s, then accepts" },
	[G_TLS] = { "tls", "tls", 6, "TLS: verifies, holds the connection" },
	[G_TLS_EXPIRED] = { "tls-expired", "tls", 6,
			    "TLS, expired certificate: given up at once, permanent" },
	[G_TLS_RESUME] = { "tls-resume", "tls", 6,
			   "TLS, closes after 1.5 s: the reconnect resumes the session" },
};

struct demo {
	struct farm *farm;
	struct farm_pki *pki;
	int recover_fd;
	bool recovered;
	uint16_t port[G_COUNT];
	size_t count[G_COUNT];
};

static void demo_tick(void *arg, uint64_t elapsed_ns)
{
	struct demo *d = arg;
	if (!d->recovered && elapsed_ns >= RECOVER_AT_NS) {
		/* The port was bound but not listening, so connects got an RST; from now on
		 * the kernel completes them into this queue, which is never accepted from and
		 * is large enough for every endpoint of the group. */
		if (listen(d->recover_fd, SOMAXCONN) < 0)
			fprintf(stderr, "redial demo: listen: %s\n", strerror(errno));
		d->recovered = true;
	}
}

/* A port bound on every address but not listening, for the "recover" group. */
static int bound_socket(uint16_t *ret_port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY) };
	socklen_t len = sizeof(sa);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	*ret_port = ntohs(sa.sin_port);
	return fd;
}

static int start_targets(struct demo *d)
{
	struct farm_target_spec specs[G_COUNT];
	size_t map[G_COUNT], n = 0;
	int ret;

	for (int g = 0; g < G_COUNT; g++) {
		if (!groups[g].spec)
			continue;
		if ((ret = farm_spec_parse(groups[g].spec, &specs[n])) < 0)
			return ret;
		if (IS_TLS_GROUP(g)) {
			if (!d->pki && (ret = farm_pki_create(FARM_KEY_EC_P256, &d->pki)) < 0)
				return ret;
			specs[n].tls_cert = d->pki->cert[tls_groups[g].cert];
			specs[n].tls_key = d->pki->key[tls_groups[g].cert];
			specs[n].hold_ms = tls_groups[g].hold_ms;
		}
		map[n++] = (size_t)g;
	}
	if ((ret = farm_start(specs, n, &d->farm)) < 0)
		return ret;
	for (size_t i = 0; i < n; i++)
		d->port[map[i]] = farm_port(d->farm, i);
	ret = bound_socket(&d->port[G_RECOVER]);
	if (ret < 0)
		return ret;
	d->recover_fd = ret;
	return 0;
}

/* Splits n endpoints over the groups by their shares, at least one each, and adds them
 * with one loopback address each (127.0.X.Y), so every connection has its own 4-tuple
 * and the summary can name each endpoint apart. */
static int make_endpoints(struct demo *d, struct cli_settings *s, size_t n)
{
	size_t given = 0;
	for (int g = 0; g < G_COUNT; g++) {
		d->count[g] = n * groups[g].percent / 100;
		if (d->count[g] == 0)
			d->count[g] = 1;
		given += d->count[g];
	}
	/* Rounding: the rest (or the excess) goes to the accepting group. */
	if (given < n)
		d->count[G_ACCEPT] += n - given;
	else if (given > n)
		d->count[G_ACCEPT] -= given - n; /* n >= G_COUNT and accept's share is largest */
	size_t k = 0;
	for (int g = 0; g < G_COUNT; g++) {
		for (size_t i = 0; i < d->count[g]; i++, k++) {
			char ep[64];
			int len = snprintf(ep, sizeof(ep), "%s127.0.%zu.%zu:%u",
					   IS_TLS_GROUP(g) ? "tls://" : "", k / 250, 1 + k % 250,
					   (unsigned)d->port[g]);
			if (cli_endpoint_push(s, ep, (size_t)len, NULL, (unsigned)k + 1, g) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

static void print_targets(const struct demo *d, const struct cli_settings *s)
{
	printf("redial demo: %zu endpoints against a loopback target farm (child pid %d), "
	       "for %.1f s\n\n",
	       s->neps, (int)farm_pid(d->farm), (double)s->duration_ns / 1e9);
	printf("Targets\n  %-11s %6s %10s  %s\n", "target", "port", "endpoints", "behaviour");
	for (int g = 0; g < G_COUNT; g++)
		printf("  %-11s %6u %10zu  %s\n", groups[g].name, (unsigned)d->port[g], d->count[g],
		       groups[g].behaviour);
	const struct redial_endpoint_opts *o = &s->ep;
	printf("\nSettings, as flags of redial: --connect-timeout %" PRIu64
	       " --backoff-initial %" PRIu64 " --backoff-max %" PRIu64
	       " --backoff-multiplier %g --jitter equal --max-attempts %" PRIu32
	       " --alert-after %" PRIu32 " --stable-after %" PRIu64 "\n\n",
	       o->connect_timeout_ns / 1000000, o->backoff_initial_ns / 1000000,
	       o->backoff_max_ns / 1000000, o->backoff_multiplier, o->backoff_max_attempts,
	       o->alert_after, o->stable_after_ns / 1000000);
	printf("TLS endpoints (tls://): --tls-ca %s --tls-sni %s (certificates made for this "
	       "run)\n\n",
	       s->tls.ca, s->tls.sni);
	if (isatty(STDOUT_FILENO) != 1)
		printf("(stdout is not a terminal: no live status line)\n\n");
	fflush(stdout);
}

static void print_groups(const struct demo *d, const struct cli_settings *s,
			 const struct cli_result *res)
{
	printf("\nPer target, at the end\n  %-11s %5s %5s %6s %7s %6s %8s %8s %8s %6s  %s\n",
	       "target", "eps", "up", "conn", "backoff", "failed", "attempts", "connects",
	       "failures", "drops", "errors");
	for (int g = 0; g < G_COUNT; g++) {
		uint64_t st[REDIAL_STATE_COUNT] = { 0 }, att = 0, con = 0, fail = 0, disc = 0;
		struct {
			int err;
			uint64_t n;
		} errs[4] = { { 0, 0 } };
		for (size_t i = 0; i < s->neps; i++) {
			const struct cli_endpoint *e = &s->eps[i];
			if (e->group != g)
				continue;
			st[e->st.state]++;
			att += e->st.attempts;
			con += e->st.connects;
			fail += e->st.failures;
			disc += e->st.disconnects;
			for (size_t k = 0; k < e->nerr; k++) {
				const struct redial_errno_count *ec = &res->errs[e->err_off + k];
				for (size_t j = 0; j < 4; j++) {
					if (errs[j].n == 0 || errs[j].err == ec->err) {
						errs[j].err = ec->err;
						errs[j].n += ec->count;
						break;
					}
				}
			}
		}
		printf("  %-11s %5zu %5" PRIu64 " %6" PRIu64 " %7" PRIu64 " %6" PRIu64 " %8" PRIu64
		       " %8" PRIu64 " %8" PRIu64 " %6" PRIu64 " ",
		       groups[g].name, d->count[g], st[REDIAL_STATE_CONNECTED],
		       st[REDIAL_STATE_CONNECTING] + st[REDIAL_STATE_IDLE] + st[REDIAL_STATE_QUEUED],
		       st[REDIAL_STATE_BACKOFF], st[REDIAL_STATE_FAILED], att, con, fail, disc);
		if (errs[0].n == 0)
			printf(" -");
		for (size_t j = 0; j < 4 && errs[j].n; j++) {
			char eb[16];
			printf(" %s %" PRIu64, cli_errno_label(errs[j].err, eb, sizeof(eb)),
			       errs[j].n);
		}
		putchar('\n');
	}
}

/* ---- The event log, read back ---------------------------------------------------------------- */

struct id_index {
	redial_id_t id;
	size_t i;
};

static int id_cmp(const void *a, const void *b)
{
	const struct id_index *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

enum pick {
	P_CONNECTED,
	P_REFUSED,
	P_TIMEOUT,
	P_ALERT,
	P_GAVE_UP,
	P_RECONNECTED,
	P_DISCONNECTED,
	P_TLS_FAILED,
	P_RESUMED,
	P_COUNT,
};

#define LAST_SHOWN 3

struct picked {
	struct rd_strbuf line;
	uint64_t mono_ns;
	uint64_t seq; /* its place in the log: the order of events with the same time */
	bool have;
};

static int pick_of(const struct rd_log_record *rec, const struct rd_log_event *ev)
{
	switch (rec->type) {
	case REDIAL_LOG_CONNECT_FAILED:
		if (ev->err == ECONNREFUSED)
			return P_REFUSED;
		if (ev->err == ETIMEDOUT)
			return P_TIMEOUT;
		if (ev->err >= REDIAL_E_TLS_CERT_UNTRUSTED && ev->err <= REDIAL_E_TLS_ERROR)
			return P_TLS_FAILED;
		return -1;
	case REDIAL_LOG_ALERT:
		return P_ALERT;
	case REDIAL_LOG_GAVE_UP:
		return P_GAVE_UP;
	case REDIAL_LOG_CONNECTED:
		if (ev->tls && ev->resumed)
			return P_RESUMED;
		return ev->attempt > 1 ? P_RECONNECTED : P_CONNECTED;
	case REDIAL_LOG_DISCONNECTED:
		return P_DISCONNECTED;
	default:
		return -1;
	}
}

/* One record as redial-log prints it, with the wall-clock time swapped for the time since
 * the start and the endpoint's target appended. */
static void render(struct rd_strbuf *out, const struct rd_log_item *it,
		   const struct rd_log_event *ev, const struct cli_endpoint *e, uint64_t start)
{
	struct rd_strbuf tmp = { 0 };
	rd_log_render_text(&tmp, it, ev, e ? e->text : NULL, e ? strlen(e->text) : 0);
	out->len = 0;
	if (out->p)
		out->p[0] = '\0';
	uint64_t t = it->rec.mono_ns > start ? it->rec.mono_ns - start : 0;
	char when[32];
	snprintf(when, sizeof(when), "+%.3fs", (double)t / 1e9);
	rd_sb_printf(out, "  %-9s ", when);
	if (tmp.p) {
		const char *rest = strchr(tmp.p, ' ');
		rest = rest ? rest + 1 : tmp.p;
		size_t n = strlen(rest);
		while (n && rest[n - 1] == '\n')
			n--;
		rd_sb_put(out, rest, n);
	}
	if (e && e->group >= 0)
		rd_sb_printf(out, "   [%s]", groups[e->group].name);
	rd_sb_free(&tmp);
}

static int show_log(const char *path, off_t from, const struct cli_settings *s,
		    const struct cli_result *res, bool kept)
{
	struct id_index *ids = calloc(s->neps ? s->neps : 1, sizeof(*ids));
	struct picked picks[P_COUNT];
	struct rd_strbuf last[LAST_SHOWN];
	uint64_t nlast = 0, stop = res->started_mono_ns + res->duration_ns;
	uint64_t by_type[REDIAL_LOG_RESOLVED + 1] = { 0 }, records = 0, damaged = 0;
	struct rd_log_reader *rd = NULL;
	int ret = 0;

	memset(picks, 0, sizeof(picks));
	memset(last, 0, sizeof(last));
	if (!ids)
		return -ENOMEM;
	for (size_t i = 0; i < s->neps; i++)
		ids[i] = (struct id_index){ s->eps[i].id, i };
	qsort(ids, s->neps, sizeof(*ids), id_cmp);

	/* From where this run's segment starts: an existing --log file keeps older runs,
	 * whose endpoint ids mean other endpoints. */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || lseek(fd, from, SEEK_SET) < 0) {
		ret = -errno;
		goto out;
	}
	if ((ret = rd_log_reader_fd(fd, false, &rd)) < 0)
		goto out;
	for (;;) {
		struct rd_log_item it;
		struct rd_log_event ev;
		ret = rd_log_reader_next(rd, &it);
		if (ret <= 0)
			break;
		if (it.kind == RD_LOG_ITEM_CORRUPT || it.kind == RD_LOG_ITEM_TORN) {
			damaged++;
			continue;
		}
		if (it.kind != RD_LOG_ITEM_RECORD || rd_log_decode(&it.rec, &ev) < 0)
			continue;
		records++;
		if (it.rec.type <= REDIAL_LOG_RESOLVED)
			by_type[it.rec.type]++;
		struct id_index key = { it.rec.id, 0 };
		const struct id_index *hit = bsearch(&key, ids, s->neps, sizeof(*ids), id_cmp);
		const struct cli_endpoint *e = hit ? &s->eps[hit->i] : NULL;
		/* The first record of each kind tells the story; the last few show the end. */
		int p = pick_of(&it.rec, &ev);
		if (p >= 0 && !picks[p].have) {
			render(&picks[p].line, &it, &ev, e, res->started_mono_ns);
			picks[p].mono_ns = it.rec.mono_ns;
			picks[p].seq = records;
			picks[p].have = true;
		}
		if (it.rec.mono_ns < stop) {
			render(&last[nlast % LAST_SHOWN], &it, &ev, e, res->started_mono_ns);
			nlast++;
		}
	}
	if (ret < 0)
		goto out;

	printf("\nEvent log: %" PRIu64 " records%s, read back with the log reader%s\n  ", records,
	       damaged ? " (DAMAGED regions found)" : "",
	       kept ? "" : " (a temporary file; pass --log FILE to keep it)");
	static const int order[] = { REDIAL_LOG_ENDPOINT_ADDED, REDIAL_LOG_CONNECT_FAILED,
				     REDIAL_LOG_CONNECTED,	REDIAL_LOG_DISCONNECTED,
				     REDIAL_LOG_ALERT,		REDIAL_LOG_GAVE_UP,
				     REDIAL_LOG_CANCELLED,	REDIAL_LOG_DROPPED };
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (by_type[order[i]])
			printf("%s %" PRIu64 "  ", rd_log_type_name((uint16_t)order[i]),
			       by_type[order[i]]);
	printf("\nThe first record of each kind, in time order:\n");
	/* Selection sort over a few entries, by time. */
	bool done[P_COUNT] = { false };
	for (;;) {
		int best = -1;
		for (int p = 0; p < P_COUNT; p++)
			if (picks[p].have && !done[p] &&
			    (best < 0 || picks[p].mono_ns < picks[best].mono_ns ||
			     (picks[p].mono_ns == picks[best].mono_ns &&
			      picks[p].seq < picks[best].seq)))
				best = p;
		if (best < 0)
			break;
		done[best] = true;
		printf("%s\n", picks[best].line.p ? picks[best].line.p : "");
	}
	printf("The last records before the stop (the shutdown then cancelled %" PRIu64
	       " endpoints):\n",
	       by_type[REDIAL_LOG_CANCELLED]);
	for (uint64_t i = nlast > LAST_SHOWN ? nlast - LAST_SHOWN : 0; i < nlast; i++)
		printf("%s\n", last[i % LAST_SHOWN].p ? last[i % LAST_SHOWN].p : "");
	if (kept)
		printf("Every record: redial-log %s   (or --json, --stats)\n", path);
	ret = 0;
out:
	for (int p = 0; p < P_COUNT; p++)
		rd_sb_free(&picks[p].line);
	for (int i = 0; i < LAST_SHOWN; i++)
		rd_sb_free(&last[i]);
	rd_log_reader_free(rd);
	if (fd >= 0)
		close(fd);
	free(ids);
	return ret;
}

/* ---- main ------------------------------------------------------------------------------------ */

static const char demo_usage[] =
	"Usage: redial demo [--endpoints N] [--duration SEC] [--log FILE] [--summary FILE]\n"
	"\n"
	"Starts a loopback target farm in a child process (targets that accept, drop after a\n"
	"while, accept slowly, refuse, blackhole, one that recovers, and TLS targets: one that\n"
	"verifies, one with an expired certificate, one whose reconnects resume), runs redial\n"
	"against it with the live status, then prints the summary and a few decoded log\n"
	"records.\n"
	"\n"
	"  --endpoints N     endpoints in all, 9 to 5000 (default 100)\n"
	"  --duration SEC    how long to run (default 7)\n"
	"  --log FILE        keep the event log in FILE (default: a temporary file)\n"
	"  --summary FILE    also write the JSON summary to FILE ('-': stdout)\n"
	"  -h, --help        this text\n";

static int demo_usage_error(void)
{
	fprintf(stderr, "Try 'redial demo --help'.\n");
	return CLI_EXIT_USAGE;
}

int cli_demo(int argc, char **argv)
{
	enum { O_ENDPOINTS = 256, O_DURATION, O_LOG, O_SUMMARY };
	static const struct option longopts[] = {
		{ "endpoints", required_argument, NULL, O_ENDPOINTS },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "log", required_argument, NULL, O_LOG },
		{ "summary", required_argument, NULL, O_SUMMARY },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_settings s;
	struct demo d = { .recover_fd = -1 };
	struct cli_result res;
	uint64_t n = DEMO_DEFAULT_ENDPOINTS;
	char tmp_log[] = "/tmp/redial-demo-XXXXXX.log";
	bool tmp = false;
	int c, status, sigfd = -1;

	cli_settings_init(&s);
	demo_opts(&s.ep);
	s.duration_ns = DEMO_DEFAULT_DURATION_NS;
	memset(&res, 0, sizeof(res));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		const char *flag = argv[optind - 1];
		switch (c) {
		case O_ENDPOINTS:
			if (!cli_parse_uint("--endpoints", optarg, G_COUNT, DEMO_MAX_ENDPOINTS, NULL,
					    &n))
				return demo_usage_error();
			break;
		case O_DURATION:
			if (!cli_parse_seconds("--duration", optarg, &s.duration_ns))
				return demo_usage_error();
			break;
		case O_LOG:
			s.log_path = optarg;
			break;
		case O_SUMMARY:
			s.summary_path = optarg;
			break;
		case 'h':
			fputs(demo_usage, stdout);
			return CLI_EXIT_OK;
		case ':':
			fprintf(stderr, "redial demo: option '%s' needs a value\n", flag);
			return demo_usage_error();
		default:
			fprintf(stderr, "redial demo: unknown option '%s'\n", flag);
			return demo_usage_error();
		}
	}
	if (optind < argc) {
		fprintf(stderr, "redial demo: unexpected argument '%s'\n", argv[optind]);
		return demo_usage_error();
	}

	if ((sigfd = cli_signals_init()) < 0)
		return CLI_EXIT_RUNTIME;
	if (!s.log_path) {
		/* The reader needs a file; a private temporary one, removed at the end. */
		const char *dir = getenv("TMPDIR");
		char *path = NULL;
		int fd = -1;
		if (dir && *dir && asprintf(&path, "%s/redial-demo-XXXXXX.log", dir) > 0) {
			fd = mkstemps(path, 4);
			if (fd >= 0 && strlen(path) < sizeof(tmp_log)) {
				memcpy(tmp_log, path, strlen(path) + 1);
			} else if (fd >= 0) {
				close(fd);
				unlink(path);
				fd = -1;
			}
		}
		free(path);
		if (fd < 0)
			fd = mkstemps(tmp_log, 4);
		if (fd < 0) {
			fprintf(stderr, "redial demo: cannot make a temporary log file: %s\n",
				strerror(errno));
			close(sigfd);
			return CLI_EXIT_RUNTIME;
		}
		close(fd);
		s.log_path = tmp_log;
		tmp = true;
	}

	struct stat sb;
	off_t log_start = stat(s.log_path, &sb) == 0 ? sb.st_size : 0;
	int ret = start_targets(&d);
	if (ret < 0) {
		fprintf(stderr, "redial demo: cannot start the target farm: %s\n", strerror(-ret));
		status = CLI_EXIT_RUNTIME;
		goto out;
	}
	s.tls.ca = d.pki->ca;
	s.tls.sni = "redial.test";
	if (make_endpoints(&d, &s, (size_t)n) < 0) {
		fprintf(stderr, "redial demo: out of memory\n");
		status = CLI_EXIT_RUNTIME;
		goto out;
	}
	print_targets(&d, &s);

	struct cli_run_hooks hooks = {
		.tick = demo_tick,
		.tick_arg = &d,
		.text_summary = true,
	};
	status = cli_run(&s, sigfd, &hooks, &res);
	if (status == CLI_EXIT_OK || res.have_log) {
		print_groups(&d, &s, &res);
		if ((ret = show_log(s.log_path, log_start, &s, &res, !tmp)) < 0)
			fprintf(stderr, "redial demo: reading the log %s: %s\n", s.log_path,
				strerror(-ret));
	}
	fflush(stdout);
out:
	if (tmp)
		unlink(tmp_log);
	farm_stop(d.farm);
	farm_pki_destroy(d.pki);
	if (d.recover_fd >= 0)
		close(d.recover_fd);
	cli_result_free(&res);
	cli_settings_free(&s);
	close(sigfd);
	return status;
}
