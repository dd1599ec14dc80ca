/* API contracts seen from outside: the size field of every struct that crosses the API (a
 * caller built against a smaller or a larger struct), redial_endpoint_add_addr, per-errno
 * counters past the four kept inline, the internal u64 map, the default ring path, and
 * (suite parse_add) one answer from redial_endpoint_parse and redial_endpoint_add for every
 * endpoint string, "tcp://" and "tls://" prefixes included. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "farm.h"
#include "log/reader.h"
#include "log/u64map.h"
#include "redial_log.h"
#include "testutil.h"

enum { T_ACCEPT, T_REFUSE, T_ACCEPT6, T_COUNT };

static struct farm *farm;
static struct tu_recorder rec;
static int fds0;
static char *tmpdir;

static void setup(void)
{
	struct farm_target_spec specs[T_COUNT] = {
		[T_ACCEPT] = { .kind = FARM_ACCEPT },
		[T_REFUSE] = { .kind = FARM_REFUSE },
		[T_ACCEPT6] = { .kind = FARM_ACCEPT, .family = AF_INET6 },
	};
	farm = tu_farm_start(specs, T_COUNT);
	tu_recorder_init(&rec);
	tmpdir = tu_tmpdir("redial-contract");
	fds0 = tu_count_fds();
}

static void teardown(void)
{
	tu_recorder_free(&rec);
	farm_stop(farm);
	farm = NULL;
	tu_rmrf(tmpdir);
	tmpdir = NULL;
}

TestSuite(contract, .init = setup, .fini = teardown, .timeout = 120);

static struct sockaddr_in sin4(uint16_t port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static struct sockaddr_in6 sin6(uint16_t port)
{
	struct sockaddr_in6 a;
	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = htons(port);
	a.sin6_addr = in6addr_loopback;
	return a;
}

/* Every byte of p[from, to) is c. */
static bool all_bytes(const void *p, size_t from, size_t to, unsigned char c)
{
	const unsigned char *b = p;
	for (size_t i = from; i < to; i++)
		if (b[i] != c)
			return false;
	return true;
}

#define CANARY 0xa5

/* ---- struct redial_config ----------------------------------------------------------------- */

Test(contract, config_a_smaller_struct_gets_the_defaults_for_the_rest)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	/* An older caller: its struct ends before flags. What lies past its size is garbage
	 * that, were it read, would fail create (unknown flag, dns_timeout 0, a 100 s Happy
	 * Eyeballs delay) or change behaviour (no fd install, a budget of one fd). */
	cfg.size = offsetof(struct redial_config, flags);
	cfg.flags = REDIAL_CFG_NO_FD_INSTALL | 0x80000000u;
	cfg.dns_servers = "not an address";
	cfg.dns_timeout_ns = 0;
	cfg.happy_eyeballs_delay_ns = REDIAL_SEC(100);
	cfg.max_fds = 1;
	redial_t *r = tu_make(&cfg);

	struct io_uring_probe *p = io_uring_get_probe();
	bool install = p && io_uring_opcode_supported(p, 54 /* IORING_OP_FIXED_FD_INSTALL */);
	if (p)
		io_uring_free_probe(p);
	cr_expect_eq(tu_stats(r).fd_install, install, "flags past size were read");

	/* Two connections at once: the default fd budget, not 1. The fields the size covers
	 * (the recorder callback, the endpoint defaults) are in force. */
	redial_id_t a = tu_add(r, tu_loopback(farm_port(farm, T_ACCEPT)), NULL);
	redial_id_t b = tu_add(r, tu_loopback(farm_port(farm, T_ACCEPT)), NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, 0, 2, REDIAL_SEC(20));
	cr_expect_eq(tu_state(r, a), REDIAL_STATE_CONNECTED);
	cr_expect_eq(tu_state(r, b), REDIAL_STATE_CONNECTED);
	tu_finish(r, fds0);
}

Test(contract, config_a_larger_struct_needs_a_zero_tail)
{
	struct {
		struct redial_config c;
		uint64_t tail[4];
	} big;
	memset(&big, 0, sizeof(big));
	tu_config(&big.c, &rec);
	big.c.size = sizeof(big);
	big.tail[2] = 1; /* a field this library does not know, set */
	redial_t *r = NULL;
	cr_expect_eq(redial_create(&big.c, &r), -E2BIG);
	cr_expect_null(r, "*ret_r written on failure");
	cr_expect_neq(strstr(redial_strerror_create(), "size"), NULL, "reason: %s",
		      redial_strerror_create());

	big.tail[2] = 0; /* the same fields, all zero: a newer caller that did not use them */
	r = tu_make(&big.c);
	tu_add(r, tu_loopback(farm_port(farm, T_ACCEPT)), NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, 0, 1, REDIAL_SEC(20));
	tu_finish(r, fds0);
}

Test(contract, config_a_size_below_the_size_field_is_einval)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	for (size_t sz = 0; sz < sizeof(size_t); sz++) {
		cfg.size = sz;
		redial_t *r = NULL;
		cr_expect_eq(redial_create(&cfg, &r), -EINVAL, "size %zu", sz);
		cr_expect_null(r);
	}
	cr_expect_eq(tu_count_fds(), fds0);
}

/* ---- struct redial_endpoint_opts ---------------------------------------------------------- */

/* Options of an older caller whose struct ends before stable_after_ns. Past its size:
 * alert_after 1, a user pointer, START_IDLE and an unknown flag, none of which may count. */
static void old_opts(struct redial_endpoint_opts *o)
{
	redial_endpoint_opts_init(o);
	o->size = offsetof(struct redial_endpoint_opts, stable_after_ns);
	o->backoff_initial_ns = REDIAL_MSEC(1);
	o->backoff_max_ns = REDIAL_MSEC(2);
	o->backoff_jitter = REDIAL_JITTER_NONE;
	o->backoff_max_attempts = 6;
	o->alert_after = 1;
	o->user = &rec;
	o->flags = REDIAL_EP_START_IDLE | 0x40000000u;
}

