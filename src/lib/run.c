/* run.c — the calls that run a manager: redial_run, redial_poll, and redial_fd for an
 * application's own loop. They sit above the loop and the manager's lifetime because a
 * run may end by freeing the manager (redial_destroy called from a callback). */
#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "embed.h"
#include "events.h"
#include "loop.h"
#include "manager.h"

int redial_run(redial_t *r, uint64_t timeout_ns)
{
	if (!r)
		return -EINVAL;
	int ret = rd_owner_check(r, true);
	if (ret < 0)
		return ret;
	if (r->in_run || r->in_dispatch)
		return -EBUSY;
	ret = rd_ring_enable(r);
	if (ret < 0)
		return ret;
	r->in_run = true;
	/* The fds of the DISCONNECTED events the application saw last time: it has had its
	 * chance to take them out of its epoll set. */
	rd_late_close_run(r, true);
	uint64_t start = rd_clock_ns();
	uint64_t deadline = timeout_ns == UINT64_MAX || start + timeout_ns < start
				    ? UINT64_MAX
				    : start + timeout_ns;
	int delivered = 0;
	/* Events kept back by an earlier redial_stop come first. */
	delivered += rd_ev_dispatch(r);
	for (;;) {
		uint64_t now = rd_clock_ns();
		uint64_t wait = deadline == UINT64_MAX ? REDIAL_SEC(3600)
			       : deadline > now       ? deadline - now
						      : 0;
		/* Inside one long run the application has no batch of its own between our turns:
		 * the fds of DISCONNECTED events delivered by the previous turn (their callbacks
		 * have returned) are closed now, or a run that lasts hours would hold every one
		 * of them (and the fd budget with them). */
		rd_late_close_run(r, true);
		ret = rd_loop_once(r, wait);
		if (ret < 0) {
			r->in_run = false;
			return ret;
		}
		delivered += ret;
		if (r->stop || wait == 0 || rd_clock_ns() >= deadline)
			break;
	}
	r->in_run = false;
	if (r->destroy_pending) {
		rd_destroy_now(r); /* redial_destroy from a callback: the manager is gone now */
		return delivered;
	}
	/* A stop from another thread that arrived after this point is for the next run. */
	atomic_store(&r->stop, false);
	rd_loop_flush(r);
	rd_embed_settle_fd(r);
	return delivered;
}

int redial_poll(redial_t *r)
{
	return redial_run(r, 0);
}

/* An eventfd registered with the ring, made on first use. The ring fd itself would do
 * without DEFER_TASKRUN, but with it the kernel queues completions as task work for the
 * owning thread and wakes nobody sleeping in epoll on the ring fd; an eventfd it signals. */
int redial_fd(redial_t *r)
{
	if (!r)
		return -EINVAL;
	int ret = rd_owner_check(r, true);
	if (ret < 0)
		return ret;
	if (r->efd >= 0)
		return r->efd;
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	/* Work queued before the fd existed (endpoints added, started or cancelled from
	 * outside the loop) signalled nothing, and an application that adds its endpoints
	 * first and asks for the fd after would wait on it for ever: a new fd starts readable.
	 * At worst that is one redial_poll with nothing to do. */
	uint64_t one = 1;
	if (write(fd, &one, sizeof(one)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = io_uring_register_eventfd(&r->ring, fd);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	r->efd = fd;
	return fd;
}
