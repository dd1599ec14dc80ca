/* test_log_format.c — the event-log file format: CRC32C vectors, the round trip of every
 * record type through the writer and the reader, and the reader against damage: truncation
 * at every offset, every flipped bit, garbage, zero-filled tails, hostile lengths, bodies
 * longer and shorter than it knows, segments of another version. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "logread.h"
#include "proc.h"
#include "scratch.h"

/* ---- CRC32C ---------------------------------------------------------------------------- */

struct crc_vec {
	const char *name;
	uint8_t data[48];
	size_t len;
	uint32_t crc;
};

static void crc_vectors(struct crc_vec *v, size_t *n)
{
	size_t k = 0;
	v[k] = (struct crc_vec){ "123456789", "123456789", 9, 0xe3069283u };
	k++;
	v[k] = (struct crc_vec){ "empty", { 0 }, 0, 0 };
	k++;
	/* RFC 3720, B.4 */
	v[k] = (struct crc_vec){ "32 zeros", { 0 }, 32, 0x8a9136aau };
	k++;
	v[k] = (struct crc_vec){ "32 ones", { 0 }, 32, 0x62a8ab43u };
	memset(v[k].data, 0xff, 32);
	k++;
	v[k] = (struct crc_vec){ "ascending", { 0 }, 32, 0x46dd794eu };
	for (int i = 0; i < 32; i++)
		v[k].data[i] = (uint8_t)i;
	k++;
	v[k] = (struct crc_vec){ "descending", { 0 }, 32, 0x113fdb5cu };
	for (int i = 0; i < 32; i++)
		v[k].data[i] = (uint8_t)(31 - i);
	k++;
	*n = k;
}

Test(log_crc32c, software_and_hardware_match_the_published_vectors)
{
	struct crc_vec v[8];
	size_t n;
	crc_vectors(v, &n);
	for (size_t i = 0; i < n; i++) {
		cr_expect_eq(rd_crc32c_sw(0, v[i].data, v[i].len), v[i].crc, "sw %s", v[i].name);
		cr_expect_eq(rd_crc32c_hw(0, v[i].data, v[i].len), v[i].crc, "hw %s", v[i].name);
		cr_expect_eq(rd_crc32c(0, v[i].data, v[i].len), v[i].crc, "dispatch %s", v[i].name);
	}
}

Test(log_crc32c, chaining_alignment_and_lengths_agree_between_implementations)
{
	uint8_t buf[1024 + 16];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	for (size_t off = 0; off < 9; off++) {
		for (size_t len = 0; len < 300; len += 7) {
			uint32_t sw = rd_crc32c_sw(0, buf + off, len);
			cr_assert_eq(rd_crc32c_hw(0, buf + off, len), sw, "off %zu len %zu", off, len);
			for (size_t cut = 0; cut <= len; cut += 13) {
				uint32_t c = rd_crc32c(0, buf + off, cut);
				c = rd_crc32c(c, buf + off + cut, len - cut);
				cr_assert_eq(c, sw, "chained off %zu len %zu cut %zu", off, len, cut);
			}
		}
	}
}

/* ---- Round trip -------------------------------------------------------------------------- */


/* Writes the sample through the library and returns the file's bytes. */
static uint8_t *sample_file(size_t *ret_len)
{
	char *path = tu_path(tu_dir, "sample.rlog");
	struct redial_log *l = lt_open(path, 1u << 16, REDIAL_LOG_DEBUG);
	cr_assert_not_null(l);
	lt_log_sample(l);
	cr_assert_eq(redial_log_close(l), 0);
	uint8_t *buf = (uint8_t *)tu_slurp(path, ret_len);
	cr_assert_not_null(buf);
	free(path);
	return buf;
}

TestSuite(log_format, .init = tu_scratch_setup, .fini = tu_scratch_remove, .timeout = 60);