/* What old_opts must give: started at once, the default alert_after (5), user NULL. */
static void check_old_opts_story(redial_t *r, redial_id_t id)
{
	cr_assert_neq(tu_state(r, id), REDIAL_STATE_IDLE, "START_IDLE past size was read");
	tu_run_until_event(r, &rec, REDIAL_EV_GAVE_UP, id, 1, REDIAL_SEC(20));
	cr_expect_eq(tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, id), 6);
	cr_expect_eq(tu_count(&rec, REDIAL_EV_ALERT, id), 1);
	const struct tu_event *al = tu_nth(&rec, REDIAL_EV_ALERT, id, 0);
	cr_assert_not_null(al);
	cr_expect_eq(al->attempt, 5, "alert at %u, not at the default 5", al->attempt);
	struct redial_endpoint_stats s = tu_ep_stats(r, id);
	cr_expect_null(s.user, "user past size was read");
	cr_expect_eq(s.gave_up, REDIAL_GAVE_UP_MAX_ATTEMPTS);
}

Test(contract, endpoint_opts_a_smaller_struct_gets_the_defaults_for_the_rest)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = tu_make(&cfg);
	struct redial_endpoint_opts o;
	old_opts(&o);
	char err[128] = "";
	redial_id_t id = 0;
	cr_assert_eq(redial_endpoint_add(r, tu_loopback(farm_port(farm, T_REFUSE)), &o, &id, err,
					 sizeof(err)),
		     0, "add: %s", err);
	tu_track(r, id);
	check_old_opts_story(r, id);

	/* The same through add_addr. */
	struct sockaddr_in a = sin4(farm_port(farm, T_REFUSE));
	id = 0;
	cr_assert_eq(redial_endpoint_add_addr(r, (struct sockaddr *)&a, sizeof(a), &o, &id), 0);
	tu_track(r, id);
	check_old_opts_story(r, id);
	tu_finish(r, fds0);
}

Test(contract, endpoint_opts_a_smaller_struct_as_the_config_defaults)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	old_opts(&rec.defs);
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, tu_loopback(farm_port(farm, T_REFUSE)), NULL);
	check_old_opts_story(r, id);
	tu_finish(r, fds0);
}

Test(contract, endpoint_opts_a_larger_struct_needs_a_zero_tail)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = tu_make(&cfg);
	struct {
		struct redial_endpoint_opts o;
		uint32_t tail[3];
	} big;
	memset(&big, 0, sizeof(big));
	redial_endpoint_opts_init(&big.o);
	big.o.size = sizeof(big);
	big.tail[1] = 7;
	const char *ep = tu_loopback(farm_port(farm, T_ACCEPT));
	struct sockaddr_in a = sin4(farm_port(farm, T_ACCEPT));
	redial_id_t id = 0;
	char err[128] = "";
	cr_expect_eq(redial_endpoint_add(r, ep, &big.o, &id, err, sizeof(err)), -E2BIG);
	cr_expect_eq(id, 0, "ret_id written on failure");
	cr_expect_neq(strstr(err, "size"), NULL, "errbuf: %s", err);
	cr_expect_eq(redial_endpoint_add_addr(r, (struct sockaddr *)&a, sizeof(a), &big.o, &id),
		     -E2BIG);
	cr_expect_eq(tu_stats(r).endpoints, 0);

	/* As the config's endpoint defaults: create refuses it. */
	struct redial_config cfg2;
	tu_config(&cfg2, &rec);
	cfg2.endpoint_defaults = &big.o;
	redial_t *r2 = NULL;
	cr_expect_eq(redial_create(&cfg2, &r2), -E2BIG);
	cr_expect_null(r2);

	big.tail[1] = 0;
	cr_assert_eq(redial_endpoint_add(r, ep, &big.o, &id, err, sizeof(err)), 0, "%s", err);
	tu_track(r, id);
	cr_assert_eq(redial_endpoint_add_addr(r, (struct sockaddr *)&a, sizeof(a), &big.o, &id), 0);
	tu_track(r, id);
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, 0, 2, REDIAL_SEC(20));
	tu_finish(r, fds0);
}

Test(contract, endpoint_opts_a_size_below_the_size_field_is_einval)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = tu_make(&cfg);
	struct redial_endpoint_opts o;
	redial_endpoint_opts_init(&o);
	struct sockaddr_in a = sin4(farm_port(farm, T_ACCEPT));
	for (size_t sz = 0; sz < sizeof(size_t); sz++) {
		o.size = sz;
		redial_id_t id = 0;
		cr_expect_eq(redial_endpoint_add(r, tu_loopback(farm_port(farm, T_ACCEPT)), &o, &id,
						 NULL, 0),
			     -EINVAL, "size %zu", sz);
		cr_expect_eq(redial_endpoint_add_addr(r, (struct sockaddr *)&a, sizeof(a), &o, &id),
			     -EINVAL, "size %zu", sz);
		cr_expect_eq(id, 0);
	}
	/* As the config's endpoint defaults. */
	struct redial_config cfg2;
	tu_config(&cfg2, &rec);
	rec.defs.size = 4;
	redial_t *r2 = NULL;
	cr_expect_eq(redial_create(&cfg2, &r2), -EINVAL);
	cr_expect_null(r2);
	tu_finish(r, fds0);
}

/* ---- Stats structs: the library writes size bytes and says how many ---------------------- */

/* A stats struct in a larger buffer, filled with the canary. */
union stats_buf {
	max_align_t align;
	unsigned char b[1024];
};

Test(contract, stats_a_smaller_struct_is_written_only_up_to_its_size)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, tu_loopback(farm_port(farm, T_ACCEPT)), NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(20));

	union stats_buf buf;
	_Static_assert(sizeof(struct redial_stats) + 64 <= sizeof(buf.b), "buffer");
	struct redial_stats *s = (struct redial_stats *)buf.b;

	/* Older caller: ends before inflight_ops. */
	size_t small = offsetof(struct redial_stats, inflight_ops);
	memset(buf.b, CANARY, sizeof(buf.b));
	s->size = small;
	cr_assert_eq(redial_stats_get(r, s), 0);
	cr_expect_eq(s->size, small, "size %zu, expected %zu", s->size, small);
	cr_expect_eq(s->endpoints, 1);
	cr_expect_geq(s->connects, 1);
	cr_expect(all_bytes(buf.b, small, sizeof(buf.b), CANARY), "written past size");

	/* Newer caller: a larger struct; the library writes its own size and says so. */
	memset(buf.b, CANARY, sizeof(buf.b));
	s->size = sizeof(*s) + 64;
	cr_assert_eq(redial_stats_get(r, s), 0);
	cr_expect_eq(s->size, sizeof(*s), "size %zu, expected %zu", s->size, sizeof(*s));
	cr_expect_eq(s->by_state[REDIAL_STATE_CONNECTED], 1);
	cr_expect(all_bytes(buf.b, sizeof(*s), sizeof(buf.b), CANARY),
		  "written past the library's struct");

	/* Too small for the size field: -EINVAL, nothing written. */
	for (size_t sz = 0; sz < sizeof(size_t); sz++) {
		memset(buf.b, CANARY, sizeof(buf.b));
		s->size = sz;
		cr_expect_eq(redial_stats_get(r, s), -EINVAL, "size %zu", sz);
		cr_expect_eq(s->size, sz);
		cr_expect(all_bytes(buf.b, sizeof(size_t), sizeof(buf.b), CANARY));
	}
	tu_finish(r, fds0);
}

