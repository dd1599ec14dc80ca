/* test_farm.c - the loopback target farm, checked with plain sockets from the test process:
 * every target kind, the counters, drop_all, fd exhaustion, the spec syntax, and that the
 * child never outlives its parent nor leaves a descriptor behind.
 *
 * Timing assertions are one-sided or generous ("not before hold_ms", "within hold_ms + 2 s"),
 * because a loaded 2-core machine can be slow but the kernel is never early. */
#include "farm.h"
#include "fds.h"
#include "scratch.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- helpers ---- */

/* Signed, so that the tests can subtract. */
static int64_t now_ns(void)
{
	return (int64_t)tu_now_ns();
}

static int64_t ms_since(int64_t t0)
{
	return (now_ns() - t0) / 1000000;
}

static socklen_t make_addr(const char *ip, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		cr_assert_eq(inet_pton(AF_INET6, ip, &a->sin6_addr), 1);
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	cr_assert_eq(inet_pton(AF_INET, ip, &a->sin_addr), 1);
	return sizeof(*a);
}

/* Blocking connect: the fd, or -errno. */
static int connect_block(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(ip, port, &ss);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&ss, len) == 0)
		return fd;
	err = -errno;
	close(fd);
	return err;
}

/* Non-blocking connect: the fd, connected or in progress. */
static int connect_nb(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(ip, port, &ss);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&ss, len) < 0)
		cr_assert_eq(errno, EINPROGRESS, "connect %s:%u: %s", ip, port, strerror(errno));
	return fd;
}

static int so_error(int fd)
{
	int err = -1;
	socklen_t len = sizeof(err);

	cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	return err;
}

/* Waits up to ms for fd to become readable, then reads once: bytes read, 0 for EOF, -errno,
 * or -ETIME if nothing came. */
static int read_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;
	ssize_t r;

	if (poll(&p, 1, ms) == 0)
		return -ETIME;
	r = recv(fd, &c, 1, MSG_DONTWAIT);
	return r < 0 ? -errno : (int)r;
}

/* Waits until a counter of target i reaches want (the field at offset off), up to ms. Returns
 * the last value seen. */
static uint64_t wait_counter(const struct farm *f, size_t i, size_t off, uint64_t want, int ms)
{
	int64_t t0 = now_ns();
	uint64_t v;

	for (;;) {
		struct farm_counters c;

		cr_assert_eq(farm_counters(f, i, &c), 0);
		memcpy(&v, (const char *)&c + off, sizeof(v));
		if (v == want || ms_since(t0) > ms)
			return v;
		usleep(2000);
	}
}

#define WAIT_COUNTER(f, i, field, want, ms) \
	wait_counter((f), (i), offsetof(struct farm_counters, field), (want), (ms))

static struct farm_counters counters(const struct farm *f, size_t i)
{
	struct farm_counters c;

	cr_assert_eq(farm_counters(f, i, &c), 0);
	return c;
}

static bool have_ipv6_loopback(void)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Is pid gone or a zombie? (A zombie has exited; only its parent has not reaped it.) */
static bool pid_exited(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fp = fopen(path, "r");
	if (!fp)
		return true;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the state follows the command name, which may hold spaces */
	return !p || p[1] == '\0' || p[2] == 'Z' || p[2] == 'X';
}

static int fd_baseline;

static void suite_init(void)
{
	fd_baseline = tu_count_fds();
}

/* Every test ends here: after farm_stop, the test process has exactly the fds it began
 * with. */
static void assert_no_fd_leak(void)
{
	cr_assert_eq(tu_count_fds(), fd_baseline, "fd leak: %d open, %d at start", tu_count_fds(),
		     fd_baseline);
}

static void stop_and_check(struct farm *f)
{
	pid_t pid = farm_pid(f);

	cr_assert_eq(farm_stop(f), 0);
	if (pid > 0) {
		errno = 0;
		cr_assert_eq(waitpid(pid, NULL, WNOHANG), -1, "the farm's child is still ours");
		cr_assert_eq(errno, ECHILD);
	}
	assert_no_fd_leak();
}

TestSuite(farm, .init = suite_init, .timeout = 60);

/* ---- accept ---- */

