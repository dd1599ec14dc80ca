/* test_cli.c — end-to-end tests of the `redial` command: the real binary (REDIAL_BIN) against
 * a loopback target farm started here, its event log decoded by the real `redial-log --json`
 * (REDIAL_LOG_BIN), its JSON summary parsed, its exit statuses and its output checked.
 *
 * Timing checks are one-sided where the kernel cannot be early ("the next attempt is never
 * sooner than the backoff said") and generous on the late side, so that they hold on a
 * loaded two-core machine and under sanitizers. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "farm.h"
#include "testutil.h"

/* ---- Fixture --------------------------------------------------------------------------------- */

static void setup(void)
{
	tu_scratch_make("redial-cli");
}

static void teardown(void)
{
	tu_scratch_remove();
}

TestSuite(cli, .init = setup, .fini = teardown, .timeout = 120);

static struct farm *start_farm(const char *const *specs, size_t n)
{
	struct farm_target_spec s[8];
	cr_assert_leq(n, 8);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(farm_spec_parse(specs[i], &s[i]), 0, "%s", specs[i]);
	return tu_farm_start(s, n);
}

/* ---- Usage ----------------------------------------------------------------------------------- */

Test(cli, help_and_version_go_to_stdout_with_exit_0)
{
	struct tu_args a = { .n = 0 };
	struct tu_result r;
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "--help", NULL);
	tu_run(&a, 10, &r);
	cr_assert_eq(r.code, 0);
	cr_assert(strstr(r.out, "Usage: redial [OPTIONS] ENDPOINT..."), "%s", r.out);
	static const char *const flags[] = {
		"-f, --endpoints FILE",
		"-t, --connect-timeout MS",
		"--backoff-initial MS",
		"--backoff-max MS",
		"--backoff-multiplier X",
		"--jitter MODE",
		"--max-attempts N",
		"--alert-after N",
		"--stable-after MS",
		"--duration SEC",
		"--log FILE",
		"--summary FILE",
		"-q, --quiet",
		"-h, --help",
		"--version",
		"redial demo",
	};
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		cr_expect(strstr(r.out, flags[i]), "--help lacks %s", flags[i]);
	/* Every exit status the code returns, the log's write error at a normal end too. */
	cr_expect(strstr(r.out, "  1  runtime error") && strstr(r.out, "--log could not be written"),
		  "%s", r.out);
	tu_result_free(&r);

	a.n = 0;
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "--version", NULL);
	tu_run(&a, 10, &r);
	cr_assert_eq(r.code, 0);
	cr_assert(strncmp(r.out, "redial 0.", 9) == 0, "%s", r.out);
	tu_result_free(&r);
}

/* One bad command line: its arguments (strings inline: Criterion re-executes each parameter
 * in a fresh worker, where pointers into the parent would dangle) and the pieces of the
 * message that must appear on stderr. */
struct bad_input {
	char args[6][40];
	char expect[3][64];
};

ParameterizedTestParameters(cli, bad_input_exits_2_naming_the_problem_and_starts_nothing)
{
	static struct bad_input cases[] = {
		{ { "127.0.0.1:0" }, { "argument 1", "port \"0\" out of range" } },
		{ { "127.0.0.1:1", "127.0.0.1:70000" }, { "argument 2", "\"70000\"" } },
		{ { "127.0.0.1" }, { "missing \":PORT\"" } },
		{ { "[::1:80" }, { "argument 1" } },
		{ { "bad_host!:80" }, { "invalid character" } },
		{ { "--connect-timeout", "abc", "127.0.0.1:1" },
		  { "--connect-timeout", "\"abc\"", "not a whole number" } },
		{ { "-t", "0", "127.0.0.1:1" }, { "-t: \"0\"", "out of range" } },
		{ { "--connect-timeout=99999999", "127.0.0.1:1" },
		  { "--connect-timeout", "\"99999999\"", "out of range" } },
		{ { "--backoff-initial", "-5", "127.0.0.1:1" }, { "--backoff-initial", "\"-5\"" } },
		{ { "--backoff-max", "1.5", "127.0.0.1:1" }, { "--backoff-max", "\"1.5\"" } },
		{ { "--backoff-initial", "5000", "--backoff-max", "1000", "127.0.0.1:1" },
		  { "--backoff-initial (5000 ms)", "--backoff-max (1000 ms)" } },
		{ { "--backoff-multiplier", "0.5", "127.0.0.1:1" },
		  { "--backoff-multiplier", "\"0.5\"", "out of range" } },
		{ { "--backoff-multiplier", "nan", "127.0.0.1:1" },
		  { "--backoff-multiplier", "\"nan\"", "not a number" } },
		{ { "--jitter", "sometimes", "127.0.0.1:1" }, { "--jitter", "\"sometimes\"" } },
		{ { "--max-attempts", "x", "127.0.0.1:1" }, { "--max-attempts", "\"x\"" } },
		{ { "--alert-after", "4294967296", "127.0.0.1:1" },
		  { "--alert-after", "\"4294967296\"", "out of range" } },
		{ { "--stable-after=", "127.0.0.1:1" }, { "--stable-after", "\"\"" } },
		{ { "--duration", "0", "127.0.0.1:1" }, { "--duration", "\"0\"", "out of range" } },
		{ { "--duration", "1e3", "127.0.0.1:1" }, { "--duration", "\"1e3\"" } },
		{ { "--duration", "inf", "127.0.0.1:1" }, { "--duration", "\"inf\"" } },
		{ { "127.0.0.1:1", "--duration" }, { "'--duration' needs a value" } },
		{ { "--bogus", "127.0.0.1:1" }, { "unknown option '--bogus'" } },
		{ { "-x", "127.0.0.1:1" }, { "unknown option '-x'" } },
		{ { "" }, { "argument 1", "empty endpoint" } },
		{ { "-q" }, { "no endpoints given" } },
		{ { "-f", "/nonexistent/endpoints.txt" },
		  { "/nonexistent/endpoints.txt", "No such file or directory" } },
		{ { "-f", "/" }, { "redial: /: Is a directory" } },
		{ { "-f", "/dev/zero" }, { "/dev/zero:1: line too long" } },
		{ { "-q", "demo" }, { "demo first" } },
		{ { "demo", "--endpoints", "3" }, { "--endpoints", "\"3\"", "out of range" } },
		{ { "demo", "--duration", "soon" }, { "--duration", "\"soon\"" } },
		{ { "demo", "--fast" }, { "unknown option '--fast'" } },
		{ { "demo", "extra" }, { "unexpected argument 'extra'" } },
	};
	return cr_make_param_array(struct bad_input, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad_input *c, cli, bad_input_exits_2_naming_the_problem_and_starts_nothing)
{
	struct tu_args a = { .n = 0 };
	struct tu_result r;
	char log[128], sum[128];
	tu_path_in_dir(log, sizeof(log), "never.log");
	tu_path_in_dir(sum, sizeof(sum), "never.json");
	tu_arg(&a, "%s", tu_bin("REDIAL_BIN"));
	int i = 0;
	if (strcmp(c->args[0], "demo") == 0)
		tu_arg(&a, "%s", c->args[i++]);
	/* First, so that a flag left without its value at the end stays without one. */
	tu_args_add(&a, "--log", log, "--summary", sum, NULL);
	for (; i < 6 && (c->args[i][0] || i == 0); i++)
		tu_arg(&a, "%s", c->args[i]);
	tu_run(&a, 20, &r);
	cr_assert_eq(r.code, 2, "exit %d; stderr: %s", r.code, r.err);
	for (int k = 0; k < 3 && c->expect[k][0]; k++)
		cr_expect(strstr(r.err, c->expect[k]), "stderr lacks [%s]: %s", c->expect[k],
			  r.err);
	cr_expect_str_empty(r.out, "stdout: %s", r.out);
	struct stat sb;
	cr_expect(stat(log, &sb) < 0, "a log file was created");
	cr_expect(stat(sum, &sb) < 0, "a summary file was created");
	tu_result_free(&r);
}

Test(cli, bad_lines_in_an_endpoints_file_are_named_by_file_and_line)
{
	char file[128];
	tu_path_in_dir(file, sizeof(file), "endpoints.txt");
	tu_write_file(file, "# the test's endpoints\n"
			 "127.0.0.1:1000\n"
			 "\n"
			 "   127.0.0.2:1000   # a comment after it\n"
			 "[::1]:1000\n"
			 "127.0.0.3:1000\r\n"
			 "127.0.0.1:0\n"
			 "\t# an indented comment\n"
			 "127.0.0.4:1000 127.0.0.5:1000\n"
			 "300.0.0.1:80\n");
	struct tu_args a = { .n = 0 };
	struct tu_result r;
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "-f", file, NULL);
	tu_run(&a, 20, &r);
	cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
	char want[256];
	snprintf(want, sizeof(want), "%s:7: port \"0\" out of range", file);
	cr_expect(strstr(r.err, want), "stderr lacks [%s]: %s", want, r.err);
	snprintf(want, sizeof(want), "%s:9: more than one word", file);
	cr_expect(strstr(r.err, want), "stderr lacks [%s]: %s", want, r.err);
	snprintf(want, sizeof(want), "%s:10: ", file);
	cr_expect(strstr(r.err, want), "stderr lacks [%s]: %s", want, r.err);
	/* In line order, and nothing about the good lines. */
	cr_expect(strstr(r.err, ":7:") < strstr(r.err, ":9:"));
	cr_expect(!strstr(r.err, ":2:") && !strstr(r.err, ":4:") && !strstr(r.err, ":5:") &&
			  !strstr(r.err, ":6:"),
		  "%s", r.err);
	tu_result_free(&r);
}