Test(contract, endpoint_stats_a_smaller_struct_is_written_only_up_to_its_size)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, tu_loopback(farm_port(farm, T_ACCEPT)), NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(20));

	union stats_buf buf;
	struct redial_endpoint_stats *s = (struct redial_endpoint_stats *)buf.b;

	size_t small = offsetof(struct redial_endpoint_stats, failures);
	memset(buf.b, CANARY, sizeof(buf.b));
	s->size = small;
	cr_assert_eq(redial_endpoint_stats_get(r, id, s), 0);
	cr_expect_eq(s->size, small);
	cr_expect_eq(s->state, REDIAL_STATE_CONNECTED);
	cr_expect_eq(s->connects, 1);
	cr_expect(all_bytes(buf.b, small, sizeof(buf.b), CANARY), "written past size");

	memset(buf.b, CANARY, sizeof(buf.b));
	s->size = sizeof(*s) + 64;
	cr_assert_eq(redial_endpoint_stats_get(r, id, s), 0);
	cr_expect_eq(s->size, sizeof(*s));
	cr_expect_geq(s->fd, 0);
	cr_expect(all_bytes(buf.b, sizeof(*s), sizeof(buf.b), CANARY));

	for (size_t sz = 0; sz < sizeof(size_t); sz++) {
		memset(buf.b, CANARY, sizeof(buf.b));
		s->size = sz;
		cr_expect_eq(redial_endpoint_stats_get(r, id, s), -EINVAL, "size %zu", sz);
		cr_expect(all_bytes(buf.b, sizeof(size_t), sizeof(buf.b), CANARY));
	}
	tu_finish(r, fds0);
}

/* ---- struct redial_log_config and struct redial_log_stats --------------------------------- */

/* Reads a log file back: headers' alert_after, and how many records of a type. */
struct log_summary {
	uint32_t alert_after;
	size_t headers;
	size_t of_type;
};

static struct log_summary summarize(const char *path, uint16_t type)
{
	struct log_summary sum = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	struct rd_log_reader *rd;
	cr_assert_eq(rd_log_reader_fd(fd, false, &rd), 0);
	struct rd_log_item it;
	int ret;
	while ((ret = rd_log_reader_next(rd, &it)) == 1) {
		if (it.kind == RD_LOG_ITEM_HEADER) {
			sum.headers++;
			sum.alert_after = it.hdr->alert_after;
		} else if (it.kind == RD_LOG_ITEM_RECORD && it.rec.type == type) {
			sum.of_type++;
		} else if (it.kind != RD_LOG_ITEM_RECORD) {
			cr_expect_fail("damage in %s at %llu: %s", path,
				       (unsigned long long)it.offset, it.why);
		}
	}
	cr_expect_eq(ret, 0);
	rd_log_reader_free(rd);
	close(fd);
	return sum;
}

static void log_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

Test(contract, log_config_a_smaller_struct_gets_the_defaults_for_the_rest)
{
	char path[128], rotated[160];
	log_path(path, sizeof(path), "small.rlog");
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	struct redial_log_config lc;
	redial_log_config_init(&lc);
	/* Ends before fdatasync: past it, a rotation at every byte, ERROR as the minimum level
	 * and alert_after 77, none of which may count. */
	lc.size = offsetof(struct redial_log_config, fdatasync);
	lc.path = path;
	lc.rotate_bytes = 1;
	lc.rotate_keep = 3;
	lc.min_level = REDIAL_LOG_ERROR;
	lc.alert_after = 77;
	struct redial_log *log = NULL;
	cr_assert_eq(redial_log_open(&lc, &log), 0);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(redial_log_app(log, REDIAL_LOG_APP_MIN, REDIAL_LOG_INFO, 1, "x", 1), 0);
	cr_assert_eq(redial_log_flush(log, REDIAL_SEC(10)), 0);
	cr_assert_eq(redial_log_close(log), 0);

	struct log_summary sum = summarize(path, REDIAL_LOG_APP_MIN);
	cr_expect_eq(sum.of_type, 8, "INFO records filtered: min_level past size was read");
	cr_expect_eq(sum.headers, 1);
	cr_expect_eq(sum.alert_after, 5, "header alert_after %u, expected the default 5",
		     sum.alert_after);
	struct stat st;
	cr_expect_neq(stat(rotated, &st), 0, "rotated: rotate_bytes past size was read");
	cr_expect_eq(tu_count_fds(), fds0);
}

Test(contract, log_config_a_larger_struct_needs_a_zero_tail)
{
	char path[128];
	log_path(path, sizeof(path), "big.rlog");
	struct {
		struct redial_log_config c;
		uint64_t tail[2];
	} big;
	memset(&big, 0, sizeof(big));
	redial_log_config_init(&big.c);
	big.c.size = sizeof(big);
	big.c.path = path;
	big.tail[1] = 3;
	struct redial_log *log = NULL;
	int ret = redial_log_open(&big.c, &log);
	if (ret == 0) {
		redial_log_close(log);
		log = NULL;
	}
	cr_expect_eq(ret, -E2BIG,
		     "redial_log_open took a config with unknown fields set (returned %d)", ret);
	cr_expect_null(log);

	big.tail[1] = 0;
	cr_assert_eq(redial_log_open(&big.c, &log), 0);
	cr_assert_eq(redial_log_app(log, REDIAL_LOG_APP_MIN, REDIAL_LOG_INFO, 1, NULL, 0), 0);
	cr_assert_eq(redial_log_close(log), 0);
	cr_expect_eq(summarize(path, REDIAL_LOG_APP_MIN).of_type, 1);
	cr_expect_eq(tu_count_fds(), fds0);
}

