/* summary.c — the end-of-run report of `redial`: the JSON document scripts read (--summary)
 * and the few lines a person reads on stdout. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

const char *cli_errno_label(int err, char *buf, size_t len)
{
	const char *name = redial_errno_name(err);
	if (name)
		return name;
	snprintf(buf, len, "%d", err);
	return buf;
}

void cli_json_string(FILE *out, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	fputc('"', out);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		switch (c) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			/* Control bytes escaped; bytes >= 0x80 are not valid JSON text unless they
			 * form UTF-8, and an endpoint string is ASCII, so escape them as Latin-1
			 * rather than emit a document a strict parser rejects. */
			if (c < 0x20 || c >= 0x7f)
				fprintf(out, "\\u%04x", c);
			else
				fputc(c, out);
		}
	}
	fputc('"', out);
}

static void json_cstr(FILE *out, const char *s)
{
	cli_json_string(out, s, strlen(s));
}

/* The summary's figures, each counted once, so that they add up (docs/cli.md, "The summary"):
 *   attempts = connects + attempts_failed + attempts_abandoned + attempts_at_stop
 *   failures = attempts_failed + dns_failures
 * An endpoint's own `attempts` are those that ended (the library's count), so the total
 * of attempts is theirs plus the two kinds that never ended, which only the manager
 * counts. */
struct totals {
	uint64_t attempts;	   /* every attempt begun */
	uint64_t ended;		   /* of which ended: the endpoints' attempts */
	uint64_t connects;	   /* ended connected */
	uint64_t attempts_failed;  /* ended failed */
	uint64_t abandoned;	   /* stopped during the run (a Happy Eyeballs racer that lost,
				      or one a give-up cut short) */
	uint64_t at_stop;	   /* still in flight when the run stopped */
	uint64_t failures;	   /* failed attempts and failed lookups */
	uint64_t dns_failures;	   /* lookups of NAME endpoints that failed: not attempts */
	uint64_t disconnects, gave_up, local_errors;
	uint32_t by_state[REDIAL_STATE_COUNT];
};

/* The endpoint's failed lookups. The library counts every failure in `failures` and only
 * connect attempts in `attempts` (connects included), so the failures that are not failed
 * attempts are the lookups. */
static uint64_t ep_dns_failures(const struct redial_endpoint_stats *st)
{
	uint64_t failed = st->attempts - st->connects;
	return st->failures > failed ? st->failures - failed : 0;
}

/* Summed from the per-endpoint snapshot, so the totals always agree with the list; the
 * attempts that never ended come from the manager (cli_result). */
static void sum(const struct cli_settings *s, const struct cli_result *res, struct totals *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < s->neps; i++) {
		const struct redial_endpoint_stats *st = &s->eps[i].st;
		t->ended += st->attempts;
		t->connects += st->connects;
		t->failures += st->failures;
		t->dns_failures += ep_dns_failures(st);
		t->disconnects += st->disconnects;
		t->local_errors += st->local_errors;
		if (st->gave_up != REDIAL_GAVE_UP_NONE)
			t->gave_up++;
		if ((unsigned)st->state < REDIAL_STATE_COUNT)
			t->by_state[st->state]++;
	}
	t->attempts_failed = t->ended - t->connects;
	t->abandoned = res->totals.attempts_abandoned;
	t->at_stop = res->attempts_at_stop;
	/* The shutdown's abandons were counted after the snapshot, the run's before it. */
	t->attempts = t->ended + t->abandoned + t->at_stop;
}

static const char *jitter_name(enum redial_jitter j)
{
	switch (j) {
	case REDIAL_JITTER_NONE:
		return "none";
	case REDIAL_JITTER_FULL:
		return "full";
	case REDIAL_JITTER_EQUAL:
		return "equal";
	case REDIAL_JITTER_DECORRELATED:
		return "decorrelated";
	}
	return "unknown";
}

static void rfc3339(char *buf, size_t len, uint64_t ns)
{
	time_t secs = (time_t)(ns / 1000000000u);
	struct tm tm;
	if (!gmtime_r(&secs, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, len, "1970-01-01T00:00:00.000Z");
		return;
	}
	size_t n = strlen(buf);
	snprintf(buf + n, len - n, ".%03uZ", (unsigned)(ns / 1000000u % 1000u));
}