Test(farm, accept_target_counts_connects_holds_them_and_notices_peer_closes)
{
	struct farm_target_spec spec = { .kind = FARM_ACCEPT };
	const char *ips[] = { "127.0.0.1", "127.0.0.2", "127.1.2.3", "127.255.255.254" };
	struct farm *f = NULL;
	int fds[40];

	cr_assert_eq(farm_start(&spec, 1, &f), 0);
	cr_assert_gt(farm_pid(f), 0);
	cr_assert_neq(farm_port(f, 0), 0);
	cr_assert_eq(farm_size(f), 1);
	cr_assert_eq(farm_target_kind(f, 0), FARM_ACCEPT);

	for (int i = 0; i < 40; i++) {
		fds[i] = connect_block(ips[i % 4], farm_port(f, 0));
		cr_assert_geq(fds[i], 0, "connect: %s", strerror(-fds[i]));
	}
	cr_assert_eq(WAIT_COUNTER(f, 0, accepted, 40, 10000), 40);
	cr_assert_eq(WAIT_COUNTER(f, 0, open, 40, 10000), 40);

	/* Held: nothing arrives on an accepted connection, and data we send is swallowed. */
	cr_assert_eq(write(fds[0], "hello", 5), 5);
	cr_assert_eq(read_within(fds[0], 200), -ETIME);

	for (int i = 0; i < 10; i++)
		close(fds[i]);
	cr_assert_eq(WAIT_COUNTER(f, 0, peer_closed, 10, 10000), 10);
	struct farm_counters c = counters(f, 0);

	cr_assert_eq(c.open, 30);
	cr_assert_eq(c.accepted, 40);
	cr_assert_eq(c.dropped, 0);

	/* drop_all closes the rest now, with FIN: each client reads EOF. */
	cr_assert_eq(farm_drop_all(f, 0), 30);
	c = counters(f, 0);
	cr_assert_eq(c.open, 0);
	cr_assert_eq(c.dropped, 30);
	for (int i = 10; i < 40; i++) {
		cr_assert_eq(read_within(fds[i], 2000), 0);
		close(fds[i]);
	}
	cr_assert_eq(farm_drop_all(f, 0), 0);
	stop_and_check(f);
}

Test(farm, accept_target_holds_three_thousand_connections_at_once)
{
	struct farm_target_spec spec = { .kind = FARM_ACCEPT };
	enum { N = 3000 };
	struct farm *f = NULL;
	static int fds[N];
	char ip[32];

	cr_assert_eq(farm_start(&spec, 1, &f), 0);
	for (int i = 0; i < N; i++) {
		snprintf(ip, sizeof(ip), "127.0.%d.%d", i / 200, 1 + i % 200);
		fds[i] = connect_nb(ip, farm_port(f, 0));
	}
	cr_assert_eq(WAIT_COUNTER(f, 0, open, N, 20000), N);
	for (int i = 0; i < N; i++) {
		struct pollfd p = { .fd = fds[i], .events = POLLOUT };

		cr_assert_eq(poll(&p, 1, 5000), 1);
		cr_assert_eq(so_error(fds[i]), 0);
	}
	cr_assert_eq(farm_drop_all(f, 0), N);
	for (int i = 0; i < N; i++)
		close(fds[i]);
	stop_and_check(f);
}

Test(farm, drop_all_with_rst_resets_every_client)
{
	struct farm_target_spec spec = { .kind = FARM_ACCEPT, .rst = true };
	struct farm *f = NULL;
	int fds[5];

	cr_assert_eq(farm_start(&spec, 1, &f), 0);
	for (int i = 0; i < 5; i++)
		cr_assert_geq(fds[i] = connect_block("127.0.0.1", farm_port(f, 0)), 0);
	cr_assert_eq(WAIT_COUNTER(f, 0, open, 5, 10000), 5);
	cr_assert_eq(farm_drop_all(f, 0), 5);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(read_within(fds[i], 2000), -ECONNRESET);
		close(fds[i]);
	}
	stop_and_check(f);
}

/* ---- refuse ---- */

Test(farm, refuse_target_gives_econnrefused_from_any_loopback_address_without_a_child)
{
	struct farm_target_spec spec = { .kind = FARM_REFUSE };
	const char *ips[] = { "127.0.0.1", "127.0.0.2", "127.45.6.7" };
	struct farm *f = NULL;

	cr_assert_eq(farm_start(&spec, 1, &f), 0);
	cr_assert_eq(farm_pid(f), 0, "refuse-only farms need no child");
	for (int i = 0; i < 3; i++)
		cr_assert_eq(connect_block(ips[i], farm_port(f, 0)), -ECONNREFUSED, "%s", ips[i]);
	cr_assert_eq(farm_drop_all(f, 0), 0);
	cr_assert_eq(counters(f, 0).accepted, 0);
	stop_and_check(f);
}

Test(farm, refuse_port_cannot_be_taken_by_someone_else)
{
	struct farm_target_spec spec = { .kind = FARM_REFUSE };
	struct sockaddr_storage ss;
	struct farm *f = NULL;
	int one = 1, fd;
	socklen_t len;

	cr_assert_eq(farm_start(&spec, 1, &f), 0);
	len = make_addr("127.0.0.1", farm_port(f, 0), &ss);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(fd, (struct sockaddr *)&ss, len), -1);
	cr_assert_eq(errno, EADDRINUSE);
	close(fd);
	stop_and_check(f);
}

