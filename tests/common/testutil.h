/* testutil.h — the tests' helper library (tests/common), all of it: every suite links it and
 * includes this, or the one header of the concern it needs. It uses only the public API
 * (redial.h, redial_log.h), so that the embedding suite, which links libredial.so and knows
 * nothing else, links it too; what needs the library's insides is in logread.h, a separate
 * layer for the internal suites.
 *
 *   fds.h       the fd count and LeakSanitizer
 *   recorder.h  the event recorder
 *   manager.h   config, create, add, counters, and tu_finish (the end-of-test leak check)
 *   drive.h     run until a condition: redial_run, or an application's epoll loop
 *   farmup.h    the loopback target farm, started or the test fails
 *   net.h       the test's own listeners and ports on loopback, endpoint strings
 *   scratch.h   scratch directories, whole files, the clock (no Criterion)
 *   proc.h      running the real binaries with their output in files
 *   cliout.h    the `redial` command's summary and decoded log, read back
 *   tjson.h     a strict JSON reader
 *   dnsmasq.h   a DNS server of the test's own
 *   netns.h     network and mount namespaces of the test's own */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include "cliout.h"
#include "dnsmasq.h"
#include "drive.h"
#include "farmup.h"
#include "fds.h"
#include "manager.h"
#include "net.h"
#include "netns.h"
#include "proc.h"
#include "recorder.h"
#include "scratch.h"
#include "tjson.h"

#endif
