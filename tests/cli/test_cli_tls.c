/* test_cli_tls.c — the `redial` command with TLS: --tls and tls:// (a mixed list in one file),
 * the --tls-* flags and --recheck-permanent, the summary's "tls" objects and TLS_* error
 * names, the log's TLS fields through the real redial-log, and the usage errors. The farm's
 * TLS targets use certificates made at run time. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "farm.h"
#include "farm_pki.h"
#include "testutil.h"

static struct farm_pki *pki;

static void setup(void)
{
	cr_assert_eq(farm_pki_create(FARM_KEY_EC_P256, &pki), 0);
	tu_scratch_make("redial-cli-tls");
}

static void teardown(void)
{
	tu_scratch_remove();
	farm_pki_destroy(pki);
}

TestSuite(cli_tls, .init = setup, .fini = teardown, .timeout = 120);

/* Runs the binary named by environment variable bin_var with the arguments (NULL-terminated);
 * its output goes to the scratch directory; waits up to 60 s. */
static void run(struct tu_result *r, const char *bin_var, ...)
{
	struct tu_args a = { .n = 0 };
	tu_arg(&a, "%s", tu_bin(bin_var));
	va_list ap;
	va_start(ap, bin_var);
	const char *arg;
	while ((arg = va_arg(ap, const char *)))
		tu_arg(&a, "%s", arg);
	va_end(ap);
	tu_run(&a, 60, r);
}

Test(cli_tls, a_mixed_list_in_one_file_with_summary_and_log)
{
	struct farm_target_spec specs[] = {
		{ .kind = FARM_TLS, .hold_ms = 300, .tls_alpn = "h2",
		  .tls_cert = pki->cert[FARM_CERT_VALID], .tls_key = pki->key[FARM_CERT_VALID] },
		{ .kind = FARM_TLS, .tls_cert = pki->cert[FARM_CERT_EXPIRED],
		  .tls_key = pki->key[FARM_CERT_EXPIRED] },
		{ .kind = FARM_ACCEPT },
		{ .kind = FARM_ACCEPT },
	};
	struct farm *f = tu_farm_start(specs, 4);
	char list[FARM_PKI_PATH + 16], log[FARM_PKI_PATH + 16], e[4][64];
	snprintf(list, sizeof(list), "%s/endpoints", pki->dir);
	snprintf(log, sizeof(log), "%s/run.rlog", pki->dir);
	snprintf(e[0], sizeof(e[0]), "tls://127.0.0.1:%u", farm_port(f, 0));
	snprintf(e[1], sizeof(e[1]), "tls://127.0.0.1:%u", farm_port(f, 1));
	snprintf(e[2], sizeof(e[2]), "127.0.0.1:%u", farm_port(f, 2));
	snprintf(e[3], sizeof(e[3]), "tls://127.0.0.1:%u", farm_port(f, 3));
	FILE *fp = fopen(list, "we");
	fprintf(fp, "# TLS and plain, one list\n%s\n%s\n%s\n%s\n", e[0], e[1], e[2], e[3]);
	fclose(fp);
	struct tu_result r;
	run(&r, "REDIAL_BIN", "--duration", "2", "--tls-ca", pki->ca, "--tls-alpn", "h2",
	    "--tls-handshake-timeout", "300", "--backoff-initial", "50", "--summary", "-",
	    "--log", log, "-q", "-f", list, NULL);
	cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
	struct tj *sum = tu_parse_json(r.out);
	/* Dropped every 300 ms and reconnected: its state at the end is a matter of timing. */
	const struct tj *good = tu_endpoint_of(sum, e[0]);
	cr_assert_geq(tj_num(tj_get(good, "connects")), 2);
	const struct tj *tls = tj_get(good, "tls");
	cr_assert_not_null(tls);
	cr_assert_geq(tj_num(tj_get(tls, "handshakes")), 2, "dropped after 300 ms: reconnects");
	cr_assert_geq(tj_num(tj_get(tls, "resumed")), 1);
	cr_assert_str_eq(tj_str(tj_get(tls, "version")), "TLSv1.3");
	cr_assert_str_eq(tj_str(tj_get(tls, "alpn")), "h2");
	cr_assert_not_null(tj_str(tj_get(tls, "cipher")));
	const struct tj *exp = tu_endpoint_of(sum, e[1]);
	cr_assert_str_eq(tj_str(tj_get(exp, "state")), "failed");
	cr_assert_str_eq(tj_str(tj_get(exp, "last_error")), "TLS_CERT_EXPIRED");
	cr_assert_str_eq(tj_str(tj_get(exp, "last_class")), "permanent");
	cr_assert_str_eq(tj_str(tj_get(exp, "gave_up")), "permanent");
	cr_assert_eq(tj_num(tj_path(exp, "errors", "TLS_CERT_EXPIRED", NULL)), 1);
	cr_assert_eq(tj_num(tj_get(exp, "attempts")), 1, "given up at once");
	const struct tj *plain = tu_endpoint_of(sum, e[2]);
	cr_assert_str_eq(tj_str(tj_get(plain, "state")), "connected");
	cr_assert_null(tj_get(plain, "tls"), "a plain endpoint has no tls object");
	const struct tj *silent = tu_endpoint_of(sum, e[3]);
	cr_assert_str_eq(tj_str(tj_get(silent, "last_error")), "TLS_HANDSHAKE_TIMEOUT");
	cr_assert_str_eq(tj_str(tj_get(silent, "last_class")), "transient");
	tj_free(sum);
	tu_result_free(&r);

	run(&r, "REDIAL_LOG_BIN", "--json", log, NULL);
	cr_assert_eq(r.code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"tls_version\":\"TLSv1.3\""), "%s", r.out);
	cr_assert(strstr(r.out, "\"alpn\":\"h2\",\"resumed\":true"), "%s", r.out);
	cr_assert(strstr(r.out, "\"error\":\"TLS_CERT_EXPIRED\""), "%s", r.out);
	cr_assert(strstr(r.out, "\"reason\":\"certificate verify failed: certificate has expired\""),
		  "%s", r.out);
	tu_result_free(&r);
	farm_stop(f);
}