/* ---- blackhole ---- */

Test(farm, blackhole_connect_stays_in_progress_for_a_second_from_several_addresses)
{
	struct farm_target_spec spec = { .kind = FARM_BLACKHOLE };
	const char *ips[] = { "127.0.0.1", "127.0.0.9", "127.200.1.1", "127.3.3.3" };
	struct pollfd p[4];
	struct farm *f = NULL;

	cr_assert_eq(farm_start(&spec, 1, &f), 0);
	for (int i = 0; i < 4; i++)
		p[i] = (struct pollfd){ .fd = connect_nb(ips[i], farm_port(f, 0)), .events = POLLOUT };
	cr_assert_eq(poll(p, 4, 1000), 0, "a blackholed connect completed");
	for (int i = 0; i < 4; i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);

		cr_assert_eq(so_error(p[i].fd), 0, "%s", ips[i]);
		cr_assert_eq(getpeername(p[i].fd, (struct sockaddr *)&peer, &len), -1);
		cr_assert_eq(errno, ENOTCONN, "%s still connecting", ips[i]);
		close(p[i].fd);
	}
	cr_assert_eq(counters(f, 0).accepted, 0);
	stop_and_check(f);
}

/* ---- drop after ---- */

Test(farm, drop_after_closes_with_fin_not_before_hold_ms_and_within_two_seconds_more)
{
	struct farm_target_spec spec = { .kind = FARM_DROP_AFTER, .hold_ms = 300 };
	struct farm *f = NULL;
	int64_t t0;
	int fd;

	cr_assert_eq(farm_start(&spec, 1, &f), 0);
	t0 = now_ns();
	fd = connect_block("127.0.0.7", farm_port(f, 0));
	cr_assert_geq(fd, 0);
	cr_assert_eq(read_within(fd, 300 + 2000), 0, "no FIN within hold_ms + 2 s");
	cr_assert_geq(now_ns() - t0, 300 * 1000000LL, "dropped %lld ms early",
		      (long long)(300 - ms_since(t0)));
	close(fd);
	cr_assert_eq(WAIT_COUNTER(f, 0, dropped, 1, 5000), 1);
	cr_assert_eq(counters(f, 0).open, 0);
	stop_and_check(f);
}

Test(farm, drop_after_with_rst_gives_econnreset_on_read)
{
	struct farm_target_spec spec = { .kind = FARM_DROP_AFTER, .hold_ms = 200, .rst = true };
	struct farm *f = NULL;
	int64_t t0;
	int fd;

	cr_assert_eq(farm_start(&spec, 1, &f), 0);
	t0 = now_ns();
	fd = connect_block("127.0.0.1", farm_port(f, 0));
	cr_assert_geq(fd, 0);
	cr_assert_eq(read_within(fd, 200 + 2000), -ECONNRESET);
	cr_assert_geq(now_ns() - t0, 200 * 1000000LL);
	close(fd);
	stop_and_check(f);
}

Test(farm, drop_after_drops_many_connections_in_accept_order_and_skips_peer_closed_ones)
{
	struct farm_target_spec spec = { .kind = FARM_DROP_AFTER, .hold_ms = 400 };
	struct farm *f = NULL;
	int fds[20];

	cr_assert_eq(farm_start(&spec, 1, &f), 0);
	for (int i = 0; i < 20; i++) {
		cr_assert_geq(fds[i] = connect_block("127.0.0.1", farm_port(f, 0)), 0);
		usleep(5000);
	}
	/* The first connection is the hold timer's head: closing it must not stall the rest. */
	close(fds[0]);
	close(fds[7]);
	for (int i = 1; i < 20; i++) {
		if (i == 7)
			continue;
		cr_assert_eq(read_within(fds[i], 400 + 3000), 0, "connection %d not dropped", i);
		close(fds[i]);
	}
	cr_assert_eq(WAIT_COUNTER(f, 0, dropped, 18, 5000), 18);
	struct farm_counters c = counters(f, 0);

	cr_assert_eq(c.accepted, 20);
	cr_assert_eq(c.peer_closed, 2);
	cr_assert_eq(c.open, 0);
	stop_and_check(f);
}

/* ---- accept and close ---- */

