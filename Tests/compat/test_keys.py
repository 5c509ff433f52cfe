"""The Keys API through the official KeyClient and CryptographyClient; every result cross-checked by python cryptography."""
import hashlib
import os
import time

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.keyvault.keys import JsonWebKey, KeyClient, KeyRotationLifetimeAction, KeyRotationPolicy, KeyRotationPolicyAction
from azure.keyvault.keys.crypto import CryptographyClient, EncryptionAlgorithm, KeyWrapAlgorithm, SignatureAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap


@pytest.fixture
def client(coffre, credential):
    return KeyClient(coffre.vault_url(), credential)


def public_key(jwk):
    """The key as python cryptography sees it, from the JWK Coffre returned."""
    if jwk.kty in ("RSA", "RSA-HSM"):
        return rsa.RSAPublicNumbers(int.from_bytes(jwk.e, "big"), int.from_bytes(jwk.n, "big")).public_key()
    curve = {"P-256": ec.SECP256R1(), "P-256K": ec.SECP256K1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}[jwk.crv]
    return ec.EllipticCurvePublicNumbers(int.from_bytes(jwk.x, "big"), int.from_bytes(jwk.y, "big"), curve).public_key()


HASHES = {"256": (hashlib.sha256, hashes.SHA256()), "384": (hashlib.sha384, hashes.SHA384()), "512": (hashlib.sha512, hashes.SHA512())}


# -- Management ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [2048, 3072, 4096])
def test_create_rsa_keys(client, name, size):
    key = client.create_rsa_key(name, size=size, hardware_protected=size == 3072)
    assert key.key_type == ("RSA-HSM" if size == 3072 else "RSA")
    assert len(key.key.n) * 8 == size and key.key.e == b"\x01\x00\x01"
    assert key.id.startswith(client.vault_url + "/keys/" + name + "/")
    assert set(key.key_operations) == {"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"}
    for private in ("d", "p", "q", "dp", "dq", "qi"):
        assert getattr(key.key, private) is None


def test_versions_of_a_name_that_never_existed_are_an_empty_list(client, name):
    # As the service answers: 200 with an empty page, not KeyNotFound.
    assert list(client.list_properties_of_key_versions(name)) == []


def test_public_exponent(client, name):
    key = client.create_rsa_key(name, size=2048, public_exponent=3)
    assert key.key.e == b"\x03"


@pytest.mark.parametrize("curve", ["P-256", "P-256K", "P-384", "P-521"])
def test_create_ec_keys(client, name, curve):
    key = client.create_ec_key(name, curve=curve)
    assert key.key.crv == curve and key.key.kty == "EC"
    assert key.key.d is None
    assert set(key.key_operations) == {"sign", "verify"}
    public_key(key.key)  # the point is on the curve


@pytest.mark.parametrize("size", [128, 192, 256])
def test_create_oct_keys(client, name, size):
    key = client.create_oct_key(name, size=size, hardware_protected=True)
    assert key.key_type == "oct-HSM"
    assert key.key.k is None


def test_get_list_versions_update(client, name):
    first = client.create_ec_key(name, curve="P-256", tags={"a": "b"})
    second = client.create_ec_key(name, curve="P-256")
    assert client.get_key(name).properties.version == second.properties.version
    assert client.get_key(name, first.properties.version).key.x == first.key.x
    assert name in {k.name for k in client.list_properties_of_keys(max_page_size=2)}
    assert {v.version for v in client.list_properties_of_key_versions(name)} == {first.properties.version, second.properties.version}
    updated = client.update_key_properties(name, first.properties.version, enabled=False, tags={"x": "y"}, key_operations=["verify"])
    assert updated.properties.enabled is False and updated.properties.tags == {"x": "y"} and updated.key_operations == ["verify"]


