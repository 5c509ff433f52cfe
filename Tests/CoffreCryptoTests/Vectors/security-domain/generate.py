#!/usr/bin/env python3
"""Known-answer vectors for Coffre's Managed HSM security domain (SecurityDomainFormat), made by an implementation
independent of Coffre's: pyca/cryptography for RSA keys, certificates, OAEP decryption, AES-CBC and HMAC; the format
itself (Shamir over GF(257), SP 800-108, the compact JWEs, the JSON) written here from its description.

Every random choice comes from one deterministic stream (SHA-256(seed || counter32) blocks, consumed in order), drawn
in the order SecurityDomainFormat documents, so Coffre must produce these exact bytes. The script then opens what it
made the way a client does (OAEP decryption through cryptography's own API, Lagrange interpolation, the KDF, the
JWEs) and checks the items come back.

Run from this directory: python3 generate.py (keys are kept from an existing security_domain_test.json, so a rerun
reproduces the same file).
"""
import base64
import datetime
import hashlib
import hmac
import json
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID

OUTPUT = "security_domain_test.json"
PRIME = 257


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def compact_json(value):
    return json.dumps(value, separators=(",", ":"))


class Stream:
    def __init__(self, seed):
        self.seed = seed
        self.counter = 0
        self.buffer = b""

    def bytes(self, count):
        while len(self.buffer) < count:
            self.buffer += hashlib.sha256(self.seed + self.counter.to_bytes(4, "big")).digest()
            self.counter += 1
        out, self.buffer = self.buffer[:count], self.buffer[count:]
        return out


def oaep_sha256_encrypt(public_key, message, stream):
    numbers = public_key.public_numbers()
    k = (numbers.n.bit_length() + 7) // 8
    h = 32

    def mgf1(seed, length):
        out = b""
        counter = 0
        while len(out) < length:
            out += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
            counter += 1
        return out[:length]

    block = hashlib.sha256(b"").digest() + b"\x00" * (k - len(message) - 2 * h - 2) + b"\x01" + message
    seed = stream.bytes(h)
    masked_block = bytes(a ^ b for a, b in zip(block, mgf1(seed, len(block))))
    masked_seed = bytes(a ^ b for a, b in zip(seed, mgf1(masked_block, h)))
    encoded = int.from_bytes(b"\x00" + masked_seed + masked_block, "big")
    return pow(encoded, numbers.e, numbers.n).to_bytes(k, "big")


def kdf(master, label):
    # SP 800-108 counter mode, HMAC-SHA-512, L = 512: a single block.
    return hmac.new(master, (1).to_bytes(4, "big") + label.encode() + b"\x00" + (512).to_bytes(4, "big"), hashlib.sha512).digest()