Test(log_format, every_library_record_type_survives_the_round_trip_with_exact_fields)
{
	uint64_t before = (uint64_t)time(NULL) * 1000000000ull;
	size_t len;
	uint8_t *buf = sample_file(&len);
	struct lt_log lg;
	cr_assert_eq(lt_read_mem(buf, len, &lg), 0);
	cr_assert_eq(lg.headers, 1);
	cr_assert_eq(lg.corrupt + lg.torn, 0);
	cr_assert_eq(lg.n, LT_SAMPLE_N);
	cr_expect_eq(lg.last_hdr.version, 1);
	cr_expect_eq(lg.last_hdr.alert_after, 5);
	cr_expect_eq(lg.last_hdr.pid, (uint32_t)getpid());
	cr_expect(lg.last_hdr.realtime_ns + 5000000000ull >= before &&
		  lg.last_hdr.realtime_ns <= before + 60000000000ull);

	struct lt_rec *r = lg.recs;
	cr_expect_eq(r[0].type, REDIAL_LOG_ENDPOINT_ADDED);
	cr_expect_eq(r[0].level, REDIAL_LOG_INFO);
	cr_expect_eq(r[0].mono_ns, LT_M);
	cr_expect_eq(r[0].id, LT_A);
	cr_expect_eq(r[0].ev.str_len, 11);
	cr_expect(memcmp(r[0].ev.str, "10.0.0.1:80", 11) == 0);
	cr_expect_eq(r[1].ev.str_len, 10);
	cr_expect(memcmp(r[1].ev.str, "[::1]:8080", 10) == 0);

	cr_expect_eq(r[2].type, REDIAL_LOG_CONNECT_FAILED);
	cr_expect_eq(r[2].level, REDIAL_LOG_ERROR);
	cr_expect_eq(r[2].mono_ns, LT_M + 1000000);
	cr_expect_eq(r[2].id, LT_A);
	cr_expect_eq(r[2].ev.attempt, 3);
	cr_expect_eq(r[2].ev.err, ECONNREFUSED);
	cr_expect_eq(r[2].ev.cls, REDIAL_CLASS_TRANSIENT);
	cr_expect_eq(r[2].ev.duration_ns, 1500000);
	cr_expect_eq(r[2].ev.backoff_ns, 400000000);
	cr_assert(r[2].ev.has_addr);
	char a[80];
	cr_expect_eq(redial_endpoint_format((struct sockaddr *)&r[2].ev.addr, a, sizeof(a)), 11);
	cr_expect_str_eq(a, "10.0.0.1:80");
	cr_expect_eq(r[2].body_len, RD_LOG_CF_BODY + 4, "IPv4 is stored in 4 bytes");
	cr_assert(r[3].ev.has_addr);
	cr_expect_eq(redial_endpoint_format((struct sockaddr *)&r[3].ev.addr, a, sizeof(a)), 10);
	cr_expect_str_eq(a, "[::1]:8080");
	cr_expect_eq(r[3].ev.err, ETIMEDOUT);
	cr_expect_eq(r[3].ev.duration_ns, 2000000000);
	cr_expect_not(r[4].ev.has_addr);
	cr_expect_eq(r[4].body_len, RD_LOG_CF_BODY, "no address: no address bytes");
	cr_expect_eq(r[4].ev.cls, REDIAL_CLASS_PERMANENT);
	cr_expect_eq(r[4].ev.err, EACCES);

	cr_expect_eq(r[5].type, REDIAL_LOG_ALERT);
	cr_expect_eq(r[5].level, REDIAL_LOG_WARN);
	cr_expect_eq(r[5].ev.attempt, 5);
	cr_expect_eq(r[5].ev.err, ECONNREFUSED);

	cr_expect_eq(r[6].type, REDIAL_LOG_CONNECTED);
	cr_expect_eq(r[6].level, REDIAL_LOG_INFO);
	cr_expect_eq(r[6].ev.attempt, 6);
	cr_expect_eq(r[6].ev.duration_ns, 1200000);
	cr_expect_eq(r[6].ev.down_ns, 12500000000ull);

	cr_expect_eq(r[8].type, REDIAL_LOG_DISCONNECTED);
	cr_expect_eq(r[8].level, REDIAL_LOG_WARN);
	cr_expect_eq(r[8].ev.err, ECONNRESET);
	cr_expect_eq(r[8].ev.up_ns, 3723000000000ull);
	cr_expect_eq(r[9].ev.err, 0);

	cr_expect_eq(r[10].type, REDIAL_LOG_GAVE_UP);
	cr_expect_eq(r[10].level, REDIAL_LOG_ERROR);
	cr_expect_eq(r[10].ev.reason, REDIAL_GAVE_UP_MAX_ATTEMPTS);
	cr_expect_eq(r[10].ev.err, ECONNREFUSED);
	cr_expect_eq(r[10].ev.attempt, 10);

	cr_expect_eq(r[11].type, REDIAL_LOG_CANCELLED);
	cr_expect_eq(r[11].level, REDIAL_LOG_INFO);
	cr_expect_eq(r[11].id, LT_B);
	cr_expect_eq(r[11].body_len, 0);
	cr_expect_eq(r[12].type, REDIAL_LOG_ENDPOINT_REMOVED);
	cr_expect_eq(r[12].id, LT_A);
	cr_expect_eq(r[13].ev.str_len, sizeof(LT_WEIRD) - 1);
	cr_expect(memcmp(r[13].ev.str, LT_WEIRD, sizeof(LT_WEIRD) - 1) == 0);
	cr_expect_eq(r[14].ev.err, 9999);
	cr_expect_eq(r[14].ev.cls, REDIAL_CLASS_LOCAL);
	cr_expect_eq(r[15].ev.reason, REDIAL_GAVE_UP_PERMANENT);
	cr_expect_eq(r[16].type, REDIAL_LOG_RESOLVED);
	cr_expect_eq(r[16].level, REDIAL_LOG_DEBUG);
	cr_expect_eq(r[16].id, LT_C);
	cr_expect_eq(r[16].ev.ttl_s, 30);
	cr_assert_eq(r[16].ev.naddrs, 2, "the AF_UNIX entry was left out");
	struct sockaddr_storage ss;
	cr_assert_eq(rd_log_resolved_addr(&r[16].ev, 0, &ss), 0);
	cr_expect_eq(redial_endpoint_format((struct sockaddr *)&ss, a, sizeof(a)), 12);
	cr_expect_str_eq(a, "10.0.0.9:443");
	cr_assert_eq(rd_log_resolved_addr(&r[16].ev, 1, &ss), 0);
	cr_expect_gt(redial_endpoint_format((struct sockaddr *)&ss, a, sizeof(a)), 0);
	cr_expect_str_eq(a, "[2001:db8::1]:443");
	cr_expect_eq(rd_log_resolved_addr(&r[16].ev, 2, &ss), -ENOENT);
	for (size_t i = 0; i < lg.n; i++)
		cr_expect_eq(r[i].flags, 0);
	lt_free(&lg);
	free(buf);
}

