/* embed_util.c — see embed.h. */
#include "embed.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define EM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EM_ASAN 1
#endif
#endif
#ifdef EM_ASAN
#include <sanitizer/lsan_interface.h>
#endif

bool em_leak_check(void)
{
#ifdef EM_ASAN
	return __lsan_do_recoverable_leak_check() == 0;
#else
	return true;
#endif
}

void em_rec_init(struct em_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	pthread_mutex_init(&rec->mu, NULL);
}

void em_rec_free(struct em_rec *rec)
{
	free(rec->ev);
	rec->ev = NULL;
	rec->n = rec->cap = 0;
	pthread_mutex_destroy(&rec->mu);
}

void em_record(redial_t *r, const struct redial_event *ev, void *user)
{
	struct em_rec *rec = user;
	pthread_mutex_lock(&rec->mu);
	if (rec->n == rec->cap) {
		size_t cap = rec->cap ? rec->cap * 2 : 256;
		struct em_event *p = realloc(rec->ev, cap * sizeof(*p));
		if (!p) {
			pthread_mutex_unlock(&rec->mu);
			cr_assert_fail("out of memory recording events");
		}
		rec->ev = p;
		rec->cap = cap;
	}
	struct em_event *t = &rec->ev[rec->n++];
	memset(t, 0, sizeof(*t));
	t->type = ev->type;
	t->id = ev->id;
	t->user = ev->user;
	t->fd = ev->fd;
	t->err = ev->err;
	t->cls = ev->cls;
	t->attempt = ev->attempt;
	t->duration_ns = ev->duration_ns;
	t->backoff_ns = ev->backoff_ns;
	t->down_ns = ev->down_ns;
	t->up_ns = ev->up_ns;
	t->mono_ns = ev->mono_ns;
	t->reason = ev->reason;
	t->thread = pthread_self();
	pthread_mutex_unlock(&rec->mu);
	if (rec->hook)
		rec->hook(r, ev, rec->hook_arg);
}

size_t em_count(struct em_rec *rec, enum redial_event_type type, redial_id_t id)
{
	size_t c = 0;
	pthread_mutex_lock(&rec->mu);
	for (size_t i = 0; i < rec->n; i++)
		if ((!type || rec->ev[i].type == type) && (!id || rec->ev[i].id == id))
			c++;
	pthread_mutex_unlock(&rec->mu);
	return c;
}

bool em_nth(struct em_rec *rec, enum redial_event_type type, redial_id_t id, size_t k,
	    struct em_event *ret)
{
	bool found = false;
	pthread_mutex_lock(&rec->mu);
	for (size_t i = 0; i < rec->n; i++) {
		if ((!type || rec->ev[i].type == type) && (!id || rec->ev[i].id == id)) {
			if (k-- == 0) {
				*ret = rec->ev[i];
				found = true;
				break;
			}
		}
	}
	pthread_mutex_unlock(&rec->mu);
	return found;
}

int em_try_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

int em_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	cr_assert_not_null(d, "opendir /proc/self/fd: %s", strerror(errno));
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

void em_config(struct redial_config *cfg, struct em_rec *rec, struct redial_endpoint_opts *defs)
{
	redial_config_init(cfg);
	cfg->on_event = em_record;
	cfg->event_user = rec;
	cfg->seed = 42;
	cfg->max_endpoints = 8192;
	redial_endpoint_opts_init(defs);
	defs->backoff_jitter = REDIAL_JITTER_NONE;
	defs->backoff_initial_ns = REDIAL_MSEC(20);
	defs->backoff_max_ns = REDIAL_MSEC(200);
	defs->connect_timeout_ns = REDIAL_SEC(2);
	cfg->endpoint_defaults = defs;
}

redial_t *em_create(const struct redial_config *cfg)
{
	redial_t *r = NULL;
	int ret = redial_create(cfg, &r);
	cr_assert_eq(ret, 0, "redial_create: %s: %s", strerror(-ret), redial_strerror_create());
	cr_assert_not_null(r);
	return r;
}

