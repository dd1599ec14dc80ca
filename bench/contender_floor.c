/* contender_floor.c — the floor: the least a program can do with io_uring to keep endpoints
 * connecting. It is the reference for "close to the limit" in redial-bench.
 *
 * Endpoint i owns direct descriptor i, and each attempt is one batched chain:
 *   [TIMEOUT(backoff)] -> SOCKET(direct i) -> CONNECT(i) -> LINK_TIMEOUT(deadline)
 *     -> POLL_ADD(i, RDHUP) -> CLOSE_DIRECT(i)
 * The chain waits for the server's FIN itself, so a connection costs one submission and
 * no user-space decision until it is over. When a connect fails the rest of the chain is
 * cancelled and the failed socket simply stays in slot i until the next SOCKET replaces it.
 * Bookkeeping is what the common semantics need and nothing more: a CQE count per chain,
 * the backoff level, and the in-flight cap. No events, no error table, no timer store: so
 * the floor cannot run `scale` (a 100k table outgrows the direct-descriptor table, which the
 * kernel bounds by RLIMIT_NOFILE, and long waits would all sit in the kernel). */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "contender_common.h"

#define IMPL "floor"
#define BATCH 256
#define CHAIN_MAX 6

enum op { OP_WAIT = 1, OP_SOCKET, OP_CONNECT, OP_LTIMEOUT, OP_POLL, OP_CLOSE };

struct slot {
	uint64_t start_ns;
	uint64_t up_ns;       /* connected at */
	uint64_t prev_delay;
	uint64_t delay;       /* the wait heading the next chain */
	struct __kernel_timespec wait_ts;
	uint32_t level;
	int32_t sock_res;
	int32_t conn_res;
	int32_t lt_res;
	uint16_t pending;
	uint8_t connecting;   /* counted in `inflight` */
};

static struct io_uring ring;
static struct slot *slots;
static struct sockaddr_in *addrs;
static uint32_t *readyq, ready_head, ready_len, nslots;
static uint32_t inflight;
static struct bc_opts opts;
static struct redial_rng rng;
static struct __kernel_timespec conn_ts;
static struct bc_window win;
static struct bc_hold hold;
static uint64_t throttle_until, throttle_delay;

static void ready_push(uint32_t i)
{
	readyq[(ready_head + ready_len++) % nslots] = i;
}

static struct io_uring_sqe *sqe_get(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	if (!sqe) {
		BC_SYS(io_uring_submit(&ring));
		sqe = io_uring_get_sqe(&ring);
		if (!sqe)
			bc_die("io_uring_get_sqe", EBUSY);
	}
	return sqe;
}

static void chain_op(struct io_uring_sqe *sqe, uint32_t i, enum op op, unsigned flags)
{
	io_uring_sqe_set_data64(sqe, (uint64_t)i << 8 | op);
	sqe->flags |= (uint8_t)flags;
	slots[i].pending++;
}

static void start_chain(uint32_t i, uint64_t now)
{
	struct slot *s = &slots[i];
	if (io_uring_sq_space_left(&ring) < CHAIN_MAX)
		BC_SYS(io_uring_submit(&ring));
	struct io_uring_sqe *sqe;
	s->sock_res = s->conn_res = s->lt_res = -ENOENT;
	s->start_ns = now + s->delay;
	if (s->delay) {
		s->wait_ts.tv_sec = (long long)(s->delay / 1000000000u);
		s->wait_ts.tv_nsec = (long long)(s->delay % 1000000000u);
		sqe = sqe_get();
		io_uring_prep_timeout(sqe, &s->wait_ts, 0, IORING_TIMEOUT_ETIME_SUCCESS);
		chain_op(sqe, i, OP_WAIT, IOSQE_IO_LINK);
	}
	sqe = sqe_get();
	io_uring_prep_socket_direct(sqe, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0, i, 0);
	chain_op(sqe, i, OP_SOCKET, IOSQE_IO_LINK);
	sqe = sqe_get();
	io_uring_prep_connect(sqe, (int)i, (struct sockaddr *)&addrs[i], sizeof(addrs[i]));
	chain_op(sqe, i, OP_CONNECT, IOSQE_IO_LINK | IOSQE_FIXED_FILE);
	sqe = sqe_get();
	io_uring_prep_link_timeout(sqe, &conn_ts, 0);
	chain_op(sqe, i, OP_LTIMEOUT, IOSQE_IO_LINK);
	sqe = sqe_get();
	io_uring_prep_poll_add(sqe, (int)i, POLLRDHUP | POLLERR | POLLHUP);
	chain_op(sqe, i, OP_POLL, IOSQE_IO_LINK | IOSQE_FIXED_FILE);
	sqe = sqe_get();
	io_uring_prep_close_direct(sqe, i);
	chain_op(sqe, i, OP_CLOSE, 0);
	s->connecting = 1;
	inflight++;
}

static void schedule(uint32_t i, uint64_t delay)
{
	slots[i].prev_delay = delay;
	slots[i].delay = delay < BC_MIN_WAIT_NS ? 0 : delay;
	ready_push(i);
}

static void connect_done(struct slot *s)
{
	if (s->connecting) {
		s->connecting = 0;
		inflight--;
	}
}