/* A line longer than the cap is an error where it stands, comment or not: it is neither
 * skipped (the lines after it used to be read as if it were not there) nor held whole in
 * memory (a 300 MiB comment used to exhaust an address-space limit, and the failed read
 * was taken for the end of the file). */
Test(cli, a_line_over_4096_bytes_is_an_error_naming_file_and_line)
{
	char file[128], log[128], sum[128];
	tu_path_in_dir(file, sizeof(file), "long.txt");
	tu_path_in_dir(log, sizeof(log), "long.log");
	tu_path_in_dir(sum, sizeof(sum), "long.json");
	FILE *fp = fopen(file, "we");
	cr_assert_not_null(fp);
	fputs("127.0.0.1:1000\n#", fp);
	for (size_t i = 0; i < (8u << 20); i++) /* an 8 MiB comment */
		fputc('x', fp);
	fputs("\n127.0.0.2:1000\nthis is not an endpoint\n", fp);
	cr_assert_eq(fclose(fp), 0);
	/* 4096 bytes is still a line (a comment here), 4097 is not. */
	char edge[128], *text = malloc(8192);
	cr_assert_not_null(text);
	tu_path_in_dir(edge, sizeof(edge), "edge.txt");
	memset(text, 'y', 8192);
	text[0] = '#';
	memcpy(text + 4096, "\n127.0.0.3:1\n", 14);
	text[4096 + 14] = '\0';
	tu_write_file(edge, text);

	struct tu_args a = { .n = 0 };
	struct tu_result r;
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "--log", log, "--summary", sum, "--duration", "0.2",
			"-f", file, NULL);
	tu_run(&a, 20, &r);
	cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
	char want[256];
	snprintf(want, sizeof(want), "redial: %s:2: line too long (more than 4096 bytes)", file);
	cr_expect(strstr(r.err, want), "stderr lacks [%s]: %s", want, r.err);
	cr_expect(!strstr(r.err, ":4:"), "read past the long line: %s", r.err);
	struct stat sb;
	cr_expect(stat(log, &sb) < 0, "a log file was created");
	cr_expect(stat(sum, &sb) < 0, "a summary file was created");
	tu_result_free(&r);

	a.n = 0;
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "-q", "--duration", "0.1", "-f", edge, NULL);
	tu_run(&a, 20, &r);
	cr_expect_eq(r.code, 0, "a 4096-byte line: exit %d: %s", r.code, r.err);
	tu_result_free(&r);
	text[4096] = 'y';
	memcpy(text + 4097, "\n127.0.0.3:1\n", 14);
	text[4097 + 14] = '\0';
	tu_write_file(edge, text);
	free(text);
	tu_run(&a, 20, &r);
	cr_expect_eq(r.code, 2, "a 4097-byte line: exit %d: %s", r.code, r.err);
	snprintf(want, sizeof(want), "%s:1: line too long", edge);
	cr_expect(strstr(r.err, want), "stderr lacks [%s]: %s", want, r.err);
	tu_result_free(&r);
}

Test(cli, an_endpoints_file_keeps_its_order_and_exact_strings_in_the_summary)
{
	static const char *const specs[] = { "accept" };
	struct farm *f = start_farm(specs, 1);
	unsigned port = farm_port(f, 0);
	char file[128], sum[128], text[512];
	tu_path_in_dir(file, sizeof(file), "eps.txt");
	tu_path_in_dir(sum, sizeof(sum), "sum.json");
	snprintf(text, sizeof(text),
		 "# comment\r\n\r\n127.0.0.9:%u\r\n  [::ffff:127.0.0.8]:%u  # mapped\n127.0.0.7:%u",
		 port, port, port);
	tu_write_file(file, text);

	struct tu_args a = { .n = 0 };
	struct tu_result r;
	tu_arg(&a, "%s", tu_bin("REDIAL_BIN"));
	tu_arg(&a, "127.0.0.10:%u", port); /* arguments first, then the files */
	tu_args_add(&a, "-f", file, "--duration", "0.5", "--summary", sum, NULL);
	tu_run(&a, 30, &r);
	cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
	struct tj *s = tu_read_summary(sum);
	tu_check_summary_consistent(s, 4);
	char want[4][64];
	snprintf(want[0], sizeof(want[0]), "127.0.0.10:%u", port);
	snprintf(want[1], sizeof(want[1]), "127.0.0.9:%u", port);
	snprintf(want[2], sizeof(want[2]), "[::ffff:127.0.0.8]:%u", port);
	snprintf(want[3], sizeof(want[3]), "127.0.0.7:%u", port);
	for (size_t i = 0; i < 4; i++) {
		const struct tj *e = tj_at(tj_get(s, "endpoints"), i);
		cr_expect_str_eq(tu_str(e, "endpoint"), want[i]);
		cr_expect_str_eq(tu_str(e, "state"), "connected");
	}
	tj_free(s);
	tu_result_free(&r);
	farm_stop(f);
}

/* ---- Behaviour against the farm -------------------------------------------------------------- */

