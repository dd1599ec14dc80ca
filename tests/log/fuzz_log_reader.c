/* fuzz_log_reader.c — libFuzzer target for the event-log reader: any input must parse
 * without a crash, a leak or undefined behaviour, every item must lie inside the input and
 * move forward, and every record must render as text and JSON. The memory reader and the fd
 * reader (fed the same bytes through a memfd) must agree item for item. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log/reader.h"
#include "log/render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	int kind;
	uint64_t offset, length;
};

static size_t walk(struct rd_log_reader *r, size_t size, struct seen *out, size_t cap)
{
	struct rd_log_item it;
	struct rd_strbuf sb = { 0 };
	size_t n = 0;
	uint64_t pos = 0;
	int ret;
	const char *ep = NULL;
	size_t ep_len = 0;

	while ((ret = rd_log_reader_next(r, &it)) == 1) {
		if (it.offset < pos || it.length == 0 || it.offset + it.length > size)
			abort(); /* items must tile the input forward */
		pos = it.offset + it.length;
		if (n < cap)
			out[n] = (struct seen){ it.kind, it.offset, it.length };
		n++;
		if (it.kind != RD_LOG_ITEM_RECORD)
			continue;
		struct rd_log_event ev;
		if (rd_log_decode(&it.rec, &ev) < 0)
			abort(); /* the reader reports undecodable records as corrupt */
		if (ev.str) {
			ep = ev.str; /* valid until the next call: used for this record only */
			ep_len = ev.str_len;
		}
		sb.len = 0;
		rd_log_render_text(&sb, &it, &ev, ep, ep_len);
		rd_log_render_json(&sb, &it, &ev, it.rec.id & 1 ? NULL : ep, ep_len);
		ep = NULL;
	}
	if (ret != 0)
		abort();
	rd_sb_free(&sb);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen a[4096], b[4096];
	struct rd_log_reader *r;

	if (rd_log_reader_mem(data, size, &r) < 0)
		return 0;
	size_t na = walk(r, size, a, 4096);
	rd_log_reader_free(r);

	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return 0;
	}
	if (rd_log_reader_fd(fd, false, &r) == 0) {
		size_t nb = walk(r, size, b, 4096);
		rd_log_reader_free(r);
		if (na != nb)
			abort();
		for (size_t i = 0; i < na && i < 4096; i++)
			if (a[i].kind != b[i].kind || a[i].offset != b[i].offset ||
			    a[i].length != b[i].length)
				abort();
	}
	close(fd);
	return 0;
}
