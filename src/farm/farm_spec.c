/* farm_spec.c - the text form of a farm target ("drop:500:rst"), shared by farm-server,
 * `redial demo` and the benchmark scripts so they all spell targets the same way. */
#include "farm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const struct {
	const char *name;
	enum farm_kind kind;
} kinds[] = {
	{ "accept", FARM_ACCEPT },
	{ "refuse", FARM_REFUSE },
	{ "blackhole", FARM_BLACKHOLE },
	{ "drop", FARM_DROP_AFTER },
	{ "slow", FARM_SLOW_ACCEPT },
	{ "acceptclose", FARM_ACCEPT_CLOSE },
	{ "tls", FARM_TLS },
	{ "tlsclose", FARM_TLS_CLOSE },
	{ "tlsreset", FARM_TLS_RESET },
	{ "tlseof", FARM_TLS_EOF },
	{ "plain", FARM_PLAINTEXT },
};

const char *farm_kind_name(enum farm_kind k)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == k)
			return kinds[i].name;
	return "?";
}

/* Parses the decimal number in [p, p+len) into *ret, at most max. Digits only: strtoul would
 * take signs, spaces and hex. */
static int parse_num(const char *p, size_t len, uint32_t max, uint32_t *ret)
{
	uint64_t v = 0;

	if (len == 0 || len > 10)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

static bool word_is(const char *p, size_t len, const char *w)
{
	return strlen(w) == len && memcmp(p, w, len) == 0;
}

/* One ":"-separated argument after the kind. */
static int parse_arg(const char *p, size_t len, struct farm_target_spec *s)
{
	const char *eq = memchr(p, '=', len);
	uint32_t v;

	if (word_is(p, len, "rst") || word_is(p, len, "fin")) {
		s->rst = p[0] == 'r';
		return 0;
	}
	if (word_is(p, len, "v6")) {
		s->family = AF_INET6;
		return 0;
	}
	if (word_is(p, len, "tls12")) {
		s->tls_max_version = 0x0303;
		return 0;
	}
	if (!eq) {
		/* A bare number: the kind's main parameter. */
		if (s->kind == FARM_DROP_AFTER || s->kind == FARM_TLS)
			return parse_num(p, len, UINT32_MAX, &s->hold_ms);
		if (s->kind == FARM_SLOW_ACCEPT)
			return parse_num(p, len, UINT32_MAX, &s->accept_rate);
		return -EINVAL;
	}

	size_t klen = (size_t)(eq - p);
	const char *val = eq + 1;
	size_t vlen = len - klen - 1;

	if (word_is(p, klen, "port")) {
		if (parse_num(val, vlen, UINT16_MAX, &v))
			return -EINVAL;
		s->port = (uint16_t)v;
		return 0;
	}
	if (word_is(p, klen, "backlog"))
		return parse_num(val, vlen, UINT32_MAX, &s->backlog);
	if (word_is(p, klen, "hold"))
		return parse_num(val, vlen, UINT32_MAX, &s->hold_ms);
	if (word_is(p, klen, "rate"))
		return parse_num(val, vlen, UINT32_MAX, &s->accept_rate);
	return -EINVAL;
}

int farm_spec_parse(const char *text, struct farm_target_spec *ret)
{
	struct farm_target_spec s = { 0 };
	const char *p, *end;
	size_t len;
	bool found = false;

	if (!text || !ret)
		return -EINVAL;
	end = strchr(text, ':');
	len = end ? (size_t)(end - text) : strlen(text);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (word_is(text, len, kinds[i].name)) {
			s.kind = kinds[i].kind;
			found = true;
		}
	}
	if (!found)
		return -EINVAL;
	for (p = end; p; p = end) {
		p++;
		end = strchr(p, ':');
		len = end ? (size_t)(end - p) : strlen(p);
		if (parse_arg(p, len, &s))
			return -EINVAL;
	}
	*ret = s;
	return 0;
}