Test(cli, a_refused_endpoint_backs_off_on_schedule_alerts_and_gives_up)
{
	static const char *const specs[] = { "refuse" };
	struct farm *f = start_farm(specs, 1);
	char ep[64], log[128], sum[128];
	snprintf(ep, sizeof(ep), "127.0.0.1:%u", farm_port(f, 0));
	tu_path_in_dir(log, sizeof(log), "refuse.log");
	tu_path_in_dir(sum, sizeof(sum), "refuse.json");

	struct tu_args a = { .n = 0 };
	struct tu_result r;
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "--jitter=none", "--backoff-initial", "100",
			"--backoff-multiplier", "2", "--backoff-max", "300", "--max-attempts", "5",
			"--alert-after", "3", "--duration", "3", "--log", log, "--summary", sum, ep,
			NULL);
	tu_run(&a, 30, &r);
	cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
	cr_expect(r.secs >= 3.0, "ran %.2f s of a 3 s duration", r.secs);

	/* The log: 5 refusals, backing off 100, 200, 300 (the cap), 300 ms, then the give-up. */
	struct tu_records recs;
	tu_decode_log(log, &recs);
	const struct tj *fails[8], *alerts[2], *gave[2];
	size_t nf = tu_select_records(&recs, "connect_failed", ep, fails, 8);
	cr_assert_eq(nf, 5, "%zu connect_failed records", nf);
	static const double backoff_ms[] = { 100, 200, 300, 300, 0 };
	for (size_t i = 0; i < nf; i++) {
		cr_expect_eq(tu_num(fails[i], "attempt"), (double)(i + 1));
		cr_expect_str_eq(tu_str(fails[i], "error"), "ECONNREFUSED");
		cr_expect_eq(tu_num(fails[i], "errno"), ECONNREFUSED);
		cr_expect_str_eq(tu_str(fails[i], "class"), "transient");
		cr_expect_eq(tu_num(fails[i], "backoff_ns"), backoff_ms[i] * 1e6,
			     "attempt %zu: %.0f", i + 1, tu_num(fails[i], "backoff_ns"));
		if (i == 0)
			continue;
		/* The gap after a failure is never shorter than its backoff; late by < 5 s. */
		double gap = tu_num(fails[i], "mono_ns") - tu_num(fails[i - 1], "mono_ns");
		double want = tu_num(fails[i - 1], "backoff_ns");
		cr_expect_geq(gap, want,
			      "attempt %zu came %.0f ns after the previous, backoff %.0f", i + 1,
			      gap, want);
		cr_expect_leq(gap, want + 5e9, "attempt %zu late: gap %.0f ns", i + 1, gap);
	}
	cr_assert_eq(tu_select_records(&recs, "alert", ep, alerts, 2), 1);
	cr_expect_eq(tu_num(alerts[0], "attempts"), 3);
	cr_expect_str_eq(tu_str(alerts[0], "error"), "ECONNREFUSED");
	cr_expect_eq(tu_num(alerts[0], "mono_ns"), tu_num(fails[2], "mono_ns"));
	cr_assert_eq(tu_select_records(&recs, "gave_up", ep, gave, 2), 1);
	cr_expect_str_eq(tu_str(gave[0], "reason"), "max_attempts");
	cr_expect_str_eq(tu_str(gave[0], "error"), "ECONNREFUSED");
	cr_expect_eq(tu_num(gave[0], "attempts"), 5);
	cr_expect_eq(tu_select_records(&recs, "connected", ep, gave, 2), 0);
	cr_expect_eq(tu_select_records(&recs, "endpoint_added", ep, gave, 2), 1);

	/* The summary says the same. */
	struct tj *s = tu_read_summary(sum);
	tu_check_summary_consistent(s, 1);
	const struct tj *t = tj_get(s, "totals");
	cr_expect_eq(tu_num(t, "attempts"), 5);
	cr_expect_eq(tu_num(t, "connects"), 0);
	cr_expect_eq(tu_num(t, "failures"), 5);
	cr_expect_eq(tu_num(t, "disconnects"), 0);
	cr_expect_eq(tu_num(t, "gave_up"), 1);
	cr_expect_eq(tu_num(t, "alerts"), 1);
	const struct tj *e = tu_endpoint_of(s, ep);
	cr_expect_str_eq(tu_str(e, "state"), "failed");
	cr_expect_str_eq(tu_str(e, "last_error"), "ECONNREFUSED");
	cr_expect_str_eq(tu_str(e, "last_class"), "transient");
	cr_expect_str_eq(tu_str(e, "gave_up"), "max_attempts");
	const struct tj *errs = tj_get(e, "errors");
	cr_expect_eq(errs->n, 1);
	cr_expect_eq(tu_num(errs, "ECONNREFUSED"), 5);
	cr_expect_gt(tu_num(s, "duration_s"), 2.99);
	cr_expect_lt(tu_num(s, "duration_s"), 3 + 5.0);
	cr_expect_str_eq(tu_str(s, "stop_reason"), "duration");
	cr_expect_eq(tu_num(tj_get(s, "log"), "dropped"), 0);
	cr_expect_eq(tu_num(tj_get(s, "log"), "records"), (double)recs.n);
	tj_free(s);
	tu_records_free(&recs);
	tu_result_free(&r);
	farm_stop(f);
}

Test(cli, a_blackholed_endpoint_times_out_at_the_connect_timeout_as_ETIMEDOUT)
{
	static const char *const specs[] = { "blackhole" };
	struct farm *f = start_farm(specs, 1);
	char ep[64], log[128], sum[128];
	snprintf(ep, sizeof(ep), "127.0.0.1:%u", farm_port(f, 0));
	tu_path_in_dir(log, sizeof(log), "bh.log");
	tu_path_in_dir(sum, sizeof(sum), "bh.json");

	struct tu_args a = { .n = 0 };
	struct tu_result r;
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "-t", "300", "--jitter", "none", "--backoff-initial",
			"150", "--max-attempts", "2", "--duration", "2", "--log", log, "--summary",
			sum, ep, NULL);
	tu_run(&a, 30, &r);
	cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);

	struct tu_records recs;
	tu_decode_log(log, &recs);
	const struct tj *fails[4], *gave[2];
	cr_assert_eq(tu_select_records(&recs, "connect_failed", ep, fails, 4), 2);
	for (int i = 0; i < 2; i++) {
		cr_expect_str_eq(tu_str(fails[i], "error"), "ETIMEDOUT");
		cr_expect_str_eq(tu_str(fails[i], "class"), "transient");
		double d = tu_num(fails[i], "duration_ns");
		cr_expect_geq(d, 300e6, "timed out after %.0f ns, before its 300 ms deadline", d);
		cr_expect_leq(d, 300e6 + 5e9, "timed out late: %.0f ns", d);
	}
	/* The second attempt started no sooner than 150 ms after the first timed out. */
	double start2 = tu_num(fails[1], "mono_ns") - tu_num(fails[1], "duration_ns");
	cr_expect_geq(start2 - tu_num(fails[0], "mono_ns"), 150e6);
	cr_assert_eq(tu_select_records(&recs, "gave_up", ep, gave, 2), 1);
	cr_expect_str_eq(tu_str(gave[0], "error"), "ETIMEDOUT");

	struct tj *s = tu_read_summary(sum);
	tu_check_summary_consistent(s, 1);
	const struct tj *e = tu_endpoint_of(s, ep);
	cr_expect_str_eq(tu_str(e, "state"), "failed");
	cr_expect_eq(tu_num(e, "attempts"), 2);
	cr_expect_eq(tu_num(e, "failures"), 2);
	cr_expect_str_eq(tu_str(e, "last_error"), "ETIMEDOUT");
	cr_expect_eq(tu_num(tj_get(e, "errors"), "ETIMEDOUT"), 2);
	tj_free(s);
	tu_records_free(&recs);
	tu_result_free(&r);
	farm_stop(f);
}

