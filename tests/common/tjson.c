/* tjson.c — see tjson.h. Recursive descent over a length-bounded buffer; every read is
 * checked against the end, and nesting is capped so hostile input cannot overflow the stack. */
#include "tjson.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

struct parser {
	const char *s;
	size_t len, pos;
	char *err;
	size_t errlen;
	bool failed;
};

static void fail(struct parser *p, const char *what)
{
	if (!p->failed && p->err && p->errlen)
		snprintf(p->err, p->errlen, "offset %zu: %s", p->pos, what);
	p->failed = true;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
				   p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static bool lit(struct parser *p, const char *word)
{
	size_t n = strlen(word);
	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return false;
	p->pos += n;
	return true;
}

static bool parse_value(struct parser *p, struct tj *out, int depth);

/* Growable byte buffer for string contents. */
struct buf {
	char *p;
	size_t len, cap;
};

static bool put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 32;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (!q)
			return false;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
	return true;
}

static int hex4(struct parser *p, uint32_t *ret)
{
	uint32_t v = 0;
	if (p->len - p->pos < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = p->s[p->pos++];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*ret = v;
	return 0;
}

static bool put_utf8(struct buf *b, uint32_t cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return put(b, u, n);
}

static bool parse_string(struct parser *p, char **ret, size_t *ret_len)
{
	struct buf b = { 0 };
	if (p->pos >= p->len || p->s[p->pos] != '"') {
		fail(p, "expected a string");
		return false;
	}
	p->pos++;
	if (!put(&b, "", 0))
		goto oom;
	for (;;) {
		if (p->pos >= p->len) {
			fail(p, "unterminated string");
			goto bad;
		}
		unsigned char c = (unsigned char)p->s[p->pos];
		if (c == '"') {
			p->pos++;
			break;
		}
		if (c < 0x20) {
			fail(p, "control character in a string");
			goto bad;
		}
		if (c != '\\') {
			if (!put(&b, (const char *)&c, 1))
				goto oom;
			p->pos++;
			continue;
		}
		if (++p->pos >= p->len) {
			fail(p, "unterminated escape");
			goto bad;
		}
		char e = p->s[p->pos++];
		const char *rep = NULL;
		switch (e) {
		case '"':
			rep = "\"";
			break;
		case '\\':
			rep = "\\";
			break;
		case '/':
			rep = "/";
			break;
		case 'b':
			rep = "\b";
			break;
		case 'f':
			rep = "\f";
			break;
		case 'n':
			rep = "\n";
			break;
		case 'r':
			rep = "\r";
			break;
		case 't':
			rep = "\t";
			break;
		case 'u': {
			uint32_t cp, lo;
			if (hex4(p, &cp) < 0) {
				fail(p, "bad \\u escape");
				goto bad;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (!lit(p, "\\u") || hex4(p, &lo) < 0 || lo < 0xdc00 ||
				    lo > 0xdfff) {
					fail(p, "unpaired surrogate");
					goto bad;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				fail(p, "unpaired surrogate");
				goto bad;
			}
			if (cp == 0) {
				if (!put(&b, "\0", 1))
					goto oom;
			} else if (!put_utf8(&b, cp)) {
				goto oom;
			}
			continue;
		}
		default:
			fail(p, "unknown escape");
			goto bad;
		}
		if (!put(&b, rep, 1))
			goto oom;
	}
	*ret = b.p;
	*ret_len = b.len;
	return true;
oom:
	fail(p, "out of memory");
bad:
	free(b.p);
	return false;
}

static bool parse_number(struct parser *p, double *ret)
{
	size_t start = p->pos;
	const char *s = p->s;
	if (p->pos < p->len && s[p->pos] == '-')
		p->pos++;
	if (p->pos >= p->len || s[p->pos] < '0' || s[p->pos] > '9') {
		fail(p, "bad number");
		return false;
	}
	if (s[p->pos] == '0')
		p->pos++;
	else
		while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
	if (p->pos < p->len && s[p->pos] == '.') {
		p->pos++;
		if (p->pos >= p->len || s[p->pos] < '0' || s[p->pos] > '9') {
			fail(p, "bad fraction");
			return false;
		}
		while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
	}
	if (p->pos < p->len && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->len && (s[p->pos] == '+' || s[p->pos] == '-'))
			p->pos++;
		if (p->pos >= p->len || s[p->pos] < '0' || s[p->pos] > '9') {
			fail(p, "bad exponent");
			return false;
		}
		while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
	}
	char tmp[64];
	size_t n = p->pos - start;
	if (n >= sizeof(tmp)) {
		fail(p, "number too long");
		return false;
	}
	memcpy(tmp, s + start, n);
	tmp[n] = 0;
	*ret = strtod(tmp, NULL);
	return true;
}

static bool grow(struct tj *v, size_t *cap, bool keys)
{
	if (v->n < *cap)
		return true;
	size_t c = *cap ? *cap * 2 : 8;
	struct tj *nv = realloc(v->v, c * sizeof(*nv));
	if (!nv)
		return false;
	v->v = nv;
	if (keys) {
		char **nk = realloc(v->k, c * sizeof(*nk));
		if (!nk)
			return false;
		v->k = nk;
	}
	*cap = c;
	return true;
}

/* "key": for an object's member: the key is counted in at once, so that tj_free frees it
 * when its value fails. */
static bool parse_key(struct parser *p, struct tj *out)
{
	char *key;
	size_t klen;
	if (!parse_string(p, &key, &klen))
		return false;
	out->k[out->n] = key;
	memset(&out->v[out->n], 0, sizeof(out->v[out->n]));
	out->n++;
	skip_ws(p);
	if (p->pos >= p->len || p->s[p->pos] != ':') {
		fail(p, "expected ':'");
		return false;
	}
	p->pos++;
	return true;
}

/* An array, or with keys an object: its members up to the closing bracket. */
static bool parse_container(struct parser *p, struct tj *out, int depth, bool keys)
{
	size_t cap = 0;
	char close = keys ? '}' : ']';
	out->kind = keys ? TJ_OBJ : TJ_ARR;
	p->pos++; /* '[' or '{' */
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		return true;
	}
	for (;;) {
		if (!grow(out, &cap, keys)) {
			fail(p, "out of memory");
			return false;
		}
		skip_ws(p);
		if (keys && !parse_key(p, out))
			return false;
		if (!keys) {
			/* Counted now, as a key is: tj_free frees what a failed value got. */
			memset(&out->v[out->n], 0, sizeof(out->v[out->n]));
			out->n++;
		}
		skip_ws(p);
		if (!parse_value(p, &out->v[out->n - 1], depth + 1))
			return false;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close) {
			p->pos++;
			return true;
		}
		fail(p, keys ? "expected ',' or '}'" : "expected ',' or ']'");
		return false;
	}
}

