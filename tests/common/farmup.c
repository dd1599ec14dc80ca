/* farmup.c — see farmup.h. */
#include "farmup.h"

#include <criterion/criterion.h>
#include <string.h>

struct farm *tu_farm_start(const struct farm_target_spec *specs, size_t n)
{
	struct farm *f = NULL;
	int ret = farm_start(specs, n, &f);
	cr_assert_eq(ret, 0, "farm_start of %zu targets: %s", n, strerror(-ret));
	return f;
}
