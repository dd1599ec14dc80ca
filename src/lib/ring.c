/* ring.c — the io_uring ring: setting it up (probing flags, opcodes and features at run
 * time), enabling it from its owner thread, and handing out SQEs. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ring.h"

#include "clock.h"
#include "sockerr.h"

/* Reads a small integer sysctl; -1 when it is absent or unreadable. */
static int read_sysctl(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	int v = -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static void explain_setup_error(int err)
{
	switch (err) {
	case EPERM: {
		int dis = read_sysctl("/proc/sys/kernel/io_uring_disabled");
		if (dis == 2)
			rd_set_create_error("io_uring is disabled: sysctl kernel.io_uring_disabled=2 "
					    "(set it to 0, or to 1 and add this user's group to "
					    "kernel.io_uring_group)");
		else if (dis == 1)
			rd_set_create_error("io_uring is restricted: sysctl kernel.io_uring_disabled=1 "
					    "and this process is not in kernel.io_uring_group");
		else if (dis == 0)
			rd_set_create_error("io_uring_setup was refused (EPERM) although sysctl "
					    "kernel.io_uring_disabled is 0: a seccomp profile (a "
					    "container runtime's default, for example) blocks it; allow "
					    "io_uring_setup, io_uring_enter and io_uring_register");
		else
			rd_set_create_error("io_uring_setup was refused (EPERM): a seccomp profile "
					    "(a container runtime's default, for example) or a security "
					    "module blocks it (this kernel has no kernel.io_uring_disabled "
					    "sysctl); allow io_uring_setup, io_uring_enter and "
					    "io_uring_register");
		break;
	}
	case ENOSYS:
		rd_set_create_error("this kernel has no io_uring (ENOSYS): it was built without "
				    "CONFIG_IO_URING, or is older than 5.1; redial needs 5.19 or "
				    "later");
		break;
	case ENOMEM:
		rd_set_create_error("could not allocate the io_uring ring (ENOMEM): lower "
				    "sq_entries/cq_entries, or raise RLIMIT_MEMLOCK on kernels "
				    "before 5.12");
		break;
	case EMFILE:
	case ENFILE:
		rd_set_create_error("no file descriptor left for the io_uring ring (%s)",
				    err == EMFILE ? "EMFILE" : "ENFILE");
		break;
	default:
		rd_set_create_error("io_uring_setup failed: %s", strerror(err));
		break;
	}
}

/* The flags that help a single issuer, in the order they are given up when the kernel
 * refuses them (DEFER_TASKRUN needs SINGLE_ISSUER, so it goes first). */
static const uint32_t optional_flags[] = {
	IORING_SETUP_DEFER_TASKRUN,
	IORING_SETUP_SINGLE_ISSUER,
	IORING_SETUP_R_DISABLED,
	IORING_SETUP_COOP_TASKRUN,
	IORING_SETUP_TASKRUN_FLAG,
	IORING_SETUP_SUBMIT_ALL,
};

static int init_ring(struct redial *r)
{
	uint32_t flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_SINGLE_ISSUER |
			 IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG |
			 IORING_SETUP_SUBMIT_ALL | IORING_SETUP_R_DISABLED;
	if (!(r->cfg.flags & REDIAL_CFG_NO_DEFER_TASKRUN))
		flags |= IORING_SETUP_DEFER_TASKRUN;
	/* COOP_TASKRUN and DEFER_TASKRUN are mutually compatible; TASKRUN_FLAG needs one. */

	for (size_t drop = 0;; drop++) {
		struct io_uring_params p;
		memset(&p, 0, sizeof(p));
		p.flags = flags;
		p.cq_entries = r->cfg.cq_entries;
		int ret = io_uring_queue_init_params(r->cfg.sq_entries, &r->ring, &p);
		if (ret == 0) {
			r->setup_flags = flags;
			r->features = p.features;
			return 0;
		}
		if (ret != -EINVAL || drop >= sizeof(optional_flags) / sizeof(optional_flags[0])) {
			explain_setup_error(-ret);
			return ret;
		}
		/* Give up the next optional flag the kernel may not know. */
		flags &= ~optional_flags[drop];
		if (!(flags & IORING_SETUP_SINGLE_ISSUER))
			flags &= ~IORING_SETUP_DEFER_TASKRUN;
		if (!(flags & (IORING_SETUP_COOP_TASKRUN | IORING_SETUP_DEFER_TASKRUN)))
			flags &= ~IORING_SETUP_TASKRUN_FLAG;
	}
}

/* An expired TIMEOUT carrying IORING_TIMEOUT_ETIME_SUCCESS must let its link run. Checked on
 * a scratch ring: a 1 ns timeout linked to a NOP. */
static int probe_etime_success(void)
{
	struct io_uring ring;
	int ret = io_uring_queue_init(4, &ring, 0);
	if (ret < 0)
		return ret;
	struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = 1 };
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	io_uring_prep_timeout(sqe, &ts, 0, IORING_TIMEOUT_ETIME_SUCCESS);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = 1;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	sqe->user_data = 2;
	ret = io_uring_submit_and_wait(&ring, 2);
	int nop_res = -ENOENT;
	if (ret >= 0) {
		for (int i = 0; i < 2; i++) {
			struct io_uring_cqe *cqe;
			if (io_uring_wait_cqe(&ring, &cqe) < 0)
				break;
			if (cqe->user_data == 2)
				nop_res = cqe->res;
			io_uring_cqe_seen(&ring, cqe);
		}
		ret = nop_res == 0 ? 0 : -EOPNOTSUPP;
	}
	io_uring_queue_exit(&ring);
	return ret;
}

