/* dnsmasq.c — see dnsmasq.h. */
#include "dnsmasq.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* The dnsmasq helpers come in two layers: tu_dnsmasq_*_err report failure with a sentence
 * (for programs outside Criterion, such as tests/soak), the plain ones assert. */

/* A port free on 127.0.0.1 for both UDP and TCP: dnsmasq listens on both. 0 when none. */
static uint16_t free_dns_port(void)
{
	for (int tries = 0; tries < 50; tries++) {
		int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (u < 0 || t < 0) {
			if (u >= 0)
				close(u);
			if (t >= 0)
				close(t);
			return 0;
		}
		int one = 1;
		setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)); /* as dnsmasq does */
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t len = sizeof(sa);
		bool ok = bind(u, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
			  getsockname(u, (struct sockaddr *)&sa, &len) == 0 &&
			  bind(t, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		close(u);
		close(t);
		if (ok)
			return ntohs(sa.sin_port);
	}
	return 0;
}

static bool udp_port_taken(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bool taken = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno == EADDRINUSE;
	close(fd);
	return taken;
}

/* Replaces path's content at once (a rename), so dnsmasq never reads half a file. */
static int replace_file(const char *path, const char *text, char *why, size_t whylen)
{
	char tmp[160];
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	FILE *f = fopen(tmp, "we");
	if (!f) {
		snprintf(why, whylen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	fputs(text, f);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* dnsmasq's path: on PATH, or in an sbin directory that a user's PATH may lack; NULL when it
 * is not installed (the test is then skipped; meson skips test_dns as a whole). */
static const char *dnsmasq_path(void)
{
	static char path[512];
	char dirs[4096];
	const char *env = getenv("PATH");
	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/sbin", env ? env : "");
	char *save = NULL;
	for (char *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof(path), "%s/dnsmasq", dir);
		if (access(path, X_OK) == 0)
			return path;
	}
	return NULL;
}

/* One try on a fresh port; false when dnsmasq exited or never bound the port. */
static bool dnsmasq_try(struct tu_dnsmasq *d, const char *prog, char *why, size_t whylen)
{
	d->port = free_dns_port();
	if (d->port == 0) {
		snprintf(why, whylen, "no port free for both UDP and TCP on 127.0.0.1");
		return false;
	}
	char port[32], hosts[128], log[128], err[128];
	snprintf(port, sizeof(port), "--port=%u", d->port);
	snprintf(hosts, sizeof(hosts), "--addn-hosts=%s", d->hosts);
	snprintf(log, sizeof(log), "--log-facility=%s", d->log);
	snprintf(err, sizeof(err), "%s/stderr", d->dir);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		return false;
	}
	if (pid == 0) {
		/* Dies with the test, even one killed by a timeout before its teardown. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0)
			dup2(fd, 2);
		/* As root dnsmasq would switch to "nobody" and "dip"; it needs no privilege. */
		char *argv[] = { "dnsmasq", "-k", "--conf-file=/dev/null", "--no-resolv",
				 "--no-hosts", hosts, "--listen-address=127.0.0.1", "--bind-interfaces",
				 port, "--local=/test/", "--pid-file=", "--log-queries", log,
				 /* Same user and group: a change would clear the death signal. */
				 geteuid() == 0 ? "--user=root" : "--local-ttl=0",
				 geteuid() == 0 ? "--group=root" : "--local-ttl=0", NULL };
		execv(prog, argv);
		_exit(127);
	}
	d->pid = pid;
	for (int i = 0; i < 1000; i++) { /* up to 10 s on a loaded machine */
		if (udp_port_taken(d->port))
			return true;
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			FILE *f = fopen(err, "re");
			size_t n = f ? fread(why, 1, whylen - 1, f) : 0;
			why[n] = '\0';
			if (f)
				fclose(f);
			d->pid = 0;
			return false;
		}
		usleep(10000);
	}
	snprintf(why, whylen, "port %u not bound after 10 s", d->port);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	d->pid = 0;
	return false;
}

