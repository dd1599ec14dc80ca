#!/bin/sh
# The uninstalled pkg-config file (meson-uninstalled/redial-uninstalled.pc), as a program
# built against this build tree sees it:
#  - of the source and build trees, its Cflags name exactly the public headers (the source
#    tree's include/) and the generated ones (the build tree's include/, redial_version.h):
#    never src/lib, whose private headers (config.h...) would shadow the application's;
#  - with those Cflags first, an application's own <config.h> is still the one it gets,
#    and redial.h compiles.
# Flags of the dependencies (Requires.private), outside both trees, are not judged.
# Usage: check_uninstalled_pc.sh PKG_CONFIG PC_FILE SRCROOT BUILDROOT CC [CC_ARGS...]
set -eu
pkgconfig=$1 pc=$2 src=$3 build=$4
shift 4
[ -f "$pc" ] || { echo "no $pc"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

cflags=$("$pkgconfig" --cflags "$pc")
echo "Cflags: $cflags"
seen_inc=0 seen_gen=0
for f in $cflags; do
	case "$f" in
	-I*) dir=${f#-I} ;;
	*) continue ;;
	esac
	dir=${dir%/}
	case "$dir" in
	"$src/include") seen_inc=1 ;;
	"$build/include") seen_gen=1 ;;
	"$src" | "$src"/* | "$build" | "$build"/*)
		echo "not a public include directory: $f"
		fail=1
		;;
	esac
done
[ "$seen_inc" = 1 ] || { echo "missing -I$src/include"; fail=1; }
[ "$seen_gen" = 1 ] || { echo "missing -I$build/include (redial_version.h)"; fail=1; }

# The application's config.h, found through its own -I, placed after the package's flags
# as `cc $(pkg-config --cflags redial) -I. app.c` does.
mkdir "$tmp/app"
echo '#define REDIAL_TEST_APP_CONFIG 1' >"$tmp/app/config.h"
cat >"$tmp/app/app.c" <<'EOF'
#include <config.h>
#include "redial.h"
#ifndef REDIAL_TEST_APP_CONFIG
#error "<config.h> is not the application's: a directory before its own has one"
#endif
int main(void)
{
	return redial_version()[0] ? 0 : 1;
}
EOF
# shellcheck disable=SC2086 # the flags are words
if ! "$@" -fsyntax-only $cflags -I"$tmp/app" "$tmp/app/app.c"; then
	echo "an application with its own config.h does not compile with these Cflags"
	fail=1
fi
[ "$fail" = 0 ] || exit 1
echo "the uninstalled Cflags name only the public include directories"
