/* test_embed_outside.c — calls made outside the loop, each followed only by epoll_wait on
 * redial_fd() (no redial_poll before the wait returns), and the fd that a DISCONNECTED
 * event carries. The peer side is a listening socket the test owns and accepts itself. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static struct tu_recorder rec;
static redial_t *r;
static struct tu_loop loop;
static int lfd = -1;
static uint16_t lport;
static int fds_before;
static char addr[64];

static void setup(void)
{
	fds_before = tu_count_fds();
	tu_recorder_init(&rec);
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	tu_fast_retry(&rec.defs);
	r = tu_make(&cfg);
	tu_loop_open(&loop, r); /* the application's epoll set, before any endpoint */
	lfd = tu_listen(&lport);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", lport);
}

static void teardown(void)
{
	tu_recorder_free(&rec);
}

/* Closes the test's own fds, then tu_finish. */
static void finish(void)
{
	if (lfd >= 0)
		close(lfd);
	lfd = -1;
	tu_loop_close(&loop);
	tu_finish_within(r, fds_before, REDIAL_SEC(20));
	r = NULL;
}

/* Adds an endpoint to the test's listener, polls until it is CONNECTED, accepts its peer. */
static redial_id_t connect_one(int *ret_peer)
{
	redial_id_t id = tu_add(r, addr, NULL);
	tu_loop_until_event(&loop, &rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(10));
	*ret_peer = tu_accept(lfd, 10000);
	cr_assert_eq(tu_ep_stats(r, id).state, REDIAL_STATE_CONNECTED);
	cr_assert_eq(tu_stats(r).fds_open, 1, "one connection, fds_open %u", tu_stats(r).fds_open);
	return id;
}

/* Nothing more for id: a few epoll-driven passes deliver no event after the last. */
static void no_more_events(redial_id_t id, size_t expected_total)
{
	for (int i = 0; i < 20; i++)
		tu_loop_step(&loop, 10);
	cr_expect_eq(tu_count(&rec, 0, id), expected_total,
		     "%zu events for the endpoint, expected %zu", tu_count(&rec, 0, id),
		     expected_total);
}

TestSuite(embed, .init = setup, .fini = teardown, .timeout = 120);

Test(embed, add_from_outside_the_loop_makes_redial_fd_readable)
{
	tu_loop_settle(&loop, 100);
	redial_id_t id = tu_add(r, addr, NULL);
	cr_expect_eq(tu_count(&rec, 0, 0), 0, "an event fired from inside redial_endpoint_add");
	cr_assert(tu_loop_readable(&loop, 5000),
		  "redial_fd did not turn readable within 5 s of redial_endpoint_add");
	tu_loop_until_event(&loop, &rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(10));
	close(tu_accept(lfd, 10000));
	finish();
}

Test(embed, start_of_an_idle_endpoint_makes_redial_fd_readable_and_connects)
{
	struct redial_endpoint_opts o = rec.defs;
	o.flags = REDIAL_EP_START_IDLE;
	redial_id_t id = tu_add(r, addr, &o);
	tu_loop_settle(&loop, 100);
	cr_assert_eq(tu_ep_stats(r, id).state, REDIAL_STATE_IDLE, "added with START_IDLE: %s",
		     redial_state_name(tu_ep_stats(r, id).state));
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 0), 0, "an IDLE endpoint connected to the listener");
	cr_assert_eq(tu_count(&rec, 0, id), 0);

	int ret = redial_endpoint_start(r, id);
	cr_assert_eq(ret, 0, "redial_endpoint_start: %s", strerror(-ret));
	cr_assert(tu_loop_readable(&loop, 5000),
		  "redial_fd did not turn readable within 5 s of redial_endpoint_start (no poll "
		  "in between)");
	tu_loop_until_event(&loop, &rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(10));
	int peer = tu_accept(lfd, 10000);
	cr_expect_eq(tu_ep_stats(r, id).state, REDIAL_STATE_CONNECTED);
	cr_expect_eq(redial_endpoint_start(r, id), -EALREADY,
		     "starting a connected endpoint again: -EALREADY");
	close(peer);
	finish();
}

