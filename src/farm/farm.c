/* farm.c - the parent side of the loopback target farm: checks the specs, opens the sockets,
 * forks the child that serves them, and talks to it. The child's loop is in farm_child.c. */
#include "farm_int.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FARM_READY_TIMEOUT_MS 30000
#define FARM_REPLY_TIMEOUT_MS 10000
#define FARM_SLOW_BACKLOG     4
#define FARM_SLOW_RATE        10
#define FARM_MAX_RATE         100000
#define FARM_MAX_BACKLOG      65535

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Checks *in and writes the spec with every default filled in to *out. A field the kind does
 * not use must be 0: a caller who sets hold_ms on FARM_ACCEPT expects a drop that would never
 * come, and an error now is cheaper than a puzzling test later. */
static int spec_normalise(const struct farm_target_spec *in, struct farm_target_spec *out)
{
	struct farm_target_spec s = *in;
	bool accepts = s.kind != FARM_REFUSE && s.kind != FARM_BLACKHOLE;

	switch (s.kind) {
	case FARM_ACCEPT:
	case FARM_ACCEPT_CLOSE:
	case FARM_REFUSE:
	case FARM_BLACKHOLE:
	case FARM_TLS_CLOSE:
	case FARM_TLS_RESET:
	case FARM_TLS_EOF:
	case FARM_PLAINTEXT:
		if (s.hold_ms != 0)
			return -EINVAL;
		break;
	case FARM_TLS:
		break;
	case FARM_DROP_AFTER:
		if (s.hold_ms == 0)
			return -EINVAL;
		break;
	case FARM_SLOW_ACCEPT:
		break;
	default:
		return -EINVAL;
	}
	if (s.family == 0)
		s.family = AF_INET;
	if (s.family != AF_INET && s.family != AF_INET6)
		return -EAFNOSUPPORT;
	if (!accepts && (s.rst || s.backlog != 0))
		return -EINVAL;
	if (s.kind == FARM_SLOW_ACCEPT) {
		if (s.accept_rate == 0)
			s.accept_rate = FARM_SLOW_RATE;
		if (s.accept_rate > FARM_MAX_RATE)
			return -EINVAL;
		if (s.backlog == 0)
			s.backlog = FARM_SLOW_BACKLOG;
	} else if (s.accept_rate != 0) {
		return -EINVAL;
	}
	if (farm__is_tls(s.kind)) {
		if (!s.tls_cert || !s.tls_key)
			return -EINVAL;
		if (s.tls_max_version && s.tls_max_version != 0x0303 && s.tls_max_version != 0x0304)
			return -EINVAL;
	} else if (s.tls_cert || s.tls_key || s.tls_alpn || s.tls_max_version ||
		   s.tls_client_ca) {
		return -EINVAL;
	}
	if (accepts && s.backlog == 0)
		s.backlog = SOMAXCONN;
	if (s.backlog > FARM_MAX_BACKLOG)
		return -EINVAL;
	/* hold_ms becomes nanoseconds in a uint64_t in the child: any uint32_t fits. */
	*out = s;
	return 0;
}

/* Opens target t's socket: bound to the wildcard address and, unless it refuses, listening.
 * Writes t->fd and t->port. */