Test(farm, accept_close_closes_at_once_with_fin_or_rst)
{
	struct farm_target_spec specs[] = {
		{ .kind = FARM_ACCEPT_CLOSE },
		{ .kind = FARM_ACCEPT_CLOSE, .rst = true },
	};
	struct farm *f = NULL;

	cr_assert_eq(farm_start(specs, 2, &f), 0);
	for (int i = 0; i < 10; i++) {
		int a = connect_block("127.0.0.1", farm_port(f, 0));
		int b = connect_block("127.0.0.2", farm_port(f, 1));

		cr_assert_geq(a, 0);
		cr_assert_geq(b, 0);
		cr_assert_eq(read_within(a, 2000), 0);
		cr_assert_eq(read_within(b, 2000), -ECONNRESET);
		close(a);
		close(b);
	}
	for (size_t t = 0; t < 2; t++) {
		cr_assert_eq(WAIT_COUNTER(f, t, dropped, 10, 5000), 10);
		struct farm_counters c = counters(f, t);

		cr_assert_eq(c.accepted, 10);
		cr_assert_eq(c.open, 0);
	}
	stop_and_check(f);
}

/* ---- slow accept ---- */

Test(farm, slow_accept_never_exceeds_its_rate_and_some_connects_complete_late)
{
	struct farm_target_spec spec = { .kind = FARM_SLOW_ACCEPT, .accept_rate = 2, .backlog = 1 };
	enum { N = 5 };
	struct farm *f = NULL;
	struct pollfd p[N];
	int64_t started[N], took_ms[N], t_start;
	int pending = N, late = 0;

	t_start = now_ns();
	cr_assert_eq(farm_start(&spec, 1, &f), 0);
	for (int i = 0; i < N; i++) {
		started[i] = now_ns();
		p[i] = (struct pollfd){ .fd = connect_nb("127.0.0.1", farm_port(f, 0)),
					.events = POLLOUT };
		took_ms[i] = -1;
	}
	while (pending > 0) {
		struct farm_counters c = counters(f, 0);
		/* The rate timer ticks every 500 ms from the child's start: one accept a tick. */
		uint64_t allowed = (uint64_t)(ms_since(t_start) / 500) + 1;

		cr_assert_leq(c.accepted, allowed, "accepted %llu after %lld ms",
			      (unsigned long long)c.accepted, (long long)ms_since(t_start));
		cr_assert_lt(ms_since(t_start), 30000, "connects never completed");
		poll(p, N, 50);
		for (int i = 0; i < N; i++) {
			if (took_ms[i] >= 0 || !(p[i].revents & (POLLOUT | POLLERR | POLLHUP)))
				continue;
			cr_assert_eq(so_error(p[i].fd), 0);
			took_ms[i] = ms_since(started[i]);
			/* A handshake that completed while the queue was full may exist only on
			 * our side (see FARM_SLOW_ACCEPT in farm.h); data brings it to the farm. */
			cr_assert_eq(write(p[i].fd, "x", 1), 1);
			p[i].events = 0;
			pending--;
		}
	}
	/* The accept queue holds backlog + 1; the other SYNs were dropped and retransmitted,
	 * and the first retransmit comes after a full second. */
	for (int i = 0; i < N; i++)
		late += took_ms[i] >= 800;
	cr_assert_geq(late, 1, "no connect waited for a SYN retransmit");
	cr_assert_eq(WAIT_COUNTER(f, 0, accepted, N, 20000), N);
	cr_assert_eq(counters(f, 0).open, N);
	for (int i = 0; i < N; i++)
		close(p[i].fd);
	cr_assert_eq(WAIT_COUNTER(f, 0, open, 0, 5000), 0);
	stop_and_check(f);
}

Test(farm, slow_accept_with_hold_drops_accepted_connections)
{
	struct farm_target_spec spec = { .kind = FARM_SLOW_ACCEPT, .accept_rate = 50,
					 .hold_ms = 100 };
	struct farm *f = NULL;
	int fd;

	cr_assert_eq(farm_start(&spec, 1, &f), 0);
	fd = connect_block("127.0.0.1", farm_port(f, 0));
	cr_assert_geq(fd, 0);
	cr_assert_eq(read_within(fd, 100 + 2000 + 20), 0);
	close(fd);
	cr_assert_eq(WAIT_COUNTER(f, 0, dropped, 1, 5000), 1);
	stop_and_check(f);
}

/* ---- IPv6 ---- */

Test(farm, ipv6_targets_work_on_the_ipv6_loopback)
{
	struct farm_target_spec specs[] = {
		{ .kind = FARM_ACCEPT, .family = AF_INET6 },
		{ .kind = FARM_REFUSE, .family = AF_INET6 },
		{ .kind = FARM_BLACKHOLE, .family = AF_INET6 },
	};
	struct farm *f = NULL;
	struct pollfd p;
	int fd;

	if (!have_ipv6_loopback())
		cr_skip_test("no ::1 here");
	cr_assert_eq(farm_start(specs, 3, &f), 0);
	fd = connect_block("::1", farm_port(f, 0));
	cr_assert_geq(fd, 0, "%s", strerror(-fd));
	cr_assert_eq(WAIT_COUNTER(f, 0, open, 1, 5000), 1);
	close(fd);
	cr_assert_eq(connect_block("::1", farm_port(f, 1)), -ECONNREFUSED);
	p = (struct pollfd){ .fd = connect_nb("::1", farm_port(f, 2)), .events = POLLOUT };
	cr_assert_eq(poll(&p, 1, 1000), 0);
	close(p.fd);
	stop_and_check(f);
}

