/* version.c — the version of the library itself, compiled in from the generated
 * redial_version.h, so that a program can tell which libredial it is running with. */
#include "redial.h"

const char *redial_version(void)
{
	return REDIAL_VERSION_STRING;
}
