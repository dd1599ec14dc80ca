/* farm_pki.c - a throw-away PKI made with OpenSSL's API: see farm_pki.h. */
#include "farm_pki.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAY (24L * 3600L)

static EVP_PKEY *keygen(enum farm_key_type kt)
{
	return kt == FARM_KEY_RSA_2048 ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
}

static bool add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!e)
		return false;
	bool ok = X509_add_ext(x, e, -1) == 1;
	X509_EXTENSION_free(e);
	return ok;
}

/* A certificate for key, signed by issuer_key (issuer NULL: self-signed), valid from
 * now + from_s to now + to_s. san may be NULL. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
		       long from_s, long to_s, bool ca, const char *san, const char *eku)
{
	X509 *x = X509_new();
	if (!x)
		return NULL;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	bool ok = X509_set_version(x, X509_VERSION_3) == 1 &&
		  RAND_bytes(serial, sizeof(serial)) == 1;
	if (ok) {
		serial[0] &= 0x7f; /* positive */
		bn = BN_bin2bn(serial, sizeof(serial), NULL);
		ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	}
	BN_free(bn);
	X509_NAME *name = X509_get_subject_name(x);
	ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn,
					      -1, -1, 0) == 1;
	ok = ok && X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) == 1;
	ok = ok && X509_gmtime_adj(X509_getm_notBefore(x), from_s) &&
	     X509_gmtime_adj(X509_getm_notAfter(x), to_s) && X509_set_pubkey(x, key) == 1;
	X509 *iss = issuer ? issuer : x;
	ok = ok && add_ext(x, iss, NID_subject_key_identifier, "hash");
	if (ok && issuer)
		ok = add_ext(x, iss, NID_authority_key_identifier, "keyid:always");
	if (ca) {
		ok = ok && add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE") &&
		     add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		ok = ok && add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE") &&
		     add_ext(x, iss, NID_key_usage, "critical,digitalSignature,keyEncipherment");
		if (ok && eku)
			ok = add_ext(x, iss, NID_ext_key_usage, eku);
		if (ok && san)
			ok = add_ext(x, iss, NID_subject_alt_name, san);
	}
	ok = ok && X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0;
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int write_pem(const char *path, X509 *x, EVP_PKEY *k)
{
	FILE *f = fopen(path, "wxe");
	if (!f)
		return -errno;
	if (k)
		fchmod(fileno(f), 0600);
	bool ok = x ? PEM_write_X509(f, x) == 1
		    : PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1;
	if (fclose(f) != 0 || !ok)
		return ok ? -errno : -EIO;
	return 0;
}

static const struct {
	const char *file;
	long from_s, to_s;
	const char *san;
	bool unknown_ca;
	bool client;
} leaves[FARM_CERT_COUNT] = {
	[FARM_CERT_VALID] = { "valid", -DAY, 30 * DAY, NULL, false, false },
	[FARM_CERT_EXPIRED] = { "expired", -2 * DAY, -DAY, NULL, false, false },
	[FARM_CERT_NOT_YET_VALID] = { "notyet", DAY, 2 * DAY, NULL, false, false },
	[FARM_CERT_WRONG_HOST] = { "wronghost", -DAY, 30 * DAY, "DNS:wrong.example", false, false },
	[FARM_CERT_UNKNOWN_CA] = { "unknownca", -DAY, 30 * DAY, NULL, true, false },
	[FARM_CERT_CLIENT] = { "client", -DAY, 30 * DAY, "DNS:redial-client", false, true },
};

#define LOOPBACK_SAN "DNS:localhost,DNS:redial.test,IP:127.0.0.1,IP:::1"

/* dir/name into out (FARM_PKI_PATH bytes); false when it does not fit. */
static bool join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, FARM_PKI_PATH, "%s/%s", dir, name);
	return n > 0 && n < FARM_PKI_PATH;
}