Test(embed, cancel_of_a_connected_endpoint_closes_its_fd_before_returning)
{
	int fds_idle = tu_count_fds();
	int peer;
	redial_id_t id = connect_one(&peer);
	size_t before = tu_count(&rec, 0, id);

	int ret = redial_endpoint_cancel(r, id);
	cr_assert_eq(ret, 0, "redial_endpoint_cancel: %s", strerror(-ret));
	/* Nothing below polls: the effects are there when cancel returns. */
	struct redial_stats s = tu_stats(r);
	cr_expect_eq(s.fds_open, 0, "fds_open %u right after cancel returned", s.fds_open);
	cr_expect_eq(tu_count_fds() - 1, fds_idle, "the process has %d fds after cancel, %d before "
		     "the connection (plus the peer)", tu_count_fds(), fds_idle);
	cr_expect_eq(tu_count(&rec, REDIAL_EV_CANCELLED, id), 1,
		     "CANCELLED was not delivered before redial_endpoint_cancel returned");
	cr_expect(tu_wait_eof(peer, 5000, NULL, 0, NULL),
		  "the peer did not see the close within 5 s of redial_endpoint_cancel returning "
		  "(no poll since)");
	cr_expect_eq(tu_ep_stats(r, id).state, REDIAL_STATE_CANCELLED);
	cr_expect_eq(redial_endpoint_cancel(r, id), -EALREADY);
	no_more_events(id, before + 1);
	close(peer);
	finish();
}

Test(embed, remove_of_a_connected_endpoint_closes_its_fd_before_returning)
{
	int peer;
	redial_id_t id = connect_one(&peer);
	size_t before = tu_count(&rec, 0, id);

	int ret = redial_endpoint_remove(r, id);
	cr_assert_eq(ret, 0, "redial_endpoint_remove: %s", strerror(-ret));
	struct redial_stats s = tu_stats(r);
	cr_expect_eq(s.fds_open, 0, "fds_open %u right after remove returned", s.fds_open);
	cr_expect_eq(s.endpoints, 0, "%u endpoints after removing the only one", s.endpoints);
	cr_expect_eq(tu_count(&rec, REDIAL_EV_CANCELLED, id), 1,
		     "remove of an active endpoint delivers CANCELLED");
	cr_expect(tu_wait_eof(peer, 5000, NULL, 0, NULL),
		  "the peer did not see the close within 5 s of redial_endpoint_remove returning "
		  "(no poll since)");
	struct redial_endpoint_stats es = { .size = sizeof(es) };
	cr_expect_eq(redial_endpoint_stats_get(r, id, &es), -ENOENT, "the removed id is still valid");
	no_more_events(id, before + 1);
	close(peer);
	finish();
}

Test(embed, release_then_the_applications_close_is_the_last_one)
{
	int peer;
	redial_id_t id = connect_one(&peer);
	size_t before = tu_count(&rec, 0, id);

	int fd = -1;
	int ret = redial_endpoint_release(r, id, 0, &fd);
	cr_assert_eq(ret, 0, "redial_endpoint_release: %s", strerror(-ret));
	cr_assert_geq(fd, 0);
	cr_expect_eq(tu_stats(r).fds_open, 0, "the manager still counts the released fd");
	cr_expect_eq(tu_ep_stats(r, id).state, REDIAL_STATE_IDLE);
	/* The fd is the application's now: it works... */
	cr_assert_eq(write(fd, "ping", 4), 4, "write on the released fd: %s", strerror(errno));
	char buf[8] = "";
	cr_assert_eq(recv(peer, buf, 4, MSG_WAITALL), 4);
	cr_expect_eq(memcmp(buf, "ping", 4), 0);
	/* ...and its close() is the last one: the peer sees it without a poll. */
	cr_assert_eq(close(fd), 0);
	cr_expect(tu_wait_eof(peer, 5000, NULL, 0, NULL),
		  "the peer did not see the application's close() of a released fd within 5 s "
		  "(no poll since): something in the ring still holds it");
	no_more_events(id, before);
	close(peer);
	finish();
}

