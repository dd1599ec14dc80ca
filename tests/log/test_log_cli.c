/* test_log_cli.c — the redial-log decoder, run as the real binary: exact text and JSON output
 * for every record type, escaping, filters, --stats, --follow across a rotation, and the exit
 * codes for clean, torn, usage, corrupt and I/O errors. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "logread.h"
#include "proc.h"
#include "scratch.h"

#ifndef REDIAL_LOG_BIN
#error "REDIAL_LOG_BIN must name the redial-log binary"
#endif

static char *sample; /* the sample file, anchored at 2023-11-14T22:13:20Z */

#define ANCHOR_REAL 1700000000000000000ull
#define ANCHOR_MONO (LT_M - 1000000000ull) /* so the first record is at 22:13:21 */

static void make_sample(void)
{
	sample = tu_path(tu_dir, "sample.rlog");
	struct redial_log *l = lt_open(sample, 1u << 16, REDIAL_LOG_DEBUG);
	cr_assert_not_null(l);
	lt_log_sample(l);
	cr_assert_eq(redial_log_close(l), 0);
	size_t len;
	uint8_t *buf = (uint8_t *)tu_slurp(sample, &len);
	cr_assert_not_null(buf);
	buf = realloc(buf, len + 256);
	lt_set_anchor(buf, ANCHOR_REAL, ANCHOR_MONO);
	uint8_t count[8];
	rd_put64(count, 42);
	len += lt_frame(buf + len, REDIAL_LOG_DROPPED, REDIAL_LOG_WARN, 0, LT_M + 15000000, 0, count,
			8);
	len += lt_frame(buf + len, 0x8001, REDIAL_LOG_WARN, 0, LT_M + 16000000, LT_B, "hi\x01", 3);
	cr_assert_eq(tu_spit(sample, buf, len), 0);
	free(buf);
}

static void setup(void)
{
	tu_scratch_setup();
	make_sample();
}

static void teardown(void)
{
	free(sample);
	sample = NULL;
	tu_scratch_remove();
}

TestSuite(log_cli, .init = setup, .fini = teardown, .timeout = 60);

struct run {
	int status;
	char *out, *err;
	size_t out_len, err_len;
};

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* Runs redial-log with args (NULL-terminated); captures stdout and stderr. */
static struct run run_cli(const char *const *args)
{
	struct run r = { 0 };
	char *out = tu_path(tu_dir, "stdout"), *err = tu_path(tu_dir, "stderr");
	const char *argv[32] = { "redial-log" };
	int n = 1;
	while (args[n - 1] && n < 31) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(99);
		execv(REDIAL_LOG_BIN, (char *const *)argv);
		_exit(98);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st), "redial-log died of signal %d", WTERMSIG(st));
	r.status = WEXITSTATUS(st);
	r.out = tu_slurp(out, &r.out_len);
	r.err = tu_slurp(err, &r.err_len);
	cr_assert(r.out && r.err);
	free(out);
	free(err);
	return r;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

#define TS "2023-11-14T22:13:21."
#define WEIRD_TEXT "we\"ird\\\\\\x01\\x0a\\x7f\\xff"
/* The endpoints' ids, as JSON's endpoint_id and the text form's "#ID" give them. */
#define IA "4294967297"
#define IB "8589934594"
#define IC "12884901891"
/* The text form names an endpoint by its string and its id. */
#define TA "10.0.0.1:80#" IA
#define TB "[::1]:8080#" IB
#define TC WEIRD_TEXT "#" IC

