/* sockerr.h — reading a socket's pending error (SO_ERROR), which both a finished connect
 * and a connection's POLLERR are confirmed with. */
#ifndef RD_SOCKERR_H
#define RD_SOCKERR_H

#include <errno.h>
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

#endif
