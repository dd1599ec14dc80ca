/* scratch.c — see scratch.h. */
#include "scratch.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *tu_tmpdir(const char *prefix)
{
	const char *base = getenv("TMPDIR");
	char *path = malloc(4096);
	if (!path)
		abort();
	snprintf(path, 4096, "%s/%s-XXXXXX", base && *base ? base : "/tmp", prefix);
	if (!mkdtemp(path)) {
		fprintf(stderr, "mkdtemp %s: %s\n", path, strerror(errno));
		abort();
	}
	return path;
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	if (remove(path) < 0)
		fprintf(stderr, "could not remove %s: %s\n", path, strerror(errno));
	return 0;
}

void tu_rmrf(char *dir)
{
	if (!dir)
		return;
	if (dir[0])
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

char *tu_path(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (!p)
		abort();
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

char *tu_slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	size_t cap = 4096, len = 0, got;
	char *buf = malloc(cap);
	if (!buf)
		abort();
	while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += got;
		if (cap - len - 1 == 0) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
	}
	fclose(f);
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	return buf;
}

int tu_spit(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	size_t put = fwrite(buf, 1, len, f);
	int ret = fclose(f);
	return put == len && ret == 0 ? 0 : -EIO;
}

uint64_t tu_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double tu_now_s(void)
{
	return (double)tu_now_ns() / 1e9;
}

void tu_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
