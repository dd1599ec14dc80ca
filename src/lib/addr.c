/* addr.c — endpoint strings: the strict "A.B.C.D:PORT" / "[IPv6]:PORT" parser and its inverse.
 *
 * Strict on purpose: inet_aton would take "010.1" (octal, 8.0.0.1) or "1.2.3" (1.2.0.3), and
 * strtoul would take " +80"; each of those is a config typo that would otherwise connect
 * somewhere nobody meant. Anything that is not an address literal is rejected here: host
 * names (-ENOTSUP) because resolving them blocks, and the engine never blocks.
 *
 * One scan serves redial_endpoint_parse and _add (rd_endpoint_parse_any), names checked
 * and "tcp://"/"tls://" taken alike, so parse's -ENOTSUP means exactly "add takes it". Any
 * other "scheme://" is -EINVAL naming it, not the host "http" with the port "//...".
 *
 * Choices the header leaves open:
 *  - An IPv6 zone is a numeric interface index, "[fe80::1%2]:80" (sin6_scope_id = 2), or
 *    an interface name, "[fe80::1%lo]:80", mapped to its index by if_nametoindex when the
 *    string is parsed (a local lookup, no resolver). The index is kept, not the name: an
 *    interface deleted and made again under the same name is not followed. An unknown
 *    name is -EINVAL naming it.
 *  - ret_addr and ret_len may be NULL, to validate a string without keeping the result.
 *  - On success errbuf (when given) is set to "", so a reused buffer never shows a stale
 *    message next to a 0 return.
 */
#include "redial.h"
#include "addr.h"
#include "errmsg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define HOST_MAX 255

/* What is parsed (s, len: the endpoint after any "tls://" or "tcp://") and the whole input, for
 * the " in \"...\"" tail most messages end with. */
struct input {
	const char *s;
	size_t len;
	const char *full;
	size_t full_len;
};

static void msg_in_input(struct msg *m, const struct input *in)
{
	rd_msg_puts(m, " in ");
	rd_msg_quoted(m, in->full, in->full_len);
}

/* ---- Pieces ---------------------------------------------------------------------------- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static size_t count_digits(const char *p, size_t n)
{
	size_t d = 0;
	while (d < n && is_digit(p[d]))
		d++;
	return d;
}

/* Value of a run of decimal digits, saturating at limit + 1 so that "99999999999" cannot
 * wrap into range. */
static unsigned long long digits_value(const char *p, size_t n, unsigned long long limit)
{
	unsigned long long v = 0;
	for (size_t i = 0; i < n; i++) {
		v = v * 10 + (unsigned)(p[i] - '0');
		if (v > limit)
			return limit + 1;
	}
	return v;
}

/* p[0..n) is everything after the ':' that ends the host. */
static int parse_port(const char *p, size_t n, const struct input *in, struct msg *m,
		      uint16_t *ret_port)
{
	if (n == 0) {
		rd_msg_puts(m, "missing port after \":\"");
		msg_in_input(m, in);
		return -EINVAL;
	}
	if (p[0] == '+' || p[0] == '-') {
		rd_msg_puts(m, "port ");
		rd_msg_quoted(m, p, n);
		rd_msg_puts(m, " must not have a sign");
		msg_in_input(m, in);
		return -EINVAL;
	}
	size_t d = count_digits(p, n);
	if (d == 0) {
		rd_msg_puts(m, "port ");
		rd_msg_quoted(m, p, n);
		rd_msg_puts(m, " is not a decimal number");
		msg_in_input(m, in);
		return -EINVAL;
	}
	/* Before the range check: for "0x50" the "x50" explains more than "0" would. */
	if (d < n) {
		rd_msg_puts(m, "trailing characters ");
		rd_msg_quoted(m, p + d, n - d);
		rd_msg_puts(m, " after port");
		msg_in_input(m, in);
		return -EINVAL;
	}
	if (p[0] == '0' && d > 1) {
		rd_msg_puts(m, "port ");
		rd_msg_quoted(m, p, n);
		rd_msg_puts(m, " has a leading zero");
		msg_in_input(m, in);
		return -EINVAL;
	}
	unsigned long long v = digits_value(p, d, 65535);
	if (v == 0 || v > 65535) {
		rd_msg_puts(m, "port ");
		rd_msg_quoted(m, p, n);
		rd_msg_puts(m, " out of range 1-65535");
		msg_in_input(m, in);
		return -EINVAL;
	}
	*ret_port = (uint16_t)v;
	return 0;
}