static int build(struct farm_pki *p, enum farm_key_type kt)
{
	int err = -EIO;
	EVP_PKEY *ca_key = keygen(kt), *other_key = keygen(kt);
	X509 *ca = NULL, *other = NULL;
	if (!ca_key || !other_key)
		goto out;
	ca = make_cert(ca_key, "redial test CA", NULL, NULL, -DAY, 30 * DAY, true, NULL, NULL);
	other = make_cert(other_key, "unknown test CA", NULL, NULL, -DAY, 30 * DAY, true, NULL,
			  NULL);
	if (!ca || !other)
		goto out;
	err = -ENAMETOOLONG;
	if (!join(p->ca, p->dir, "ca.pem") || !join(p->ca_dir, p->dir, "cadir"))
		goto out;
	if ((err = write_pem(p->ca, ca, NULL)) < 0)
		goto out;
	/* The hashed directory form (what c_rehash makes): HASH.0 per CA certificate. */
	if (mkdir(p->ca_dir, 0700) < 0) {
		err = -errno;
		goto out;
	}
	char hashed[FARM_PKI_PATH], base[16];
	snprintf(base, sizeof(base), "%08lx.0",
		 X509_NAME_hash_ex(X509_get_subject_name(ca), NULL, NULL, NULL));
	err = -ENAMETOOLONG;
	if (!join(hashed, p->ca_dir, base) || (err = write_pem(hashed, ca, NULL)) < 0)
		goto out;
	for (int i = 0; i < FARM_CERT_COUNT; i++) {
		EVP_PKEY *k = keygen(kt);
		X509 *x = NULL;
		err = -EIO;
		if (k)
			x = make_cert(k, leaves[i].client ? "redial-client" : "localhost",
				      leaves[i].unknown_ca ? other : ca,
				      leaves[i].unknown_ca ? other_key : ca_key, leaves[i].from_s,
				      leaves[i].to_s, false,
				      leaves[i].san ? leaves[i].san : LOOPBACK_SAN,
				      leaves[i].client ? "clientAuth" : "serverAuth");
		char name[32];
		if (x) {
			err = -ENAMETOOLONG;
			snprintf(name, sizeof(name), "%s.pem", leaves[i].file);
			bool fits = join(p->cert[i], p->dir, name);
			snprintf(name, sizeof(name), "%s.key", leaves[i].file);
			if (fits && join(p->key[i], p->dir, name)) {
				err = write_pem(p->cert[i], x, NULL);
				if (err == 0)
					err = write_pem(p->key[i], NULL, k);
			}
		}
		X509_free(x);
		EVP_PKEY_free(k);
		if (err < 0)
			goto out;
	}
	err = 0;
out:
	X509_free(ca);
	X509_free(other);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(other_key);
	return err;
}

int farm_pki_create(enum farm_key_type kt, struct farm_pki **ret)
{
	if (!ret || (kt != FARM_KEY_EC_P256 && kt != FARM_KEY_RSA_2048))
		return -EINVAL;
	struct farm_pki *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(p->dir, sizeof(p->dir) - 32, "%s/redial-pki-XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
	if (n < 0 || (size_t)n >= sizeof(p->dir) - 32) {
		free(p);
		return -ENAMETOOLONG;
	}
	if (!mkdtemp(p->dir)) {
		int err = -errno;
		free(p);
		return err;
	}
	int err = build(p, kt);
	if (err < 0) {
		farm_pki_destroy(p);
		return err;
	}
	*ret = p;
	return 0;
}

static void rm(const char *path)
{
	if (path[0])
		unlink(path);
}

void farm_pki_destroy(struct farm_pki *p)
{
	if (!p)
		return;
	for (int i = 0; i < FARM_CERT_COUNT; i++) {
		rm(p->cert[i]);
		rm(p->key[i]);
	}
	rm(p->ca);
	if (p->ca_dir[0]) {
		DIR *d = opendir(p->ca_dir);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			char path[FARM_PKI_PATH];
			if (e->d_name[0] != '.' && join(path, p->ca_dir, e->d_name))
				unlink(path);
		}
		if (d)
			closedir(d);
		rmdir(p->ca_dir);
	}
	rmdir(p->dir);
	free(p);
}
