/* cli.h — the pieces of the `redial` command shared between its files: settings parsed from
 * the command line, the endpoint list, the run loop and the summary writers. */
#ifndef REDIAL_CLI_H
#define REDIAL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "redial.h"
#include "redial_log.h"

/* Exit statuses; scripts depend on them (see --help). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_RUNTIME 1
#define CLI_EXIT_USAGE 2

/* One endpoint as the user gave it, and what became of it. The text is what the summary
 * prints, so a host name keeps its spelling once the resolver exists. */
struct cli_endpoint {
	char *text;	    /* owned, NUL-terminated, surrounding blanks and comments removed */
	const char *origin; /* the -f file it came from (borrowed from argv), NULL: an argument */
	unsigned line;	    /* line in origin, or position among the command-line arguments */
	int group;	    /* `redial demo`: its target's index; -1 otherwise */
	const char *bad;    /* a file line that is wrong before parsing (static text), or NULL */
	redial_id_t id;	    /* 0 until added */
	/* The end-of-run snapshot, taken before the shutdown cancels everything. */
	struct redial_endpoint_stats st;
	size_t err_off, nerr; /* its (errno, count) pairs in cli_result.errs */
	uint64_t alerts;
};

struct cli_settings {
	struct redial_endpoint_opts ep; /* every endpoint's options, from the flags */
	struct redial_tls_opts tls;	/* the TLS endpoints' options (--tls-*) */
	bool tls_all;			/* --tls: every endpoint; else those written tls:// */
	uint64_t duration_ns;		/* 0: run until SIGINT or SIGTERM */
	const char *log_path;		/* --log, NULL for none */
	const char *summary_path;	/* --summary, "-" for stdout, NULL for none */
	char dns_servers[1024];		/* --dns-server, comma-joined; "" for the system's */
	uint64_t dns_timeout_ns;	/* --dns-timeout, 0 for the library's default */
	bool quiet;
	struct cli_endpoint *eps;
	size_t neps, cap;
};

/* The resolver settings of s into a manager's config. */
void cli_apply_dns(const struct cli_settings *s, struct redial_config *cfg);

/* What a run produced, for the summary writers and the demo. */
struct cli_result {
	uint64_t duration_ns;
	const char *stop_reason;    /* "duration", "SIGINT", "SIGTERM", "error" */
	struct redial_stats totals; /* the manager's counters at the end of the run */
	/* Attempts in flight when the run stopped: those the shutdown abandoned (its
	 * attempts_abandoned, less the run's in totals). They never end, so no other counter
	 * has them. */
	uint64_t attempts_at_stop;
	uint64_t alerts;
	struct redial_errno_count *errs; /* pool of every endpoint's per-errno counts */
	size_t nerrs, errs_cap;
	bool have_log;
	struct redial_log_stats log; /* when have_log */
	int log_error;		     /* redial_log_close's result */
	int shutdown_ret;	     /* redial_shutdown's result */
	uint64_t started_realtime_ns;
	uint64_t started_mono_ns; /* redial_now_ns() when the endpoints were started */
};

/* Called after every slice of the loop with the time since the start; the demo uses it to
 * change its targets while the run goes on. */
typedef void (*cli_tick_fn)(void *arg, uint64_t elapsed_ns);

struct cli_run_hooks {
	cli_tick_fn tick;
	void *tick_arg;
	bool text_summary; /* print the human summary to stdout at the end (unless quiet) */
};

/* ---- opts.c ---- */

/* Fills s with the defaults of the issue: connect timeout 2000 ms, backoff 100 ms to
 * 30000 ms, x2.0, full jitter, never give up, alert after 5, stable after 1000 ms. */
void cli_settings_init(struct cli_settings *s);
void cli_settings_free(struct cli_settings *s);

/* Parses `redial [OPTIONS] ENDPOINT... | -f FILE`. Returns -1 to go on and run, or an exit
 * status to return at once (0 after --help/--version, CLI_EXIT_USAGE after printing what is
 * wrong). Every endpoint is checked before this returns; nothing has been started. */
int cli_parse_args(struct cli_settings *s, int argc, char **argv);