/* The engine logs its events with rd_log_event, from the struct the application is handed:
 * every event type must come out byte for byte as the per-record writer of its type writes
 * it (which the round trip above checks field by field). */
Test(log_format, rd_log_event_writes_each_event_as_its_record_writer_does)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(80) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(8080),
				   .sin6_scope_id = 3 };
	inet_pton(AF_INET, "10.0.0.1", &a4.sin_addr);
	inet_pton(AF_INET6, "fe80::1", &a6.sin6_addr);
	const struct redial_event evs[] = {
		{ .type = REDIAL_EV_ATTEMPT_FAILED, .id = LT_A, .addr = (struct sockaddr *)&a4,
		  .err = ECONNREFUSED, .cls = REDIAL_CLASS_TRANSIENT, .attempt = 3,
		  .duration_ns = 1500000, .backoff_ns = 400000000, .mono_ns = LT_M + 1 },
		{ .type = REDIAL_EV_ATTEMPT_FAILED, .id = LT_B, .addr = (struct sockaddr *)&a6,
		  .err = ETIMEDOUT, .cls = REDIAL_CLASS_LOCAL, .attempt = 1, .duration_ns = 2,
		  .mono_ns = LT_M + 2 },
		{ .type = REDIAL_EV_ATTEMPT_FAILED, .id = LT_C, .err = EHOSTUNREACH, .attempt = 9,
		  .mono_ns = LT_M + 3 },
		{ .type = REDIAL_EV_CONNECTED, .id = LT_A, .addr = (struct sockaddr *)&a4, .fd = 7,
		  .attempt = 6, .duration_ns = 1200000, .down_ns = 12500000000ull,
		  .mono_ns = LT_M + 4 },
		{ .type = REDIAL_EV_DISCONNECTED, .id = LT_A, .err = ECONNRESET,
		  .up_ns = 3723000000000ull, .mono_ns = LT_M + 5 },
		{ .type = REDIAL_EV_ALERT, .id = LT_B, .err = ECONNREFUSED, .attempt = 5,
		  .mono_ns = LT_M + 6 },
		{ .type = REDIAL_EV_GAVE_UP, .id = LT_B, .reason = REDIAL_GAVE_UP_MAX_ATTEMPTS,
		  .err = ECONNREFUSED, .attempt = 10, .mono_ns = LT_M + 7 },
		{ .type = REDIAL_EV_CANCELLED, .id = LT_C, .mono_ns = LT_M + 8 },
	};
	const size_t n = sizeof(evs) / sizeof(evs[0]);
	char *pa = tu_path(tu_dir, "by_event.rlog"), *pb = tu_path(tu_dir, "by_record.rlog");

	struct redial_log *l = lt_open(pa, 1u << 16, REDIAL_LOG_DEBUG);
	cr_assert_not_null(l);
	for (size_t i = 0; i < n; i++)
		rd_log_event(l, &evs[i]);
	cr_assert_eq(redial_log_close(l), 0);

	l = lt_open(pb, 1u << 16, REDIAL_LOG_DEBUG);
	cr_assert_not_null(l);
	rd_log_connect_failed(l, LT_M + 1, LT_A, 3, ECONNREFUSED, REDIAL_CLASS_TRANSIENT, 1500000,
			      400000000, (struct sockaddr *)&a4);
	rd_log_connect_failed(l, LT_M + 2, LT_B, 1, ETIMEDOUT, REDIAL_CLASS_LOCAL, 2, 0,
			      (struct sockaddr *)&a6);
	rd_log_connect_failed(l, LT_M + 3, LT_C, 9, EHOSTUNREACH, REDIAL_CLASS_TRANSIENT, 0, 0,
			      NULL);
	rd_log_connected(l, LT_M + 4, LT_A, 6, 1200000, 12500000000ull);
	rd_log_disconnected(l, LT_M + 5, LT_A, ECONNRESET, 3723000000000ull);
	rd_log_alert(l, LT_M + 6, LT_B, 5, ECONNREFUSED);
	rd_log_gave_up(l, LT_M + 7, LT_B, REDIAL_GAVE_UP_MAX_ATTEMPTS, ECONNREFUSED, 10);
	rd_log_cancelled(l, LT_M + 8, LT_C);
	cr_assert_eq(redial_log_close(l), 0);

	struct lt_log ga, gb;
	cr_assert_eq(lt_read_path(pa, &ga), 0);
	cr_assert_eq(lt_read_path(pb, &gb), 0);
	cr_assert_eq(ga.n, n);
	cr_assert_eq(gb.n, n);
	for (size_t i = 0; i < n; i++) {
		const struct lt_rec *x = &ga.recs[i], *y = &gb.recs[i];
		cr_expect_eq(x->type, y->type, "record %zu", i);
		cr_expect_eq(x->level, y->level, "record %zu", i);
		cr_expect_eq(x->mono_ns, evs[i].mono_ns, "record %zu", i);
		cr_expect_eq(x->id, evs[i].id, "record %zu", i);
		cr_assert_eq(x->body_len, y->body_len, "record %zu", i);
		cr_expect_arr_eq(x->body, y->body, x->body_len, "record %zu", i);
	}
	cr_expect_eq(ga.recs[1].ev.has_addr, true);
	cr_expect_eq(((struct sockaddr_in6 *)&ga.recs[1].ev.addr)->sin6_scope_id, 3);
	cr_expect_eq(ga.recs[2].ev.has_addr, false);
	lt_free(&ga);
	lt_free(&gb);
	free(pa);
	free(pb);
}