/* ---- descriptors and fd exhaustion ---- */

Test(farm, child_keeps_no_descriptor_of_the_caller)
{
	struct farm_target_spec spec = { .kind = FARM_ACCEPT };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	struct farm *f = NULL;
	int l, cl_low, cl_high, sv_low, sv_high;

	/* Our own server and two clients: one at a low fd, one far above the farm's fds. */
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(l, 8), 0);
	cr_assert_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
	cl_low = connect_block("127.0.0.1", ntohs(a.sin_port));
	cl_high = connect_block("127.0.0.1", ntohs(a.sin_port));
	cr_assert_geq(cl_low, 0);
	cr_assert_geq(cl_high, 0);
	cr_assert_eq(dup3(cl_high, 900, O_CLOEXEC), 900);
	close(cl_high);
	cl_high = 900;
	/* Without CLOEXEC: a fork does not care, but make the point. */
	fcntl(cl_high, F_SETFD, 0);
	sv_low = accept(l, NULL, NULL);
	sv_high = accept(l, NULL, NULL);

	cr_assert_eq(farm_start(&spec, 1, &f), 0);
	/* If the child had inherited our clients, closing them here would send no FIN. */
	close(cl_low);
	close(cl_high);
	cr_assert_eq(read_within(sv_low, 2000), 0);
	cr_assert_eq(read_within(sv_high, 2000), 0);
	close(sv_low);
	close(sv_high);
	close(l);
	stop_and_check(f);
}

Test(farm, child_out_of_descriptors_pauses_accepting_and_resumes_when_one_closes)
{
	struct farm_target_spec spec = { .kind = FARM_ACCEPT };
	enum { N = 100 };
	struct rlimit old, low;
	struct farm *f = NULL;
	int fds[N];
	uint64_t before;

	/* The child inherits the limit at fork: 64 fds leave it about 58 connections. */
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	cr_assert_lt(tu_count_fds(), 40, "too many fds open to lower the limit");
	low = old;
	low.rlim_cur = 64;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	int err = farm_start(&spec, 1, &f);

	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	cr_assert_eq(err, 0);

	/* All N complete: the ones the child cannot accept wait in the accept queue. */
	for (int i = 0; i < N; i++)
		cr_assert_geq(fds[i] = connect_block("127.0.0.1", farm_port(f, 0)), 0);
	for (int64_t t0 = now_ns(); counters(f, 0).fd_exhausted == 0;) {
		cr_assert_lt(ms_since(t0), 10000, "the child never ran out of fds");
		usleep(2000);
	}
	struct farm_counters c = counters(f, 0);

	cr_assert_lt(c.open, 64);
	cr_assert_lt(c.accepted, N);
	before = c.accepted;

	/* Free 20 of the accepted ones (the child accepts in connect order). */
	for (int i = 0; i < 20; i++)
		close(fds[i]);
	cr_assert_eq(WAIT_COUNTER(f, 0, peer_closed, 20, 10000), 20);
	cr_assert_eq(WAIT_COUNTER(f, 0, accepted, before + 20, 10000), before + 20);
	c = counters(f, 0);
	cr_assert_eq(c.open, c.accepted - c.peer_closed);
	for (int i = 20; i < N; i++)
		close(fds[i]);
	stop_and_check(f);
}

/* ---- lifetime ---- */

Test(farm, stop_kills_and_reaps_the_child_and_closes_every_fd)
{
	struct farm_target_spec specs[] = {
		{ .kind = FARM_ACCEPT },
		{ .kind = FARM_REFUSE },
		{ .kind = FARM_BLACKHOLE },
		{ .kind = FARM_DROP_AFTER, .hold_ms = 10000 },
		{ .kind = FARM_SLOW_ACCEPT },
		{ .kind = FARM_ACCEPT_CLOSE },
	};
	struct farm *f = NULL;
	pid_t pid;
	int a, d;

	cr_assert_eq(farm_start(specs, 6, &f), 0);
	pid = farm_pid(f);
	a = connect_block("127.0.0.1", farm_port(f, 0));
	d = connect_block("127.0.0.1", farm_port(f, 3));
	cr_assert_geq(a, 0);
	cr_assert_geq(d, 0);
	cr_assert_eq(WAIT_COUNTER(f, 3, open, 1, 5000), 1);
	cr_assert_eq(farm_stop(f), 0);
	errno = 0;
	cr_assert_eq(waitpid(pid, NULL, WNOHANG), -1);
	cr_assert_eq(errno, ECHILD);
	cr_assert_eq(kill(pid, 0), -1);
	cr_assert_eq(errno, ESRCH);
	/* The kernel closed the child's end of the held connections. */
	for (int i = 0; i < 2; i++) {
		int r = read_within(i ? d : a, 2000);

		cr_assert(r == 0 || r == -ECONNRESET, "connection %d still open: %d", i, r);
	}
	close(a);
	close(d);
	assert_no_fd_leak();
	cr_assert_eq(farm_stop(NULL), 0);
}