static const char expected_text[] =
	TS "000000000Z INFO  endpoint_added " TA "\n"
	TS "000001000Z INFO  endpoint_added " TB "\n"
	TS "001000000Z ERROR connect_failed " TA " attempt=3 error=ECONNREFUSED(111) "
	   "class=transient duration=1.5ms backoff=400.0ms addr=10.0.0.1:80\n"
	TS "002000000Z ERROR connect_failed " TB " attempt=1 error=ETIMEDOUT(110) "
	   "class=transient duration=2.00s backoff=0ns addr=[::1]:8080\n"
	TS "003000000Z ERROR connect_failed " TA " attempt=4 error=EACCES(13) "
	   "class=permanent duration=10ns backoff=0ns\n"
	TS "004000000Z WARN  alert " TA " 5 consecutive failures, last error=ECONNREFUSED(111)\n"
	TS "005000000Z INFO  connected " TA " reconnected after 6 attempts duration=1.2ms "
	   "down=12.50s\n"
	TS "006000000Z INFO  connected " TB " connected after 1 attempt duration=300.0us "
	   "down=2.0ms\n"
	TS "007000000Z WARN  disconnected " TA " error=ECONNRESET(104) up=1h02m03s\n"
	TS "008000000Z WARN  disconnected " TB " error=0 up=5.0ms\n"
	TS "009000000Z ERROR gave_up " TA " reason=max_attempts error=ECONNREFUSED(111) "
	   "attempts=10\n"
	TS "010000000Z INFO  cancelled " TB "\n"
	TS "011000000Z INFO  endpoint_removed " TA "\n"
	TS "012000000Z INFO  endpoint_added " TC "\n"
	TS "013000000Z ERROR connect_failed " TC " attempt=1 error=9999 class=local "
	   "duration=5ns backoff=7ns\n"
	TS "014000000Z ERROR gave_up " TC " reason=permanent error=EACCES(13) attempts=1\n"
	TS "014500000Z DEBUG resolved " TC " ttl=30.00s addrs=10.0.0.9:443,[2001:db8::1]:443\n"
	TS "015000000Z WARN  dropped - count=42\n"
	TS "016000000Z WARN  app " TB " type=32769 len=3 payload=686901\n";

#define J(ms, mono, level, event, ep, id) \
	"{\"ts\":\"" TS ms "Z\",\"mono_ns\":" mono ",\"level\":\"" level "\",\"event\":\"" event \
	"\",\"endpoint\":" ep ",\"endpoint_id\":" id
#define EA "\"10.0.0.1:80\""
#define EB "\"[::1]:8080\""
#define EC "\"we\\\"ird\\\\\\u0001\\n\\u007f\\u00ff\""

static const char expected_json[] =
	J("000000000", "10000000000", "INFO", "endpoint_added", EA, IA) "}\n"
	J("000001000", "10000001000", "INFO", "endpoint_added", EB, IB) "}\n"
	J("001000000", "10001000000", "ERROR", "connect_failed", EA, IA)
	",\"attempt\":3,\"errno\":111,\"error\":\"ECONNREFUSED\",\"class\":\"transient\","
	"\"duration_ns\":1500000,\"backoff_ns\":400000000,\"addr\":\"10.0.0.1:80\"}\n"
	J("002000000", "10002000000", "ERROR", "connect_failed", EB, IB)
	",\"attempt\":1,\"errno\":110,\"error\":\"ETIMEDOUT\",\"class\":\"transient\","
	"\"duration_ns\":2000000000,\"backoff_ns\":0,\"addr\":\"[::1]:8080\"}\n"
	J("003000000", "10003000000", "ERROR", "connect_failed", EA, IA)
	",\"attempt\":4,\"errno\":13,\"error\":\"EACCES\",\"class\":\"permanent\","
	"\"duration_ns\":10,\"backoff_ns\":0}\n"
	J("004000000", "10004000000", "WARN", "alert", EA, IA)
	",\"attempts\":5,\"errno\":111,\"error\":\"ECONNREFUSED\"}\n"
	J("005000000", "10005000000", "INFO", "connected", EA, IA)
	",\"attempts\":6,\"duration_ns\":1200000,\"down_ns\":12500000000}\n"
	J("006000000", "10006000000", "INFO", "connected", EB, IB)
	",\"attempts\":1,\"duration_ns\":300000,\"down_ns\":2000000}\n"
	J("007000000", "10007000000", "WARN", "disconnected", EA, IA)
	",\"errno\":104,\"error\":\"ECONNRESET\",\"up_ns\":3723000000000}\n"
	J("008000000", "10008000000", "WARN", "disconnected", EB, IB)
	",\"errno\":0,\"error\":null,\"up_ns\":5000000}\n"
	J("009000000", "10009000000", "ERROR", "gave_up", EA, IA)
	",\"reason\":\"max_attempts\",\"errno\":111,\"error\":\"ECONNREFUSED\",\"attempts\":10}\n"
	J("010000000", "10010000000", "INFO", "cancelled", EB, IB) "}\n"
	J("011000000", "10011000000", "INFO", "endpoint_removed", EA, IA) "}\n"
	J("012000000", "10012000000", "INFO", "endpoint_added", EC, IC) "}\n"
	J("013000000", "10013000000", "ERROR", "connect_failed", EC, IC)
	",\"attempt\":1,\"errno\":9999,\"error\":null,\"class\":\"local\","
	"\"duration_ns\":5,\"backoff_ns\":7}\n"
	J("014000000", "10014000000", "ERROR", "gave_up", EC, IC)
	",\"reason\":\"permanent\",\"errno\":13,\"error\":\"EACCES\",\"attempts\":1}\n"
	J("014500000", "10014500000", "DEBUG", "resolved", EC, IC)
	",\"ttl_s\":30,\"addrs\":[\"10.0.0.9:443\",\"[2001:db8::1]:443\"]}\n"
	J("015000000", "10015000000", "WARN", "dropped", "null", "0") ",\"count\":42}\n"
	J("016000000", "10016000000", "WARN", "app", EB, IB)
	",\"type\":32769,\"payload\":\"686901\"}\n";

