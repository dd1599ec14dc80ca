// headers.cc — the public headers compiled as C++ (the test is the compile: meson runs the
// C++ compiler on this file with -std=c++11 -Wall -Wextra -Wpedantic -Werror).
#include "redial.h"
#include "redial_log.h"

int abi_cxx_uses(redial_t *r, redial_id_t id, struct redial_log *log);

int abi_cxx_uses(redial_t *r, redial_id_t id, struct redial_log *log)
{
	redial_stats st{};
	redial_endpoint_stats es{};
	redial_log_stats ls{};
	redial_config cfg{};
	st.size = sizeof(st);
	es.size = sizeof(es);
	ls.size = sizeof(ls);
	redial_config_init(&cfg);
	int rc = redial_stats_get(r, &st);
	rc |= redial_endpoint_stats_get(r, id, &es);
	rc |= redial_log_stats_get(log, &ls);
	return rc;
}