redial_id_t em_add(redial_t *r, const char *s, const struct redial_endpoint_opts *o)
{
	redial_id_t id = 0;
	char err[256] = "";
	int ret = redial_endpoint_add(r, s, o, &id, err, sizeof(err));
	cr_assert_eq(ret, 0, "redial_endpoint_add %s: %s (%s)", s, strerror(-ret), err);
	cr_assert_neq(id, 0, "redial_endpoint_add %s gave id 0", s);
	return id;
}

struct redial_stats em_stats(redial_t *r)
{
	struct redial_stats s;
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	int ret = redial_stats_get(r, &s);
	cr_assert_eq(ret, 0, "redial_stats_get: %s", strerror(-ret));
	return s;
}

struct redial_endpoint_stats em_ep_stats(redial_t *r, redial_id_t id)
{
	struct redial_endpoint_stats s;
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	int ret = redial_endpoint_stats_get(r, id, &s);
	cr_assert_eq(ret, 0, "redial_endpoint_stats_get(%#llx): %s", (unsigned long long)id,
		     strerror(-ret));
	return s;
}

void em_finish(redial_t *r, const redial_id_t *ids, size_t n, int fds_before)
{
	int ret = redial_shutdown(r, REDIAL_SEC(20));
	cr_assert_eq(ret, 0, "redial_shutdown: %s", strerror(-ret));
	struct redial_stats s = em_stats(r);
	cr_expect_eq(s.inflight_ops, 0, "after shutdown: %llu operations still in flight",
		     (unsigned long long)s.inflight_ops);
	cr_expect_eq(s.attempts_inflight, 0, "after shutdown: %u attempts still hold a slot",
		     s.attempts_inflight);
	cr_expect_eq(s.fds_open, 0, "after shutdown: the manager still owns %u fds", s.fds_open);
	cr_expect_eq(s.stale_cqes, 0, "%llu CQEs matched nothing",
		     (unsigned long long)s.stale_cqes);
	cr_expect_eq(s.lost_cqes, 0, "%llu lost CQEs", (unsigned long long)s.lost_cqes);
	cr_expect_eq(s.events_lost, 0, "%llu events lost", (unsigned long long)s.events_lost);
	size_t bad = 0;
	int first_err = 0;
	for (size_t i = 0; i < n; i++) {
		if (!ids[i])
			continue;
		ret = redial_endpoint_remove(r, ids[i]);
		if (ret < 0 && ret != -ENOENT) {
			if (!bad++)
				first_err = ret;
		}
	}
	cr_expect_eq(bad, 0, "%zu endpoints could not be removed (first: %s)", bad,
		     strerror(-first_err));
	s = em_stats(r);
	cr_expect_eq(s.endpoints, 0, "after removing every endpoint, %u are still live",
		     s.endpoints);
	redial_destroy(r);
	cr_expect(em_leak_check(), "LeakSanitizer found leaks after redial_destroy (see above)");
	int now = em_count_fds();
	cr_expect_eq(now, fds_before, "after destroy the process has %d fds, it had %d before",
		     now, fds_before);
}

int em_listen(uint16_t *ret_port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0, "bind: %s", strerror(errno));
	cr_assert_eq(listen(fd, 128), 0, "listen: %s", strerror(errno));
	socklen_t len = sizeof(a);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*ret_port = ntohs(a.sin_port);
	return fd;
}

int em_accept(int lfd, int timeout_ms)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int n;
	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	cr_assert_eq(n, 1, "no connection to accept within %d ms", timeout_ms);
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(fd, 0, "accept: %s", strerror(errno));
	return fd;
}

bool em_wait_eof(int fd, int timeout_ms, char *buf, size_t cap, size_t *ret_n)
{
	size_t got = 0;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct timespec t1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long el = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (el >= timeout_ms)
			break;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, (int)(timeout_ms - el));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		char tmp[512];
		ssize_t k = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
		if (k == 0) {
			if (ret_n)
				*ret_n = got;
			return true;
		}
		if (k < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			if (ret_n)
				*ret_n = got;
			return errno == ECONNRESET; /* a reset is a close too */
		}
		for (ssize_t i = 0; i < k; i++)
			if (buf && got < cap)
				buf[got++] = tmp[i];
	}
	if (ret_n)
		*ret_n = got;
	return false;
}