/* Strict number parsers; each prints "redial: FLAG: ..." naming the value and returns false
 * when text is not a number in [min, max]. */
bool cli_parse_uint(const char *flag, const char *text, uint64_t min, uint64_t max,
		    const char *unit, uint64_t *ret);
bool cli_parse_seconds(const char *flag, const char *text, uint64_t *ret_ns);

/* Appends an endpoint (copied). Returns 0 or -ENOMEM. */
int cli_endpoint_push(struct cli_settings *s, const char *text, size_t len, const char *origin,
		      unsigned line, int group);

/* "FILE:LINE" or "argument N", for messages about an endpoint. */
void cli_endpoint_where(const struct cli_endpoint *e, char *buf, size_t len);

/* The endpoint as redial_endpoint_add takes it: the text without its "tls://" prefix. */
const char *cli_endpoint_addr(const struct cli_endpoint *e);
/* The TLS options of an endpoint: s->tls for a TLS one (--tls, or tls://), else NULL. */
const struct redial_tls_opts *cli_endpoint_tls(const struct cli_settings *s,
					       const struct cli_endpoint *e);

/* ---- run.c ---- */

/* Blocks SIGINT and SIGTERM in every thread to come and returns a signalfd for them, or -1
 * (then printing why). Call first thing, before any thread or child exists. */
int cli_signals_init(void);

/* Runs the endpoints of s until the duration passes or a signal arrives, then shuts down
 * and writes the summaries. Returns the exit status. res is filled for the caller (and must
 * be released with cli_result_free either way). */
int cli_run(struct cli_settings *s, int sigfd, const struct cli_run_hooks *hooks,
	    struct cli_result *res);
void cli_result_free(struct cli_result *res);

/* ---- status.c ---- */

/* The live output on a terminal: one status line redrawn in place, with alerts, give-ups
 * and recoveries printed above it as they happen (a few per refresh at most, the rest
 * counted, so a thousand endpoints failing at once cannot flood the terminal). */
struct cli_status {
	bool live;  /* stdout is a terminal and not --quiet */
	bool drawn; /* the status line is on screen */
	uint64_t start_ns, duration_ns;
	uint64_t next_tick_ns;
	unsigned tokens;  /* event lines still allowed before the next refresh */
	uint64_t held[3]; /* lines not printed: alerts, give-ups, recoveries */
	uint64_t held_printed_ns;
	/* (time, attempts, connects) of the last few refreshes, for the rates */
	struct {
		uint64_t t, attempts, connects;
	} samples[5];
	unsigned nsamples, sample_pos;
	double rate_attempts, rate_connects; /* as last computed */
};

#define CLI_STATUS_INTERVAL_NS REDIAL_MSEC(250)

void cli_status_init(struct cli_status *st, bool live, uint64_t start_ns, uint64_t duration_ns);
/* An event worth a line of its own (alert, give-up, recovery after an alert). */
void cli_status_event(struct cli_status *st, const struct redial_event *ev,
		      const struct cli_endpoint *e, uint32_t alert_after);
/* Redraws the status line when a refresh is due, or at once with force (after event
 * lines scrolled it away). */
void cli_status_tick(struct cli_status *st, redial_t *r, uint64_t now, bool force);
/* Erases the status line, for what is printed after it. */
void cli_status_clear(struct cli_status *st);

/* ---- summary.c ---- */

/* Writes the JSON summary. Returns 0 or -errno from the stream. */
int cli_summary_json(FILE *out, const struct cli_settings *s, const struct cli_result *res);
/* The human summary: totals, states, errors, and the endpoints that gave up. */
void cli_summary_text(FILE *out, const struct cli_settings *s, const struct cli_result *res);
/* s as the body of a JSON string, quotes included. */
void cli_json_string(FILE *out, const char *str, size_t n);
/* The errno's symbolic name, or its number in buf. */
const char *cli_errno_label(int err, char *buf, size_t len);

/* ---- demo.c ---- */

/* `redial demo [--endpoints N] [--duration SEC] [--log FILE] [--summary FILE]`. */
int cli_demo(int argc, char **argv);

#endif
