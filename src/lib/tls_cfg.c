/* tls_cfg.c — TLS configurations (one SSL_CTX per distinct options, shared by every endpoint
 * that uses them), what a failed handshake is called, and what a connection negotiated. */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "config.h"
#include "endpoint.h"
#include "tls_cfg.h"

struct rd_tls_cfg {
	struct rd_tls_cfg *next;
	SSL_CTX *ctx;
	struct redial_tls_opts opts; /* strings point into strs */
	char *strs;
};

/* Test hook: every verification fails at the leaf with this X509_V_ERR_* code; 0 disarms.
 * Tests reach it by linking the static library; it is how a failure the library cannot
 * name is produced on demand. */
static long forced_verify_error;
void rd__tls_force_verify_error(long err);
void rd__tls_force_verify_error(long err)
{
	forced_verify_error = err;
}

static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
	if (forced_verify_error && X509_STORE_CTX_get_error_depth(ctx) == 0) {
		X509_STORE_CTX_set_error(ctx, (int)forced_verify_error);
		return 0;
	}
	return ok;
}

void redial_tls_opts_init(struct redial_tls_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->min_version = REDIAL_TLS_1_2;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool opts_eq(const struct redial_tls_opts *a, const struct redial_tls_opts *b)
{
	return str_eq(a->ca, b->ca) && str_eq(a->cert, b->cert) && str_eq(a->key, b->key) &&
	       str_eq(a->sni, b->sni) && str_eq(a->alpn, b->alpn) &&
	       a->min_version == b->min_version && a->max_version == b->max_version &&
	       a->flags == b->flags;
}

const struct redial_tls_opts *rd_tls_cfg_opts(const struct rd_tls_cfg *c)
{
	return &c->opts;
}

/* Copies the strings of *in into one allocation; *out's pointers point into it. */
static char *copy_strings(const struct redial_tls_opts *in, struct redial_tls_opts *out)
{
	const char *src[5] = { in->ca, in->cert, in->key, in->sni, in->alpn };
	const char **dst[5] = { &out->ca, &out->cert, &out->key, &out->sni, &out->alpn };
	size_t n = 1;
	for (int i = 0; i < 5; i++)
		n += src[i] ? strlen(src[i]) + 1 : 0;
	char *buf = rd_malloc(n), *p = buf;
	if (!buf)
		return NULL;
	for (int i = 0; i < 5; i++) {
		*dst[i] = NULL;
		if (src[i]) {
			size_t l = strlen(src[i]) + 1;
			memcpy(p, src[i], l);
			*dst[i] = p;
			p += l;
		}
	}
	return buf;
}

/* "h2,http/1.1" in ALPN's wire form; 0, or -1 for an empty or too long protocol. */
static int alpn_wire(const char *list, unsigned char *out, size_t cap, size_t *ret_len)
{
	size_t o = 0;
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == 0 || l > 255 || o + 1 + l > cap)
			return -1;
		out[o++] = (unsigned char)l;
		memcpy(out + o, p, l);
		o += l;
		p += l + (e ? 1 : 0);
	}
	*ret_len = o;
	return o ? 0 : -1;
}

/* Why OpenSSL failed, for a person. A file it could not open is queued as a system error
 * that carries the errno, followed by generic entries ("system lib"): the errno is the
 * answer then (ENOENT, EACCES, EISDIR), so it is looked for first. */
static const char *ssl_why(char *buf, size_t len)
{
	unsigned long e, last = 0;
	while ((e = ERR_get_error()) != 0) {
		if (ERR_SYSTEM_ERROR(e) && ERR_GET_REASON(e) > 0)
			return strerror_r(ERR_GET_REASON(e), buf, len);
		last = e;
	}
	return last ? ERR_reason_error_string(last) : NULL;
}

static int fail(char *errbuf, size_t errlen, const char *what, const char *arg)
{
	if (errbuf && errlen) {
		char sys[128];
		const char *why = ssl_why(sys, sizeof(sys));
		snprintf(errbuf, errlen, "tls: %s%s%s%s%s", what, arg ? " " : "", arg ? arg : "",
			 why ? ": " : "", why ? why : "");
	}
	ERR_clear_error();
	return -EINVAL;
}

/* fail() for a certificate or key file: a directory given where the file belongs is named
 * as such (OpenSSL opens it and then says only "PEM lib"). */
static int fail_file(char *errbuf, size_t errlen, const char *what, const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "tls: %s %s: %s", what, path, strerror(EISDIR));
		ERR_clear_error();
		return -EINVAL;
	}
	return fail(errbuf, errlen, what, path);
}