/* Exactly four dot-separated decimal octets, 0-255, no sign, no leading zero except "0". */
static int parse_ipv4(const char *h, size_t n, const struct input *in, struct msg *m,
		      struct in_addr *ret_addr)
{
	size_t dots = 0;
	for (size_t i = 0; i < n; i++)
		dots += h[i] == '.';
	if (dots != 3) {
		rd_msg_puts(m, "IPv4 address ");
		rd_msg_quoted(m, h, n);
		rd_msg_puts(m, " must have 4 octets, not ");
		rd_msg_uint(m, dots + 1);
		msg_in_input(m, in);
		return -EINVAL;
	}

	uint8_t octets[4];
	const char *p = h;
	const char *end = h + n;
	for (int k = 0; k < 4; k++) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t len = (size_t)((dot ? dot : end) - p);
		const char *why = NULL;

		if (len == 0)
			why = "empty octet";
		else if (p[0] == '+' || p[0] == '-')
			why = "octet must not have a sign";
		else if (count_digits(p, len) != len)
			why = "octet is not a decimal number";
		else if (p[0] == '0' && len > 1)
			why = "octet has a leading zero (octal is ambiguous)";
		else if (digits_value(p, len, 255) > 255)
			why = "octet out of range 0-255";
		if (why) {
			rd_msg_puts(m, why);
			rd_msg_puts(m, " ");
			rd_msg_quoted(m, p, len);
			rd_msg_puts(m, " in IPv4 address ");
			rd_msg_quoted(m, h, n);
			msg_in_input(m, in);
			return -EINVAL;
		}
		octets[k] = (uint8_t)digits_value(p, len, 255);
		p += len + 1;
	}
	memcpy(&ret_addr->s_addr, octets, 4); /* already network order */
	return 0;
}

/* A byte an interface name may hold: the kernel takes anything but '/', ':' and blanks
 * (dev_valid_name); control bytes are refused here too, to keep messages one line. */
static bool ifname_byte(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '/' && c != ':' && c != '%';
}

/* "%N" or "%NAME" after an IPv6 address: a decimal interface index 1..UINT32_MAX, or the
 * name of an interface of this host. */
static int parse_scope(const char *z, size_t n, const struct input *in, struct msg *m,
		       uint32_t *ret_scope)
{
	const char *why = NULL;
	size_t d = count_digits(z + 1, n - 1);
	unsigned long long v = digits_value(z + 1, d, UINT32_MAX);

	if (n == 1) {
		why = " is empty";
	} else if (d != n - 1) {
		/* Not all digits: an interface name. */
		size_t k = 1;
		while (k < n && ifname_byte((unsigned char)z[k]))
			k++;
		if (k != n) {
			why = " is neither an interface index nor an interface name";
		} else if (n - 1 >= IF_NAMESIZE) {
			why = " is too long for an interface name";
		} else {
			char name[IF_NAMESIZE];
			memcpy(name, z + 1, n - 1);
			name[n - 1] = '\0';
			unsigned idx = if_nametoindex(name);
			if (idx == 0)
				why = errno == ENODEV || errno == ENXIO
					      ? ": no such interface"
					      : ": the interface name could not be looked up";
			else
				v = idx;
		}
	} else if (z[1] == '0' && d > 1) {
		why = " has a leading zero";
	} else if (v == 0 || v > UINT32_MAX) {
		why = " out of range 1-4294967295"; /* 0 would mean "no scope" */
	}
	if (why) {
		rd_msg_puts(m, "IPv6 scope ");
		rd_msg_quoted(m, z, n);
		rd_msg_puts(m, why);
		msg_in_input(m, in);
		return -EINVAL;
	}
	*ret_scope = (uint32_t)v;
	return 0;
}

static int host_too_long(size_t n, struct msg *m)
{
	rd_msg_puts(m, "host too long (");
	rd_msg_uint(m, n);
	rd_msg_puts(m, " > ");
	rd_msg_uint(m, HOST_MAX);
	rd_msg_puts(m, ")");
	return -EINVAL;
}

/* ---- The two forms --------------------------------------------------------------------- */

