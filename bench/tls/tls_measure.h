/* tls_measure.h — one TLS library behind a small interface, so that tls_measure.c times
 * OpenSSL and wolfSSL doing the same in-memory handshakes. Each backend is built into its
 * own executable: wolfSSL exports a few OpenSSL names (SSL_SESSION_set1_id, ...), and the
 * two libraries must not share one process. */
#ifndef TLS_MEASURE_H
#define TLS_MEASURE_H

#include <stdbool.h>
#include <stdint.h>

struct tm_files {
	const char *ca;   /* the CA that signed the leaf: the client's trust anchor */
	const char *cert; /* server leaf (SAN localhost), PEM */
	const char *key;  /* its key, PEM */
	const char *name; /* the name the client sends (SNI) and verifies */
};

/* A backend: set up a client and a server context once, then run whole handshakes between
 * a client and a server object that talk through memory only. */
struct tm_backend {
	const char *name;    /* "openssl", "wolfssl" */
	const char *version; /* the library's version string */
	/* 0 or -1 with a message on stderr. */
	int (*setup)(const struct tm_files *f);
	/* One handshake, both sides, in memory. resume: offer the session kept from the last
	 * full handshake. *ret_client_ns gets the client side's own CPU time (thread CPU clock
	 * around the client's calls). Returns 1 when the session was resumed, 0 when it was a
	 * full handshake, -1 on failure. A full handshake keeps its session for later resumes. */
	int (*handshake)(bool resume, uint64_t *ret_client_ns);
	void (*teardown)(void);
};

extern const struct tm_backend tm_backend;

/* CLOCK_THREAD_CPUTIME_ID, ns. */
uint64_t tm_thread_cpu_ns(void);

#endif