Test(cli, accepted_endpoints_stay_up_and_dropped_ones_reconnect)
{
	static const char *const specs[] = { "accept", "drop:300:rst" };
	struct farm *f = start_farm(specs, 2);
	char up[64], drop[64], log[128], sum[128];
	snprintf(up, sizeof(up), "127.0.0.1:%u", farm_port(f, 0));
	snprintf(drop, sizeof(drop), "127.0.0.2:%u", farm_port(f, 1));
	tu_path_in_dir(log, sizeof(log), "drop.log");
	tu_path_in_dir(sum, sizeof(sum), "drop.json");

	struct tu_args a = { .n = 0 };
	struct tu_result r;
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "--backoff-initial=50", "--duration=2.5", NULL);
	tu_arg(&a, "--log=%s", log);
	tu_arg(&a, "--summary=%s", sum);
	tu_args_add(&a, up, drop, NULL);
	tu_run(&a, 30, &r);
	cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);

	struct tj *s = tu_read_summary(sum);
	tu_check_summary_consistent(s, 2);
	const struct tj *e = tu_endpoint_of(s, up);
	cr_expect_str_eq(tu_str(e, "state"), "connected");
	cr_expect_eq(tu_num(e, "attempts"), 1);
	cr_expect_eq(tu_num(e, "connects"), 1);
	cr_expect_eq(tu_num(e, "failures"), 0);
	cr_expect_eq(tu_num(e, "disconnects"), 0);
	cr_expect(tu_is_null(e, "last_error") && tu_is_null(e, "last_class") &&
		  tu_is_null(e, "gave_up"));
	cr_expect_eq(tj_get(e, "errors")->n, 0);

	e = tu_endpoint_of(s, drop);
	double disc = tu_num(e, "disconnects"), con = tu_num(e, "connects");
	cr_expect_geq(disc, 2, "%.0f disconnects in 2.5 s of 300 ms connections", disc);
	cr_expect(con == disc || con == disc + 1, "connects %.0f, disconnects %.0f", con, disc);
	cr_expect_eq(tu_num(tj_get(e, "errors"), "ECONNRESET"), disc);

	struct tu_records recs;
	tu_decode_log(log, &recs);
	const struct tj *d[64], *c[64];
	size_t nd = tu_select_records(&recs, "disconnected", drop, d, 64);
	size_t nc = tu_select_records(&recs, "connected", drop, c, 64);
	cr_expect_eq((double)nd, disc);
	cr_expect_eq((double)nc, con);
	for (size_t i = 0; i < nd && i < 64; i++) {
		cr_expect_str_eq(tu_str(d[i], "error"), "ECONNRESET");
		/* The farm holds each connection 300 ms from its accept; up_ns counts from
		 * when the loop saw the connect, which a loaded machine delays by any
		 * amount, so only the upper side is bounded (generously). */
		cr_expect_gt(tu_num(d[i], "up_ns"), 0, "up %.0f ns", tu_num(d[i], "up_ns"));
		cr_expect_leq(tu_num(d[i], "up_ns"), 300e6 + 5e9);
	}
	for (size_t i = 0; i < nc && i < 64; i++)
		cr_expect_eq(tu_num(c[i], "attempts"), 1);
	cr_expect_eq(tu_select_records(&recs, "connected", up, c, 64), 1);
	tj_free(s);
	tu_records_free(&recs);
	tu_result_free(&r);
	farm_stop(f);
}

/* ---- Output ---------------------------------------------------------------------------------- */

Test(cli, summary_dash_writes_pure_json_to_stdout)
{
	static const char *const specs[] = { "accept" };
	struct farm *f = start_farm(specs, 1);
	struct tu_args a = { .n = 0 };
	struct tu_result r;
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "--duration", ".3", "--summary", "-", NULL);
	tu_arg(&a, "127.0.0.1:%u", farm_port(f, 0));
	tu_arg(&a, "[::1]:%u", 1u); /* nothing listens on ::1 port 1: refused */
	tu_run(&a, 30, &r);
	cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
	char err[128];
	struct tj *s = tj_parse(r.out, r.out_len, err, sizeof(err));
	cr_assert_not_null(s, "stdout is not one JSON document (%s):\n%s", err, r.out);
	tu_check_summary_consistent(s, 2);
	const struct tj *e = tu_endpoint_of(s, "[::1]:1");
	cr_expect_str_eq(tu_str(e, "last_error"), "ECONNREFUSED");
	cr_expect_gt(tu_num(e, "failures"), 0);
	tj_free(s);
	tu_result_free(&r);
	farm_stop(f);
}

/* Runs argv with stdout a pipe read here to the end; stderr to a file. */
static void run_to_pipe(struct tu_args *a, double timeout_s, struct tu_result *r)
{
	int fds[2];
	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
	struct tu_proc p;
	snprintf(p.err_path, sizeof(p.err_path), "%s/pipe.err", tu_dir);
	p.out_path[0] = '\0';
	p.started = tu_now_s();
	p.pid = fork();
	cr_assert(p.pid >= 0);
	if (p.pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int err = open(p.err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (in < 0 || err < 0 || dup2(in, 0) < 0 || dup2(fds[1], 1) < 0 ||
		    dup2(err, 2) < 0)
			_exit(120);
		execv(a->v[0], (char *const *)a->v);
		_exit(122);
	}
	close(fds[1]);
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	cr_assert_not_null(buf);
	for (;;) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		int pr = poll(&pfd, 1, 100);
		cr_assert(pr >= 0 || errno == EINTR);
		cr_assert_lt(tu_now_s() - p.started, timeout_s, "no end of output after %.0f s",
			     timeout_s);
		if (pr <= 0)
			continue;
		if (len + 4096 > cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
		ssize_t n = read(fds[0], buf + len, cap - len - 1);
		cr_assert(n >= 0 || errno == EINTR);
		if (n == 0)
			break;
		if (n > 0)
			len += (size_t)n;
	}
	close(fds[0]);
	buf[len] = '\0';
	int st;
	cr_assert_eq(waitpid(p.pid, &st, 0), p.pid);
	r->secs = tu_now_s() - p.started;
	r->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->out = buf;
	r->out_len = len;
	r->err = tu_slurp(p.err_path, NULL);
	cr_assert_not_null(r->err);
}

/* --summary names something that is not a regular file: it cannot be truncated (ftruncate
 * says EINVAL), and used to be lost with "Invalid argument" and exit 1. */
Test(cli, summary_to_dev_stdout_on_a_pipe_is_written_as_json)
{
	struct tu_args a = { .n = 0 };
	struct tu_result r;
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "--duration", "0.5", "--summary", "/dev/stdout",
			"127.0.0.1:1", NULL);
	run_to_pipe(&a, 30, &r);
	cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
	cr_expect_str_empty(r.err);
	/* The same file as stdout: the JSON alone, as with "-". */
	char err[128];
	struct tj *s = tj_parse(r.out, r.out_len, err, sizeof(err));
	cr_assert_not_null(s, "stdout is not one JSON document (%s): %s", err, r.out);
	tu_check_summary_consistent(s, 1);
	cr_expect_str_eq(tu_str(s, "stop_reason"), "duration");
	tj_free(s);
	tu_result_free(&r);

	/* A character device. */
	a.n = 0;
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "--duration", "0.2", "-q", "--summary", "/dev/null",
			"127.0.0.1:1", NULL);
	tu_run(&a, 30, &r);
	cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
	cr_expect_str_empty(r.err);
	tu_result_free(&r);
}