int tu_dnsmasq_start_err(struct tu_dnsmasq *d, const char *hosts, char *why, size_t whylen)
{
	memset(d, 0, sizeof(*d));
	const char *prog = dnsmasq_path();
	if (!prog) {
		snprintf(why, whylen, "dnsmasq is not installed (Debian package dnsmasq-base)");
		return -ENOENT;
	}
	strcpy(d->dir, "/tmp/redial-dns-XXXXXX");
	if (!mkdtemp(d->dir)) {
		snprintf(why, whylen, "mkdtemp: %s", strerror(errno));
		d->dir[0] = '\0';
		return -1;
	}
	snprintf(d->hosts, sizeof(d->hosts), "%s/hosts", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/log", d->dir);
	if (replace_file(d->hosts, hosts, why, whylen) < 0)
		return -1;
	why[0] = '\0';
	for (int tries = 0; tries < 8; tries++) /* a port can be taken between pick and bind */
		if (dnsmasq_try(d, prog, why, whylen)) {
			snprintf(d->servers, sizeof(d->servers), "127.0.0.1:%u", d->port);
			return 0;
		}
	return -1;
}

void tu_dnsmasq_start(struct tu_dnsmasq *d, const char *hosts)
{
	char why[512] = "";
	int ret = tu_dnsmasq_start_err(d, hosts, why, sizeof(why));
	if (ret == -ENOENT)
		cr_skip_test("%s", why);
	if (ret < 0)
		cr_assert_fail("dnsmasq did not start: %s", why);
}

/* Lines of dnsmasq's log that contain want; -1 when there is no log yet. */
static int log_lines_with(const struct tu_dnsmasq *d, const char *want)
{
	FILE *f = fopen(d->log, "re");
	if (!f)
		return -1;
	char line[512];
	int n = 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, want))
			n++;
	fclose(f);
	return n;
}

/* Lines of dnsmasq's log that say it (re)read the hosts file: "read FILE - N names". */
static int dnsmasq_reads(const struct tu_dnsmasq *d)
{
	char want[128];
	snprintf(want, sizeof(want), "read %s - ", d->hosts);
	int n = log_lines_with(d, want);
	return n < 0 ? 0 : n;
}

int tu_dnsmasq_reload_err(struct tu_dnsmasq *d, const char *hosts, char *why, size_t whylen)
{
	int before = dnsmasq_reads(d);
	if (replace_file(d->hosts, hosts, why, whylen) < 0)
		return -1;
	if (kill(d->pid, SIGHUP) < 0) {
		snprintf(why, whylen, "kill dnsmasq: %s", strerror(errno));
		return -1;
	}
	/* dnsmasq re-reads the file on its next loop turn and logs it: wait for that line,
	 * however late a loaded machine runs dnsmasq (up to 30 s). */
	for (int i = 0; i < 3000 && dnsmasq_reads(d) <= before; i++)
		usleep(10000);
	if (dnsmasq_reads(d) <= before) {
		snprintf(why, whylen, "dnsmasq did not re-read %s within 30 s", d->hosts);
		return -1;
	}
	return 0;
}

void tu_dnsmasq_reload(struct tu_dnsmasq *d, const char *hosts)
{
	char why[256];
	if (tu_dnsmasq_reload_err(d, hosts, why, sizeof(why)) < 0)
		cr_assert_fail("%s", why);
}

int tu_dnsmasq_queries(const struct tu_dnsmasq *d, const char *type, const char *name)
{
	char want[128];
	snprintf(want, sizeof(want), "query[%s] %s from", type, name);
	int n = log_lines_with(d, want);
	cr_assert_geq(n, 0, "no dnsmasq log at %s", d->log);
	return n;
}

void tu_dnsmasq_stop(struct tu_dnsmasq *d)
{
	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		waitpid(d->pid, NULL, 0);
	}
	char p[160];
	unlink(d->hosts);
	unlink(d->log);
	snprintf(p, sizeof(p), "%s/stderr", d->dir);
	unlink(p);
	rmdir(d->dir);
	d->pid = 0;
}