/* Whether the kernel reads SO_ERROR as an io_uring socket command (URING_CMD with
 * SOCKET_URING_OP_GETSOCKOPT, Linux 6.7): then a chain checks its connect in the ring
 * instead of with a getsockopt per connection. Tried on a scratch ring and a scratch
 * socket, because the opcode probe only says URING_CMD exists, not what sockets accept. */
static bool probe_socket_error_cmd(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct io_uring ring;
	if (io_uring_queue_init(2, &ring, 0) < 0) {
		close(fd);
		return false;
	}
	int err = -1;
	int res = -ENOENT;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	rd_prep_socket_error(sqe, fd, &err);
	struct io_uring_cqe *cqe;
	if (io_uring_submit_and_wait(&ring, 1) == 1 && io_uring_peek_cqe(&ring, &cqe) == 0) {
		res = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
	}
	io_uring_queue_exit(&ring);
	close(fd);
	return res == (int)sizeof(int) && err == 0;
}

static const struct {
	int op;
	const char *name;
} required_ops[] = {
	{ IORING_OP_SOCKET, "IORING_OP_SOCKET" },
	{ IORING_OP_CONNECT, "IORING_OP_CONNECT" },
	{ IORING_OP_TIMEOUT, "IORING_OP_TIMEOUT" },
	{ IORING_OP_TIMEOUT_REMOVE, "IORING_OP_TIMEOUT_REMOVE" },
	{ IORING_OP_ASYNC_CANCEL, "IORING_OP_ASYNC_CANCEL" },
	{ IORING_OP_POLL_ADD, "IORING_OP_POLL_ADD" },
	{ IORING_OP_POLL_REMOVE, "IORING_OP_POLL_REMOVE" },
	{ IORING_OP_CLOSE, "IORING_OP_CLOSE" },
};

int rd_ring_setup(struct redial *r)
{
	int ret = init_ring(r);
	if (ret < 0)
		return ret;
	r->ring_ok = true;

	if (!(r->features & IORING_FEAT_NODROP)) {
		rd_set_create_error("the kernel lacks IORING_FEAT_NODROP (5.5+): completions could "
				    "be lost when the CQ overflows");
		return -EOPNOTSUPP;
	}

	struct io_uring_probe *probe = io_uring_get_probe_ring(&r->ring);
	if (!probe) {
		rd_set_create_error("io_uring opcode probe failed (IORING_REGISTER_PROBE, 5.6+)");
		return -EOPNOTSUPP;
	}
	for (size_t i = 0; i < sizeof(required_ops) / sizeof(required_ops[0]); i++) {
		if (!io_uring_opcode_supported(probe, required_ops[i].op)) {
			rd_set_create_error("the kernel lacks %s, which redial needs",
					    required_ops[i].name);
			io_uring_free_probe(probe);
			return -EOPNOTSUPP;
		}
	}
	bool install = probe->last_op >= IORING_OP_FIXED_FD_INSTALL_VALUE &&
		       io_uring_opcode_supported(probe, IORING_OP_FIXED_FD_INSTALL_VALUE);
	bool uring_cmd = probe->last_op >= IORING_OP_URING_CMD &&
			 io_uring_opcode_supported(probe, IORING_OP_URING_CMD);
	io_uring_free_probe(probe);
	r->fd_install = install && !(r->cfg.flags & REDIAL_CFG_NO_FD_INSTALL);
	r->sockerr_cmd = r->fd_install && uring_cmd && probe_socket_error_cmd();
	r->cqe_skip = (r->features & IORING_FEAT_CQE_SKIP) != 0;

	ret = probe_etime_success();
	if (ret < 0) {
		rd_set_create_error("the kernel does not honour IORING_TIMEOUT_ETIME_SUCCESS "
				    "(5.16+): %s", strerror(-ret));
		return ret == -EOPNOTSUPP ? ret : -EOPNOTSUPP;
	}

	if (r->fd_install) {
		/* Direct descriptors are bounded by RLIMIT_NOFILE; max_connecting was clamped
		 * to it by the caller. */
		ret = io_uring_register_files_sparse(&r->ring, r->natt);
		if (ret < 0) {
			rd_set_create_error("could not register %u direct descriptors: %s", r->natt,
					    strerror(-ret));
			return ret;
		}
	}

	/* Connects are poll driven and never need io-wq; cap its workers anyway so that a
	 * burst that does go async cannot spawn hundreds of threads. */
	unsigned int workers[2] = { r->cfg.iowq_max_workers, r->cfg.iowq_max_workers };
	ret = io_uring_register_iowq_max_workers(&r->ring, workers);
	if (ret < 0 && ret != -EINVAL) {
		rd_set_create_error("could not cap io-wq workers: %s", strerror(-ret));
		return ret;
	}

	if (!(r->setup_flags & IORING_SETUP_R_DISABLED))
		r->enabled = true;
	return 0;
}

