/* soak.c — `make soak`: redial through its public API (redial.h, redial_log.h) for SOAK_S
 * seconds against a loopback farm whose behaviour keeps changing, with endpoints added,
 * cancelled, restarted and removed all the time, and a host name served by a dnsmasq on
 * 127.0.0.1 whose records change.
 *
 * The farm: targets that accept and hold, refuse, blackhole, flap (accept, close after a
 * while), reset (accept, then RST) and accept-and-close; every phase (a few seconds) the
 * held connections are dropped, a share of the endpoints move to another target, and the
 * name's records switch between an IPv4 address (a target that accepts), an IPv6 address
 * (a blackhole on the same port), both, and none (NXDOMAIN).
 *
 * Every check interval (60 s, or SOAK_S/30 for short runs) it checks, and prints one line:
 *  - RSS, open descriptors (less the connections the manager holds) and in-flight
 *    operations stay flat: bounded growth over the first check's figures;
 *  - no event arrived for an endpoint after its cancel or remove returned (checked on
 *    every event), and the manager's stale_cqes and events_lost stay 0;
 *  - the log, flushed, decodes cleanly with `redial-log` (REDIAL_LOG_BIN).
 * Exits 0, or 1 at the first violation (said on stderr), 2 on a setup error. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "farm.h"
#include "redial.h"
#include "redial_log.h"
#include "testutil.h"

#define N_EPS 400		     /* endpoints live at any time */
#define PHASE_NS REDIAL_SEC(3)	     /* the farm and the name change this often */
#define CHURN_NS REDIAL_MSEC(100)    /* endpoints are removed/added/cancelled this often */
#define CHURN_PER_TICK 6
#define RSS_SLACK (16u << 20)	     /* growth allowed over the first check */
#define FD_SLACK 32
#define LOG_ROTATE (16u << 20)

enum tgt { T_ACCEPT, T_REFUSE, T_BLACKHOLE, T_FLAP, T_RESET, T_ACCEPT_CLOSE, T_NAME, T_COUNT };
static const char *const tgt_names[T_COUNT] = { "accept", "refuse", "blackhole", "flap",
						"reset", "acceptclose", "name" };

enum ep_state { EP_FREE, EP_LIVE, EP_CANCELLING, EP_CANCELLED, EP_REMOVING };

struct ep {
	redial_id_t id;
	enum ep_state st;
	enum tgt tgt;
};

static struct {
	redial_t *r;
	struct redial_log *log;
	struct farm *farm;
	struct tu_dnsmasq dns;
	bool dns_up;
	uint16_t port[T_COUNT];
	struct ep eps[N_EPS];
	uint64_t events[8];
	uint64_t adds, removes, cancels, starts, table_full;
	char violation[512];
	uint64_t rng;
	char log_path[128], *dir;
} S;

static uint32_t rnd(uint32_t n)
{
	S.rng ^= S.rng << 13;
	S.rng ^= S.rng >> 7;
	S.rng ^= S.rng << 17;
	return (uint32_t)(S.rng % n);
}

