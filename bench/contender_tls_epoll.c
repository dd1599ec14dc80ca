/* contender_tls_epoll.c — the TLS scenarios as an application would write them without
 * redial: one epoll loop, non-blocking sockets, OpenSSL (the library redial uses) on each
 * socket through its socket BIO. connect, SSL_connect until it completes (EPOLLIN/EPOLLOUT
 * as OpenSSL asks), read until the farm's close_notify, keep the session (tls-resumed),
 * close, reconnect at once. */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "contender_tls_common.h"

#define IMPL "tls-epoll"

enum st { CONNECTING, HANDSHAKE, OPEN };

struct ep {
	int fd;
	enum st st;
	SSL *ssl;
	SSL_SESSION *sess;
	uint64_t start_ns;
};

static struct bt_opts opts;
static struct bc_window win;
static struct ep *eps;
static SSL_CTX *ctx;
static int epfd;
static uint64_t resumed;

static void watch(uint32_t i, int op, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u32 = i };
	if (epoll_ctl(epfd, op, eps[i].fd, &ev) < 0)
		bc_die("epoll_ctl", errno);
}

static void start(uint32_t i)
{
	struct ep *e = &eps[i];
	struct sockaddr_in sa;
	bc_addr(i, opts.bc.port, &sa);
	e->start_ns = bc_now();
	e->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (e->fd < 0)
		bc_die("socket", errno);
	if (connect(e->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
		bc_die("connect", errno);
	e->st = CONNECTING;
	watch(i, EPOLL_CTL_ADD, EPOLLOUT);
}

/* The connection is over (or failed): keep the session, free, close, go again. */
static void finish(uint32_t i, int err)
{
	struct ep *e = &eps[i];
	if (err)
		bc_window_attempt(&win, err, e->start_ns, bc_now());
	if (e->ssl) {
		if (opts.resume && !err) {
			SSL_SESSION *s = SSL_get1_session(e->ssl);
			if (s && SSL_SESSION_is_resumable(s)) {
				SSL_SESSION_free(e->sess);
				e->sess = s;
			} else {
				SSL_SESSION_free(s);
			}
		}
		/* Not a bad session: say the shutdown happened, or OpenSSL spoils it. */
		SSL_set_shutdown(e->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
		SSL_free(e->ssl);
		e->ssl = NULL;
		ERR_clear_error();
	}
	close(e->fd);
	start(i);
}

static void handshake(uint32_t i)
{
	struct ep *e = &eps[i];
	int rc = SSL_connect(e->ssl);
	if (rc == 1) {
		bc_window_attempt(&win, 0, e->start_ns, bc_now());
		if (win.open && SSL_session_reused(e->ssl))
			resumed++;
		e->st = OPEN;
		watch(i, EPOLL_CTL_MOD, EPOLLIN);
		return;
	}
	int err = SSL_get_error(e->ssl, rc);
	if (err == SSL_ERROR_WANT_READ)
		watch(i, EPOLL_CTL_MOD, EPOLLIN);
	else if (err == SSL_ERROR_WANT_WRITE)
		watch(i, EPOLL_CTL_MOD, EPOLLOUT);
	else
		finish(i, EPROTO);
}

static void ready(uint32_t i)
{
	struct ep *e = &eps[i];
	if (e->st == CONNECTING) {
		int soerr = 0;
		socklen_t len = sizeof(soerr);
		if (getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
			soerr = errno;
		if (soerr) {
			finish(i, soerr);
			return;
		}
		if (!(e->ssl = SSL_new(ctx)) || SSL_set_fd(e->ssl, e->fd) != 1)
			bc_die("SSL_new", ENOMEM);
		SSL_set_tlsext_host_name(e->ssl, BT_SERVER_NAME);
		SSL_set1_host(e->ssl, BT_SERVER_NAME);
		if (opts.resume && e->sess)
			SSL_set_session(e->ssl, e->sess);
		e->st = HANDSHAKE;
		handshake(i);
		return;
	}
	if (e->st == HANDSHAKE) {
		handshake(i);
		return;
	}
	/* OPEN: the session ticket, then the farm's close_notify and FIN. */
	char buf[512];
	for (;;) {
		int n = SSL_read(e->ssl, buf, sizeof(buf));
		if (n > 0)
			continue;
		if (SSL_get_error(e->ssl, n) == SSL_ERROR_WANT_READ)
			return;
		finish(i, 0);
		return;
	}
}

int main(int argc, char **argv)
{
	bt_parse(argc, argv, IMPL, &opts);
	long rss0 = bc_rss();
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || SSL_CTX_load_verify_file(ctx, opts.ca) != 1)
		bc_die("SSL_CTX (the CA file)", EINVAL);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	eps = calloc(opts.bc.endpoints, sizeof(*eps));
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!eps || epfd < 0)
		bc_die("setup", errno ? errno : ENOMEM);
	for (uint32_t i = 0; i < opts.bc.endpoints; i++)
		start(i);
	bc_window_init(&win, &opts.bc);
	struct epoll_event evs[256];
	uint64_t next;
	while ((next = bc_window_tick(&win, bc_now()))) {
		uint64_t now = bc_now();
		int ms = next > now ? (int)((next - now) / 1000000u) + 1 : 0;
		int n = epoll_wait(epfd, evs, 256, ms);
		if (n < 0 && errno != EINTR)
			bc_die("epoll_wait", errno);
		for (int k = 0; k < n; k++)
			ready(evs[k].data.u32);
	}
	bt_report(&win, IMPL, opts.resume ? "tls-resumed" : "tls-full", resumed, bc_rss() - rss0);
	return 0;
}
