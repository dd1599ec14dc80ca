/* netns.c — see netns.h. */
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	int err = n < 0 ? -errno : (size_t)n == strlen(text) ? 0 : -EIO;
	close(fd);
	return err;
}

int tu_unshare(int flags, char *why, size_t whylen)
{
	if (geteuid() != 0 || unshare(flags) < 0) {
		/* Unprivileged (or a root without the capability): a user namespace of our own
		 * first, with ourselves as its root. */
		char map[64];
		uid_t uid = geteuid();
		gid_t gid = getegid();
		if (unshare(CLONE_NEWUSER | flags) < 0) {
			snprintf(why, whylen, "unshare: %s", strerror(errno));
			return -errno;
		}
		int err = write_text("/proc/self/setgroups", "deny");
		if (err == 0 || err == -ENOENT) {
			snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
			err = write_text("/proc/self/uid_map", map);
		}
		if (err == 0) {
			snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
			err = write_text("/proc/self/gid_map", map);
		}
		if (err < 0) {
			snprintf(why, whylen, "user namespace maps: %s", strerror(-err));
			return err;
		}
	}
	/* Mounts made here must not leak to the parent's namespace. */
	if ((flags & CLONE_NEWNS) && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		snprintf(why, whylen, "mount --make-rprivate /: %s", strerror(errno));
		return -errno;
	}
	if (flags & CLONE_NEWNET) {
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct ifreq ifr;
		memset(&ifr, 0, sizeof(ifr));
		strcpy(ifr.ifr_name, "lo");
		int err = 0;
		if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
			err = -errno;
		ifr.ifr_flags |= IFF_UP;
		if (err == 0 && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			err = -errno;
		if (fd >= 0)
			close(fd);
		if (err < 0) {
			snprintf(why, whylen, "ip link set lo up: %s", strerror(-err));
			return err;
		}
	}
	return 0;
}