Test(contract, log_config_a_size_below_the_size_field_is_einval)
{
	char path[128];
	log_path(path, sizeof(path), "tiny.rlog");
	struct redial_log_config lc;
	redial_log_config_init(&lc);
	lc.path = path;
	for (size_t sz = 0; sz < sizeof(size_t); sz++) {
		lc.size = sz;
		struct redial_log *log = NULL;
		cr_expect_eq(redial_log_open(&lc, &log), -EINVAL, "size %zu", sz);
		cr_expect_null(log);
	}
	struct stat st;
	cr_expect_neq(stat(path, &st), 0, "a refused open created the file");
	cr_expect_eq(tu_count_fds(), fds0);
}

Test(contract, log_stats_a_smaller_struct_is_written_only_up_to_its_size)
{
	char path[128];
	log_path(path, sizeof(path), "stats.rlog");
	struct redial_log_config lc;
	redial_log_config_init(&lc);
	lc.path = path;
	struct redial_log *log = NULL;
	cr_assert_eq(redial_log_open(&lc, &log), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(redial_log_app(log, REDIAL_LOG_APP_MIN, REDIAL_LOG_INFO, 1, NULL, 0), 0);
	cr_assert_eq(redial_log_flush(log, REDIAL_SEC(10)), 0);

	union stats_buf buf;
	struct redial_log_stats *s = (struct redial_log_stats *)buf.b;
	size_t small = offsetof(struct redial_log_stats, written);
	memset(buf.b, CANARY, sizeof(buf.b));
	s->size = small;
	cr_expect_eq(redial_log_stats_get(log, s), 0);
	cr_expect_eq(s->size, small);
	cr_expect_eq(s->accepted, 3);
	cr_expect_eq(s->dropped, 0);
	cr_expect(all_bytes(buf.b, small, sizeof(buf.b), CANARY), "written past size");

	memset(buf.b, CANARY, sizeof(buf.b));
	s->size = sizeof(*s) + 64;
	cr_expect_eq(redial_log_stats_get(log, s), 0);
	cr_expect_eq(s->written, 3);
	cr_expect(all_bytes(buf.b, sizeof(*s), sizeof(buf.b), CANARY),
		  "written past the library's struct");
	cr_expect_eq(s->size, sizeof(*s),
		     "a larger struct keeps size %zu: the caller cannot tell that only %zu bytes "
		     "were written (redial_stats_get sets it)",
		     s->size, sizeof(*s));

	for (size_t sz = 0; sz < sizeof(size_t); sz++) {
		memset(buf.b, CANARY, sizeof(buf.b));
		s->size = sz;
		cr_expect_eq(redial_log_stats_get(log, s), -EINVAL, "size %zu", sz);
		cr_expect(all_bytes(buf.b, sizeof(size_t), sizeof(buf.b), CANARY));
	}
	cr_assert_eq(redial_log_close(log), 0);
	cr_expect_eq(tu_count_fds(), fds0);
}

/* ---- redial_endpoint_add_addr ------------------------------------------------------------- */

Test(contract, add_addr_connects_ipv4_and_ipv6_and_names_them)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = tu_make(&cfg);
	uint16_t p4 = farm_port(farm, T_ACCEPT), p6 = farm_port(farm, T_ACCEPT6);
	struct sockaddr_in a4 = sin4(p4);
	struct sockaddr_in6 a6 = sin6(p6);
	redial_id_t id4 = 0, id6 = 0;
	cr_assert_eq(redial_endpoint_add_addr(r, (struct sockaddr *)&a4, sizeof(a4), NULL, &id4), 0);
	tu_track(r, id4);
	/* A sockaddr_storage-sized length is fine: only the family's part is used. */
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, &a6, sizeof(a6));
	cr_assert_eq(redial_endpoint_add_addr(r, (struct sockaddr *)&ss, sizeof(ss), NULL, &id6), 0);
	tu_track(r, id6);
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id4, 1, REDIAL_SEC(20));
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id6, 1, REDIAL_SEC(20));

	char name[REDIAL_ENDPOINT_MAX + 1], want[64];
	snprintf(want, sizeof(want), "127.0.0.1:%u", p4);
	cr_expect_eq(redial_endpoint_name(r, id4, name, sizeof(name)), (int)strlen(want));
	cr_expect_str_eq(name, want);
	snprintf(want, sizeof(want), "[::1]:%u", p6);
	cr_expect_eq(redial_endpoint_name(r, id6, name, sizeof(name)), (int)strlen(want));
	cr_expect_str_eq(name, want);
	/* Too short a buffer: -ENOSPC. */
	cr_expect_eq(redial_endpoint_name(r, id6, name, 4), -ENOSPC);

	/* The connected socket is of the address's family, to the farm's port. */
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	int fd6 = tu_ep_stats(r, id6).fd;
	cr_assert_geq(fd6, 0);
	cr_assert_eq(getpeername(fd6, (struct sockaddr *)&peer, &plen), 0);
	cr_expect_eq(peer.ss_family, AF_INET6);
	cr_expect_eq(ntohs(((struct sockaddr_in6 *)&peer)->sin6_port), p6);
	tu_finish(r, fds0);
}

Test(contract, add_addr_refuses_what_it_cannot_connect_to)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = tu_make(&cfg);
	redial_id_t id = 0;

	struct sockaddr_un un;
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	strcpy(un.sun_path, "/tmp/x");
	cr_expect_eq(redial_endpoint_add_addr(r, (struct sockaddr *)&un, sizeof(un), NULL, &id),
		     -EAFNOSUPPORT);
	struct sockaddr_in a4 = sin4(farm_port(farm, T_ACCEPT));
	a4.sin_family = AF_UNSPEC;
	cr_expect_eq(redial_endpoint_add_addr(r, (struct sockaddr *)&a4, sizeof(a4), NULL, &id),
		     -EAFNOSUPPORT);

	/* Port 0. */
	a4 = sin4(0);
	cr_expect_eq(redial_endpoint_add_addr(r, (struct sockaddr *)&a4, sizeof(a4), NULL, &id),
		     -EINVAL);
	struct sockaddr_in6 a6 = sin6(0);
	cr_expect_eq(redial_endpoint_add_addr(r, (struct sockaddr *)&a6, sizeof(a6), NULL, &id),
		     -EINVAL);

	/* A length short of the family's struct. */
	a4 = sin4(farm_port(farm, T_ACCEPT));
	cr_expect_eq(redial_endpoint_add_addr(r, (struct sockaddr *)&a4, sizeof(a4) - 1, NULL, &id),
		     -EAFNOSUPPORT);
	a6 = sin6(farm_port(farm, T_ACCEPT6));
	cr_expect_eq(redial_endpoint_add_addr(r, (struct sockaddr *)&a6, sizeof(struct sockaddr_in),
					      NULL, &id),
		     -EAFNOSUPPORT);
	cr_expect_eq(redial_endpoint_add_addr(r, (struct sockaddr *)&a6, 0, NULL, &id),
		     -EAFNOSUPPORT);
	cr_expect_eq(id, 0, "ret_id written on failure");
	cr_expect_eq(tu_stats(r).endpoints, 0);
	tu_finish(r, fds0);
}

