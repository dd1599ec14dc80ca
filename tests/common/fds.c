/* fds.c — see fds.h. */
#include "fds.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define TU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TU_ASAN 1
#endif
#endif
#ifdef TU_ASAN
#include <sanitizer/lsan_interface.h>
#endif

int tu_try_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own */
}

int tu_count_fds(void)
{
	int n = tu_try_count_fds();
	cr_assert_geq(n, 0, "opendir /proc/self/fd: %s", strerror(-n));
	return n;
}

bool tu_leak_check(void)
{
#ifdef TU_ASAN
	return __lsan_do_recoverable_leak_check() == 0;
#else
	return true;
#endif
}
