/* tsan_log_mp.c — several producer threads against one log while other threads flush and read
 * stats, with threads exiting and new ones taking over their rings. A plain program (no
 * Criterion: its forking workers make ThreadSanitizer noisy), so `make test-tsan` can run it
 * under TSan; it is also an ordinary test in every other build. Exits non-zero on failure. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "logread.h"
#include "scratch.h"

#define NP 3         /* producers at once */
#define ROUNDS 2     /* producer generations: the second reuses the first's rings */
#define PER 40000    /* records per producer */

static int failures;

#define CHECK(cond, ...)                                                   \
	do {                                                                   \
		if (!(cond)) {                                                     \
			fprintf(stderr, "tsan_log_mp:%d: check failed: %s: ", __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                  \
			fprintf(stderr, "\n");                                         \
			failures++;                                                    \
		}                                                                  \
	} while (0)

struct producer {
	struct redial_log *l;
	pthread_barrier_t *all_in; /* NULL, or: wait here after the first record */
	uint32_t tid;
	uint32_t sent, refused;
};

static atomic_int stop_side;

static void *produce(void *arg)
{
	struct producer *p = arg;
	uint8_t payload[16];
	for (uint32_t i = 0; i < PER; i++) {
		rd_put32(payload, p->tid);
		rd_put32(payload + 4, i);
		rd_put64(payload + 8, (uint64_t)p->tid * 1000003u + i);
		if (i % 8 == 0) {
			/* the engine's entry points: no return value, drops only counted */
			rd_log_connect_failed(p->l, tu_now_ns(), p->tid, i, ECONNREFUSED,
					      REDIAL_CLASS_TRANSIENT, 1, 2, NULL);
			continue;
		}
		if (redial_log_app(p->l, 0x8800, REDIAL_LOG_INFO, p->tid, payload, 16) == 0)
			p->sent++;
		else
			p->refused++;
		if (i == 1)
			pthread_barrier_wait(p->all_in); /* every producer holds a ring at once */
	}
	return NULL;
}

/* Flushes and reads stats while the producers run. */
static void *side(void *arg)
{
	struct redial_log *l = arg;
	uint64_t last_written = 0;
	while (!atomic_load(&stop_side)) {
		struct redial_log_stats s = { .size = sizeof(s) };
		CHECK(redial_log_stats_get(l, &s) == 0, "stats");
		CHECK(s.written >= last_written, "written went back");
		last_written = s.written;
		CHECK(redial_log_flush(l, 10000000000ull) == 0, "flush");
	}
	return NULL;
}

int main(void)
{
	char *dir = tu_tmpdir("redial-logtest");
	char *path = tu_path(dir, "mp.rlog");
	struct redial_log_config cfg;
	struct redial_log *l;
	redial_log_config_init(&cfg);
	cfg.path = path;
	cfg.ring_bytes = 1u << 15; /* small: drops and the half-full wake both happen */
	cfg.flush_interval_ns = 2000000;
	cfg.min_level = REDIAL_LOG_DEBUG;
	if (redial_log_open(&cfg, &l) < 0) {
		fprintf(stderr, "tsan_log_mp: open failed\n");
		return 1;
	}

	pthread_t sider;
	pthread_create(&sider, NULL, side, l);
	struct producer ps[ROUNDS][NP];
	pthread_barrier_t all_in;
	pthread_barrier_init(&all_in, NULL, NP);
	for (int round = 0; round < ROUNDS; round++) {
		pthread_t th[NP];
		for (int t = 0; t < NP; t++) {
			ps[round][t] = (struct producer){ .l = l, .all_in = &all_in,
							  .tid = (uint32_t)(round * NP + t + 1) };
			pthread_create(&th[t], NULL, produce, &ps[round][t]);
		}
		for (int t = 0; t < NP; t++)
			pthread_join(th[t], NULL);
	}
	pthread_barrier_destroy(&all_in);
	atomic_store(&stop_side, 1);
	pthread_join(sider, NULL);
	unsigned rings = rd_log__ring_count(l);
	CHECK(rings == NP + 1, "rings: %u, want %d (exited threads' rings are reused)", rings,
	      NP + 1);
	struct redial_log_stats s = { .size = sizeof(s) };
	redial_log_stats_get(l, &s);
	CHECK(redial_log_close(l) == 0, "close");

	struct lt_log lg;
	CHECK(lt_read_path(path, &lg) == 0, "read");
	CHECK(lg.corrupt + lg.torn == 0, "corrupt %zu torn %zu", lg.corrupt, lg.torn);
	uint32_t next[ROUNDS * NP + 1] = { 0 }, got[ROUNDS * NP + 1] = { 0 };
	uint64_t dropped = 0, failed = 0;
	for (size_t i = 0; i < lg.n; i++) {
		struct lt_rec *r = &lg.recs[i];
		if (r->type == REDIAL_LOG_DROPPED) {
			dropped += r->ev.count;
			continue;
		}
		if (r->type == REDIAL_LOG_CONNECT_FAILED) {
			failed++;
			continue;
		}
		uint32_t tid = rd_get32(r->body), seq = rd_get32(r->body + 4);
		if (r->type != 0x8800 || tid == 0 || tid > ROUNDS * NP) {
			CHECK(0, "stray record type %u tid %u", r->type, tid);
			continue;
		}
		CHECK(rd_get64(r->body + 8) == (uint64_t)tid * 1000003u + seq, "payload");
		CHECK(seq >= next[tid], "thread %u: %u after %u", tid, seq, next[tid]);
		next[tid] = seq + 1;
		got[tid]++;
	}
	uint64_t refused = 0;
	for (int round = 0; round < ROUNDS; round++)
		for (int t = 0; t < NP; t++) {
			struct producer *p = &ps[round][t];
			CHECK(got[p->tid] == p->sent, "thread %u: %u in file, %u sent", p->tid,
			      got[p->tid], p->sent);
			refused += p->refused;
		}
	CHECK(dropped == s.dropped, "dropped in file %" PRIu64 ", stats %" PRIu64, dropped,
	      s.dropped);
	CHECK(dropped >= refused, "refused %" PRIu64 " > dropped %" PRIu64, refused, dropped);
	CHECK(failed + dropped - refused == (uint64_t)ROUNDS * NP * (PER / 8),
	      "connect_failed records: %" PRIu64, failed);
	printf("tsan_log_mp: %zu records, %" PRIu64 " dropped, %u rings: %s\n", lg.n, dropped,
	       rings, failures ? "FAILED" : "ok");
	lt_free(&lg);
	free(path);
	tu_rmrf(dir);
	return failures ? 1 : 0;
}