/* ---- Per-errno counters: four inline, the rest out of line -------------------------------- */

/* The count of err in the first n entries of c, or 0. */
static uint64_t count_of(const struct redial_errno_count *c, int n, int err)
{
	for (int i = 0; i < n; i++)
		if (c[i].err == err)
			return c[i].count;
	return 0;
}

/* Waits for the k-th CONNECTED of id, then reports the connection broken with err. */
static void connect_then_fail(redial_t *r, redial_id_t id, size_t k, int err)
{
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id, k, REDIAL_SEC(20));
	cr_assert_eq(redial_endpoint_fail(r, id, err), 0, "fail %s", redial_errno_name(err));
}

Test(contract, more_than_four_distinct_errnos_are_all_counted)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(1);
	rec.defs.backoff_max_ns = REDIAL_MSEC(5);
	rec.defs.backoff_max_attempts = 0; /* never give up */
	rec.defs.alert_after = 0;
	redial_t *r = tu_make(&cfg);
	uint16_t port = 0;
	int lfd = tu_listen_at(AF_INET, "127.0.0.1", &port); /* never accepting */
	redial_id_t id = tu_add(r, tu_loopback(port), NULL);

	/* Four distinct errnos, each once: they fill the inline slots. */
	static const int first4[] = { EPROTO, EIO, ENOTCONN, EBADMSG };
	size_t k = 0;
	for (size_t i = 0; i < 4; i++)
		connect_then_fail(r, id, ++k, first4[i]);
	/* Take the next connection away from the manager without an error, then close the
	 * listener: the attempts that follow are refused, a fifth errno. */
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id, ++k, REDIAL_SEC(20));
	int fd;
	cr_assert_eq(redial_endpoint_release(r, id, 0, &fd), 0);
	close(fd);
	close(lfd);
	cr_assert_eq(redial_endpoint_start(r, id), 0);
	tu_run_until_event(r, &rec, REDIAL_EV_ATTEMPT_FAILED, id, 2, REDIAL_SEC(20));
	/* Listening again on the same port: connects succeed; a sixth errno, then EPROTO a
	 * second time (an inline one, counted in place). */
	lfd = tu_listen_at(AF_INET, "127.0.0.1", &port);
	connect_then_fail(r, id, ++k, EPIPE);
	connect_then_fail(r, id, ++k, EPROTO);
	redial_run(r, 0);

	size_t refused = 0;
	for (size_t i = 0; i < rec.n; i++)
		if (rec.ev[i].id == id && rec.ev[i].type == REDIAL_EV_ATTEMPT_FAILED) {
			cr_expect_eq(rec.ev[i].err, ECONNREFUSED, "unexpected failure %s",
				     redial_errno_name(rec.ev[i].err));
			refused++;
		}
	cr_assert_geq(refused, 2);

	struct redial_errno_count c[8];
	memset(c, 0, sizeof(c));
	int n = redial_endpoint_errors(r, id, c, 8);
	cr_assert_eq(n, 6, "%d distinct errnos, expected 6", n);
	cr_expect_eq(count_of(c, n, EPROTO), 2);
	cr_expect_eq(count_of(c, n, EIO), 1);
	cr_expect_eq(count_of(c, n, ENOTCONN), 1);
	cr_expect_eq(count_of(c, n, EBADMSG), 1);
	cr_expect_eq(count_of(c, n, ECONNREFUSED), refused);
	cr_expect_eq(count_of(c, n, EPIPE), 1);
	cr_expect_eq(c[6].err, 0, "written past the count");

	/* A smaller cap: still the total, and nothing written past cap. */
	for (size_t cap = 0; cap <= 6; cap++) {
		struct redial_errno_count d[8];
		memset(d, CANARY, sizeof(d));
		cr_expect_eq(redial_endpoint_errors(r, id, cap ? d : NULL, cap), 6, "cap %zu", cap);
		for (size_t i = 0; i < cap; i++)
			cr_expect(d[i].err == c[i].err && d[i].count == c[i].count,
				  "cap %zu: entry %zu differs", cap, i);
		cr_expect(all_bytes(d, cap * sizeof(d[0]), sizeof(d), CANARY),
			  "cap %zu: written past cap", cap);
	}
	/* The stats agree: the last error is the last one reported. */
	struct redial_endpoint_stats s = tu_ep_stats(r, id);
	cr_expect_eq(s.last_error, EPROTO);
	cr_expect_eq(s.disconnects, 6);
	cr_expect_eq(s.failures, refused);
	close(lfd);
	tu_finish(r, fds0);
}

/* ---- rd_u64map ---------------------------------------------------------------------------- */

/* The reference: keys and whether each is in the map. */
struct ref {
	uint64_t *key;
	bool *in;
	size_t n;
};

static void ref_check(const struct rd_u64map *m, const struct ref *rf)
{
	size_t live = 0;
	for (size_t i = 0; i < rf->n; i++) {
		struct rd_u64map_ent *e = rd_u64map_get(m, rf->key[i]);
		if (rf->in[i]) {
			live++;
			cr_assert_not_null(e, "key %#llx (index %zu) lost", (unsigned long long)rf->key[i],
					   i);
			cr_assert_eq(e->key, rf->key[i]);
			cr_assert_eq(e->val, (void *)&rf->key[i], "key %zu: wrong value", i);
			cr_assert_eq(e->n, i);
		} else {
			cr_assert_null(e, "deleted key %#llx (index %zu) still found",
				       (unsigned long long)rf->key[i], i);
		}
	}
	cr_assert_eq(m->len, live);
	/* The table itself: as many keys as len, each reachable from its slot. */
	size_t used = 0;
	for (size_t i = 0; i < m->cap; i++)
		if (m->ent[i].key)
			used++;
	cr_assert_eq(used, m->len);
	cr_assert(m->cap == 0 || (m->cap & (m->cap - 1)) == 0);
	cr_assert_leq(m->len * 2, m->cap);
}

