/* opts.c — the command line of `redial`: flags, strict numbers, and the endpoint list from
 * arguments and -f files, every entry checked before anything starts. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* Stop listing bad endpoints after this many; the rest are only counted. */
#define MAX_REPORTED 10

static const char usage_text[] =
	"Usage: redial [OPTIONS] ENDPOINT...\n"
	"       redial [OPTIONS] -f FILE\n"
	"       redial demo [--endpoints N] [--duration SEC]\n"
	"\n"
	"Keeps a TCP connection open to every ENDPOINT (\"A.B.C.D:PORT\", \"[IPv6]:PORT\" or\n"
	"\"NAME:PORT\"; \"tls://\" before one makes it a TLS endpoint),\n"
	"reconnecting with backoff whenever one fails or drops, and reports what happened.\n"
	"Runs until --duration has passed or SIGINT/SIGTERM arrives.\n"
	"\n"
	"Endpoints:\n"
	"  -f, --endpoints FILE       read endpoints from FILE, one per line ('-': standard\n"
	"                             input); blank lines and '#' comments are ignored;\n"
	"                             lines of at most 4096 bytes, at most 1000000 endpoints\n"
	"Connecting:\n"
	"  -t, --connect-timeout MS   deadline of one connect attempt (default 2000)\n"
	"      --backoff-initial MS   wait after the first failure (default 100)\n"
	"      --backoff-max MS       longest wait between attempts (default 30000)\n"
	"      --backoff-multiplier X each wait is up to X times the previous (default 2.0)\n"
	"      --jitter MODE          none, full, equal or decorrelated (default full)\n"
	"      --max-attempts N       give up after N failed attempts in a row; 0 = never\n"
	"                             (default 0)\n"
	"      --alert-after N        alert after N failed attempts in a row; 0 = never\n"
	"                             (default 5)\n"
	"      --stable-after MS      a connection up this long resets the backoff\n"
	"                             (default 1000)\n"
	"TLS:\n"
	"      --tls                  TLS to every endpoint (else to those written tls://)\n"
	"      --tls-ca FILE|DIR      trusted CAs: a PEM file or a hashed directory\n"
	"                             (default: the system's trust store)\n"
	"      --tls-cert FILE        client certificate chain (PEM), for mutual TLS\n"
	"      --tls-key FILE         its private key (PEM)\n"
	"      --tls-sni NAME         the name to send and verify (default: the endpoint's\n"
	"                             host name; an address is verified against IP SANs)\n"
	"      --tls-alpn LIST        protocols to offer, comma-separated (h2,http/1.1)\n"
	"      --tls-min-version V    1.2 or 1.3 (default 1.2)\n"
	"      --tls-handshake-timeout MS  deadline of one handshake (default: the connect\n"
	"                             timeout)\n"
	"      --tls-insecure         DO NOT VERIFY the peer: any certificate, any name\n"
	"      --recheck-permanent MS try an endpoint that gave up for a permanent reason\n"
	"                             again after MS (default: never)\n"
	"Names:\n"
	"      --dns-server ADDR:PORT resolve NAME:PORT endpoints with this server\n"
	"                             (repeatable; default: /etc/resolv.conf)\n"
	"      --dns-timeout MS       deadline of one query (default 2000)\n"
	"Running and output:\n"
	"      --duration SEC         stop after SEC seconds (fractions allowed); default:\n"
	"                             run until SIGINT or SIGTERM\n"
	"      --log FILE             write the binary event log to FILE (decode it with\n"
	"                             redial-log)\n"
	"      --summary FILE         write the final summary as JSON to FILE ('-': stdout)\n"
	"  -q, --quiet                no status line, no alerts, no text summary\n"
	"  -h, --help                 this text\n"
	"      --version              the version\n"
	"\n"
	"On a terminal, a status line shows the endpoints up, connecting, in backoff and\n"
	"failed, with attempts/s and connects/s; alerts and give-ups print above it. Otherwise\n"
	"only the final summary is printed.\n"
	"\n"
	"Exit status:\n"
	"  0  the run ended normally: --duration passed, or SIGINT/SIGTERM\n"
	"  1  runtime error, e.g. io_uring is unavailable (the message says what to do);\n"
	"     also after a normal end when the --log could not be written completely (a\n"
	"     write error, e.g. a full disk), or the --summary or stdout could not be written\n"
	"  2  usage or input error; nothing was started\n";