Test(embed, release_with_reconnect_hands_over_the_fd_and_connects_again)
{
	int peer;
	redial_id_t id = connect_one(&peer);
	int fd = -1;
	int ret = redial_endpoint_release(r, id, REDIAL_RELEASE_RECONNECT, &fd);
	cr_assert_eq(ret, 0, "redial_endpoint_release(RECONNECT): %s", strerror(-ret));
	cr_assert_geq(fd, 0);
	cr_expect(tu_loop_readable(&loop, 5000),
		  "redial_fd did not turn readable within 5 s of a release with RECONNECT");
	tu_loop_until_event(&loop, &rec, REDIAL_EV_CONNECTED, id, 2, REDIAL_SEC(10));
	int peer2 = tu_accept(lfd, 10000);
	cr_assert_eq(close(fd), 0);
	cr_expect(tu_wait_eof(peer, 5000, NULL, 0, NULL),
		  "the peer did not see the application's close() of a released fd within 5 s");
	cr_expect_eq(tu_ep_stats(r, id).state, REDIAL_STATE_CONNECTED);
	close(peer);
	close(peer2);
	finish();
}

Test(embed, fail_closes_the_fd_before_returning_and_disconnected_follows_at_the_next_poll)
{
	int peer;
	redial_id_t id = connect_one(&peer);
	close(lfd); /* the reconnect after the failure is refused: no new connection */
	lfd = -1;

	int ret = redial_endpoint_fail(r, id, EPROTO);
	cr_assert_eq(ret, 0, "redial_endpoint_fail: %s", strerror(-ret));
	cr_expect_eq(tu_stats(r).fds_open, 0, "fds_open %u right after fail returned",
		     tu_stats(r).fds_open);
	cr_expect_eq(tu_count(&rec, REDIAL_EV_DISCONNECTED, id), 0,
		     "DISCONNECTED was delivered from inside redial_endpoint_fail");
	cr_expect(tu_wait_eof(peer, 5000, NULL, 0, NULL),
		  "the peer did not see the close within 5 s of redial_endpoint_fail returning "
		  "(no poll since)");
	cr_assert(tu_loop_readable(&loop, 5000),
		  "redial_fd did not turn readable within 5 s of redial_endpoint_fail");
	ret = redial_poll(r);
	cr_assert_geq(ret, 0, "redial_poll: %s", strerror(-ret));
	struct tu_event ev;
	cr_assert(tu_nth_copy(&rec, REDIAL_EV_DISCONNECTED, id, 0, &ev),
		  "no DISCONNECTED at the poll after redial_endpoint_fail");
	cr_expect_eq(ev.err, EPROTO, "DISCONNECTED err %d (%s), expected EPROTO", ev.err,
		     strerror(ev.err));
	cr_expect_eq(ev.fd, -1, "DISCONNECTED after fail carries fd %d, expected -1", ev.fd);
	close(peer);
	finish();
}

/* ---- DISCONNECTED keeps the fd open during the callback -------------------------------- */

struct disc {
	redial_id_t id;
	int app_ep;          /* the application's own epoll set for its connections */
	int conn_fd;         /* from CONNECTED */
	ino_t conn_ino;
	bool seen;           /* DISCONNECTED delivered */
	int fd;              /* its fd */
	bool fd_open;        /* fcntl(F_GETFD) worked in the callback */
	ino_t ino;
	int del_ret, del_errno; /* epoll_ctl(DEL) in the callback */
	char data[16];
	size_t ndata;
	bool eof;            /* recv returned 0 after the data */
	int err;
	enum redial_class cls;
};

static struct disc disc;

static void disc_hook(redial_t *rr, const struct redial_event *ev, void *arg)
{
	(void)rr;
	struct disc *d = arg;
	if (ev->id != d->id)
		return;
	struct stat sb;
	if (ev->type == REDIAL_EV_CONNECTED) {
		d->conn_fd = ev->fd;
		if (fstat(ev->fd, &sb) == 0)
			d->conn_ino = sb.st_ino;
		struct epoll_event e = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = ev->fd };
		(void)epoll_ctl(d->app_ep, EPOLL_CTL_ADD, ev->fd, &e);
	} else if (ev->type == REDIAL_EV_DISCONNECTED && !d->seen) {
		d->seen = true;
		d->fd = ev->fd;
		d->err = ev->err;
		d->cls = ev->cls;
		d->fd_open = ev->fd >= 0 && fcntl(ev->fd, F_GETFD) != -1;
		if (d->fd_open && fstat(ev->fd, &sb) == 0)
			d->ino = sb.st_ino;
		d->del_ret = epoll_ctl(d->app_ep, EPOLL_CTL_DEL, ev->fd, NULL);
		d->del_errno = d->del_ret < 0 ? errno : 0;
		for (int i = 0; i < 100 && d->fd_open; i++) {
			char b[16];
			ssize_t k = recv(ev->fd, b, sizeof(b), MSG_DONTWAIT);
			if (k == 0) {
				d->eof = true;
				break;
			}
			if (k < 0)
				break;
			for (ssize_t j = 0; j < k && d->ndata < sizeof(d->data); j++)
				d->data[d->ndata++] = b[j];
		}
	}
}

