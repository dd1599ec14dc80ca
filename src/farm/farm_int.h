/* farm_int.h - what the farm's parent and child share: the counters page, the control
 * messages, and the parent's view of the targets (which the child inherits through fork). */
#ifndef REDIAL_FARM_INT_H
#define REDIAL_FARM_INT_H

#include "farm.h"

#include <stdint.h>
#include <sys/types.h>

/* Counters of one target in the shared page. The child is the only writer; the parent reads.
 * seq is a seqlock: odd while the child updates, so the parent can take a consistent snapshot
 * without a lock that a killed child could leave held. Each slot has its own cache line so
 * the parent polling one target does not slow the child's updates of another. */
struct farm_slot {
	uint64_t seq;
	uint64_t accepted;
	uint64_t open;
	uint64_t dropped;
	uint64_t peer_closed;
	uint64_t fd_exhausted;
	uint64_t pad[2];
};

/* The MAP_SHARED page(s), created before fork. */
struct farm_page {
	uint32_t ready; /* set (release) by the child just before it reports READY */
	uint32_t pad[15];
	struct farm_slot slot[];
};

/* Messages on the SOCK_SEQPACKET control socket; seqpacket keeps each one whole, and its
 * EOF tells the child that the parent is gone. */
enum farm_msg_op {
	FARM_MSG_READY = 1, /* child -> parent: value = 0 or -errno, target = the failing one */
	FARM_MSG_DROP_ALL,  /* parent -> child: close every connection of target */
	FARM_MSG_DROPPED,   /* child -> parent: value = how many were closed */
};

/* id pairs a reply with its request, so a reply that arrives after its request timed out is
 * recognised and skipped instead of answering the next request. */
struct farm_msg {
	uint32_t op;
	uint32_t target;
	uint32_t id;
	uint32_t pad;
	int64_t value;
};

struct farm_target {
	struct farm_target_spec spec; /* normalised: family, backlog, rate filled in */
	uint16_t port;
	int fd; /* parent: the REFUSE socket, else -1. Before fork: every socket */
};

struct farm {
	pid_t pid;                   /* 0: no child */
	int ctl;                     /* parent's end of the control socket, -1 without child */
	uint32_t next_id;            /* of the next control request */
	struct farm_page *page;
	size_t page_len;
	size_t n;
	struct farm_target t[];
};

/* Runs the child: never returns. ctl is the child's end of the control socket. */
_Noreturn void farm__child_main(struct farm *f, int ctl, pid_t parent);

#endif /* REDIAL_FARM_INT_H */