static void ref_insert(struct rd_u64map *m, struct ref *rf, size_t i)
{
	struct rd_u64map_ent *e = rd_u64map_upsert(m, rf->key[i]);
	cr_assert_not_null(e);
	cr_assert_eq(e->key, rf->key[i]);
	cr_assert_null(e->val, "a new entry starts empty");
	cr_assert_eq(e->n, 0);
	e->val = &rf->key[i];
	e->n = i;
	rf->in[i] = true;
}

static void ref_delete(struct rd_u64map *m, struct ref *rf, size_t i)
{
	cr_assert_eq(rd_u64map_del(m, rf->key[i]), (void *)&rf->key[i]);
	rf->in[i] = false;
	cr_assert_null(rd_u64map_del(m, rf->key[i]), "deleted twice");
}

/* The map's slot function for a table of mask+1 slots (u64map.c's mix): used only to build
 * keys that collide. Were the mix to change, the test would still check everything, with
 * less clustering. */
static size_t home_of(uint64_t key, size_t mask)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return (size_t)key & mask;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

Test(contract, u64map_many_keys_half_deleted_reinserted_grown)
{
	enum { N = 20000 };
	struct ref rf = { calloc(2 * N, sizeof(uint64_t)), calloc(2 * N, sizeof(bool)), 2 * N };
	cr_assert(rf.key && rf.in);
	/* Keys like endpoint ids (slot, serial, generation) and a few extremes. */
	struct redial_rng rng;
	redial_rng_seed(&rng, 7);
	for (size_t i = 0; i < rf.n; i++) {
		uint64_t k;
		if (i == 0)
			k = 1;
		else if (i == 1)
			k = UINT64_MAX;
		else if (i < N / 2)
			k = ((uint64_t)(1 + i % 7) << 32) | ((uint64_t)3 << 24) | i;
		else
			k = redial_rng_next(&rng) | 1;
		rf.key[i] = k;
	}
	/* The keys are distinct (the generator is seeded: this holds or fails every time). */
	uint64_t *sorted = malloc(rf.n * sizeof(uint64_t));
	cr_assert_not_null(sorted);
	memcpy(sorted, rf.key, rf.n * sizeof(uint64_t));
	qsort(sorted, rf.n, sizeof(uint64_t), cmp_u64);
	for (size_t i = 1; i < rf.n; i++)
		cr_assert_neq(sorted[i], sorted[i - 1], "a repeated key");
	free(sorted);

	struct rd_u64map m = { 0 };
	cr_assert_null(rd_u64map_get(&m, 5), "empty map");
	cr_assert_null(rd_u64map_del(&m, 5));
	cr_assert_null(rd_u64map_upsert(&m, 0), "key 0 is refused");
	cr_assert_null(rd_u64map_get(&m, 0));

	for (size_t i = 0; i < N; i++)
		ref_insert(&m, &rf, i);
	ref_check(&m, &rf);
	/* Upsert of a present key finds it, unchanged. */
	struct rd_u64map_ent *e = rd_u64map_upsert(&m, rf.key[17]);
	cr_assert_eq(e->val, (void *)&rf.key[17]);
	cr_assert_eq(m.len, N);

	/* Every other key out, then every third of what is left. */
	for (size_t i = 0; i < N; i += 2)
		ref_delete(&m, &rf, i);
	ref_check(&m, &rf);
	for (size_t i = 1; i < N; i += 6)
		ref_delete(&m, &rf, i);
	ref_check(&m, &rf);
	/* Back in, in reverse order. */
	for (size_t i = N; i-- > 0;)
		if (!rf.in[i])
			ref_insert(&m, &rf, i);
	ref_check(&m, &rf);
	/* Grow: as many again. */
	size_t cap = m.cap;
	for (size_t i = N; i < rf.n; i++)
		ref_insert(&m, &rf, i);
	cr_assert_gt(m.cap, cap);
	ref_check(&m, &rf);
	/* And down to nothing. */
	for (size_t i = 0; i < rf.n; i++)
		ref_delete(&m, &rf, i);
	ref_check(&m, &rf);
	rd_u64map_free(&m);
	cr_assert_eq(m.cap, 0);
	cr_assert_null(m.ent);
	free(rf.key);
	free(rf.in);
	cr_expect_eq(tu_count_fds(), fds0);
}

Test(contract, u64map_deletes_in_the_middle_of_probe_chains)
{
	/* A table of 64 slots (between 17 and 32 keys) with long chains: keys whose home is
	 * the last slot (so their chain wraps to slot 0), keys whose home is slot 0 and 1
	 * (pushed further by the first), and some elsewhere. */
	enum { CAP = 64, MASK = CAP - 1 };
	static const size_t homes[] = { 63, 63, 0, 63, 1, 0, 63, 63, 1, 0, 2, 63, 0,
					30, 30, 31, 30, 31, 45, 63, 0, 1, 2, 30 };
	enum { NK = sizeof(homes) / sizeof(homes[0]) };
	_Static_assert(NK > CAP / 4 && NK <= CAP / 2, "the table ends with 64 slots");
	uint64_t keys[NK];
	bool in[NK];
	uint64_t next = 1;
	for (size_t i = 0; i < NK; i++) {
		while (home_of(next, MASK) != homes[i])
			next++;
		keys[i] = next++;
	}
	struct ref rf = { keys, in, NK };
	/* Every deletion order of a few kinds: front of a chain, middle, end, the wrapped part. */
	static const size_t orders[][6] = {
		{ 0, 2, 4, 6, 8, 10 },   { 3, 5, 7, 9, 11, 12 }, { 19, 20, 21, 22, 1, 2 },
		{ 13, 16, 23, 14, 15, 17 }, { 12, 11, 7, 6, 3, 0 }, { 1, 8, 21, 9, 20, 5 },
	};
	for (size_t o = 0; o < sizeof(orders) / sizeof(orders[0]); o++) {
		struct rd_u64map m = { 0 };
		memset(in, 0, sizeof(in));
		for (size_t i = 0; i < NK; i++)
			ref_insert(&m, &rf, i);
		cr_assert_eq(m.cap, CAP);
		ref_check(&m, &rf);
		for (size_t j = 0; j < 6; j++) {
			ref_delete(&m, &rf, orders[o][j]);
			ref_check(&m, &rf);
		}
		/* Back in, one at a time, checking each time. */
		for (size_t j = 6; j-- > 0;) {
			ref_insert(&m, &rf, orders[o][j]);
			ref_check(&m, &rf);
		}
		/* Then everything out in insertion order, checking each time. */
		for (size_t i = 0; i < NK; i++) {
			ref_delete(&m, &rf, i);
			ref_check(&m, &rf);
		}
		rd_u64map_free(&m);
	}
	cr_expect_eq(tu_count_fds(), fds0);
}

