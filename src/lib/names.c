/* names.c — the public name tables: error classes, errno and DNS code names (both ways),
 * states, give-up reasons and event types. Static storage, no locale. */
#include <errno.h>
#include <string.h>

#include "redial.h"

const char *redial_class_name(enum redial_class cls)
{
	switch (cls) {
	case REDIAL_CLASS_TRANSIENT:
		return "transient";
	case REDIAL_CLASS_PERMANENT:
		return "permanent";
	case REDIAL_CLASS_LOCAL:
		return "local";
	case REDIAL_CLASS_NONE:
		return "none";
	}
	return "unknown";
}

/* ---- errno names ----------------------------------------------------------------------- */

/* Indexed by value, so a lookup is one bounds check. Built from the <errno.h> symbols, not
 * from numbers, so it follows architectures whose values differ (alpha, mips, sparc, parisc);
 * there the array is sparser, which is a few kilobytes at worst. Aliases are left out of
 * this table: an alias would overwrite its primary's slot, and the primary name is the one
 * strerrorname_np and the kernel headers use. */
#define E(name) [name] = #name
static const char *const errno_names[] = {
	E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO), E(E2BIG), E(ENOEXEC), E(EBADF),
	E(ECHILD), E(EAGAIN), E(ENOMEM), E(EACCES), E(EFAULT), E(ENOTBLK), E(EBUSY), E(EEXIST),
	E(EXDEV), E(ENODEV), E(ENOTDIR), E(EISDIR), E(EINVAL), E(ENFILE), E(EMFILE), E(ENOTTY),
	E(ETXTBSY), E(EFBIG), E(ENOSPC), E(ESPIPE), E(EROFS), E(EMLINK), E(EPIPE), E(EDOM),
	E(ERANGE), E(EDEADLK), E(ENAMETOOLONG), E(ENOLCK), E(ENOSYS), E(ENOTEMPTY), E(ELOOP),
	E(ENOMSG), E(EIDRM), E(ECHRNG), E(EL2NSYNC), E(EL3HLT), E(EL3RST), E(ELNRNG), E(EUNATCH),
	E(ENOCSI), E(EL2HLT), E(EBADE), E(EBADR), E(EXFULL), E(ENOANO), E(EBADRQC), E(EBADSLT),
	E(EBFONT), E(ENOSTR), E(ENODATA), E(ETIME), E(ENOSR), E(ENONET), E(ENOPKG), E(EREMOTE),
	E(ENOLINK), E(EADV), E(ESRMNT), E(ECOMM), E(EPROTO), E(EMULTIHOP), E(EDOTDOT), E(EBADMSG),
	E(EOVERFLOW), E(ENOTUNIQ), E(EBADFD), E(EREMCHG), E(ELIBACC), E(ELIBBAD), E(ELIBSCN),
	E(ELIBMAX), E(ELIBEXEC), E(EILSEQ), E(ERESTART), E(ESTRPIPE), E(EUSERS), E(ENOTSOCK),
	E(EDESTADDRREQ), E(EMSGSIZE), E(EPROTOTYPE), E(ENOPROTOOPT), E(EPROTONOSUPPORT),
	E(ESOCKTNOSUPPORT), E(EOPNOTSUPP), E(EPFNOSUPPORT), E(EAFNOSUPPORT), E(EADDRINUSE),
	E(EADDRNOTAVAIL), E(ENETDOWN), E(ENETUNREACH), E(ENETRESET), E(ECONNABORTED),
	E(ECONNRESET), E(ENOBUFS), E(EISCONN), E(ENOTCONN), E(ESHUTDOWN), E(ETOOMANYREFS),
	E(ETIMEDOUT), E(ECONNREFUSED), E(EHOSTDOWN), E(EHOSTUNREACH), E(EALREADY), E(EINPROGRESS),
	E(ESTALE), E(EUCLEAN), E(ENOTNAM), E(ENAVAIL), E(EISNAM), E(EREMOTEIO), E(EDQUOT),
	E(ENOMEDIUM), E(EMEDIUMTYPE), E(ECANCELED), E(ENOKEY), E(EKEYEXPIRED), E(EKEYREVOKED),
	E(EKEYREJECTED), E(EOWNERDEAD), E(ENOTRECOVERABLE), E(ERFKILL), E(EHWPOISON),
	/* On the few architectures where an alias has a value of its own, it is a primary. */
#if EWOULDBLOCK != EAGAIN
	E(EWOULDBLOCK),
#endif
#if EDEADLOCK != EDEADLK
	E(EDEADLOCK),
#endif
#if ENOTSUP != EOPNOTSUPP
	E(ENOTSUP),
#endif
};
#undef E

#define N_ERRNO_NAMES (sizeof(errno_names) / sizeof(errno_names[0]))

/* Alternative spellings that redial_errno_from_name accepts but redial_errno_name never
 * returns. */