/* A parent that starts a farm, reports the child's pid on wfd, then either waits to be
 * killed or execs (which closes the CLOEXEC control socket but keeps the process). */
static pid_t spawn_farm_parent(bool exec_after, pid_t *ret_farm_pid)
{
	int pfd[2];
	pid_t parent, farm_child = 0;

	cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
	parent = fork();
	cr_assert_geq(parent, 0);
	if (parent == 0) {
		struct farm_target_spec spec = { .kind = FARM_ACCEPT };
		struct farm *f = NULL;
		pid_t p = 0;

		if (farm_start(&spec, 1, &f) == 0)
			p = farm_pid(f);
		if (write(pfd[1], &p, sizeof(p)) != sizeof(p))
			_exit(1);
		if (exec_after)
			execl("/bin/sleep", "sleep", "60", (char *)NULL);
		for (;;)
			pause();
	}
	close(pfd[1]);
	cr_assert_eq(read(pfd[0], &farm_child, sizeof(farm_child)), (ssize_t)sizeof(farm_child));
	close(pfd[0]);
	cr_assert_gt(farm_child, 0, "the farm did not start in the forked parent");
	*ret_farm_pid = farm_child;
	return parent;
}

/* Reaps pid (ours as subreaper), waiting up to ms; returns its wait status. */
static int reap_within(pid_t pid, int ms)
{
	int64_t t0 = now_ns();
	int st = 0;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		cr_assert_eq(r, 0, "waitpid %d: %s", (int)pid, strerror(errno));
		cr_assert_lt(ms_since(t0), ms, "pid %d still alive", (int)pid);
		usleep(5000);
	}
}

Test(farm, child_dies_when_its_parent_is_killed)
{
	pid_t parent, child;
	int st;

	/* Orphans come to us, so we can reap the farm child and see how it died. */
	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	parent = spawn_farm_parent(false, &child);
	cr_assert_eq(kill(parent, SIGKILL), 0);
	cr_assert_eq(waitpid(parent, NULL, 0), parent);
	st = reap_within(child, 5000);
	/* Two paths race when the parent dies: the kernel closes its files (the child reads
	 * EOF on the control socket and exits 0) and then sends PR_SET_PDEATHSIG's SIGKILL. */
	cr_assert((WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) ||
		  (WIFEXITED(st) && WEXITSTATUS(st) == 0), "status %#x", st);
	assert_no_fd_leak();
}

