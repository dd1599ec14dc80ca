/* contender_blocking.c — plain blocking socket(), connect() and close(), one endpoint at a time,
 * visiting the endpoints in turn. The connect deadline is SO_SNDTIMEO (a blocking connect
 * that runs out of it fails with EINPROGRESS, reported as ETIMEDOUT); the backoff is
 * redial's policy, slept off with clock_nanosleep when an endpoint's turn comes early.
 *
 * churn: connect, block in read() until the server's FIN, close. hold: connect every
 * endpoint in turn, then watch them all with ppoll(), the blocking way to wait on many
 * descriptors. There is no scale run: a table of endpoints in long backoff needs a timer
 * store, which a blocking program does not have. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "contender_common.h"

#define IMPL "blocking"

struct ep {
	struct sockaddr_in addr;
	uint64_t due;
	uint64_t prev_delay;
	uint32_t level;
};

static struct bc_opts opts;
static struct bc_window win;
static struct redial_rng rng;
static uint64_t throttle_delay;

/* A blocking connect bounded by the connect deadline. Returns the fd, or -errno. */
static int connect_one(const struct sockaddr_in *sa)
{
	int fd = BC_SYS(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	if (fd < 0)
		return -errno;
	struct timeval tv = { .tv_sec = (time_t)(opts.timeout_ns / 1000000000u),
			      .tv_usec = (suseconds_t)(opts.timeout_ns % 1000000000u / 1000) };
	BC_SYS(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
	if (BC_SYS(connect(fd, (const struct sockaddr *)sa, sizeof(*sa))) == 0)
		return fd;
	int err = errno == EINPROGRESS ? ETIMEDOUT : errno;
	BC_SYS(close(fd));
	return -err;
}

static void windowed(void)
{
	long rss0 = bc_rss();
	uint32_t n = opts.endpoints;
	struct ep *eps = calloc(n, sizeof(*eps));
	if (!eps)
		bc_die("calloc", ENOMEM);
	for (uint32_t i = 0; i < n; i++)
		bc_addr(i, opts.port, &eps[i].addr);
	bc_window_init(&win, &opts);
	for (uint32_t i = 0;; i = (i + 1) % n) {
		struct ep *e = &eps[i];
		uint64_t now = bc_now();
		uint64_t next = bc_window_tick(&win, now);
		if (!next)
			break;
		if (e->due > now) {
			bc_sites++; /* clock_nanosleep */
			bc_sleep_until(e->due < next ? e->due : next);
			if (bc_now() < e->due)
				continue; /* woke for the window, not for this endpoint */
		}
		uint64_t start = bc_now();
		int fd = connect_one(&e->addr);
		now = bc_now();
		uint64_t delay;
		if (fd >= 0) {
			bc_window_attempt(&win, 0, start, now);
			throttle_delay = 0;
			/* Wait for the server to close first, then close our side. */
			struct timeval tv = { .tv_sec = 2 };
			BC_SYS(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
			char buf[64];
			while (BC_SYS(read(fd, buf, sizeof(buf))) > 0)
				;
			BC_SYS(close(fd));
			uint64_t down = bc_now();
			if (down - now >= opts.stable_after_ns) {
				e->level = 0;
				e->prev_delay = 0;
			}
			e->level++;
			delay = redial_backoff_delay(&opts.backoff, e->level, e->prev_delay, &rng);
			now = down;
		} else if (redial_classify(-fd) == REDIAL_CLASS_LOCAL) {
			bc_window_local_error(&win);
			throttle_delay = throttle_delay ? throttle_delay * 2 : BC_THROTTLE_MIN_NS;
			if (throttle_delay > BC_THROTTLE_MAX_NS)
				throttle_delay = BC_THROTTLE_MAX_NS;
			bc_sleep_until(now + throttle_delay);
			continue;
		} else {
			bc_window_attempt(&win, -fd, start, now);
			e->level++;
			delay = redial_backoff_delay(&opts.backoff, e->level, e->prev_delay, &rng);
		}
		e->prev_delay = delay;
		e->due = delay < BC_MIN_WAIT_NS ? 0 : now + delay;
	}
	bc_window_report(&win, IMPL, bc_rss() - rss0);
	free(eps);
}

static void held(void)
{
	struct bc_hold hold;
	bc_hold_init(&hold, &opts);
	uint32_t n = opts.endpoints;
	struct pollfd *p = calloc(n, sizeof(*p));
	if (!p)
		bc_die("calloc", ENOMEM);
	for (uint32_t i = 0; i < n; i++) {
		struct sockaddr_in sa;
		bc_addr(i, opts.port, &sa);
		int fd = connect_one(&sa);
		p[i].fd = fd >= 0 ? fd : -1;
		p[i].events = POLLRDHUP;
		if (fd >= 0)
			bc_hold_connected(&hold, bc_now());
	}
	uint64_t next;
	while ((next = bc_hold_tick(&hold, bc_now()))) {
		uint64_t now = bc_now();
		uint64_t wait = next > now ? next - now : 0;
		struct timespec ts = { .tv_sec = (time_t)(wait / 1000000000u),
				       .tv_nsec = (long)(wait % 1000000000u) };
		int ready = BC_SYS(ppoll(p, n, &ts, NULL));
		if (ready < 0 && errno != EINTR)
			bc_die("ppoll", errno);
		now = bc_now();
		for (uint32_t i = 0; i < n && ready > 0; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			ready--;
			BC_SYS(close(p[i].fd));
			p[i].fd = -1;
			bc_hold_dropped(&hold, now);
		}
	}
	bc_hold_report(&hold, IMPL);
	free(p);
}

int main(int argc, char **argv)
{
	bc_parse(argc, argv, IMPL, &opts);
	bc_sites_on = true; /* every system call goes through BC_SYS */
	redial_rng_seed(&rng, opts.seed);
	switch (opts.scenario) {
	case BC_SCALE:
		fprintf(stderr, "bench-blocking: no scale scenario (see the comment at the top)\n");
		return 3;
	case BC_HOLD:
		held();
		break;
	default:
		windowed();
		break;
	}
	return 0;
}
