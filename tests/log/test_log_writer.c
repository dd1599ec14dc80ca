/* test_log_writer.c — the writing side of the event log: rings that wrap, fill up and count
 * what they drop, several producer threads, a writer killed mid-stream, write errors
 * (EFBIG, ENOSPC on a full tmpfs, /dev/full), rotation, flush, stats and configuration. */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "logread.h"
#include "netns.h"
#include "proc.h"
#include "scratch.h"


TestSuite(log_writer, .init = tu_scratch_setup, .fini = tu_scratch_remove, .timeout = 120);

static struct redial_log_stats stats_of(struct redial_log *l)
{
	struct redial_log_stats s = { .size = sizeof(s) };
	cr_assert_eq(redial_log_stats_get(l, &s), 0);
	return s;
}

Test(log_writer, a_small_ring_wraps_many_times_without_losing_or_reordering_records)
{
	char *path = tu_path(tu_dir, "wrap.rlog");
	struct redial_log *l = lt_open(path, 4096, REDIAL_LOG_DEBUG);
	cr_assert_not_null(l);
	uint8_t payload[256];
	const uint32_t n = 20000;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = 4 + (i * 37) % 200; /* sizes vary, so pads land everywhere */
		rd_put32(payload, i);
		memset(payload + 4, (int)(i & 0xff), len - 4);
		cr_assert_eq(redial_log_app(l, 0x8000, REDIAL_LOG_INFO, i + 1, payload, len), 0,
			     "record %u dropped", i);
		if (i % 10 == 9)
			cr_assert_eq(redial_log_flush(l, 5000000000ull), 0);
	}
	struct redial_log_stats s = stats_of(l);
	cr_assert_eq(redial_log_close(l), 0);
	cr_expect_eq(s.dropped, 0);
	cr_expect_eq(s.accepted, n);
	cr_expect_gt(s.bytes, (uint64_t)n * 40, "the 4 KiB ring went round hundreds of times");

	struct lt_log lg;
	cr_assert_eq(lt_read_path(path, &lg), 0);
	cr_assert_eq(lg.corrupt + lg.torn, 0);
	cr_assert_eq(lg.n, n);
	for (uint32_t i = 0; i < n; i++) {
		struct lt_rec *r = &lg.recs[i];
		uint32_t len = 4 + (i * 37) % 200;
		cr_assert_eq(r->body_len, len, "record %u", i);
		cr_assert_eq(rd_get32(r->body), i);
		cr_assert_eq(r->id, i + 1);
		for (uint32_t k = 4; k < len; k++)
			cr_assert_eq(r->body[k], (uint8_t)(i & 0xff));
	}
	lt_free(&lg);
	free(path);
}

Test(log_writer, a_full_ring_drops_counts_and_logs_the_count_once_there_is_room)
{
	char *path = tu_path(tu_dir, "full.rlog");
	struct redial_log *l = lt_open(path, 4096, REDIAL_LOG_DEBUG);
	cr_assert_not_null(l);
	rd_log__drain_pause(l, true);
	const uint32_t n = 1000;
	for (uint32_t i = 0; i < n; i++)
		rd_log_connected(l, 1000 + i, 7, i, 1, 2);
	struct redial_log_stats s = stats_of(l);
	/* a connected entry takes 48 bytes: 85 fit in 4096 */
	cr_expect_eq(s.accepted, 4096 / 48);
	cr_expect_eq(s.dropped, n - s.accepted);
	cr_expect_eq(s.written, 0);
	uint64_t accepted = s.accepted;
	rd_log__drain_pause(l, false);
	cr_assert_eq(redial_log_flush(l, 5000000000ull), 0);
	rd_log_cancelled(l, 5000, 7);
	s = stats_of(l);
	cr_assert_eq(redial_log_close(l), 0);

	struct lt_log lg;
	cr_assert_eq(lt_read_path(path, &lg), 0);
	cr_assert_eq(lg.corrupt + lg.torn, 0);
	uint64_t connected = 0, dropped = 0, dropped_recs = 0;
	for (size_t i = 0; i < lg.n; i++) {
		if (lg.recs[i].type == REDIAL_LOG_CONNECTED) {
			cr_assert_eq(lg.recs[i].ev.attempt, connected, "the oldest records were kept");
			connected++;
		} else if (lg.recs[i].type == REDIAL_LOG_DROPPED) {
			cr_assert_eq(lg.recs[i].level, REDIAL_LOG_WARN);
			cr_assert_eq(lg.recs[i].id, 0);
			cr_assert_eq(connected, accepted, "the count follows the records before it");
			dropped += lg.recs[i].ev.count;
			dropped_recs++;
		}
	}
	cr_expect_eq(connected, accepted);
	cr_expect_eq(dropped, n - accepted, "every drop is accounted for in the file");
	cr_expect_eq(dropped_recs, 1);
	cr_expect_eq(lg.recs[lg.n - 1].type, REDIAL_LOG_CANCELLED);
	lt_free(&lg);
	free(path);
}

