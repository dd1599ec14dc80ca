/* version.c — redial_version() of the shared library the test runs with against meson's
 * project version (REDIAL_EXPECTED_VERSION), and the generated header against both. */
#include <stdio.h>
#include <string.h>

#include "redial.h"

#define STR_(x) #x
#define STR(x) STR_(x)

int main(void)
{
	const char *lib = redial_version();
	const char *parts = STR(REDIAL_VERSION_MAJOR) "." STR(REDIAL_VERSION_MINOR) "." STR(
		REDIAL_VERSION_PATCH);
	int fail = 0;
	if (!lib || strcmp(lib, REDIAL_EXPECTED_VERSION) != 0) {
		printf("redial_version() = \"%s\", meson.project_version() = \"%s\"\n",
		       lib ? lib : "(null)", REDIAL_EXPECTED_VERSION);
		fail = 1;
	}
	if (strcmp(REDIAL_VERSION_STRING, REDIAL_EXPECTED_VERSION) != 0) {
		printf("REDIAL_VERSION_STRING = \"%s\", expected \"%s\"\n", REDIAL_VERSION_STRING,
		       REDIAL_EXPECTED_VERSION);
		fail = 1;
	}
	if (strcmp(parts, REDIAL_VERSION_STRING) != 0) {
		printf("REDIAL_VERSION_MAJOR.MINOR.PATCH = %s, REDIAL_VERSION_STRING = \"%s\"\n",
		       parts, REDIAL_VERSION_STRING);
		fail = 1;
	}
	if (!fail)
		printf("libredial %s\n", lib);
	return fail;
}
