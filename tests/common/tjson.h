/* tjson.h — a small strict JSON reader for the tests: the whole of RFC 8259 (objects,
 * arrays, strings with every escape, numbers, true/false/null), into a tree. Just enough to
 * check what `redial --summary` and `redial-log --json` write. */
#ifndef TJSON_H
#define TJSON_H

#include <stdbool.h>
#include <stddef.h>

enum tj_kind { TJ_NULL, TJ_BOOL, TJ_NUM, TJ_STR, TJ_ARR, TJ_OBJ };

struct tj {
	enum tj_kind kind;
	bool b;	      /* TJ_BOOL */
	double num;   /* TJ_NUM */
	char *str;    /* TJ_STR: decoded, NUL-terminated (may hold NULs: see len) */
	size_t len;   /* TJ_STR: bytes in str */
	size_t n;     /* TJ_ARR, TJ_OBJ: members */
	struct tj *v; /* TJ_ARR, TJ_OBJ: the values */
	char **k;     /* TJ_OBJ: the keys */
};

/* Parses exactly one JSON value (surrounding whitespace allowed) from text[0..len).
 * Returns the tree, or NULL with a message naming the offset in err. */
struct tj *tj_parse(const char *text, size_t len, char *err, size_t errlen);
void tj_free(struct tj *v);

/* The member named key of an object, or NULL (also when o is NULL or not an object). */
const struct tj *tj_get(const struct tj *o, const char *key);
/* Element i of an array, or NULL. */
const struct tj *tj_at(const struct tj *a, size_t i);
/* The string of a TJ_STR, or NULL. */
const char *tj_str(const struct tj *v);
/* The number of a TJ_NUM, or -1 (every number the tests read is >= 0). */
double tj_num(const struct tj *v);
/* A path of object keys, e.g. tj_path(root, "totals", "attempts", NULL). */
const struct tj *tj_path(const struct tj *v, ...) __attribute__((sentinel));

#endif
