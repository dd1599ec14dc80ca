/* per_core.c — thread per core: one manager per thread, all writing one event log.
 *
 * Each worker thread creates its own manager (so it owns it), adds its share of endpoints
 * and runs it. The main thread talks to the workers only through the three calls that are
 * safe from any thread: redial_post (here: add one more endpoint on every worker, on the
 * worker's own thread), redial_wake, and redial_stop. Ids carry each manager's serial, so
 * `redial-log LOG` attributes every record to the right endpoint.
 * Usage: per_core [THREADS [SECONDS [LOG]]] */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "redial.h"
#include "redial_log.h"

#define PER_THREAD 200

struct worker {
	pthread_t thread;
	unsigned index;
	uint16_t port;
	struct redial_log *log;
	_Atomic(redial_t *) r; /* published once the manager exists */
	unsigned connected;
	int status;
};

static void on_event(redial_t *r, const struct redial_event *ev, void *user)
{
	(void)r;
	struct worker *w = user;
	if (ev->type == REDIAL_EV_CONNECTED)
		w->connected++;
}

static void add_endpoint(redial_t *r, struct worker *w, unsigned k)
{
	char ep[64];
	/* A distinct loopback address per endpoint keeps source ports plentiful. */
	snprintf(ep, sizeof(ep), "127.%u.%u.%u:%u", 10 + w->index, 1 + k / 250, 1 + k % 250, w->port);
	redial_id_t id;
	char err[128];
	int ret = redial_endpoint_add(r, ep, NULL, &id, err, sizeof(err));
	if (ret < 0)
		fprintf(stderr, "worker %u: %s: %s\n", w->index, ep, err);
}

/* Runs on the worker's thread: posted from main. */
static void add_one_more(redial_t *r, void *arg)
{
	add_endpoint(r, arg, PER_THREAD);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct redial_config cfg;
	redial_config_init(&cfg);
	cfg.on_event = on_event;
	cfg.event_user = w;
	cfg.log = w->log;
	cfg.max_endpoints = 2 * PER_THREAD;
	redial_t *r;
	w->status = redial_create(&cfg, &r);
	if (w->status < 0) {
		fprintf(stderr, "worker %u: %s\n", w->index, redial_strerror_create());
		atomic_store(&w->r, (redial_t *)NULL);
		return NULL;
	}
	for (unsigned k = 0; k < PER_THREAD; k++)
		add_endpoint(r, w, k);
	atomic_store(&w->r, r);
	w->status = redial_run(r, UINT64_MAX); /* until main calls redial_stop */
	if (w->status >= 0)
		w->status = 0;
	redial_destroy(r); /* on its own thread: orderly, CANCELLED for each endpoint */
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned threads = argc > 1 ? (unsigned)atoi(argv[1]) : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	double seconds = argc > 2 ? atof(argv[2]) : 2.0;
	const char *path = argc > 3 ? argv[3] : "per_core.rlog";
	if (threads == 0 || threads > 64)
		threads = 2;

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY) };
	socklen_t len = sizeof(sa);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4096) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len) < 0) {
		perror("listener");
		return 1;
	}

	struct redial_log_config lc;
	redial_log_config_init(&lc);
	lc.path = path;
	struct redial_log *log;
	int ret = redial_log_open(&lc, &log);
	if (ret < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(-ret));
		return 1;
	}

	struct worker *w = calloc(threads, sizeof(*w));
	if (!w)
		return 1;
	for (unsigned i = 0; i < threads; i++) {
		w[i].index = i;
		w[i].port = ntohs(sa.sin_port);
		w[i].log = log;
		atomic_store(&w[i].r, (redial_t *)NULL);
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0) {
			perror("pthread_create");
			return 1;
		}
	}
	/* Wait for each manager to exist, then ask each worker for one more endpoint. */
	for (unsigned i = 0; i < threads; i++) {
		while (!atomic_load(&w[i].r) && w[i].status == 0)
			usleep(1000);
		redial_t *r = atomic_load(&w[i].r);
		if (r && (ret = redial_post(r, add_one_more, &w[i])) < 0)
			fprintf(stderr, "post: %s\n", strerror(-ret));
	}
	usleep((useconds_t)(seconds * 1e6));
	for (unsigned i = 0; i < threads; i++) {
		redial_t *r = atomic_load(&w[i].r);
		if (r)
			redial_stop(r);
	}
	int status = 0;
	for (unsigned i = 0; i < threads; i++) {
		pthread_join(w[i].thread, NULL);
		printf("manager %u: %u connects (%u endpoints)\n", i, w[i].connected, PER_THREAD + 1);
		if (w[i].status < 0)
			status = 1;
	}
	ret = redial_log_close(log);
	if (ret < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(-ret));
		status = 1;
	}
	printf("log: %s (decode with redial-log %s)\n", path, path);
	free(w);
	close(lfd);
	return status;
}