static bool parse_value(struct parser *p, struct tj *out, int depth)
{
	memset(out, 0, sizeof(*out));
	if (depth > MAX_DEPTH) {
		fail(p, "nested too deeply");
		return false;
	}
	if (p->pos >= p->len) {
		fail(p, "unexpected end");
		return false;
	}
	switch (p->s[p->pos]) {
	case '{':
		return parse_container(p, out, depth, true);
	case '[':
		return parse_container(p, out, depth, false);
	case '"':
		out->kind = TJ_STR;
		return parse_string(p, &out->str, &out->len);
	case 't':
		out->kind = TJ_BOOL;
		out->b = true;
		if (lit(p, "true"))
			return true;
		break;
	case 'f':
		out->kind = TJ_BOOL;
		if (lit(p, "false"))
			return true;
		break;
	case 'n':
		if (lit(p, "null"))
			return true;
		break;
	default:
		out->kind = TJ_NUM;
		return parse_number(p, &out->num);
	}
	fail(p, "unknown literal");
	return false;
}

static void free_inner(struct tj *v)
{
	if (v->kind == TJ_STR)
		free(v->str);
	if (v->kind == TJ_ARR || v->kind == TJ_OBJ) {
		for (size_t i = 0; i < v->n; i++) {
			free_inner(&v->v[i]);
			if (v->k)
				free(v->k[i]);
		}
		free(v->v);
		free(v->k);
	}
}

void tj_free(struct tj *v)
{
	if (!v)
		return;
	free_inner(v);
	free(v);
}

struct tj *tj_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct parser p = { .s = text, .len = len, .err = err, .errlen = errlen };
	struct tj *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	skip_ws(&p);
	if (parse_value(&p, v, 0)) {
		skip_ws(&p);
		if (p.pos == p.len)
			return v;
		fail(&p, "trailing characters");
	}
	tj_free(v);
	return NULL;
}

const struct tj *tj_get(const struct tj *o, const char *key)
{
	if (!o || o->kind != TJ_OBJ)
		return NULL;
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->k[i], key) == 0)
			return &o->v[i];
	return NULL;
}

const struct tj *tj_at(const struct tj *a, size_t i)
{
	if (!a || a->kind != TJ_ARR || i >= a->n)
		return NULL;
	return &a->v[i];
}

const char *tj_str(const struct tj *v)
{
	return v && v->kind == TJ_STR ? v->str : NULL;
}

double tj_num(const struct tj *v)
{
	return v && v->kind == TJ_NUM ? v->num : -1;
}

const struct tj *tj_path(const struct tj *v, ...)
{
	va_list ap;
	va_start(ap, v);
	const char *key;
	while (v && (key = va_arg(ap, const char *)))
		v = tj_get(v, key);
	va_end(ap);
	return v;
}
