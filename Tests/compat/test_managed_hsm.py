"""Managed HSM pools through the official clients, configured from `coffre env --hsm H` only: local RBAC
(KeyVaultAccessControlClient), settings (KeyVaultSettingsClient) and keys on a pool (KeyClient, CryptographyClient),
every cryptographic result cross-checked by python cryptography and hmac."""
import base64
import hashlib
import hmac
import json
import os
import uuid

import jwt
import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.administration import (KeyVaultAccessControlClient, KeyVaultBackupClient, KeyVaultDataAction, KeyVaultPermission,
                                           KeyVaultRoleScope, KeyVaultSetting, KeyVaultSettingsClient, KeyVaultSettingType)
from azure.keyvault.keys import JsonWebKey, KeyClient, KeyReleasePolicy
from azure.keyvault.keys.crypto import CryptographyClient, EncryptionAlgorithm, SignatureAlgorithm
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conftest import client_secret_credential, container_uri, hsm_env, managed_identity_credential

CRYPTO_USER = "21dbd100-6940-42c2-9190-5d6cb909625b"


@pytest.fixture(scope="module")
def hsm_environment(coffre):
    """An activated pool, as `coffre hsm create --activated` makes it, and what `coffre env --hsm` exports for it."""
    created, env = hsm_env(coffre, "compat-hsm")
    assert created["activation"] == "Active"
    # The administrator (the server's managed identity) gives itself Crypto User to use keys.
    access = KeyVaultAccessControlClient(env["AZURE_MANAGEDHSM_URL"], managed_identity_credential())
    access.create_role_assignment(KeyVaultRoleScope.GLOBAL, CRYPTO_USER, admin_object_id(coffre, created))
    return env


@pytest.fixture(scope="module")
def hsm(hsm_environment):
    return hsm_environment["AZURE_MANAGEDHSM_URL"]


def admin_object_id(coffre, pool):
    return pool["administrators"][0]


@pytest.fixture
def keys(hsm):
    return KeyClient(hsm, managed_identity_credential())


def test_pools_are_listed_and_shown(coffre, hsm):
    assert "compat-hsm" in [pool["name"] for pool in coffre.cli_json("hsm", "list")]
    shown = coffre.cli_json("hsm", "show", "--name", "compat-hsm")
    assert shown["url"] == hsm and shown["recoveryLevel"] == "Recoverable+Purgeable"


# -- Local RBAC ----------------------------------------------------------------------------------------------------

def test_role_definitions_as_the_sdk_test_drives_them(hsm):
    client = KeyVaultAccessControlClient(hsm, managed_identity_credential())
    builtin = {d.role_name: d for d in client.list_role_definitions(KeyVaultRoleScope.GLOBAL)}
    assert builtin["Managed HSM Crypto User"].name == CRYPTO_USER
    assert KeyVaultDataAction.CREATE_HSM_KEY in builtin["Managed HSM Crypto User"].permissions[0].data_actions
    name = str(uuid.uuid4())
    created = client.set_role_definition(KeyVaultRoleScope.GLOBAL, name=name, role_name="compat-role", description="test",
                                         permissions=[KeyVaultPermission(data_actions=[KeyVaultDataAction.READ_HSM_KEY])])
    assert created.role_name == "compat-role" and created.description == "test" and created.assignable_scopes == ["/"]
    updated = client.set_role_definition(KeyVaultRoleScope.GLOBAL, name=name, role_name="compat-role-2",
                                         permissions=[KeyVaultPermission(not_data_actions=[KeyVaultDataAction.READ_HSM_KEY])])
    assert updated.description == "" and updated.permissions[0].data_actions == []
    assert updated.permissions[0].not_data_actions == [KeyVaultDataAction.READ_HSM_KEY]
    fetched = client.get_role_definition(KeyVaultRoleScope.GLOBAL, name)
    assert (fetched.id, fetched.role_name, fetched.role_type) == (updated.id, "compat-role-2", "CustomRole")
    assert len([d for d in client.list_role_definitions(KeyVaultRoleScope.GLOBAL) if d.id == updated.id]) == 1
    client.delete_role_definition(KeyVaultRoleScope.GLOBAL, name)
    assert not any(d.id == updated.id for d in client.list_role_definitions(KeyVaultRoleScope.GLOBAL))
    with pytest.raises(HttpResponseError) as refused:
        client.set_role_definition(KeyVaultRoleScope.GLOBAL, name=CRYPTO_USER, role_name="x")
    assert refused.value.status_code == 400


