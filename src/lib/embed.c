/* embed.c — living inside an application's loop: owner thread, readiness fd, wake-up, posted
 * work.
 *
 * Why redial_fd can go quiet without this file's care: the fd is an eventfd registered
 * with the ring, and under IORING_SETUP_DEFER_TASKRUN the kernel signals it only when its
 * list of deferred completions goes from empty to non-empty. Completions that arrive
 * while the list is already non-empty (because nobody ran it since the last signal) signal
 * nothing. So before a run or poll returns, rd_embed_settle_fd runs that list
 * (io_uring_get_events) — after which the next completion signals again — and signals the
 * fd itself for whatever is already waiting in user space. */
#include "embed.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"
#include "ring.h"

struct rd_post {
	struct rd_post *next;
	redial_post_fn fn;
	void *arg;
};

int rd_embed_init(struct redial *r)
{
	r->owner = pthread_self();
	atomic_store(&r->efd, -1);
	r->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->wake_fd < 0)
		return -errno;
	int ret = pthread_mutex_init(&r->post_mu, NULL);
	if (ret) {
		close(r->wake_fd);
		r->wake_fd = -1;
		return -ret;
	}
	return 0;
}

void rd_embed_free(struct redial *r)
{
	if (r->wake_fd < 0)
		return; /* never initialised */
	struct rd_post *p = r->post_head;
	while (p) {
		struct rd_post *next = p->next;
		rd_free(p);
		p = next;
	}
	pthread_mutex_destroy(&r->post_mu);
	close(r->wake_fd);
	int efd = atomic_load(&r->efd);
	if (efd >= 0)
		close(efd);
}

int rd_owner_check(struct redial *r, bool claim)
{
	pthread_t self = pthread_self();
	if (pthread_equal(self, r->owner))
		return 0;
	/* Before the ring is enabled nothing binds the manager to a thread yet: the first
	 * thread to run it (the one the kernel will know as the ring's single issuer) takes it
	 * over, which allows creating it on one thread and running it on another. */
	if (claim && !r->enabled && !r->in_run && !r->in_dispatch) {
		r->owner = self;
		return 0;
	}
	return -REDIAL_E_NOT_OWNER;
}

static void signal_fd(int fd)
{
	uint64_t one = 1;
	/* EAGAIN: the counter is at its maximum, so the fd is readable anyway. */
	(void)!write(fd, &one, sizeof(one));
}

void rd_embed_kick(struct redial *r)
{
	if (r->in_run || r->in_dispatch)
		return; /* the loop is running: it sees the work before it returns */
	int efd = atomic_load(&r->efd);
	if (efd >= 0)
		signal_fd(efd);
}

void rd_embed_settle_fd(struct redial *r)
{
	int efd = atomic_load(&r->efd);
	if (efd < 0 || !r->enabled)
		return;
	rd_ring_run_deferred(r);
	/* Deferred completions it left (its batches are bounded) count as work too. */
	bool deferred = IO_URING_READ_ONCE(*r->ring.sq.kflags) & IORING_SQ_TASKRUN;
	if (io_uring_cq_ready(&r->ring) || deferred || r->nevq || r->nlate ||
	    atomic_load(&r->post_pending))
		signal_fd(efd);
}

bool rd_embed_pump(struct redial *r)
{
	struct io_uring_sqe *sqe;
	if (r->wake_remove) {
		/* Shutdown waits for every op: take the watch out of the ring. */
		if (r->wake_watch && !r->wake_watch_cancel) {
			if (!(sqe = rd_get_sqe(r)))
				return false;
			io_uring_prep_poll_remove(sqe, rd_ud(RD_OP_WAKE_FD, 0, 0));
			sqe->user_data = rd_ud(RD_OP_WAKE_FD, 1, 0);
			r->wake_watch_cancel = true;
		}
		return true;
	}
	if (r->wake_watch)
		return true;
	sqe = rd_get_sqe(r);
	if (!sqe)
		return false;
	io_uring_prep_poll_add(sqe, r->wake_fd, POLLIN);
	sqe->user_data = rd_ud(RD_OP_WAKE_FD, 0, 0);
	r->wake_watch = true;
	return true;
}

void rd_embed_cqe(struct redial *r, uint32_t gen, int res)
{
	(void)res;
	if (gen == 1) { /* the POLL_REMOVE of shutdown */
		r->wake_watch_cancel = false;
		return;
	}
	r->wake_watch = false;
	uint64_t v;
	(void)!read(r->wake_fd, &v, sizeof(v)); /* drain; EAGAIN when already empty */
}

void rd_embed_run_posted(struct redial *r)
{
	if (!atomic_load(&r->post_pending))
		return;
	pthread_mutex_lock(&r->post_mu);
	struct rd_post *p = r->post_head;
	r->post_head = r->post_tail = NULL;
	atomic_store(&r->post_pending, false);
	bool closed = r->post_closed; /* being destroyed: what is still queued is dropped */
	pthread_mutex_unlock(&r->post_mu);
	bool was = r->in_dispatch;
	r->in_dispatch = true; /* a posted function is called like a callback */
	while (p) {
		struct rd_post *next = p->next;
		if (!closed && !r->destroy_pending)
			p->fn(r, p->arg);
		rd_free(p);
		p = next;
	}
	r->in_dispatch = was;
}

int redial_wake(redial_t *r)
{
	if (!r)
		return -EINVAL;
	uint64_t one = 1;
	if (write(r->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	int efd = atomic_load(&r->efd);
	if (efd >= 0)
		signal_fd(efd);
	return 0;
}

int redial_post(redial_t *r, redial_post_fn fn, void *arg)
{
	if (!r || !fn)
		return -EINVAL;
	struct rd_post *p = rd_malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->next = NULL;
	p->fn = fn;
	p->arg = arg;
	pthread_mutex_lock(&r->post_mu);
	if (r->post_closed) {
		pthread_mutex_unlock(&r->post_mu);
		rd_free(p);
		return -ESHUTDOWN;
	}
	if (r->post_tail)
		r->post_tail->next = p;
	else
		r->post_head = p;
	r->post_tail = p;
	atomic_store(&r->post_pending, true);
	pthread_mutex_unlock(&r->post_mu);
	return redial_wake(r);
}

void redial_stop(redial_t *r)
{
	if (!r)
		return;
	atomic_store(&r->stop, true);
	(void)redial_wake(r);
}

int redial_timeout_ms(redial_t *r)
{
	if (!r || rd_owner_check(r, false) < 0)
		return 0;
	if (r->nevq || r->nlate || atomic_load(&r->post_pending) ||
	    (r->enabled && io_uring_cq_ready(&r->ring)))
		return 0;
	return -1;
}