/* A FIFO: read by `cat`, started before or (the open is then left to the end of the run)
 * after redial. */
Test(cli, summary_to_a_fifo_is_written_whether_the_reader_comes_first_or_last)
{
	char fifo[128];
	tu_path_in_dir(fifo, sizeof(fifo), "summary.fifo");
	cr_assert_eq(mkfifo(fifo, 0600), 0, "mkfifo: %s", strerror(errno));
	for (int reader_first = 1; reader_first >= 0; reader_first--) {
		struct tu_args a = { .n = 0 }, c = { .n = 0 };
		struct tu_proc pr, pc;
		struct tu_result r, rc;
		tu_args_add(&a, tu_bin("REDIAL_BIN"), "--duration", "0.3", "-q", "--summary", fifo,
				"127.0.0.1:1", NULL);
		tu_args_add(&c, "/bin/cat", fifo, NULL);
		if (reader_first)
			tu_spawn(&pc, c.v, NULL);
		tu_spawn(&pr, a.v, NULL);
		if (!reader_first) {
			/* Wait for redial to reach the end of its run (its duration is 0.3 s,
			 * and it then waits in open() for a reader). */
			struct timespec ts = { 0, 50 * 1000 * 1000 };
			while (tu_now_s() - pr.started < 0.3)
				nanosleep(&ts, NULL);
			tu_spawn(&pc, c.v, NULL);
		}
		tu_wait(&pr, 30, &r);
		tu_wait(&pc, 30, &rc);
		cr_assert_eq(r.code, 0, "reader first %d: exit %d: %s", reader_first, r.code,
			     r.err);
		cr_expect_str_empty(r.err);
		cr_assert_eq(rc.code, 0);
		char err[128];
		struct tj *s = tj_parse(rc.out, rc.out_len, err, sizeof(err));
		cr_assert_not_null(s, "reader first %d: not JSON (%s): %s", reader_first, err,
				   rc.out);
		tu_check_summary_consistent(s, 1);
		tj_free(s);
		tu_result_free(&r);
		tu_result_free(&rc);
	}
}

Test(cli, without_a_terminal_only_the_final_summary_is_printed_and_quiet_prints_nothing)
{
	static const char *const specs[] = { "refuse" };
	struct farm *f = start_farm(specs, 1);
	struct tu_args a = { .n = 0 };
	struct tu_result r;
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "--duration", "1", "--alert-after", "1",
			"--max-attempts", "2", NULL);
	tu_arg(&a, "127.0.0.1:%u", farm_port(f, 0));
	tu_run(&a, 30, &r);
	cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
	cr_expect(strncmp(r.out, "Summary: 1 endpoint, ran ", 25) == 0, "%s", r.out);
	cr_expect(!strchr(r.out, '\r') && !strchr(r.out, '\033'), "terminal codes: %s", r.out);
	cr_expect(!strstr(r.out, "ALERT") && !strstr(r.out, "GAVE UP"), "%s", r.out);
	cr_expect(strstr(r.out, "gave up"), "%s", r.out);
	cr_expect_str_empty(r.err);
	tu_result_free(&r);

	a.n = 0;
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "-q", "--duration", "0.5", NULL);
	tu_arg(&a, "127.0.0.1:%u", farm_port(f, 0));
	tu_run(&a, 30, &r);
	cr_assert_eq(r.code, 0);
	cr_expect_str_empty(r.out, "-q printed: %s", r.out);
	cr_expect_str_empty(r.err);
	tu_result_free(&r);
	farm_stop(f);
}

Test(cli, on_a_terminal_a_live_status_line_and_the_alerts_are_shown)
{
	static const char *const specs[] = { "refuse", "accept" };
	struct farm *f = start_farm(specs, 2);
	struct tu_args a = { .n = 0 };
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "--duration", "1.5", "--alert-after", "2",
			"--max-attempts", "3", "--backoff-initial", "50", "--backoff-max", "100",
			NULL);
	tu_arg(&a, "127.0.0.1:%u", farm_port(f, 0));
	tu_arg(&a, "127.0.0.1:%u", farm_port(f, 1));

	int master, slave;
	struct winsize ws = { .ws_row = 40, .ws_col = 100 };
	cr_assert_eq(openpty(&master, &slave, NULL, NULL, &ws), 0, "openpty: %s", strerror(errno));
	double t0 = tu_now_s();
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		setsid();
		if (dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
			_exit(120);
		close(master);
		execv(a.v[0], (char *const *)a.v);
		_exit(122);
	}
	close(slave);
	char *out = malloc(1 << 16);
	size_t len = 0;
	for (;;) {
		struct pollfd p = { .fd = master, .events = POLLIN };
		cr_assert_lt(tu_now_s() - t0, 30, "no end of output");
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = read(master, out + len, (1 << 16) - 1 - len);
		if (n <= 0)
			break; /* EIO: the child and its terminal are gone */
		len += (size_t)n;
	}
	out[len] = 0;
	close(master);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d: %s", st, out);
	cr_expect(strstr(out, "\r\033[K"), "no status line redraw: %s", out);
	cr_expect(strstr(out, "up 1") && strstr(out, "connecting ") && strstr(out, "backoff ") &&
			  strstr(out, "failed ") && strstr(out, "attempts/s") &&
			  strstr(out, "connects/s"),
		  "%s", out);
	cr_expect(strstr(out, "ALERT") && strstr(out, "2 failed attempts in a row"), "%s", out);
	cr_expect(strstr(out, "GAVE UP") && strstr(out, "max_attempts after 3 attempts"), "%s",
		  out);
	cr_expect(strstr(out, "Summary: 2 endpoints"), "%s", out);
	/* Every status line fits the terminal, so it can be redrawn in place. */
	for (char *p = strstr(out, "\033[K"); p; p = strstr(p + 1, "\033[K")) {
		size_t w = strcspn(p + 3, "\r\n");
		cr_expect_lt(w, 100, "a %zu-column line on a 100-column terminal", w);
	}
	free(out);
	farm_stop(f);
}

Test(cli, a_fractional_duration_ends_the_run_on_time)
{
	static const char *const specs[] = { "accept" };
	struct farm *f = start_farm(specs, 1);
	char sum[128];
	tu_path_in_dir(sum, sizeof(sum), "d.json");
	struct tu_args a = { .n = 0 };
	struct tu_result r;
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "--duration", "0.75", "-q", "--summary", sum, NULL);
	tu_arg(&a, "127.0.0.1:%u", farm_port(f, 0));
	tu_run(&a, 30, &r);
	cr_assert_eq(r.code, 0);
	cr_expect_geq(r.secs, 0.75);
	cr_expect_lt(r.secs, 0.75 + 10, "took %.2f s", r.secs);
	struct tj *s = tu_read_summary(sum);
	cr_expect_geq(tu_num(s, "duration_s"), 0.75);
	cr_expect_lt(tu_num(s, "duration_s"), 0.75 + 5);
	cr_expect_str_eq(tu_str(s, "stop_reason"), "duration");
	tj_free(s);
	tu_result_free(&r);
	farm_stop(f);
}