/* ---- Several producers ------------------------------------------------------------------- */

struct producer {
	struct redial_log *l;
	pthread_barrier_t *all_in; /* NULL, or: wait here after the first record */
	uint32_t tid;
	uint32_t n;
	uint32_t sent, refused;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	uint8_t payload[12];
	for (uint32_t i = 0; i < p->n; i++) {
		rd_put32(payload, p->tid);
		rd_put32(payload + 4, i);
		rd_put32(payload + 8, ~i);
		if (redial_log_app(p->l, 0x9000, REDIAL_LOG_INFO, p->tid, payload, 12) == 0)
			p->sent++;
		else
			p->refused++;
		if (p->tid % 2 && i % 64 == 0)
			rd_log_alert(p->l, tu_now_ns(), ((uint64_t)p->tid << 32) | i, i, EIO);
		if (i == 0 && p->all_in)
			pthread_barrier_wait(p->all_in); /* every producer holds a ring at once */
	}
	return NULL;
}

static void check_producers(const char *path, const struct producer *ps, int np,
			    uint64_t dropped_stat)
{
	struct lt_log lg;
	cr_assert_eq(lt_read_path(path, &lg), 0);
	cr_assert_eq(lg.corrupt + lg.torn, 0);
	uint64_t next[64] = { 0 }, got[64] = { 0 }, dropped = 0;
	for (size_t i = 0; i < lg.n; i++) {
		struct lt_rec *r = &lg.recs[i];
		if (r->type == REDIAL_LOG_DROPPED) {
			dropped += r->ev.count;
			continue;
		}
		if (r->type == REDIAL_LOG_ALERT)
			continue;
		cr_assert_eq(r->type, 0x9000);
		cr_assert_eq(r->body_len, 12);
		uint32_t tid = rd_get32(r->body), seq = rd_get32(r->body + 4);
		cr_assert_lt(tid, 64);
		cr_assert_eq(r->id, tid);
		cr_assert_eq(rd_get32(r->body + 8), ~seq, "payload intact");
		/* per thread, records come out in the order they went in */
		cr_assert_geq(seq, next[tid], "thread %u: %u after %" PRIu64, tid, seq, next[tid]);
		next[tid] = seq + 1;
		got[tid]++;
	}
	uint64_t refused = 0;
	for (int t = 0; t < np; t++) {
		cr_expect_eq(got[ps[t].tid], ps[t].sent, "thread %u", ps[t].tid);
		refused += ps[t].refused;
	}
	cr_expect_geq(dropped_stat, refused);
	cr_expect_eq(dropped, dropped_stat, "every drop is counted in the file");
	lt_free(&lg);
}