static int parse_bracketed(const struct input *in, struct sockaddr_storage *ss,
			   socklen_t *ret_len, struct msg *m)
{
	const char *s = in->s;
	const char *rb = memchr(s, ']', in->len);
	if (!rb) {
		rd_msg_puts(m, "missing \"]\" after IPv6 address");
		msg_in_input(m, in);
		return -EINVAL;
	}
	const char *h = s + 1;
	size_t hlen = (size_t)(rb - h);
	if (hlen == 0) {
		rd_msg_puts(m, "empty host");
		msg_in_input(m, in);
		return -EINVAL;
	}
	if (hlen > HOST_MAX)
		return host_too_long(hlen, m);

	const char *after = rb + 1;
	size_t after_len = in->len - (size_t)(after - s);
	if (after_len == 0) {
		rd_msg_puts(m, "missing \":PORT\"");
		msg_in_input(m, in);
		return -EINVAL;
	}
	if (after[0] != ':') {
		rd_msg_puts(m, "unexpected characters ");
		rd_msg_quoted(m, after, after_len);
		rd_msg_puts(m, " after \"]\"");
		msg_in_input(m, in);
		return -EINVAL;
	}
	uint16_t port;
	int ret = parse_port(after + 1, after_len - 1, in, m, &port);
	if (ret < 0)
		return ret;

	const char *pct = memchr(h, '%', hlen);
	size_t addr_len = pct ? (size_t)(pct - h) : hlen;

	/* A bracketed dotted quad is a mistake, not an IPv6 address to map. */
	if (addr_len > 0 && memchr(h, '.', addr_len)) {
		size_t i = 0;
		while (i < addr_len && (is_digit(h[i]) || h[i] == '.'))
			i++;
		if (i == addr_len) {
			rd_msg_puts(m, "IPv4 address ");
			rd_msg_quoted(m, h, addr_len);
			rd_msg_puts(m, " must not be in brackets");
			msg_in_input(m, in);
			return -EINVAL;
		}
	}

	/* inet_pton wants a terminated string; hlen <= HOST_MAX keeps this copy in bounds. */
	char addr[HOST_MAX + 1];
	memcpy(addr, h, addr_len);
	addr[addr_len] = '\0';
	struct in6_addr a6;
	if (addr_len == 0 || inet_pton(AF_INET6, addr, &a6) != 1) {
		rd_msg_puts(m, "invalid IPv6 address ");
		rd_msg_quoted(m, h, addr_len);
		msg_in_input(m, in);
		return -EINVAL;
	}

	uint32_t scope = 0;
	if (pct) {
		ret = parse_scope(pct, hlen - addr_len, in, m, &scope);
		if (ret < 0)
			return ret;
	}

	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	sin6->sin6_addr = a6;
	sin6->sin6_scope_id = scope;
	*ret_len = sizeof(*sin6);
	return 0;
}

static int check_name(const char *h, size_t hlen, const struct input *in, struct msg *m,
		      struct rd_name *out);

/* A.B.C.D:PORT, or (when name is not NULL) NAME:PORT: then 1 and *name filled. */
static int parse_plain(const struct input *in, struct sockaddr_storage *ss, socklen_t *ret_len,
		       struct msg *m, struct rd_name *name)
{
	const char *s = in->s;
	const char *colon = memchr(s, ':', in->len);
	if (!colon) {
		rd_msg_puts(m, "missing \":PORT\"");
		msg_in_input(m, in);
		return -EINVAL;
	}
	const char *h = s;
	size_t hlen = (size_t)(colon - s);

	/* A second colon after a hex-looking first group ("::1:80", "fe80::1:443") is an IPv6
	 * address without its brackets; saying so beats "empty host" or "trailing ':1:80'".
	 * "1.2.3.4:80:90" has dots in its first group and gets the trailing-characters message. */
	if (hlen <= 4 && memchr(colon + 1, ':', in->len - hlen - 1)) {
		size_t i = 0;
		while (i < hlen && is_hex(h[i]))
			i++;
		if (i == hlen) {
			rd_msg_puts(m, "IPv6 address must be in brackets: ");
			rd_msg_quoted(m, s, in->len);
			return -EINVAL;
		}
	}
	if (hlen == 0) {
		rd_msg_puts(m, "empty host");
		msg_in_input(m, in);
		return -EINVAL;
	}
	if (hlen > HOST_MAX)
		return host_too_long(hlen, m);

	uint16_t port;
	int ret = parse_port(colon + 1, in->len - hlen - 1, in, m, &port);
	if (ret < 0)
		return ret;