Test(log_format, application_records_keep_their_type_level_endpoint_and_payload)
{
	char *path = tu_path(tu_dir, "app.rlog");
	struct redial_log *l = lt_open(path, 1u << 16, REDIAL_LOG_DEBUG);
	cr_assert_not_null(l);
	static uint8_t big[65536];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	cr_assert_eq(redial_log_app(l, 0x8001, REDIAL_LOG_WARN, LT_B, "hi\x01", 3), 0);
	cr_assert_eq(redial_log_app(l, 0xffff, REDIAL_LOG_DEBUG, 0, NULL, 0), 0);
	/* the largest payload needs a ring bigger than itself */
	cr_assert_eq(redial_log_app(l, 0x8002, REDIAL_LOG_ERROR, 1, big, sizeof(big)), -ENOBUFS);
	cr_assert_eq(redial_log_app(l, 0x7fff, REDIAL_LOG_INFO, 0, "x", 1), -EINVAL);
	cr_assert_eq(redial_log_app(l, 0x8000, REDIAL_LOG_INFO, 0, big, sizeof(big) + 1), -EINVAL);
	cr_assert_eq(redial_log_app(l, 0x8000, (enum redial_log_level)4, 0, "x", 1), -EINVAL);
	cr_assert_eq(redial_log_app(l, 0x8000, REDIAL_LOG_INFO, 0, NULL, 1), -EINVAL);
	cr_assert_eq(redial_log_close(l), 0);

	cr_assert_not_null(l = lt_open(path, 1u << 18, REDIAL_LOG_INFO));
	cr_assert_eq(redial_log_app(l, 0x8002, REDIAL_LOG_ERROR, 1, big, sizeof(big)), 0);
	cr_assert_eq(redial_log_app(l, 0x8003, REDIAL_LOG_DEBUG, 1, "below", 5), 0,
		     "below min_level: not logged, not an error");
	cr_assert_eq(redial_log_close(l), 0);

	struct lt_log lg;
	cr_assert_eq(lt_read_path(path, &lg), 0);
	cr_assert_eq(lg.headers, 2, "the second open appended a new segment");
	cr_assert_eq(lg.corrupt + lg.torn, 0);
	cr_assert_eq(lg.n, 4, "dropped record included");
	cr_expect_eq(lg.recs[0].type, 0x8001);
	cr_expect_eq(lg.recs[0].level, REDIAL_LOG_WARN);
	cr_expect_eq(lg.recs[0].id, LT_B);
	cr_expect_eq(lg.recs[0].body_len, 3);
	cr_expect(memcmp(lg.recs[0].body, "hi\x01", 3) == 0);
	cr_expect(lg.recs[0].mono_ns > 0);
	cr_expect_eq(lg.recs[1].type, 0xffff);
	cr_expect_eq(lg.recs[1].body_len, 0);
	cr_expect_eq(lg.recs[2].type, REDIAL_LOG_DROPPED, "the too-big record was counted");
	cr_expect_eq(lg.recs[2].ev.count, 1);
	cr_expect_eq(lg.recs[3].type, 0x8002);
	cr_expect_eq(lg.recs[3].body_len, sizeof(big));
	cr_expect(memcmp(lg.recs[3].body, big, sizeof(big)) == 0);
	lt_free(&lg);
	free(path);
}