Test(cli, sigint_stops_a_run_without_duration_cleanly)
{
	static const char *const specs[] = { "accept", "blackhole" };
	struct farm *f = start_farm(specs, 2);
	char sum[128];
	tu_path_in_dir(sum, sizeof(sum), "int.json");
	struct tu_args a = { .n = 0 };
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "--summary", sum, NULL);
	tu_arg(&a, "127.0.0.1:%u", farm_port(f, 0));
	tu_arg(&a, "127.0.0.1:%u", farm_port(f, 1));
	struct tu_proc p;
	struct tu_result r;
	struct farm_counters fc;
	tu_spawn(&p, a.v, NULL);
	while (farm_counters(f, 0, &fc) == 0 && fc.accepted < 1 && tu_now_s() - p.started < 20)
		usleep(10000);
	cr_assert_eq(fc.accepted, 1);
	double t = tu_now_s();
	kill(p.pid, SIGINT);
	tu_wait(&p, 20, &r);
	cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
	cr_expect_lt(tu_now_s() - t, 10.0, "%.2f s to stop after SIGINT", tu_now_s() - t);
	struct tj *s = tu_read_summary(sum);
	tu_check_summary_consistent(s, 2);
	cr_expect_str_eq(tu_str(s, "stop_reason"), "SIGINT");
	cr_expect_str_eq(tu_str(s, "shutdown"), "clean");
	tj_free(s);
	tu_result_free(&r);
	farm_stop(f);
}

Test(cli, sigterm_with_5000_endpoints_in_flight_exits_0_with_a_whole_summary_and_log,
     .timeout = 240)
{
	static const char *const specs[] = { "accept", "blackhole" };
	struct farm *f = start_farm(specs, 2);
	char file[128], log[128], sum[128];
	tu_path_in_dir(file, sizeof(file), "5000.txt");
	tu_path_in_dir(log, sizeof(log), "5000.log");
	tu_path_in_dir(sum, sizeof(sum), "5000.json");
	FILE *fp = fopen(file, "we");
	cr_assert_not_null(fp);
	for (unsigned i = 0; i < 5000; i++)
		fprintf(fp, "127.1.%u.%u:%u\n", i / 250, 1 + i % 250, farm_port(f, i % 2));
	cr_assert_eq(fclose(fp), 0);

	struct tu_args a = { .n = 0 };
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "-f", file, "--connect-timeout", NULL);
	tu_arg(&a, "20000"); /* the blackholed half stays in flight until the signal */
	tu_args_add(&a, "--log", log, "--summary", sum, NULL);
	struct tu_proc p;
	struct tu_result r;
	struct farm_counters fc = { 0 };
	tu_spawn(&p, a.v, NULL);
	while (farm_counters(f, 0, &fc) == 0 && fc.accepted < 2500 && tu_now_s() - p.started < 60)
		usleep(20000);
	cr_assert_eq(fc.accepted, 2500, "only %lu accepted", (unsigned long)fc.accepted);
	double t = tu_now_s();
	cr_assert_eq(kill(p.pid, SIGTERM), 0);
	tu_wait(&p, 60, &r);
	double stop = tu_now_s() - t;
	cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
	cr_expect_lt(stop, 10.0, "%.2f s to stop after SIGTERM", stop);
	cr_expect(!strstr(r.err, "shutdown"), "%s", r.err);

	struct tj *s = tu_read_summary(sum);
	tu_check_summary_consistent(s, 5000);
	cr_expect_str_eq(tu_str(s, "stop_reason"), "SIGTERM");
	cr_expect_str_eq(tu_str(s, "shutdown"), "clean");
	const struct tj *states = tj_path(s, "totals", "states", NULL);
	cr_expect_eq(tu_num(states, "connected"), 2500);
	cr_expect_eq(tu_num(states, "connecting"), 2500, "in flight at the signal: %.0f",
		     tu_num(states, "connecting"));
	cr_expect_eq(tu_num(tj_get(s, "log"), "dropped"), 0);
	/* Issue 19: the attempts in flight at the signal are attempts too (they were counted
	 * as 0), in the JSON and in the text summary, and the figures add up. */
	const struct tj *tot = tj_get(s, "totals");
	cr_expect_eq(tu_num(tot, "attempts"), 5000);
	cr_expect_eq(tu_num(tot, "connects"), 2500);
	cr_expect_eq(tu_num(tot, "attempts_failed"), 0);
	cr_expect_eq(tu_num(tot, "attempts_at_stop"), 2500);
	cr_expect_eq(tu_num(tot, "attempts_abandoned"), 0);
	cr_expect(strstr(r.out, "\n  attempts    5000 (2500 connected, 0 failed, 2500 in flight at "
				"the stop)\n"),
		  "%s", r.out);

	struct tu_records recs;
	tu_decode_log(log, &recs);
	const struct tj *none[1];
	cr_expect_eq(tu_select_records(&recs, "endpoint_added", NULL, none, 0), 5000);
	cr_expect_eq(tu_select_records(&recs, "connected", NULL, none, 0), 2500);
	cr_expect_eq(tu_select_records(&recs, "cancelled", NULL, none, 0), 5000);
	cr_expect_eq(tu_select_records(&recs, "dropped", NULL, none, 0), 0);
	cr_expect_eq(tu_num(tj_get(s, "log"), "records"), (double)recs.n);
	tu_records_free(&recs);
	tj_free(s);
	tu_result_free(&r);
	farm_stop(f);
}

/* The log on a disk that fills (a 64 KiB tmpfs in a mount namespace of the test's own):
 * the run goes on, stderr says so at once (not at the end), and the summary tells the
 * records written from those lost, in agreement with what redial-log reads back. */
Test(cli, a_full_log_disk_is_reported_while_the_run_goes_on_and_counted_in_the_summary,
     .timeout = 120)
{
	char why[256], small[128], log[160], sum[128];
	if (tu_unshare(CLONE_NEWNS, why, sizeof(why)) < 0)
		cr_skip_test("no mount namespace here: %s", why);
	tu_path_in_dir(small, sizeof(small), "small");
	cr_assert_eq(mkdir(small, 0700), 0);
	cr_assert_eq(mount("tmpfs", small, "tmpfs", 0, "size=64k"), 0, "mount: %s",
		     strerror(errno));
	snprintf(log, sizeof(log), "%s/full.log", small);
	tu_path_in_dir(sum, sizeof(sum), "full.json");

	/* 50 endpoints refused at once and retried within a few ms: thousands of records a
	 * second, so 64 KiB fill in well under a second. */
	struct tu_args a = { .n = 0 };
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "-q", "--backoff-initial", "1", "--backoff-max", "5",
			"--duration", "30", "--log", log, "--summary", sum, NULL);
	for (int i = 0; i < 50; i++)
		tu_arg(&a, "127.0.0.%d:1", 1 + i);
	struct tu_proc p;
	struct tu_result r;
	tu_spawn(&p, a.v, NULL);
	/* The warning comes while the run goes on, long before its 30 s are over. */
	char *err = NULL;
	for (;;) {
		free(err);
		err = tu_slurp(p.err_path, NULL); /* NULL until the child made it */
		if (!err)
			err = strdup("");
		cr_assert_not_null(err);
		if (strstr(err, "No space left on device"))
			break;
		int st;
		cr_assert_eq(waitpid(p.pid, &st, WNOHANG), 0, "redial ended without a warning: %s",
			     err);
		cr_assert_lt(tu_now_s() - p.started, 25, "no warning in 25 s: %s", err);
		usleep(20000);
	}
	int st;
	cr_expect_eq(waitpid(p.pid, &st, WNOHANG), 0, "the warning came only at the end");
	char want[256];
	snprintf(want, sizeof(want), "redial: --log %s: No space left on device", log);
	cr_expect(strstr(err, want), "stderr lacks [%s]: %s", want, err);
	free(err);
	cr_assert_eq(kill(p.pid, SIGTERM), 0);
	tu_wait(&p, 30, &r);
	cr_expect_eq(r.code, 1, "exit %d after a log write error: %s", r.code, r.err);
	/* Said once, not once per lost batch. */
	char *second = strstr(r.err, "No space left on device");
	cr_expect(second && !strstr(second + 1, "No space left on device"), "%s", r.err);

	struct tj *s = tu_read_summary(sum);
	const struct tj *l = tj_get(s, "log");
	cr_assert_not_null(l);
	cr_expect_str_eq(tu_str(l, "error"), "ENOSPC");
	double records = tu_num(l, "records"), written = tu_num(l, "written");
	double lost = tu_num(l, "lost");
	cr_expect_gt(written, 0);
	cr_expect_gt(lost, 0);
	cr_expect_eq(tu_num(l, "dropped"), 0);
	cr_expect_eq(written + lost, records, "written %.0f + lost %.0f != records %.0f",
		     written, lost, records);
	/* The file holds exactly the records said written, whole. */
	struct tu_records recs;
	tu_decode_log(log, &recs);
	cr_expect_eq((double)recs.n, written, "redial-log read %zu records, summary says %.0f",
		     recs.n, written);
	tu_records_free(&recs);
	tj_free(s);
	tu_result_free(&r);
	umount(small);
}