def test_import_and_validation(client, credential, name):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = private.private_numbers()
    to_bytes = lambda value: value.to_bytes((value.bit_length() + 7) // 8, "big")
    jwk = JsonWebKey(kty="RSA", n=to_bytes(numbers.public_numbers.n), e=to_bytes(numbers.public_numbers.e), d=to_bytes(numbers.d),
                     p=to_bytes(numbers.p), q=to_bytes(numbers.q), dp=to_bytes(numbers.dmp1), dq=to_bytes(numbers.dmq1),
                     qi=to_bytes(numbers.iqmp))
    imported = client.import_key(name, jwk, hardware_protected=True)
    assert imported.key_type == "RSA-HSM" and imported.key.n == jwk.n and imported.key.d is None
    # What Coffre signs with the imported key verifies with the original.
    digest = hashlib.sha256(b"imported").digest()
    signature = CryptographyClient(imported, credential).sign(SignatureAlgorithm.rs256, digest).signature
    private.public_key().verify(signature, digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))

    broken = JsonWebKey(kty="RSA", n=jwk.n, e=jwk.e, d=jwk.d[:-1] + bytes([jwk.d[-1] ^ 1]), p=jwk.p, q=jwk.q)
    with pytest.raises(HttpResponseError) as error:
        client.import_key(name + "-bad", broken)
    assert error.value.status_code == 400 and error.value.error.code == "BadParameter"
    with pytest.raises(HttpResponseError) as error:
        client.import_key(name + "-bad", JsonWebKey(kty="EC", crv="P-256", x=b"\x01" * 32, y=b"\x02" * 32, d=b"\x03" * 32))
    assert error.value.status_code == 400
    with pytest.raises(HttpResponseError) as error:
        client.import_key(name + "-bad", JsonWebKey(kty="oct", k=b"\x01" * 65))
    assert error.value.status_code == 400
    with pytest.raises(ResourceNotFoundError):
        client.get_key(name + "-bad")


def test_bad_create_requests(client, name):
    with pytest.raises(HttpResponseError) as error:
        client.create_rsa_key(name, size=1024)
    assert error.value.error.code == "BadParameter"
    with pytest.raises(HttpResponseError) as error:
        client.create_key(name, "RSA", key_operations=["encrypt", "fly"])
    assert error.value.error.code == "BadParameter"
    with pytest.raises(HttpResponseError) as error:
        client.create_ec_key(name, curve="P-256", key_operations=["encrypt"])
    assert error.value.error.code == "BadParameter"


def test_delete_recover_purge_backup_restore(client, name):
    created = client.create_rsa_key(name)
    deleted = client.begin_delete_key(name).result()
    assert deleted.recovery_id == client.vault_url + "/deletedkeys/" + name
    assert client.get_deleted_key(name).name == name
    assert name in {k.name for k in client.list_deleted_keys()}
    with pytest.raises(ResourceNotFoundError) as error:
        client.get_key(name)
    assert error.value.error.code == "KeyNotFound"
    with pytest.raises(ResourceExistsError):
        client.create_rsa_key(name)
    client.begin_recover_deleted_key(name).wait()
    blob = client.backup_key(name)
    client.begin_delete_key(name).wait()
    client.purge_deleted_key(name)
    restored = client.restore_key_backup(blob)
    assert restored.key.n == created.key.n and restored.properties.version == created.properties.version
    tampered = bytearray(blob)
    tampered[len(tampered) // 2] ^= 1
    with pytest.raises(HttpResponseError) as error:
        client.restore_key_backup(bytes(tampered))
    assert error.value.status_code == 400


def test_rotate_and_rotation_policy(client, name):
    original = client.create_rsa_key(name, tags={"keep": "me"})
    default = client.get_key_rotation_policy(name)
    assert default.lifetime_actions and default.lifetime_actions[0].action == KeyRotationPolicyAction.notify
    policy = client.update_key_rotation_policy(
        name, KeyRotationPolicy(), lifetime_actions=[KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P90D"),
                                KeyRotationLifetimeAction(KeyRotationPolicyAction.notify, time_before_expiry="P30D")],
        expires_in="P1Y")
    assert policy.expires_in == "P1Y"
    assert {a.action for a in client.get_key_rotation_policy(name).lifetime_actions} == {
        KeyRotationPolicyAction.rotate, KeyRotationPolicyAction.notify}
    rotated = client.rotate_key(name)
    assert rotated.properties.version != original.properties.version
    assert rotated.key.n != original.key.n and rotated.properties.tags == {"keep": "me"}
    assert 364 <= (rotated.properties.expires_on - rotated.properties.created_on).days <= 366
    with pytest.raises(HttpResponseError) as error:
        client.update_key_rotation_policy(name, KeyRotationPolicy(), lifetime_actions=[], expires_in="P7D")
    assert error.value.status_code == 400


def test_random_bytes(client):
    assert len(client.get_random_bytes(32)) == 32
    assert client.get_random_bytes(16) != client.get_random_bytes(16)
    with pytest.raises(HttpResponseError) as error:
        client.get_random_bytes(129)
    assert error.value.error.code == "BadParameter"


# -- Cryptography, checked by python cryptography -------------------------------------------------------------------

@pytest.fixture(scope="module")
def rsa_key(coffre, app_principal):
    from conftest import client_secret_credential
    client = KeyClient(coffre.vault_url(), client_secret_credential(app_principal))
    return client.create_rsa_key("crypto-rsa-" + os.urandom(4).hex(), size=2048)


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"])
def test_rsa_signatures_verify_in_python_cryptography(coffre, credential, rsa_key, alg):
    crypto = CryptographyClient(rsa_key.id, credential)
    hasher, chosen = HASHES[alg[2:]]
    digest = hasher(b"coffre").digest()
    signature = crypto.sign(alg, digest).signature
    pad = padding.PKCS1v15() if alg.startswith("RS") else padding.PSS(padding.MGF1(chosen), padding.PSS.DIGEST_LENGTH)
    public_key(rsa_key.key).verify(signature, digest, pad, utils.Prehashed(chosen))
    assert crypto.verify(alg, digest, signature).is_valid  # local verification by the SDK
    remote = CryptographyClient(rsa_key.id, credential)
    remote._local_provider = None
    assert KeyClient(coffre.vault_url(), credential).get_key(rsa_key.name).key.n == rsa_key.key.n


def test_rsnull_and_digest_length_checks(credential, rsa_key):
    crypto = CryptographyClient(rsa_key.id, credential)
    raw = b"\x01" * 36  # e.g. an MD5+SHA1 TLS digest
    signature = crypto.sign("RSNULL", raw).signature
    recovered = pow(int.from_bytes(signature, "big"), int.from_bytes(rsa_key.key.e, "big"), int.from_bytes(rsa_key.key.n, "big"))
    assert recovered.to_bytes(256, "big").endswith(b"\x00" + raw)
    with pytest.raises(HttpResponseError) as error:
        crypto.sign(SignatureAlgorithm.rs256, b"\x00" * 20)
    assert error.value.error.code == "BadParameter"


@pytest.mark.parametrize("alg", ["RSA1_5", "RSA-OAEP", "RSA-OAEP-256"])
def test_rsa_encryption_made_in_python_decrypts_in_coffre(credential, rsa_key, alg):
    crypto = CryptographyClient(rsa_key.id, credential)
    pad = {"RSA1_5": padding.PKCS1v15(), "RSA-OAEP": padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None),
           "RSA-OAEP-256": padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)}[alg]
    ciphertext = public_key(rsa_key.key).encrypt(b"data key 0123456789abcdef", pad)
    assert crypto.decrypt(alg, ciphertext).plaintext == b"data key 0123456789abcdef"
    assert crypto.unwrap_key(alg, ciphertext).key == b"data key 0123456789abcdef"
    # And through the SDK's own local encryption with the returned public JWK.
    assert crypto.decrypt(alg, crypto.encrypt(alg, b"round trip").ciphertext).plaintext == b"round trip"
    with pytest.raises(HttpResponseError) as error:
        crypto.decrypt(alg, b"\x00" * 256)
    assert error.value.status_code == 400