Test(log_format, min_level_leaves_out_lower_records)
{
	char *path = tu_path(tu_dir, "warn.rlog");
	struct redial_log *l = lt_open(path, 1u << 16, REDIAL_LOG_WARN);
	cr_assert_not_null(l);
	lt_log_sample(l);
	cr_assert_eq(redial_log_close(l), 0);
	struct lt_log lg;
	cr_assert_eq(lt_read_path(path, &lg), 0);
	/* connect_failed x4, alert, disconnected x2, gave_up x2 */
	cr_assert_eq(lg.n, 9);
	for (size_t i = 0; i < lg.n; i++)
		cr_expect_geq(lg.recs[i].level, REDIAL_LOG_WARN);
	lt_free(&lg);
	free(path);
}

/* ---- Damage ------------------------------------------------------------------------------ */

/* Frame boundaries of a clean file: ends[i] is where record i ends. */
static size_t frame_ends(const uint8_t *buf, size_t len, size_t *ends, size_t cap)
{
	struct lt_log lg;
	cr_assert_eq(lt_read_mem(buf, len, &lg), 0);
	cr_assert_eq(lg.corrupt + lg.torn, 0);
	cr_assert_leq(lg.n, cap);
	for (size_t i = 0; i < lg.n; i++)
		ends[i] = lg.recs[i].offset + RD_LOG_FRAME_HDR + RD_LOG_PREFIX + lg.recs[i].body_len;
	size_t n = lg.n;
	lt_free(&lg);
	return n;
}

Test(log_format, truncation_at_every_offset_keeps_every_complete_record)
{
	size_t len, ends[64];
	uint8_t *buf = sample_file(&len);
	size_t n = frame_ends(buf, len, ends, 64);
	cr_assert_eq(ends[n - 1], len);

	for (size_t cut = 0; cut <= len; cut++) {
		struct lt_log lg;
		size_t complete = 0;
		bool boundary = cut == 0 || cut == RD_LOG_HEADER_V1;
		for (size_t i = 0; i < n; i++) {
			if (ends[i] <= cut)
				complete++;
			if (ends[i] == cut)
				boundary = true;
		}
		cr_assert_eq(lt_read_mem(buf, cut, &lg), 0);
		cr_assert_eq(lg.n, complete, "cut at %zu: %zu records, want %zu", cut, lg.n, complete);
		cr_assert_eq(lg.corrupt, 0, "cut at %zu reads as corruption", cut);
		cr_assert_eq(lg.torn, boundary ? 0 : 1, "cut at %zu", cut);
		if (!boundary) {
			uint64_t want = complete ? ends[complete - 1] : RD_LOG_HEADER_V1;
			cr_assert_eq(lg.first_bad, cut < RD_LOG_HEADER_V1 ? 0 : want,
				     "cut at %zu: torn record reported at its start", cut);
		}
		for (size_t i = 0; i < lg.n; i++)
			cr_assert_eq(lg.recs[i].offset, i ? ends[i - 1] : RD_LOG_HEADER_V1);
		lt_free(&lg);
	}
	free(buf);
}