Test(cli_tls, tls_insecure_accepts_anything_and_says_so_and_recheck_retries)
{
	struct farm_target_spec specs[] = {
		{ .kind = FARM_TLS, .tls_cert = pki->cert[FARM_CERT_EXPIRED],
		  .tls_key = pki->key[FARM_CERT_EXPIRED] },
	};
	struct farm *f = tu_farm_start(specs, 1);
	char ep[64];
	snprintf(ep, sizeof(ep), "127.0.0.1:%u", farm_port(f, 0));
	struct tu_result r;
	run(&r, "REDIAL_BIN", "--duration", "1", "--tls", "--tls-insecure", "--summary", "-", "-q",
	    ep, NULL);
	cr_assert_eq(r.code, 0, "%s", r.err);
	cr_assert(strstr(r.err, "NOT verified"), "no warning: %s", r.err);
	struct tj *sum = tu_parse_json(r.out);
	cr_assert_str_eq(tj_str(tj_get(tu_endpoint_of(sum, ep), "state")), "connected");
	tj_free(sum);
	tu_result_free(&r);

	run(&r, "REDIAL_BIN", "--duration", "2.5", "--tls", "--tls-ca", pki->ca,
	    "--recheck-permanent", "400", "--summary", "-", "-q", ep, NULL);
	cr_assert_eq(r.code, 0, "%s", r.err);
	sum = tu_parse_json(r.out);
	const struct tj *e = tu_endpoint_of(sum, ep);
	cr_assert_str_eq(tj_str(tj_get(e, "last_error")), "TLS_CERT_EXPIRED");
	double attempts = tj_num(tj_get(e, "attempts"));
	/* Given up at once, then tried again every 400 ms: never more than 1 + 2.5 / 0.4. */
	cr_assert(attempts >= 2 && attempts <= 7, "%g attempts", attempts);
	tj_free(sum);
	tu_result_free(&r);
	farm_stop(f);
}

Test(cli_tls, usage_errors_exit_2_before_anything_starts)
{
	struct tu_result r;
	run(&r, "REDIAL_BIN", "--tls-min-version", "1.1", "tls://127.0.0.1:1", NULL);
	cr_assert_eq(r.code, 2);
	cr_assert(strstr(r.err, "not a TLS version"), "%s", r.err);
	tu_result_free(&r);
	run(&r, "REDIAL_BIN", "--tls-cert", pki->cert[FARM_CERT_CLIENT], "tls://127.0.0.1:1", NULL);
	cr_assert_eq(r.code, 2);
	cr_assert(strstr(r.err, "--tls-cert and --tls-key"), "%s", r.err);
	tu_result_free(&r);
	run(&r, "REDIAL_BIN", "--tls-ca", "/nonexistent/ca.pem", "--duration", "1",
	    "tls://127.0.0.1:1", NULL);
	cr_assert_eq(r.code, 2);
	cr_assert(strstr(r.err, "cannot load CA"), "%s", r.err);
	tu_result_free(&r);
	run(&r, "REDIAL_BIN", "--tls-handshake-timeout", "0", "tls://127.0.0.1:1", NULL);
	cr_assert_eq(r.code, 2);
	tu_result_free(&r);
	run(&r, "REDIAL_BIN", "--help", NULL);
	cr_assert_eq(r.code, 0);
	cr_assert(strstr(r.out, "--tls-insecure"));
	cr_assert(strstr(r.out, "--recheck-permanent"));
	tu_result_free(&r);
}