	/* Digits, dots and signs only: meant as an IPv4 address, so say what is wrong with it
	 * rather than calling it a host name. */
	bool numeric = true;
	for (size_t i = 0; i < hlen; i++) {
		char c = h[i];
		if (is_alpha(c) || c == '_') {
			numeric = false;
		} else if (!is_digit(c) && c != '.' && c != '+' && c != '-') {
			rd_msg_puts(m, "invalid character ");
			rd_msg_quoted(m, &h[i], 1);
			rd_msg_puts(m, " in host ");
			rd_msg_quoted(m, h, hlen);
			msg_in_input(m, in);
			return -EINVAL;
		}
	}
	if (!numeric) {
		/* Checked for the public parser too: its -ENOTSUP promises that add takes it. */
		struct rd_name scratch;
		ret = check_name(h, hlen, in, m, name ? name : &scratch);
		if (ret < 0)
			return ret;
		if (!name) {
			rd_msg_puts(m, "host names need the resolver: ");
			rd_msg_quoted(m, h, hlen);
			return -ENOTSUP;
		}
		name->port = port;
		return 1;
	}

	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	ret = parse_ipv4(h, hlen, in, m, &sin->sin_addr);
	if (ret < 0)
		return ret;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	*ret_len = sizeof(*sin);
	return 0;
}

/* A "scheme://" prefix (RFC 3986 characters, at most 32): 0 with *ret_scheme and *ret_skip,
 * its length (0: none), or -EINVAL for a scheme but tcp and tls. Case matters: the CLI strips
 * only a lower-case "tls://"; "TLS://" must not mean TLS in one and not in the other. */
static int parse_scheme(const char *s, enum rd_scheme *ret_scheme, size_t *ret_skip,
			struct msg *m)
{
	size_t k = 0; /* a NUL is no scheme character: the scan stops at the end */
	while (k < 32 && (is_alpha(s[k]) || (k > 0 && (is_digit(s[k]) || s[k] == '+' ||
						       s[k] == '-' || s[k] == '.'))))
		k++;
	bool any = k > 0 && strncmp(s + k, "://", 3) == 0;
	if (any && !(k == 3 && (memcmp(s, "tcp", 3) == 0 || memcmp(s, "tls", 3) == 0))) {
		rd_msg_puts(m, "unknown scheme ");
		rd_msg_quoted(m, s, k + 3);
		rd_msg_puts(m, " in ");
		rd_msg_quoted(m, s, strnlen(s, k + 3 + REDIAL_ENDPOINT_MAX));
		rd_msg_puts(m, ": an endpoint may start with \"tcp://\" or \"tls://\"");
		return -EINVAL;
	}
	*ret_scheme = !any ? RD_SCHEME_NONE : s[2] == 'p' ? RD_SCHEME_TCP : RD_SCHEME_TLS;
	*ret_skip = any ? k + 3 : 0;
	return 0;
}

/* One scan of the string for both public forms: 0 for an address, 1 for a name (when name
 * is not NULL), -errno with the message in errbuf. */
static int parse_endpoint(const char *s, struct sockaddr_storage *ret_addr, socklen_t *ret_len,
			  struct rd_name *name, enum rd_scheme *ret_scheme, char *errbuf,
			  size_t errlen)
{
	struct msg m;
	rd_msg_init(&m, errbuf, errlen);

	if (!s) {
		rd_msg_puts(&m, "no endpoint string (NULL)");
		return -EINVAL;
	}
	enum rd_scheme scheme;
	size_t skip;
	int ret = parse_scheme(s, &scheme, &skip, &m);
	if (ret < 0)
		return ret;
	/* strnlen first: a hostile or unterminated-looking input costs at most MAX+1 reads past
	 * its prefix, which MAX does not count (redial_endpoint_name never writes one back). */
	const char *e = s + skip;
	size_t len = strnlen(e, REDIAL_ENDPOINT_MAX + 1);
	if (len > REDIAL_ENDPOINT_MAX) {
		rd_msg_puts(&m, "endpoint too long (more than ");
		rd_msg_uint(&m, REDIAL_ENDPOINT_MAX);
		rd_msg_puts(&m, " characters)");
		return -EINVAL;
	}
	if (len == 0) {
		rd_msg_puts(&m, skip ? "no endpoint after " : "empty endpoint string");
		if (skip)
			rd_msg_quoted(&m, s, skip);
		return -EINVAL;
	}

	struct input in = { .s = e, .len = len, .full = s, .full_len = skip + len };
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	memset(&ss, 0, sizeof(ss));
	ret = e[0] == '[' ? parse_bracketed(&in, &ss, &sslen, &m)
			  : parse_plain(&in, &ss, &sslen, &m, name);
	if (ret < 0)
		return ret;

	if (ret == 0 && ret_addr)
		*ret_addr = ss;
	if (ret == 0 && ret_len)
		*ret_len = sslen;
	if (ret_scheme)
		*ret_scheme = scheme;
	return ret;
}