Test(log_format, every_flipped_bit_is_detected_and_the_other_records_survive)
{
	size_t len, ends[64];
	uint8_t *buf = sample_file(&len);
	size_t n = frame_ends(buf, len, ends, 64);
	struct lt_log clean;
	cr_assert_eq(lt_read_mem(buf, len, &clean), 0);

	for (size_t bit = 0; bit < len * 8; bit++) {
		size_t byte = bit / 8;
		buf[byte] ^= (uint8_t)(1u << (bit % 8));
		struct lt_log lg;
		cr_assert_eq(lt_read_mem(buf, len, &lg), 0);
		cr_assert_geq(lg.corrupt + lg.torn, 1, "flip of bit %zu went unnoticed", bit);
		if (byte < RD_LOG_HEADER_V1) {
			cr_assert_eq(lg.n, n, "a damaged header costs no record (bit %zu)", bit);
		} else {
			cr_assert_eq(lg.n, n - 1, "bit %zu: exactly the damaged record is lost", bit);
		}
		/* whatever survived is exactly what was written */
		size_t j = 0;
		for (size_t i = 0; i < lg.n; i++) {
			while (j < clean.n && clean.recs[j].offset != lg.recs[i].offset)
				j++;
			cr_assert_lt(j, clean.n, "bit %zu: a record appeared from nowhere", bit);
			cr_assert_eq(lg.recs[i].body_len, clean.recs[j].body_len);
			cr_assert(memcmp(lg.recs[i].body, clean.recs[j].body, lg.recs[i].body_len) == 0);
		}
		lt_free(&lg);
		buf[byte] ^= (uint8_t)(1u << (bit % 8));
	}
	lt_free(&clean);
	free(buf);
}

Test(log_format, garbage_in_the_middle_is_reported_at_its_offset_and_skipped)
{
	size_t len, ends[64];
	uint8_t *buf = sample_file(&len);
	frame_ends(buf, len, ends, 64);
	size_t at = ends[4], glen = 333;
	uint8_t *bad = malloc(len + glen);
	memcpy(bad, buf, at);
	for (size_t i = 0; i < glen; i++)
		bad[at + i] = (uint8_t)(i * 131 + 7);
	memcpy(bad + at + glen, buf + at, len - at);

	struct lt_log lg;
	struct rd_log_reader *r;
	struct rd_log_item it;
	cr_assert_eq(rd_log_reader_mem(bad, len + glen, &r), 0);
	size_t recs = 0, corrupt = 0;
	while (rd_log_reader_next(r, &it) == 1) {
		if (it.kind == RD_LOG_ITEM_RECORD)
			recs++;
		if (it.kind == RD_LOG_ITEM_CORRUPT) {
			corrupt++;
			cr_expect_eq(it.offset, at);
			cr_expect_eq(it.length, glen);
			cr_expect_not_null(it.why);
		}
	}
	rd_log_reader_free(r);
	cr_expect_eq(recs, LT_SAMPLE_N);
	cr_expect_eq(corrupt, 1);

	/* hostile lengths in the middle: the largest u32, one past the limit, below minimum */
	uint32_t lens[] = { 0xffffffffu, RD_LOG_MAX_PAYLOAD + 1, 15, 0 };
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		memcpy(bad, buf, len);
		rd_put32(bad + ends[4], lens[k]);
		cr_assert_eq(lt_read_mem(bad, len, &lg), 0);
		cr_expect_eq(lg.n, LT_SAMPLE_N - 1, "len %u", lens[k]);
		cr_expect_eq(lg.corrupt, 1, "len %u", lens[k]);
		cr_expect_eq(lg.first_bad, ends[4]);
		lt_free(&lg);
	}
	free(bad);
	free(buf);
}

Test(log_format, a_zero_filled_tail_reads_as_torn_not_corrupt)
{
	size_t len;
	uint8_t *buf = sample_file(&len);
	uint8_t *z = calloc(1, len + 4096);
	memcpy(z, buf, len);
	struct lt_log lg;
	cr_assert_eq(lt_read_mem(z, len + 4096, &lg), 0);
	cr_expect_eq(lg.n, LT_SAMPLE_N);
	cr_expect_eq(lg.corrupt, 0);
	cr_expect_eq(lg.torn, 1);
	cr_expect_eq(lg.first_bad, len);
	lt_free(&lg);
	free(z);
	free(buf);
}

