/* sockerr.h — reading a socket's pending error (SO_ERROR), which both a finished connect
 * and a connection's POLLERR are confirmed with: by a system call, or as an io_uring
 * socket command linked into an attempt's chain. */
#ifndef RD_SOCKERR_H
#define RD_SOCKERR_H

#include <errno.h>
#include <liburing.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

/* The socket's pending error (0 when none), or the errno of getsockopt itself. */
static inline int rd_socket_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

/* SOCKET_URING_OP_GETSOCKOPT (Linux 6.7), spelled out because liburing 2.3's headers predate
 * it. Whether the kernel has it is probed (rd_ring_setup), not assumed. */
#define RD_SOCKET_URING_OP_GETSOCKOPT 2u

/* An IORING_OP_URING_CMD that reads fd's SO_ERROR into *err: the CQE's res is sizeof(int)
 * on success, and *err is written before that CQE is posted. The fields are those of the
 * kernel's socket command (level and optname share addr, optlen is file_index, optval is
 * addr3, cmd_op is the low half of off). */
static inline void rd_prep_socket_error(struct io_uring_sqe *sqe, int fd, int *err)
{
	const uint32_t cmd_op[2] = { RD_SOCKET_URING_OP_GETSOCKOPT, 0 };
	const uint32_t level_name[2] = { SOL_SOCKET, SO_ERROR };
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	memcpy(&sqe->off, cmd_op, sizeof(cmd_op)); /* two u32 views of one u64: any byte order */
	memcpy(&sqe->addr, level_name, sizeof(level_name));
	sqe->file_index = sizeof(*err);
	sqe->addr3 = (uint64_t)(uintptr_t)err;
}

#endif
