/* embed_alloc.c — a program linked with libredial (EMBED_LINK: "static" for libredial.a,
 * "shared" for libredial.so) keeps glibc's malloc: linking the library must not bring in
 * another allocator that takes over the application's malloc/free. A plain program: exit 0
 * when every check passes, 1 otherwise, with one line per failed check on stderr. */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redial.h"

#ifndef EMBED_LINK
#define EMBED_LINK "?"
#endif

#if defined(__SANITIZE_ADDRESS__)
#define EMBED_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define EMBED_SANITIZER 1
#endif
#endif
#ifndef EMBED_SANITIZER
#define EMBED_SANITIZER 0
#endif

static int failures;

__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "embed_alloc (%s): FAIL: ", EMBED_LINK);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	failures++;
}

static int find_jemalloc(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	if (info->dlpi_name && strstr(info->dlpi_name, "jemalloc")) {
		snprintf(data, 256, "%s", info->dlpi_name);
		return 1;
	}
	return 0;
}

int main(void)
{
	/* Use the library, so that whatever it brings is initialised. */
	struct redial_config cfg;
	redial_config_init(&cfg);
	cfg.max_endpoints = 64;
	redial_t *r = NULL;
	int ret = redial_create(&cfg, &r);
	if (ret < 0) {
		fprintf(stderr, "embed_alloc (%s): redial_create: %s: %s\n", EMBED_LINK,
			strerror(-ret), redial_strerror_create());
		return 1;
	}
	redial_id_t id;
	if (redial_endpoint_add(r, "127.0.0.1:9", NULL, &id, NULL, 0) < 0)
		fail("redial_endpoint_add failed");
	(void)redial_poll(r);

	/* 1. No jemalloc in the process. */
	char name[256] = "";
	if (dl_iterate_phdr(find_jemalloc, name))
		fail("a jemalloc library is loaded: %s", name);
	if (dlsym(RTLD_DEFAULT, "mallocx") || dlsym(RTLD_DEFAULT, "je_mallocx"))
		fail("jemalloc's mallocx is reachable in the process");

	/* 2. The malloc the program calls is glibc's. */
	void *sym = dlsym(RTLD_DEFAULT, "malloc");
	Dl_info info;
	memset(&info, 0, sizeof(info));
	if (!sym || !dladdr(sym, &info) || !info.dli_fname) {
		fail("dladdr(malloc) found nothing");
	} else if (!EMBED_SANITIZER) {
		if (!strstr(info.dli_fname, "libc.so"))
			fail("malloc comes from %s, not glibc (libc.so.6)", info.dli_fname);
	} else {
		fprintf(stderr, "embed_alloc (%s): sanitizer build: malloc is the sanitizer's (%s)\n",
			EMBED_LINK, info.dli_fname);
	}

	/* 3. It behaves as glibc's: a 40 KiB block comes from glibc's main arena, which
	 * mallinfo2 counts (another allocator's blocks do not show there). */
	if (!EMBED_SANITIZER) {
		struct mallinfo2 before = mallinfo2();
		void *volatile p = malloc(40000);
		struct mallinfo2 after = mallinfo2();
		if (!p)
			fail("malloc(40000) failed");
		else if (after.uordblks < before.uordblks + 40000)
			fail("malloc(40000) did not show in glibc's mallinfo2 (not glibc's malloc)");
		if (p && malloc_usable_size(p) < 40000)
			fail("malloc_usable_size of a 40000-byte block is smaller");
		free(p);
	}

	/* The library and the program pass memory neither owns to the other, but both must
	 * still work together: the program frees what it allocated after the library ran. */
	char *s = strdup("still glibc");
	if (!s || strcmp(s, "still glibc") != 0)
		fail("strdup failed");
	free(s);

	(void)redial_endpoint_remove(r, id);
	redial_destroy(r);
	if (failures)
		return 1;
	printf("embed_alloc (%s): malloc is %s\n", EMBED_LINK,
	       info.dli_fname ? info.dli_fname : "?");
	return 0;
}
