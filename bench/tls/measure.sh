#!/bin/sh
# bench/tls/measure.sh BUILD_DIR [SECONDS] [--json] — the TLS library figures behind redial's choice.
# Makes a CA and two server leaves (ECDSA P-256 and RSA 2048, SAN localhost) with the openssl
# CLI in a temporary directory (removed on exit; no key is ever kept), then runs the OpenSSL
# and wolfSSL executables built in BUILD_DIR/bench/tls (-Dbench=true) on both.
set -eu
build=${1:?usage: measure.sh BUILD_DIR [SECONDS] [--json]}
build=$(cd "$build" && pwd)
shift
secs=3
case "${1:-}" in [0-9]*) secs=$1; shift ;; esac
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM
cd "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
	-out ca.pem -days 2 -subj /CN=measure-ca 2>/dev/null
leaf() { # NAME KEYTYPE-ARGS...
	name=$1; shift
	openssl req -newkey "$@" -nodes -keyout "$name.key" -out "$name.csr" \
		-subj /CN=localhost 2>/dev/null
	printf 'subjectAltName=DNS:localhost\n' > "$name.ext"
	openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
		-days 2 -extfile "$name.ext" -out "$name.pem" 2>/dev/null
}
leaf ecdsa ec -pkeyopt ec_paramgen_curve:P-256
leaf rsa rsa:2048
for cert in ecdsa rsa; do
	for lib in openssl wolfssl; do
		exe="$build/bench/tls/tls-measure-$lib"
		[ -x "$exe" ] || { echo "measure.sh: $exe not built" >&2; continue; }
		"$exe" --ca ca.pem --cert "$cert.pem" --key "$cert.key" --seconds "$secs" \
			--label "$cert" "$@"
	done
done
