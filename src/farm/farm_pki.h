/* farm_pki.h - certificates made at run time for the farm's TLS targets, the tests, the demo
 * and the benchmarks: a CA, server leaves that are valid, expired, not yet valid, for the
 * wrong host or from an unknown CA, and a client certificate for mutual TLS. Nothing is
 * ever committed: every key is generated (OpenSSL's API) into a fresh temporary directory,
 * which farm_pki_destroy removes.
 *
 * The valid leaves name DNS:localhost, DNS:redial.test, IP:127.0.0.1 and IP:::1, so that a
 * client can verify a loopback target by name or by address. */
#ifndef REDIAL_FARM_PKI_H
#define REDIAL_FARM_PKI_H

#include <limits.h>

#ifdef __cplusplus
extern "C" {
#endif

enum farm_cert {
	FARM_CERT_VALID = 0,       /* signed by the CA, valid now, loopback SANs */
	FARM_CERT_EXPIRED,         /* valid from 2 days ago until yesterday */
	FARM_CERT_NOT_YET_VALID,   /* valid from tomorrow */
	FARM_CERT_WRONG_HOST,      /* SAN DNS:wrong.example only (no IP SAN) */
	FARM_CERT_UNKNOWN_CA,      /* loopback SANs, signed by a CA nobody trusts */
	FARM_CERT_CLIENT,          /* CN=redial-client, clientAuth, signed by the CA */
	FARM_CERT_COUNT
};

enum farm_key_type {
	FARM_KEY_EC_P256 = 0,
	FARM_KEY_RSA_2048,
};

#define FARM_PKI_PATH 256

struct farm_pki {
	char dir[FARM_PKI_PATH];    /* the temporary directory holding everything below */
	char ca[FARM_PKI_PATH];     /* the trusted CA's certificate (PEM) */
	char ca_dir[FARM_PKI_PATH]; /* a CA directory in OpenSSL's hashed form (HASH.0) */
	char cert[FARM_CERT_COUNT][FARM_PKI_PATH]; /* leaf certificate (PEM) */
	char key[FARM_CERT_COUNT][FARM_PKI_PATH];  /* its private key (PEM) */
};

/* Makes the CA and every leaf, keys of type kt, in a new directory under $TMPDIR (or /tmp).
 * 0 and *ret (free with farm_pki_destroy), or -errno (-EIO for an OpenSSL failure). */
int farm_pki_create(enum farm_key_type kt, struct farm_pki **ret);

/* Removes the files and the directory, frees p. Takes NULL. */
void farm_pki_destroy(struct farm_pki *p);

#ifdef __cplusplus
}
#endif

#endif