Test(log_format, longer_bodies_from_later_versions_decode_and_short_ones_are_refused)
{
	uint8_t buf[1024];
	size_t n = lt_header(buf, 1, 1000, 0, 5);
	uint8_t body[64] = { 0 };
	rd_put64(body, 111);     /* duration */
	rd_put64(body + 8, 222); /* down */
	rd_put32(body + 16, 3);  /* attempts */
	memset(body + 20, 0xab, 12); /* fields of the future */
	n += lt_frame(buf + n, REDIAL_LOG_CONNECTED, 1, 0x80, 5, 9, body, 32);
	size_t short_at = n;
	n += lt_frame(buf + n, REDIAL_LOG_CONNECTED, 1, 0, 6, 9, body, 19);
	uint8_t added[] = { 5, 0, 'a', 'b' }; /* claims 5 bytes, has 2 */
	n += lt_frame(buf + n, REDIAL_LOG_ENDPOINT_ADDED, 1, 0, 7, 9, added, sizeof(added));
	n += lt_frame(buf + n, 12345, 2, 0, 8, 9, "?", 1); /* a library type we don't know */
	uint8_t res[8 + 8 + 6 + 24] = { 0 };
	rd_put32(res, 60);
	rd_put16(res + 4, 3);
	res[8] = 8, res[9] = RD_LOG_AF_INET, res[10] = 80, res[12] = 127, res[15] = 1;
	res[16] = 6, res[17] = 99; /* a family of the future, skipped by its length */
	res[22] = 24, res[23] = RD_LOG_AF_INET6, res[24] = 80, res[41] = 1;
	n += lt_frame(buf + n, REDIAL_LOG_RESOLVED, 0, 0, 9, 9, res, sizeof(res));
	size_t bad_res = n;
	rd_put16(res + 4, 4); /* one entry more than the body holds */
	n += lt_frame(buf + n, REDIAL_LOG_RESOLVED, 0, 0, 10, 9, res, sizeof(res));

	struct rd_log_reader *r;
	struct rd_log_item it;
	cr_assert_eq(rd_log_reader_mem(buf, n, &r), 0);
	cr_assert_eq(rd_log_reader_next(r, &it), 1);
	cr_assert_eq(it.kind, RD_LOG_ITEM_HEADER);
	cr_assert_eq(rd_log_reader_next(r, &it), 1);
	cr_assert_eq(it.kind, RD_LOG_ITEM_RECORD);
	cr_expect_eq(it.rec.flags, 0x80, "unknown flag bits are kept, not refused");
	struct rd_log_event ev;
	cr_assert_eq(rd_log_decode(&it.rec, &ev), 0);
	cr_expect_eq(ev.duration_ns, 111);
	cr_expect_eq(ev.down_ns, 222);
	cr_expect_eq(ev.attempt, 3);
	cr_assert_eq(rd_log_reader_next(r, &it), 1);
	cr_expect_eq(it.kind, RD_LOG_ITEM_CORRUPT);
	cr_expect_eq(it.offset, short_at);
	cr_expect_eq(it.length, RD_LOG_FRAME_HDR + RD_LOG_PREFIX + 19);
	cr_assert_eq(rd_log_reader_next(r, &it), 1);
	cr_expect_eq(it.kind, RD_LOG_ITEM_CORRUPT, "string longer than its body");
	cr_assert_eq(rd_log_reader_next(r, &it), 1);
	cr_expect_eq(it.kind, RD_LOG_ITEM_RECORD);
	cr_expect_str_eq(rd_log_type_name(it.rec.type), "unknown");
	cr_assert_eq(rd_log_reader_next(r, &it), 1);
	cr_assert_eq(it.kind, RD_LOG_ITEM_RECORD);
	cr_expect_str_eq(rd_log_type_name(it.rec.type), "resolved");
	cr_assert_eq(rd_log_decode(&it.rec, &ev), 0);
	cr_expect_eq(ev.ttl_s, 60);
	cr_assert_eq(ev.naddrs, 3);
	struct sockaddr_storage ss;
	char a[80];
	cr_assert_eq(rd_log_resolved_addr(&ev, 0, &ss), 0);
	redial_endpoint_format((struct sockaddr *)&ss, a, sizeof(a));
	cr_expect_str_eq(a, "127.0.0.1:80");
	cr_expect_eq(rd_log_resolved_addr(&ev, 1, &ss), -EAFNOSUPPORT);
	cr_assert_eq(rd_log_resolved_addr(&ev, 2, &ss), 0);
	redial_endpoint_format((struct sockaddr *)&ss, a, sizeof(a));
	cr_expect_str_eq(a, "[::1]:80");
	cr_assert_eq(rd_log_reader_next(r, &it), 1);
	cr_expect_eq(it.kind, RD_LOG_ITEM_CORRUPT, "an entry past the body");
	cr_expect_eq(it.offset, bad_res);
	cr_expect_eq(rd_log_reader_next(r, &it), 0);
	rd_log_reader_free(r);
}

