/* farmup.h — the loopback target farm (src/farm) a test starts: started, or the test fails. */
#ifndef TU_FARMUP_H
#define TU_FARMUP_H

#include <stddef.h>

#include "farm.h"

/* farm_start, or the test fails with its error. Stop it with farm_stop. */
struct farm *tu_farm_start(const struct farm_target_spec *specs, size_t n);

#endif