def test_role_assignments_as_the_sdk_test_drives_them(hsm):
    client = KeyVaultAccessControlClient(hsm, managed_identity_credential())
    definition = list(client.list_role_definitions(KeyVaultRoleScope.GLOBAL))[0]
    name = str(uuid.uuid4())
    principal = str(uuid.uuid4())
    created = client.create_role_assignment(KeyVaultRoleScope.KEYS, definition.id, principal, name=name)
    assert created.name == name and created.properties.role_definition_id == definition.id
    assert created.properties.scope == KeyVaultRoleScope.KEYS and created.properties.principal_id == principal
    got = client.get_role_assignment(KeyVaultRoleScope.KEYS, name)
    assert got.role_assignment_id == created.role_assignment_id
    listed = [a for a in client.list_role_assignments(KeyVaultRoleScope.KEYS) if a.role_assignment_id == created.role_assignment_id]
    assert len(listed) == 1
    client.delete_role_assignment(KeyVaultRoleScope.KEYS, name)
    assert not any(a.name == name for a in client.list_role_assignments(KeyVaultRoleScope.GLOBAL))
    with pytest.raises(ResourceNotFoundError):
        client.get_role_assignment(KeyVaultRoleScope.GLOBAL, name)


def test_refusals_name_the_data_action_and_a_key_scoped_assignment_opens_one_key(coffre, hsm, keys, name):
    keys.create_rsa_key(name, hardware_protected=True)
    other = name + "-other"
    keys.create_rsa_key(other, hardware_protected=True)
    principal = coffre.cli_json("principal", "create", "--name", "hsm-reader-" + name)
    theirs = KeyClient(hsm, client_secret_credential(principal))
    with pytest.raises(HttpResponseError) as refused:
        theirs.get_key(name)
    assert refused.value.status_code == 403 and refused.value.error.code == "AccessDenied"
    assert f"Microsoft.KeyVault/managedHsm/keys/read/action on /keys/{name}" in refused.value.message

    access = KeyVaultAccessControlClient(hsm, managed_identity_credential())
    auditor = next(d for d in access.list_role_definitions(KeyVaultRoleScope.GLOBAL) if d.role_name == "Managed HSM Crypto Auditor")
    access.create_role_assignment(f"/keys/{name}", auditor.id, principal["objectId"])
    assert theirs.get_key(name).name == name
    with pytest.raises(HttpResponseError):
        theirs.get_key(other)
    with pytest.raises(HttpResponseError) as delete:
        theirs.begin_delete_key(name)
    assert "keys/delete" in delete.value.message


# What each built-in role may do, from Microsoft's "Local RBAC built-in roles for Managed HSM" (the probes below).
ROLE_ALLOWS = {
    "Managed HSM Administrator": {"list roles", "read setting", "pre-backup"},
    "Managed HSM Crypto Officer": {"list roles", "list deleted keys"},
    "Managed HSM Crypto User": {"read key", "create key", "sign", "wrap", "random bytes", "list roles"},
    "Managed HSM Policy Administrator": {"list roles"},
    "Managed HSM Crypto Auditor": {"read key", "list deleted keys", "list roles"},
    "Managed HSM Crypto Service Encryption User": {"read key", "wrap"},
    "Managed HSM Crypto Service Release User": set(),
    "Managed HSM Backup User": {"pre-backup"},
    "Managed HSM Restore User": set(),
}


@pytest.mark.parametrize("role_name", sorted(ROLE_ALLOWS))
def test_each_built_in_role_allows_its_operations_and_no_other(coffre, hsm_environment, role_name):
    hsm = hsm_environment["AZURE_MANAGEDHSM_URL"]
    admin_keys = KeyClient(hsm, managed_identity_credential())
    signing = admin_keys.create_rsa_key("rbac-probe-rsa", size=2048)
    wrapping = admin_keys.create_oct_key("rbac-probe-oct", size=256, hardware_protected=True)
    access = KeyVaultAccessControlClient(hsm, managed_identity_credential())
    role = next(d for d in access.list_role_definitions(KeyVaultRoleScope.GLOBAL) if d.role_name == role_name)
    principal = coffre.cli_json("principal", "create", "--name", "hsm-role-" + role.name[:8])
    access.create_role_assignment(KeyVaultRoleScope.GLOBAL, role.id, principal["objectId"])

    credential = client_secret_credential(principal)
    keys = KeyClient(hsm, credential)
    probes = {
        "read key": lambda: keys.get_key("rbac-probe-rsa"),
        "create key": lambda: keys.create_ec_key("rbac-" + uuid.uuid4().hex[:8]),
        "sign": lambda: CryptographyClient(signing.id, credential).sign(SignatureAlgorithm.rs256, hashlib.sha256(b"x").digest()),
        "wrap": lambda: CryptographyClient(wrapping.id, credential).wrap_key("A256KW", os.urandom(32)),
        "random bytes": lambda: keys.get_random_bytes(8),
        "list deleted keys": lambda: list(keys.list_deleted_keys()),
        "list roles": lambda: list(KeyVaultAccessControlClient(hsm, credential).list_role_definitions(KeyVaultRoleScope.GLOBAL)),
        "read setting": lambda: KeyVaultSettingsClient(hsm, credential).get_setting("AllowKeyManagementOperationsThroughARM"),
        "pre-backup": lambda: KeyVaultBackupClient(hsm, credential).begin_pre_backup(
            container_uri(hsm_environment), sas_token=hsm_environment["BLOB_STORAGE_SAS_TOKEN"]),
    }
    for probe, call in probes.items():
        if probe in ROLE_ALLOWS[role_name]:
            call()
        else:
            with pytest.raises(HttpResponseError) as refused:
                call()
            assert refused.value.status_code == 403, (role_name, probe)
            assert refused.value.error.code == "AccessDenied", (role_name, probe)


