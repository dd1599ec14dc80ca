/* tls_bio.c — the BIO between OpenSSL and a TLS connection: a handshake's buffers, then the
 * socket. A custom BIO rather than a memory BIO pair, because the same BIO must go on after
 * the handshake with what the last RECV brought beyond it, and answer SSL_get_fd. */
#include "tls_bio.h"

#include <errno.h>
#include <openssl/bio.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"

/* The BIO's state: a handshake's buffers, or (after the hand-over) the socket. */
struct rd_bio {
	struct rd_tls_buf *buf;
	int fd;
	unsigned char *left; /* bytes the handshake's last RECV brought beyond it */
	size_t left_off, left_len;
};

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static int bio_read(BIO *b, char *out, int outl)
{
	struct rd_bio *d = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (outl <= 0)
		return 0;
	size_t want = (size_t)outl;
	if (d->buf) {
		struct rd_tls_buf *h = d->buf;
		size_t n = h->rx_len - h->rx_off;
		if (n == 0) {
			BIO_set_retry_read(b);
			return -1;
		}
		n = n < want ? n : want;
		memcpy(out, h->rx + h->rx_off, n);
		h->rx_off += n;
		return (int)n;
	}
	if (d->left) {
		size_t n = d->left_len - d->left_off;
		n = n < want ? n : want;
		memcpy(out, d->left + d->left_off, n);
		d->left_off += n;
		if (d->left_off == d->left_len) {
			rd_free(d->left);
			d->left = NULL;
		}
		return (int)n;
	}
	ssize_t n = read(d->fd, out, want);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		BIO_set_retry_read(b);
	return (int)n;
}

static int bio_write(BIO *b, const char *in, int inl)
{
	struct rd_bio *d = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (inl <= 0)
		return 0;
	if (d->buf) {
		struct rd_tls_buf *h = d->buf;
		size_t room = RD_TLS_TX - h->tx_len, n = (size_t)inl < room ? (size_t)inl : room;
		if (n == 0) {
			BIO_set_retry_write(b);
			return -1;
		}
		memcpy(h->tx + h->tx_len, in, n);
		h->tx_len += n;
		return (int)n;
	}
	ssize_t n = send(d->fd, in, (size_t)inl, MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		BIO_set_retry_write(b);
	return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)num; /* GET_CLOSE is 0 as well: BIO_NOCLOSE, the fd is never the BIO's to close */
	int fd = ((const struct rd_bio *)BIO_get_data(b))->fd;
	if (cmd == BIO_C_GET_FD && ptr) /* BIO_get_fd, which SSL_get_fd asks */
		*(int *)ptr = fd;
	return cmd == BIO_C_GET_FD ? fd : cmd == BIO_CTRL_FLUSH;
}

static int bio_destroy(BIO *b)
{
	struct rd_bio *d = BIO_get_data(b);
	if (d) {
		rd_free(d->left);
		rd_free(d);
		BIO_set_data(b, NULL);
	}
	return 1;
}

static void bio_method_make(void)
{
	int type = BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR;
	BIO_METHOD *m = BIO_meth_new(type, "redial");
	if (m && BIO_meth_set_read(m, bio_read) && BIO_meth_set_write(m, bio_write) &&
	    BIO_meth_set_ctrl(m, bio_ctrl) && BIO_meth_set_destroy(m, bio_destroy))
		bio_method = m; /* process-wide, never freed */
	else
		BIO_meth_free(m);
}

BIO *rd_tls_bio_new(struct rd_tls_buf *buf, int fd, struct rd_bio **ret_d)
{
	pthread_once(&bio_once, bio_method_make);
	if (!bio_method)
		return NULL;
	struct rd_bio *d = rd_calloc(1, sizeof(*d));
	BIO *b = d ? BIO_new(bio_method) : NULL;
	if (!b) {
		rd_free(d);
		return NULL;
	}
	d->buf = buf;
	d->fd = fd;
	BIO_set_data(b, d); /* from here on, freeing b frees d */
	BIO_set_init(b, 1);
	*ret_d = d;
	return b;
}

int rd_tls_bio_hand_over(struct rd_bio *d)
{
	struct rd_tls_buf *h = d->buf;
	size_t n = h->rx_len - h->rx_off;
	if (n) {
		if (!(d->left = rd_malloc(n)))
			return -ENOMEM; /* those bytes are the stream's: no connection without them */
		memcpy(d->left, h->rx + h->rx_off, n);
		d->left_len = n;
	}
	d->buf = NULL;
	return 0;
}