/* The SSL_CTX for checked options. */
static int make_ctx(const struct redial_tls_opts *o, SSL_CTX **ret, char *errbuf, size_t errlen)
{
	ERR_clear_error();
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return -ENOMEM;
	int err;
	if (!SSL_CTX_set_min_proto_version(ctx, o->min_version) ||
	    !SSL_CTX_set_max_proto_version(ctx, o->max_version)) {
		err = fail(errbuf, errlen, "min_version/max_version", NULL);
		goto out;
	}
	if (o->flags & REDIAL_TLS_INSECURE) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
		struct stat st;
		int ok;
		if (!o->ca)
			ok = SSL_CTX_set_default_verify_paths(ctx);
		else if (stat(o->ca, &st) == 0 && S_ISDIR(st.st_mode))
			ok = SSL_CTX_load_verify_dir(ctx, o->ca);
		else
			ok = SSL_CTX_load_verify_file(ctx, o->ca);
		if (ok != 1) {
			err = fail(errbuf, errlen, "cannot load CA", o->ca ? o->ca : "(system)");
			goto out;
		}
	}
	/* Each step named with its own file, so the message says which one is wrong. */
	if (o->cert && SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1) {
		err = fail_file(errbuf, errlen, "cannot use client certificate", o->cert);
		goto out;
	}
	if (o->cert && SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1) {
		err = fail_file(errbuf, errlen, "cannot use client key", o->key);
		goto out;
	}
	if (o->cert && SSL_CTX_check_private_key(ctx) != 1) {
		err = fail(errbuf, errlen, "client key does not match certificate", o->cert);
		goto out;
	}
	if (o->alpn) {
		unsigned char wire[512];
		size_t len;
		/* SSL_CTX_set_alpn_protos returns 0 on success. */
		if (alpn_wire(o->alpn, wire, sizeof(wire), &len) < 0 ||
		    SSL_CTX_set_alpn_protos(ctx, wire, (unsigned)len) != 0) {
			err = fail(errbuf, errlen, "bad alpn list", o->alpn);
			goto out;
		}
	}
	/* redial keeps each endpoint's session itself; OpenSSL's cache would only duplicate it.
	 * Released buffers: a held connection costs a few hundred bytes, not 34 KiB. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	*ret = ctx;
	return 0;
out:
	SSL_CTX_free(ctx);
	return err;
}

static int check(const struct redial_tls_opts *o, char *errbuf, size_t errlen)
{
	const char *bad = NULL;
	if (o->min_version != REDIAL_TLS_1_2 && o->min_version != REDIAL_TLS_1_3)
		bad = "min_version must be REDIAL_TLS_1_2 or REDIAL_TLS_1_3";
	else if (o->max_version && o->max_version != REDIAL_TLS_1_2 &&
		 o->max_version != REDIAL_TLS_1_3)
		bad = "max_version must be 0, REDIAL_TLS_1_2 or REDIAL_TLS_1_3";
	else if (o->max_version && o->max_version < o->min_version)
		bad = "max_version below min_version";
	else if (!o->cert != !o->key)
		bad = "cert and key go together";
	else if (o->flags & ~(REDIAL_TLS_INSECURE | REDIAL_TLS_NO_RESUME))
		bad = "unknown flags";
	else if (o->sni && (!*o->sni || strlen(o->sni) > 253))
		bad = "sni must be 1-253 characters";
	if (bad && errbuf && errlen)
		snprintf(errbuf, errlen, "tls options: %s", bad);
	return bad ? -EINVAL : 0;
}

int rd_tls_cfg_get(struct redial *r, const struct redial_tls_opts *uo, struct rd_tls_cfg **ret,
		   char *errbuf, size_t errlen)
{
	struct redial_tls_opts o;
	redial_tls_opts_init(&o);
	int err = rd_copy_sized(&o, sizeof(o), uo, uo->size);
	if (err < 0) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "tls options: bad size %zu", uo->size);
		return err;
	}
	if ((err = check(&o, errbuf, errlen)) < 0)
		return err;
	for (struct rd_tls_cfg *c = r->tls_cfgs; c; c = c->next)
		if (opts_eq(&c->opts, &o)) {
			*ret = c;
			return 0;
		}
	struct rd_tls_cfg *c = rd_calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->opts = o;
	if (!(c->strs = copy_strings(&o, &c->opts))) {
		rd_free(c);
		return -ENOMEM;
	}
	if ((err = make_ctx(&c->opts, &c->ctx, errbuf, errlen)) < 0) {
		rd_free(c->strs);
		rd_free(c);
		return err;
	}
	c->next = r->tls_cfgs;
	r->tls_cfgs = c;
	*ret = c;
	return 0;
}

void rd_tls_cfgs_free(struct redial *r)
{
	struct rd_tls_cfg *c = r->tls_cfgs;
	while (c) {
		struct rd_tls_cfg *next = c->next;
		SSL_CTX_free(c->ctx);
		rd_free(c->strs);
		rd_free(c);
		c = next;
	}
	r->tls_cfgs = NULL;
}

/* SSL_CTX of a configuration, for tls.c. */
struct ssl_ctx_st *rd_tls_cfg_ctx(const struct rd_tls_cfg *c)
{
	return c->ctx;
}

/* ---- what a failure is called ---- */

bool rd_tls_verify_unnamed(long v)
{
	return v == X509_V_OK || v == X509_V_ERR_UNSPECIFIED || v == X509_V_ERR_OUT_OF_MEM ||
	       v == X509_V_ERR_STORE_LOOKUP;
}

