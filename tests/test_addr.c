/* test_addr.c — the endpoint parser against valid and hostile strings, its messages and
 * their truncation, and the formatter (round trips included). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "redial.h"

TestSuite(addr, .timeout = 30);

#define ERRLEN 512

/* ---- The table ------------------------------------------------------------------------------ */

/* Strings are held inline, not as pointers: this Criterion runs each parameter in a freshly
 * exec'd worker whose address layout (ASLR) differs from the runner's, so a pointer to a
 * literal, copied over with the parameter, points nowhere there. An initializer that does
 * not fit its array is a compile error under -Werror. */
struct parse_case {
	char in[72];      /* room for a 64-character label */
	int ret;          /* 0, -EINVAL or -ENOTSUP */
	char out[48];     /* success: what redial_endpoint_format gives back */
	int family;       /* success: AF_INET or AF_INET6 */
	char needle[40];  /* failure: must appear in the message (the offender, quoted) */
	char needle2[40]; /* failure: a second required part, or "" */
	char exact[112];  /* failure: the whole message, or "" when needle is enough */
};

/* Macro arguments are not parenthesized: a char array may not be initialized from a
 * parenthesized string (ISO C), and every argument here is a single literal. */
#define OK4(s, o) { .in = s, .ret = 0, .out = o, .family = AF_INET }
#define OK6(s, o) { .in = s, .ret = 0, .out = o, .family = AF_INET6 }
#define BAD(s, n1, n2) { .in = s, .ret = -EINVAL, .needle = n1, .needle2 = n2 }
#define BADX(s, msg) { .in = s, .ret = -EINVAL, .exact = msg }
#define NAME(s, host) { .in = s, .ret = -ENOTSUP, .needle = host, \
			.needle2 = "host names need the resolver" }

static struct parse_case parse_cases[] = {
	/* Valid. */
	OK4("127.0.0.1:80", "127.0.0.1:80"),
	OK4("0.0.0.0:1", "0.0.0.0:1"),
	OK4("255.255.255.255:65535", "255.255.255.255:65535"),
	OK4("10.0.0.1:8080", "10.0.0.1:8080"),
	OK4("192.168.100.200:443", "192.168.100.200:443"),
	OK6("[::1]:80", "[::1]:80"),
	OK6("[::]:1", "[::]:1"),
	OK6("[2001:DB8::1]:443", "[2001:db8::1]:443"),
	OK6("[2001:db8:0:0:0:0:0:1]:65535", "[2001:db8::1]:65535"),
	OK6("[::ffff:1.2.3.4]:80", "[::ffff:1.2.3.4]:80"),
	OK6("[fe80::1%2]:22", "[fe80::1%2]:22"),
	OK6("[fe80::1%4294967295]:22", "[fe80::1%4294967295]:22"),
	/* An interface name needs no resolver: "lo" is index 1 in every network namespace. */
	OK6("[fe80::1%lo]:80", "[fe80::1%1]:80"),

	/* Exact messages, as documented in the brief. */
	BADX("127.0.0.1:0", "port \"0\" out of range 1-65535 in \"127.0.0.1:0\""),
	BADX(":80", "empty host in \":80\""),
	BADX("::1:80", "IPv6 address must be in brackets: \"::1:80\""),
	BADX("127.0.0.1:80x", "trailing characters \"x\" after port in \"127.0.0.1:80x\""),
	BADX("127.0.0.1", "missing \":PORT\" in \"127.0.0.1\""),
	{ .in = "example.com:80", .ret = -ENOTSUP,
	  .exact = "host names need the resolver: \"example.com\"" },

