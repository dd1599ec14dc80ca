/* test_faults.c — the fault matrix: the real `redial` binary (REDIAL_BIN) against network
 * faults made inside a network namespace of each test's own (routes, iptables rules, full
 * listen queues, an exhausted port range), and against signals. Each row asserts, from the
 * --summary JSON and the log decoded by the real `redial-log --json` (REDIAL_LOG_BIN), what
 * the endpoint must do: the failed attempts with the errno the kernel reports, no
 * `connected`, the alert at --alert-after, the give-up at --max-attempts.
 *
 * Nothing here waits a fixed time: a run is stopped once its log shows the outcome (or
 * shows it went wrong), with a generous bound for a loaded machine; timings are checked from
 * below by the policy and from above by seconds. Run as root or where user namespaces are
 * allowed; otherwise the program exits 77 (skipped). The table of rows is in the README. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

/* The policy every failing row runs with: no jitter, so each backoff is known. */
#define MAX_ATTEMPTS 3
#define ALERT_AFTER 2
#define BACKOFF_MS 50
/* How long a row may take on a loaded two-core machine before it counts as hung. */
#define ROW_BOUND_S 60.0

/* ---- Fixture ---------------------------------------------------------------------------- */

static void setup(void)
{
	tu_scratch_make("redial-faults");
}

static void teardown(void)
{
	tu_scratch_remove();
}

TestSuite(faults, .init = setup, .fini = teardown, .timeout = 180);

/* Moves the test (and so every process it starts) into a network namespace of its own. */
static void enter_netns(void)
{
	char why[256];
	if (tu_unshare(CLONE_NEWNET, why, sizeof(why)) < 0)
		cr_skip_test("no network namespace: %s", why);
}

/* Runs a shell command inside the test's namespace; it must succeed. */
static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[512], full[700], out[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	tu_path_in_dir(out, sizeof(out), "sh.out");
	snprintf(full, sizeof(full), "(%s) >%s 2>&1", cmd, out);
	int st = system(full);
	char *text = tu_slurp(out, NULL);
	cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "`%s` failed: %s", cmd,
		  text ? text : "");
	free(text);
}

/* ---- Running a row ---------------------------------------------------------------------- */

/* How many records of an event the log holds so far (the writer still running: the last
 * record may be torn, which redial-log reports with exit status 1). */
static size_t count_so_far(const char *log, const char *event)
{
	struct tu_args a = { .n = 0 };
	struct tu_result r;
	tu_args_add(&a, tu_bin("REDIAL_LOG_BIN"), "--json", "--event", event, log, NULL);
	tu_run(&a, 60, &r);
	size_t n = 0;
	if (r.code == 0 || r.code == 1)
		for (const char *p = r.out; (p = strchr(p, '\n')); p++)
			n++;
	tu_result_free(&r);
	return n;
}

struct row {
	const char *target;   /* the endpoint */
	const char *err;      /* the errno name every failed attempt must carry */
	unsigned timeout_ms;  /* --connect-timeout; the attempts must last at least this */
};

struct outcome {
	struct tu_result r;
	struct tj *sum;
	struct tu_records recs;
	char log[160], sum_path[160];
};

/* Starts redial on one endpoint with the row policy, waits until its log shows the give-up
 * (or a connect, which no row expects), stops it with SIGTERM and collects everything. */