static int map_verify(long v)
{
	switch (v) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return REDIAL_E_TLS_CERT_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return REDIAL_E_TLS_CERT_NOT_YET_VALID;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
	case X509_V_ERR_EMAIL_MISMATCH:
		return REDIAL_E_TLS_HOSTNAME_MISMATCH;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_REJECTED:
		return REDIAL_E_TLS_CERT_UNTRUSTED;
	default:
		return REDIAL_E_TLS_CERT_INVALID;
	}
}

static int map_reason(int reason)
{
	switch (reason) {
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_WRONG_SSL_VERSION:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
	case SSL_R_VERSION_TOO_LOW:
	case SSL_R_VERSION_TOO_HIGH:
		return REDIAL_E_TLS_PROTOCOL_VERSION;
	case SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL:
		return REDIAL_E_TLS_NO_APPLICATION_PROTOCOL;
	case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
	case SSL_R_NO_SHARED_CIPHER:
	case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
	case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
	case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
	case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
	case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
	case SSL_R_TLSV1_ALERT_INSUFFICIENT_SECURITY:
		return REDIAL_E_TLS_HANDSHAKE_FAILURE;
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_PACKET_LENGTH_TOO_LONG:
	case SSL_R_HTTP_REQUEST:
	case SSL_R_HTTPS_PROXY_REQUEST:
	case SSL_R_UNKNOWN_PROTOCOL:
		return REDIAL_E_TLS_NOT_TLS;
	case SSL_R_TLSV1_ALERT_INTERNAL_ERROR:
		return REDIAL_E_TLS_INTERNAL_ERROR;
	case SSL_R_UNEXPECTED_EOF_WHILE_READING:
		return REDIAL_E_TLS_UNEXPECTED_EOF;
	default:
		return REDIAL_E_TLS_ERROR;
	}
}

int rd_tls_map_error(SSL *ssl, int rc, bool *ret_unnamed, char *reason, size_t len)
{
	*ret_unnamed = false;
	int kind = SSL_get_error(ssl, rc);
	/* The first error queued is the cause; the rest are consequences. */
	unsigned long e = ERR_peek_error();
	int code;
	if (kind == SSL_ERROR_SSL && ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
		long v = SSL_get_verify_result(ssl);
		*ret_unnamed = rd_tls_verify_unnamed(v);
		code = *ret_unnamed ? REDIAL_E_TLS_CERT_INVALID : map_verify(v);
		snprintf(reason, len, "certificate verify failed: %s",
			 v == X509_V_OK ? "no reason given" : X509_verify_cert_error_string(v));
	} else if (kind == SSL_ERROR_SSL && ERR_GET_LIB(e) == ERR_LIB_SSL) {
		code = map_reason(ERR_GET_REASON(e));
		const char *s = ERR_reason_error_string(e);
		snprintf(reason, len, "%s", s ? s : "unknown");
	} else {
		code = REDIAL_E_TLS_ERROR;
		const char *s = e ? ERR_reason_error_string(e) : NULL;
		snprintf(reason, len, "%s (SSL_get_error %d)", s ? s : "TLS failure", kind);
	}
	ERR_clear_error();
	return code;
}

/* ---- what a connection negotiated ---- */

struct ssl_st *redial_tls_ssl(redial_tls_t *t)
{
	return (SSL *)t;
}

void rd_tls_negotiated(struct ssl_st *ssl, struct redial_tls_info *in)
{
	memset(in, 0, sizeof(*in));
	in->size = sizeof(*in);
	in->version = SSL_get_version(ssl);
	in->cipher = SSL_get_cipher_name(ssl);
	const unsigned char *p = NULL;
	unsigned plen = 0;
	SSL_get0_alpn_selected(ssl, &p, &plen);
	if (plen >= sizeof(in->alpn))
		plen = sizeof(in->alpn) - 1;
	if (p)
		memcpy(in->alpn, p, plen);
	in->resumed = SSL_session_reused(ssl) == 1;
}

int redial_tls_info(const redial_tls_t *t, struct redial_tls_info *ret_info)
{
	if (!t || !ret_info || ret_info->size < sizeof(size_t))
		return -EINVAL;
	SSL *ssl = (SSL *)t;
	struct redial_tls_info in;
	rd_tls_negotiated(ssl, &in);
	X509 *peer = SSL_get0_peer_certificate(ssl);
	BIO *mem = peer ? BIO_new(BIO_s_mem()) : NULL;
	if (mem && X509_NAME_print_ex(mem, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253) >= 0) {
		int n = BIO_read(mem, in.peer_subject, (int)sizeof(in.peer_subject) - 1);
		in.peer_subject[n > 0 ? n : 0] = '\0';
	}
	BIO_free(mem);
	ERR_clear_error();
	size_t n = ret_info->size < sizeof(in) ? ret_info->size : sizeof(in);
	memcpy(ret_info, &in, n);
	ret_info->size = n;
	return 0;
}
