#!/bin/sh
# TEST-ONLY certificates for the gRPC interop harness (Tests/interop). The private keys are
# committed on purpose and are public: never use these files for anything but tests.
#
# Makes, in this directory:
#   ca.pem / ca.key          a self-signed test CA ("Weft interop test CA (TEST ONLY)")
#   server.pem / server.key  a server certificate signed by that CA, valid for
#                            localhost, 127.0.0.1, ::1, *.test.example.com, *.test.google.fr and
#                            foo.test.google.fr (the name gRPC's interop clients pass as
#                            --server_host_override)
#   client.pem / client.key  a client certificate signed by the CA, for mutual-TLS tests
#
# Usage: sh make_certs.sh   (overwrites the files; needs openssl)
set -eu
cd "$(dirname "$0")"
DAYS=7300
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$DAYS" \
  -keyout ca.key -out ca.pem \
  -subj "/O=Weft test/CN=Weft interop test CA (TEST ONLY)" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -addext "subjectKeyIdentifier=hash"

cat > "$tmp/server.ext" <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1,DNS:*.test.example.com,DNS:*.test.google.fr,DNS:foo.test.google.fr
authorityKeyIdentifier=keyid
subjectKeyIdentifier=hash
EXT
openssl req -newkey rsa:2048 -nodes -sha256 -keyout server.key -out "$tmp/server.csr" \
  -subj "/O=Weft test/CN=*.test.example.com (TEST ONLY)"
openssl x509 -req -sha256 -days "$DAYS" -in "$tmp/server.csr" -CA ca.pem -CAkey ca.key \
  -set_serial 0x1001 -extfile "$tmp/server.ext" -out server.pem

cat > "$tmp/client.ext" <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
authorityKeyIdentifier=keyid
subjectKeyIdentifier=hash
EXT
openssl req -newkey rsa:2048 -nodes -sha256 -keyout client.key -out "$tmp/client.csr" \
  -subj "/O=Weft test/CN=interop-client (TEST ONLY)"
openssl x509 -req -sha256 -days "$DAYS" -in "$tmp/client.csr" -CA ca.pem -CAkey ca.key \
  -set_serial 0x1002 -extfile "$tmp/client.ext" -out client.pem

chmod 644 ./*.pem ./*.key
openssl verify -CAfile ca.pem server.pem client.pem