/* The fd that DISCONNECTED carried, is it still that open socket? */
static bool disc_fd_still_open(void)
{
	struct stat sb;
	return fcntl(disc.fd, F_GETFD) != -1 && fstat(disc.fd, &sb) == 0 && sb.st_ino == disc.ino;
}

static void disconnected_keeps_fd_open(bool use_run)
{
	memset(&disc, 0, sizeof(disc));
	disc.fd = -1;
	disc.app_ep = epoll_create1(EPOLL_CLOEXEC);
	cr_assert_geq(disc.app_ep, 0);
	rec.hook = disc_hook;
	rec.hook_arg = &disc;
	disc.id = tu_add(r, addr, NULL);
	tu_loop_until_event(&loop, &rec, REDIAL_EV_CONNECTED, disc.id, 1, REDIAL_SEC(10));
	int peer = tu_accept(lfd, 10000);
	close(lfd); /* reconnects are refused: no new socket can take the old fd's number */
	lfd = -1;
	cr_assert_eq(send(peer, "bye", 3, 0), 3);
	cr_assert_eq(close(peer), 0);

	uint64_t end = redial_now_ns() + REDIAL_SEC(10);
	while (!disc.seen && redial_now_ns() < end) {
		if (use_run) {
			int ret = redial_run(r, REDIAL_MSEC(10));
			cr_assert_geq(ret, 0, "redial_run: %s", strerror(-ret));
		} else {
			tu_loop_step(&loop, 100);
		}
	}
	cr_assert(disc.seen, "no DISCONNECTED within 10 s of the peer's close");
	/* Right after the call that delivered it returned. */
	bool open_after_call = disc_fd_still_open();

	cr_expect_geq(disc.fd, 0, "DISCONNECTED caused by the peer carries fd %d", disc.fd);
	cr_expect_eq(disc.fd, disc.conn_fd, "DISCONNECTED carries fd %d, CONNECTED carried %d",
		     disc.fd, disc.conn_fd);
	cr_expect(disc.fd_open, "the fd was not open during the DISCONNECTED callback");
	cr_expect_eq(disc.ino, disc.conn_ino, "the fd in the callback is not the connected socket");
	cr_expect_eq(disc.del_ret, 0, "epoll_ctl(DEL) of the fd in the DISCONNECTED callback: %s",
		     strerror(disc.del_errno));
	cr_expect_eq(disc.ndata, 3, "read %zu bytes in the callback, expected \"bye\"", disc.ndata);
	cr_expect_eq(memcmp(disc.data, "bye", 3), 0, "read \"%.*s\", expected \"bye\"",
		     (int)disc.ndata, disc.data);
	cr_expect_eq(disc.err, 0, "orderly close: err %d", disc.err);
	cr_expect_eq(disc.cls, REDIAL_CLASS_NONE, "orderly DISCONNECTED: cls %d, expected NONE (%d)",
		     disc.cls, REDIAL_CLASS_NONE);
	/* redial_poll hands control back with the fd open: the application's batch of epoll
	 * events may still name it. A redial_run closes it at its next turn instead (its
	 * callback has returned, and a long run must not hold every such fd). */
	if (!use_run)
		cr_expect(open_after_call, "the borrowed fd was closed in the same redial_poll call "
			  "that delivered DISCONNECTED");

	/* The next call closes it (at its start). */
	int ret = use_run ? redial_run(r, 0) : redial_poll(r);
	cr_assert_geq(ret, 0);
	cr_expect(!disc_fd_still_open(), "the fd DISCONNECTED carried is still open after the next "
		  "%s", use_run ? "redial_run" : "redial_poll");
	rec.hook = NULL;
	close(disc.app_ep);
	finish();
}

Test(embed, disconnected_fd_stays_open_through_the_callback_and_the_poll_that_delivered_it)
{
	disconnected_keeps_fd_open(false);
}

Test(embed, disconnected_fd_stays_open_through_the_callback_and_the_run_that_delivered_it)
{
	disconnected_keeps_fd_open(true);
}