static void violate(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void violate(const char *fmt, ...)
{
	if (S.violation[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(S.violation, sizeof(S.violation), fmt, ap);
	va_end(ap);
}

/* Every event: its endpoint must be one we have, in a state that may still see events. */
static void on_event(redial_t *r, const struct redial_event *ev, void *user)
{
	(void)r;
	(void)user;
	if ((unsigned)ev->type < 8)
		S.events[ev->type]++;
	struct ep *e = ev->user;
	if (!e || e < S.eps || e >= S.eps + N_EPS) {
		violate("an event (%s) with a user pointer that is no endpoint of ours",
			redial_event_name(ev->type));
		return;
	}
	if (e->id != ev->id) {
		violate("%s for id %#" PRIx64 " after its remove returned (slot now %#" PRIx64 ")",
			redial_event_name(ev->type), ev->id, e->id);
		return;
	}
	switch (e->st) {
	case EP_LIVE:
		break;
	case EP_CANCELLING:
	case EP_REMOVING:
		/* Inside cancel or remove: only their CANCELLED. */
		if (ev->type != REDIAL_EV_CANCELLED)
			violate("%s during the cancel of %#" PRIx64, redial_event_name(ev->type),
				ev->id);
		break;
	case EP_CANCELLED:
	case EP_FREE:
		violate("%s for %#" PRIx64 " after its cancel returned", redial_event_name(ev->type),
			ev->id);
		break;
	}
}

static void target_string(enum tgt t, char *buf, size_t len)
{
	if (t == T_NAME)
		snprintf(buf, len, "soak.test:%u", S.port[t]);
	else /* every 127.x reaches the farm's wildcard listeners */
		snprintf(buf, len, "127.%u.%u.%u:%u", 1 + rnd(200), rnd(250), 1 + rnd(250),
			 S.port[t]);
}

static int add_at(struct ep *e, enum tgt t)
{
	struct redial_endpoint_opts o;
	redial_endpoint_opts_init(&o);
	o.connect_timeout_ns = REDIAL_MSEC(300 + rnd(400));
	o.backoff_initial_ns = REDIAL_MSEC(20);
	o.backoff_max_ns = REDIAL_MSEC(1000);
	o.stable_after_ns = REDIAL_MSEC(200);
	o.alert_after = 3;
	o.backoff_max_attempts = rnd(4) == 0 ? 4 : 0; /* some give up, to be re-added */
	o.user = e;
	char ep[64], err[256];
	target_string(t, ep, sizeof(ep));
	e->st = EP_LIVE;
	e->tgt = t;
	int ret = redial_endpoint_add(S.r, ep, &o, &e->id, err, sizeof(err));
	if (ret < 0) {
		e->st = EP_FREE;
		e->id = 0;
		/* A removed endpoint's slot is free again once its last operation completed:
		 * a full table is a moment, the slot is tried again later. */
		if (ret == -ENOSPC) {
			S.table_full++;
			return ret;
		}
		violate("adding %s: %s", ep, *err ? err : strerror(-ret));
		return ret;
	}
	S.adds++;
	return 0;
}

static void remove_ep(struct ep *e)
{
	e->st = EP_REMOVING;
	int ret = redial_endpoint_remove(S.r, e->id);
	if (ret < 0)
		violate("remove of %#" PRIx64 ": %s", e->id, strerror(-ret));
	e->st = EP_FREE;
	e->id = 0; /* any later event for the old id now fails the id check */
	S.removes++;
}

static void cancel_ep(struct ep *e)
{
	e->st = EP_CANCELLING;
	int ret = redial_endpoint_cancel(S.r, e->id);
	if (ret < 0 && ret != -EALREADY)
		violate("cancel of %#" PRIx64 ": %s", e->id, strerror(-ret));
	e->st = EP_CANCELLED;
	S.cancels++;
}

static void start_ep(struct ep *e)
{
	e->st = EP_LIVE; /* events may come from now on */
	int ret = redial_endpoint_start(S.r, e->id);
	if (ret < 0 && ret != -EALREADY)
		violate("start of %#" PRIx64 ": %s", e->id, strerror(-ret));
	S.starts++;
}

/* A few endpoints per tick: removed and added elsewhere, cancelled, restarted; endpoints
 * that gave up (FAILED) are restarted or replaced. */
static void churn(void)
{
	for (int k = 0; k < CHURN_PER_TICK; k++) {
		struct ep *e = &S.eps[rnd(N_EPS)];
		switch (e->st) {
		case EP_FREE:
			add_at(e, (enum tgt)rnd(T_COUNT));
			break;
		case EP_CANCELLED:
			if (rnd(2))
				start_ep(e);
			else
				remove_ep(e);
			break;
		case EP_LIVE: {
			uint32_t what = rnd(3);
			if (what == 0) {
				remove_ep(e);
				add_at(e, (enum tgt)rnd(T_COUNT));
			} else if (what == 1) {
				cancel_ep(e);
			} else {
				struct redial_endpoint_stats st = { .size = sizeof(st) };
				if (redial_endpoint_stats_get(S.r, e->id, &st) == 0 &&
				    st.state == REDIAL_STATE_FAILED)
					start_ep(e);
			}
			break;
		}
		default:
			break;
		}
	}
}

static const char *const name_records[] = {
	"127.0.0.1 soak.test\n::1 soak.test\n", /* both: IPv6 (blackhole) raced by IPv4 */
	"127.0.0.1 soak.test\n",		 /* accepts */
	"::1 soak.test\n",			 /* times out */
	"",					 /* NXDOMAIN */
};

static unsigned phase_no;

/* The farm and the name change: held connections are dropped (reconnects), a share of the
 * endpoints move to another target, the name's records switch. */
static void phase(void)
{
	phase_no++;
	farm_drop_all(S.farm, T_ACCEPT);
	farm_drop_all(S.farm, T_NAME);
	for (int i = 0; i < N_EPS / 10; i++) {
		struct ep *e = &S.eps[rnd(N_EPS)];
		if (e->st == EP_LIVE) {
			remove_ep(e);
			add_at(e, (enum tgt)rnd(T_COUNT));
		}
	}
	char why[256];
	if (S.dns_up &&
	    tu_dnsmasq_reload_err(&S.dns, name_records[phase_no % 4], why, sizeof(why)) < 0)
		violate("dnsmasq: %s", why);
}

/* ---- Measurements --------------------------------------------------------------------- */

static uint64_t rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "re");
	unsigned long size = 0, res = 0;
	if (f) {
		if (fscanf(f, "%lu %lu", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Flushes the log and decodes every file of it with redial-log --stats; true when it exits
 * 0 (no torn, corrupt or unknown data). *ret_records: the records it counted. */
static bool log_decodes(uint64_t *ret_records, char *why, size_t whylen)
{
	int ret = redial_log_flush(S.log, REDIAL_SEC(30));
	if (ret < 0) {
		snprintf(why, whylen, "redial_log_flush: %s", strerror(-ret));
		return false;
	}
	const char *bin = getenv("REDIAL_LOG_BIN");
	if (!bin || !*bin) {
		snprintf(why, whylen, "REDIAL_LOG_BIN is not set");
		return false;
	}
	char out[160], cmd[1024];
	snprintf(out, sizeof(out), "%s/decode.out", S.dir);
	/* Oldest first: path.3 path.2 path.1 path (those that exist). */
	int n = snprintf(cmd, sizeof(cmd), "'%s' --stats", bin);
	for (int k = 3; k >= 0; k--) {
		char p[160];
		struct stat sb;
		if (k)
			snprintf(p, sizeof(p), "%s.%d", S.log_path, k);
		else
			snprintf(p, sizeof(p), "%s", S.log_path);
		if (stat(p, &sb) == 0)
			n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, " '%s'", p);
	}
	snprintf(cmd + n, sizeof(cmd) - (size_t)n, " >'%s' 2>&1", out);
	int st = system(cmd);
	FILE *f = fopen(out, "re");
	char text[4096] = "";
	size_t len = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
	text[len] = '\0';
	if (f)
		fclose(f);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(why, whylen, "redial-log exit %d: %.300s",
			 st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1, text);
		return false;
	}
	/* "records N" (the text --stats starts with the record count). */
	unsigned long long recs = 0;
	const char *p = strstr(text, "records");
	if (p)
		sscanf(p, "records%*[^0-9]%llu", &recs);
	*ret_records = recs;
	return true;
}

struct baseline {
	bool set;
	uint64_t rss;
	int fds;
};

static bool check(struct baseline *b, unsigned no, unsigned total, uint64_t elapsed_ns)
{
	struct redial_stats st = { .size = sizeof(st) };
	redial_stats_get(S.r, &st);
	uint64_t rss = rss_bytes();
	int fds = tu_try_count_fds();
	int own_fds = fds - (int)st.fds_open; /* connections the manager holds come and go */
	char why[512] = "", logwhy[400] = "";
	uint64_t recs = 0;
	bool log_ok = log_decodes(&recs, logwhy, sizeof(logwhy));
	struct redial_log_stats ls = { .size = sizeof(ls) };
	redial_log_stats_get(S.log, &ls);

	if (!b->set) {
		b->set = true;
		b->rss = rss;
		b->fds = own_fds;
	}
	if (S.violation[0])
		snprintf(why, sizeof(why), "%s", S.violation);
	else if (!log_ok)
		snprintf(why, sizeof(why), "the log does not decode: %s", logwhy);
	else if (rss > b->rss + RSS_SLACK)
		snprintf(why, sizeof(why), "RSS grew from %.1f to %.1f MiB", b->rss / 1048576.0,
			 rss / 1048576.0);
	else if (own_fds > b->fds + FD_SLACK)
		snprintf(why, sizeof(why), "open descriptors grew from %d to %d", b->fds, own_fds);
	else if (st.inflight_ops > 4u * N_EPS + 64)
		snprintf(why, sizeof(why), "%" PRIu64 " operations in flight for %d endpoints",
			 st.inflight_ops, N_EPS);
	else if (st.attempts_inflight > N_EPS)
		snprintf(why, sizeof(why), "%u attempts in flight for %d endpoints",
			 st.attempts_inflight, N_EPS);
	else if (st.stale_cqes || st.events_lost)
		snprintf(why, sizeof(why), "stale_cqes %" PRIu64 ", events_lost %" PRIu64,
			 st.stale_cqes, st.events_lost);

	printf("soak: %4.0fs check %2u/%u: rss %.1f MiB (first %.1f), fds %d+%u held (first %d), "
	       "in flight %" PRIu64 " ops %u attempts, %u endpoints (%u up), "
	       "attempts %" PRIu64 " connects %" PRIu64 " gave_up %" PRIu64 ", "
	       "adds %" PRIu64 " removes %" PRIu64 " cancels %" PRIu64 ", "
	       "log %" PRIu64 " records (%" PRIu64 " dropped)%s: %s\n",
	       elapsed_ns / 1e9, no, total, rss / 1048576.0, b->rss / 1048576.0, own_fds,
	       st.fds_open, b->fds, st.inflight_ops, st.attempts_inflight, st.endpoints,
	       st.by_state[REDIAL_STATE_CONNECTED], st.attempts, st.connects, st.gave_up,
	       S.adds, S.removes, S.cancels, recs, ls.dropped, log_ok ? " decodes" : "",
	       why[0] ? "VIOLATION" : "ok");
	fflush(stdout);
	if (why[0]) {
		fprintf(stderr, "soak: VIOLATION: %s\n", why);
		return false;
	}
	return true;
}

/* ---- Setup ------------------------------------------------------------------------------ */

static int setup(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* The name's port: an IPv4 target that accepts and an IPv6 blackhole on the same
	 * number, so its records decide the outcome. Found by a first farm on a free port. */
	struct farm_target_spec specs[T_COUNT + 1];
	memset(specs, 0, sizeof(specs));
	specs[T_ACCEPT].kind = FARM_ACCEPT;
	specs[T_REFUSE].kind = FARM_REFUSE;
	specs[T_BLACKHOLE].kind = FARM_BLACKHOLE;
	specs[T_FLAP].kind = FARM_DROP_AFTER;
	specs[T_FLAP].hold_ms = 700;
	specs[T_RESET].kind = FARM_DROP_AFTER;
	specs[T_RESET].hold_ms = 150;
	specs[T_RESET].rst = true;
	specs[T_ACCEPT_CLOSE].kind = FARM_ACCEPT_CLOSE;
	specs[T_NAME].kind = FARM_ACCEPT;
	int ret = -EADDRINUSE;
	for (int tries = 0; tries < 20 && ret == -EADDRINUSE; tries++) {
		uint16_t p = (uint16_t)(20000 + rnd(30000));
		specs[T_NAME].port = p;
		specs[T_COUNT].kind = FARM_BLACKHOLE;
		specs[T_COUNT].family = AF_INET6;
		specs[T_COUNT].port = p;
		ret = farm_start(specs, T_COUNT + 1, &S.farm);
	}
	if (ret < 0) {
		fprintf(stderr, "soak: farm_start: %s\n", strerror(-ret));
		return -1;
	}
	for (int t = 0; t < T_COUNT; t++)
		S.port[t] = farm_port(S.farm, (size_t)t);

	char why[512];
	if (tu_dnsmasq_start_err(&S.dns, name_records[0], why, sizeof(why)) < 0) {
		fprintf(stderr, "soak: dnsmasq did not start (is dnsmasq-base installed?): %s\n",
			why);
		return -1;
	}
	S.dns_up = true;

	S.dir = tu_tmpdir("redial-soak");
	snprintf(S.log_path, sizeof(S.log_path), "%s/soak.log", S.dir);
	struct redial_log_config lc;
	redial_log_config_init(&lc);
	lc.path = S.log_path;
	lc.ring_bytes = 4u << 20;
	lc.rotate_bytes = LOG_ROTATE;
	lc.rotate_keep = 3;
	if ((ret = redial_log_open(&lc, &S.log)) < 0) {
		fprintf(stderr, "soak: redial_log_open %s: %s\n", S.log_path, strerror(-ret));
		return -1;
	}
	struct redial_config cfg;
	redial_config_init(&cfg);
	cfg.max_endpoints = 2 * N_EPS; /* room for removed slots still settling */
	cfg.on_event = on_event;
	cfg.log = S.log;
	cfg.dns_servers = S.dns.servers;
	cfg.dns_timeout_ns = REDIAL_MSEC(500);
	cfg.dns_cache_max_ttl_ns = REDIAL_MSEC(500); /* see record changes soon */
	cfg.dns_nxdomain_hold_ns = REDIAL_SEC(1);
	if ((ret = redial_create(&cfg, &S.r)) < 0) {
		fprintf(stderr, "soak: redial_create: %s: %s\n", strerror(-ret),
			redial_strerror_create());
		return -1;
	}
	for (int i = 0; i < N_EPS; i++)
		add_at(&S.eps[i], (enum tgt)(i % T_COUNT));
	return 0;
}

static void teardown(void)
{
	if (S.r) {
		for (int i = 0; i < N_EPS; i++)
			if (S.eps[i].st != EP_FREE)
				remove_ep(&S.eps[i]);
		redial_destroy(S.r);
	}
	if (S.log)
		redial_log_close(S.log);
	farm_stop(S.farm);
	if (S.dns_up)
		tu_dnsmasq_stop(&S.dns);
	tu_rmrf(S.dir);
	S.dir = NULL;
}

int main(int argc, char **argv)
{
	uint64_t secs = 1800;
	const char *env = getenv("SOAK_S");
	if (argc > 1)
		env = argv[1];
	if (env && *env) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(env, &end, 10);
		if (errno || *end || v == 0 || v > 30ull * 86400) {
			fprintf(stderr, "soak: SOAK_S \"%s\" is not a number of seconds (1 to 2592000)\n",
				env);
			return 2;
		}
		secs = v;
	}
	signal(SIGPIPE, SIG_IGN);
	S.rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	if (setup() < 0) {
		teardown();
		return 2;
	}
	uint64_t interval = secs >= 1800 ? REDIAL_SEC(60) : REDIAL_SEC(secs) / 30;
	if (interval < REDIAL_SEC(1))
		interval = REDIAL_SEC(1);
	unsigned total = (unsigned)(REDIAL_SEC(secs) / interval);
	printf("soak: %" PRIu64 " s, %d endpoints over %d target kinds (", secs, N_EPS, T_COUNT);
	for (int t = 0; t < T_COUNT; t++)
		printf("%s%s", t ? ", " : "", tgt_names[t]);
	printf("), a check every %.1f s\n", interval / 1e9);
	fflush(stdout);

	uint64_t start = redial_now_ns(), end = start + REDIAL_SEC(secs);
	uint64_t next_phase = start + PHASE_NS, next_churn = start + CHURN_NS;
	uint64_t next_check = start + interval;
	struct baseline b = { 0 };
	unsigned checks = 0;
	int status = 0;
	for (;;) {
		uint64_t now = redial_now_ns();
		if (now >= next_check) {
			if (!check(&b, ++checks, total, now - start)) {
				status = 1;
				break;
			}
			next_check += interval;
			if (checks >= total)
				break;
		}
		if (now >= end && checks >= total)
			break;
		if (now >= next_phase) {
			phase();
			next_phase = now + PHASE_NS;
		}
		if (now >= next_churn) {
			churn();
			next_churn = now + CHURN_NS;
		}
		int ret = redial_run(S.r, REDIAL_MSEC(20));
		if (ret < 0) {
			fprintf(stderr, "soak: VIOLATION: redial_run: %s\n", strerror(-ret));
			status = 1;
			break;
		}
		if (S.violation[0]) {
			fprintf(stderr, "soak: VIOLATION: %s\n", S.violation);
			status = 1;
			break;
		}
	}
	printf("soak: %s after %.0f s: %u checks, events: %" PRIu64 " connected, %" PRIu64
	       " disconnected, %" PRIu64 " failed attempts, %" PRIu64 " alerts, %" PRIu64
	       " gave up, %" PRIu64 " cancelled\n",
	       status ? "FAILED" : "passed", (redial_now_ns() - start) / 1e9, checks,
	       S.events[REDIAL_EV_CONNECTED], S.events[REDIAL_EV_DISCONNECTED],
	       S.events[REDIAL_EV_ATTEMPT_FAILED], S.events[REDIAL_EV_ALERT],
	       S.events[REDIAL_EV_GAVE_UP], S.events[REDIAL_EV_CANCELLED]);
	teardown();
	return status;
}