static void run_row(const struct row *row, struct outcome *o)
{
	tu_path_in_dir(o->log, sizeof(o->log), "row.log");
	tu_path_in_dir(o->sum_path, sizeof(o->sum_path), "row.json");
	struct tu_args a = { .n = 0 };
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "--jitter", "none", "--backoff-initial", NULL);
	tu_arg(&a, "%d", BACKOFF_MS);
	tu_arg(&a, "--max-attempts");
	tu_arg(&a, "%d", MAX_ATTEMPTS);
	tu_arg(&a, "--alert-after");
	tu_arg(&a, "%d", ALERT_AFTER);
	tu_arg(&a, "--connect-timeout");
	tu_arg(&a, "%u", row->timeout_ms ? row->timeout_ms : 10000);
	tu_args_add(&a, "--log", o->log, "--summary", o->sum_path, row->target, NULL);
	struct tu_proc p;
	tu_spawn(&p, a.v, NULL);
	for (;;) {
		int st;
		cr_assert_eq(waitpid(p.pid, &st, WNOHANG), 0, "redial exited early");
		if (count_so_far(o->log, "gave_up") > 0 ||
		    count_so_far(o->log, "connected,disconnected") > 0)
			break;
		if (tu_now_s() - p.started > ROW_BOUND_S)
			break; /* the assertions below say what is missing */
		usleep(50000);
	}
	cr_assert_eq(kill(p.pid, SIGTERM), 0);
	tu_wait(&p, 30, &o->r);
	cr_assert_eq(o->r.code, 0, "exit %d: %s", o->r.code, o->r.err);
	tu_decode_log(o->log, &o->recs);
	o->sum = tu_read_summary(o->sum_path);
	tu_check_summary_consistent(o->sum, 1);
}

static void outcome_free(struct outcome *o)
{
	tu_records_free(&o->recs);
	tj_free(o->sum);
	tu_result_free(&o->r);
}

/* What every failing row must show: MAX_ATTEMPTS failed attempts with row->err, classed
 * transient, each after its backoff and lasting at least the connect timeout when that is
 * what fails them; the alert at the ALERT_AFTER-th; the give-up at MAX_ATTEMPTS; never a
 * connection. */
static void check_failing_row(const struct row *row)
{
	struct outcome o;
	run_row(row, &o);
	const char *ep = row->target;
	const struct tj *none[1], *fails[8], *alerts[2], *gave[2];

	size_t nconn = tu_select_records(&o.recs, "connected", ep, none, 0);
	size_t ndisc = tu_select_records(&o.recs, "disconnected", ep, none, 0);
	cr_expect_eq(nconn, 0, "%s: %zu connected records, although the kernel refused it", ep,
		     nconn);
	cr_expect_eq(ndisc, 0, "%s: %zu disconnected records", ep, ndisc);

	size_t nf = tu_select_records(&o.recs, "connect_failed", ep, fails, 8);
	cr_expect_eq(nf, MAX_ATTEMPTS, "%s: %zu connect_failed records", ep, nf);
	for (size_t i = 0; i < nf && i < 8; i++) {
		cr_expect_str_eq(tu_str(fails[i], "error"), row->err, "%s: attempt %zu", ep, i + 1);
		cr_expect_str_eq(tu_str(fails[i], "class"), "transient", "%s: attempt %zu", ep,
				 i + 1);
		cr_expect_eq(tu_num(fails[i], "attempt"), (double)(i + 1));
		double want_backoff = i + 1 < MAX_ATTEMPTS ? BACKOFF_MS * 1e6 * (double)(1u << i) : 0;
		cr_expect_eq(tu_num(fails[i], "backoff_ns"), want_backoff, "%s: attempt %zu", ep,
			     i + 1);
		double d = tu_num(fails[i], "duration_ns");
		if (row->timeout_ms) {
			cr_expect_geq(d, row->timeout_ms * 1e6, "%s: timed out after %.0f ns", ep,
				      d);
			cr_expect_leq(d, row->timeout_ms * 1e6 + 10e9, "%s: late: %.0f ns", ep, d);
		} else {
			cr_expect_leq(d, 10e9, "%s: a refusal took %.0f ns", ep, d);
		}
		if (i == 0)
			continue;
		/* The next attempt starts no sooner than the backoff after a failure. */
		double start = tu_num(fails[i], "mono_ns") - d;
		double gap = start - tu_num(fails[i - 1], "mono_ns");
		double want = tu_num(fails[i - 1], "backoff_ns");
		cr_expect_geq(gap, want, "%s: attempt %zu started %.0f ns after a failure that "
				     "asked for %.0f", ep, i + 1, gap, want);
		cr_expect_leq(gap, want + 10e9, "%s: attempt %zu late by %.0f ns", ep, i + 1,
			      gap - want);
	}
	size_t na = tu_select_records(&o.recs, "alert", ep, alerts, 2);
	cr_expect_eq(na, 1, "%s: %zu alerts", ep, na);
	if (na >= 1 && nf >= ALERT_AFTER) {
		cr_expect_eq(tu_num(alerts[0], "attempts"), ALERT_AFTER);
		cr_expect_str_eq(tu_str(alerts[0], "error"), row->err);
		cr_expect_eq(tu_num(alerts[0], "mono_ns"),
			     tu_num(fails[ALERT_AFTER - 1], "mono_ns"));
	}
	size_t ng = tu_select_records(&o.recs, "gave_up", ep, gave, 2);
	cr_expect_eq(ng, 1, "%s: %zu gave_up records", ep, ng);
	if (ng >= 1) {
		cr_expect_str_eq(tu_str(gave[0], "reason"), "max_attempts");
		cr_expect_str_eq(tu_str(gave[0], "error"), row->err);
		cr_expect_eq(tu_num(gave[0], "attempts"), MAX_ATTEMPTS);
	}

	const struct tj *e = tu_endpoint_of(o.sum, ep);
	cr_expect_str_eq(tu_str(e, "state"), "failed", "%s", ep);
	cr_expect_eq(tu_num(e, "attempts"), MAX_ATTEMPTS, "%s", ep);
	cr_expect_eq(tu_num(e, "failures"), MAX_ATTEMPTS, "%s", ep);
	cr_expect_eq(tu_num(e, "connects"), 0, "%s", ep);
	cr_expect_eq(tu_num(e, "disconnects"), 0, "%s", ep);
	cr_expect_eq(tu_num(e, "alerts"), 1, "%s", ep);
	cr_expect_eq(tu_num(e, "local_errors"), 0, "%s", ep);
	if (!tu_is_null(e, "last_error")) {
		cr_expect_str_eq(tu_str(e, "last_error"), row->err, "%s", ep);
		cr_expect_str_eq(tu_str(e, "last_class"), "transient", "%s", ep);
	} else {
		cr_expect_fail("%s: no last_error", ep);
	}
	if (!tu_is_null(e, "gave_up"))
		cr_expect_str_eq(tu_str(e, "gave_up"), "max_attempts", "%s", ep);
	else
		cr_expect_fail("%s: did not give up", ep);
	const struct tj *errs = tj_get(e, "errors");
	cr_expect(errs && errs->n == 1, "%s: errors of more than one kind", ep);
	cr_expect_eq(tu_num(errs, row->err), MAX_ATTEMPTS, "%s", ep);
	cr_expect_str_eq(tu_str(o.sum, "stop_reason"), "SIGTERM");
	cr_expect_str_eq(tu_str(o.sum, "shutdown"), "clean");
	outcome_free(&o);
}