	/* Port. */
	BAD("127.0.0.1:65536", "\"65536\"", "out of range 1-65535"),
	BAD("127.0.0.1:99999999999", "\"99999999999\"", "out of range"),
	BAD("127.0.0.1:18446744073709551617", "\"18446744073709551617\"", "out of range"),
	BAD("127.0.0.1:+80", "\"+80\"", "sign"),
	BAD("127.0.0.1:-80", "\"-80\"", "sign"),
	BAD("127.0.0.1:080", "\"080\"", "leading zero"),
	BAD("127.0.0.1:00", "\"00\"", "leading zero"),
	BAD("127.0.0.1:0x50", "\"x50\"", "trailing characters"),
	BAD("127.0.0.1:80 ", "\" \"", "trailing characters"),
	BAD("127.0.0.1: 80", "\" 80\"", "not a decimal number"),
	BAD("127.0.0.1:http", "\"http\"", "not a decimal number"),
	BAD("127.0.0.1:", "missing port", "\"127.0.0.1:\""),
	BAD("127.0.0.1:8\x7f", "\"\\x7f\"", "trailing characters"),
	BAD("127.0.0.1:80\"", "\"\\\"\"", "trailing characters"),
	BAD("1.2.3.4:80:90", "\":90\"", "trailing characters"),

	/* IPv4 host. */
	BAD("1.2.3:80", "\"1.2.3\"", "4 octets"),
	BAD("1.2.3.4.5:80", "\"1.2.3.4.5\"", "4 octets"),
	BAD("1:80", "\"1\"", "4 octets"),
	BAD("256.1.1.1:80", "\"256\"", "out of range 0-255"),
	BAD("1.2.3.999:80", "\"999\"", "out of range 0-255"),
	BAD("1.2.3.99999999999999999999:80", "\"99999999999999999999\"", "out of range"),
	BAD("010.1.1.1:80", "\"010\"", "leading zero"),
	BAD("1.2.3.00:80", "\"00\"", "leading zero"),
	BAD("1..2.3:80", "empty octet", "\"1..2.3\""),
	BAD(".1.2.3:80", "empty octet", "\".1.2.3\""),
	BAD("1.2.3.:80", "empty octet", "\"1.2.3.\""),
	BAD("+1.2.3.4:80", "\"+1\"", "sign"),
	BAD("-1.2.3.4:80", "\"-1\"", "sign"),
	BAD("1.2.3.+4:80", "\"+4\"", "sign"),
	BAD("1.2.-3.4:80", "\"-3\"", "sign"),
	BAD("1.2.3.4-5:80", "\"4-5\"", "not a decimal"),
	BAD(" 1.2.3.4:80", "\" \"", "\" 1.2.3.4\""),
	BAD("1.2.3.4 :80", "\" \"", "invalid character"),
	BAD("1.2.3.\x01" "4:80", "\"\\x01\"", "\"1.2.3.\\x014\""),
	BAD("\x1b[31m:80", "\"\\x1b\"", "invalid character"),
	BAD("1.2.3.4\t:80", "\"\\x09\"", "invalid character"),
	BAD("1.2.3.\xff:80", "\"\\xff\"", "invalid character"),
	BAD("user@1.2.3.4:80", "\"@\"", "invalid character"),

	/* Prefixes: "tcp://" and "tls://" (redial_endpoint_add's), nothing else. The address
	 * comes back without it; messages quote the whole input. */
	OK4("tcp://127.0.0.1:80", "127.0.0.1:80"),
	OK4("tls://127.0.0.1:443", "127.0.0.1:443"),
	OK6("tls://[::1]:443", "[::1]:443"),
	OK6("tcp://[fe80::1%lo]:80", "[fe80::1%1]:80"),
	NAME("tls://example.com:443", "\"example.com\""),
	NAME("tcp://localhost:80", "\"localhost\""),
	BADX("http://1.2.3.4:80", "unknown scheme \"http://\" in \"http://1.2.3.4:80\": an "
				 "endpoint may start with \"tcp://\" or \"tls://\""),
	BAD("TLS://1.2.3.4:80", "unknown scheme \"TLS://\"", "\"tls://\""),
	BAD("svn+ssh://h:22", "unknown scheme \"svn+ssh://\"", "\"tcp://\""),
	BAD("tls://", "no endpoint after \"tls://\"", ""),
	BAD("tcp://", "no endpoint after \"tcp://\"", ""),
	BAD("tls://1.2.3.4", "missing \":PORT\"", "in \"tls://1.2.3.4\""),
	BAD("tls://1.2.3.4:0", "\"0\" out of range", "in \"tls://1.2.3.4:0\""),
	BAD("tls://[::1]:x", "\"x\" is not a decimal", "in \"tls://[::1]:x\""),
	BAD("tls://-lead:443", "bad label \"-lead\"", "in \"tls://-lead:443\""),
	BAD("tls:/1.2.3.4:80", "port \"/1.2.3.4:80\"", "not a decimal number"),
	BAD("tls//1.2.3.4:80", "\"/\"", "invalid character"),

