/* farm_child.c - the farm's child process: one level-triggered epoll loop that serves every
 * listener, hold timer and rate timer, and answers the parent on the control socket.
 *
 * The child is forked, not exec'd, possibly from a multithreaded parent, where another thread
 * may have held the malloc or stdio lock at the moment of fork. So the child uses raw system
 * calls only: mmap for memory, no malloc, no stdio. The exception is TLS (farm_tls.c), whose
 * library allocates; it says there why that is safe. */
#include "farm_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define EV_BATCH       256
#define ACCEPT_BUDGET  64   /* accepts per listener wakeup: others get their turn */
#define READ_BUDGET    16   /* reads per connection wakeup, same reason */
#define EXPIRE_BUDGET  4096 /* hold-timer closes per wakeup */
#define MAX_CONNS      (1u << 20)
#define PROBE_MS       200  /* a probe connect pending this long means SYNs are dropped */
#define MAX_PROBES     32
#define STARVE_RETRY_MS 100 /* paused listeners retry this often even if nothing closes */

/* epoll_event.data.u64 = type:8 | generation:24 | index:32. The generation lets a stale
 * event, queued for a connection closed earlier in the same batch whose fd number accept()
 * has already reused, be recognised and dropped. */
enum ev_type { EV_CTL = 1, EV_LISTEN, EV_HOLD, EV_RATE, EV_CONN };
#define EV(type, gen, idx) \
	((uint64_t)(type) << 56 | (uint64_t)((gen) & 0xffffffu) << 32 | (uint32_t)(idx))
#define EV_TYPE(u)  ((unsigned)((u) >> 56))
#define EV_GEN(u)   ((uint32_t)((u) >> 32) & 0xffffffu)
#define EV_INDEX(u) ((uint32_t)(u))

/* One accepted connection, indexed by its fd. Every open connection is on its target's list
 * in accept order; with one hold_ms per target that is also deadline order, so the hold timer
 * only ever looks at the head. A TLS connection waits on the target's handshake list until
 * its handshake completes, and joins the list then, with its deadline counted from then:
 * the list stays in deadline order. */
struct conn {
	uint64_t deadline; /* CLOCK_MONOTONIC ns; 0 without a hold timer */
	int32_t prev, next;
	uint32_t target;
	uint32_t gen;
	bool used;
	bool hs;           /* on the handshake list */
	void *ssl;         /* TLS kinds: the connection's TLS object */
};

struct tstate {
	int32_t head, tail;
	int32_t hs_head, hs_tail; /* TLS connections still in their handshake */
	int hold_tfd; /* -1 unless the target drops after hold_ms */
	int rate_tfd; /* -1 unless FARM_SLOW_ACCEPT */
	bool in_epoll; /* listener registered for EPOLLIN (not SLOW, REFUSE, BLACKHOLE) */
};

