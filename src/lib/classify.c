/* classify.c — what an error means for the endpoint: transient, permanent or local. The
 * reason for each row is in docs/faults.md. (The names of errnos and enums: names.c.) */
#include "redial.h"

#include <errno.h>
#include <string.h>

enum redial_class redial_classify(int err)
{
	switch (err) {
	/* The resolver said the name does not exist, or has no address: asking again gives the
	 * same answer (unless the config holds NXDOMAIN for a while; the engine decides). */
	case REDIAL_E_DNS_NXDOMAIN:
	case REDIAL_E_DNS_NODATA:
		return REDIAL_CLASS_PERMANENT;
	case REDIAL_E_DNS_SERVFAIL:
	case REDIAL_E_DNS_TIMEOUT:
	case REDIAL_E_DNS_REFUSED:
	case REDIAL_E_DNS_ERROR:
		return REDIAL_CLASS_TRANSIENT;

	/* The peer's certificate, its protocol versions or ALPN, or the peer itself are not
	 * what this endpoint's TLS options accept: the next handshake says the same. (A
	 * verification failure without a reason is retried a few times first; the engine
	 * decides that.) */
	case REDIAL_E_TLS_CERT_UNTRUSTED:
	case REDIAL_E_TLS_CERT_EXPIRED:
	case REDIAL_E_TLS_CERT_NOT_YET_VALID:
	case REDIAL_E_TLS_HOSTNAME_MISMATCH:
	case REDIAL_E_TLS_CERT_INVALID:
	case REDIAL_E_TLS_PROTOCOL_VERSION:
	case REDIAL_E_TLS_NO_APPLICATION_PROTOCOL:
	case REDIAL_E_TLS_HANDSHAKE_FAILURE:
	case REDIAL_E_TLS_NOT_TLS:
		return REDIAL_CLASS_PERMANENT;
	/* A slow, restarting or overloaded peer: the next handshake may well complete. */
	case REDIAL_E_TLS_HANDSHAKE_TIMEOUT:
	case REDIAL_E_TLS_UNEXPECTED_EOF:
	case REDIAL_E_TLS_INTERNAL_ERROR:
	case REDIAL_E_TLS_ERROR:
		return REDIAL_CLASS_TRANSIENT;

	/* The peer or the path is not there right now; trying again later can succeed.
	 * ECANCELED is ours (a timed-out attempt's connect is cancelled), EALREADY and
	 * EINPROGRESS come from a racing nonblocking connect: none says the peer is bad. */
	case ECONNREFUSED:
	case ETIMEDOUT:
	case ECONNRESET:
	case ENETUNREACH:
	case EHOSTUNREACH:
	case ECONNABORTED:
	case EPIPE:
	case EAGAIN:
	case EINTR:
	case EHOSTDOWN:
	case ENETDOWN:
	case ENETRESET:
	case EPROTO:
	case ECANCELED:
	case EALREADY:
	case EINPROGRESS:
		return REDIAL_CLASS_TRANSIENT;

	/* The address was validated when the endpoint was added, so when a connect says these
	 * it is the network's state speaking, not the caller's mistake, and routes and rules
	 * change at run time: a "blackhole" route gives EINVAL, a "prohibit" route EACCES
	 * (the same prohibition arriving as ICMP is EHOSTUNREACH or EACCES), a netfilter
	 * OUTPUT rule that drops or rejects the SYN gives EPERM, an LSM denial EACCES. */
	case EACCES:
	case EPERM:
	case EINVAL:
		return REDIAL_CLASS_TRANSIENT;

	/* This host cannot make such a socket at all (the family or protocol is not built in,
	 * or IPv6 is disabled), or the socket the engine made is not what it asked for (a bug
	 * that retrying repeats): the same answer comes back every time. */
	case EAFNOSUPPORT:
	case EPROTONOSUPPORT:
	case EPFNOSUPPORT:
	case ESOCKTNOSUPPORT:
	case EOPNOTSUPP:
	case EDESTADDRREQ:
	case EISCONN:
	case ENOTSOCK:
		return REDIAL_CLASS_PERMANENT;

	/* This process or host ran short of descriptors, memory or local ports. The endpoint
	 * is not at fault (EADDRINUSE here is a local port clash, not the peer's), so the
	 * manager throttles instead of counting a failure against it. */
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
	case EADDRNOTAVAIL:
	case EADDRINUSE:
		return REDIAL_CLASS_LOCAL;

	/* An error we have not thought about is not proof that the endpoint is dead: giving
	 * up on it could lose a connection for good, retrying costs only a backoff. */
	default:
		return REDIAL_CLASS_TRANSIENT;
	}
}