	/* Unbracketed IPv6. */
	BAD("::1", "\"::1\"", "must be in brackets"),
	BAD("fe80::1:443", "\"fe80::1:443\"", "must be in brackets"),
	BAD("2001:db8::1", "\"2001:db8::1\"", "must be in brackets"),
	BAD("::ffff:1.2.3.4:80", "\"::ffff:1.2.3.4:80\"", "must be in brackets"),

	/* Bracketed. */
	BAD("[::1]", "missing \":PORT\"", "\"[::1]\""),
	BAD("[::1]:", "missing port", "\"[::1]:\""),
	BAD("[::1]:80x", "\"x\"", "trailing characters"),
	BAD("[::1]:0", "\"0\"", "out of range 1-65535"),
	BAD("[::1]:65536", "\"65536\"", "out of range 1-65535"),
	BAD("[::1]80", "\"80\"", "after \"]\""),
	BAD("[::1] :80", "\" :80\"", "after \"]\""),
	BAD("[::1]]:80", "\"]:80\"", "after \"]\""),
	BAD("[::1:80", "missing \"]\"", "\"[::1:80\""),
	BAD("[", "missing \"]\"", "\"[\""),
	BAD("[]:80", "empty host", "\"[]:80\""),
	BAD("[1.2.3.4]:80", "\"1.2.3.4\"", "must not be in brackets"),
	BAD("[::g]:80", "\"::g\"", "invalid IPv6 address"),
	BAD("[:::1]:80", "\":::1\"", "invalid IPv6 address"),
	BAD("[1:2:3:4:5:6:7:8:9]:80", "\"1:2:3:4:5:6:7:8:9\"", "invalid IPv6 address"),
	BAD("[example.com]:80", "\"example.com\"", "invalid IPv6 address"),
	BAD("[ ::1]:80", "\" ::1\"", "invalid IPv6 address"),
	BAD("[::1\x02]:80", "\"::1\\x02\"", "invalid IPv6 address"),
	BAD("[%2]:80", "\"\"", "invalid IPv6 address"),
	BAD("[fe80::1%nosuch0]:80", "\"%nosuch0\"", "no such interface"),
	BADX("[fe80::1%nosuch0]:80",
	     "IPv6 scope \"%nosuch0\": no such interface in \"[fe80::1%nosuch0]:80\""),
	BAD("[fe80::1%abcdefghijklmnop]:80", "\"%abcdefghijklmnop\"", "too long"),
	BAD("[fe80::1%a/b]:80", "\"%a/b\"", "neither an interface index nor"),
	BAD("[fe80::1%a b]:80", "\"%a b\"", "neither an interface index nor"),
	BAD("[fe80::1%1%2]:80", "\"%1%2\"", "neither an interface index nor"),
	BAD("[fe80::1%]:80", "\"%\"", "empty"),
	BAD("[fe80::1%0]:80", "\"%0\"", "out of range"),
	BAD("[fe80::1%01]:80", "\"%01\"", "leading zero"),
	BAD("[fe80::1%4294967296]:80", "\"%4294967296\"", "out of range"),
	BAD("[fe80::1%-1]:80", "\"%-1\"", "no such interface"),

