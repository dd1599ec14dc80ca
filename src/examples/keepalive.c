/* keepalive.c — the README example: keep a few hundred loopback endpoints alive.
 *
 * It makes its own targets (a listener on 127.0.0.1 and a port that refuses), adds 300
 * endpoints spread over 127.0.0.x, prints their states twice a second for a few seconds,
 * then shuts down. Usage: keepalive [SECONDS] */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "redial.h"

static unsigned connected_events, failed_events, alerts;

static void on_event(redial_t *r, const struct redial_event *ev, void *user)
{
	(void)r;
	(void)user;
	switch (ev->type) {
	case REDIAL_EV_CONNECTED:
		connected_events++; /* ev->fd is ours to use (not to close) while connected */
		break;
	case REDIAL_EV_ATTEMPT_FAILED:
		failed_events++;
		break;
	case REDIAL_EV_ALERT:
		alerts++;
		break;
	default:
		break;
	}
}

/* A socket on 127.0.0.1 at a port the kernel picks; listening or not. */
static int target(int listening, uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (listening && listen(fd, 4096) < 0) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		perror("target socket");
		exit(1);
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 4.0;
	uint16_t up_port, refused_port;
	int up = target(1, &up_port), refused = target(0, &refused_port);

	struct redial_config cfg;
	redial_config_init(&cfg);
	cfg.on_event = on_event;
	struct redial_endpoint_opts defaults;
	redial_endpoint_opts_init(&defaults);
	defaults.backoff_initial_ns = REDIAL_MSEC(100);
	defaults.backoff_max_ns = REDIAL_SEC(1);
	cfg.endpoint_defaults = &defaults;
	redial_t *r;
	int ret = redial_create(&cfg, &r);
	if (ret < 0) {
		fprintf(stderr, "redial_create: %s: %s\n", strerror(-ret), redial_strerror_create());
		return 1;
	}
	for (int i = 0; i < 300; i++) {
		char ep[64], err[128];
		redial_id_t id;
		/* One in six goes to the port that refuses. */
		snprintf(ep, sizeof(ep), "127.0.0.%d:%u", 1 + i % 250, i % 6 ? up_port : refused_port);
		if ((ret = redial_endpoint_add(r, ep, NULL, &id, err, sizeof(err))) < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
	}

	printf("%8s %10s %10s %10s %8s %8s\n", "time", "connected", "connecting", "backoff",
	       "failed", "attempts");
	uint64_t start = redial_now_ns();
	while (redial_now_ns() - start < (uint64_t)(seconds * 1e9)) {
		if ((ret = redial_run(r, REDIAL_MSEC(500))) < 0) {
			fprintf(stderr, "redial_run: %s\n", strerror(-ret));
			return 1;
		}
		struct redial_stats s = { .size = sizeof(s) };
		redial_stats_get(r, &s);
		printf("%7.1fs %10u %10u %10u %8u %8lu\n", (redial_now_ns() - start) / 1e9,
		       s.by_state[REDIAL_STATE_CONNECTED], s.by_state[REDIAL_STATE_CONNECTING],
		       s.by_state[REDIAL_STATE_BACKOFF], s.by_state[REDIAL_STATE_FAILED],
		       (unsigned long)s.attempts);
	}
	printf("connected events %u, failed attempts %u, alerts %u\n", connected_events,
	       failed_events, alerts);
	ret = redial_shutdown(r, REDIAL_SEC(2));
	struct redial_stats s = { .size = sizeof(s) };
	redial_stats_get(r, &s);
	printf("shutdown: %s, %lu ops in flight, %u fds held\n", ret ? strerror(-ret) : "clean",
	       (unsigned long)s.inflight_ops, s.fds_open);
	redial_destroy(r);
	close(up);
	close(refused);
	return ret ? 1 : 0;
}