static int target_open(struct farm_target *t)
{
	const struct farm_target_spec *s = &t->spec;
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, fd, err;

	memset(&ss, 0, sizeof(ss));
	if (s->family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_any;
		a->sin6_port = htons(s->port);
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_ANY);
		a->sin_port = htons(s->port);
		len = sizeof(*a);
	}

	fd = socket(s->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* An IPv6 target is IPv6 only, so the caller knows which family it is testing. */
	if (s->family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	/* A fixed port must come back while the previous farm's connections sit in TIME_WAIT.
	 * Not for REFUSE: two bound, non-listening SO_REUSEADDR sockets may share a port, and the
	 * point of holding that socket is that nobody else gets the port. */
	if (s->kind != FARM_REFUSE &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		goto fail;
	if (s->kind != FARM_REFUSE) {
		/* Backlog 0 lets one connection into the accept queue; the child puts its own
		 * filler there, after which the kernel drops every SYN. */
		int backlog = s->kind == FARM_BLACKHOLE ? 0 : (int)s->backlog;

		if (listen(fd, backlog) < 0)
			goto fail;
	}
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		goto fail;
	t->port = ntohs(s->family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                      : ((struct sockaddr_in *)&ss)->sin_port);
	t->fd = fd;
	return 0;
fail:
	err = -errno;
	close(fd);
	return err;
}

/* Waits up to timeout_ms for one message. -EPIPE when the child is gone. */
static int ctl_recv(int fd, struct farm_msg *ret_msg, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - mono_ms();
		struct farm_msg m;
		ssize_t r;

		if (left < 0)
			left = 0;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		r = recv(fd, &m, sizeof(m), MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return errno == ECONNRESET ? -EPIPE : -errno;
		if (r == 0)
			return -EPIPE;
		if (r != sizeof(m))
			return -EPROTO;
		*ret_msg = m;
		return 0;
	}
}

static void reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Frees whatever part of f exists: this is both farm_stop and farm_start's error path. */
static void farm_free(struct farm *f)
{
	if (f->pid > 0) {
		kill(f->pid, SIGKILL);
		/* ECHILD means someone else reaped it (SIGCHLD ignored, a waitpid(-1) loop): it
		 * is gone either way. */
		reap(f->pid);
	}
	if (f->ctl >= 0)
		close(f->ctl);
	for (size_t i = 0; i < f->n; i++) {
		if (f->t[i].fd >= 0)
			close(f->t[i].fd);
		farm__tls_ctx_free(&f->t[i]);
	}
	if (f->page)
		munmap(f->page, f->page_len);
	free(f);
}

static int start_child(struct farm *f)
{
	sigset_t all, old;
	struct farm_msg m;
	int sv[2], err;
	pid_t parent = getpid();

	/* SEQPACKET: whole messages, and EOF when the other end closes. CLOEXEC: if the parent
	 * execs, the child sees EOF and exits. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;

	/* With every signal blocked, none of the parent's handlers can run in the child before
	 * it resets them; the child unblocks once it has. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	f->pid = fork();
	if (f->pid == 0) {
		close(sv[0]);
		farm__child_main(f, sv[1], parent);
	}
	err = f->pid < 0 ? -errno : 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	if (err) {
		f->pid = 0;
		close(sv[0]);
		return err;
	}
	f->ctl = sv[0];

	/* The child has its copies of the listeners; the parent keeps only the REFUSE ones. */
	for (size_t i = 0; i < f->n; i++) {
		if (f->t[i].spec.kind != FARM_REFUSE && f->t[i].fd >= 0) {
			close(f->t[i].fd);
			f->t[i].fd = -1;
		}
	}

	err = ctl_recv(f->ctl, &m, FARM_READY_TIMEOUT_MS);
	if (err)
		return err;
	if (m.op != FARM_MSG_READY)
		return -EPROTO;
	if (m.value < 0)
		return (int)m.value;
	if (!__atomic_load_n(&f->page->ready, __ATOMIC_ACQUIRE))
		return -EPROTO;
	return 0;
}

int farm_start(const struct farm_target_spec *specs, size_t n, struct farm **ret)
{
	struct farm *f;
	bool need_child = false;
	long pagesz = sysconf(_SC_PAGESIZE);
	int err;

	if (!specs || !ret || n == 0 || n > FARM_MAX_TARGETS)
		return -EINVAL;
	f = calloc(1, sizeof(*f) + n * sizeof(f->t[0]));
	if (!f)
		return -ENOMEM;
	f->ctl = -1;
	f->n = n;
	for (size_t i = 0; i < n; i++)
		f->t[i].fd = -1;

	for (size_t i = 0; i < n; i++) {
		err = spec_normalise(&specs[i], &f->t[i].spec);
		if (err)
			goto fail;
		if (specs[i].kind != FARM_REFUSE)
			need_child = true;
	}

	f->page_len = sizeof(struct farm_page) + n * sizeof(struct farm_slot);
	f->page_len = (f->page_len + (size_t)pagesz - 1) / (size_t)pagesz * (size_t)pagesz;
	f->page = mmap(NULL, f->page_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (f->page == MAP_FAILED) {
		f->page = NULL;
		err = -errno;
		goto fail;
	}

	for (size_t i = 0; i < n; i++) {
		err = target_open(&f->t[i]);
		if (err)
			goto fail;
		if (farm__is_tls(f->t[i].spec.kind)) {
			err = farm__tls_ctx(&f->t[i]);
			if (err)
				goto fail;
		}
		/* The caller's strings are read now and not kept. */
		f->t[i].spec.tls_cert = f->t[i].spec.tls_key = NULL;
		f->t[i].spec.tls_alpn = f->t[i].spec.tls_client_ca = NULL;
	}

	if (need_child) {
		err = start_child(f);
		if (err)
			goto fail;
	} else {
		f->page->ready = 1;
	}
	*ret = f;
	return 0;
fail:
	farm_free(f);
	return err;
}

uint16_t farm_port(const struct farm *f, size_t i)
{
	if (!f || i >= f->n)
		return 0;
	return f->t[i].port;
}

int farm_target_kind(const struct farm *f, size_t i)
{
	if (!f || i >= f->n)
		return -EINVAL;
	return (int)f->t[i].spec.kind;
}

pid_t farm_pid(const struct farm *f)
{
	return f ? f->pid : 0;
}

size_t farm_size(const struct farm *f)
{
	return f ? f->n : 0;
}

int farm_counters(const struct farm *f, size_t i, struct farm_counters *ret)
{
	const struct farm_slot *s;

	if (!f || !ret || i >= f->n)
		return -EINVAL;
	s = &f->page->slot[i];
	/* Seqlock read (the child's side is slot_add in farm_child.c). Bounded, because a child
	 * killed between its two seq stores leaves seq odd for good. */
	for (int tries = 0; tries < 100000; tries++) {
		struct farm_counters c;
		uint64_t s0 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE), s1;

		if (s0 & 1) {
			if (tries > 100)
				sched_yield();
			continue;
		}
		c.accepted = __atomic_load_n(&s->accepted, __ATOMIC_RELAXED);
		c.open = __atomic_load_n(&s->open, __ATOMIC_RELAXED);
		c.dropped = __atomic_load_n(&s->dropped, __ATOMIC_RELAXED);
		c.peer_closed = __atomic_load_n(&s->peer_closed, __ATOMIC_RELAXED);
		c.fd_exhausted = __atomic_load_n(&s->fd_exhausted, __ATOMIC_RELAXED);
		c.tls_handshakes = __atomic_load_n(&s->tls_handshakes, __ATOMIC_RELAXED);
		c.tls_resumed = __atomic_load_n(&s->tls_resumed, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s1 = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
		if (s0 == s1) {
			*ret = c;
			return 0;
		}
	}
	return -EAGAIN;
}

int farm_drop_all(struct farm *f, size_t i)
{
	struct farm_msg m = { .op = FARM_MSG_DROP_ALL };
	int64_t deadline;
	ssize_t r;

	if (!f || i >= f->n)
		return -EINVAL;
	if (f->t[i].spec.kind == FARM_REFUSE || f->t[i].spec.kind == FARM_BLACKHOLE)
		return 0;
	m.target = (uint32_t)i;
	m.id = ++f->next_id;
	do
		r = send(f->ctl, &m, sizeof(m), MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == ECONNRESET ? -EPIPE : -errno;

	deadline = mono_ms() + FARM_REPLY_TIMEOUT_MS;
	for (;;) {
		struct farm_msg reply;
		int64_t left = deadline - mono_ms();
		int err = ctl_recv(f->ctl, &reply, left > 0 ? (int)left : 0);

		if (err)
			return err;
		/* A late reply to an earlier request that timed out: skip it. */
		if (reply.op != FARM_MSG_DROPPED || reply.id != m.id)
			continue;
		return reply.value > INT_MAX ? INT_MAX : (int)reply.value;
	}
}

int farm_stop(struct farm *f)
{
	if (f)
		farm_free(f);
	return 0;
}
