#!/bin/sh
# Test certificates for the fake API server, in DIR: a CA (ca.crt, ca.key), a serving
# certificate for 127.0.0.1 and localhost (server.crt, server.key) and a client certificate
# (client.crt, client.key, CN palisade-test-client in group palisade-test), both signed by
# the CA. P-256 keys: quick to make, and what clusters commonly issue. Never for production.
# Usage: make_test_certs.sh DIR
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
mkdir -p "$1"
cd "$1"

key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

# sign NAME SUBJECT EXTENSIONS: NAME.key, and NAME.crt signed by the CA with EXTENSIONS.
sign() {
  key "$1.key"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" \
    "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid,issuer" "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
    -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

key ca.key
openssl req -x509 -new -key ca.key -subj "/CN=palisade-test-ca" -days 3650 -out ca.crt \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
sign server "/CN=127.0.0.1" \
  "extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost"
sign client "/O=palisade-test/CN=palisade-test-client" "extendedKeyUsage=clientAuth"
rm -f ca.srl
