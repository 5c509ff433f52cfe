#!/bin/sh
# Regenerates the PKCS#12 and PEM fixtures with the openssl CLI (OpenSSL 3). Run from this folder.
# Passwords: legacy.pfx "legacy-pass", legacy-3des.pfx "triple-des", modern.pfx "modern-pass";
# empty-password.pfx is encrypted under the empty password; no-encryption.pfx has no encryption and no MAC.
set -eu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A P-256 root CA and an RSA-2048 leaf it issues, valid for a century.
openssl ecparam -name prime256v1 -genkey -noout -out "$work/ca-sec1.pem"
openssl pkcs8 -topk8 -nocrypt -in "$work/ca-sec1.pem" -out "$work/ca-key.pem"
openssl req -x509 -new -key "$work/ca-key.pem" -subj "/C=US/O=Coffre Fixtures/CN=Fixture Root CA" -days 36500 \
    -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out leaf-key.pem
openssl rsa -in leaf-key.pem -traditional -out leaf-key-pkcs1.pem
openssl req -new -key leaf-key.pem -subj "/C=US/ST=WA/L=Redmond/O=Contoso, Ltd/CN=fixture.example.com" -out "$work/leaf.csr"
printf '%s\n' "basicConstraints=critical,CA:false" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth,clientAuth" \
    "subjectAltName=DNS:fixture.example.com,DNS:*.fixture.example.com,IP:10.0.0.1,email:ops@example.com,otherName:1.3.6.1.4.1.311.20.2.3;UTF8:user@example.com" \
    > "$work/leaf.ext"
openssl x509 -req -in "$work/leaf.csr" -CA ca.pem -CAkey "$work/ca-key.pem" -CAcreateserial -days 36500 \
    -extfile "$work/leaf.ext" -out leaf.pem
rm -f ca.srl

# An EC P-384 self-signed certificate whose key is in SEC 1 form (EC PRIVATE KEY).
openssl ecparam -name secp384r1 -genkey -noout -out ec-key-sec1.pem
openssl req -x509 -new -key ec-key-sec1.pem -subj "/CN=ec.example.com" -days 36500 -out ec-cert.pem

cat leaf-key.pem leaf.pem ca.pem > "$work/bundle.pem"
openssl pkcs12 -export -legacy -in "$work/bundle.pem" -passout pass:legacy-pass -out legacy.pfx
openssl pkcs12 -export -in "$work/bundle.pem" -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 \
    -passout pass:triple-des -out legacy-3des.pfx
openssl pkcs12 -export -in "$work/bundle.pem" -passout pass:modern-pass -out modern.pfx
openssl pkcs12 -export -in "$work/bundle.pem" -passout pass: -out empty-password.pfx
openssl pkcs12 -export -in "$work/bundle.pem" -keypbe NONE -certpbe NONE -nomac -passout pass: -out no-encryption.pfx