Test(log_writer, several_threads_log_at_once_each_in_order_and_every_drop_counted)
{
	char *path = tu_path(tu_dir, "mp.rlog");
	struct redial_log *l = lt_open(path, 1u << 16, REDIAL_LOG_DEBUG);
	cr_assert_not_null(l);
	enum { NP = 4 };
	struct producer ps[NP];
	pthread_t th[NP];
	pthread_barrier_t all_in;
	pthread_barrier_init(&all_in, NULL, NP);
	for (int t = 0; t < NP; t++) {
		ps[t] = (struct producer){ .l = l, .all_in = &all_in, .tid = (uint32_t)t + 1,
					   .n = 100000 };
		cr_assert_eq(pthread_create(&th[t], NULL, produce, &ps[t]), 0);
	}
	for (int t = 0; t < NP; t++)
		pthread_join(th[t], NULL);
	unsigned rings = rd_log__ring_count(l);
	cr_expect_eq(rings, NP + 1, "one ring per producer thread, plus the opener's");

	/* threads that exited gave their rings back: new threads reuse them */
	struct producer ps2[NP];
	for (int t = 0; t < NP; t++) {
		ps2[t] = (struct producer){ .l = l, .all_in = &all_in, .tid = (uint32_t)t + 1 + NP,
					    .n = 20000 };
		cr_assert_eq(pthread_create(&th[t], NULL, produce, &ps2[t]), 0);
	}
	for (int t = 0; t < NP; t++)
		pthread_join(th[t], NULL);
	cr_expect_eq(rd_log__ring_count(l), rings);
	pthread_barrier_destroy(&all_in);

	struct redial_log_stats s = stats_of(l);
	cr_assert_eq(redial_log_close(l), 0);

	struct producer all[2 * NP];
	memcpy(all, ps, sizeof(ps));
	memcpy(all + NP, ps2, sizeof(ps2));
	check_producers(path, all, 2 * NP, s.dropped);
	free(path);
}

/* ---- A writer killed mid-stream ----------------------------------------------------------- */

static void killed_writer_round(int round, uint32_t kill_after)
{
	char name[32];
	snprintf(name, sizeof(name), "killed%d.rlog", round);
	char *path = tu_path(tu_dir, name);
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(pfd[0]);
		struct redial_log_config cfg;
		struct redial_log *l;
		redial_log_config_init(&cfg);
		cfg.path = path;
		cfg.flush_interval_ns = 1000000;
		cfg.min_level = REDIAL_LOG_DEBUG;
		if (redial_log_open(&cfg, &l) < 0)
			_exit(2);
		uint8_t payload[40];
		memset(payload, 0x77, sizeof(payload));
		for (uint32_t i = 0;; i++) {
			rd_put32(payload, i);
			/* at most 2000 records in the 1 MiB ring: nothing is ever dropped */
			if (redial_log_app(l, 0x8100, REDIAL_LOG_INFO, i, payload, 8 + i % 32) < 0)
				_exit(3);
			if (i % 2000 == 1999) {
				if (redial_log_flush(l, 10000000000ull) < 0)
					_exit(4);
				uint32_t done = i + 1;
				if (write(pfd[1], &done, sizeof(done)) != sizeof(done))
					_exit(5);
			}
		}
	}
	close(pfd[1]);
	uint32_t confirmed = 0;
	while (confirmed < kill_after)
		cr_assert_eq(read(pfd[0], &confirmed, sizeof(confirmed)), sizeof(confirmed));
	kill(pid, SIGKILL);
	int wst;
	cr_assert_eq(waitpid(pid, &wst, 0), pid);
	cr_assert(WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL, "the writer died some other way");
	close(pfd[0]);

	struct lt_log lg;
	cr_assert_eq(lt_read_path(path, &lg), 0);
	cr_assert_eq(lg.corrupt, 0);
	cr_assert_leq(lg.torn, 1);
	cr_assert_geq(lg.n, confirmed, "records the writer had flushed are missing");
	for (uint32_t i = 0; i < lg.n; i++) {
		cr_assert_eq(lg.recs[i].type, 0x8100);
		cr_assert_eq(rd_get32(lg.recs[i].body), i, "record %u missing or out of order", i);
		cr_assert_eq(lg.recs[i].body_len, 8 + i % 32);
	}
	/* every byte is a header, a record, or the torn tail: nothing else was written */
	struct stat stt;
	cr_assert_eq(stat(path, &stt), 0);
	uint64_t end = lg.n ? lg.recs[lg.n - 1].offset + 28 + lg.recs[lg.n - 1].body_len : 48;
	if (!lg.torn)
		cr_assert_eq(end, (uint64_t)stt.st_size);
	lt_free(&lg);
	free(path);
}