void em_loop_open(struct em_loop *l, redial_t *r)
{
	memset(l, 0, sizeof(*l));
	l->r = r;
	l->rfd = redial_fd(r);
	cr_assert_geq(l->rfd, 0, "redial_fd: %s", strerror(-l->rfd));
	cr_assert_eq(redial_fd(r), l->rfd, "redial_fd returns another fd the second time");
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	cr_assert_geq(l->ep, 0, "epoll_create1: %s", strerror(errno));
	struct epoll_event e = { .events = EPOLLIN, .data.fd = l->rfd };
	cr_assert_eq(epoll_ctl(l->ep, EPOLL_CTL_ADD, l->rfd, &e), 0, "epoll_ctl ADD redial_fd: %s",
		     strerror(errno));
}

void em_loop_close(struct em_loop *l)
{
	if (l->ep >= 0)
		close(l->ep);
	l->ep = -1;
}

bool em_loop_readable(struct em_loop *l, int timeout_ms)
{
	struct epoll_event evs[8];
	int n;
	do
		n = epoll_wait(l->ep, evs, 8, timeout_ms);
	while (n < 0 && errno == EINTR);
	cr_assert_geq(n, 0, "epoll_wait: %s", strerror(errno));
	for (int i = 0; i < n; i++)
		if (evs[i].data.fd == l->rfd)
			return true;
	return false;
}

bool em_loop_step(struct em_loop *l, int max_ms)
{
	struct epoll_event evs[8];
	int n;
	do
		n = epoll_wait(l->ep, evs, 8, max_ms);
	while (n < 0 && errno == EINTR);
	cr_assert_geq(n, 0, "epoll_wait: %s", strerror(errno));
	bool readable = false;
	for (int i = 0; i < n; i++)
		if (evs[i].data.fd == l->rfd)
			readable = true;
	if (!readable)
		return false;
	l->wakeups++;
	int ret = redial_poll(l->r);
	l->polls++;
	cr_assert_geq(ret, 0, "redial_poll: %s", strerror(-ret));
	return true;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool em_loop_until(struct em_loop *l, bool (*pred)(void *arg), void *arg, uint64_t timeout_ns)
{
	uint64_t end = now_ns() + timeout_ns;
	for (;;) {
		if (pred(arg))
			return true;
		uint64_t now = now_ns();
		if (now >= end)
			return false;
		uint64_t left_ms = (end - now) / 1000000 + 1;
		em_loop_step(l, left_ms > 100 ? 100 : (int)left_ms);
	}
}

void em_loop_settle(struct em_loop *l, int quiet_ms)
{
	for (int i = 0; i < 500; i++) {
		if (!em_loop_readable(l, quiet_ms))
			return;
		int ret = redial_poll(l->r);
		l->polls++;
		cr_assert_geq(ret, 0, "redial_poll: %s", strerror(-ret));
	}
	cr_assert_fail("redial_fd stays readable through 500 polls of an idle manager");
}

bool em_run_until(redial_t *r, bool (*pred)(void *arg), void *arg, uint64_t timeout_ns)
{
	uint64_t end = now_ns() + timeout_ns;
	for (;;) {
		if (pred(arg))
			return true;
		if (now_ns() >= end)
			return false;
		int ret = redial_run(r, REDIAL_MSEC(10));
		cr_assert_geq(ret, 0, "redial_run: %s", strerror(-ret));
	}
}

void em_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void em_addr(char *buf, size_t len, unsigned second_octet, unsigned i, uint16_t port)
{
	snprintf(buf, len, "127.%u.%u.%u:%u", second_octet, (i / 250) % 256, 1 + i % 250, port);
}
