/* status.c — the live terminal output of `redial`: a status line redrawn in place, and
 * event lines printed above it. Only used when stdout is a terminal. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"

/* Event lines allowed per refresh; more are counted and reported as one line. */
#define LINES_PER_TICK 3

enum { HELD_ALERT, HELD_GAVE_UP, HELD_RECOVERED };

void cli_status_init(struct cli_status *st, bool live, uint64_t start_ns, uint64_t duration_ns)
{
	memset(st, 0, sizeof(*st));
	st->live = live;
	st->start_ns = start_ns;
	st->duration_ns = duration_ns;
	st->next_tick_ns = start_ns;
	st->tokens = LINES_PER_TICK;
}

static unsigned term_width(void)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

void cli_status_clear(struct cli_status *st)
{
	if (st->live && st->drawn) {
		/* Back to column 0 and erase to the end of the line. */
		fputs("\r\033[K", stdout);
		fflush(stdout);
	}
	st->drawn = false;
}

static void fmt_secs(char *buf, size_t len, uint64_t ns)
{
	double s = (double)ns / 1e9;
	if (s < 10)
		snprintf(buf, len, "%.2fs", s);
	else if (s < 100)
		snprintf(buf, len, "%.1fs", s);
	else
		snprintf(buf, len, "%.0fs", s);
}

/* Prints one event line above the status line, which the next tick redraws. */
static void print_line(struct cli_status *st, const char *what, const char *ep, const char *detail,
		       uint64_t mono_ns)
{
	char t[32];
	fmt_secs(t, sizeof(t), mono_ns > st->start_ns ? mono_ns - st->start_ns : 0);
	cli_status_clear(st);
	/* The endpoint string came from a file: keep control bytes off the terminal. */
	printf("  +%-8s %-9s ", t, what);
	for (const unsigned char *p = (const unsigned char *)ep; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			printf("\\x%02x", *p);
		else
			putchar(*p);
	printf("  %s\n", detail);
}

void cli_status_event(struct cli_status *st, const struct redial_event *ev,
		      const struct cli_endpoint *e, uint32_t alert_after)
{
	char detail[160], eb[16];
	const char *what;
	int kind;

	if (!st->live)
		return;
	switch (ev->type) {
	case REDIAL_EV_ALERT:
		kind = HELD_ALERT;
		what = "ALERT";
		snprintf(detail, sizeof(detail), "%" PRIu32 " failed attempts in a row, last %s",
			 ev->attempt, cli_errno_label(ev->err, eb, sizeof(eb)));
		break;
	case REDIAL_EV_GAVE_UP:
		kind = HELD_GAVE_UP;
		what = "GAVE UP";
		snprintf(detail, sizeof(detail), "%s after %" PRIu32 " attempts, last %s",
			 redial_gave_up_reason_name(ev->reason), ev->attempt,
			 cli_errno_label(ev->err, eb, sizeof(eb)));
		break;
	case REDIAL_EV_CONNECTED: {
		/* Only the end of an alerted streak is news; every other connect is in the log. */
		if (!alert_after || ev->attempt <= alert_after)
			return;
		char d[32];
		fmt_secs(d, sizeof(d), ev->down_ns);
		kind = HELD_RECOVERED;
		what = "RECOVERED";
		snprintf(detail, sizeof(detail), "connected after %" PRIu32 " attempts, down %s",
			 ev->attempt, d);
		break;
	}
	default:
		return;
	}
	if (st->tokens == 0) {
		st->held[kind]++;
		return;
	}
	st->tokens--;
	print_line(st, what, e ? e->text : "?", detail, ev->mono_ns);
}

static void print_held(struct cli_status *st, uint64_t now)
{
	static const char *const names[] = { "alerts", "give-ups", "recoveries" };
	uint64_t total = st->held[0] + st->held[1] + st->held[2];
	if (!total || now - st->held_printed_ns < REDIAL_SEC(1))
		return;
	char line[200];
	size_t n = 0;
	for (int i = 0; i < 3; i++) {
		if (!st->held[i])
			continue;
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%" PRIu64 " more %s",
				      n ? ", " : "", st->held[i], names[i]);
		st->held[i] = 0;
	}
	cli_status_clear(st);
	printf("  ... %s (not shown; --log records them all)\n", line);
	st->held_printed_ns = now;
}

void cli_status_tick(struct cli_status *st, redial_t *r, uint64_t now, bool force)
{
	bool due = now >= st->next_tick_ns;
	if (!st->live || (!due && !force))
		return;
	struct redial_stats s = { .size = sizeof(s) };
	if (redial_stats_get(r, &s) < 0)
		return;
	if (due) {
		st->next_tick_ns = now + CLI_STATUS_INTERVAL_NS;
		st->tokens = LINES_PER_TICK;
		print_held(st, now);
		/* Rates over the last second or so of refreshes. */
		unsigned oldest = st->nsamples < 5 ? 0 : st->sample_pos;
		st->rate_attempts = st->rate_connects = 0;
		if (st->nsamples) {
			uint64_t dt = now - st->samples[oldest].t;
			if (dt > 0) {
				st->rate_attempts =
					(double)(s.attempts - st->samples[oldest].attempts) * 1e9 /
					(double)dt;
				st->rate_connects =
					(double)(s.connects - st->samples[oldest].connects) * 1e9 /
					(double)dt;
			}
		}
		st->samples[st->sample_pos].t = now;
		st->samples[st->sample_pos].attempts = s.attempts;
		st->samples[st->sample_pos].connects = s.connects;
		st->sample_pos = (st->sample_pos + 1) % 5;
		if (st->nsamples < 5)
			st->nsamples++;
	}

	char t[32], d[32] = "", line[256];
	fmt_secs(t, sizeof(t), now - st->start_ns);
	if (st->duration_ns) {
		d[0] = '/';
		fmt_secs(d + 1, sizeof(d) - 1, st->duration_ns);
	}
	int n = snprintf(line, sizeof(line),
			 "%s%s  up %" PRIu32 "  connecting %" PRIu32 "  queued %" PRIu32
			 "  backoff %" PRIu32 "  failed %" PRIu32 "  %.0f attempts/s  %.0f connects/s",
			 t, d, s.by_state[REDIAL_STATE_CONNECTED],
			 s.by_state[REDIAL_STATE_CONNECTING] + s.by_state[REDIAL_STATE_IDLE],
			 s.by_state[REDIAL_STATE_QUEUED],
			 s.by_state[REDIAL_STATE_BACKOFF], s.by_state[REDIAL_STATE_FAILED],
			 st->rate_attempts, st->rate_connects);
	/* A wrapped line could not be redrawn in place: cut it to the terminal's width. */
	unsigned w = term_width() - 1;
	if (n > 0 && (unsigned)n > w)
		line[w] = '\0';
	fputs("\r\033[K", stdout);
	fputs(line, stdout);
	fflush(stdout);
	st->drawn = true;
}
