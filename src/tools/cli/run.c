/* run.c — one run of `redial`: open the outputs, create the manager, add every endpoint,
 * drive the loop in short slices (so signals, the status line and --duration are never far
 * away), then snapshot, shut down and write the summaries. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "redial_log.h"

/* The loop runs in slices this long at most: the latency of a signal or of the end of
 * --duration. */
#define SLICE_NS REDIAL_MSEC(50)
/* redial_shutdown's deadline: the issue promises a clean stop within a second. */
#define SHUTDOWN_NS REDIAL_MSEC(1000)

struct run_ctx {
	struct cli_settings *s;
	struct cli_status st;
	uint64_t alerts;
};

int cli_signals_init(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	/* Blocked before any thread (the log's drain) or child (the demo's farm) exists, so
	 * they inherit the mask and the signal can only be taken from the signalfd. */
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
		fprintf(stderr, "redial: sigprocmask: %s\n", strerror(errno));
		return -1;
	}
	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "redial: signalfd: %s\n", strerror(errno));
		return -1;
	}
	/* A closed stdout pipe must show up as a write error, not kill the run. */
	signal(SIGPIPE, SIG_IGN);
	return fd;
}

/* The pending SIGINT/SIGTERM, or 0. */
static int take_signal(int sigfd)
{
	struct signalfd_siginfo si;
	if (sigfd >= 0 && read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		return (int)si.ssi_signo;
	return 0;
}

/* After the first signal a second one should end the process at once, as it does for
 * most tools: restore the defaults and unblock. */
static void second_signal_kills(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static void on_event(redial_t *r, const struct redial_event *ev, void *user)
{
	struct run_ctx *ctx = user;
	struct cli_endpoint *e = ev->user;
	(void)r;
	if (ev->type == REDIAL_EV_ALERT) {
		ctx->alerts++;
		if (e)
			e->alerts++;
	}
	cli_status_event(&ctx->st, ev, e, ctx->s->ep.alert_after);
}

/* What to do about a failed redial_create, after its own sentence. */
static const char *create_hint(int err)
{
	switch (err) {
	case EPERM:
		/* The library's sentence names the cause (the sysctl's value, or seccomp or
		 * a security module) and what to allow: nothing to add. */
		return NULL;
	case ENOSYS:
		return "This kernel has no io_uring. redial needs Linux 5.19 or later with "
		       "CONFIG_IO_URING=y (6.8 or later for the one-step connect path).";
	case EOPNOTSUPP:
		return "The kernel lacks an io_uring feature redial needs; it needs Linux 5.19 "
		       "or later (6.8 or later for the one-step connect path).";
	case ENOMEM:
		return "Not enough memory for the ring: use fewer endpoints, or raise the "
		       "locked-memory limit (ulimit -l).";
	case EMFILE:
	case ENFILE:
		return "Out of file descriptors: raise `ulimit -n` or use fewer endpoints.";
	default:
		return NULL;
	}
}

static void report_create_error(int ret)
{
	const char *why = redial_strerror_create();
	const char *hint = create_hint(-ret);
	fprintf(stderr, "redial: cannot create the io_uring manager: %s%s%s\n", strerror(-ret),
		why && *why ? ": " : "", why ? why : "");
	if (hint)
		fprintf(stderr, "redial: %s\n", hint);
}

/* Host names pass the command-line check (the strict parser says -ENOTSUP); whether the
 * engine takes them is found out here, in a manager of its own that never starts anything,
 * so that an input error still leaves nothing behind: no log, no summary, no attempt. */
static int probe_names(struct cli_settings *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->neps; i++)
		if (redial_endpoint_parse(cli_endpoint_addr(&s->eps[i]), NULL, NULL, NULL, 0) ==
		    -ENOTSUP)
			n++;
	if (n == 0)
		return -1;

	struct redial_config cfg;
	redial_config_init(&cfg);
	cfg.max_endpoints = (uint32_t)n;
	cfg.sq_entries = 8;
	cli_apply_dns(s, &cfg);
	redial_t *r;
	if (redial_create(&cfg, &r) < 0)
		return -1; /* the real create says why, with exit status 1 */
	unsigned bad = 0;
	struct redial_endpoint_opts o = s->ep;
	o.flags |= REDIAL_EP_START_IDLE;
	for (size_t i = 0; i < s->neps; i++) {
		struct cli_endpoint *e = &s->eps[i];
		if (redial_endpoint_parse(cli_endpoint_addr(e), NULL, NULL, NULL, 0) != -ENOTSUP)
			continue;
		o.tls = cli_endpoint_tls(s, e);
		char msg[512], where[300];
		redial_id_t id;
		int ret = redial_endpoint_add(r, cli_endpoint_addr(e), &o, &id, msg, sizeof(msg));
		if (ret >= 0)
			continue;
		if (++bad <= 10) {
			cli_endpoint_where(e, where, sizeof(where));
			fprintf(stderr, "redial: %s: %s\n", where, *msg ? msg : strerror(-ret));
		}
	}
	if (bad > 10)
		fprintf(stderr, "redial: ... and %u more bad endpoints\n", bad - 10);
	redial_destroy(r);
	return bad ? CLI_EXIT_USAGE : -1;
}

/* The summary file is opened before the run, so that a bad path is an input error now
 * rather than a lost summary an hour later. It may be a regular file (truncated only when
 * written), or a pipe, a FIFO or a character device, which cannot be truncated and are
 * simply written. A FIFO that no reader has open yet is opened at the end instead, as the
 * shell's `>` would (blocking until a reader comes). A path that is this process's own
 * standard output (/dev/stdout, /proc/self/fd/1) is written through stdout, as "-" is. */
struct out_file {
	int fd;
	bool created;
	bool regular;	/* truncate before writing */
	bool deferred;	/* a FIFO without a reader: open when writing */
	bool is_stdout; /* the same file as stdout */
};

static bool same_file(int a, int b)
{
	struct stat sa, sb;
	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

static int open_summary(const char *path, struct out_file *of)
{
	memset(of, 0, sizeof(*of));
	of->fd = -1;
	if (!path)
		return 0;
	if (strcmp(path, "-") == 0) {
		of->is_stdout = true;
		return 0;
	}
	of->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (of->fd >= 0) {
		of->created = true;
		of->regular = true;
		return 0;
	}
	if (errno == EEXIST)
		of->fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (of->fd < 0 && errno == ENXIO) {
		struct stat sb;
		if (stat(path, &sb) == 0 && S_ISFIFO(sb.st_mode)) {
			of->deferred = true;
			return 0;
		}
		errno = ENXIO;
	}
	if (of->fd < 0) {
		fprintf(stderr, "redial: --summary %s: %s\n", path, strerror(errno));
		return -1;
	}
	struct stat sb;
	if (fstat(of->fd, &sb) < 0 || S_ISDIR(sb.st_mode)) {
		int err = S_ISDIR(sb.st_mode) ? EISDIR : errno;
		fprintf(stderr, "redial: --summary %s: %s\n", path, strerror(err));
		close(of->fd);
		of->fd = -1;
		return -1;
	}
	/* O_NONBLOCK only served to not wait for a FIFO's reader. */
	int fl = fcntl(of->fd, F_GETFL);
	if (fl < 0 || fcntl(of->fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		fprintf(stderr, "redial: --summary %s: %s\n", path, strerror(errno));
		close(of->fd);
		of->fd = -1;
		return -1;
	}
	of->regular = S_ISREG(sb.st_mode);
	if (same_file(of->fd, STDOUT_FILENO)) {
		of->is_stdout = true;
		close(of->fd);
		of->fd = -1;
	}
	return 0;
}

/* Undoes open_summary when the run does not happen. */
static void drop_summary(const char *path, struct out_file *of)
{
	if (of->fd < 0)
		return;
	close(of->fd);
	if (of->created)
		unlink(path);
	of->fd = -1;
}

static int write_summary(const struct cli_settings *s, const struct cli_result *res,
			 struct out_file *of)
{
	if (!s->summary_path)
		return 0;
	if (of->is_stdout) {
		int ret = cli_summary_json(stdout, s, res);
		if (ret == 0 && fflush(stdout) != 0)
			ret = -errno;
		if (ret < 0)
			fprintf(stderr, "redial: writing the summary to stdout: %s\n",
				strerror(-ret));
		return ret;
	}
	if (of->deferred) {
		of->fd = open(s->summary_path, O_WRONLY | O_CLOEXEC);
		if (of->fd < 0) {
			int ret = -errno;
			fprintf(stderr, "redial: --summary %s: %s\n", s->summary_path,
				strerror(-ret));
			return ret;
		}
	}
	FILE *f = NULL;
	int ret = 0;
	if ((of->regular && ftruncate(of->fd, 0) < 0) || !(f = fdopen(of->fd, "w"))) {
		ret = -errno;
		close(of->fd);
	} else {
		ret = cli_summary_json(f, s, res);
		if (fclose(f) != 0 && ret == 0)
			ret = -errno;
	}
	of->fd = -1;
	if (ret < 0)
		fprintf(stderr, "redial: --summary %s: %s\n", s->summary_path, strerror(-ret));
	return ret;
}

static uint32_t log_ring_bytes(size_t neps)
{
	/* A burst (every endpoint added, or cancelled at shutdown, within one drain interval)
	 * must fit, or records are dropped: about 128 bytes per endpoint, as a power of two. */
	uint64_t want = (uint64_t)neps * 128;
	uint32_t b = 1u << 20;
	while (b < want && b < (1u << 26))
		b <<= 1;
	return b;
}

/* Records every endpoint's counters as they stand at the end of the run. */
static int snapshot(redial_t *r, struct cli_settings *s, struct cli_result *res)
{
	res->totals.size = sizeof(res->totals);
	if (redial_stats_get(r, &res->totals) < 0)
		memset(&res->totals, 0, sizeof(res->totals));
	for (size_t i = 0; i < s->neps; i++) {
		struct cli_endpoint *e = &s->eps[i];
		e->st.size = sizeof(e->st);
		e->err_off = res->nerrs;
		e->nerr = 0;
		if (!e->id || redial_endpoint_stats_get(r, e->id, &e->st) < 0) {
			memset(&e->st, 0, sizeof(e->st));
			e->st.state = REDIAL_STATE_IDLE;
			continue;
		}
		for (;;) {
			size_t room = res->errs_cap - res->nerrs;
			int n = redial_endpoint_errors(r, e->id,
						       room ? res->errs + res->nerrs : NULL, room);
			if (n < 0)
				break;
			if ((size_t)n <= room) {
				e->nerr = (size_t)n;
				res->nerrs += (size_t)n;
				break;
			}
			size_t cap = res->errs_cap ? res->errs_cap * 2 : 1024;
			while (cap - res->nerrs < (size_t)n)
				cap *= 2;
			struct redial_errno_count *p = realloc(res->errs, cap * sizeof(*p));
			if (!p)
				return -ENOMEM;
			res->errs = p;
			res->errs_cap = cap;
		}
	}
	return 0;
}

void cli_result_free(struct cli_result *res)
{
	free(res->errs);
	res->errs = NULL;
	res->nerrs = res->errs_cap = 0;
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int cli_run(struct cli_settings *s, int sigfd, const struct cli_run_hooks *hooks,
	    struct cli_result *res)
{
	struct run_ctx ctx = { .s = s };
	struct out_file of = { .fd = -1 };
	struct redial_log *log = NULL;
	redial_t *r = NULL;
	int status = CLI_EXIT_OK, ret;
	bool tty = isatty(STDOUT_FILENO) == 1;

	memset(res, 0, sizeof(*res));
	res->stop_reason = "error";

	if ((ret = probe_names(s)) >= 0)
		return ret;
	if (open_summary(s->summary_path, &of) < 0)
		return CLI_EXIT_USAGE;
	/* A log file this run creates is removed again if the run cannot start. */
	bool log_created = false;
	if (s->log_path) {
		struct stat sb;
		log_created = stat(s->log_path, &sb) < 0 && errno == ENOENT;
		struct redial_log_config lc;
		redial_log_config_init(&lc);
		lc.path = s->log_path;
		lc.ring_bytes = log_ring_bytes(s->neps);
		lc.alert_after = s->ep.alert_after;
		if ((ret = redial_log_open(&lc, &log)) < 0) {
			fprintf(stderr, "redial: --log %s: %s\n", s->log_path, strerror(-ret));
			drop_summary(s->summary_path, &of);
			return CLI_EXIT_USAGE;
		}
	}

	struct redial_config cfg;
	redial_config_init(&cfg);
	cfg.max_endpoints = s->neps > 16 ? (uint32_t)s->neps : 16;
	cfg.on_event = on_event;
	cfg.event_user = &ctx;
	cfg.log = log;
	cfg.endpoint_defaults = &s->ep;
	cli_apply_dns(s, &cfg);
	if ((ret = redial_create(&cfg, &r)) < 0) {
		report_create_error(ret);
		drop_summary(s->summary_path, &of);
		redial_log_close(log);
		if (log_created)
			unlink(s->log_path);
		return CLI_EXIT_RUNTIME;
	}

	/* Added idle, started together: nothing connects unless every endpoint was taken. */
	for (size_t i = 0; i < s->neps; i++) {
		struct cli_endpoint *e = &s->eps[i];
		struct redial_endpoint_opts o = s->ep;
		char msg[512], where[300];
		o.user = e;
		o.flags |= REDIAL_EP_START_IDLE;
		o.tls = cli_endpoint_tls(s, e);
		ret = redial_endpoint_add(r, cli_endpoint_addr(e), &o, &e->id, msg, sizeof(msg));
		if (ret < 0) {
			cli_endpoint_where(e, where, sizeof(where));
			fprintf(stderr, "redial: %s: %s\n", where, *msg ? msg : strerror(-ret));
			status = ret == -EINVAL || ret == -ENOTSUP ? CLI_EXIT_USAGE
								   : CLI_EXIT_RUNTIME;
			redial_destroy(r);
			redial_log_close(log);
			if (log_created)
				unlink(s->log_path);
			drop_summary(s->summary_path, &of);
			return status;
		}
	}

	/* Every connected endpoint holds a descriptor: say so before the run, not as a stream
	 * of local errors during it. */
	struct rlimit rl;
	if (!s->quiet && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    s->neps + 64 > rl.rlim_cur)
		fprintf(stderr,
			"redial: warning: %zu endpoints, but the open-file limit is %llu: not all "
			"of them can be connected at once (raise `ulimit -n`)\n",
			s->neps, (unsigned long long)rl.rlim_cur);

	uint64_t start = redial_now_ns();
	res->started_realtime_ns = realtime_ns();
	res->started_mono_ns = start;
	cli_status_init(&ctx.st, tty && !s->quiet, start, s->duration_ns);
	for (size_t i = 0; i < s->neps; i++)
		redial_endpoint_start(r, s->eps[i].id);

	uint64_t end = s->duration_ns ? start + s->duration_ns : UINT64_MAX;
	bool log_warned = false;
	for (;;) {
		uint64_t now = redial_now_ns();
		if (now >= end) {
			res->stop_reason = "duration";
			break;
		}
		int sig = take_signal(sigfd);
		if (sig) {
			res->stop_reason = sig == SIGINT ? "SIGINT" : "SIGTERM";
			second_signal_kills();
			break;
		}
		cli_status_tick(&ctx.st, r, now, !ctx.st.drawn);
		uint64_t slice = end - now < SLICE_NS ? end - now : SLICE_NS;
		if (ctx.st.live && ctx.st.next_tick_ns > now && ctx.st.next_tick_ns - now < slice)
			slice = ctx.st.next_tick_ns - now;
		ret = redial_run(r, slice);
		if (ret < 0) {
			cli_status_clear(&ctx.st);
			fprintf(stderr, "redial: the io_uring loop failed: %s\n", strerror(-ret));
			status = CLI_EXIT_RUNTIME;
			break;
		}
		if (hooks && hooks->tick)
			hooks->tick(hooks->tick_arg, redial_now_ns() - start);
		/* The log's drain stops at its first write error (a full disk): say so now,
		 * once, rather than at the end of a run that may last days. */
		int lerr = log && !log_warned ? redial_log_error(log) : 0;
		if (lerr < 0) {
			log_warned = true;
			cli_status_clear(&ctx.st);
			fprintf(stderr,
				"redial: --log %s: %s; the log stops here and later records are "
				"lost (the run goes on)\n",
				s->log_path, strerror(-lerr));
		}
	}
	uint64_t stopped = redial_now_ns();
	res->duration_ns = stopped - start;
	cli_status_clear(&ctx.st);
	res->alerts = ctx.alerts;

	if (snapshot(r, s, res) < 0) {
		fprintf(stderr, "redial: out of memory for the summary\n");
		status = CLI_EXIT_RUNTIME;
	}
	res->shutdown_ret = redial_shutdown(r, SHUTDOWN_NS);
	if (res->shutdown_ret < 0)
		fprintf(stderr, "redial: shutdown: %s (operations still in flight after %.1f s)\n",
			strerror(-res->shutdown_ret), (double)SHUTDOWN_NS / 1e9);
	/* Nothing ran between the snapshot and the shutdown, which abandons every attempt in
	 * flight before it reaps anything: what it abandoned is exactly what the stop cut off.
	 * (Its deadline passing changes nothing here: the count is taken when it cancels.) */
	struct redial_stats after = { .size = sizeof(after) };
	uint64_t before = res->totals.attempts_abandoned;
	if (redial_stats_get(r, &after) == 0 && after.attempts_abandoned >= before)
		res->attempts_at_stop = after.attempts_abandoned - before;
	redial_destroy(r);
	if (log) {
		res->have_log = true;
		res->log.size = sizeof(res->log);
		/* The manager, the only producer, is gone: once the drain has written (or, after
		 * a write error, counted as lost) everything in the rings, every count is final
		 * and written + lost covers every accepted record. */
		int fret = redial_log_flush(log, REDIAL_SEC(10));
		if (redial_log_stats_get(log, &res->log) < 0)
			memset(&res->log, 0, sizeof(res->log));
		res->log_error = redial_log_close(log);
		if (res->log_error == 0 && fret == -ETIMEDOUT)
			res->log_error = fret;
		if (res->log_error < 0 && !log_warned) {
			fprintf(stderr, "redial: --log %s: %s; the log is incomplete\n",
				s->log_path, strerror(-res->log_error));
		}
		if (res->log_error < 0)
			status = CLI_EXIT_RUNTIME;
	}

	if (hooks && hooks->text_summary && !s->quiet && !of.is_stdout)
		cli_summary_text(stdout, s, res);
	if (write_summary(s, res, &of) < 0)
		status = CLI_EXIT_RUNTIME;
	if (fflush(stdout) != 0 && status == CLI_EXIT_OK) {
		fprintf(stderr, "redial: writing to stdout: %s\n", strerror(errno));
		status = CLI_EXIT_RUNTIME;
	}
	return status;
}