/* Issue 19: a CA, certificate or key that cannot be read was reported as "system lib"; the
 * message names the file and the OS's reason. Exit 2, nothing started. */
Test(cli_tls, an_unreadable_ca_cert_or_key_is_named_with_the_os_error)
{
	struct tu_result r;
	run(&r, "REDIAL_BIN", "--tls-ca", "/nonexistent/ca.pem", "--duration", "1",
	    "tls://127.0.0.1:1", NULL);
	cr_expect_eq(r.code, 2);
	cr_expect(strstr(r.err, "cannot load CA /nonexistent/ca.pem: No such file or directory\n"),
		  "%s", r.err);
	cr_expect(!strstr(r.err, "system lib"), "%s", r.err);
	tu_result_free(&r);

	run(&r, "REDIAL_BIN", "--tls-ca", pki->ca, "--tls-cert", "/nonexistent/client.pem",
	    "--tls-key", pki->key[FARM_CERT_CLIENT], "--duration", "1", "tls://127.0.0.1:1", NULL);
	cr_expect_eq(r.code, 2);
	cr_expect(strstr(r.err, "cannot use client certificate /nonexistent/client.pem: No such "
				"file or directory\n"),
		  "%s", r.err);
	tu_result_free(&r);

	run(&r, "REDIAL_BIN", "--tls-ca", pki->ca, "--tls-cert", pki->cert[FARM_CERT_CLIENT],
	    "--tls-key", "/nonexistent/client.key", "--duration", "1", "tls://127.0.0.1:1", NULL);
	cr_expect_eq(r.code, 2);
	cr_expect(strstr(r.err, "cannot use client key /nonexistent/client.key: No such file or "
				"directory\n"),
		  "%s", r.err);
	tu_result_free(&r);

	/* A directory where the key file belongs (OpenSSL itself says only "PEM lib"). */
	run(&r, "REDIAL_BIN", "--tls-ca", pki->ca, "--tls-cert", pki->cert[FARM_CERT_CLIENT],
	    "--tls-key", pki->dir, "--duration", "1", "tls://127.0.0.1:1", NULL);
	cr_expect_eq(r.code, 2);
	char want[FARM_PKI_PATH + 64];
	snprintf(want, sizeof(want), "cannot use client key %s: Is a directory\n", pki->dir);
	cr_expect(strstr(r.err, want), "%s", r.err);
	tu_result_free(&r);
}

/* Issue 19: --tls-* options when no endpoint runs TLS did nothing, silently. Now each is
 * named in a warning (the run goes on); with a TLS endpoint there is none. */
Test(cli_tls, tls_options_without_a_tls_endpoint_are_warned_about_and_the_run_goes_on)
{
	struct farm_target_spec specs[] = { { .kind = FARM_ACCEPT } };
	struct farm *f = tu_farm_start(specs, 1);
	char ep[64], tls_ep[64];
	snprintf(ep, sizeof(ep), "127.0.0.1:%u", farm_port(f, 0));
	snprintf(tls_ep, sizeof(tls_ep), "tls://127.0.0.1:%u", farm_port(f, 0));
	struct tu_result r;
	run(&r, "REDIAL_BIN", "--tls-ca", pki->ca, "--tls-sni", "example.test", "--tls-insecure",
	    "--tls-handshake-timeout", "500", "--duration", "0.3", "--summary", "-", "-q", ep,
	    NULL);
	cr_assert_eq(r.code, 0, "%s", r.err);
	static const char *const named[] = { "--tls-ca", "--tls-sni", "--tls-handshake-timeout",
					     "--tls-insecure" };
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		char want[128];
		snprintf(want, sizeof(want), "redial: warning: %s has no effect: no endpoint runs TLS",
			 named[i]);
		cr_expect(strstr(r.err, want), "no [%s] in: %s", want, r.err);
	}
	cr_expect(!strstr(r.err, "--tls-alpn"), "%s", r.err);
	cr_expect(!strstr(r.err, "NOT verified"), "nothing is verified without TLS: %s", r.err);
	struct tj *sum = tu_parse_json(r.out);
	cr_expect_str_eq(tj_str(tj_get(tu_endpoint_of(sum, ep), "state")), "connected");
	tj_free(sum);
	tu_result_free(&r);

	/* The same options with a TLS endpoint: no warning about them. */
	run(&r, "REDIAL_BIN", "--tls-ca", pki->ca, "--tls-sni", "example.test",
	    "--duration", "0.3", "-q", ep, tls_ep, NULL);
	cr_expect_eq(r.code, 0, "%s", r.err);
	cr_expect(!strstr(r.err, "has no effect"), "%s", r.err);
	tu_result_free(&r);
	farm_stop(f);
}