/* ---- The default ring path ----------------------------------------------------------------- */

Test(contract, the_default_config_hands_fds_over_in_the_kernel_where_it_can)
{
	struct io_uring_probe *p = io_uring_get_probe();
	if (!p)
		cr_skip_test("io_uring_get_probe failed: no opcode probe on this kernel");
	bool has = io_uring_opcode_supported(p, 54 /* IORING_OP_FIXED_FD_INSTALL */);
	io_uring_free_probe(p);
	if (!has)
		cr_skip_test("the kernel lacks IORING_OP_FIXED_FD_INSTALL (6.8+): the default path "
			     "is the user-space fd install");

	struct redial_config cfg;
	redial_config_init(&cfg);
	cfg.on_event = tu_record;
	cfg.event_user = &rec;
	redial_t *r = tu_make(&cfg);
	struct redial_stats s = tu_stats(r);
	cr_expect(s.fd_install, "the kernel has FIXED_FD_INSTALL and the config is the default, "
				"but fd_install is false");
	/* And the path works: a connection comes up with a real fd. */
	redial_id_t id = tu_add(r, tu_loopback(farm_port(farm, T_ACCEPT)), NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(20));
	int fd = tu_nth(&rec, REDIAL_EV_CONNECTED, id, 0)->fd;
	cr_expect_geq(fd, 0);
	cr_expect_geq(fcntl(fd, F_GETFD), 0, "the event's fd is not open");

	/* The flag turns it off. */
	struct redial_config cfg2 = cfg;
	cfg2.flags = REDIAL_CFG_NO_FD_INSTALL;
	int before = tu_count_fds();
	redial_t *r2 = tu_make(&cfg2);
	cr_expect_not(tu_stats(r2).fd_install);
	tu_finish(r2, before);
	tu_finish(r, fds0);
}

/* ---- An errno the application reports comes back as it was given --------------------------- */

Test(contract, an_error_reported_by_the_application_is_kept_unchanged)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(1);
	rec.defs.alert_after = 0;
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, tu_loopback(farm_port(farm, T_ACCEPT)), NULL);
	/* Errors up to 65535 are kept as given; one past 16 bits is refused rather than
	 * coming back as another (65536 + EPROTO would read as EPROTO). */
	const int err = 60000;
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(20));
	cr_assert_eq(redial_endpoint_fail(r, id, 65536 + EPROTO), -EINVAL);
	cr_assert_eq(tu_ep_stats(r, id).state, REDIAL_STATE_CONNECTED,
		     "a refused call changes nothing");
	cr_assert_eq(redial_endpoint_fail(r, id, err), 0);
	tu_run_until_event(r, &rec, REDIAL_EV_DISCONNECTED, id, 1, REDIAL_SEC(20));
	cr_expect_eq(tu_nth(&rec, REDIAL_EV_DISCONNECTED, id, 0)->err, err);
	struct redial_endpoint_stats s = tu_ep_stats(r, id);
	cr_expect_eq(s.last_error, err, "last_error %d, the event said %d", s.last_error, err);
	struct redial_errno_count c[4];
	cr_assert_eq(redial_endpoint_errors(r, id, c, 4), 1);
	cr_expect_eq(c[0].err, err, "counted as %d (%s), reported as %d", c[0].err,
		     redial_errno_name(c[0].err) ? redial_errno_name(c[0].err) : "?", err);
	tu_finish(r, fds0);
}

/* ---- redial_endpoint_parse and redial_endpoint_add: one answer --------------------------- */

static void parse_add_setup(void)
{
	tu_recorder_init(&rec);
	fds0 = tu_count_fds();
}

static void parse_add_teardown(void)
{
	tu_recorder_free(&rec);
}

TestSuite(parse_add, .init = parse_add_setup, .fini = parse_add_teardown, .timeout = 60);

/* A manager whose endpoints stay IDLE (nothing is resolved or connected) and whose resolver
 * points at a port where nothing answers, in case something were. */
static redial_t *idle_manager(void)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	cfg.dns_servers = "127.0.0.1:9";
	rec.defs.flags = REDIAL_EP_START_IDLE;
	return tu_make(&cfg);
}

enum agree_kind { AG_ADDR, AG_NAME, AG_BAD };

/* Held inline: see test_addr.c's parse_case on pointers in Criterion parameters. */
struct agree_case {
	char in[136];
	enum agree_kind kind; /* parse: 0, -ENOTSUP, -EINVAL; add: 0, 0, -EINVAL */
};

#define L63 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static struct agree_case agree_cases[] = {
	/* Names add takes. */
	{ "localhost:80", AG_NAME },
	{ "example.com:443", AG_NAME },
	{ "EXAMPLE.Com:443", AG_NAME },
	{ "example.com.:443", AG_NAME },
	{ "my_host.internal:80", AG_NAME },
	{ "_srv._tcp.example:80", AG_NAME },
	{ "a:1", AG_NAME },
	{ "a-b.c-d:80", AG_NAME },
	{ "xn--bcher-kva.example:8080", AG_NAME },
	{ "1.2.3.4a:80", AG_NAME },
	{ "123abc:80", AG_NAME },
	{ "a.1:80", AG_NAME },
	{ L63 ":80", AG_NAME },
	{ L63 "." L63 ":80", AG_NAME },
	{ "tls://example.com:443", AG_NAME },
	{ "tcp://localhost:80", AG_NAME },
	/* Names it refuses: the three, and their kin. */
	{ "-lead:80", AG_BAD },
	{ "trail-:80", AG_BAD },
	{ "a.-b.c:80", AG_BAD },
	{ "a..b:80", AG_BAD },
	{ ".a:80", AG_BAD },
	{ "a..:80", AG_BAD },
	{ L63 "a:80", AG_BAD },
	{ "x." L63 "a:80", AG_BAD },
	{ "a b:80", AG_BAD },
	{ "a/b:80", AG_BAD },
	{ "a*b.example:80", AG_BAD },
	{ "caf\xc3\xa9.example:80", AG_BAD },
	{ "a%b:80", AG_BAD },
	{ "example.com:0", AG_BAD },
	{ "example.com:", AG_BAD },
	{ "example.com", AG_BAD },
	{ "tls://-lead:443", AG_BAD },
	{ "tcp://a..b:80", AG_BAD },
	/* Addresses, and what looks numeric. */
	{ "127.0.0.1:80", AG_ADDR },
	{ "[::1]:80", AG_ADDR },
	{ "tls://127.0.0.1:443", AG_ADDR },
	{ "tls://[::1]:443", AG_ADDR },
	{ "tcp://[::1]:80", AG_ADDR },
	{ "1.2.3:80", AG_BAD },
	{ "1-2:80", AG_BAD },
	{ ".:80", AG_BAD },
	/* Prefixes add does not know. */
	{ "http://example.com:80", AG_BAD },
	{ "TLS://127.0.0.1:443", AG_BAD },
	{ "tls://", AG_BAD },
};