Test(log_cli, text_output_has_one_exact_line_per_record_with_control_bytes_escaped)
{
	struct run r = run_cli((const char *[]){ sample, NULL });
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_eq(r.out, expected_text);
	cr_assert_eq(r.err_len, 0);
	run_free(&r);
}

Test(log_cli, json_output_has_every_field_with_exact_values)
{
	struct run r = run_cli((const char *[]){ "--json", sample, NULL });
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_eq(r.out, expected_json);
	run_free(&r);
}

static void expect_lines(const char *const *args, size_t want, const char *first_prefix)
{
	struct run r = run_cli(args);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_expect_eq(count_lines(r.out), want, "%s: got\n%s", args[0], r.out);
	if (first_prefix)
		cr_expect(strncmp(r.out, first_prefix, strlen(first_prefix)) == 0, "got %s", r.out);
	run_free(&r);
}

Test(log_cli, filters_select_by_level_event_endpoint_and_time)
{
	expect_lines((const char *[]){ "--level", "warn", sample, NULL }, 11,
		     TS "001000000Z ERROR");
	expect_lines((const char *[]){ "--level", "ERROR", sample, NULL }, 6, NULL);
	expect_lines((const char *[]){ "--event", "connected,alert", sample, NULL }, 3,
		     TS "004000000Z WARN  alert");
	expect_lines((const char *[]){ "--event", "gave_up", "--event", "app", sample, NULL }, 3,
		     NULL);
	expect_lines((const char *[]){ "--endpoint", "10.0.0.1:80", sample, NULL }, 8, NULL);
	expect_lines((const char *[]){ "--endpoint", IB, sample, NULL }, 6,
		     TS "000001000Z INFO  endpoint_added " TB "\n");
	expect_lines((const char *[]){ "--endpoint", "10.0.0.1:80", "--level", "error",
				       "--event", "gave_up", sample, NULL },
		     1, NULL);
	expect_lines((const char *[]){ "--since", "2023-11-14T22:13:21.010Z", sample, NULL }, 8,
		     TS "010000000Z INFO  cancelled");
	expect_lines((const char *[]){ "--since", "2023-11-14T23:13:21.0100+01:00", sample, NULL },
		     8, NULL);
	expect_lines((const char *[]){ "--since", "2023-11-15", sample, NULL }, 0, NULL);
	expect_lines((const char *[]){ "--since", "1h", sample, NULL }, 0, NULL);
	expect_lines((const char *[]){ "--since", "100000d", sample, NULL }, 19, NULL);
	expect_lines((const char *[]){ "--event", "resolved", "--level", "info", sample, NULL }, 0,
		     NULL);
	expect_lines((const char *[]){ "--since", "1h30m", "--json", sample, NULL }, 0, NULL);
}