void cli_settings_init(struct cli_settings *s)
{
	memset(s, 0, sizeof(*s));
	redial_endpoint_opts_init(&s->ep);
	s->ep.connect_timeout_ns = REDIAL_MSEC(2000);
	s->ep.backoff_initial_ns = REDIAL_MSEC(100);
	s->ep.backoff_max_ns = REDIAL_MSEC(30000);
	s->ep.backoff_multiplier = 2.0;
	s->ep.backoff_jitter = REDIAL_JITTER_FULL;
	s->ep.backoff_max_attempts = 0;
	s->ep.alert_after = 5;
	s->ep.stable_after_ns = REDIAL_MSEC(1000);
	redial_tls_opts_init(&s->tls);
}

#define TLS_PREFIX "tls://"
#define TLS_PREFIX_LEN 6

static bool has_tls_prefix(const struct cli_endpoint *e)
{
	return strncmp(e->text, TLS_PREFIX, TLS_PREFIX_LEN) == 0;
}

const char *cli_endpoint_addr(const struct cli_endpoint *e)
{
	return has_tls_prefix(e) ? e->text + TLS_PREFIX_LEN : e->text;
}

const struct redial_tls_opts *cli_endpoint_tls(const struct cli_settings *s,
					       const struct cli_endpoint *e)
{
	return s->tls_all || has_tls_prefix(e) ? &s->tls : NULL;
}

void cli_apply_dns(const struct cli_settings *s, struct redial_config *cfg)
{
	if (s->dns_servers[0])
		cfg->dns_servers = s->dns_servers;
	if (s->dns_timeout_ns)
		cfg->dns_timeout_ns = s->dns_timeout_ns;
}

/* --dns-server: an address literal with a port, appended to the comma-joined list. */
static bool add_dns_server(struct cli_settings *s, const char *flag, const char *arg)
{
	char err[256];
	int ret = redial_endpoint_parse(arg, NULL, NULL, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "redial: %s: %s\n", flag,
			ret == -ENOTSUP ? "a DNS server must be an address, not a name" : err);
		return false;
	}
	size_t used = strlen(s->dns_servers);
	size_t need = strlen(arg) + (used ? 1 : 0);
	if (used + need >= sizeof(s->dns_servers)) {
		fprintf(stderr, "redial: %s: too many DNS servers\n", flag);
		return false;
	}
	snprintf(s->dns_servers + used, sizeof(s->dns_servers) - used, "%s%s", used ? "," : "",
		 arg);
	return true;
}

void cli_settings_free(struct cli_settings *s)
{
	for (size_t i = 0; i < s->neps; i++)
		free(s->eps[i].text);
	free(s->eps);
	s->eps = NULL;
	s->neps = s->cap = 0;
}