	/* Names: well-formed but need a resolver; malformed ones stay -EINVAL. */
	NAME("localhost:80", "\"localhost\""),
	NAME("my_host.internal:443", "\"my_host.internal\""),
	NAME("1.2.3.4a:80", "\"1.2.3.4a\""),
	NAME("xn--bcher-kva.example:8080", "\"xn--bcher-kva.example\""),
	BAD("example.com:0", "\"0\"", "out of range"),
	BAD("example.com:80x", "\"x\"", "trailing characters"),
	BAD("example.com", "missing \":PORT\"", "\"example.com\""),
	BAD("exa mple.com:80", "\" \"", "invalid character"),
	/* Malformed names are -EINVAL here exactly as redial_endpoint_add refuses them (the
	 * contract suite compares the two on a table of its own). */
	BAD("-lead:80", "bad label \"-lead\"", "starts or ends with '-'"),
	BAD("trail-.example:80", "bad label \"trail-\"", "starts or ends with '-'"),
	BAD("a..b:80", "bad label \"\"", "(empty)"),
	BAD(".a:80", "bad label \"\"", "(empty)"),
	BAD("a.example..:80", "bad label \"\"", "(empty)"),
	BAD("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:80",
	    "(longer than 63)", "bad label"),
	NAME("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:80", "host names"),
	NAME("example.com.:80", "\"example.com.\""),
};

ParameterizedTestParameters(addr, parse_table)
{
	return cr_make_param_array(struct parse_case, parse_cases,
				   sizeof(parse_cases) / sizeof(parse_cases[0]));
}

static void check_success(const struct parse_case *c)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	char err[ERRLEN];
	memset(&ss, 0xa5, sizeof(ss));
	strcpy(err, "stale");

	int ret = redial_endpoint_parse(c->in, &ss, &len, err, sizeof(err));
	cr_assert_eq(ret, 0, "\"%s\": %d (%s)", c->in, ret, err);
	cr_assert_str_eq(err, "", "\"%s\": errbuf not cleared on success", c->in);
	cr_assert_eq(ss.ss_family, c->family, "\"%s\": family %d", c->in, ss.ss_family);
	socklen_t want_len = c->family == AF_INET ? sizeof(struct sockaddr_in)
						  : sizeof(struct sockaddr_in6);
	cr_assert_eq(len, want_len, "\"%s\": length %u", c->in, (unsigned)len);

	/* Zeroed first: nothing of the 0xa5 fill survives past the filled struct. */
	const unsigned char *raw = (const unsigned char *)&ss;
	for (size_t i = want_len; i < sizeof(ss); i++)
		cr_assert_eq(raw[i], 0, "\"%s\": byte %zu not zeroed", c->in, i);
	if (c->family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
		for (size_t i = 0; i < sizeof(sin->sin_zero); i++)
			cr_assert_eq(sin->sin_zero[i], 0, "\"%s\": sin_zero", c->in);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
		cr_assert_eq(sin6->sin6_flowinfo, 0, "\"%s\": flowinfo", c->in);
	}

	char out[128];
	int n = redial_endpoint_format((const struct sockaddr *)&ss, out, sizeof(out));
	cr_assert_eq(n, (int)strlen(c->out), "\"%s\": format gave %d", c->in, n);
	cr_assert_str_eq(out, c->out, "\"%s\"", c->in);
}

/* Every prefix length of the message, from 1 byte up: always terminated, never written
 * past errlen, and always a prefix of the full message. */
static void check_truncation(const struct parse_case *c, const char *full)
{
	size_t flen = strlen(full);
	for (size_t errlen = 1; errlen <= flen + 2; errlen++) {
		char buf[ERRLEN + 16];
		memset(buf, 'Z', sizeof(buf));
		int ret = redial_endpoint_parse(c->in, NULL, NULL, buf, errlen);
		cr_assert_eq(ret, c->ret, "\"%s\" errlen %zu: %d", c->in, errlen, ret);
		size_t want = errlen - 1 < flen ? errlen - 1 : flen;
		cr_assert_eq(strnlen(buf, errlen), want, "\"%s\" errlen %zu: not terminated in "
			     "bounds", c->in, errlen);
		cr_assert(memcmp(buf, full, want) == 0, "\"%s\" errlen %zu: not a prefix", c->in,
			  errlen);
		for (size_t i = errlen; i < sizeof(buf); i++)
			cr_assert_eq(buf[i], 'Z', "\"%s\" errlen %zu: wrote byte %zu", c->in, errlen,
				     i);
	}
	/* errlen 0 writes nothing; a NULL errbuf is fine. */
	char untouched[4] = "abc";
	cr_assert_eq(redial_endpoint_parse(c->in, NULL, NULL, untouched, 0), c->ret);
	cr_assert_str_eq(untouched, "abc");
	cr_assert_eq(redial_endpoint_parse(c->in, NULL, NULL, NULL, 100), c->ret);
}