Test(log_cli, stats_count_by_event_errno_and_endpoint)
{
	struct run r = run_cli((const char *[]){ "--stats", "--json", sample, NULL });
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_eq(r.out,
			 "{\"records\":19,\"corrupt\":0,\"torn\":0,"
			 "\"first_ts\":\"" TS "000000000Z\",\"last_ts\":\"" TS "016000000Z\","
			 "\"events\":{\"connect_failed\":4,\"connected\":2,\"alert\":1,\"gave_up\":2,"
			 "\"disconnected\":2,\"cancelled\":1,\"endpoint_added\":3,"
			 "\"endpoint_removed\":1,\"dropped\":1,\"resolved\":1,\"app\":1},"
			 "\"errno\":{\"EACCES\":2,\"ECONNREFUSED\":2,\"0\":1,\"ECONNRESET\":1,"
			 "\"ETIMEDOUT\":1,\"9999\":1},"
			 "\"endpoints\":[{\"endpoint\":\"10.0.0.1:80\",\"endpoint_id\":" IA ",\"count\":8},"
			 "{\"endpoint\":\"[::1]:8080\",\"endpoint_id\":" IB ",\"count\":6},"
			 "{\"endpoint\":" EC ",\"endpoint_id\":" IC ",\"count\":4}]}\n");
	run_free(&r);

	/* The text form: one label column for every section, as wide as the longest label
	 * present (here the escaped name with its id), and every endpoint with its id. */
	r = run_cli((const char *[]){ "--stats", "--event", "connect_failed", sample, NULL });
	cr_assert_eq(r.status, 0);
	int w = (int)strlen(TC);
	char want[1024];
	snprintf(want, sizeof(want),
		 "records: 4  corrupt regions: 0  torn records: 0\n"
		 "from: " TS "001000000Z\n"
		 "to:   " TS "013000000Z\n"
		 "\nby event:\n"
		 "  %-*s %12d\n"
		 "\nby errno (connect_failed, gave_up, disconnected):\n"
		 "  %-*s %12d\n  %-*s %12d\n  %-*s %12d\n  %-*s %12d\n"
		 "\nby endpoint:\n"
		 "  %-*s %12d\n  %-*s %12d\n  %-*s %12d\n",
		 w, "connect_failed", 4, w, "EACCES(13)", 1, w, "ETIMEDOUT(110)", 1, w,
		 "ECONNREFUSED(111)", 1, w, "9999", 1, w, TA, 2, w, TB, 1, w, TC, 1);
	cr_expect_str_eq(r.out, want);
	run_free(&r);
}

/* Issue 19: two endpoints with the same address could not be told apart in the text form
 * nor in --stats, and the --stats rows of long error names were out of line. */
