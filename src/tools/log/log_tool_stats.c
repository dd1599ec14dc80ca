/* log_tool_stats.c — redial-log --stats: counts by event, errno and endpoint, and the time
 * span, printed as text or as one JSON object. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "log/render.h"
#include "log_tool.h"

/* The name of a --stats event slot: the reader's for the library's types. */
static const char *ev_slot_name(int slot)
{
	return slot == EV_APP ? "app" : slot == EV_UNKNOWN ? "unknown" : rd_log_type_name((uint16_t)slot);
}

void stats_count(struct stats *st, const struct rd_log_item *it, const struct rd_log_event *ev)
{
	const struct rd_log_record *rec = &it->rec;
	struct rd_u64map_ent *e;
	uint64_t t;

	st->records++;
	st->by_event[ev_index(rec->type)]++;
	switch (rec->type) {
	case REDIAL_LOG_CONNECT_FAILED:
	case REDIAL_LOG_GAVE_UP:
	case REDIAL_LOG_DISCONNECTED:
		if ((e = rd_u64map_upsert(&st->by_errno, (uint64_t)(uint32_t)ev->err | 1ull << 32)))
			e->n++;
		break;
	default:
		break;
	}
	if (rec->id && (e = rd_u64map_upsert(&st->by_endpoint, rec->id)))
		e->n++;
	if (rd_log_record_time(it, &t)) {
		if (!st->have_ts || t < st->first_ts)
			st->first_ts = t;
		if (!st->have_ts || t > st->last_ts)
			st->last_ts = t;
		st->have_ts = true;
	}
}

struct pair {
	uint64_t key, n;
};

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return x->key < y->key ? -1 : x->key > y->key;
}

static struct pair *sorted(const struct rd_u64map *m)
{
	struct pair *v = calloc(m->len + 1, sizeof(*v));
	size_t k = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < m->cap; i++)
		if (m->ent[i].key)
			v[k++] = (struct pair){ m->ent[i].key, m->ent[i].n };
	qsort(v, k, sizeof(*v), pair_cmp);
	return v;
}

static void errno_label(struct rd_strbuf *sb, int err, bool json)
{
	const char *name = redial_errno_name(err);
	if (json && name)
		rd_sb_printf(sb, "\"%s\"", name);
	else if (json)
		rd_sb_printf(sb, "\"%d\"", err);
	else if (name)
		rd_sb_printf(sb, "%s(%d)", name, err);
	else
		rd_sb_printf(sb, "%d", err);
}

static void endpoint_label(struct rd_strbuf *sb, const struct rd_u64map *names, uint64_t id,
			   bool json)
{
	const struct name *nm = name_of(names, id);
	if (json) {
		if (nm)
			rd_sb_json_str(sb, nm->s, nm->len);
		else
			rd_sb_puts(sb, "null");
	} else {
		/* As the records name it, with the id that tells apart endpoints of one address. */
		rd_log_render_endpoint(sb, nm ? nm->s : NULL, nm ? nm->len : 0, id);
	}
}

/* One text row, "  LABEL" padded to *width columns and then the count; or, on the
 * measuring pass (print false), only widens *width to fit the label. */
static void text_row(struct rd_strbuf *sb, const struct rd_strbuf *label, size_t *width,
		     bool print, uint64_t n)
{
	size_t w = rd_sb_columns(label->p, label->len);
	if (!print) {
		if (w > *width)
			*width = w;
		return;
	}
	rd_sb_puts(sb, "  ");
	rd_sb_put(sb, label->p ? label->p : "", label->len);
	for (; w < *width; w++)
		rd_sb_put(sb, " ", 1);
	rd_sb_printf(sb, " %12" PRIu64 "\n", n);
}

/* The rows of the text form, in two passes over the same labels: the first only measures
 * them, so that one column, as wide as the longest label present, holds every section and
 * no count is pushed out of line (a fixed width did not fit TLS_CERT_NOT_YET_VALID(10103),
 * nor an IPv6 endpoint with its id). */
