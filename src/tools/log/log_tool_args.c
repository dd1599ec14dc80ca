/* log_tool_args.c — redial-log's option values: levels, event names, and --since times
 * (RFC 3339 or a duration back from now). */
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log_tool.h"

static uint64_t now_realtime(void)
{
	struct timespec ts;
	/* CLOCK_REALTIME always exists: this cannot fail. */
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int parse_level(const char *s)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = { { "debug", 0 }, { "info", 1 }, { "warn", 2 }, { "warning", 2 }, { "error", 3 } };
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcasecmp(s, levels[i].name) == 0)
			return levels[i].level;
	return -1;
}

bool parse_events(struct opts *o, const char *list)
{
	const char *p = list;
	o->events_set = true;
	while (*p) {
		size_t n = strcspn(p, ",");
		char name[32];
		if (n == 0 || n >= sizeof(name))
			return false;
		memcpy(name, p, n);
		name[n] = 0;
		if (strcmp(name, "unknown") == 0) {
			o->events[EV_UNKNOWN] = true;
		} else {
			int t = rd_log_type_from_name(name);
			if (t < 0)
				return false;
			o->events[ev_index((uint16_t)t)] = true;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return true;
}

/* "1h30m", "5m", "250ms": a sum of <digits><unit>. */
static bool parse_duration(const char *s, uint64_t *ret_ns)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = { { "ns", 1 },
		      { "us", 1000 },
		      { "ms", 1000000 },
		      { "s", 1000000000ull },
		      { "m", 60 * 1000000000ull },
		      { "h", 3600 * 1000000000ull },
		      { "d", 86400 * 1000000000ull } };
	uint64_t total = 0;
	if (!*s)
		return false;
	while (*s) {
		if (!isdigit((unsigned char)*s))
			return false;
		uint64_t v = 0;
		while (isdigit((unsigned char)*s)) {
			if (v > (UINT64_MAX - 9) / 10)
				return false;
			v = v * 10 + (uint64_t)(*s++ - '0');
		}
		size_t ulen = 0;
		while (isalpha((unsigned char)s[ulen]))
			ulen++;
		uint64_t mul = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].unit) == ulen && strncmp(units[i].unit, s, ulen) == 0)
				mul = units[i].ns;
		if (!mul)
			return false;
		uint64_t part;
		if (__builtin_mul_overflow(v, mul, &part) || __builtin_add_overflow(total, part, &total))
			return false;
		s += ulen;
	}
	*ret_ns = total;
	return true;
}

static bool take_digits(const char **s, int n, int *ret)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*s)[i]))
			return false;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*ret = v;
	return true;
}

/* RFC 3339 date-time (or a bare full-date, meaning its midnight UTC) to ns since the epoch. */
static bool parse_rfc3339(const char *s, uint64_t *ret_ns)
{
	struct tm tm = { 0 };
	int y, mo, d, h = 0, mi = 0, sec = 0;
	uint64_t frac = 0;
	int64_t offset = 0;

	if (!take_digits(&s, 4, &y) || *s++ != '-' || !take_digits(&s, 2, &mo) || *s++ != '-' ||
	    !take_digits(&s, 2, &d))
		return false;
	if (*s) {
		if (*s != 'T' && *s != 't' && *s != ' ')
			return false;
		s++;
		if (!take_digits(&s, 2, &h) || *s++ != ':' || !take_digits(&s, 2, &mi) ||
		    *s++ != ':' || !take_digits(&s, 2, &sec))
			return false;
		if (*s == '.') {
			s++;
			int nd = 0;
			if (!isdigit((unsigned char)*s))
				return false;
			while (isdigit((unsigned char)*s)) {
				if (nd < 9) {
					frac = frac * 10 + (uint64_t)(*s - '0');
					nd++;
				}
				s++;
			}
			while (nd++ < 9)
				frac *= 10;
		}
		if (*s == 'Z' || *s == 'z') {
			s++;
		} else if (*s == '+' || *s == '-') {
			int sign = *s++ == '-' ? -1 : 1, oh, om;
			if (!take_digits(&s, 2, &oh) || *s++ != ':' || !take_digits(&s, 2, &om) ||
			    oh > 23 || om > 59)
				return false;
			offset = sign * (int64_t)(oh * 3600 + om * 60);
		} else {
			return false;
		}
		if (*s)
			return false;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	int64_t secs = (int64_t)t - offset;
	if (t == (time_t)-1 || secs < 0)
		return false;
	*ret_ns = (uint64_t)secs * 1000000000u + frac;
	return true;
}

bool parse_since(struct opts *o, const char *s)
{
	uint64_t v;
	if (parse_rfc3339(s, &v)) {
		o->since_ns = v;
	} else if (parse_duration(s, &v)) {
		uint64_t now = now_realtime();
		o->since_ns = v < now ? now - v : 0;
	} else {
		return false;
	}
	o->since_set = true;
	return true;
}
