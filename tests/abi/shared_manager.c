/* shared_manager.c — a program that knows only the installed headers and libredial.so:
 * it creates a manager, adds an endpoint on a loopback port that refuses (a bound socket
 * that never listens), runs until an ATTEMPT_FAILED with ECONNREFUSED, and destroys it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "redial.h"

static int refused, other_failures;

static void on_event(redial_t *r, const struct redial_event *ev, void *user)
{
	(void)user;
	if (ev->type != REDIAL_EV_ATTEMPT_FAILED)
		return;
	if (ev->err == ECONNREFUSED) {
		refused++;
		redial_stop(r);
	} else {
		other_failures++;
		printf("attempt failed with %s\n", redial_errno_name(ev->err));
	}
}

int main(void)
{
	/* A port nothing listens on: bound, so that nobody else takes it, never listening. */
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(s, (struct sockaddr *)&sa, &len) < 0) {
		perror("socket");
		return 1;
	}
	char ep[64];
	snprintf(ep, sizeof(ep), "127.0.0.1:%u", ntohs(sa.sin_port));

	struct redial_config cfg;
	redial_config_init(&cfg);
	cfg.max_endpoints = 16;
	cfg.on_event = on_event;
	redial_t *r = NULL;
	int rc = redial_create(&cfg, &r);
	if (rc < 0) {
		printf("redial_create: %s (%s)\n", strerror(-rc), redial_strerror_create());
		return 1;
	}
	char err[128] = "";
	redial_id_t id = 0;
	rc = redial_endpoint_add(r, ep, NULL, &id, err, sizeof(err));
	if (rc < 0) {
		printf("redial_endpoint_add %s: %s %s\n", ep, strerror(-rc), err);
		return 1;
	}
	uint64_t deadline = redial_now_ns() + REDIAL_SEC(20);
	while (!refused && redial_now_ns() < deadline) {
		rc = redial_run(r, REDIAL_MSEC(500));
		if (rc < 0) {
			printf("redial_run: %s\n", strerror(-rc));
			return 1;
		}
	}
	struct redial_endpoint_stats es = { .size = sizeof(es) };
	rc = redial_endpoint_stats_get(r, id, &es);
	redial_destroy(r);
	close(s);
	if (!refused) {
		printf("no ECONNREFUSED from %s in 20 s (%d other failures)\n", ep, other_failures);
		return 1;
	}
	if (rc < 0 || es.failures < 1 || es.last_error != ECONNREFUSED) {
		printf("endpoint stats: rc %d, failures %llu, last_error %d\n", rc,
		       (unsigned long long)es.failures, es.last_error);
		return 1;
	}
	printf("%s refused through libredial %s\n", ep, redial_version());
	return 0;
}