Test(farm, child_exits_when_the_control_socket_closes)
{
	pid_t parent, child;
	int64_t t0 = now_ns();
	int st;

	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	parent = spawn_farm_parent(true, &child);
	/* The parent exec'd: still alive, but its end of the control socket is closed. */
	while (!pid_exited(child)) {
		cr_assert_lt(ms_since(t0), 5000, "the farm child outlived its control socket");
		usleep(5000);
	}
	cr_assert(!pid_exited(parent));
	kill(parent, SIGKILL);
	cr_assert_eq(waitpid(parent, NULL, 0), parent);
	st = reap_within(child, 5000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	assert_no_fd_leak();
}

/* ---- fixed ports and errors ---- */

Test(farm, fixed_port_is_used_and_a_taken_one_gives_eaddrinuse_without_leaks)
{
	struct farm_target_spec spec = { .kind = FARM_ACCEPT };
	struct farm *f = NULL, *g = (struct farm *)&spec, *sentinel = g;
	uint16_t port;
	int fd;

	cr_assert_eq(farm_start(&spec, 1, &f), 0);
	port = farm_port(f, 0);
	fd = connect_block("127.0.0.1", port);
	cr_assert_geq(fd, 0);
	cr_assert_eq(WAIT_COUNTER(f, 0, open, 1, 5000), 1);

	struct farm_target_spec two[] = { { .kind = FARM_REFUSE }, { .kind = FARM_ACCEPT, .port = port } };

	cr_assert_eq(farm_start(two, 2, &g), -EADDRINUSE);
	cr_assert_eq(g, sentinel, "*ret written on failure");

	/* Stopped with a connection open: the port comes back at once all the same. */
	cr_assert_eq(farm_stop(f), 0);
	close(fd);
	spec.port = port;
	cr_assert_eq(farm_start(&spec, 1, &f), 0);
	cr_assert_eq(farm_port(f, 0), port);
	fd = connect_block("127.0.0.1", port);
	cr_assert_geq(fd, 0);
	close(fd);
	stop_and_check(f);
}

Test(farm, out_of_range_indexes_are_rejected)
{
	struct farm_target_spec spec = { .kind = FARM_REFUSE };
	struct farm_counters c;
	struct farm *f = NULL;

	cr_assert_eq(farm_start(&spec, 1, &f), 0);
	cr_assert_eq(farm_port(f, 1), 0);
	cr_assert_eq(farm_target_kind(f, 1), -EINVAL);
	cr_assert_eq(farm_counters(f, 1, &c), -EINVAL);
	cr_assert_eq(farm_drop_all(f, 1), -EINVAL);
	cr_assert_eq(farm_start(&spec, 0, &f), -EINVAL);
	cr_assert_eq(farm_start(NULL, 1, &f), -EINVAL);
	cr_assert_eq(farm_start(&spec, FARM_MAX_TARGETS + 1, &f), -EINVAL);
	stop_and_check(f);
}

struct bad_spec {
	struct farm_target_spec spec;
	int err;
};

ParameterizedTestParameters(farm, bad_specs_are_rejected_with_the_right_errno)
{
	static struct bad_spec params[] = {
		{ { .kind = FARM_ACCEPT, .hold_ms = 10 }, -EINVAL },
		{ { .kind = FARM_ACCEPT, .accept_rate = 10 }, -EINVAL },
		{ { .kind = FARM_DROP_AFTER }, -EINVAL },
		{ { .kind = FARM_REFUSE, .rst = true }, -EINVAL },
		{ { .kind = FARM_REFUSE, .backlog = 3 }, -EINVAL },
		{ { .kind = FARM_BLACKHOLE, .backlog = 3 }, -EINVAL },
		{ { .kind = FARM_BLACKHOLE, .hold_ms = 3 }, -EINVAL },
		{ { .kind = FARM_ACCEPT_CLOSE, .hold_ms = 3 }, -EINVAL },
		{ { .kind = FARM_SLOW_ACCEPT, .accept_rate = 100001 }, -EINVAL },
		{ { .kind = FARM_ACCEPT, .backlog = 70000 }, -EINVAL },
		{ { .kind = (enum farm_kind)99 }, -EINVAL },
		{ { .kind = FARM_ACCEPT, .family = AF_UNIX }, -EAFNOSUPPORT },
	};

	return cr_make_param_array(struct bad_spec, params, sizeof(params) / sizeof(params[0]));
}

ParameterizedTest(struct bad_spec *p, farm, bad_specs_are_rejected_with_the_right_errno)
{
	struct farm_target_spec specs[2] = { { .kind = FARM_ACCEPT }, p->spec };
	struct farm *f = (struct farm *)p, *sentinel = f;
	int base = tu_count_fds();

	cr_assert_eq(farm_start(specs, 2, &f), p->err);
	cr_assert_eq(f, sentinel);
	cr_assert_eq(tu_count_fds(), base);
}

/* ---- the spec syntax ---- */

/* The text is inline: Criterion hands parameters to a worker process whose address layout
 * may differ, so a pointer to a string literal would dangle there. */
struct spec_case {
	char text[48];
	int err;
	struct farm_target_spec want;
};

ParameterizedTestParameters(farm, spec_strings_parse_to_the_right_spec)
{
	static struct spec_case params[] = {
		{ "accept", 0, { .kind = FARM_ACCEPT } },
		{ "refuse", 0, { .kind = FARM_REFUSE } },
		{ "blackhole", 0, { .kind = FARM_BLACKHOLE } },
		{ "blackhole:v6", 0, { .kind = FARM_BLACKHOLE, .family = AF_INET6 } },
		{ "drop:500", 0, { .kind = FARM_DROP_AFTER, .hold_ms = 500 } },
		{ "drop:500:rst", 0, { .kind = FARM_DROP_AFTER, .hold_ms = 500, .rst = true } },
		{ "drop:hold=5:fin", 0, { .kind = FARM_DROP_AFTER, .hold_ms = 5 } },
		{ "slow:50", 0, { .kind = FARM_SLOW_ACCEPT, .accept_rate = 50 } },
		{ "slow:rate=7:backlog=2:hold=100", 0,
		  { .kind = FARM_SLOW_ACCEPT, .accept_rate = 7, .backlog = 2, .hold_ms = 100 } },
		{ "acceptclose", 0, { .kind = FARM_ACCEPT_CLOSE } },
		{ "acceptclose:rst", 0, { .kind = FARM_ACCEPT_CLOSE, .rst = true } },
		{ "accept:port=7001:v6", 0, { .kind = FARM_ACCEPT, .port = 7001, .family = AF_INET6 } },
		{ "", -EINVAL, { 0 } },
		{ "acc", -EINVAL, { 0 } },
		{ "accepted", -EINVAL, { 0 } },
		{ "accept:", -EINVAL, { 0 } },
		{ "accept:5", -EINVAL, { 0 } },
		{ "drop:-5", -EINVAL, { 0 } },
		{ "drop:5x", -EINVAL, { 0 } },
		{ "drop:99999999999", -EINVAL, { 0 } },
		{ "accept:port=70000", -EINVAL, { 0 } },
		{ "accept:port=", -EINVAL, { 0 } },
		{ "accept:colour=red", -EINVAL, { 0 } },
		{ "ACCEPT", -EINVAL, { 0 } },
	};

	return cr_make_param_array(struct spec_case, params, sizeof(params) / sizeof(params[0]));
}

ParameterizedTest(struct spec_case *p, farm, spec_strings_parse_to_the_right_spec)
{
	struct farm_target_spec got, untouched;

	memset(&got, 0xa5, sizeof(got));
	untouched = got;
	cr_assert_eq(farm_spec_parse(p->text, &got), p->err, "'%s'", p->text);
	if (p->err) {
		cr_assert_eq(memcmp(&got, &untouched, sizeof(got)), 0, "'%s': written on error",
			     p->text);
		return;
	}
	cr_assert_eq(got.kind, p->want.kind, "'%s'", p->text);
	cr_assert_eq(got.family, p->want.family, "'%s'", p->text);
	cr_assert_eq(got.port, p->want.port, "'%s'", p->text);
	cr_assert_eq(got.hold_ms, p->want.hold_ms, "'%s'", p->text);
	cr_assert_eq(got.rst, p->want.rst, "'%s'", p->text);
	cr_assert_eq(got.accept_rate, p->want.accept_rate, "'%s'", p->text);
	cr_assert_eq(got.backlog, p->want.backlog, "'%s'", p->text);
	/* The kind word round-trips through farm_kind_name. */
	size_t klen = strcspn(p->text, ":");

	cr_assert_eq(strlen(farm_kind_name(got.kind)), klen, "'%s'", p->text);
	cr_assert_eq(strncmp(farm_kind_name(got.kind), p->text, klen), 0, "'%s'", p->text);
}

/* ---- farm-server ---- */

Test(farm, farm_server_prints_ports_serves_them_and_exits_on_stdin_eof)
{
	const char *exe = getenv("FARM_SERVER");
	int in[2], out[2], st;
	char buf[512] = { 0 };
	size_t len = 0;
	unsigned port[3];
	char name[3][32];
	pid_t pid;
	FILE *fp;
	int fd;

	if (!exe)
		cr_skip_test("FARM_SERVER not set");
	cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl(exe, exe, "-q", "accept", "refuse", "drop:100:rst", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	fp = fdopen(out[0], "r");
	for (int i = 0; i < 3; i++) {
		cr_assert_not_null(fgets(buf + len, (int)(sizeof(buf) - len), fp));
		cr_assert_eq(sscanf(buf + len, "%31s %u", name[i], &port[i]), 2, "line '%s'",
			     buf + len);
		len += strlen(buf + len);
	}
	cr_assert_str_eq(name[0], "accept");
	cr_assert_str_eq(name[2], "drop:100:rst");
	fd = connect_block("127.0.0.1", (uint16_t)port[0]);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(connect_block("127.0.0.1", (uint16_t)port[1]), -ECONNREFUSED);
	fd = connect_block("127.0.0.1", (uint16_t)port[2]);
	cr_assert_eq(read_within(fd, 2100), -ECONNRESET);
	close(fd);

	close(in[1]); /* EOF on its stdin: it stops the farm and exits 0 */
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	cr_assert_null(fgets(buf, sizeof(buf), fp), "output after the port lines");
	fclose(fp);
	assert_no_fd_leak();
}

Test(farm, farm_server_rejects_a_bad_spec_with_status_2)
{
	const char *exe = getenv("FARM_SERVER");
	pid_t pid;
	int st;

	if (!exe)
		cr_skip_test("FARM_SERVER not set");
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int nul = open("/dev/null", O_WRONLY);

		dup2(nul, 2);
		execl(exe, exe, "accept", "drop:soon", (char *)NULL);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "status %#x", st);
}
