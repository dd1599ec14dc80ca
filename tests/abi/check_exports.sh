#!/bin/sh
# The shared library's exports against the public headers:
#  - every dynamic symbol libredial.so defines is a redial_* function tagged @@NODE, or
#    @@NODE.N for a node added compatibly after it (besides the nodes' own absolute symbols);
#  - the set of exports equals the functions the public headers (INCLUDEDIR/*.h) declare
#    REDIAL_API.
# Usage: check_exports.sh NM LIBREDIAL.SO NODE INCLUDEDIR
set -eu
nm=$1 lib=$2 node=$3 incdir=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

"$nm" -D --defined-only "$lib" | awk '{ print $NF, $(NF-1) }' >"$tmp/all" # NAME TYPE
[ -s "$tmp/all" ] || { echo "no dynamic symbols in $lib"; exit 1; }

# The version node: one absolute symbol of its own name.
grep -v -E "^$node(\.[0-9]+)? A\$" "$tmp/all" >"$tmp/syms" || true
grep -q "^$node A\$" "$tmp/all" || { echo "no version node $node in $lib"; fail=1; }

: >"$tmp/exported.raw"
while read -r sym type; do
	name=${sym%%@*}
	echo "$name" >>"$tmp/exported.raw"
	case "$name" in
	redial_*) ;;
	*) echo "exported but not redial_*: $sym ($type)"; fail=1 ;;
	esac
	case "$sym" in
	*"@@$node" | *"@@$node".[0-9]*) ;;
	*) echo "exported without the version tag @@$node: $sym"; fail=1 ;;
	esac
	case "$type" in
	T) ;;
	*) echo "exported but not a function: $sym ($type)"; fail=1 ;;
	esac
done <"$tmp/syms"
sort -u "$tmp/exported.raw" >"$tmp/exported"

# The functions declared REDIAL_API: the identifier before the first '(' of each line.
sed -n 's/^REDIAL_API[^(]*[^A-Za-z0-9_(]\([A-Za-z_][A-Za-z0-9_]*\)(.*/\1/p' "$incdir"/*.h |
	sort -u >"$tmp/declared"
[ -s "$tmp/declared" ] || { echo "no REDIAL_API declaration found in $incdir/*.h"; exit 1; }

if ! cmp -s "$tmp/declared" "$tmp/exported"; then
	comm -23 "$tmp/declared" "$tmp/exported" | sed 's/^/declared REDIAL_API but not exported: /'
	comm -13 "$tmp/declared" "$tmp/exported" | sed 's/^/exported but not declared REDIAL_API: /'
	fail=1
fi
[ "$fail" = 0 ] || exit 1
echo "$(wc -l <"$tmp/exported") functions exported under $node, as the headers declare"