int cli_endpoint_push(struct cli_settings *s, const char *text, size_t len, const char *origin,
		      unsigned line, int group)
{
	if (s->neps == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct cli_endpoint *n = realloc(s->eps, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->eps = n;
		s->cap = cap;
	}
	char *copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	struct cli_endpoint *e = &s->eps[s->neps++];
	memset(e, 0, sizeof(*e));
	e->text = copy;
	e->origin = origin;
	e->line = line;
	e->group = group;
	return 0;
}

void cli_endpoint_where(const struct cli_endpoint *e, char *buf, size_t len)
{
	if (e->origin)
		snprintf(buf, len, "%s:%u", e->origin, e->line);
	else
		snprintf(buf, len, "argument %u", e->line);
}

/* ---- Numbers --------------------------------------------------------------------------------- */

/* The value quoted as the user typed it, made safe for one line of a terminal. */
static void print_quoted(FILE *out, const char *text)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
			fprintf(out, "\\x%02x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

bool cli_parse_uint(const char *flag, const char *text, uint64_t min, uint64_t max,
		    const char *unit, uint64_t *ret)
{
	uint64_t v = 0;
	bool ok = *text != '\0', big = false;
	/* Digits only: strtoull would take " +12", "0x10" and "-1" (as a huge number). */
	for (const char *p = text; *p && ok; p++) {
		if (*p < '0' || *p > '9')
			ok = false;
		else if (v > (UINT64_MAX - 9) / 10)
			big = true;
		else
			v = v * 10 + (uint64_t)(*p - '0');
	}
	if (!ok) {
		fprintf(stderr, "redial: %s: ", flag);
		print_quoted(stderr, text);
		fprintf(stderr, " is not a whole number%s%s\n", unit ? " of " : "",
			unit ? unit : "");
		return false;
	}
	if (big || v < min || v > max) {
		fprintf(stderr, "redial: %s: ", flag);
		print_quoted(stderr, text);
		fprintf(stderr, " is out of range (%llu to %llu%s%s)\n", (unsigned long long)min,
			(unsigned long long)max, unit ? " " : "", unit ? unit : "");
		return false;
	}
	*ret = v;
	return true;
}

/* A plain decimal: digits with at most one '.', as "1", "0.25", ".5", "2.". strtod alone
 * would also take "inf", "nan", "0x1p4" and leading blanks. */
static bool parse_decimal(const char *text, double *ret)
{
	size_t digits = 0, dots = 0;
	for (const char *p = text; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (*p == '.')
			dots++;
		else
			return false;
	}
	if (digits == 0 || dots > 1 || digits > 30)
		return false;
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (*end || errno || !isfinite(v))
		return false;
	*ret = v;
	return true;
}

#define MAX_SECONDS 315360000.0 /* ten years: far from uint64 ns overflow (584 years) */

bool cli_parse_seconds(const char *flag, const char *text, uint64_t *ret_ns)
{
	double v;
	if (!parse_decimal(text, &v)) {
		fprintf(stderr, "redial: %s: ", flag);
		print_quoted(stderr, text);
		fprintf(stderr, " is not a number of seconds (like 10 or 2.5)\n");
		return false;
	}
	double ns = v * 1e9;
	if (ns < 1e6 || v > MAX_SECONDS) {
		fprintf(stderr, "redial: %s: ", flag);
		print_quoted(stderr, text);
		fprintf(stderr, " is out of range (0.001 to %.0f seconds)\n", MAX_SECONDS);
		return false;
	}
	*ret_ns = (uint64_t)ns;
	return true;
}

static bool parse_multiplier(const char *flag, const char *text, double *ret)
{
	double v;
	if (!parse_decimal(text, &v)) {
		fprintf(stderr, "redial: %s: ", flag);
		print_quoted(stderr, text);
		fprintf(stderr, " is not a number (like 2 or 1.5)\n");
		return false;
	}
	if (v < 1.0 || v > 1000.0) {
		fprintf(stderr, "redial: %s: ", flag);
		print_quoted(stderr, text);
		fprintf(stderr, " is out of range (1.0 to 1000)\n");
		return false;
	}
	*ret = v;
	return true;
}

static bool parse_jitter(const char *flag, const char *text, enum redial_jitter *ret)
{
	static const struct {
		const char *name;
		enum redial_jitter j;
	} modes[] = {
		{ "none", REDIAL_JITTER_NONE },
		{ "full", REDIAL_JITTER_FULL },
		{ "equal", REDIAL_JITTER_EQUAL },
		{ "decorrelated", REDIAL_JITTER_DECORRELATED },
	};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(text, modes[i].name) == 0) {
			*ret = modes[i].j;
			return true;
		}
	}
	fprintf(stderr, "redial: %s: ", flag);
	print_quoted(stderr, text);
	fprintf(stderr, " is not a jitter mode (none, full, equal or decorrelated)\n");
	return false;
}