int redial_endpoint_parse(const char *s, struct sockaddr_storage *ret_addr, socklen_t *ret_len,
			  char *errbuf, size_t errlen)
{
	return parse_endpoint(s, ret_addr, ret_len, NULL, NULL, errbuf, errlen);
}

int rd_endpoint_parse_any(const char *s, struct sockaddr_storage *ret_addr, socklen_t *ret_len,
			  struct rd_name *ret_name, enum rd_scheme *ret_scheme, char *errbuf,
			  size_t errlen)
{
	return parse_endpoint(s, ret_addr, ret_len, ret_name, ret_scheme, errbuf, errlen);
}

int redial_endpoint_format(const struct sockaddr *sa, char *buf, size_t len)
{
	/* Longest output: "[" 45-char IPv6 "%" 10-digit scope "]:" 5-digit port. */
	char tmp[80];
	char host[INET6_ADDRSTRLEN];
	int n;

	if (!sa)
		return -EINVAL;
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in sin;
		/* Copied out: the caller's sockaddr need not be aligned for sockaddr_in. */
		memcpy(&sin, sa, sizeof(sin));
		if (!inet_ntop(AF_INET, &sin.sin_addr, host, sizeof(host)))
			return -errno;
		n = snprintf(tmp, sizeof(tmp), "%s:%u", host, (unsigned)ntohs(sin.sin_port));
	} else if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 sin6;
		memcpy(&sin6, sa, sizeof(sin6));
		if (!inet_ntop(AF_INET6, &sin6.sin6_addr, host, sizeof(host)))
			return -errno;
		if (sin6.sin6_scope_id)
			n = snprintf(tmp, sizeof(tmp), "[%s%%%u]:%u", host,
				     (unsigned)sin6.sin6_scope_id, (unsigned)ntohs(sin6.sin6_port));
		else
			n = snprintf(tmp, sizeof(tmp), "[%s]:%u", host,
				     (unsigned)ntohs(sin6.sin6_port));
	} else {
		return -EAFNOSUPPORT;
	}
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -EINVAL; /* cannot happen with the sizes above */
	if (!buf || (size_t)n >= len)
		return -ENOSPC;
	memcpy(buf, tmp, (size_t)n + 1);
	return n;
}

/* ---- Host names (the engine resolves them) ------------------------------------------- */

/* Checks a DNS name (RFC 1123 labels of letters, digits, '-' and '_', 1-63 characters, not
 * starting or ending with '-', at most 253 in all, an optional final dot) and copies it,
 * without the final dot, into out->host. */
static int check_name(const char *h, size_t hlen, const struct input *in, struct msg *m,
		      struct rd_name *out)
{
	size_t n = hlen && h[hlen - 1] == '.' ? hlen - 1 : hlen;
	if (n == 0 || n > 253 || n + 1 > sizeof(out->host)) {
		rd_msg_puts(m, "host name length ");
		rd_msg_uint(m, n);
		rd_msg_puts(m, " out of range 1-253");
		msg_in_input(m, in);
		return -EINVAL;
	}
	size_t label = 0;
	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? h[i] : '.';
		if (c == '.') {
			bool bad_edge = label == 0 || h[i - label] == '-' || h[i - 1] == '-';
			if (label > 63 || bad_edge) {
				rd_msg_puts(m, "bad label ");
				rd_msg_quoted(m, h + i - label, label);
				rd_msg_puts(m, label > 63 ? " (longer than 63)"
					    : label == 0   ? " (empty)"
							   : " (starts or ends with '-')");
				rd_msg_puts(m, " in host name");
				msg_in_input(m, in);
				return -EINVAL;
			}
			label = 0;
		} else if (is_alpha(c) || is_digit(c) || c == '-' || c == '_') {
			label++;
		} else {
			rd_msg_puts(m, "invalid character ");
			rd_msg_quoted(m, h + i, 1);
			rd_msg_puts(m, " in host name");
			msg_in_input(m, in);
			return -EINVAL;
		}
	}
	memcpy(out->host, h, n);
	out->host[n] = '\0';
	return 0;
}