/* ---- Rows: refused, timed out, no route ------------------------------------------------- */

Test(faults, a_closed_port_is_refused)
{
	enter_netns();
	static const struct row row = { "127.0.0.1:4000", "ECONNREFUSED", 0 };
	check_failing_row(&row);
}

Test(faults, a_dropped_syn_times_out_at_the_connect_timeout)
{
	enter_netns();
	sh("ip addr add 10.200.0.1/32 dev lo");
	sh("iptables -A INPUT -p tcp -d 10.200.0.1 -j DROP");
	static const struct row row = { "10.200.0.1:80", "ETIMEDOUT", 300 };
	check_failing_row(&row);
}

/* A listener whose accept queue is full drops every new SYN: the attempts time out. */
Test(faults, a_full_listen_backlog_times_out_at_the_connect_timeout)
{
	enter_netns();
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(l, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(4001),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	cr_assert_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(l, 0), 0); /* room for one connection, never accepted */
	int c1 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(connect(c1, (struct sockaddr *)&sa, sizeof(sa)), 0, "%s", strerror(errno));
	/* The queue holds c1 once the server has seen its ACK, right after connect returns
	 * on loopback; a second, nonblocking connect must then stay unanswered. */
	int c2 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	cr_assert(connect(c2, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno == EINPROGRESS);
	struct pollfd pfd = { .fd = c2, .events = POLLOUT };
	cr_assert_eq(poll(&pfd, 1, 200), 0, "the listen queue is not full");
	static const struct row row = { "127.0.0.1:4001", "ETIMEDOUT", 300 };
	check_failing_row(&row);
	close(c2);
	close(c1);
	close(l);
}

/* No route at all (a new namespace has none but lo's). */
Test(faults, no_route_is_ENETUNREACH)
{
	enter_netns();
	static const struct row row = { "10.204.0.1:80", "ENETUNREACH", 0 };
	check_failing_row(&row);
}

/* The route types that make connect itself fail. They used to end the endpoint at once
 * (EINVAL and EACCES were permanent), though a route can change any time. */
Test(faults, an_unreachable_route_is_EHOSTUNREACH_and_retried)
{
	enter_netns();
	sh("ip route add unreachable 10.203.0.0/24");
	static const struct row row = { "10.203.0.1:80", "EHOSTUNREACH", 0 };
	check_failing_row(&row);
}

Test(faults, a_blackhole_route_is_EINVAL_and_retried)
{
	enter_netns();
	sh("ip route add blackhole 10.201.0.0/24");
	static const struct row row = { "10.201.0.1:80", "EINVAL", 0 };
	check_failing_row(&row);
}

Test(faults, a_prohibit_route_is_EACCES_and_retried)
{
	enter_netns();
	sh("ip route add prohibit 10.202.0.0/24");
	static const struct row row = { "10.202.0.1:80", "EACCES", 0 };
	check_failing_row(&row);
}

/* A netfilter OUTPUT rule that drops the SYN on its way out: TCP retransmits it (the
 * rule's EPERM does not reach connect), so the attempt times out. */
Test(faults, an_output_drop_rule_times_out_at_the_connect_timeout)
{
	enter_netns();
	sh("ip addr add 10.200.0.2/32 dev lo");
	sh("iptables -A OUTPUT -p tcp -d 10.200.0.2 -j DROP");
	static const struct row row = { "10.200.0.2:80", "ETIMEDOUT", 300 };
	check_failing_row(&row);
}

/* ---- Rows: every iptables REJECT type ---------------------------------------------------- */

/* The SYN reaches a REJECT rule on the way in; the kernel turns the answer into the
 * connect's errno (icmp_err_convert for ICMP, a RST for tcp-reset). These fail until the
 * engine confirms a CONNECT completion against the socket's pending error: io_uring
 * completes the CONNECT with 0 while the socket holds the ICMP error, and redial reports
 * `connected` then `disconnected`. */
static void check_reject(const char *addr, const char *with, const char *err)
{
	enter_netns();
	sh("ip addr add %s/32 dev lo", addr);
	/* --dport: the source of a connection to a local address is that address too, so
	 * without it the rule would also eat the RST that tcp-reset sends back. */
	sh("iptables -A INPUT -p tcp -d %s --dport 80 -j REJECT --reject-with %s", addr, with);
	char target[64];
	snprintf(target, sizeof(target), "%s:80", addr);
	struct row row = { target, err, 0 };
	check_failing_row(&row);
}

Test(faults, reject_icmp_net_unreachable_is_ENETUNREACH)
{
	check_reject("10.200.1.1", "icmp-net-unreachable", "ENETUNREACH");
}

Test(faults, reject_icmp_host_unreachable_is_EHOSTUNREACH)
{
	check_reject("10.200.1.2", "icmp-host-unreachable", "EHOSTUNREACH");
}

Test(faults, reject_icmp_port_unreachable_is_ECONNREFUSED)
{
	check_reject("10.200.1.3", "icmp-port-unreachable", "ECONNREFUSED");
}

Test(faults, reject_icmp_proto_unreachable_is_ENOPROTOOPT)
{
	check_reject("10.200.1.4", "icmp-proto-unreachable", "ENOPROTOOPT");
}

Test(faults, reject_icmp_net_prohibited_is_ENETUNREACH)
{
	check_reject("10.200.1.5", "icmp-net-prohibited", "ENETUNREACH");
}

Test(faults, reject_icmp_host_prohibited_is_EHOSTUNREACH)
{
	check_reject("10.200.1.6", "icmp-host-prohibited", "EHOSTUNREACH");
}

Test(faults, reject_icmp_admin_prohibited_is_EHOSTUNREACH)
{
	check_reject("10.200.1.7", "icmp-admin-prohibited", "EHOSTUNREACH");
}

Test(faults, reject_tcp_reset_is_ECONNREFUSED)
{
	check_reject("10.200.1.8", "tcp-reset", "ECONNREFUSED");
}

/* ---- Row: no local port left ------------------------------------------------------------- */

/* Two local ports, both in use towards the target: the connect fails with EADDRNOTAVAIL, a
 * local shortage, which throttles the manager and is not counted against the endpoint (no
 * failed attempt, no alert, no give-up). */
Test(faults, no_local_port_left_is_EADDRNOTAVAIL_and_local)
{
	enter_netns();
	sh("echo '41000 41001' > /proc/sys/net/ipv4/ip_local_port_range");
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(4002),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	cr_assert_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(l, 16), 0);
	int c[3];
	for (int i = 0; i < 2; i++) {
		c[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert_eq(connect(c[i], (struct sockaddr *)&sa, sizeof(sa)), 0, "%s",
			     strerror(errno));
	}
	c[2] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(connect(c[2], (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno == EADDRNOTAVAIL,
		  "the port range is not exhausted: %s", strerror(errno));
	close(c[2]);

	char log[160], sum[160];
	tu_path_in_dir(log, sizeof(log), "local.log");
	tu_path_in_dir(sum, sizeof(sum), "local.json");
	struct tu_args a = { .n = 0 };
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "--max-attempts", NULL);
	tu_arg(&a, "%d", MAX_ATTEMPTS);
	tu_arg(&a, "--alert-after");
	tu_arg(&a, "%d", ALERT_AFTER);
	tu_args_add(&a, "--log", log, "--summary", sum, "127.0.0.1:4002", NULL);
	struct tu_proc p;
	struct tu_result r;
	tu_spawn(&p, a.v, NULL);
	/* Wait for a few local errors (they are logged as failed connects of class local),
	 * more than MAX_ATTEMPTS, to see they never count towards the give-up. */
	while (count_so_far(log, "connect_failed") <= MAX_ATTEMPTS &&
	       tu_now_s() - p.started < ROW_BOUND_S)
		usleep(50000);
	cr_assert_eq(kill(p.pid, SIGTERM), 0);
	tu_wait(&p, 30, &r);
	cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
	struct tj *s = tu_read_summary(sum);
	tu_check_summary_consistent(s, 1);
	const struct tj *e = tu_endpoint_of(s, "127.0.0.1:4002");
	cr_expect_gt(tu_num(e, "local_errors"), MAX_ATTEMPTS);
	cr_expect_eq(tu_num(e, "attempts"), 0);
	cr_expect_eq(tu_num(e, "failures"), 0);
	cr_expect_eq(tu_num(e, "connects"), 0);
	cr_expect(tu_is_null(e, "gave_up"), "gave up over a local shortage");
	cr_expect_eq(tu_num(e, "alerts"), 0);
	cr_expect_str_eq(tu_str(e, "last_error"), "EADDRNOTAVAIL");
	cr_expect_str_eq(tu_str(e, "last_class"), "local");
	cr_expect_eq(tu_num(tj_get(e, "errors"), "EADDRNOTAVAIL"), tu_num(e, "local_errors"));
	struct tu_records recs;
	tu_decode_log(log, &recs);
	const struct tj *none[1], *fails[4];
	size_t nf = tu_select_records(&recs, "connect_failed", NULL, fails, 4);
	cr_expect_eq((double)nf, tu_num(e, "local_errors"));
	for (size_t i = 0; i < nf && i < 4; i++) {
		cr_expect_str_eq(tu_str(fails[i], "error"), "EADDRNOTAVAIL");
		cr_expect_str_eq(tu_str(fails[i], "class"), "local");
	}
	cr_expect_eq(tu_select_records(&recs, "connected", NULL, none, 0), 0);
	cr_expect_eq(tu_select_records(&recs, "alert", NULL, none, 0), 0);
	cr_expect_eq(tu_select_records(&recs, "gave_up", NULL, none, 0), 0);
	tu_records_free(&recs);
	tj_free(s);
	tu_result_free(&r);
	for (int i = 0; i < 2; i++)
		close(c[i]);
	close(l);
}

/* ---- Rows: signals ------------------------------------------------------------------------ */

/* Sockets of this namespace in SYN_SENT (/proc/net/tcp state 02). */
static int syn_sent(void)
{
	FILE *f = fopen("/proc/net/tcp", "re");
	cr_assert_not_null(f);
	char line[512];
	int n = 0;
	while (fgets(line, sizeof(line), f)) {
		char st[8];
		if (sscanf(line, " %*s %*s %*s %7s", st) == 1 && strcmp(st, "02") == 0)
			n++;
	}
	fclose(f);
	return n;
}

#define INFLIGHT 200

/* Many attempts in flight (SYNs dropped, a long connect timeout) when the signal comes: the
 * run ends at once with exit 0, every endpoint cancelled, the summary and the log whole. */
static void check_signal_in_flight(int sig, const char *name)
{
	enter_netns();
	sh("ip addr add 10.200.2.1/32 dev lo");
	sh("iptables -A INPUT -p tcp -d 10.200.2.1 -j DROP");
	char file[160], log[160], sum[160];
	tu_path_in_dir(file, sizeof(file), "eps.txt");
	tu_path_in_dir(log, sizeof(log), "sig.log");
	tu_path_in_dir(sum, sizeof(sum), "sig.json");
	FILE *fp = fopen(file, "we");
	cr_assert_not_null(fp);
	for (int i = 0; i < INFLIGHT; i++)
		fprintf(fp, "10.200.2.1:%d\n", 5000 + i);
	cr_assert_eq(fclose(fp), 0);
	struct tu_args a = { .n = 0 };
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "--connect-timeout", "600000", "--log", log,
			"--summary", sum, "-f", file, NULL);
	struct tu_proc p;
	struct tu_result r;
	tu_spawn(&p, a.v, NULL);
	while (syn_sent() < INFLIGHT && tu_now_s() - p.started < ROW_BOUND_S)
		usleep(20000);
	cr_assert_eq(syn_sent(), INFLIGHT, "attempts in flight: %d of %d", syn_sent(), INFLIGHT);
	double t = tu_now_s();
	cr_assert_eq(kill(p.pid, sig), 0);
	tu_wait(&p, 30, &r);
	cr_assert_eq(r.code, 0, "exit %d after %s: %s", r.code, name, r.err);
	cr_expect_lt(tu_now_s() - t, 10.0, "%.2f s to stop", tu_now_s() - t);
	cr_expect_eq(syn_sent(), 0, "connects left behind");

	struct tj *s = tu_read_summary(sum);
	tu_check_summary_consistent(s, INFLIGHT);
	cr_expect_str_eq(tu_str(s, "stop_reason"), name);
	cr_expect_str_eq(tu_str(s, "shutdown"), "clean");
	cr_expect_eq(tu_num(tj_path(s, "totals", "states", NULL), "connecting"), INFLIGHT);
	cr_expect_eq(tu_num(tj_get(s, "totals"), "failures"), 0);
	const struct tj *l = tj_get(s, "log");
	cr_expect(tu_is_null(l, "error"));
	cr_expect_eq(tu_num(l, "dropped"), 0);
	cr_expect_eq(tu_num(l, "lost"), 0);
	struct tu_records recs;
	tu_decode_log(log, &recs);
	const struct tj *none[1];
	cr_expect_eq(tu_select_records(&recs, "endpoint_added", NULL, none, 0), INFLIGHT);
	cr_expect_eq(tu_select_records(&recs, "cancelled", NULL, none, 0), INFLIGHT);
	cr_expect_eq(tu_select_records(&recs, "connect_failed", NULL, none, 0), 0);
	cr_expect_eq(tu_select_records(&recs, "connected", NULL, none, 0), 0);
	cr_expect_eq(tu_num(l, "written"), (double)recs.n);
	tu_records_free(&recs);
	tj_free(s);
	tu_result_free(&r);
}

Test(faults, sigterm_with_attempts_in_flight_exits_clean_with_summary_and_log)
{
	check_signal_in_flight(SIGTERM, "SIGTERM");
}

Test(faults, sigint_with_attempts_in_flight_exits_clean_with_summary_and_log)
{
	check_signal_in_flight(SIGINT, "SIGINT");
}

/* SIGKILL while the log is being written: the file decodes up to its last whole record
 * (redial-log exits 0, or 1 naming a torn last record), never as corrupt. */
Test(faults, sigkill_mid_log_leaves_a_log_that_decodes_to_its_last_whole_record)
{
	enter_netns();
	char log[160];
	tu_path_in_dir(log, sizeof(log), "killed.log");
	struct tu_args a = { .n = 0 };
	tu_args_add(&a, tu_bin("REDIAL_BIN"), "-q", "--backoff-initial", "1", "--backoff-max", "5",
			"--log", log, NULL);
	for (int i = 0; i < 50; i++)
		tu_arg(&a, "127.0.0.%d:1", 1 + i); /* refused at once, retried within ms */
	struct tu_proc p;
	struct tu_result r;
	tu_spawn(&p, a.v, NULL);
	struct stat sb;
	while ((stat(log, &sb) < 0 || sb.st_size < 256 * 1024) &&
	       tu_now_s() - p.started < ROW_BOUND_S)
		usleep(10000);
	cr_assert_geq(sb.st_size, 256 * 1024, "the log did not grow");
	cr_assert_eq(kill(p.pid, SIGKILL), 0);
	tu_wait(&p, 30, &r);
	cr_assert_eq(r.code, 128 + SIGKILL);
	tu_result_free(&r);

	a.n = 0;
	tu_args_add(&a, tu_bin("REDIAL_LOG_BIN"), "--json", log, NULL);
	tu_run(&a, 60, &r);
	cr_assert(r.code == 0 || r.code == 1, "redial-log exit %d: %s", r.code, r.err);
	if (r.code == 1)
		cr_expect(strstr(r.err, "torn record") && !strstr(r.err, "corrupt"), "%s", r.err);
	else
		cr_expect_str_empty(r.err);
	size_t n = 0, failed = 0;
	for (char *line = r.out, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		cr_assert_not_null(nl);
		char err[128];
		struct tj *v = tj_parse(line, (size_t)(nl - line), err, sizeof(err));
		cr_assert_not_null(v, "line %zu is not JSON: %s", n + 1, err);
		const char *ev = tj_str(tj_get(v, "event"));
		cr_assert_not_null(ev);
		if (strcmp(ev, "connect_failed") == 0) {
			cr_expect_str_eq(tu_str(v, "error"), "ECONNREFUSED");
			failed++;
		}
		tj_free(v);
		n++;
	}
	cr_expect_gt(failed, 100, "%zu records, %zu failures", n, failed);
	tu_result_free(&r);
}

/* ---- main: skip the program where namespaces are not allowed ----------------------------- */

static bool netns_allowed(char *why, size_t whylen)
{
	int fds[2];
	if (pipe(fds) < 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return false;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		return false;
	}
	if (pid == 0) {
		close(fds[0]);
		char msg[256] = "";
		int ok = tu_unshare(CLONE_NEWNET, msg, sizeof(msg)) == 0;
		if (ok && system("ip link show lo >/dev/null 2>&1") != 0) {
			snprintf(msg, sizeof(msg), "`ip` (iproute2) does not work here");
			ok = 0;
		}
		if (ok && system("iptables -L INPUT -n >/dev/null 2>&1") != 0) {
			snprintf(msg, sizeof(msg), "`iptables` does not work here");
			ok = 0;
		}
		if (write(fds[1], msg, strlen(msg)) < 0)
			_exit(2);
		_exit(ok ? 0 : 1);
	}
	close(fds[1]);
	ssize_t n = read(fds[0], why, whylen - 1);
	why[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return false;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(int argc, char *argv[])
{
	char why[256];
	if (!netns_allowed(why, sizeof(why))) {
		fprintf(stderr, "test_faults: skipped: cannot make network namespaces here (%s)\n",
			why);
		return 77;
	}
	struct criterion_test_set *tests = criterion_initialize();
	int result = 0;
	if (criterion_handle_args(argc, argv, true))
		result = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	return result;
}