/* Lifts R_DISABLED from the thread that runs the manager, which makes it the single
 * issuer. Must be called before the first submission. */
int rd_ring_enable(struct redial *r)
{
	if (r->enabled)
		return 0;
	/* liburing 2.3 declares io_uring_enable_rings but its shared library does not export
	 * it, so make the register call directly. */
	long ret = syscall(__NR_io_uring_register, r->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS,
			   NULL, 0);
	if (ret < 0)
		return -errno;
	r->enabled = true;
	/* Registering the ring fd saves an fdget per io_uring_enter; optional. */
	(void)io_uring_register_ring_fd(&r->ring);
	return 0;
}

void rd_ring_teardown(struct redial *r)
{
	if (r->ring_ok) {
		io_uring_queue_exit(&r->ring);
		r->ring_ok = false;
	}
}

struct io_uring_sqe *rd_get_sqe(struct redial *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
	if (!sqe) {
		/* SQ full: push what is there to the kernel and try once more. */
		int ret = io_uring_submit(&r->ring);
		if (ret > 0)
			r->submits++;
		sqe = io_uring_get_sqe(&r->ring);
		if (!sqe) {
			r->sq_full++;
			return NULL;
		}
	}
	r->inflight++;
	r->sqes++;
	return sqe;
}

bool rd_sqe_skip_success(struct redial *r, struct io_uring_sqe *sqe)
{
	if (!r->cqe_skip)
		return false;
	/* No LINK_TIMEOUT may follow such an op (the kernel refuses it); none of the SQEs
	 * marked here has one. */
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	r->inflight--;
	return true;
}

bool rd_reserve_sqes(struct redial *r, unsigned need)
{
	if (io_uring_sq_space_left(&r->ring) >= need)
		return true;
	int ret = io_uring_submit(&r->ring);
	if (ret > 0)
		r->submits++;
	if (io_uring_sq_space_left(&r->ring) >= need)
		return true;
	r->sq_full++;
	return false;
}

int rd_ring_submit_now(struct redial *r)
{
	int ret = io_uring_submit_and_get_events(&r->ring);
	r->submits++;
	return ret < 0 ? ret : 0;
}

/* Runs deferred completions while IORING_SQ_TASKRUN says some wait, in at most `turns`
 * enters, and stops early when the CQ is half full so that the reap makes room first.
 * all: each enter asks for a whole CQ with a zero timeout, which runs everything waiting
 * at once (-ETIME is the normal answer) but arms an hrtimer that is already due; else each
 * enter is a plain GETEVENTS with min_complete 0, which runs a batch and returns. */
static void run_task_work(struct redial *r, bool all, int turns)
{
	for (int i = 0; i < turns; i++) {
		if (!(IO_URING_READ_ONCE(*r->ring.sq.kflags) & IORING_SQ_TASKRUN))
			return;
		struct __kernel_timespec zero = { 0, 0 };
		struct io_uring_cqe *cqe;
		int ret = all ? io_uring_submit_and_wait_timeout(&r->ring, &cqe,
								 r->ring.cq.ring_entries, &zero,
								 NULL)
			      : io_uring_submit_and_get_events(&r->ring);
		r->submits++;
		if (ret < 0 && ret != -ETIME && ret != -EINTR)
			return; /* -EBUSY/-EAGAIN: the reap makes room; the next turn goes on */
		if (io_uring_cq_ready(&r->ring) >= r->ring.cq.ring_entries / 2)
			return;
	}
}

void rd_ring_run_deferred(struct redial *r)
{
	/* IORING_SQ_TASKRUN (we ask for TASKRUN_FLAG) says completions wait as task work. A
	 * GETEVENTS enter with min_complete 0 runs a batch of them (the kernel's default is 20)
	 * and returns at once; we repeat it while the flag stays set. It also submits what
	 * the callbacks queued: a TLS cancel by fd (tls.c) must find the ops it cancels
	 * already issued, not waiting in the SQ or behind a link. The alternative, asking
	 * for a whole CQ with a zero timeout, runs everything in one enter but arms an hrtimer
	 * that is already due each time: the timer interrupt and, when it loses the race with
	 * schedule(), a sleep and a wake-up. In the churn benchmark (a steady trickle of task
	 * work, so the flag is set on almost every turn) that made a connection cost 37 us of
	 * CPU against 32 us with this loop (redial-bench --only churn, A/B, same run), for
	 * about 0.02 more system calls per connection. Bounded, in case completions keep
	 * arriving. */
	run_task_work(r, false, 64);
}

void rd_ring_drain_deferred(struct redial *r)
{
	run_task_work(r, true, 8);
}