@pytest.mark.parametrize("curve,alg", [("P-256", "ES256"), ("P-256K", "ES256K"), ("P-384", "ES384"), ("P-521", "ES512")])
def test_ec_signatures_are_raw_and_verify_in_python_cryptography(client, credential, name, curve, alg):
    key = client.create_ec_key(name, curve=curve)
    hasher, chosen = HASHES[{"ES256": "256", "ES256K": "256", "ES384": "384", "ES512": "512"}[alg]]
    digest = hasher(b"coffre").digest()
    crypto = CryptographyClient(key, credential)
    signature = crypto.sign(alg, digest).signature
    width = {"P-256": 32, "P-256K": 32, "P-384": 48, "P-521": 66}[curve]
    assert len(signature) == 2 * width
    der = utils.encode_dss_signature(int.from_bytes(signature[:width], "big"), int.from_bytes(signature[width:], "big"))
    public_key(key.key).verify(der, digest, ec.ECDSA(utils.Prehashed(chosen)))
    assert crypto.verify(alg, digest, signature).is_valid
    with pytest.raises(HttpResponseError):
        crypto.sign("ES384" if alg != "ES384" else "ES256", digest)


@pytest.mark.parametrize("size", [128, 192, 256])
def test_aes_gcm_cbc_and_kw_on_oct_keys(client, credential, name, size):
    key = client.create_oct_key(name, size=size, hardware_protected=True)
    crypto = CryptographyClient(key, credential)
    gcm = crypto.encrypt(f"A{size}GCM", b"gcm plaintext", additional_authenticated_data=b"context")
    assert len(gcm.iv) == 12 and len(gcm.tag) == 16
    assert crypto.decrypt(f"A{size}GCM", gcm.ciphertext, iv=gcm.iv, authentication_tag=gcm.tag,
                          additional_authenticated_data=b"context").plaintext == b"gcm plaintext"
    with pytest.raises(HttpResponseError):
        crypto.decrypt(f"A{size}GCM", gcm.ciphertext, iv=gcm.iv, authentication_tag=gcm.tag,
                       additional_authenticated_data=b"other")
    iv = os.urandom(16)
    cbc = crypto.encrypt(f"A{size}CBCPAD", b"needs padding", iv=iv)
    assert crypto.decrypt(f"A{size}CBCPAD", cbc.ciphertext, iv=iv).plaintext == b"needs padding"
    block = crypto.encrypt(f"A{size}CBC", b"exactly 16 bytes", iv=iv)
    assert crypto.decrypt(f"A{size}CBC", block.ciphertext, iv=iv).plaintext == b"exactly 16 bytes"
    data_key = os.urandom(32)
    wrapped = crypto.wrap_key(f"A{size}KW", data_key).encrypted_key
    assert crypto.unwrap_key(f"A{size}KW", wrapped).key == data_key