static void text_rows(struct rd_strbuf *sb, const struct stats *st,
		      const struct rd_u64map *names, const struct pair *errs,
		      const struct pair *eps)
{
	struct rd_strbuf lab = { 0 };
	size_t width = 0;
	for (int pass = 0; pass < 2; pass++) {
		bool print = pass == 1;
		if (print)
			rd_sb_puts(sb, "\nby event:\n");
		for (int i = 1; i <= EV_UNKNOWN; i++) {
			if (!st->by_event[i])
				continue;
			lab.len = 0;
			rd_sb_puts(&lab, ev_slot_name(i));
			text_row(sb, &lab, &width, print, st->by_event[i]);
		}
		if (print)
			rd_sb_puts(sb, "\nby errno (connect_failed, gave_up, disconnected):\n");
		for (size_t i = 0; errs[i].key; i++) {
			lab.len = 0;
			errno_label(&lab, (int)(uint32_t)errs[i].key, false);
			text_row(sb, &lab, &width, print, errs[i].n);
		}
		if (print)
			rd_sb_puts(sb, "\nby endpoint:\n");
		for (size_t i = 0; eps[i].key; i++) {
			lab.len = 0;
			endpoint_label(&lab, names, eps[i].key, false);
			text_row(sb, &lab, &width, print, eps[i].n);
		}
	}
	if (lab.oom)
		sb->oom = true;
	rd_sb_free(&lab);
}

int stats_print(const struct stats *st, const struct rd_u64map *names, bool json)
{
	struct rd_strbuf sb = { 0 };
	int status = EXIT_CLEAN;
	struct pair *errs = sorted(&st->by_errno), *eps = sorted(&st->by_endpoint);
	if (!errs || !eps) {
		fprintf(stderr, "redial-log: out of memory\n");
		status = EXIT_IO;
		goto out;
	}
	if (json) {
		rd_sb_printf(&sb, "{\"records\":%" PRIu64 ",\"corrupt\":%" PRIu64 ",\"torn\":%" PRIu64,
			     st->records, st->corrupt, st->torn);
		if (st->have_ts) {
			rd_sb_puts(&sb, ",\"first_ts\":\"");
			rd_sb_time(&sb, st->first_ts);
			rd_sb_puts(&sb, "\",\"last_ts\":\"");
			rd_sb_time(&sb, st->last_ts);
			rd_sb_puts(&sb, "\"");
		}
		rd_sb_puts(&sb, ",\"events\":{");
		bool first = true;
		for (int i = 1; i <= EV_UNKNOWN; i++) {
			if (!st->by_event[i])
				continue;
			rd_sb_printf(&sb, "%s\"%s\":%" PRIu64, first ? "" : ",", ev_slot_name(i),
				     st->by_event[i]);
			first = false;
		}
		rd_sb_puts(&sb, "},\"errno\":{");
		for (size_t i = 0; errs[i].key; i++) {
			if (i)
				rd_sb_puts(&sb, ",");
			errno_label(&sb, (int)(uint32_t)errs[i].key, true);
			rd_sb_printf(&sb, ":%" PRIu64, errs[i].n);
		}
		rd_sb_puts(&sb, "},\"endpoints\":[");
		for (size_t i = 0; eps[i].key; i++) {
			rd_sb_puts(&sb, i ? ",{\"endpoint\":" : "{\"endpoint\":");
			endpoint_label(&sb, names, eps[i].key, true);
			rd_sb_printf(&sb, ",\"endpoint_id\":%" PRIu64 ",\"count\":%" PRIu64 "}",
				     eps[i].key, eps[i].n);
		}
		rd_sb_puts(&sb, "]}\n");
	} else {
		rd_sb_printf(&sb, "records: %" PRIu64 "  corrupt regions: %" PRIu64
				  "  torn records: %" PRIu64 "\n",
			     st->records, st->corrupt, st->torn);
		if (st->have_ts) {
			rd_sb_puts(&sb, "from: ");
			rd_sb_time(&sb, st->first_ts);
			rd_sb_puts(&sb, "\nto:   ");
			rd_sb_time(&sb, st->last_ts);
			rd_sb_puts(&sb, "\n");
		}
		text_rows(&sb, st, names, errs, eps);
	}
	if (sb.oom) {
		fprintf(stderr, "redial-log: out of memory\n");
		status = EXIT_IO;
		goto out;
	}
	fwrite(sb.p, 1, sb.len, stdout);
out:
	free(errs);
	free(eps);
	rd_sb_free(&sb);
	return status;
}

void stats_free(struct stats *st)
{
	rd_u64map_free(&st->by_errno);
	rd_u64map_free(&st->by_endpoint);
}