/* ---- Endpoints ------------------------------------------------------------------------------- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* The words of a line without its '#' comment (no endpoint contains '#') and the blanks
 * around them, including the '\r' of CRLF files: [*ret_start, +*ret_len). */
static void split_line_words(const char *line, size_t len, size_t *ret_start, size_t *ret_len)
{
	const char *hash = memchr(line, '#', len);
	if (hash)
		len = (size_t)(hash - line);
	size_t a = 0;
	while (a < len && is_blank(line[a]))
		a++;
	while (len > a && is_blank(line[len - 1]))
		len--;
	*ret_start = a;
	*ret_len = len - a;
}

/* One line of an endpoints file: 0 with *ret_len == 0 for a line with nothing on it, 0 with
 * the endpoint in [*ret_start, +*ret_len), or -EINVAL when the line holds more than one
 * word (the caller then quotes the words). */
static int split_line(const char *line, size_t len, size_t *ret_start, size_t *ret_len)
{
	size_t a, n;
	split_line_words(line, len, &a, &n);
	for (size_t i = a; i < a + n; i++)
		if (is_blank(line[i]))
			return -EINVAL;
	*ret_start = a;
	*ret_len = n;
	return 0;
}

/* One line of an endpoints file that is one endpoint has no business being longer than this;
 * a longer line (a huge comment, /dev/zero) is an input error, so that reading a file never
 * takes more memory than this per line. Said in --help. */
#define MAX_LINE 4096
/* And a file has no business holding more endpoints than one manager takes well; with the
 * line cap this bounds what any input can make the command allocate. Said in --help. */
#define MAX_ENDPOINTS 1000000u

/* A buffered reader over a descriptor that tells a read error from the end of the file,
 * which stdio's getline does not (and getline grows its buffer without bound). */
struct line_reader {
	int fd;
	char buf[65536];
	size_t pos, len;
	bool eof;
};

/* The next byte, or -1 at the end of the file, or -2 on a read error (errno set). */
static int reader_byte(struct line_reader *lr)
{
	if (lr->pos == lr->len) {
		if (lr->eof)
			return -1;
		ssize_t n;
		do
			n = read(lr->fd, lr->buf, sizeof(lr->buf));
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return -2;
		if (n == 0) {
			lr->eof = true;
			return -1;
		}
		lr->pos = 0;
		lr->len = (size_t)n;
	}
	return (unsigned char)lr->buf[lr->pos++];
}

/* Reads one line (without its '\n') into line[0..MAX_LINE]. Returns 1 with *ret_len set,
 * 0 at the end of the file, -ERANGE when the line is longer than MAX_LINE (the rest of the
 * file is not read), or -errno on a read error. */
static int reader_line(struct line_reader *lr, char *line, size_t *ret_len)
{
	size_t n = 0;
	for (;;) {
		int c = reader_byte(lr);
		if (c == -2)
			return errno ? -errno : -EIO;
		if (c == -1) {
			if (n == 0)
				return 0;
			break;
		}
		if (c == '\n')
			break;
		if (n == MAX_LINE)
			return -ERANGE;
		line[n++] = (char)c;
	}
	line[n] = '\0';
	*ret_len = n;
	return 1;
}

/* Reads FILE into s; returns false (after saying why) when it cannot be read whole: it
 * cannot be opened, a read fails (EIO; EISDIR for a directory), a line is over MAX_LINE
 * bytes, or it holds too many endpoints. Bad lines are kept, marked, and reported with
 * every other bad endpoint in order. */
