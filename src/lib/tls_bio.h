/* tls_bio.h — the OpenSSL BIO under a redial TLS connection: during the handshake it reads
 * and writes a handshake's memory buffers (the ring moves the bytes: tls.c), afterwards the
 * socket itself, as a descriptor BIO (so SSL_get_fd answers). */
#ifndef RD_TLS_BIO_H
#define RD_TLS_BIO_H

#include <stddef.h>

#define RD_TLS_RX 12288 /* a RECV's room: a whole first flight, usually */
#define RD_TLS_TX 4096  /* ClientHello, Finished, a client certificate: sent in rounds */

/* A handshake's buffers: OpenSSL reads rx[rx_off, rx_len) and appends to tx[0, tx_len). */
struct rd_tls_buf {
	size_t rx_off, rx_len, tx_len;
	unsigned char rx[RD_TLS_RX];
	unsigned char tx[RD_TLS_TX];
};

struct bio_st;
struct rd_bio;

/* A BIO over buf, for the connection on fd; *ret_d is its state, for the hand-over. NULL
 * when out of memory. Freeing the BIO (with the SSL it is set on) frees its state. */
struct bio_st *rd_tls_bio_new(struct rd_tls_buf *buf, int fd, struct rd_bio **ret_d);
/* The handshake is over: from now on the BIO reads the socket, after what the handshake's
 * last RECV brought beyond it (application data, a session ticket), which it copies out of
 * the buffers, and writes the socket. 0, or -ENOMEM (nothing changed: the connection cannot
 * go on without those bytes). */
int rd_tls_bio_hand_over(struct rd_bio *d);

#endif