Test(cli, io_uring_blocked_exits_1_saying_what_to_do)
{
	char log[128], sum[128];
	tu_path_in_dir(log, sizeof(log), "blocked.log");
	tu_path_in_dir(sum, sizeof(sum), "blocked.json");
	struct tu_args a = { .n = 0 };
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "--log", log, "--summary", sum, "127.0.0.1:1", NULL);
	struct tu_proc p;
	struct tu_result r;
	tu_spawn(&p, a.v, tu_no_io_uring());
	tu_wait(&p, 20, &r);
	cr_assert_eq(r.code, 1, "exit %d: %s", r.code, r.err);
	cr_expect(strstr(r.err, "cannot create the io_uring manager"), "%s", r.err);
	cr_expect(strstr(r.err, "kernel.io_uring_disabled") && strstr(r.err, "seccomp"), "%s",
		  r.err);
	/* The sysctl is not the cause when it reads 0 (or is absent): no advice to set it. */
	FILE *sf = fopen("/proc/sys/kernel/io_uring_disabled", "re");
	int dis = -1;
	if (sf) {
		if (fscanf(sf, "%d", &dis) != 1)
			dis = -1;
		fclose(sf);
	}
	if (dis <= 0)
		cr_expect(!strstr(r.err, "io_uring_disabled=0"), "wrong cause named: %s", r.err);
	cr_expect_str_empty(r.out);
	struct stat sb;
	cr_expect(stat(sum, &sb) < 0, "a summary was left behind");
	cr_expect(stat(log, &sb) < 0, "a log was left behind");
	tu_result_free(&r);
}

/* ---- The demo -------------------------------------------------------------------------------- */

Test(cli, demo_for_3_seconds_prints_every_section, .timeout = 60)
{
	struct tu_args a = { .n = 0 };
	struct tu_result r;
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "demo", "--duration", "3", NULL);
	tu_run(&a, 30, &r);
	cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
	cr_expect_lt(r.secs, 15, "the demo took %.1f s", r.secs);
	static const char *const sections[] = {
		"redial demo: 100 endpoints",
		"Targets",
		"accept",
		"drop",
		"slow",
		"refuse",
		"blackhole",
		"recover",
		"Summary: 100 endpoints",
		"Per target, at the end",
		"Event log: ",
		"The first record of each kind",
		"The last records before the stop",
	};
	const char *at = r.out;
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		const char *p = strstr(at, sections[i]);
		cr_expect(p, "no [%s] (in order) in:\n%s", sections[i], r.out);
		if (p)
			at = p;
	}
	cr_expect_str_empty(r.err, "%s", r.err);
	tu_result_free(&r);
}

Test(cli, demo_shows_a_timeout_an_alert_a_give_up_and_a_reconnect, .timeout = 60)
{
	char sum[128], log[128];
	tu_path_in_dir(sum, sizeof(sum), "demo.json");
	tu_path_in_dir(log, sizeof(log), "demo.log");
	struct tu_args a = { .n = 0 };
	struct tu_result r;
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "demo", "--endpoints", "60", "--summary", sum,
			"--log", log, NULL);
	tu_run(&a, 30, &r);
	cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
	cr_expect_lt(r.secs, 15, "the demo took %.1f s", r.secs);
	const char *story = strstr(r.out, "The first record of each kind");
	cr_assert_not_null(story, "%s", r.out);
	cr_expect(strstr(story, "error=ETIMEDOUT"), "no timeout:\n%s", story);
	cr_expect(strstr(story, "error=ECONNREFUSED"), "no refusal:\n%s", story);
	cr_expect(strstr(story, " alert "), "no alert:\n%s", story);
	cr_expect(strstr(story, " gave_up "), "no give-up:\n%s", story);
	cr_expect(strstr(story, "reconnected after "), "no reconnect:\n%s", story);
	cr_expect(strstr(story, " disconnected "), "no disconnect:\n%s", story);
	char want[200];
	snprintf(want, sizeof(want), "Every record: redial-log %s", log);
	cr_expect(strstr(r.out, want), "%s", r.out);

	/* The kept log and the summary agree with the printed story. */
	struct tj *s = tu_read_summary(sum);
	tu_check_summary_consistent(s, 60);
	const struct tj *t = tj_get(s, "totals");
	cr_expect_gt(tu_num(t, "gave_up"), 0);
	cr_expect_gt(tu_num(t, "alerts"), 0);
	cr_expect_gt(tu_num(t, "disconnects"), 0);
	struct tu_records recs;
	tu_decode_log(log, &recs);
	const struct tj *c[64];
	size_t nc = tu_select_records(&recs, "connected", NULL, c, 64), re = 0;
	for (size_t i = 0; i < nc && i < 64; i++)
		if (tu_num(c[i], "attempts") > 1)
			re++;
	cr_expect_gt(re, 0);
	tu_records_free(&recs);
	tj_free(s);
	tu_result_free(&r);
}

/* ---- Pieces ---------------------------------------------------------------------------------- */

Test(cli, json_strings_are_escaped_and_read_back_by_a_strict_parser)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	cr_assert_not_null(m);
	static const char in[] = "a\"b\\c\n\t\r\x01\x1f\x7f\xc3\xa9/";
	cli_json_string(m, in, sizeof(in) - 1);
	cr_assert_eq(fclose(m), 0);
	cr_expect_str_eq(buf, "\"a\\\"b\\\\c\\n\\t\\r\\u0001\\u001f\\u007f\\u00c3\\u00a9/\"");
	char err[64];
	struct tj *v = tj_parse(buf, len, err, sizeof(err));
	cr_assert_not_null(v, "%s", err);
	/* Bytes >= 0x7f come back as the Latin-1 code points they were written as. */
	cr_expect_str_eq(tj_str(v), "a\"b\\c\n\t\r\x01\x1f\x7f\xc3\x83\xc2\xa9/");
	tj_free(v);
	free(buf);
}

/* ---- Names ----------------------------------------------------------------------------------- */

/* The start of a one-second run of the binary that resolves through dns and writes its
 * summary to sum (a file of that name in the test's directory). */