def jwe_seal(plaintext, header, cek, encrypted_key, stream):
    encoded_header = b64url(compact_json(header).encode())
    iv = stream.bytes(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(cek[32:]), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    tag = hmac.new(cek[:32], encoded_header.encode() + iv + ciphertext + (len(encoded_header) * 8).to_bytes(8, "big"), hashlib.sha512).digest()[:32]
    return ".".join([encoded_header, b64url(encrypted_key), b64url(iv), b64url(ciphertext), b64url(tag)])


def jwe_open(compact, cek):
    encoded_header, _, iv, ciphertext, tag = compact.split(".")
    iv, ciphertext, tag = unb64url(iv), unb64url(ciphertext), unb64url(tag)
    expected = hmac.new(cek[:32], encoded_header.encode() + iv + ciphertext + (len(encoded_header) * 8).to_bytes(8, "big"), hashlib.sha512).digest()[:32]
    assert hmac.compare_digest(tag, expected), "tag"
    decryptor = Cipher(algorithms.AES(cek[32:]), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def seal_to_key(plaintext, public_key, kid, stream):
    cek = stream.bytes(64)
    encrypted_key = oaep_sha256_encrypt(public_key, cek, stream)
    return jwe_seal(plaintext, {"alg": "RSA-OAEP-256", "enc": "A256CBC-HS512", "kid": kid}, cek, encrypted_key, stream)


def open_with_key(compact, private_key):
    encrypted_key = unb64url(compact.split(".")[1])
    cek = private_key.decrypt(encrypted_key, asym_padding.OAEP(asym_padding.MGF1(hashes.SHA256()), hashes.SHA256(), None))
    return jwe_open(compact, cek)


def encrypt_items(items, master, stream):
    data = []
    for item in items:
        jwe = jwe_seal(item["plaintext"], {"alg": "dir", "enc": "A256CBC-HS512", "kid": item["tag"]}, kdf(master, item["tag"]), b"", stream)
        data.append({"compact_jwe": jwe, "tag": item["tag"]})
    return {"data": data, "kdf": "sp108_kdf"}


def decrypt_items(enc_data, master):
    return [{"tag": d["tag"], "plaintext": jwe_open(d["compact_jwe"], kdf(master, d["tag"]))} for d in enc_data["data"]]


def coefficient(stream):
    while True:
        draw = int.from_bytes(stream.bytes(2), "little")
        if draw != 0xFFFF:
            return draw % PRIME


def shamir_split(secret, count, threshold, stream):
    shares = [[] for _ in range(count)]
    for byte in secret:
        coefficients = [byte] + [coefficient(stream) for _ in range(threshold - 1)]
        for index in range(count):
            x = index + 1
            y = 0
            for c in reversed(coefficients):
                y = (y * x + c) % PRIME
            shares[index].append((x << 9) | y)
    return [b"".join(w.to_bytes(2, "little") for w in share) for share in shares]


def shamir_combine(shares):
    words = [[int.from_bytes(s[i : i + 2], "little") for i in range(0, len(s), 2)] for s in shares]
    xs = [w[0] >> 9 for w in words]
    secret = bytearray()
    for position in range(len(words[0])):
        value = 0
        for i, share in enumerate(words):
            numerator, denominator = 1, 1
            for j, x in enumerate(xs):
                if i != j:
                    numerator = numerator * x % PRIME
                    denominator = denominator * ((x - xs[i]) % PRIME) % PRIME
            value = (value + (share[position] & 0x1FF) * numerator * pow(denominator, PRIME - 2, PRIME)) % PRIME
        assert value < 256
        secret.append(value)
    return bytes(secret)


def make_key(name):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return {
        "certificate": base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode(),
        "privateKey": base64.b64encode(
            key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        ).decode(),
    }


def load_key(entry):
    return serialization.load_der_private_key(base64.b64decode(entry["privateKey"]), None)


def thumbprint(entry):
    return hashlib.sha256(base64.b64decode(entry["certificate"])).digest()


def main():
    existing = json.load(open(OUTPUT)) if os.path.exists(OUTPUT) else {}
    holders = existing.get("certificates") or [make_key(f"Coffre test security domain key {i}") for i in range(3)]
    transfer = existing.get("transferKey") or make_key("Coffre test transfer key")
    items = [
        {"tag": "coffre-pool-root-v1", "plaintext": bytes(range(32))},
        {"tag": "second item", "plaintext": bytes((7 * i) % 256 for i in range(100))},
    ]
    required = 2
    seed = b"coffre security domain known answer"
    stream = Stream(seed)
    master = stream.bytes(32)
    enc_data = encrypt_items(items, master, stream)
    shares = shamir_split(master, len(holders), required, stream)
    enc_shares = []
    for holder, share in zip(holders, shares):
        kid = b64url(thumbprint(holder))
        enc_shares.append({"enc_key": seal_to_key(share, load_key(holder).public_key(), kid, stream), "x5t_256": kid})
    domain = compact_json({"EncData": enc_data, "SharedKeys": {"enc_shares": enc_shares, "required": required}})

    # Open it as a client does, with the last two holders' keys.
    document = json.loads(domain)
    opened = [open_with_key(e["enc_key"], load_key(h)) for e, h in zip(document["SharedKeys"]["enc_shares"], holders)][1:]
    assert decrypt_items(document["EncData"], shamir_combine(opened)) == items

    blob_seed = b"coffre security domain restore blob"
    blob_stream = Stream(blob_seed)
    blob_master = blob_stream.bytes(32)
    blob_data = encrypt_items(items, blob_master, blob_stream)
    transfer_kid = b64url(thumbprint(transfer))
    wrapped = seal_to_key(blob_master, load_key(transfer).public_key(), transfer_kid, blob_stream)
    blob = compact_json({"EncData": blob_data, "WrappedKey": {"enc_key": wrapped, "x5t_256": transfer_kid}})
    assert decrypt_items(json.loads(blob)["EncData"], open_with_key(wrapped, load_key(transfer))) == items

    vectors = {
        "source": "generate.py (pyca/cryptography " + __import__("cryptography").__version__ + ")",
        "stream": "SHA-256(seed || counter, 32-bit big-endian from 0) blocks, consumed in order",
        "seed": seed.hex(),
        "required": required,
        "certificates": holders,
        "items": [{"tag": i["tag"], "plaintext": i["plaintext"].hex()} for i in items],
        "domain": domain,
        "transferKey": transfer,
        "restoreBlobSeed": blob_seed.hex(),
        "restoreBlob": blob,
    }
    with open(OUTPUT, "w") as f:
        json.dump(vectors, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