static void check_failure(const struct parse_case *c)
{
	struct sockaddr_storage ss, before;
	socklen_t len = 12345;
	char err[ERRLEN];
	memset(&ss, 0xa5, sizeof(ss));
	memcpy(&before, &ss, sizeof(ss));

	int ret = redial_endpoint_parse(c->in, &ss, &len, err, sizeof(err));
	cr_assert_eq(ret, c->ret, "\"%s\": returned %d, want %d (message: %s)", c->in, ret,
		     c->ret, err);
	cr_assert(memcmp(&ss, &before, sizeof(ss)) == 0, "\"%s\": ret_addr written on failure",
		  c->in);
	cr_assert_eq(len, 12345, "\"%s\": ret_len written on failure", c->in);

	cr_assert(c->exact[0] || c->needle[0], "\"%s\": the case checks no message", c->in);
	if (c->exact[0])
		cr_assert_str_eq(err, c->exact, "\"%s\"", c->in);
	if (c->needle[0])
		cr_assert_not_null(strstr(err, c->needle), "\"%s\": message <%s> lacks <%s>",
				   c->in, err, c->needle);
	if (c->needle2[0])
		cr_assert_not_null(strstr(err, c->needle2), "\"%s\": message <%s> lacks <%s>",
				   c->in, err, c->needle2);
	/* Whatever the input held, the message is one line of printable ASCII. */
	for (const char *p = err; *p; p++)
		cr_assert((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f,
			  "\"%s\": raw byte %#x in message", c->in, (unsigned char)*p);

	check_truncation(c, err);
}

ParameterizedTest(struct parse_case *c, addr, parse_table)
{
	/* A literal exactly as long as its array compiles, without its NUL. */
	cr_assert(memchr(c->in, 0, sizeof(c->in)) && memchr(c->out, 0, sizeof(c->out)) &&
		  memchr(c->needle, 0, sizeof(c->needle)) &&
		  memchr(c->needle2, 0, sizeof(c->needle2)) &&
		  memchr(c->exact, 0, sizeof(c->exact)),
		  "a string of this case fills its array: make the array longer");
	if (c->ret == 0)
		check_success(c);
	else
		check_failure(c);
}

/* ---- Specific values ------------------------------------------------------------------------ */

Test(addr, parse_fills_network_order_address_and_port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	cr_assert_eq(redial_endpoint_parse("192.0.2.10:8080", &ss, &len, NULL, 0), 0);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
	cr_assert_eq(sin->sin_family, AF_INET);
	cr_assert_eq(ntohs(sin->sin_port), 8080);
	cr_assert_eq(ntohl(sin->sin_addr.s_addr), 0xc000020aU);

	cr_assert_eq(redial_endpoint_parse("[2001:db8::a:b]:65535", &ss, &len, NULL, 0), 0);
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
	static const unsigned char want[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
						0,    0,    0,    0,    0, 0x0a, 0, 0x0b };
	cr_assert_eq(sin6->sin6_family, AF_INET6);
	cr_assert_eq(ntohs(sin6->sin6_port), 65535);
	cr_assert(memcmp(&sin6->sin6_addr, want, 16) == 0);
	cr_assert_eq(sin6->sin6_scope_id, 0);

	cr_assert_eq(redial_endpoint_parse("[fe80::1%7]:1", &ss, &len, NULL, 0), 0);
	cr_assert_eq(sin6->sin6_scope_id, 7);
	cr_assert_eq(ntohs(sin6->sin6_port), 1);
}

Test(addr, parse_accepts_null_out_params_to_only_validate)
{
	cr_assert_eq(redial_endpoint_parse("1.2.3.4:5", NULL, NULL, NULL, 0), 0);
	cr_assert_eq(redial_endpoint_parse("[::1]:5", NULL, NULL, NULL, 0), 0);
	cr_assert_eq(redial_endpoint_parse("1.2.3.4:0", NULL, NULL, NULL, 0), -EINVAL);
}

Test(addr, parse_rejects_null_and_empty_with_a_message)
{
	char err[ERRLEN];
	struct sockaddr_storage ss;
	socklen_t len = 7;
	cr_assert_eq(redial_endpoint_parse(NULL, &ss, &len, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "NULL"), "%s", err);
	cr_assert_eq(redial_endpoint_parse("", &ss, &len, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "empty"), "%s", err);
	cr_assert_eq(len, 7);
}

/* ---- Lengths ------------------------------------------------------------------------------ */

Test(addr, over_long_input_is_rejected_without_reading_past_max_plus_one)
{
	/* Not NUL-terminated at all: the parser may look at MAX + 1 bytes and no more, which
	 * ASan checks since the buffer ends right there. */
	size_t n = REDIAL_ENDPOINT_MAX + 1;
	char *s = malloc(n);
	cr_assert_not_null(s);
	memset(s, '1', n);
	memcpy(s, "1.2.3.4:", 8);

	char err[8];
	memset(err, 'Z', sizeof(err));
	struct sockaddr_storage ss;
	socklen_t len = 99;
	cr_assert_eq(redial_endpoint_parse(s, &ss, &len, err, 5), -EINVAL);
	cr_assert_eq(strlen(err), 4, "message not cut at errlen");
	cr_assert_eq(err[5], 'Z');
	cr_assert_eq(len, 99);

	char full[ERRLEN];
	cr_assert_eq(redial_endpoint_parse(s, NULL, NULL, full, sizeof(full)), -EINVAL);
	cr_assert_not_null(strstr(full, "too long"), "%s", full);
	cr_assert_not_null(strstr(full, "262"), "%s", full);
	free(s);
}

Test(addr, longest_accepted_input_is_parsed_and_one_more_byte_is_not)
{
	char s[REDIAL_ENDPOINT_MAX + 2];
	char err[ERRLEN];

	/* A 255-byte host plus ":80" fits: it reaches the name check, which allows 253. */
	memset(s, 'a', 255);
	strcpy(s + 255, ":80");
	cr_assert_eq(redial_endpoint_parse(s, NULL, NULL, err, sizeof(err)), -EINVAL, "%s", err);
	cr_assert_not_null(strstr(err, "host name length 255 out of range 1-253"), "%s", err);

	/* Exactly MAX characters: still looked at (its host is too long). */
	memset(s, 'a', REDIAL_ENDPOINT_MAX);
	memcpy(s + REDIAL_ENDPOINT_MAX - 3, ":80", 4);
	cr_assert_eq(strlen(s), REDIAL_ENDPOINT_MAX);
	cr_assert_eq(redial_endpoint_parse(s, NULL, NULL, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "host too long (259 > 255)");

	/* MAX + 1: rejected on length alone. */
	memset(s, 'a', REDIAL_ENDPOINT_MAX + 1);
	memcpy(s + REDIAL_ENDPOINT_MAX - 2, ":80", 4);
	cr_assert_eq(strlen(s), REDIAL_ENDPOINT_MAX + 1);
	cr_assert_eq(redial_endpoint_parse(s, NULL, NULL, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "too long (more than 262"), "%s", err);
}

/* A 253-character name (labels of 63, 63, 63 and 61) with the longest port. */
static void longest_name(char *s)
{
	size_t k = 0;
	for (int label = 0; label < 4; label++) {
		size_t n = label < 3 ? 63 : 61;
		memset(s + k, 'a' + label, n);
		k += n;
		if (label < 3)
			s[k++] = '.';
	}
	strcpy(s + k, ":65535");
}

Test(addr, the_longest_name_is_a_name_and_a_prefix_does_not_count_against_the_maximum)
{
	char s[6 + REDIAL_ENDPOINT_MAX + 2];
	char err[ERRLEN];

	longest_name(s);
	cr_assert_eq(strlen(s), 259);
	cr_assert_eq(redial_endpoint_parse(s, NULL, NULL, err, sizeof(err)), -ENOTSUP, "%s", err);

	/* "tls://" before it: 265 characters, still the longest name. */
	memcpy(s, "tls://", 6);
	longest_name(s + 6);
	cr_assert_eq(redial_endpoint_parse(s, NULL, NULL, err, sizeof(err)), -ENOTSUP, "%s", err);

	/* MAX characters after the prefix are looked at; one more is too long. */
	memset(s + 6, 'a', REDIAL_ENDPOINT_MAX);
	memcpy(s + 6 + REDIAL_ENDPOINT_MAX - 3, ":80", 4);
	cr_assert_eq(redial_endpoint_parse(s, NULL, NULL, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "host too long (259 > 255)");
	memset(s + 6, 'a', REDIAL_ENDPOINT_MAX + 1);
	memcpy(s + 6 + REDIAL_ENDPOINT_MAX - 2, ":80", 4);
	cr_assert_eq(redial_endpoint_parse(s, NULL, NULL, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "too long (more than 262"), "%s", err);
}

Test(addr, an_over_long_input_after_a_prefix_is_read_no_further_than_max_plus_one)
{
	/* Unterminated, as in the test above without a prefix: ASan sees a read past it. */
	size_t n = 6 + REDIAL_ENDPOINT_MAX + 1;
	char *s = malloc(n);
	cr_assert_not_null(s);
	memset(s, '1', n);
	memcpy(s, "tls://1.2.3.4:", 14);
	char err[ERRLEN];
	cr_assert_eq(redial_endpoint_parse(s, NULL, NULL, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "too long"), "%s", err);
	/* An unknown scheme's message quotes the input, within the same bound. */
	memcpy(s, "http://1.2.3.4:", 15);
	cr_assert_eq(redial_endpoint_parse(s, NULL, NULL, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "unknown scheme \"http://\""), "%s", err);
	free(s);
}

Test(addr, host_over_255_is_rejected_in_both_forms)
{
	char s[REDIAL_ENDPOINT_MAX + 1];
	char err[ERRLEN];

	memset(s, 'a', 256);
	strcpy(s + 256, ":80");
	cr_assert_eq(redial_endpoint_parse(s, NULL, NULL, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "host too long (256 > 255)");

	s[0] = '[';
	memset(s + 1, '1', 256);
	strcpy(s + 257, "]:80");
	cr_assert_eq(redial_endpoint_parse(s, NULL, NULL, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "host too long (256 > 255)");
}

Test(addr, control_bytes_in_a_long_offender_stay_escaped_and_bounded)
{
	/* 200 control bytes quote to 800 characters; the message must cut, not overflow. */
	char s[REDIAL_ENDPOINT_MAX + 1];
	memset(s, '\x01', 200);
	strcpy(s + 200, ":80");
	char err[64 + 8];
	memset(err, 'Z', sizeof(err));
	cr_assert_eq(redial_endpoint_parse(s, NULL, NULL, err, 64), -EINVAL);
	cr_assert_eq(strlen(err), 63);
	cr_assert_not_null(strstr(err, "\\x01"), "%s", err);
	for (size_t i = 64; i < sizeof(err); i++)
		cr_assert_eq(err[i], 'Z');
}

/* ---- Format --------------------------------------------------------------------------------- */

Test(addr, format_writes_both_families_and_returns_the_length)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(80) };
	sin.sin_addr.s_addr = htonl(0x01020304);
	char buf[64];
	cr_assert_eq(redial_endpoint_format((struct sockaddr *)&sin, buf, sizeof(buf)), 10);
	cr_assert_str_eq(buf, "1.2.3.4:80");

	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(443) };
	sin6.sin6_addr = in6addr_loopback;
	cr_assert_eq(redial_endpoint_format((struct sockaddr *)&sin6, buf, sizeof(buf)), 9);
	cr_assert_str_eq(buf, "[::1]:443");

	/* The longest possible output fits the parser's limit with room to spare. */
	memset(&sin6.sin6_addr, 0xff, 16);
	sin6.sin6_port = htons(65535);
	sin6.sin6_scope_id = UINT32_MAX;
	const char *longest = "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535";
	cr_assert_eq(redial_endpoint_format((struct sockaddr *)&sin6, buf, sizeof(buf)),
		     (int)strlen(longest));
	cr_assert_str_eq(buf, longest);
}

Test(addr, format_needs_room_for_the_terminator_and_leaves_buf_alone_otherwise)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(80) };
	sin.sin_addr.s_addr = htonl(0x01020304);
	char buf[16];

	memset(buf, 'Z', sizeof(buf));
	cr_assert_eq(redial_endpoint_format((struct sockaddr *)&sin, buf, 10), -ENOSPC);
	for (size_t i = 0; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 'Z', "byte %zu written", i);
	cr_assert_eq(redial_endpoint_format((struct sockaddr *)&sin, buf, 11), 10);
	cr_assert_str_eq(buf, "1.2.3.4:80");
	cr_assert_eq(buf[11], 'Z');

	cr_assert_eq(redial_endpoint_format((struct sockaddr *)&sin, NULL, 0), -ENOSPC);
	cr_assert_eq(redial_endpoint_format((struct sockaddr *)&sin, buf, 0), -ENOSPC);
}

