/* tls_conn.h — a TLS connection's end: the session it leaves for the next connect to resume,
 * close_notify when redial closes it, and its hand-over to the application. */
#ifndef RD_TLS_CONN_H
#define RD_TLS_CONN_H

#include <stdbool.h>

struct redial;
struct rd_endpoint;
struct ssl_st;

/* The end of a CONNECTED endpoint's connection (before its fd is closed). by_peer: the peer
 * went away; what it sent last (a session ticket) is read without taking the application's
 * data, and the SSL is returned for the DISCONNECTED event to carry: the caller hands it to
 * late.c with the fd. Otherwise redial closes it: close_notify, then freed now, and NULL
 * is returned. The session is kept for the next connect either way. */
struct ssl_st *rd_tls_conn_end(struct redial *r, struct rd_endpoint *ep, bool by_peer);
/* redial_endpoint_release: the SSL becomes the caller's; the session is kept. */
struct ssl_st *rd_tls_conn_release(struct redial *r, struct rd_endpoint *ep);
/* Frees a finished connection's SSL, marked shut down so that OpenSSL keeps its session
 * resumable (late.c frees the SSLs DISCONNECTED events handed out with it). */
void rd_tls_ssl_free(struct ssl_st *ssl);

#endif