static void name_run_args(struct tu_args *a, const struct tu_dnsmasq *dns, char *sum,
			  size_t len, const char *file)
{
	tu_path_in_dir(sum, len, file);
	a->n = 0;
	tu_arg(a, "%s", tu_bin("REDIAL_BIN"));
	tu_arg(a, "--dns-server=%s", dns->servers);
	tu_arg(a, "--duration=1");
	tu_arg(a, "--summary=%s", sum);
}

/* Issue 19: five failed lookups read "attempts 0 (0 connected, 5 failed)": a lookup is not
 * an attempt, so it is its own figure, and attempts, failures and lookups add up. */
Test(cli, failed_lookups_are_counted_apart_from_attempts_and_every_figure_adds_up)
{
	static const char *const specs[] = { "accept" };
	struct farm *f = start_farm(specs, 1);
	struct tu_dnsmasq dns;
	tu_dnsmasq_start(&dns, "127.3.0.1 ok.test\n");
	char sum[128];
	struct tu_args a;
	struct tu_result r;
	name_run_args(&a, &dns, sum, sizeof(sum), "lookups.json");
	tu_arg(&a, "ok.test:%u", farm_port(f, 0));
	for (int i = 0; i < 5; i++)
		tu_arg(&a, "missing%d.test:%u", i, farm_port(f, 0));
	tu_run(&a, 30, &r);
	cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
	cr_expect(strstr(r.out, "\n  attempts    1 (1 connected, 0 failed, 0 in flight at the "
				"stop)\n"),
		  "%s", r.out);
	cr_expect(strstr(r.out, "\n  lookups     5 failed "), "%s", r.out);
	cr_expect(strstr(r.out, "\n  events      0 disconnects, 0 alerts, 5 gave up\n"), "%s",
		  r.out);

	struct tj *s = tu_read_summary(sum);
	tu_check_summary_consistent(s, 6);
	const struct tj *t = tj_get(s, "totals");
	cr_expect_eq(tu_num(t, "attempts"), 1);
	cr_expect_eq(tu_num(t, "connects"), 1);
	cr_expect_eq(tu_num(t, "failures"), 5);
	cr_expect_eq(tu_num(t, "attempts_failed"), 0);
	cr_expect_eq(tu_num(t, "dns_failures"), 5);
	cr_expect_eq(tu_num(t, "attempts_at_stop"), 0);
	char name[64];
	snprintf(name, sizeof(name), "missing3.test:%u", farm_port(f, 0));
	const struct tj *e = tu_endpoint_of(s, name);
	cr_expect_eq(tu_num(e, "attempts"), 0);
	cr_expect_eq(tu_num(e, "failures"), 1);
	cr_expect_eq(tu_num(e, "dns_failures"), 1);
	tj_free(s);
	tu_result_free(&r);
	tu_dnsmasq_stop(&dns);
	farm_stop(f);
}

/* A name with an IPv6 address that is blackholed and an IPv4 one that accepts: the IPv6
 * attempt goes first, the IPv4 racer after its head start connects, and the IPv6 attempt,
 * still in flight, is abandoned. It is an attempt, in the sum and in the text. */
Test(cli, an_attempt_abandoned_when_its_racer_connects_is_counted_in_the_attempts)
{
	static const char *const acc[] = { "accept" };
	struct farm *f4 = start_farm(acc, 1);
	char spec[64];
	snprintf(spec, sizeof(spec), "blackhole:v6:port=%u", farm_port(f4, 0));
	const char *const bh[] = { spec };
	struct farm *f6 = start_farm(bh, 1);
	struct tu_dnsmasq dns;
	tu_dnsmasq_start(&dns, "127.0.0.1 both.test\n::1 both.test\n");
	char sum[128];
	struct tu_args a;
	struct tu_result r;
	name_run_args(&a, &dns, sum, sizeof(sum), "race.json");
	tu_arg(&a, "both.test:%u", farm_port(f4, 0));
	tu_run(&a, 30, &r);
	cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
	struct tj *s = tu_read_summary(sum);
	tu_check_summary_consistent(s, 1);
	const struct tj *t = tj_get(s, "totals");
	cr_expect_eq(tu_num(t, "connects"), 1);
	cr_expect_eq(tu_num(t, "attempts_abandoned"), 1, "the IPv6 attempt the racer beat");
	cr_expect_eq(tu_num(t, "attempts"), 2);
	cr_expect(strstr(r.out, "\n  attempts    2 (1 connected, 0 failed, 1 abandoned, 0 in flight "
				"at the stop)\n"),
		  "%s", r.out);
	tj_free(s);
	tu_result_free(&r);
	tu_dnsmasq_stop(&dns);
	farm_stop(f6);
	farm_stop(f4);
}

Test(cli, names_resolve_through_dns_server_and_a_missing_one_gives_up_as_DNS_NXDOMAIN)
{
	static const char *const specs[] = { "accept" };
	struct farm *f = start_farm(specs, 1);
	struct tu_dnsmasq dns;
	tu_dnsmasq_start(&dns, "127.3.0.1 ok.test\n");
	char ok[64], missing[64], log[128], sum[128];
	snprintf(ok, sizeof(ok), "ok.test:%u", farm_port(f, 0));
	snprintf(missing, sizeof(missing), "missing.test:%u", farm_port(f, 0));
	tu_path_in_dir(log, sizeof(log), "dns.log");

	struct tu_args a;
	struct tu_result r;
	name_run_args(&a, &dns, sum, sizeof(sum), "dns.json");
	tu_arg(&a, "--dns-timeout=1000");
	tu_arg(&a, "--log=%s", log);
	tu_args_add(&a, ok, missing, NULL);
	tu_run(&a, 30, &r);
	cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);

	struct tj *s = tu_read_summary(sum);
	const struct tj *e = tu_endpoint_of(s, ok);
	cr_expect_str_eq(tu_str(e, "state"), "connected");
	cr_expect_eq(tu_num(e, "attempts"), 1);
	e = tu_endpoint_of(s, missing);
	cr_expect_str_eq(tu_str(e, "state"), "failed");
	cr_expect_str_eq(tu_str(e, "last_error"), "DNS_NXDOMAIN");
	cr_expect_str_eq(tu_str(e, "last_class"), "permanent");
	cr_expect_str_eq(tu_str(e, "gave_up"), "permanent");
	cr_expect_eq(tu_num(e, "attempts"), 0, "no connect attempt for a name that does not exist");
	cr_expect_eq(tu_num(e, "failures"), 1);
	cr_expect_eq(tu_num(tj_get(e, "errors"), "DNS_NXDOMAIN"), 1);

	struct tu_records recs;
	tu_decode_log(log, &recs);
	const struct tj *fl[4];
	cr_assert_eq(tu_select_records(&recs, "connect_failed", missing, fl, 4), 1);
	cr_expect_str_eq(tu_str(fl[0], "error"), "DNS_NXDOMAIN");
	cr_expect_str_eq(tu_str(fl[0], "class"), "permanent");
	cr_expect_eq(tu_dnsmasq_queries(&dns, "A", "missing.test"), 1);
	tu_records_free(&recs);
	tj_free(s);
	tu_result_free(&r);

	/* A server must be an address: a name there is an input error, nothing started. */
	struct tu_args b = { .n = 0 };
	tu_args_add(&b, tu_bin("REDIAL_BIN"), "--dns-server=dns.example:53", ok, NULL);
	tu_run(&b, 30, &r);
	cr_expect_eq(r.code, 2);
	cr_expect(strstr(r.err, "--dns-server") && strstr(r.err, "not a name"), "%s", r.err);
	tu_result_free(&r);
	tu_dnsmasq_stop(&dns);
	farm_stop(f);
}
