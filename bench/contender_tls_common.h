/* contender_tls_common.h — what the TLS contenders of redial-bench share (contender_tls_*.c;
 * contender_tls_go.go mirrors it): the command line, the measurement window (contender_
 * common's), and the RESULT line, which adds how many handshakes resumed.
 *
 * The scenario: N endpoints on N loopback addresses against the farm's FARM_TLS_CLOSE
 * target (a TLS 1.3 handshake with an ECDSA P-256 certificate made for the run, then
 * close_notify and FIN). Each client verifies the certificate (CA file, name "localhost"),
 * reads until the close, closes, and reconnects at once: tls-full never offers a session,
 * tls-resumed offers the one its previous connection left. */
#ifndef CONTENDER_TLS_COMMON_H
#define CONTENDER_TLS_COMMON_H

#include <stdbool.h>

#include "contender_common.h"

#define BT_SERVER_NAME "localhost" /* the farm certificate's DNS SAN */

struct bt_opts {
	struct bc_opts bc;   /* endpoints, port, warm-up and window, seed; scenario BC_CHURN */
	bool resume;         /* tls-resumed */
	const char *ca;      /* --tls-ca */
};

/* Parses the driver's command line (the common flags, --scenario tls-full|tls-resumed and
 * --tls-ca FILE; the flags that do not apply are accepted and ignored). Exits 2 on error. */
void bt_parse(int argc, char **argv, const char *impl, struct bt_opts *o);

/* The RESULT line: bc_window_report's keys plus resumed=N (handshakes that resumed), and
 * bc_print_usage's vcsw, ivcsw, syscalls (the counting run) and sc_sites (where counted). */
void bt_report(const struct bc_window *w, const char *impl, const char *scenario,
	       uint64_t resumed, long rss_delta);

#endif