# -- Settings ------------------------------------------------------------------------------------------------------

def test_settings_as_the_sdk_test_drives_them(hsm):
    client = KeyVaultSettingsClient(hsm, managed_identity_credential())
    settings = list(client.list_settings())
    assert [s.name for s in settings] == ["AllowKeyManagementOperationsThroughARM"]
    assert all(s.setting_type == KeyVaultSettingType.BOOLEAN and s.value is not None for s in settings)
    setting = client.get_setting("AllowKeyManagementOperationsThroughARM")
    opposite = KeyVaultSetting(name=setting.name, value=not setting.getboolean(), setting_type=KeyVaultSettingType.BOOLEAN)
    updated = client.update_setting(opposite)
    assert updated.name == setting.name and updated.getboolean() == (not setting.getboolean())
    back = client.update_setting(KeyVaultSetting(name=setting.name, value=setting.getboolean()))
    assert back.value == setting.value


# -- Keys on a pool ------------------------------------------------------------------------------------------------

def test_keys_are_hsm_keys_with_the_pools_recovery(keys, name):
    rsa_key = keys.create_rsa_key(name, size=2048)
    assert rsa_key.key_type == "RSA-HSM"
    assert rsa_key.properties.recovery_level == "Recoverable+Purgeable" and rsa_key.properties.recoverable_days == 90
    assert rsa_key.properties.exportable is False
    ec_key = keys.create_ec_key(name + "-ec", curve="P-256")
    assert ec_key.key_type == "EC-HSM"
    oct_key = keys.create_oct_key(name + "-oct", size=256, hardware_protected=True)
    assert oct_key.key_type == "oct-HSM"


def test_rsa_and_ec_operations_cross_checked(keys, name):
    key = keys.create_rsa_key(name, size=2048)
    crypto = CryptographyClient(key, managed_identity_credential())
    public = rsa.RSAPublicNumbers(int.from_bytes(key.key.e, "big"), int.from_bytes(key.key.n, "big")).public_key()
    ciphertext = public.encrypt(b"pool secret", padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None))
    assert crypto.decrypt(EncryptionAlgorithm.rsa_oaep_256, ciphertext).plaintext == b"pool secret"
    digest = hashlib.sha256(b"message").digest()
    signature = crypto.sign(SignatureAlgorithm.ps256, digest).signature
    public.verify(signature, b"message", padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())


def test_aes_gcm_and_cbc_on_an_imported_oct_hsm_key(keys, name):
    secret = os.urandom(32)
    keys.import_key(name, JsonWebKey(kty="oct-HSM", k=secret, key_ops=["encrypt", "decrypt", "wrapKey", "unwrapKey"]))
    crypto = CryptographyClient(keys.get_key(name), managed_identity_credential())
    aad = b"additional"
    gcm = crypto.encrypt(EncryptionAlgorithm.a256_gcm, b"gcm plaintext", additional_authenticated_data=aad)
    assert len(gcm.iv) == 12  # the service's IV
    assert AESGCM(secret).decrypt(gcm.iv, gcm.ciphertext + gcm.tag, aad) == b"gcm plaintext"
    assert crypto.decrypt(EncryptionAlgorithm.a256_gcm, gcm.ciphertext, iv=gcm.iv, authentication_tag=gcm.tag,
                          additional_authenticated_data=aad).plaintext == b"gcm plaintext"

    plaintext = os.urandom(200)  # not a whole number of blocks: A256CBC zero-pads it, as the service does
    iv = os.urandom(16)
    cbc = crypto.encrypt(EncryptionAlgorithm.a256_cbc, plaintext, iv=iv)
    decryptor = Cipher(algorithms.AES(secret), modes.CBC(iv)).decryptor()
    padded = plaintext + b"\0" * (16 - len(plaintext) % 16)
    assert decryptor.update(cbc.ciphertext) + decryptor.finalize() == padded
    assert crypto.decrypt(EncryptionAlgorithm.a256_cbc, cbc.ciphertext, iv=iv).plaintext == padded

    # A256CBCPAD and A256KW are not asked of the pool here: CryptographyClient runs them locally for any oct key, even
    # one without `k` (Swift tests cover them on the server).


