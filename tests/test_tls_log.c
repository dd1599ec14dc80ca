/* test_tls_log.c — TLS in the event log: a connected record carries the TLS version, cipher,
 * ALPN and whether the session was resumed, a connect_failed record the TLS error and the
 * library's reason; both as tails that older readers skip (wire.h), and redial-log's JSON
 * and text show them. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "farm.h"
#include "farm_pki.h"
#include "log/reader.h"
#include "log/record.h"
#include "log/render.h"
#include "redial_log.h"
#include "testutil.h"

TestSuite(tls_log, .timeout = 120);

/* Every record of a file, rendered as JSON (or text) lines into one string. */
static char *render_file(const char *path, bool json)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	struct rd_log_reader *rd;
	cr_assert_eq(rd_log_reader_fd(fd, false, &rd), 0);
	struct rd_strbuf sb = { 0 };
	struct rd_log_item it;
	while (rd_log_reader_next(rd, &it) == 1) {
		if (it.kind != RD_LOG_ITEM_RECORD)
			continue;
		struct rd_log_event ev;
		cr_assert_eq(rd_log_decode(&it.rec, &ev), 0);
		if (json)
			rd_log_render_json(&sb, &it, &ev, NULL, 0);
		else
			rd_log_render_text(&sb, &it, &ev, NULL, 0);
	}
	rd_log_reader_free(rd);
	close(fd);
	rd_sb_put(&sb, "", 1);
	return sb.p;
}

Test(tls_log, connected_and_connect_failed_carry_the_tls_fields)
{
	struct farm_pki *pki;
	cr_assert_eq(farm_pki_create(FARM_KEY_EC_P256, &pki), 0);
	struct farm_target_spec specs[] = {
		{ .kind = FARM_TLS, .hold_ms = 50, .tls_cert = pki->cert[FARM_CERT_VALID],
		  .tls_key = pki->key[FARM_CERT_VALID], .tls_alpn = "h2" },
		{ .kind = FARM_TLS, .tls_cert = pki->cert[FARM_CERT_EXPIRED],
		  .tls_key = pki->key[FARM_CERT_EXPIRED] },
	};
	struct farm *f = tu_farm_start(specs, 2);
	char path[FARM_PKI_PATH + 16];
	snprintf(path, sizeof(path), "%s/events.rlog", pki->dir);
	struct redial_log_config lc;
	redial_log_config_init(&lc);
	lc.path = path;
	struct redial_log *log;
	cr_assert_eq(redial_log_open(&lc, &log), 0);

	struct tu_recorder rec;
	tu_recorder_init(&rec);
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	cfg.log = log;
	struct redial_tls_opts tls;
	redial_tls_opts_init(&tls);
	tls.ca = pki->ca;
	tls.alpn = "h2";
	rec.defs.tls = &tls;
	rec.defs.backoff_initial_ns = REDIAL_MSEC(10);
	redial_t *r = tu_make(&cfg);
	redial_id_t good = tu_add(r, tu_loopback(farm_port(f, 0)), NULL);
	redial_id_t bad = tu_add(r, tu_loopback(farm_port(f, 1)), NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, good, 2, REDIAL_SEC(10));
	tu_run_until_event(r, &rec, REDIAL_EV_GAVE_UP, bad, 1, REDIAL_SEC(10));
	redial_destroy(r);
	cr_assert_eq(redial_log_close(log), 0);
	tu_recorder_free(&rec);

	char *js = render_file(path, true);
	cr_assert(strstr(js, "\"event\":\"connected\""), "%s", js);
	cr_assert(strstr(js, "\"tls_version\":\"TLSv1.3\",\"cipher\":\"TLS_"), "%s", js);
	cr_assert(strstr(js, "\"alpn\":\"h2\",\"resumed\":false"), "%s", js);
	cr_assert(strstr(js, "\"alpn\":\"h2\",\"resumed\":true"), "%s", js);
	cr_assert(strstr(js, "\"error\":\"TLS_CERT_EXPIRED\",\"class\":\"permanent\""), "%s", js);
	cr_assert(strstr(js, "\"reason\":\"certificate verify failed: certificate has expired\""),
		  "%s", js);
	free(js);
	char *tx = render_file(path, false);
	cr_assert(strstr(tx, "tls=TLSv1.3 cipher=TLS_"), "%s", tx);
	cr_assert(strstr(tx, "alpn=h2 resumed"), "%s", tx);
	cr_assert(strstr(tx, "reason=certificate verify failed: certificate has expired"), "%s", tx);
	free(tx);
	farm_stop(f);
	farm_pki_destroy(pki);
}

/* A record with a tail, read as an older reader would (ignoring the tail), and a record
 * without one (an older writer's), read by this reader. */
Test(tls_log, tails_are_optional_both_ways)
{
	struct rd_log_record rec = { .type = REDIAL_LOG_CONNECTED };
	uint8_t body[64] = { 0 };
	rec.body = body;
	rec.body_len = 20;
	struct rd_log_event ev;
	cr_assert_eq(rd_log_decode(&rec, &ev), 0);
	cr_assert_not(ev.tls);
	/* A tail that claims more than the body holds is ignored, not fatal. */
	body[20] = 1;
	body[23] = 200;
	rec.body_len = 30;
	cr_assert_eq(rd_log_decode(&rec, &ev), 0);
	cr_assert_not(ev.tls);
	cr_assert_str_eq(rd_log_tls_version_name(0x0303), "TLSv1.2");
	cr_assert_null(rd_log_tls_version_name(0x9999));
}