int cli_summary_json(FILE *out, const struct cli_settings *s, const struct cli_result *res)
{
	struct totals t;
	char when[64], eb[16];
	const struct redial_endpoint_opts *o = &s->ep;

	sum(s, res, &t);
	rfc3339(when, sizeof(when), res->started_realtime_ns);
	fprintf(out,
		"{\"duration_s\": %.3f, \"totals\": {\"endpoints\": %zu, \"attempts\": %" PRIu64
		", \"connects\": %" PRIu64 ", \"failures\": %" PRIu64 ", \"disconnects\": %" PRIu64
		", \"gave_up\": %" PRIu64 ", \"alerts\": %" PRIu64 ", \"local_errors\": %" PRIu64
		", \"attempts_failed\": %" PRIu64 ", \"attempts_abandoned\": %" PRIu64
		", \"attempts_at_stop\": %" PRIu64 ", \"dns_failures\": %" PRIu64
		", \"states\": {",
		(double)res->duration_ns / 1e9, s->neps, t.attempts, t.connects, t.failures,
		t.disconnects, t.gave_up, res->alerts, t.local_errors, t.attempts_failed,
		t.abandoned, t.at_stop, t.dns_failures);
	for (int i = 0; i < REDIAL_STATE_COUNT; i++)
		fprintf(out, "%s\"%s\": %" PRIu32, i ? ", " : "",
			redial_state_name((enum redial_state)i), t.by_state[i]);
	fprintf(out, "}},\n \"started_at\": \"%s\", \"stop_reason\": ", when);
	json_cstr(out, res->stop_reason ? res->stop_reason : "error");
	fprintf(out,
		", \"shutdown\": \"%s\",\n \"options\": {\"connect_timeout_ms\": %" PRIu64
		", \"backoff_initial_ms\": %" PRIu64 ", \"backoff_max_ms\": %" PRIu64
		", \"backoff_multiplier\": %g, \"jitter\": \"%s\", \"max_attempts\": %" PRIu32
		", \"alert_after\": %" PRIu32 ", \"stable_after_ms\": %" PRIu64
		", \"recheck_permanent_ms\": %" PRIu64 ", \"tls_handshake_timeout_ms\": %" PRIu64
		", \"tls_insecure\": %s},\n",
		res->shutdown_ret == 0 ? "clean" : "timed_out", o->connect_timeout_ns / 1000000,
		o->backoff_initial_ns / 1000000, o->backoff_max_ns / 1000000, o->backoff_multiplier,
		jitter_name(o->backoff_jitter), o->backoff_max_attempts, o->alert_after,
		o->stable_after_ns / 1000000, o->recheck_permanent_ns / 1000000,
		(o->tls_handshake_timeout_ns ? o->tls_handshake_timeout_ns : o->connect_timeout_ns) /
			1000000,
		s->tls.flags & REDIAL_TLS_INSECURE ? "true" : "false");
	if (res->have_log) {
		fputs(" \"log\": {\"path\": ", out);
		json_cstr(out, s->log_path);
		/* records: accepted into the log's rings (its meaning since the first release);
		 * written: in the file; lost: accepted but not written because of a write error;
		 * dropped: not accepted, a ring being full. */
		fprintf(out,
			", \"records\": %" PRIu64 ", \"written\": %" PRIu64 ", \"lost\": %" PRIu64
			", \"dropped\": %" PRIu64 ", \"error\": ",
			res->log.accepted, res->log.written, res->log.lost, res->log.dropped);
		if (res->log_error < 0) {
			fputc('"', out);
			fputs(cli_errno_label(-res->log_error, eb, sizeof(eb)), out);
			fputc('"', out);
		} else {
			fputs("null", out);
		}
		fputs("},\n", out);
	}
	fputs(" \"endpoints\": [", out);
	for (size_t i = 0; i < s->neps; i++) {
		const struct cli_endpoint *e = &s->eps[i];
		const struct redial_endpoint_stats *st = &e->st;
		fputs(i ? ",\n  {\"endpoint\": " : "\n  {\"endpoint\": ", out);
		json_cstr(out, e->text);
		fprintf(out,
			", \"state\": \"%s\", \"attempts\": %" PRIu64 ", \"connects\": %" PRIu64
			", \"failures\": %" PRIu64 ", \"dns_failures\": %" PRIu64
			", \"disconnects\": %" PRIu64 ", \"last_error\": ",
			redial_state_name(st->state), st->attempts, st->connects, st->failures,
			ep_dns_failures(st), st->disconnects);
		if (st->last_error)
			fprintf(out, "\"%s\", \"last_class\": \"%s\"",
				cli_errno_label(st->last_error, eb, sizeof(eb)),
				redial_class_name(st->last_class));
		else
			fputs("null, \"last_class\": null", out);
		fputs(", \"errors\": {", out);
		for (size_t k = 0; k < e->nerr; k++) {
			const struct redial_errno_count *ec = &res->errs[e->err_off + k];
			fprintf(out, "%s\"%s\": %" PRIu64, k ? ", " : "",
				cli_errno_label(ec->err, eb, sizeof(eb)), ec->count);
		}
		fputs("}, \"gave_up\": ", out);
		if (st->gave_up != REDIAL_GAVE_UP_NONE)
			fprintf(out, "\"%s\"", redial_gave_up_reason_name(st->gave_up));
		else
			fputs("null", out);
		fprintf(out,
			", \"alerts\": %" PRIu64 ", \"streak\": %" PRIu32
			", \"local_errors\": %" PRIu64,
			e->alerts, st->streak, st->local_errors);
		if (st->tls) {
			/* Of the last completed handshake; null before the first. */
			fprintf(out, ", \"tls\": {\"handshakes\": %" PRIu64 ", \"resumed\": %" PRIu64,
				st->tls_handshakes, st->tls_resumed);
			const char *f[3][2] = { { "version", st->tls_version },
						{ "cipher", st->tls_cipher },
						{ "alpn", st->tls_alpn } };
			for (int k = 0; k < 3; k++) {
				fprintf(out, ", \"%s\": ", f[k][0]);
				if (f[k][1][0])
					json_cstr(out, f[k][1]);
				else
					fputs("null", out);
			}
			fputc('}', out);
		}
		fputc('}', out);
	}
	fputs(s->neps ? "\n ]}\n" : "]}\n", out);
	if (ferror(out))
		return -(errno ? errno : EIO);
	return 0;
}