Test(log_cli, endpoints_of_one_address_are_told_apart_by_id_and_stats_rows_line_up)
{
	char *path = tu_path(tu_dir, "twins.rlog");
	struct redial_log *l = lt_open(path, 1u << 16, REDIAL_LOG_DEBUG);
	cr_assert_not_null(l);
	rd_log_endpoint_added(l, LT_M, LT_A, "10.0.0.1:443", 12);
	rd_log_endpoint_added(l, LT_M + 1, LT_B, "10.0.0.1:443", 12);
	rd_log_connect_failed(l, LT_M + 2, LT_A, 1, REDIAL_E_TLS_CERT_NOT_YET_VALID,
			      REDIAL_CLASS_PERMANENT, 10, 0, NULL);
	rd_log_connect_failed(l, LT_M + 3, LT_B, 1, ECONNREFUSED, REDIAL_CLASS_TRANSIENT, 10, 0,
			      NULL);
	rd_log_connect_failed(l, LT_M + 4, LT_B, 2, ECONNREFUSED, REDIAL_CLASS_TRANSIENT, 10, 0,
			      NULL);
	rd_log_cancelled(l, LT_M + 5, 77); /* an id the file never named */
	cr_assert_eq(redial_log_close(l), 0);

	struct run r = run_cli((const char *[]){ "--event", "connect_failed,cancelled", path,
						  NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_expect(strstr(r.out, "connect_failed 10.0.0.1:443#" IA " attempt=1 error="
				"TLS_CERT_NOT_YET_VALID("), "%s", r.out);
	cr_expect(strstr(r.out, "connect_failed 10.0.0.1:443#" IB " attempt=2 error=ECONNREFUSED"),
		  "%s", r.out);
	cr_expect(strstr(r.out, "cancelled #77\n"), "an unnamed endpoint by its id: %s", r.out);
	run_free(&r);

	r = run_cli((const char *[]){ "--stats", path, NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	char want[128];
	snprintf(want, sizeof(want), "\n  10.0.0.1:443#%s ", IB);
	const char *b = strstr(r.out, want);
	cr_expect(b && strstr(b, " 2\n"), "%s", r.out);
	snprintf(want, sizeof(want), "\n  10.0.0.1:443#%s ", IA);
	cr_expect(strstr(r.out, want), "%s", r.out);
	cr_expect(strstr(r.out, "\n  #77 "), "%s", r.out);
	/* Every row (two spaces, a label, a count) ends in the same column. */
	size_t rows = 0, width = 0;
	for (const char *p = r.out; *p; p = strchr(p, '\n') + 1) {
		size_t len = strcspn(p, "\n");
		if (strncmp(p, "  ", 2) == 0) {
			if (!rows++)
				width = len;
			cr_expect_eq(len, width, "row %zu out of line:\n%s", rows, r.out);
		}
		if (!p[len])
			break;
	}
	cr_expect_eq(rows, 3 + 2 + 3, "%s", r.out); /* 3 events, 2 errnos, 3 endpoints */
	cr_expect(strstr(r.out, "  TLS_CERT_NOT_YET_VALID(10103) "), "%s", r.out);
	run_free(&r);
	free(path);
}

Test(log_cli, exit_codes_say_clean_torn_usage_corrupt_and_io_error)
{
	size_t len;
	uint8_t *buf = (uint8_t *)tu_slurp(sample, &len);
	char *torn = tu_path(tu_dir, "torn.rlog"), *bad = tu_path(tu_dir, "bad.rlog");
	cr_assert_eq(tu_spit(torn, buf, len - 3), 0);
	struct run r = run_cli((const char *[]){ torn, NULL });
	cr_expect_eq(r.status, 1);
	cr_expect_eq(count_lines(r.out), 18, "every complete record is still decoded");
	cr_expect(strstr(r.err, "torn record at offset"), "%s", r.err);
	run_free(&r);

	/* a flipped byte in the fourth record: reported with its offset, the rest decoded */
	struct lt_log lg;
	cr_assert_eq(lt_read_mem(buf, len, &lg), 0);
	uint64_t off = lg.recs[3].offset;
	lt_free(&lg);
	buf[off + 20] ^= 0x40;
	cr_assert_eq(tu_spit(bad, buf, len), 0);
	r = run_cli((const char *[]){ "--json", bad, NULL });
	cr_expect_eq(r.status, 3);
	cr_expect_eq(count_lines(r.out), 18);
	char want[128];
	snprintf(want, sizeof(want), "corrupt data at offset %" PRIu64 ",", off);
	cr_expect(strstr(r.err, want), "%s", r.err);
	run_free(&r);

	r = run_cli((const char *[]){ torn, bad, NULL });
	cr_expect_eq(r.status, 3, "corrupt outranks torn");
	run_free(&r);

	char *missing = tu_path(tu_dir, "missing.rlog");
	r = run_cli((const char *[]){ missing, sample, NULL });
	cr_expect_eq(r.status, 4);
	cr_expect_eq(count_lines(r.out), 19, "the other files are still decoded");
	cr_expect(strstr(r.err, "No such file"), "%s", r.err);
	run_free(&r);

	const char *const usage[][4] = {
		{ NULL },
		{ "--level", "loud", sample, NULL },
		{ "--event", "exploded", sample, NULL },
		{ "--since", "yesterday", sample, NULL },
		{ "--since", "2023-13-01T00:00:00Z", sample, NULL },
		{ "--bogus", sample, NULL },
		{ "--follow", "--stats", sample, NULL },
	};
	for (size_t i = 0; i < sizeof(usage) / sizeof(usage[0]); i++) {
		r = run_cli(usage[i]);
		cr_expect_eq(r.status, 2, "case %zu", i);
		cr_expect_eq(r.out_len, 0);
		cr_expect(strstr(r.err, "--help"), "case %zu: %s", i, r.err);
		run_free(&r);
	}
	r = run_cli((const char *[]){ "--help", NULL });
	cr_expect_eq(r.status, 0);
	cr_expect(strstr(r.out, "Exit status:"));
	cr_expect(strstr(r.out, "3  corrupt records"));
	run_free(&r);
	free(missing);
	free(torn);
	free(bad);
	free(buf);
}

/* An empty file is a log whose writer stopped before its header: the shortest torn file, so
 * it exits 1 like a file cut inside its header does, and says so rather than printing
 * nothing. */
Test(log_cli, an_empty_file_is_named_on_stderr_and_exits_as_torn)
{
	char *empty = tu_path(tu_dir, "empty.rlog");
	cr_assert_eq(tu_spit(empty, "", 0), 0);
	char want[4200];
	snprintf(want, sizeof(want), "redial-log: %s: empty file, no log header\n", empty);

	struct run r = run_cli((const char *[]){ empty, NULL });
	cr_expect_eq(r.status, 1);
	cr_expect_eq(r.out_len, 0);
	cr_expect_str_eq(r.err, want);
	run_free(&r);

	r = run_cli((const char *[]){ "--json", empty, sample, NULL });
	cr_expect_eq(r.status, 1);
	cr_expect_eq(count_lines(r.out), 19, "the other files are still decoded");
	cr_expect_str_eq(r.err, want);
	run_free(&r);

	r = run_cli((const char *[]){ "--stats", empty, NULL });
	cr_expect_eq(r.status, 1);
	cr_expect(strstr(r.err, "empty file"), "%s", r.err);
	run_free(&r);

	/* the same file cut inside its header: torn, exit 1 too */
	size_t len;
	uint8_t *buf = (uint8_t *)tu_slurp(sample, &len);
	cr_assert_not_null(buf);
	cr_assert_eq(tu_spit(empty, buf, 20), 0);
	r = run_cli((const char *[]){ empty, NULL });
	cr_expect_eq(r.status, 1);
	run_free(&r);
	free(buf);
	free(empty);
}

/* docs/log-format.md: a reader skips a segment of a version it does not know. That is not
 * damage: one warning naming the file, offset and version, and the exit status of what the
 * known segments say. */
Test(log_cli, a_segment_of_an_unknown_version_is_skipped_with_one_warning)
{
	size_t len;
	uint8_t *buf = (uint8_t *)tu_slurp(sample, &len);
	cr_assert_not_null(buf);
	uint8_t *two = malloc(2 * len + 256);
	cr_assert_not_null(two);
	size_t n = 0;
	memcpy(two, buf, len);
	n += len;
	size_t v7 = n;
	n += lt_header(two + n, 7, 1000, 0, 5);
	memset(two + n, 0x5a, 100); /* frames of a format this reader does not know */
	n += 100;
	size_t tail = n;
	memcpy(two + n, buf, len);
	n += len;
	char *path = tu_path(tu_dir, "v7.rlog");
	char want[4300];
	snprintf(want, sizeof(want),
		 "redial-log: %s: offset %zu: segment of format version 7 skipped (%zu bytes): "
		 "this redial-log reads version 1\n",
		 path, v7, tail - v7);

	/* a known segment on each side of it */
	cr_assert_eq(tu_spit(path, two, n), 0);
	struct run r = run_cli((const char *[]){ path, NULL });
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect_eq(count_lines(r.out), 38, "both version-1 segments are decoded");
	cr_expect_str_eq(r.err, want);
	run_free(&r);

	/* the unknown segment runs to the end of the file */
	cr_assert_eq(tu_spit(path, two, tail), 0);
	r = run_cli((const char *[]){ "--json", path, NULL });
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect_eq(count_lines(r.out), 19);
	cr_expect_str_eq(r.err, want);
	run_free(&r);

	/* damage elsewhere still counts */
	two[len / 2] ^= 0x40;
	cr_assert_eq(tu_spit(path, two, n), 0);
	r = run_cli((const char *[]){ path, NULL });
	cr_expect_eq(r.status, 3);
	cr_expect(strstr(r.err, "version 7 skipped"), "%s", r.err);
	run_free(&r);

	free(path);
	free(two);
	free(buf);
}

Test(log_cli, rotated_files_decode_alone_and_in_sequence_without_replayed_names)
{
	char *path = tu_path(tu_dir, "rot.rlog");
	struct redial_log_config cfg;
	struct redial_log *l;
	redial_log_config_init(&cfg);
	cfg.path = path;
	cfg.rotate_bytes = 2048;
	cfg.rotate_keep = 9;
	cr_assert_eq(redial_log_open(&cfg, &l), 0);
	rd_log_endpoint_added(l, 1, LT_A, "10.0.0.1:80", 11);
	for (uint32_t i = 0; i < 100; i++)
		rd_log_connected(l, 2 + i, LT_A, i, 1, 1);
	cr_assert_eq(redial_log_close(l), 0);
	char *p1 = malloc(strlen(path) + 4), *p2 = malloc(strlen(path) + 4);
	sprintf(p1, "%s.1", path);
	sprintf(p2, "%s.2", path);

	/* the newest file alone knows the name from its replayed record */
	struct run r = run_cli((const char *[]){ "--event", "connected", path, NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_gt(count_lines(r.out), 0);
	cr_expect_null(strstr(r.out, " #"), "a name is missing:\n%s", r.out);
	run_free(&r);
	r = run_cli((const char *[]){ path, NULL });
	cr_expect_null(strstr(r.out, "endpoint_added"), "replays are not events:\n%s", r.out);
	run_free(&r);

	/* all of them, oldest first: every record once */
	const char *args[16];
	int n = 0;
	struct stat st;
	for (int k = 9; k >= 1; k--) {
		char *pk = malloc(strlen(path) + 4);
		sprintf(pk, "%s.%d", path, k);
		if (stat(pk, &st) == 0)
			args[n++] = pk;
		else
			free(pk);
	}
	cr_assert_geq(n, 2, "the log rotated");
	args[n++] = path;
	args[n++] = "--json";
	args[n] = NULL;
	r = run_cli(args);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_expect_eq(count_lines(r.out), 101);
	const char *first = strstr(r.out, "endpoint_added");
	cr_expect(first && !strstr(first + 1, "endpoint_added"), "the name is an event once");
	run_free(&r);
	for (int k = 0; k < n - 2; k++)
		free((char *)args[k]);
	free(p1);
	free(p2);
	free(path);
}

/* ---- --follow ------------------------------------------------------------------------------ */

/* Reads lines from fd until `want` of them arrived or the deadline passed. */
static size_t read_lines(int fd, char *buf, size_t cap, size_t *len, size_t want, int ms)
{
	uint64_t deadline = tu_now_ns() + (uint64_t)ms * 1000000u;
	while (count_lines(buf) < want && tu_now_ns() < deadline) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t got = read(fd, buf + *len, cap - *len - 1);
		if (got <= 0)
			break;
		*len += (size_t)got;
		buf[*len] = 0;
	}
	return count_lines(buf);
}

Test(log_cli, follow_prints_records_as_they_are_written_and_across_a_rotation)
{
	char *path = tu_path(tu_dir, "live.rlog");
	struct redial_log_config cfg;
	struct redial_log *l;
	redial_log_config_init(&cfg);
	cfg.path = path;
	cfg.rotate_bytes = 4096;
	cfg.rotate_keep = 2;
	cfg.flush_interval_ns = 1000000;
	cr_assert_eq(redial_log_open(&cfg, &l), 0);
	rd_log_endpoint_added(l, 1, LT_A, "10.0.0.1:80", 11);
	cr_assert_eq(redial_log_flush(l, 5000000000ull), 0);

	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		execl(REDIAL_LOG_BIN, "redial-log", "--json", "--follow", "--event", "connected",
		      path, (char *)NULL);
		_exit(98);
	}
	close(pfd[1]);
	static char buf[1 << 20];
	size_t len = 0;
	buf[0] = 0;

	for (uint32_t i = 0; i < 10; i++)
		rd_log_connected(l, 100 + i, LT_A, i, 1, 1);
	cr_assert_eq(redial_log_flush(l, 5000000000ull), 0);
	cr_assert_eq(read_lines(pfd[0], buf, sizeof(buf), &len, 10, 5000), 10, "got:\n%s", buf);

	/* enough to rotate twice: 100 records of 48 bytes in 4 KiB files */
	for (uint32_t i = 10; i < 110; i++) {
		rd_log_connected(l, 100 + i, LT_A, i, 1, 1);
		if (i % 20 == 0) {
			cr_assert_eq(redial_log_flush(l, 5000000000ull), 0);
			struct timespec ts = { 0, 150 * 1000000 }; /* let the follower catch up */
			nanosleep(&ts, NULL);
		}
	}
	cr_assert_eq(redial_log_flush(l, 5000000000ull), 0);
	size_t got = read_lines(pfd[0], buf, sizeof(buf), &len, 110, 10000);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	close(pfd[0]);
	cr_assert_eq(redial_log_close(l), 0);
	cr_assert_eq(got, 110, "got:\n%s", buf);
	/* each record exactly once, in order, with its name */
	const char *p = buf;
	for (uint32_t i = 0; i < 110; i++) {
		char want[96];
		snprintf(want, sizeof(want), "\"endpoint\":\"10.0.0.1:80\",\"endpoint_id\":" IA
					     ",\"attempts\":%u,", i);
		const char *hit = strstr(p, want);
		cr_assert_not_null(hit, "record %u missing after offset %zu", i, (size_t)(p - buf));
		p = hit + 1;
	}
	free(path);
}

Test(log_cli, follow_starts_over_when_the_file_is_truncated_under_it)
{
	char *path = tu_path(tu_dir, "trunc.rlog");
	struct redial_log *l = lt_open(path, 1u << 16, REDIAL_LOG_DEBUG);
	cr_assert_not_null(l);
	for (uint32_t i = 0; i < 5; i++)
		rd_log_connected(l, 100 + i, LT_A, i, 1, 1);
	cr_assert_eq(redial_log_close(l), 0);

	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		execl(REDIAL_LOG_BIN, "redial-log", "--follow", path, (char *)NULL);
		_exit(98);
	}
	close(pfd[1]);
	static char buf[1 << 16];
	size_t len = 0;
	buf[0] = 0;
	cr_assert_eq(read_lines(pfd[0], buf, sizeof(buf), &len, 5, 5000), 5, "got:\n%s", buf);

	/* copy-and-truncate rotation: the file starts over, shorter than what was read */
	cr_assert_eq(truncate(path, 0), 0);
	cr_assert_not_null(l = lt_open(path, 1u << 16, REDIAL_LOG_DEBUG));
	rd_log_connected(l, 200, LT_B, 77, 1, 1);
	cr_assert_eq(redial_log_close(l), 0);
	size_t got = read_lines(pfd[0], buf, sizeof(buf), &len, 6, 5000);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	close(pfd[0]);
	cr_assert_eq(got, 6, "got:\n%s", buf);
	cr_expect(strstr(buf, "reconnected after 77 attempts"), "got:\n%s", buf);
	free(path);
}