Test(log_format, a_segment_of_another_version_is_skipped_up_to_the_next_header)
{
	uint8_t buf[2048];
	size_t n = lt_header(buf, 1, 1000, 0, 5);
	n += lt_frame(buf + n, REDIAL_LOG_CANCELLED, 1, 0, 1, 1, NULL, 0);
	size_t v2 = n;
	n += lt_header(buf + n, 2, 1000, 0, 5);
	memset(buf + n, 0x5a, 100); /* frames of a format we don't read */
	n += 100;
	n += lt_header(buf + n, 1, 2000, 0, 5);
	n += lt_frame(buf + n, REDIAL_LOG_CANCELLED, 1, 0, 2, 2, NULL, 0);

	struct lt_log lg;
	cr_assert_eq(lt_read_mem(buf, n, &lg), 0);
	cr_expect_eq(lg.n, 2);
	/* Skipped, which the format allows, not reported as damage. */
	cr_expect_eq(lg.skipped, 1);
	cr_expect_eq(lg.first_skipped, v2);
	cr_expect_eq(lg.skipped_version, 2);
	cr_expect_eq(lg.corrupt, 0);
	cr_expect_eq(lg.torn, 0);
	cr_expect_eq(lg.headers, 2);
	cr_expect_eq(lg.recs[1].hdr.realtime_ns, 2000);
	lt_free(&lg);
}

Test(log_format, a_torn_segment_followed_by_a_new_writers_header_is_torn_not_corrupt)
{
	size_t len;
	uint8_t *buf = sample_file(&len);
	uint8_t *two = malloc(2 * len);
	size_t first = len - 5; /* the first writer died 5 bytes short */
	memcpy(two, buf, first);
	memcpy(two + first, buf, len);
	struct lt_log lg;
	cr_assert_eq(lt_read_mem(two, first + len, &lg), 0);
	cr_expect_eq(lg.n, 2 * LT_SAMPLE_N - 1);
	cr_expect_eq(lg.corrupt, 0);
	cr_expect_eq(lg.torn, 1);
	cr_expect_eq(lg.headers, 2);
	lt_free(&lg);
	free(two);
	free(buf);
}

Test(log_format, the_fd_reader_slides_its_window_over_a_large_damaged_file)
{
	char *path = tu_path(tu_dir, "big.rlog");
	struct redial_log *l = lt_open(path, 1u << 20, REDIAL_LOG_DEBUG);
	cr_assert_not_null(l);
	uint8_t payload[1000];
	for (uint32_t i = 0; i < 3000; i++) {
		memset(payload, (int)i, sizeof(payload));
		rd_put32(payload, i);
		while (redial_log_app(l, 0x8000, REDIAL_LOG_INFO, i, payload, 100 + i % 900) < 0)
			redial_log_flush(l, 1000000000);
	}
	cr_assert_eq(redial_log_close(l), 0);
	size_t len;
	uint8_t *buf = (uint8_t *)tu_slurp(path, &len);
	cr_assert_gt(len, 1000000);
	/* three damaged spots, one of them a long stretch of garbage */
	buf[len / 4] ^= 1;
	memset(buf + len / 2, 0x33, 300000);
	buf[len - len / 5] ^= 0x10;
	cr_assert_eq(tu_spit(path, buf, len), 0);

	struct lt_log a, b;
	cr_assert_eq(lt_read_mem(buf, len, &a), 0);
	cr_assert_eq(lt_read_path(path, &b), 0);
	cr_assert_eq(a.n, b.n);
	cr_assert_eq(a.corrupt, 3);
	cr_assert_eq(b.corrupt, 3);
	cr_assert_eq(a.torn + b.torn, 0);
	size_t apps = 0;
	uint64_t last = 0;
	for (size_t i = 0; i < a.n; i++) {
		cr_assert_eq(a.recs[i].offset, b.recs[i].offset);
		cr_assert_eq(a.recs[i].id, b.recs[i].id);
		if (b.recs[i].type != 0x8000)
			continue;
		cr_assert_eq(rd_get32(b.recs[i].body), (uint32_t)b.recs[i].id);
		if (apps++)
			cr_assert_gt(b.recs[i].id, last);
		last = b.recs[i].id;
	}
	cr_assert_gt(apps, 2000);
	lt_free(&a);
	lt_free(&b);
	free(buf);
	free(path);
}

Test(log_format, empty_and_header_only_inputs_have_no_records)
{
	struct lt_log lg;
	cr_assert_eq(lt_read_mem(NULL, 0, &lg), 0);
	cr_expect_eq(lg.n + lg.headers + lg.corrupt + lg.torn, 0);
	uint8_t h[RD_LOG_HEADER_V1];
	lt_header(h, 1, 1, 2, 3);
	cr_assert_eq(lt_read_mem(h, sizeof(h), &lg), 0);
	cr_expect_eq(lg.headers, 1);
	cr_expect_eq(lg.n + lg.corrupt + lg.torn, 0);
	cr_expect_eq(lg.last_hdr.realtime_ns, 1);
	cr_expect_eq(lg.last_hdr.monotonic_ns, 2);
	cr_expect_eq(lg.last_hdr.alert_after, 3);
}