def test_hmac_on_an_oct_hsm_key(keys, name):
    secret = os.urandom(32)
    keys.import_key(name, JsonWebKey(kty="oct-HSM", k=secret, key_ops=["sign", "verify"]))
    crypto = CryptographyClient(keys.get_key(name), managed_identity_credential(), api_version="7.6")
    signature = crypto.sign(SignatureAlgorithm.hs256, b"mac me").signature
    assert signature == hmac.new(secret, b"mac me", hashlib.sha256).digest()
    assert crypto.verify(SignatureAlgorithm.hs256, b"mac me", signature).is_valid


def test_random_bytes(keys):
    assert len(keys.get_random_bytes(32)) == 32


def test_key_attestation_verifies_offline_against_coffres_ca(coffre, keys, name):
    key = keys.create_rsa_key(name, size=2048)
    assert key.properties.attestation is None
    attestation = keys.get_key_attestation(name).properties.attestation
    assert attestation.version == "1.0"
    updated = keys.update_key_properties(name, tags={"tag": "value"})
    again = keys.get_key_attestation(name).properties.attestation
    assert again.private_key_attestation == attestation.private_key_attestation
    assert again.public_key_attestation == attestation.public_key_attestation
    assert again.version != updated.properties.version

    ca = x509.load_pem_x509_certificate(open(coffre.ca_file, "rb").read())
    signer = x509.load_pem_x509_certificates(attestation.certificate_pem_file)[0]
    signer.verify_directly_issued_by(ca)
    spki = rsa.RSAPublicNumbers(int.from_bytes(key.key.e, "big"), int.from_bytes(key.key.n, "big")).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    for statement in (attestation.private_key_attestation, attestation.public_key_attestation):
        header, payload, signature = statement.decode().split(".")
        signer.public_key().verify(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)), f"{header}.{payload}".encode(),
                                   padding.PKCS1v15(), hashes.SHA256())
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        assert claims["kid"] == key.id and claims["origin"] == "generated"
        assert claims["publicKeySha256"] == base64.urlsafe_b64encode(hashlib.sha256(spki).digest()).rstrip(b"=").decode()


def test_secrets_are_not_served_on_a_pool(hsm):
    from azure.keyvault.secrets import SecretClient
    with pytest.raises(HttpResponseError) as refused:
        SecretClient(hsm, managed_identity_credential()).set_secret("s", "v")
    assert refused.value.status_code in (400, 404)


# -- Key release with the test attestation service `coffre env --hsm` names --------------------------------------

def sdk_release_policy(attestation_url, sdk_test=True, authority=None):
    """The release policy azure-keyvault-keys' tests write (get_release_policy)."""
    document = {"anyOf": [{"anyOf": [{"claim": "sdk-test", "equals": sdk_test}],
                           "authority": (authority or attestation_url).rstrip("/") + "/"}], "version": "1.0.0"}
    return KeyReleasePolicy(json.dumps(document).encode())


def test_key_release_with_the_test_attestation_service(coffre, hsm_environment, keys, name):
    attestation_url = hsm_environment["AZURE_KEYVAULT_ATTESTATION_URL"]
    # As the SDK's tests fetch it: an unauthenticated GET.
    token = requests.get(f"{attestation_url}/generate-test-token").json()["token"]
    configuration = requests.get(f"{attestation_url}/.well-known/openid-configuration").json()
    jwks = requests.get(configuration["jwks_uri"]).json()
    header = jwt.get_unverified_header(token)
    assert header["jku"] == f"{attestation_url}/keys" and header["alg"] == "RS256"
    signer = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == header["kid"])).key
    claims = jwt.decode(token, signer, algorithms=["RS256"])
    assert claims["iss"] == attestation_url + "/" and claims["sdk-test"] is True
    assert claims["x-ms-runtime"]["keys"][0]["kid"] == "fake-release-key"

    key = keys.create_rsa_key(name, hardware_protected=True, exportable=True, release_policy=sdk_release_policy(attestation_url))
    assert key.key_type == "RSA-HSM" and key.properties.exportable
    statement = keys.release_key(name, token).value
    assert jwt.decode(statement, options={"verify_signature": False})["response"]["key"]["key"]["kid"] == key.id

    # The service satisfies only policies that name it, and only the claims it makes.
    keys.create_rsa_key(name + "-false", exportable=True, release_policy=sdk_release_policy(attestation_url, sdk_test=False))
    keys.create_rsa_key(name + "-other", exportable=True,
                        release_policy=sdk_release_policy(attestation_url, authority="https://attestation.example"))
    for refused_key in (name + "-false", name + "-other"):
        with pytest.raises(HttpResponseError) as refused:
            keys.release_key(refused_key, token)
        assert refused.value.status_code == 403, refused_key