def check_aes_gcm_with_python(crypto, secret):
    """A256GCM both ways between the key's CryptographyClient and python cryptography with its 256-bit `secret`."""
    nonce = os.urandom(12)
    sealed = AESGCM(secret).encrypt(nonce, b"from python", b"aad")
    assert crypto.decrypt("A256GCM", sealed[:-16], iv=nonce, authentication_tag=sealed[-16:],
                          additional_authenticated_data=b"aad").plaintext == b"from python"
    result = crypto.encrypt("A256GCM", b"to python", additional_authenticated_data=b"aad")
    assert AESGCM(secret).decrypt(result.iv, result.ciphertext + result.tag, b"aad") == b"to python"


def test_aes_results_match_python_cryptography_with_an_imported_key(client, credential, name):
    secret = os.urandom(32)
    key = client.import_key(name, JsonWebKey(kty="oct-HSM", k=secret, key_ops=["encrypt", "decrypt", "wrapKey", "unwrapKey"]))
    crypto = CryptographyClient(key, credential)
    data_key = os.urandom(32)
    assert crypto.wrap_key("A256KW", data_key).encrypted_key == aes_key_wrap(secret, data_key)
    assert crypto.unwrap_key("A256KW", aes_key_wrap(secret, data_key)).key == data_key
    check_aes_gcm_with_python(crypto, secret)
    assert aes_key_unwrap(secret, crypto.wrap_key("A256KW", data_key).encrypted_key) == data_key


# -- Rules: key_ops, enabled, nbf/exp -------------------------------------------------------------------------------

def test_key_ops_restrict_what_a_key_does(client, credential, name):
    key = client.create_rsa_key(name, key_operations=["verify", "decrypt"])
    crypto = CryptographyClient(key.id, credential)
    crypto._local_provider = None  # force remote operations
    with pytest.raises(HttpResponseError) as error:
        crypto.sign(SignatureAlgorithm.rs256, hashlib.sha256(b"x").digest())
    assert error.value.status_code == 403 and "KeyOperationForbidden" in error.value.response.text()


def test_disabled_and_expired_keys(client, credential, name):
    key = client.create_rsa_key(name, enabled=False)
    crypto = CryptographyClient(key.id, credential)
    with pytest.raises(HttpResponseError) as error:
        crypto.sign(SignatureAlgorithm.rs256, hashlib.sha256(b"x").digest())
    assert error.value.status_code == 403

    import datetime
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
    expired = client.create_rsa_key(name + "x", expires_on=past)
    crypto = CryptographyClient(expired.id, credential)
    with pytest.raises(HttpResponseError) as error:
        crypto.sign(SignatureAlgorithm.rs256, hashlib.sha256(b"x").digest())
    assert error.value.status_code == 403
    # decrypt, unwrap and verify still work outside the window
    ciphertext = public_key(expired.key).encrypt(b"still", padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None))
    assert crypto.decrypt("RSA-OAEP-256", ciphertext).plaintext == b"still"
    assert crypto.unwrap_key("RSA-OAEP-256", ciphertext).key == b"still"


@pytest.mark.parametrize("api_version", ["7.0", "7.3", "7.4", "7.5", "7.6", "2025-07-01"])
def test_api_versions(coffre, credential, name, api_version):
    client = KeyClient(coffre.vault_url(), credential, api_version=api_version)
    key = client.create_ec_key(name, curve="P-256")
    assert client.get_key(name).key.x == key.key.x
