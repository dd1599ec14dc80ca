/* farm-server - runs a loopback target farm from the command line, for manual runs and for
 * benchmark contenders written in other languages.
 *
 *   farm-server [-n] [-q] SPEC...      e.g. farm-server accept refuse blackhole drop:500:rst
 *
 * Prints one "SPEC PORT" line per target, in argument order, once the farm is ready (the
 * last line means ready). Runs until SIGTERM, SIGINT or EOF on stdin (-n: ignore stdin, for
 * background runs whose stdin is /dev/null), then prints each target's counters to stderr
 * (unless -q) and exits 0. Exit status 2 for a usage error, 1 for a runtime error, including
 * the farm's child dying. */
#include "farm.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: farm-server [-n|--no-stdin] [-q|--quiet] SPEC...\n"
		"SPEC: KIND[:ARG]... with KIND accept, refuse, blackhole, drop, slow, acceptclose,\n"
		"      tlsreset, tlseof, plain (tls and tlsclose need certificates: farm_start\n"
		"      only)\n"
		"      ARG: N (drop: hold ms, slow: accepts/s), rst, fin, v6,\n"
		"           port=N, backlog=N, hold=N, rate=N\n"
		"example: farm-server accept refuse blackhole drop:500 drop:500:rst slow:50 "
		"acceptclose\n");
}

int main(int argc, char **argv)
{
	struct farm_target_spec *specs;
	struct farm *f = NULL;
	bool use_stdin = true, quiet = false;
	int first = 1, nspecs, sfd, err, status = 0;
	sigset_t mask;

	for (; first < argc && argv[first][0] == '-'; first++) {
		const char *a = argv[first];

		if (!strcmp(a, "-n") || !strcmp(a, "--no-stdin")) {
			use_stdin = false;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			quiet = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--")) {
			first++;
			break;
		} else {
			fprintf(stderr, "farm-server: unknown option %s\n", a);
			usage(stderr);
			return 2;
		}
	}
	nspecs = argc - first;
	if (nspecs < 1 || nspecs > FARM_MAX_TARGETS) {
		usage(stderr);
		return 2;
	}
	specs = calloc((size_t)nspecs, sizeof(*specs));
	if (!specs) {
		fprintf(stderr, "farm-server: out of memory\n");
		return 1;
	}
	for (int i = 0; i < nspecs; i++) {
		if (farm_spec_parse(argv[first + i], &specs[i]) < 0) {
			fprintf(stderr, "farm-server: bad target spec '%s'\n", argv[first + i]);
			usage(stderr);
			free(specs);
			return 2;
		}
	}

	/* Blocked before the farm starts, so a signal in between is not lost; the signalfd
	 * below collects them. SIGCHLD tells us the farm's child died under us. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	err = farm_start(specs, (size_t)nspecs, &f);
	if (err < 0) {
		fprintf(stderr, "farm-server: cannot start the farm: %s\n", strerror(-err));
		free(specs);
		return err == -EINVAL || err == -EAFNOSUPPORT ? 2 : 1;
	}
	for (int i = 0; i < nspecs; i++)
		printf("%s %u\n", argv[first + i], (unsigned)farm_port(f, (size_t)i));
	fflush(stdout);

	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, "farm-server: signalfd: %s\n", strerror(errno));
		farm_stop(f);
		free(specs);
		return 1;
	}
	for (;;) {
		struct pollfd p[2] = { { .fd = sfd, .events = POLLIN },
				       { .fd = use_stdin ? 0 : -1, .events = POLLIN } };
		struct signalfd_siginfo si;
		char buf[512];

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "farm-server: poll: %s\n", strerror(errno));
			status = 1;
			break;
		}
		if (p[0].revents) {
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGCHLD) {
				if ((pid_t)si.ssi_pid != farm_pid(f))
					continue;
				fprintf(stderr, "farm-server: the farm's child died\n");
				status = 1;
			}
			break;
		}
		if (p[1].revents) {
			ssize_t r = read(0, buf, sizeof(buf));

			if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
				break;
		}
	}

	if (!quiet) {
		for (int i = 0; i < nspecs; i++) {
			struct farm_counters c;

			if (farm_counters(f, (size_t)i, &c) < 0)
				continue;
			fprintf(stderr,
				"%s port %u: accepted %llu open %llu dropped %llu peer_closed %llu"
				" fd_exhausted %llu\n",
				argv[first + i], (unsigned)farm_port(f, (size_t)i),
				(unsigned long long)c.accepted, (unsigned long long)c.open,
				(unsigned long long)c.dropped, (unsigned long long)c.peer_closed,
				(unsigned long long)c.fd_exhausted);
		}
	}
	farm_stop(f);
	close(sfd);
	free(specs);
	return status;
}