/* The whole chain is in. */
static void chain_done(uint32_t i, uint64_t now)
{
	struct slot *s = &slots[i];
	connect_done(s);
	if (s->conn_res == 0) {
		/* A connection that the server closed: reconnect under the disconnect rule. */
		if (now - s->up_ns >= opts.stable_after_ns) {
			s->level = 0;
			s->prev_delay = 0;
		}
		s->level++;
		schedule(i, redial_backoff_delay(&opts.backoff, s->level, s->prev_delay, &rng));
		return;
	}
	int err = s->sock_res < 0 ? -s->sock_res
		  : s->conn_res == -ECANCELED ? (s->lt_res == -ETIME ? ETIMEDOUT : ECANCELED)
					      : -s->conn_res;
	if (redial_classify(err) == REDIAL_CLASS_LOCAL) {
		bc_window_local_error(&win);
		throttle_delay = throttle_delay ? throttle_delay * 2 : BC_THROTTLE_MIN_NS;
		if (throttle_delay > BC_THROTTLE_MAX_NS)
			throttle_delay = BC_THROTTLE_MAX_NS;
		throttle_until = now + throttle_delay;
		schedule(i, throttle_delay);
		return;
	}
	bc_window_attempt(&win, err, s->start_ns, now);
	s->level++;
	schedule(i, redial_backoff_delay(&opts.backoff, s->level, s->prev_delay, &rng));
}

static void handle_cqe(uint64_t ud, int res, uint64_t now)
{
	uint32_t i = (uint32_t)(ud >> 8);
	struct slot *s = &slots[i];
	switch ((enum op)(ud & 0xff)) {
	case OP_SOCKET:
		s->sock_res = res;
		break;
	case OP_CONNECT:
		s->conn_res = res;
		if (res == 0) {
			connect_done(s);
			s->up_ns = now;
			throttle_delay = 0;
			bc_window_attempt(&win, 0, s->start_ns, now);
			if (opts.scenario == BC_HOLD)
				bc_hold_connected(&hold, now);
		}
		break;
	case OP_LTIMEOUT:
		s->lt_res = res;
		break;
	case OP_POLL:
		if (res > 0 && opts.scenario == BC_HOLD)
			bc_hold_dropped(&hold, now);
		break;
	default:
		break;
	}
	if (--s->pending == 0)
		chain_done(i, now);
}

int main(int argc, char **argv)
{
	bc_parse(argc, argv, IMPL, &opts);
	bc_sites_on = true; /* the liburing calls that enter the kernel go through BC_SYS */
	if (opts.scenario == BC_SCALE) {
		fprintf(stderr, "bench-floor: no scale scenario (see the comment at the top)\n");
		return 3;
	}
	nslots = opts.endpoints;
	if (opts.scenario == BC_HOLD)
		bc_hold_init(&hold, &opts);
	long rss0 = bc_rss();
	redial_rng_seed(&rng, opts.seed);
	conn_ts.tv_sec = (long long)(opts.timeout_ns / 1000000000u);
	conn_ts.tv_nsec = (long long)(opts.timeout_ns % 1000000000u);

	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
		  IORING_SETUP_SUBMIT_ALL;
	p.cq_entries = 65536;
	int ret = io_uring_queue_init_params(2048, &ring, &p);
	if (ret < 0)
		bc_die("io_uring_queue_init", -ret);
	(void)io_uring_register_ring_fd(&ring);
	if ((ret = io_uring_register_files_sparse(&ring, nslots)) < 0)
		bc_die("io_uring_register_files_sparse", -ret);

	slots = calloc(nslots, sizeof(*slots));
	addrs = calloc(nslots, sizeof(*addrs));
	readyq = calloc(nslots, sizeof(*readyq));
	if (!slots || !addrs || !readyq)
		bc_die("calloc", ENOMEM);
	for (uint32_t i = 0; i < nslots; i++) {
		bc_addr(i, opts.port, &addrs[i]);
		ready_push(i);
	}
	if (opts.scenario != BC_HOLD)
		bc_window_init(&win, &opts);

	struct io_uring_cqe *cqes[BATCH];
	for (;;) {
		uint64_t now = bc_now();
		uint64_t next = opts.scenario == BC_HOLD ? bc_hold_tick(&hold, now)
							 : bc_window_tick(&win, now);
		if (!next)
			break;
		while (ready_len && inflight < opts.max_inflight && throttle_until <= now) {
			uint32_t i = readyq[ready_head];
			ready_head = (ready_head + 1) % nslots;
			ready_len--;
			start_chain(i, now);
		}
		if (throttle_until > now && ready_len && throttle_until < next)
			next = throttle_until;
		uint64_t wait = next > now ? next - now : 0;
		struct __kernel_timespec ts = { .tv_sec = (long long)(wait / 1000000000u),
						.tv_nsec = (long long)(wait % 1000000000u) };
		struct io_uring_cqe *cqe;
		/* One io_uring_enter at most (none when a completion is already there and
		 * nothing is to be submitted): the fallback count is an upper bound. */
		ret = BC_SYS(io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL));
		if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EBUSY)
			bc_die("io_uring_submit_and_wait_timeout", -ret);
		now = bc_now();
		unsigned n;
		while ((n = io_uring_peek_batch_cqe(&ring, cqes, BATCH)) > 0) {
			for (unsigned k = 0; k < n; k++)
				handle_cqe(cqes[k]->user_data, cqes[k]->res, now);
			io_uring_cq_advance(&ring, n);
		}
	}
	if (opts.scenario == BC_HOLD)
		bc_hold_report(&hold, IMPL);
	else
		bc_window_report(&win, IMPL, bc_rss() - rss0);
	return 0;
}