static const struct {
	const char *name;
	int value;
} errno_aliases[] = {
	{ "EWOULDBLOCK", EWOULDBLOCK },
	{ "EDEADLOCK", EDEADLOCK },
	{ "ENOTSUP", ENOTSUP },
};

static const char *const dns_names[] = {
	"DNS_NXDOMAIN", "DNS_NODATA", "DNS_SERVFAIL", "DNS_TIMEOUT", "DNS_REFUSED", "DNS_ERROR",
};
#define N_DNS_NAMES (sizeof(dns_names) / sizeof(dns_names[0]))

static const char *const tls_names[] = {
	"TLS_CERT_UNTRUSTED",    "TLS_CERT_EXPIRED",     "TLS_CERT_NOT_YET_VALID",
	"TLS_HOSTNAME_MISMATCH", "TLS_CERT_INVALID",     "TLS_PROTOCOL_VERSION",
	"TLS_NO_APPLICATION_PROTOCOL", "TLS_HANDSHAKE_FAILURE", "TLS_NOT_TLS",
	"TLS_HANDSHAKE_TIMEOUT", "TLS_UNEXPECTED_EOF",   "TLS_INTERNAL_ERROR",
	"TLS_ERROR",
};
#define N_TLS_NAMES (sizeof(tls_names) / sizeof(tls_names[0]))

const char *redial_errno_name(int err)
{
	if (err >= REDIAL_E_DNS_NXDOMAIN && err < REDIAL_E_DNS_NXDOMAIN + (int)N_DNS_NAMES)
		return dns_names[err - REDIAL_E_DNS_NXDOMAIN];
	if (err >= REDIAL_E_TLS_CERT_UNTRUSTED &&
	    err < REDIAL_E_TLS_CERT_UNTRUSTED + (int)N_TLS_NAMES)
		return tls_names[err - REDIAL_E_TLS_CERT_UNTRUSTED];
	if (err <= 0 || (size_t)err >= N_ERRNO_NAMES)
		return NULL;
	return errno_names[err]; /* NULL for the gaps, e.g. 41 and 58 on x86 */
}

int redial_errno_from_name(const char *name)
{
	if (!name)
		return -EINVAL;
	for (size_t i = 0; i < N_DNS_NAMES; i++)
		if (strcmp(dns_names[i], name) == 0)
			return REDIAL_E_DNS_NXDOMAIN + (int)i;
	for (size_t i = 0; i < N_TLS_NAMES; i++)
		if (strcmp(tls_names[i], name) == 0)
			return REDIAL_E_TLS_CERT_UNTRUSTED + (int)i;
	/* Every errno name starts with 'E'; this skips the scan for most garbage. */
	if (name[0] != 'E')
		return -EINVAL;
	for (size_t i = 1; i < N_ERRNO_NAMES; i++) {
		if (errno_names[i] && strcmp(errno_names[i], name) == 0)
			return (int)i;
	}
	for (size_t i = 0; i < sizeof(errno_aliases) / sizeof(errno_aliases[0]); i++) {
		if (strcmp(errno_aliases[i].name, name) == 0)
			return errno_aliases[i].value;
	}
	return -EINVAL;
}

/* ---- enum names ------------------------------------------------------------------------ */

const char *redial_state_name(enum redial_state st)
{
	switch (st) {
	case REDIAL_STATE_IDLE:
		return "idle";
	case REDIAL_STATE_CONNECTING:
		return "connecting";
	case REDIAL_STATE_CONNECTED:
		return "connected";
	case REDIAL_STATE_BACKOFF:
		return "backoff";
	case REDIAL_STATE_FAILED:
		return "failed";
	case REDIAL_STATE_CANCELLED:
		return "cancelled";
	case REDIAL_STATE_QUEUED:
		return "queued";
	}
	return "unknown";
}

const char *redial_gave_up_reason_name(enum redial_gave_up_reason r)
{
	switch (r) {
	case REDIAL_GAVE_UP_NONE:
		return "none";
	case REDIAL_GAVE_UP_PERMANENT:
		return "permanent";
	case REDIAL_GAVE_UP_MAX_ATTEMPTS:
		return "max_attempts";
	case REDIAL_GAVE_UP_MAX_ELAPSED:
		return "max_elapsed";
	}
	return "unknown";
}

const char *redial_event_name(enum redial_event_type t)
{
	switch (t) {
	case REDIAL_EV_CONNECTED:
		return "connected";
	case REDIAL_EV_DISCONNECTED:
		return "disconnected";
	case REDIAL_EV_ATTEMPT_FAILED:
		return "attempt_failed";
	case REDIAL_EV_ALERT:
		return "alert";
	case REDIAL_EV_GAVE_UP:
		return "gave_up";
	case REDIAL_EV_CANCELLED:
		return "cancelled";
	}
	return "unknown";
}