static bool read_endpoints_file(struct cli_settings *s, const char *path)
{
	bool is_stdin = strcmp(path, "-") == 0;
	const char *name = is_stdin ? "standard input" : path;
	struct line_reader *lr = malloc(sizeof(*lr));
	char *line = malloc(MAX_LINE + 1);
	if (!lr || !line) {
		fprintf(stderr, "redial: out of memory reading %s\n", name);
		free(lr);
		free(line);
		return false;
	}
	lr->pos = lr->len = 0;
	lr->eof = false;
	lr->fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (lr->fd < 0) {
		fprintf(stderr, "redial: %s: %s\n", name, strerror(errno));
		free(lr);
		free(line);
		return false;
	}
	struct stat sb;
	if (fstat(lr->fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "redial: %s: %s\n", name, strerror(EISDIR));
		if (!is_stdin)
			close(lr->fd);
		free(lr);
		free(line);
		return false;
	}
	unsigned lineno = 0;
	bool ok = true;
	for (;;) {
		size_t len = 0, start, elen;
		int ret = reader_line(lr, line, &len);
		if (ret == 0)
			break;
		lineno++;
		if (ret == -ERANGE) {
			fprintf(stderr, "redial: %s:%u: line too long (more than %u bytes)\n", name,
				lineno, MAX_LINE);
			ok = false;
			break;
		}
		if (ret < 0) {
			fprintf(stderr, "redial: %s: read error at line %u: %s\n", name, lineno,
				strerror(-ret));
			ok = false;
			break;
		}
		const char *bad_line = NULL;
		if (memchr(line, '\0', len)) {
			bad_line = "a NUL byte in the line";
			start = 0;
			elen = strlen(line);
		} else if (split_line(line, len, &start, &elen) < 0) {
			bad_line = "more than one word (one endpoint per line)";
			split_line_words(line, len, &start, &elen);
		}
		if (elen == 0 && !bad_line)
			continue;
		if (s->neps >= MAX_ENDPOINTS) {
			fprintf(stderr, "redial: %s:%u: more than %u endpoints\n", name, lineno,
				MAX_ENDPOINTS);
			ok = false;
			break;
		}
		/* Kept in the list even when bad, so the errors come out in line order. */
		if (cli_endpoint_push(s, line + start, elen, path, lineno, -1) < 0) {
			fprintf(stderr, "redial: out of memory reading %s\n", name);
			ok = false;
			break;
		}
		s->eps[s->neps - 1].bad = bad_line;
	}
	if (!is_stdin)
		close(lr->fd);
	free(lr);
	free(line);
	return ok;
}

/* "<why>: \"<the line>\"", the line escaped to stay one printable line. */
static void bad_line_message(char *buf, size_t len, const struct cli_endpoint *e)
{
	int n = snprintf(buf, len, "%s: \"", e->bad);
	size_t k = n > 0 ? (size_t)n : 0;
	for (const unsigned char *p = (const unsigned char *)e->text; *p && k + 6 < len; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
			k += (size_t)snprintf(buf + k, len - k, "\\x%02x", *p);
		else
			buf[k++] = (char)*p;
	}
	snprintf(buf + k, len - k, "\"");
}

/* Checks every endpoint with the strict parser. A host name (-ENOTSUP) passes here: whether
 * names are accepted is the engine's call, made by redial_endpoint_add when the run starts. */
static bool check_endpoints(const struct cli_settings *s)
{
	unsigned bad = 0;
	for (size_t i = 0; i < s->neps; i++) {
		const struct cli_endpoint *e = &s->eps[i];
		char msg[512], where[300];
		int ret = -EINVAL;
		if (e->bad)
			bad_line_message(msg, sizeof(msg), e);
		else
			ret = redial_endpoint_parse(cli_endpoint_addr(e), NULL, NULL, msg,
						    sizeof(msg));
		if (ret >= 0 || ret == -ENOTSUP)
			continue;
		if (++bad > MAX_REPORTED)
			continue;
		cli_endpoint_where(e, where, sizeof(where));
		if (e->origin)
			fprintf(stderr, "redial: %s: %s\n", where, msg);
		else if (strcmp(e->text, "demo") == 0)
			fprintf(stderr,
				"redial: %s: \"demo\" is not an endpoint; the demo is run as "
				"`redial demo [--endpoints N] [--duration SEC]`, with demo "
				"first\n",
				where);
		else
			fprintf(stderr, "redial: %s: %s\n", where, msg);
	}
	if (bad > MAX_REPORTED)
		fprintf(stderr, "redial: ... and %u more bad endpoints\n", bad - MAX_REPORTED);
	return bad == 0;
}