static int count_desc(const void *a, const void *b)
{
	const struct redial_errno_count *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return (x->err > y->err) - (x->err < y->err);
}

/* Per-errno counts over every endpoint, most frequent first. Returns how many, or 0 when
 * memory is short (the line is then left out). */
static size_t merge_errors(const struct cli_result *res, struct redial_errno_count **ret)
{
	struct redial_errno_count *v = NULL;
	size_t n = 0;
	if (res->nerrs == 0 || !(v = calloc(res->nerrs, sizeof(*v))))
		return 0;
	for (size_t i = 0; i < res->nerrs; i++) {
		size_t k = 0;
		while (k < n && v[k].err != res->errs[i].err)
			k++;
		if (k == n)
			v[n++].err = res->errs[i].err;
		v[k].count += res->errs[i].count;
	}
	qsort(v, n, sizeof(*v), count_desc);
	*ret = v;
	return n;
}

void cli_summary_text(FILE *out, const struct cli_settings *s, const struct cli_result *res)
{
	struct totals t;
	char eb[16];
	sum(s, res, &t);

	fprintf(out, "Summary: %zu endpoint%s, ran %.2f s (%s)\n", s->neps, s->neps == 1 ? "" : "s",
		(double)res->duration_ns / 1e9,
		strcmp(res->stop_reason, "duration") == 0 ? "--duration reached"
							  : res->stop_reason);
	fprintf(out,
		"  at the end  %" PRIu32 " connected, %" PRIu32 " connecting, %" PRIu32
		" queued, %" PRIu32 " in backoff, %" PRIu32 " failed\n",
		t.by_state[REDIAL_STATE_CONNECTED],
		t.by_state[REDIAL_STATE_CONNECTING] + t.by_state[REDIAL_STATE_IDLE],
		t.by_state[REDIAL_STATE_QUEUED],
		t.by_state[REDIAL_STATE_BACKOFF], t.by_state[REDIAL_STATE_FAILED]);
	/* Every part of the sum shown, so that it visibly adds up; abandoned only when there
	 * were any (only names with addresses of both families race). */
	fprintf(out, "  attempts    %" PRIu64 " (%" PRIu64 " connected, %" PRIu64 " failed, ",
		t.attempts, t.connects, t.attempts_failed);
	if (t.abandoned)
		fprintf(out, "%" PRIu64 " abandoned, ", t.abandoned);
	fprintf(out, "%" PRIu64 " in flight at the stop)\n", t.at_stop);
	if (t.dns_failures)
		fprintf(out, "  lookups     %" PRIu64 " failed (names not resolved: not attempts)\n",
			t.dns_failures);
	fprintf(out, "  events      %" PRIu64 " disconnects, %" PRIu64 " alerts, %" PRIu64
		     " gave up\n",
		t.disconnects, res->alerts, t.gave_up);
	if (t.local_errors)
		fprintf(out,
			"  local       %" PRIu64 " attempts held back by a local shortage "
			"(descriptors, ports or memory), not counted above\n",
			t.local_errors);

	struct redial_errno_count *errs = NULL;
	size_t n = merge_errors(res, &errs);
	if (n) {
		fputs("  errors     ", out);
		for (size_t i = 0; i < n && i < 6; i++)
			fprintf(out, " %s %" PRIu64, cli_errno_label(errs[i].err, eb, sizeof(eb)),
				errs[i].count);
		if (n > 6)
			fprintf(out, " (+%zu more)", n - 6);
		fputc('\n', out);
	}
	free(errs);

	size_t shown = 0;
	for (size_t i = 0; i < s->neps; i++) {
		const struct cli_endpoint *e = &s->eps[i];
		if (e->st.gave_up == REDIAL_GAVE_UP_NONE)
			continue;
		if (shown < 5)
			fprintf(out, "  gave up     %s (%s, last %s)\n", e->text,
				redial_gave_up_reason_name(e->st.gave_up),
				cli_errno_label(e->st.last_error, eb, sizeof(eb)));
		shown++;
	}
	if (shown > 5)
		fprintf(out, "              ... and %zu more\n", shown - 5);
	if (res->have_log && res->log_error < 0)
		fprintf(out,
			"  log         %s: %" PRIu64 " records, %" PRIu64 " written, %" PRIu64
			" LOST (write error: %s)%s\n",
			s->log_path, res->log.accepted, res->log.written, res->log.lost,
			cli_errno_label(-res->log_error, eb, sizeof(eb)),
			res->log.dropped ? ", some DROPPED" : "");
	else if (res->have_log)
		fprintf(out, "  log         %s: %" PRIu64 " records%s\n", s->log_path,
			res->log.accepted, res->log.dropped ? ", some DROPPED" : "");
}