ParameterizedTestParameters(parse_add, one_answer_from_parse_and_add_for_every_string)
{
	return cr_make_param_array(struct agree_case, agree_cases,
				   sizeof(agree_cases) / sizeof(agree_cases[0]));
}

ParameterizedTest(struct agree_case *c, parse_add, one_answer_from_parse_and_add_for_every_string)
{
	cr_assert(memchr(c->in, 0, sizeof(c->in)), "the case's string fills its array");
	static const int want_parse[] = { [AG_ADDR] = 0, [AG_NAME] = -ENOTSUP, [AG_BAD] = -EINVAL };
	char perr[512] = "", aerr[512] = "";
	int pret = redial_endpoint_parse(c->in, NULL, NULL, perr, sizeof(perr));

	redial_t *r = idle_manager();
	redial_id_t id = 0;
	int aret = redial_endpoint_add(r, c->in, NULL, &id, aerr, sizeof(aerr));
	if (aret == 0)
		tu_track(r, id);

	/* Parse's promise: 0 or -ENOTSUP exactly when add accepts. */
	cr_expect_eq(pret == 0 || pret == -ENOTSUP, aret == 0,
		     "\"%s\": parse %d (%s), add %d (%s)", c->in, pret, perr, aret, aerr);
	if (aret < 0 && pret < 0 && pret != -ENOTSUP) {
		cr_expect_eq(pret, aret, "\"%s\": parse %d, add %d", c->in, pret, aret);
		cr_expect_str_eq(perr, aerr, "\"%s\": parse and add explain it differently",
				 c->in);
	}
	/* And both right, not merely equal. */
	cr_expect_eq(pret, want_parse[c->kind], "\"%s\": parse %d (%s)", c->in, pret, perr);
	cr_expect_eq(aret, c->kind == AG_BAD ? -EINVAL : 0, "\"%s\": add %d (%s)", c->in, aret,
		     aerr);
	if (aret < 0)
		cr_expect_eq(id, 0, "\"%s\": ret_id written on failure", c->in);
	tu_finish(r, fds0);
}

Test(parse_add, tcp_prefix_is_plain_tcp_and_refused_with_tls_options_in_use)
{
	struct redial_tls_opts t;
	redial_tls_opts_init(&t);
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	cfg.dns_servers = "127.0.0.1:9";
	rec.defs.flags = REDIAL_EP_START_IDLE;
	rec.defs.tls = &t; /* endpoint_defaults run TLS */
	redial_t *r = tu_make(&cfg);
	char err[512];
	redial_id_t id = 7;

	/* The defaults' TLS against "tcp://". */
	cr_expect_eq(redial_endpoint_add(r, "tcp://127.0.0.1:80", NULL, &id, err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "\"tcp://\"") && strstr(err, "endpoint_defaults"), "%s", err);
	/* The endpoint's own. */
	struct redial_endpoint_opts o = rec.defs;
	cr_expect_eq(redial_endpoint_add(r, "tcp://[::1]:80", &o, &id, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "\"tcp://\"") && strstr(err, "opts->tls"), "%s", err);
	cr_expect_eq(id, 7, "ret_id written on failure");
	cr_expect_eq(tu_stats(r).endpoints, 0, "a refused add left an endpoint");

	/* Options without TLS: plain TCP, as without the prefix. */
	o.tls = NULL;
	cr_assert_eq(redial_endpoint_add(r, "tcp://[::1]:80", &o, &id, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_not(tu_ep_stats(r, tu_track(r, id)).tls);
	cr_assert_eq(redial_endpoint_add(r, "tcp://localhost:80", &o, &id, err, sizeof(err)), 0,
		     "%s", err);
	cr_expect_not(tu_ep_stats(r, tu_track(r, id)).tls);
	tu_finish(r, fds0);
}

Test(parse_add, tls_prefix_makes_a_tls_endpoint_of_every_form_whatever_the_options)
{
	redial_t *r = idle_manager(); /* endpoint_defaults without TLS */
	struct redial_endpoint_opts o;
	redial_endpoint_opts_init(&o);
	o.flags = REDIAL_EP_START_IDLE;
	static const char *const in[] = { "tls://127.0.0.1:443", "tls://[::1]:443",
					  "tls://example.com:443" };
	for (size_t i = 0; i < 3; i++) {
		char err[512];
		redial_id_t id = 0;
		/* opts NULL (defaults without TLS), and opts without TLS: the library's TLS. */
		cr_assert_eq(redial_endpoint_add(r, in[i], NULL, &id, err, sizeof(err)), 0,
			     "%s: %s", in[i], err);
		cr_expect(tu_ep_stats(r, tu_track(r, id)).tls, "%s: not a TLS endpoint", in[i]);
		cr_assert_eq(redial_endpoint_add(r, in[i], &o, &id, err, sizeof(err)), 0, "%s: %s",
			     in[i], err);
		cr_expect(tu_ep_stats(r, tu_track(r, id)).tls, "%s: not a TLS endpoint", in[i]);
		/* Without the prefix, the same options make a plain one. */
		cr_assert_eq(redial_endpoint_add(r, in[i] + 6, &o, &id, err, sizeof(err)), 0,
			     "%s: %s", in[i] + 6, err);
		cr_expect_not(tu_ep_stats(r, tu_track(r, id)).tls, "%s: a TLS endpoint", in[i] + 6);
	}
	char err[512];
	redial_id_t id = 0;
	cr_expect_eq(redial_endpoint_add(r, "https://127.0.0.1:443", &o, &id, err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "unknown scheme \"https://\"") && strstr(err, "\"tls://\""), "%s",
		  err);
	tu_finish(r, fds0);
}
