/* farm_int.h - what the farm's parent and child share: the counters page, the control
 * messages, and the parent's view of the targets (which the child inherits through fork). */
#ifndef REDIAL_FARM_INT_H
#define REDIAL_FARM_INT_H

#include "farm.h"

#include <stdbool.h>
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
	uint64_t tls_handshakes;
	uint64_t tls_resumed;
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
	struct farm_target_spec spec; /* normalised: family, backlog, rate filled in; the TLS
	                               * strings point at nothing once farm_start returns */
	uint16_t port;
	int fd; /* parent: the REFUSE socket, else -1. Before fork: every socket */
	void *tls; /* TLS kinds: the SSL_CTX, made before fork (farm_tls.c) */
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

/* farm_tls.c. The parent builds each TLS target's context before fork; the child serves
 * connections with it. */
bool farm__is_tls(enum farm_kind k);
int farm__tls_ctx(struct farm_target *t);
void farm__tls_ctx_free(struct farm_target *t);
/* One connection's TLS object on fd, or NULL. */
void *farm__tls_new(void *ctx, int fd);
/* Drives the handshake: 1 done, 0 waiting for the peer, -1 failed. */
int farm__tls_handshake(void *ssl);
bool farm__tls_resumed(void *ssl);
/* Reads what the peer sent and echoes it: 0 waiting for more, -1 the peer closed or failed. */
int farm__tls_echo(void *ssl);
/* Frees the object; notify sends close_notify first (best effort). */
void farm__tls_free(void *ssl, bool notify);

/* Runs the child: never returns. ctl is the child's end of the control socket. */
_Noreturn void farm__child_main(struct farm *f, int ctl, pid_t parent);

#endif /* REDIAL_FARM_INT_H */