struct child {
	struct farm *f;
	int ep, ctl;
	struct conn *conn;
	uint32_t nconn;
	struct tstate *ts;
	bool starved; /* out of fds: listeners paused until a connection closes */
	uint64_t starved_at;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Seqlock write: seq odd, fence, data, seq even (release). The reader in farm.c retries when
 * it sees an odd seq or a changed one, so it never returns a torn snapshot. */
static void slot_add(struct child *c, uint32_t ti, int64_t accepted, int64_t open,
		     int64_t dropped, int64_t peer_closed, int64_t fd_exhausted)
{
	struct farm_slot *s = &c->f->page->slot[ti];
	uint64_t seq = s->seq; /* we are the only writer */

	__atomic_store_n(&s->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&s->accepted, s->accepted + (uint64_t)accepted, __ATOMIC_RELAXED);
	__atomic_store_n(&s->open, s->open + (uint64_t)open, __ATOMIC_RELAXED);
	__atomic_store_n(&s->dropped, s->dropped + (uint64_t)dropped, __ATOMIC_RELAXED);
	__atomic_store_n(&s->peer_closed, s->peer_closed + (uint64_t)peer_closed,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&s->fd_exhausted, s->fd_exhausted + (uint64_t)fd_exhausted,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

static void send_msg(struct child *c, uint32_t op, uint32_t target, uint32_t id, int64_t value)
{
	struct farm_msg m = { .op = op, .target = target, .id = id, .value = value };
	ssize_t r;

	do
		r = send(c->ctl, &m, sizeof(m), MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	/* The parent is gone: nothing left to serve. */
	if (r < 0 && errno != EAGAIN)
		_exit(0);
}

/* Arms tfd for an absolute CLOCK_MONOTONIC deadline; 0 disarms. A deadline already past
 * fires at once, which is what the hold timer wants when it stops early. */
static void timer_arm(int tfd, uint64_t deadline)
{
	struct itimerspec its = { 0 };

	its.it_value.tv_sec = (time_t)(deadline / 1000000000u);
	its.it_value.tv_nsec = (long)(deadline % 1000000000u);
	timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void timer_drain(int tfd, uint64_t *ret_expirations)
{
	uint64_t n = 0;

	if (read(tfd, &n, sizeof(n)) != sizeof(n))
		n = 0;
	*ret_expirations = n;
}

static void listeners_set(struct child *c, uint32_t events)
{
	for (uint32_t i = 0; i < c->f->n; i++) {
		struct epoll_event ev = { .events = events, .data.u64 = EV(EV_LISTEN, 0, i) };

		if (c->ts[i].in_epoll)
			epoll_ctl(c->ep, EPOLL_CTL_MOD, c->f->t[i].fd, &ev);
	}
}

/* Closes fd; with SO_LINGER {1, 0} the close sends an RST instead of a FIN. */
static void close_fd(int fd, bool rst)
{
	if (rst) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(fd);
}

static void fd_freed(struct child *c)
{
	/* Level-triggered listeners resume where they left off: the waiting connections are
	 * still in the kernel's accept queue. */
	if (c->starved) {
		c->starved = false;
		listeners_set(c, EPOLLIN);
	}
}

static void list_unlink(struct child *c, int fd)
{
	struct conn *k = &c->conn[fd];
	struct tstate *t = &c->ts[k->target];
	int32_t *head = k->hs ? &t->hs_head : &t->head, *tail = k->hs ? &t->hs_tail : &t->tail;

	if (k->prev >= 0)
		c->conn[k->prev].next = k->next;
	else
		*head = k->next;
	if (k->next >= 0)
		c->conn[k->next].prev = k->prev;
	else
		*tail = k->prev;
}

static void list_append(struct child *c, int fd, bool hs)
{
	struct conn *k = &c->conn[fd];
	struct tstate *t = &c->ts[k->target];
	int32_t *head = hs ? &t->hs_head : &t->head, *tail = hs ? &t->hs_tail : &t->tail;

	k->hs = hs;
	k->next = -1;
	k->prev = *tail;
	if (*tail >= 0)
		c->conn[*tail].next = fd;
	else
		*head = fd;
	*tail = fd;
	/* A new head needs the timer; a later one is behind a head that already has it. */
	if (!hs && k->deadline && t->head == fd)
		timer_arm(t->hold_tfd, k->deadline);
}

/* Closes connection fd: by_us says whether the farm dropped it or the peer went away;
 * rst closes with an RST. A TLS connection the farm drops says close_notify first, unless
 * it resets. */
static void conn_close_how(struct child *c, int fd, bool by_us, bool rst)
{
	struct conn *k = &c->conn[fd];
	uint32_t ti = k->target;

	list_unlink(c, fd);
	k->used = false;
	if (k->ssl) {
		farm__tls_free(k->ssl, by_us && !rst);
		k->ssl = NULL;
	}
	/* close() also removes fd from the epoll set: nothing else holds this file. */
	close_fd(fd, rst);
	slot_add(c, ti, 0, -1, by_us ? 1 : 0, by_us ? 0 : 1, 0);
	fd_freed(c);
}

static void conn_close(struct child *c, int fd, bool by_us)
{
	conn_close_how(c, fd, by_us, by_us && c->f->t[c->conn[fd].target].spec.rst);
}

static void slot_add_tls(struct child *c, uint32_t ti, bool resumed)
{
	struct farm_slot *s = &c->f->page->slot[ti];
	uint64_t seq = s->seq;

	__atomic_store_n(&s->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&s->tls_handshakes, s->tls_handshakes + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&s->tls_resumed, s->tls_resumed + (resumed ? 1 : 0), __ATOMIC_RELAXED);
	__atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

static void on_accepted(struct child *c, uint32_t ti, int fd)
{
	const struct farm_target_spec *s = &c->f->t[ti].spec;
	struct conn *k;
	struct epoll_event ev;

	if (s->kind == FARM_ACCEPT_CLOSE || (uint32_t)fd >= c->nconn) {
		close_fd(fd, s->rst);
		slot_add(c, ti, 1, 0, 1, 0, 0);
		return;
	}
	k = &c->conn[fd];
	k->used = true;
	k->gen++;
	k->target = ti;
	k->ssl = NULL;
	bool tls = farm__is_tls(s->kind);
	k->deadline = s->hold_ms && !tls ? mono_ns() + (uint64_t)s->hold_ms * 1000000u : 0;
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.u64 = EV(EV_CONN, k->gen, fd);
	if ((tls && !(k->ssl = farm__tls_new(c->f->t[ti].tls, fd))) ||
	    epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		/* Out of epoll watches or memory: we cannot watch it, so we cannot hold it. */
		if (k->ssl)
			farm__tls_free(k->ssl, false);
		k->ssl = NULL;
		k->used = false;
		close_fd(fd, s->rst);
		slot_add(c, ti, 1, 0, 1, 0, 0);
		return;
	}
	list_append(c, fd, tls);
	slot_add(c, ti, 1, 1, 0, 0, 0);
	if (s->kind == FARM_PLAINTEXT) {
		static const char banner[] = "HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
		/* A fresh socket's send buffer takes it whole; if not, the client sees less. */
		(void)!write(fd, banner, sizeof(banner) - 1);
	}
}

/* A TLS connection's handshake completed: count it, then close it (FARM_TLS_CLOSE) or hold
 * it, with its hold deadline counted from now. */
static void tls_done(struct child *c, int fd)
{
	struct conn *k = &c->conn[fd];
	const struct farm_target_spec *s = &c->f->t[k->target].spec;

	slot_add_tls(c, k->target, farm__tls_resumed(k->ssl));
	if (s->kind == FARM_TLS_CLOSE) {
		conn_close(c, fd, true);
		return;
	}
	list_unlink(c, fd);
	k->deadline = s->hold_ms ? mono_ns() + (uint64_t)s->hold_ms * 1000000u : 0;
	list_append(c, fd, false);
}

/* Readiness of a TLS connection: the handshake, then the echo. */
static void on_tls(struct child *c, int fd, uint32_t events)
{
	struct conn *k = &c->conn[fd];

	if (k->hs) {
		int r = farm__tls_handshake(k->ssl);
		if (r < 0) {
			conn_close(c, fd, false);
			return;
		}
		if (r == 0) {
			if (events & (EPOLLERR | EPOLLHUP))
				conn_close(c, fd, false);
			return;
		}
		tls_done(c, fd);
		if (!k->used)
			return;
	}
	if (farm__tls_echo(k->ssl) < 0)
		conn_close(c, fd, false);
}

static void accept_some(struct child *c, uint32_t ti, uint64_t budget)
{
	int lfd = c->f->t[ti].fd;

	for (uint64_t i = 0; i < budget && !c->starved; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			on_accepted(c, ti, fd);
			continue;
		}
		switch (errno) {
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			/* Pause every listener (level-triggered, they would spin) until a
			 * connection closes or STARVE_RETRY_MS passes (the shortage may be
			 * system-wide, or ours with nothing left to close). */
			c->starved = true;
			c->starved_at = mono_ns();
			listeners_set(c, 0);
			slot_add(c, ti, 0, 0, 0, 0, 1);
			return;
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
			continue; /* that one client is gone; the next may be fine */
		default:
			return; /* EAGAIN: the queue is empty */
		}
	}
}

static void on_conn(struct child *c, uint64_t u, uint32_t events)
{
	int fd = (int)EV_INDEX(u);
	struct conn *k = &c->conn[fd];
	char buf[4096];

	if (!k->used || (k->gen & 0xffffffu) != EV_GEN(u))
		return; /* stale: that connection was closed earlier in this batch */
	if (k->ssl) {
		on_tls(c, fd, events);
		return;
	}
	if (events & EPOLLERR) {
		conn_close(c, fd, false);
		return;
	}
	/* Read and discard; EOF or an error means the peer closed. With a budget, so a client
	 * that streams data cannot hold the loop; level triggering brings us back. */
	for (int i = 0; i < READ_BUDGET; i++) {
		ssize_t r = read(fd, buf, sizeof(buf));

		enum farm_kind kind = c->f->t[k->target].spec.kind;
		if (r > 0 && (kind == FARM_TLS_RESET || kind == FARM_TLS_EOF)) {
			/* The ClientHello is in: answer it with a reset, or a FIN. */
			conn_close_how(c, fd, true, kind == FARM_TLS_RESET);
			return;
		}
		if (r > 0)
			continue;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			break;
		conn_close(c, fd, false);
		return;
	}
	if ((events & EPOLLHUP) && !(events & EPOLLIN))
		conn_close(c, fd, false);
}

static uint64_t drop_all(struct child *c, uint32_t ti)
{
	uint64_t n = 0;

	while (c->ts[ti].head >= 0) {
		conn_close(c, c->ts[ti].head, true);
		n++;
	}
	while (c->ts[ti].hs_head >= 0) {
		conn_close(c, c->ts[ti].hs_head, true);
		n++;
	}
	return n;
}

static void on_hold_timer(struct child *c, uint32_t ti)
{
	struct tstate *t = &c->ts[ti];
	uint64_t now = mono_ns(), ignored;
	int n = 0;

	timer_drain(t->hold_tfd, &ignored);
	while (t->head >= 0 && c->conn[t->head].deadline <= now && n++ < EXPIRE_BUDGET)
		conn_close(c, t->head, true);
	/* Re-arm for the (new) head; if the budget stopped us, its deadline has passed and the
	 * timer fires again at once, after the other events had their turn. */
	timer_arm(t->hold_tfd, t->head >= 0 ? c->conn[t->head].deadline : 0);
}

static void on_rate_timer(struct child *c, uint32_t ti)
{
	uint64_t ticks;

	/* One accept per tick. Ticks that found the queue empty are lost: that is the rate
	 * limit. More than one tick only when the loop was late. */
	timer_drain(c->ts[ti].rate_tfd, &ticks);
	if (ticks > ACCEPT_BUDGET)
		ticks = ACCEPT_BUDGET;
	accept_some(c, ti, ticks);
}

static void on_ctl(struct child *c)
{
	for (;;) {
		struct farm_msg m;
		ssize_t r = recv(c->ctl, &m, sizeof(m), MSG_DONTWAIT);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r <= 0)
			_exit(0); /* EOF: the parent closed, exec'd or died */
		if (r != sizeof(m))
			continue;
		if (m.op == FARM_MSG_DROP_ALL && m.target < c->f->n)
			send_msg(c, FARM_MSG_DROPPED, m.target, m.id, (int64_t)drop_all(c, m.target));
	}
}

/* The loopback address of family, port in network order. */
static socklen_t loopback(int family, uint16_t port, struct sockaddr_storage *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ret;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons(port);
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ret;

	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = htons(port);
	return sizeof(*a);
}

/* Waits for POLLOUT on fd up to ms; 0 on timeout, 1 when ready, -errno. */
static int wait_out(int fd, int ms)
{
	uint64_t deadline = mono_ns() + (uint64_t)ms * 1000000u;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		uint64_t now = mono_ns();
		int r;

		if (now >= deadline)
			return 0;
		r = poll(&p, 1, (int)((deadline - now + 999999u) / 1000000u));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		return r > 0;
	}
}

/* Fills the blackhole's accept queue with our own connections until a probe connect stays
 * in progress for PROBE_MS: from then on the kernel drops every SYN to that port (whatever
 * the 127.x destination, the listener is the same). The fillers are left open, never
 * accepted, until the child exits. Returns 0 or -errno; -EIO if MAX_PROBES never got there. */
static int blackhole_fill(const struct farm_target *t)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(t->spec.family, t->port, &ss);

	for (int i = 0; i < MAX_PROBES; i++) {
		int fd = socket(t->spec.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int err = 0, r;
		socklen_t elen = sizeof(err);

		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&ss, len) == 0)
			continue; /* connected at once: a filler */
		if (errno != EINPROGRESS) {
			err = -errno;
			close(fd);
			return err;
		}
		r = wait_out(fd, PROBE_MS);
		if (r == 0) {
			/* Closing a connect still in SYN_SENT sends nothing. */
			close(fd);
			return 0;
		}
		if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			err = r < 0 ? -r : errno;
		if (err) {
			close(fd);
			return -err;
		}
		/* Connected: it sits in the accept queue now and stays as a filler. */
	}
	return -EIO;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static void sort_ints(int *v, size_t n)
{
	/* Insertion sort: qsort is async-signal-unsafe in theory, and n is small. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && cmp_int(&v[j - 1], &v[j]) > 0; j--) {
			int tmp = v[j];

			v[j] = v[j - 1];
			v[j - 1] = tmp;
		}
}

/* Closes fds lo..hi, or lo and up when hi < 0. */
static void close_from_to(int lo, int hi, int limit)
{
	if (hi >= 0 && lo > hi)
		return;
	if (close_range((unsigned)lo, hi < 0 ? ~0u : (unsigned)hi, 0) == 0)
		return;
	/* No close_range (pre-5.9 kernel): one by one, up to the fd limit. */
	for (int fd = lo; fd <= (hi < 0 ? limit - 1 : hi); fd++)
		close(fd);
}

/* Leaves the child with only its own descriptors: 0 and 1 on /dev/null, 2 (the parent's
 * stderr, for sanitizer reports), the control socket and the listeners. Any other fd the
 * parent had, a client socket say, would otherwise stay open here and hide its close. */
static int fds_isolate(struct child *c, int limit)
{
	struct farm *f = c->f;
	int *ctl = &c->ctl;
	int keep[FARM_MAX_TARGETS + 2];
	size_t nkeep = 0;
	int nul;

	/* Move our fds out of 0..2 (possible if the parent had closed its std fds), so the
	 * dup2 onto 0 and 1 below cannot clobber them. */
	if (*ctl < 3) {
		int fd = fcntl(*ctl, F_DUPFD_CLOEXEC, 3);

		if (fd < 0)
			return -errno;
		close(*ctl);
		*ctl = fd;
	}
	for (size_t i = 0; i < f->n; i++) {
		int fd;

		if (f->t[i].fd < 0 || f->t[i].fd >= 3)
			continue;
		fd = fcntl(f->t[i].fd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			return -errno;
		close(f->t[i].fd);
		f->t[i].fd = fd;
	}
	/* REFUSE sockets stay with the parent only. */
	for (size_t i = 0; i < f->n; i++) {
		if (f->t[i].spec.kind == FARM_REFUSE) {
			close(f->t[i].fd);
			f->t[i].fd = -1;
		} else {
			keep[nkeep++] = f->t[i].fd;
		}
	}
	keep[nkeep++] = *ctl;
	sort_ints(keep, nkeep);

	int lo = 3;

	for (size_t i = 0; i < nkeep; i++) {
		close_from_to(lo, keep[i] - 1, limit);
		lo = keep[i] + 1;
	}
	close_from_to(lo, -1, limit);

	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul < 0)
		return -errno;
	if (dup2(nul, 0) < 0 || dup2(nul, 1) < 0)
		return -errno;
	if (nul > 2)
		close(nul);
	return 0;
}

static void signals_reset(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, ign = { .sa_handler = SIG_IGN };
	sigset_t none;

	/* The parent's handlers mean nothing here. Errors are for SIGKILL, SIGSTOP and the
	 * libc-internal signals, which is fine. */
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &dfl, NULL);
	/* SIGINT: a terminal Ctrl-C reaches the whole process group; the parent decides when
	 * the farm stops. SIGPIPE: send() to a client that reset must not kill us. */
	sigaction(SIGINT, &ign, NULL);
	sigaction(SIGPIPE, &ign, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void *map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int setup(struct child *c, uint32_t *ret_bad)
{
	struct farm *f = c->f;
	struct epoll_event ev;
	int fl;

	*ret_bad = 0;
	fl = fcntl(c->ctl, F_GETFL);
	if (fl < 0 || fcntl(c->ctl, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	c->conn = map(c->nconn * sizeof(c->conn[0]));
	c->ts = map(f->n * sizeof(c->ts[0]));
	if (!c->conn || !c->ts)
		return -ENOMEM;
	c->ep = epoll_create1(EPOLL_CLOEXEC);
	if (c->ep < 0)
		return -errno;
	ev.events = EPOLLIN;
	ev.data.u64 = EV(EV_CTL, 0, 0);
	if (epoll_ctl(c->ep, EPOLL_CTL_ADD, c->ctl, &ev) < 0)
		return -errno;

	for (uint32_t i = 0; i < f->n; i++) {
		const struct farm_target_spec *s = &f->t[i].spec;
		struct tstate *t = &c->ts[i];

		*ret_bad = i;
		t->head = t->tail = -1;
		t->hs_head = t->hs_tail = -1;
		t->hold_tfd = t->rate_tfd = -1;
		if (s->kind == FARM_REFUSE || s->kind == FARM_BLACKHOLE)
			continue;
		if (s->hold_ms) {
			t->hold_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
			if (t->hold_tfd < 0)
				return -errno;
			ev.events = EPOLLIN;
			ev.data.u64 = EV(EV_HOLD, 0, i);
			if (epoll_ctl(c->ep, EPOLL_CTL_ADD, t->hold_tfd, &ev) < 0)
				return -errno;
		}
		if (s->kind == FARM_SLOW_ACCEPT) {
			uint64_t period = 1000000000u / s->accept_rate;
			struct itimerspec its = { 0 };

			t->rate_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
			if (t->rate_tfd < 0)
				return -errno;
			its.it_interval.tv_sec = (time_t)(period / 1000000000u);
			its.it_interval.tv_nsec = (long)(period % 1000000000u);
			its.it_value = its.it_interval;
			if (timerfd_settime(t->rate_tfd, 0, &its, NULL) < 0)
				return -errno;
			ev.events = EPOLLIN;
			ev.data.u64 = EV(EV_RATE, 0, i);
			if (epoll_ctl(c->ep, EPOLL_CTL_ADD, t->rate_tfd, &ev) < 0)
				return -errno;
			continue;
		}
		ev.events = EPOLLIN;
		ev.data.u64 = EV(EV_LISTEN, 0, i);
		if (epoll_ctl(c->ep, EPOLL_CTL_ADD, f->t[i].fd, &ev) < 0)
			return -errno;
		t->in_epoll = true;
	}
	for (uint32_t i = 0; i < f->n; i++) {
		if (f->t[i].spec.kind == FARM_BLACKHOLE) {
			int err = blackhole_fill(&f->t[i]);

			if (err) {
				*ret_bad = i;
				return err;
			}
		}
	}
	return 0;
}

_Noreturn void farm__child_main(struct farm *f, int ctl, pid_t parent)
{
	struct child c = { .f = f, .ep = -1, .ctl = ctl };
	struct epoll_event evs[EV_BATCH];
	struct rlimit rl;
	uint32_t bad = 0;
	int limit, err;

	/* SIGKILL when the parent dies; if it died before the prctl, we are orphaned already. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(0);
	signals_reset();
	/* Tell it apart from its parent in ps and top (the benchmarks measure the parent). */
	prctl(PR_SET_NAME, "redial-farm");

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > MAX_CONNS)
		rl.rlim_cur = MAX_CONNS;
	limit = (int)rl.rlim_cur;
	c.nconn = (uint32_t)limit;

	err = fds_isolate(&c, limit);
	if (!err)
		err = setup(&c, &bad);
	if (err) {
		send_msg(&c, FARM_MSG_READY, bad, 0, err);
		_exit(1);
	}
	__atomic_store_n(&f->page->ready, 1, __ATOMIC_RELEASE);
	send_msg(&c, FARM_MSG_READY, 0, 0, 0);

	for (;;) {
		int n = epoll_wait(c.ep, evs, EV_BATCH, c.starved ? STARVE_RETRY_MS : -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			_exit(1);
		if (c.starved && mono_ns() - c.starved_at >= STARVE_RETRY_MS * 1000000ull)
			fd_freed(&c);
		for (int i = 0; i < n; i++) {
			uint64_t u = evs[i].data.u64;

			switch (EV_TYPE(u)) {
			case EV_CTL:
				on_ctl(&c);
				break;
			case EV_LISTEN:
				accept_some(&c, EV_INDEX(u), ACCEPT_BUDGET);
				break;
			case EV_HOLD:
				on_hold_timer(&c, EV_INDEX(u));
				break;
			case EV_RATE:
				on_rate_timer(&c, EV_INDEX(u));
				break;
			case EV_CONN:
				on_conn(&c, u, evs[i].events);
				break;
			default:
				break;
			}
		}
	}
}