Test(log_writer, a_writer_killed_mid_stream_leaves_every_written_record_readable)
{
	killed_writer_round(0, 20000);
	killed_writer_round(1, 50000);
	killed_writer_round(2, 100000);
}

/* ---- Write errors ------------------------------------------------------------------------- */

struct err_report {
	int error, close_ret, open_ret;
	uint64_t written, lost, accepted;
	size_t n, corrupt, torn;
	int64_t size;
};

/* Child side: log until the drain reports an error, then close, then read the file back. */
static void write_until_error(const char *path, struct err_report *rep)
{
	struct redial_log_config cfg;
	struct redial_log *l;
	redial_log_config_init(&cfg);
	cfg.path = path;
	cfg.flush_interval_ns = 1000000;
	rep->open_ret = redial_log_open(&cfg, &l);
	if (rep->open_ret < 0)
		return;
	uint8_t payload[300];
	memset(payload, 0x42, sizeof(payload));
	for (uint32_t i = 0; i < 100000 && !redial_log_error(l); i++) {
		rd_put32(payload, i);
		redial_log_app(l, 0x8000, REDIAL_LOG_INFO, i, payload, sizeof(payload));
		if (i % 100 == 99)
			redial_log_flush(l, 5000000000ull);
	}
	/* records accepted after the error are counted as lost, never half-written */
	for (uint32_t i = 0; i < 50; i++)
		redial_log_app(l, 0x8000, REDIAL_LOG_INFO, i, payload, sizeof(payload));
	redial_log_flush(l, 5000000000ull); /* waits even in error: the rest is counted lost */
	rep->error = redial_log_error(l);
	struct redial_log_stats s = { .size = sizeof(s) };
	redial_log_stats_get(l, &s);
	rep->close_ret = redial_log_close(l);
	rep->written = s.written;
	rep->lost = s.lost;
	rep->accepted = s.accepted;
	struct lt_log lg;
	lt_read_path(path, &lg);
	rep->n = lg.n;
	rep->corrupt = lg.corrupt;
	rep->torn = lg.torn;
	lt_free(&lg);
	struct stat st;
	rep->size = stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

/* Runs fn in a child process and returns its report; exit status 77 means skip. */
static int in_child(void (*fn)(struct err_report *), struct err_report *rep)
{
	struct err_report *shared = mmap(NULL, sizeof(*rep), PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(shared, MAP_FAILED);
	memset(shared, 0, sizeof(*shared));
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		fn(shared);
		_exit(0);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	*rep = *shared;
	munmap(shared, sizeof(*rep));
	cr_assert(WIFEXITED(st), "child died");
	return WEXITSTATUS(st);
}

static void check_error_report(const struct err_report *rep, int want)
{
	cr_assert_eq(rep->open_ret, 0);
	cr_expect_eq(rep->error, want, "redial_log_error: %d", rep->error);
	cr_expect_eq(rep->close_ret, want, "redial_log_close: %d", rep->close_ret);
	cr_expect_gt(rep->written, 0);
	cr_expect_gt(rep->lost, 0);
	cr_expect_eq(rep->written + rep->lost, rep->accepted, "each record written or lost");
	cr_expect_eq(rep->n, rep->written, "the file holds exactly the records written");
	cr_expect_eq(rep->corrupt + rep->torn, 0, "no partial record was left in the file");
}

static void fsize_child(struct err_report *rep)
{
	char *path = tu_path(tu_dir, "fsize.rlog");
	struct rlimit rl = { 100000, 100000 };
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &rl);
	write_until_error(path, rep);
	free(path);
}

Test(log_writer, a_short_write_at_the_file_size_limit_is_reported_as_efbig)
{
	struct err_report rep;
	cr_assert_eq(in_child(fsize_child, &rep), 0);
	check_error_report(&rep, -EFBIG);
	cr_expect_leq(rep.size, 100000);
	cr_expect_gt(rep.size, 90000, "the file was filled, then cut back to whole records");
}

static void tmpfs_child(struct err_report *rep)
{
	char why[256];
	if (tu_unshare(CLONE_NEWNS, why, sizeof(why)) < 0)
		_exit(77);
	char *mnt = tu_path(tu_dir, "mnt");
	if (mkdir(mnt, 0700) < 0 || mount("tmpfs", mnt, "tmpfs", 0, "size=64k") < 0)
		_exit(77);
	char *path = tu_path(mnt, "full.rlog");
	write_until_error(path, rep);
	umount2(mnt, MNT_DETACH);
	free(path);
	free(mnt);
}

Test(log_writer, a_full_filesystem_is_reported_as_enospc_and_writing_stops)
{
	struct err_report rep;
	int st = in_child(tmpfs_child, &rep);
	if (st == 77)
		cr_skip_test("no private mount namespace here (needs CAP_SYS_ADMIN)");
	cr_assert_eq(st, 0);
	check_error_report(&rep, -ENOSPC);
	cr_expect_leq(rep.size, 65536);
}

Test(log_writer, dev_full_fails_the_open_with_enospc_and_leaves_nothing_open)
{
	struct redial_log_config cfg;
	struct redial_log *l = (struct redial_log *)0x1;
	redial_log_config_init(&cfg);
	cfg.path = "/dev/full";
	cr_assert_eq(redial_log_open(&cfg, &l), -ENOSPC);
	cr_assert_eq(l, (struct redial_log *)0x1, "ret_log untouched on failure");
	cfg.path = "/nonexistent-dir/x.rlog";
	cr_assert_eq(redial_log_open(&cfg, &l), -ENOENT);
}

/* ---- Rotation ------------------------------------------------------------------------------- */

Test(log_writer, rotation_keeps_n_files_each_under_the_limit_each_decodable_alone)
{
	char *path = tu_path(tu_dir, "rot.rlog");
	struct redial_log_config cfg;
	struct redial_log *l;
	redial_log_config_init(&cfg);
	cfg.path = path;
	cfg.rotate_bytes = 4096;
	cfg.rotate_keep = 3;
	cfg.flush_interval_ns = 1000000;
	cr_assert_eq(redial_log_open(&cfg, &l), 0);
	rd_log_endpoint_added(l, 1, LT_A, "10.0.0.1:80", 11);
	rd_log_endpoint_added(l, 2, LT_B, "[::1]:8080", 10);
	const uint32_t n = 600;
	for (uint32_t i = 0; i < n; i++) {
		if (i == 300)
			rd_log_endpoint_removed(l, 100 + i, LT_A);
		rd_log_connect_failed(l, 1000 + i, i < 300 && i % 2 ? LT_A : LT_B, i, ECONNREFUSED,
				      REDIAL_CLASS_TRANSIENT, 1, 2, NULL);
		if (i % 50 == 0)
			cr_assert_eq(redial_log_flush(l, 5000000000ull), 0);
	}
	cr_assert_eq(redial_log_close(l), 0);

	char *names[4];
	/* oldest first: rot.rlog.3, .2, .1, rot.rlog */
	for (int k = 0; k < 4; k++) {
		names[k] = malloc(strlen(path) + 8);
		if (k < 3)
			sprintf(names[k], "%s.%d", path, 3 - k);
		else
			strcpy(names[k], path);
	}
	char *extra = malloc(strlen(path) + 8);
	sprintf(extra, "%s.4", path);
	struct stat st;
	cr_expect_neq(stat(extra, &st), 0, "only rotate_keep old files are kept");
	free(extra);

	int64_t prev = -1;
	for (int k = 0; k < 4; k++) {
		cr_assert_eq(stat(names[k], &st), 0, "%s missing", names[k]);
		cr_expect_leq(st.st_size, 4096, "%s is over the limit", names[k]);
		struct lt_log lg;
		cr_assert_eq(lt_read_path(names[k], &lg), 0);
		cr_assert_eq(lg.corrupt + lg.torn, 0);
		cr_assert_eq(lg.headers, 1);
		cr_assert_eq(lg.recs[0].offset, RD_LOG_HEADER_V1, "the header comes first");
		bool have_a = false, have_b = false;
		for (size_t i = 0; i < lg.n; i++) {
			struct lt_rec *r = &lg.recs[i];
			if (r->type == REDIAL_LOG_ENDPOINT_ADDED) {
				cr_assert(r->flags & RD_LOG_F_REPLAY, "names are repeated, not re-added");
				have_a |= r->id == LT_A;
				have_b |= r->id == LT_B;
				continue;
			}
			if (r->type != REDIAL_LOG_CONNECT_FAILED)
				continue;
			/* a connect_failed names an endpoint this file already introduced */
			cr_assert(r->id == LT_A ? have_a : have_b, "%s: no name for %lx", names[k],
				  (unsigned long)r->id);
			if (prev >= 0)
				cr_assert_eq((int64_t)r->ev.attempt, prev + 1, "gap across rotation");
			prev = r->ev.attempt;
		}
		lt_free(&lg);
	}
	cr_expect_eq(prev, n - 1, "the newest file ends with the last record");
	for (int k = 0; k < 4; k++)
		free(names[k]);
	free(path);
}

/* ---- Flush, stats, configuration -------------------------------------------------------------- */

Test(log_writer, flush_makes_every_earlier_record_durable_and_stats_add_up)
{
	char *path = tu_path(tu_dir, "flush.rlog");
	struct redial_log_config cfg;
	struct redial_log *l;
	redial_log_config_init(&cfg);
	cfg.path = path;
	cfg.fdatasync = true;
	cfg.flush_interval_ns = 10000000000ull; /* the drain would sleep 10 s: flush wakes it */
	cr_assert_eq(redial_log_open(&cfg, &l), 0);
	for (uint32_t i = 0; i < 1000; i++)
		rd_log_connected(l, i, 1, 1, 2, 3);
	uint64_t t0 = tu_now_ns();
	cr_assert_eq(redial_log_flush(l, 5000000000ull), 0);
	cr_expect_lt(tu_now_ns() - t0, 2000000000ull, "flush waited for the interval");
	struct redial_log_stats s = stats_of(l);
	cr_expect_eq(s.accepted, 1000);
	cr_expect_eq(s.written, 1000);
	cr_expect_eq(s.dropped, 0);
	cr_expect_eq(s.lost, 0);
	cr_expect_geq(s.batches, 1);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(s.bytes, (uint64_t)st.st_size);
	cr_expect_eq(redial_log_error(l), 0);

	/* a caller with an older, smaller stats struct gets only what it has room for */
	struct redial_log_stats small;
	memset(&small, 0xee, sizeof(small));
	small.size = offsetof(struct redial_log_stats, written);
	cr_assert_eq(redial_log_stats_get(l, &small), 0);
	cr_expect_eq(small.accepted, 1000);
	cr_expect_eq(small.dropped, 0);
	cr_expect_eq(small.written, 0xeeeeeeeeeeeeeeeeull);
	cr_assert_eq(redial_log_close(l), 0);
	cr_assert_eq(redial_log_close(NULL), 0);
	free(path);
}

Test(log_writer, bad_configurations_are_refused_with_einval_and_ret_untouched)
{
	char *path = tu_path(tu_dir, "cfg.rlog");
	struct redial_log *l = (struct redial_log *)0x1;
	struct redial_log_config cfg;
	uint32_t bad_rings[] = { 0, 1000, 3000, 4095, 6144, 1u << 31 };
	for (size_t i = 0; i < sizeof(bad_rings) / sizeof(bad_rings[0]); i++) {
		redial_log_config_init(&cfg);
		cfg.path = path;
		cfg.ring_bytes = bad_rings[i];
		cr_expect_eq(redial_log_open(&cfg, &l), -EINVAL, "ring_bytes %u", bad_rings[i]);
	}
	redial_log_config_init(&cfg);
	cfg.path = path;
	cfg.flush_interval_ns = 0;
	cr_expect_eq(redial_log_open(&cfg, &l), -EINVAL);
	redial_log_config_init(&cfg);
	cfg.path = path;
	cfg.min_level = (enum redial_log_level)9;
	cr_expect_eq(redial_log_open(&cfg, &l), -EINVAL);
	redial_log_config_init(&cfg);
	cr_expect_eq(redial_log_open(&cfg, &l), -EINVAL, "no path");
	cfg.path = "";
	cr_expect_eq(redial_log_open(&cfg, &l), -EINVAL, "empty path");
	cfg.path = path;
	cfg.size = 4;
	cr_expect_eq(redial_log_open(&cfg, &l), -EINVAL, "size does not cover path");
	cr_expect_eq(redial_log_open(NULL, &l), -EINVAL);
	cr_expect_eq(l, (struct redial_log *)0x1);

	/* an older caller's struct that ends after path gets defaults for the rest */
	redial_log_config_init(&cfg);
	cfg.path = path;
	cfg.ring_bytes = 12345; /* beyond size: not read */
	cfg.size = offsetof(struct redial_log_config, ring_bytes);
	cr_assert_eq(redial_log_open(&cfg, &l), 0);
	cr_assert_eq(redial_log_close(l), 0);
	free(path);
}

Test(log_writer, every_failed_allocation_in_open_is_a_clean_enomem)
{
	char *path = tu_path(tu_dir, "oom.rlog");
	struct redial_log_config cfg;
	redial_log_config_init(&cfg);
	cfg.path = path;
	int ok = 0;
	for (long n = 1; n < 50 && !ok; n++) {
		struct redial_log *l = (struct redial_log *)0x1;
		rd__alloc_fail_after(n);
		int ret = redial_log_open(&cfg, &l);
		rd__alloc_fail_after(0);
		if (ret == 0) {
			/* the opener's ring may have failed: its first record retries */
			rd_log_cancelled(l, 1, 1);
			cr_assert_eq(redial_log_close(l), 0);
			ok = 1;
		} else {
			cr_assert_eq(ret, -ENOMEM, "allocation %ld: %d", n, ret);
			cr_assert_eq(l, (struct redial_log *)0x1);
		}
	}
	cr_assert(ok);
	free(path);
}

Test(log_writer, records_with_no_ring_to_go_to_are_counted_as_dropped)
{
	char *path = tu_path(tu_dir, "noring.rlog");
	struct redial_log *l = lt_open(path, 4096, REDIAL_LOG_DEBUG);
	cr_assert_not_null(l);
	struct producer p = { .l = l, .tid = 3, .n = 10 };
	pthread_t th;
	rd__alloc_fail_after(1); /* the new thread cannot get a ring */
	cr_assert_eq(pthread_create(&th, NULL, produce, &p), 0);
	pthread_join(th, NULL);
	rd__alloc_fail_after(0);
	cr_expect_eq(p.refused, 10);
	struct redial_log_stats s = stats_of(l);
	cr_expect_eq(s.dropped, 10 + 1, "ten app records and one alert");
	cr_assert_eq(redial_log_close(l), 0);
	struct lt_log lg;
	cr_assert_eq(lt_read_path(path, &lg), 0);
	cr_assert_eq(lg.n, 1);
	cr_expect_eq(lg.recs[0].type, REDIAL_LOG_DROPPED);
	cr_expect_eq(lg.recs[0].ev.count, 11);
	lt_free(&lg);
	free(path);
}

Test(log_writer, more_producer_threads_than_one_merge_group_are_all_drained)
{
	char *path = tu_path(tu_dir, "many.rlog");
	struct redial_log *l = lt_open(path, 1u << 14, REDIAL_LOG_DEBUG);
	cr_assert_not_null(l);
	enum { NT = 20 }; /* 21 rings with the opener's: more than MERGE_MAX (16) */
	struct producer ps[NT];
	pthread_t th[NT];
	pthread_barrier_t all_in;
	pthread_barrier_init(&all_in, NULL, NT);
	for (int t = 0; t < NT; t++) {
		ps[t] = (struct producer){ .l = l, .all_in = &all_in, .tid = (uint32_t)t + 1,
					   .n = 3000 };
		cr_assert_eq(pthread_create(&th[t], NULL, produce, &ps[t]), 0);
	}
	for (int t = 0; t < NT; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&all_in);
	cr_expect_eq(rd_log__ring_count(l), NT + 1);
	struct redial_log_stats s = stats_of(l);
	cr_assert_eq(redial_log_close(l), 0);
	check_producers(path, ps, NT, s.dropped);
	free(path);
}