Test(addr, format_rejects_other_families)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNSPEC;
	char buf[64];
	cr_assert_eq(redial_endpoint_format((struct sockaddr *)&un, buf, sizeof(buf)),
		     -EAFNOSUPPORT);
	cr_assert_eq(redial_endpoint_format((struct sockaddr *)&ss, buf, sizeof(buf)),
		     -EAFNOSUPPORT);
	cr_assert_eq(redial_endpoint_format(NULL, buf, sizeof(buf)), -EINVAL);
}

Test(addr, format_then_parse_round_trips_random_addresses)
{
	struct redial_rng rng;
	redial_rng_seed(&rng, 2024);
	char buf[REDIAL_ENDPOINT_MAX + 1];
	char err[ERRLEN];

	for (int i = 0; i < 20000; i++) {
		struct sockaddr_storage in, out;
		socklen_t len;
		memset(&in, 0, sizeof(in));
		uint64_t r = redial_rng_next(&rng);
		uint16_t port = (uint16_t)(r % 65535 + 1);
		if (i & 1) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&in;
			sin->sin_family = AF_INET;
			sin->sin_port = htons(port);
			sin->sin_addr.s_addr = (uint32_t)(r >> 32);
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&in;
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(port);
			uint64_t a = redial_rng_next(&rng), b = redial_rng_next(&rng);
			/* Zero some groups so that "::" compression gets exercised. */
			if (r & 0x10000)
				a &= 0xffff0000ffff0000ull;
			if (r & 0x20000)
				b &= 0x00000000ffffffffull;
			memcpy(&sin6->sin6_addr.s6_addr[0], &a, 8);
			memcpy(&sin6->sin6_addr.s6_addr[8], &b, 8);
			sin6->sin6_scope_id = (r & 0x40000) ? (uint32_t)(r >> 40) + 1 : 0;
		}
		int n = redial_endpoint_format((struct sockaddr *)&in, buf, sizeof(buf));
		cr_assert_gt(n, 0);
		int ret = redial_endpoint_parse(buf, &out, &len, err, sizeof(err));
		cr_assert_eq(ret, 0, "\"%s\" did not parse back: %s", buf, err);
		cr_assert(memcmp(&in, &out, sizeof(in)) == 0, "\"%s\" parsed to something else",
			  buf);
	}
}