static int usage_error(void)
{
	fprintf(stderr, "Try 'redial --help'.\n");
	return CLI_EXIT_USAGE;
}

int cli_parse_args(struct cli_settings *s, int argc, char **argv)
{
	enum {
		O_BACKOFF_INITIAL = 256,
		O_BACKOFF_MAX,
		O_BACKOFF_MULT,
		O_JITTER,
		O_MAX_ATTEMPTS,
		O_ALERT_AFTER,
		O_STABLE_AFTER,
		O_DNS_SERVER,
		O_DNS_TIMEOUT,
		O_DURATION,
		O_LOG,
		O_SUMMARY,
		O_VERSION,
		O_TLS,
		O_TLS_CA,
		O_TLS_CERT,
		O_TLS_KEY,
		O_TLS_SNI,
		O_TLS_ALPN,
		O_TLS_MIN,
		O_TLS_TIMEOUT,
		O_TLS_INSECURE,
		O_RECHECK,
	};
	static const struct option longopts[] = {
		{ "endpoints", required_argument, NULL, 'f' },
		{ "connect-timeout", required_argument, NULL, 't' },
		{ "backoff-initial", required_argument, NULL, O_BACKOFF_INITIAL },
		{ "backoff-max", required_argument, NULL, O_BACKOFF_MAX },
		{ "backoff-multiplier", required_argument, NULL, O_BACKOFF_MULT },
		{ "jitter", required_argument, NULL, O_JITTER },
		{ "max-attempts", required_argument, NULL, O_MAX_ATTEMPTS },
		{ "alert-after", required_argument, NULL, O_ALERT_AFTER },
		{ "stable-after", required_argument, NULL, O_STABLE_AFTER },
		{ "dns-server", required_argument, NULL, O_DNS_SERVER },
		{ "dns-timeout", required_argument, NULL, O_DNS_TIMEOUT },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "log", required_argument, NULL, O_LOG },
		{ "summary", required_argument, NULL, O_SUMMARY },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ "tls", no_argument, NULL, O_TLS },
		{ "tls-ca", required_argument, NULL, O_TLS_CA },
		{ "tls-cert", required_argument, NULL, O_TLS_CERT },
		{ "tls-key", required_argument, NULL, O_TLS_KEY },
		{ "tls-sni", required_argument, NULL, O_TLS_SNI },
		{ "tls-alpn", required_argument, NULL, O_TLS_ALPN },
		{ "tls-min-version", required_argument, NULL, O_TLS_MIN },
		{ "tls-handshake-timeout", required_argument, NULL, O_TLS_TIMEOUT },
		{ "tls-insecure", no_argument, NULL, O_TLS_INSECURE },
		{ "recheck-permanent", required_argument, NULL, O_RECHECK },
		{ NULL, 0, NULL, 0 },
	};
	/* Files are read after the flags, so that their endpoints keep the order given. */
	const char *files[64];
	size_t nfiles = 0;
	bool initial_set = false, max_set = false;
	unsigned tls_given = 0; /* bit (c - O_TLS_CA) for each --tls-* option given */
	uint64_t v;
	int c;

	opterr = 0; /* our own messages, which name the flag the way the user wrote it */
	optind = 1;
	int li = -1;
	while ((c = getopt_long(argc, argv, ":f:t:qh", longopts, &li)) != -1) {
		/* The flag as the user would recognise it, for messages. */
		char flag[64];
		if (li >= 0)
			snprintf(flag, sizeof(flag), "--%s", longopts[li].name);
		else
			snprintf(flag, sizeof(flag), "-%c", c);
		li = -1;
		if (c >= O_TLS_CA && c <= O_TLS_INSECURE)
			tls_given |= 1u << (c - O_TLS_CA);
		switch (c) {
		case 'f':
			if (nfiles == sizeof(files) / sizeof(files[0])) {
				fprintf(stderr, "redial: at most %zu -f files\n", nfiles);
				return usage_error();
			}
			files[nfiles++] = optarg;
			break;
		case 't':
			if (!cli_parse_uint(flag, optarg, 1, 3600000, "ms", &v))
				return usage_error();
			s->ep.connect_timeout_ns = REDIAL_MSEC(v);
			break;
		case O_BACKOFF_INITIAL:
			if (!cli_parse_uint(flag, optarg, 1, 86400000, "ms", &v))
				return usage_error();
			s->ep.backoff_initial_ns = REDIAL_MSEC(v);
			initial_set = true;
			break;
		case O_BACKOFF_MAX:
			if (!cli_parse_uint(flag, optarg, 1, 86400000, "ms", &v))
				return usage_error();
			s->ep.backoff_max_ns = REDIAL_MSEC(v);
			max_set = true;
			break;
		case O_BACKOFF_MULT:
			if (!parse_multiplier(flag, optarg, &s->ep.backoff_multiplier))
				return usage_error();
			break;
		case O_JITTER:
			if (!parse_jitter(flag, optarg, &s->ep.backoff_jitter))
				return usage_error();
			break;
		case O_MAX_ATTEMPTS:
			if (!cli_parse_uint(flag, optarg, 0, UINT32_MAX, NULL, &v))
				return usage_error();
			s->ep.backoff_max_attempts = (uint32_t)v;
			break;
		case O_ALERT_AFTER:
			if (!cli_parse_uint(flag, optarg, 0, UINT32_MAX, NULL, &v))
				return usage_error();
			s->ep.alert_after = (uint32_t)v;
			break;
		case O_STABLE_AFTER:
			if (!cli_parse_uint(flag, optarg, 0, 86400000, "ms", &v))
				return usage_error();
			s->ep.stable_after_ns = REDIAL_MSEC(v);
			break;
		case O_DNS_SERVER:
			if (!add_dns_server(s, flag, optarg))
				return usage_error();
			break;
		case O_DNS_TIMEOUT:
			if (!cli_parse_uint(flag, optarg, 1, 600000, "ms", &v))
				return usage_error();
			s->dns_timeout_ns = REDIAL_MSEC(v);
			break;
		case O_DURATION:
			if (!cli_parse_seconds(flag, optarg, &s->duration_ns))
				return usage_error();
			break;
		case O_LOG:
			if (!*optarg) {
				fprintf(stderr, "redial: %s: empty file name\n", flag);
				return usage_error();
			}
			s->log_path = optarg;
			break;
		case O_SUMMARY:
			if (!*optarg) {
				fprintf(stderr, "redial: %s: empty file name\n", flag);
				return usage_error();
			}
			s->summary_path = optarg;
			break;
		case O_TLS:
			s->tls_all = true;
			break;
		case O_TLS_CA:
		case O_TLS_CERT:
		case O_TLS_KEY:
		case O_TLS_SNI:
		case O_TLS_ALPN:
			if (!*optarg) {
				fprintf(stderr, "redial: %s: empty value\n", flag);
				return usage_error();
			}
			*(c == O_TLS_CA     ? &s->tls.ca
			  : c == O_TLS_CERT ? &s->tls.cert
			  : c == O_TLS_KEY  ? &s->tls.key
			  : c == O_TLS_SNI  ? &s->tls.sni
					    : &s->tls.alpn) = optarg;
			break;
		case O_TLS_MIN:
			if (strcmp(optarg, "1.2") && strcmp(optarg, "1.3")) {
				fprintf(stderr, "redial: %s: ", flag);
				print_quoted(stderr, optarg);
				fprintf(stderr, " is not a TLS version (1.2 or 1.3)\n");
				return usage_error();
			}
			s->tls.min_version = optarg[2] == '3' ? REDIAL_TLS_1_3 : REDIAL_TLS_1_2;
			break;
		case O_TLS_TIMEOUT:
			if (!cli_parse_uint(flag, optarg, 1, 3600000, "ms", &v))
				return usage_error();
			s->ep.tls_handshake_timeout_ns = REDIAL_MSEC(v);
			break;
		case O_TLS_INSECURE:
			s->tls.flags |= REDIAL_TLS_INSECURE;
			break;
		case O_RECHECK:
			if (!cli_parse_uint(flag, optarg, 1, 86400000, "ms", &v))
				return usage_error();
			s->ep.recheck_permanent_ns = REDIAL_MSEC(v);
			break;
		case 'q':
			s->quiet = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return CLI_EXIT_OK;
		case O_VERSION:
			printf("redial %d.%d.%d\n", REDIAL_VERSION_MAJOR, REDIAL_VERSION_MINOR,
			       REDIAL_VERSION_PATCH);
			return CLI_EXIT_OK;
		case ':':
			fprintf(stderr, "redial: option '%s' needs a value\n", argv[optind - 1]);
			return usage_error();
		default:
			if (optopt && optopt != '?')
				fprintf(stderr, "redial: unknown option '-%c'\n", optopt);
			else
				fprintf(stderr, "redial: unknown option '%s'\n", argv[optind - 1]);
			return usage_error();
		}
	}

	if (s->ep.backoff_initial_ns > s->ep.backoff_max_ns) {
		/* Name the flags the user set; a default is named as such. */
		fprintf(stderr,
			"redial: --backoff-initial (%llu ms%s) must not exceed --backoff-max "
			"(%llu ms%s)\n",
			(unsigned long long)(s->ep.backoff_initial_ns / 1000000),
			initial_set ? "" : ", the default",
			(unsigned long long)(s->ep.backoff_max_ns / 1000000),
			max_set ? "" : ", the default");
		return usage_error();
	}
	if (!s->tls.cert != !s->tls.key) {
		fprintf(stderr, "redial: --tls-cert and --tls-key go together\n");
		return usage_error();
	}
	if (s->log_path && s->summary_path && strcmp(s->log_path, s->summary_path) == 0) {
		fprintf(stderr, "redial: --log and --summary name the same file \"%s\"\n",
			s->log_path);
		return usage_error();
	}

	if ((size_t)(argc - optind) > MAX_ENDPOINTS) {
		fprintf(stderr, "redial: more than %u endpoints\n", MAX_ENDPOINTS);
		return usage_error();
	}
	for (int i = optind; i < argc; i++) {
		if (cli_endpoint_push(s, argv[i], strlen(argv[i]), NULL, (unsigned)(i - optind + 1),
				      -1) < 0) {
			fprintf(stderr, "redial: out of memory\n");
			return CLI_EXIT_RUNTIME;
		}
	}
	for (size_t i = 0; i < nfiles; i++)
		if (!read_endpoints_file(s, files[i]))
			return CLI_EXIT_USAGE;
	if (!check_endpoints(s))
		return CLI_EXIT_USAGE;
	/* A --tls-* option with no TLS endpoint does nothing: most likely --tls or a tls://
	 * was forgotten, which the user should hear of rather than find out from the peer. */
	bool any_tls = false;
	for (size_t i = 0; i < s->neps && !any_tls; i++)
		any_tls = cli_endpoint_tls(s, &s->eps[i]) != NULL;
	for (const struct option *o = longopts; s->neps && !any_tls && o->name; o++)
		if (o->val >= O_TLS_CA && o->val <= O_TLS_INSECURE &&
		    (tls_given & 1u << (o->val - O_TLS_CA)))
			fprintf(stderr,
				"redial: warning: --%s has no effect: no endpoint runs TLS (give "
				"--tls, or write an endpoint as tls://HOST:PORT)\n",
				o->name);
	if (any_tls && (s->tls.flags & REDIAL_TLS_INSECURE))
		fprintf(stderr, "redial: WARNING: --tls-insecure: TLS peers are NOT verified; any "
				"certificate is accepted\n");
	if (s->neps == 0) {
		if (nfiles)
			fprintf(stderr, "redial: no endpoints in %s%s\n", files[0],
				nfiles > 1 ? " and the other files" : "");
		else
			fprintf(stderr, "redial: no endpoints given\n");
		return usage_error();
	}
	return -1;
}
