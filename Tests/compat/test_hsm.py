"""Hardware keys in a PKCS#11 token (SoftHSM2, a token initialised here): `coffre serve --pkcs11-module …` keeps every
RSA-HSM and EC-HSM key in the token, as a sensitive object that pkcs11-tool lists; results are checked with python
cryptography; BYOK blobs are made here from the specification; backups restore only where the backup key is."""
import base64
import hashlib
import hmac
import json
import os
import shutil
import tempfile

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.keyvault.administration import KeyVaultAccessControlClient, KeyVaultRoleScope
from azure.keyvault.keys import JsonWebKey, KeyClient, KeyReleasePolicy
from azure.keyvault.keys.crypto import CryptographyClient, EncryptionAlgorithm, KeyWrapAlgorithm, SignatureAlgorithm
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap_with_padding, aes_key_wrap, aes_key_wrap_with_padding

from coffre_process import Coffre
from softhsm import SoftHSM
from test_azure_cli import AZ, AzureCli
from test_key_release import attestation_token, authority  # noqa: F401 (authority: a fixture)
from test_key_release import policy as release_policy
from test_keys import check_aes_gcm_with_python

SHARED_BACKUP_KEY = os.urandom(32)


@pytest.fixture(scope="module")
def hsm():
    tokens = SoftHSM()
    tokens.init_token("plain")  # no backup key: non-exportable keys are never extractable
    tokens.init_token("core", backup_key=SHARED_BACKUP_KEY)
    tokens.init_token("sister", backup_key=SHARED_BACKUP_KEY)
    tokens.init_token("stranger", backup_key=os.urandom(32))
    yield tokens
    tokens.cleanup()


def start(hsm, token, data=None):
    server = Coffre(data=data, extra_args=hsm.serve_args(token), env=hsm.env)
    server.owns_data = True
    return server.start()


def key_client(server, principal=None):
    if principal is None:
        principal = server.cli_json("principal", "create", "--name", "hsm-user")
        server.cli("vault", "set-policy", "--name", "default", "--object-id", principal["objectId"], "--key-permissions", "all")
    credential = ClientSecretCredential(principal["tenantId"], principal["clientId"], principal["clientSecret"],
                                        authority=server.authority, disable_instance_discovery=True, connection_verify=server.ca_file)
    return KeyClient(server.vault_url(), credential, connection_verify=server.ca_file), principal


@pytest.fixture(scope="module")
def plain(hsm):
    server = start(hsm, "plain")
    yield server, key_client(server)[0]
    server.cleanup()


@pytest.fixture(scope="module")
def core(hsm):
    server = start(hsm, "core")
    client, principal = key_client(server)
    yield server, client, principal
    server.cleanup()


def crypto(client, key):
    return client.get_cryptography_client(key.name, key_version=key.properties.version)


def public_key(jwk):
    if jwk.kty in ("RSA", "RSA-HSM"):
        return rsa.RSAPublicNumbers(int.from_bytes(jwk.e, "big"), int.from_bytes(jwk.n, "big")).public_key()
    curve = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}[jwk.crv]
    return ec.EllipticCurvePublicNumbers(int.from_bytes(jwk.x, "big"), int.from_bytes(jwk.y, "big"), curve).public_key()


def label(key):
    return f"coffre:default/{key.name}/{key.properties.version}"


def verify_signature(key, algorithm, message, signature):
    """Checks a Key Vault signature (JOSE r‖s for ECDSA) with python cryptography; raises when it does not verify."""
    public = public_key(key.key)
    hash_algorithm = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}[algorithm[-3:]]
    if algorithm.startswith("ES"):
        half = len(signature) // 2
        der = utils.encode_dss_signature(int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big"))
        public.verify(der, message, ec.ECDSA(hash_algorithm))
    elif algorithm.startswith("PS"):
        public.verify(signature, message, padding.PSS(padding.MGF1(hash_algorithm), hash_algorithm.digest_size), hash_algorithm)
    else:
        public.verify(signature, message, padding.PKCS1v15(), hash_algorithm)


def sign_and_check(client, key, algorithm):
    message = os.urandom(64)
    digest = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}[algorithm[-3:]](message).digest()
    result = crypto(client, key).sign(SignatureAlgorithm(algorithm), digest)
    verify_signature(key, algorithm, message, result.signature)


# -- Start-up ------------------------------------------------------------------------------------------------------

def test_coffre_refuses_to_start_without_its_token_or_with_a_wrong_pin(hsm, tmp_path):
    wrong_pin = tmp_path / "wrong-pin"
    wrong_pin.write_text("wrong-pin-7319\n")
    cases = [
        (hsm.serve_args("missing"), "No PKCS#11 token labelled 'missing' is present"),
        (hsm.serve_args("plain", pin_file=str(wrong_pin)), "The PKCS#11 token refused the PIN"),
        (hsm.serve_args("plain", pin_file=str(tmp_path / "absent")), "PIN file cannot be used"),
        (["--pkcs11-module", hsm.module], "needs all three"),
    ]
    for arguments, message in cases:
        server = Coffre(extra_args=arguments, env=hsm.env)
        try:
            with pytest.raises(RuntimeError) as refused:
                server.start(timeout=30)
            assert message in str(refused.value)
            assert server.process.returncode != 0
            assert "wrong-pin-7319" not in server.read_log() and SoftHSM.PIN not in server.read_log()
        finally:
            server.cleanup()


def test_the_pin_is_kept_in_no_file_of_the_data_directory(core):
    server, _, _ = core
    for root, _, files in os.walk(server.data):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                assert SoftHSM.PIN.encode() not in f.read(), name
    settings = json.load(open(os.path.join(server.data, "coffre.json")))
    assert settings["pkcs11TokenLabel"] == "core"


# -- Keys in the token ---------------------------------------------------------------------------------------------

def test_hsm_keys_are_sensitive_token_objects_and_software_keys_are_not(hsm, plain, name):
    server, client = plain
    rsa_key = client.create_rsa_key(name + "-rsa", hardware_protected=True, size=3072)
    ec_key = client.create_ec_key(name + "-ec", hardware_protected=True, curve="P-384")
    software = client.create_rsa_key(name + "-soft")
    assert rsa_key.key_type == "RSA-HSM" and len(rsa_key.key.n) == 384 and ec_key.key_type == "EC-HSM"
    objects = hsm.private_keys("plain")
    assert label(software) not in objects
    for key, kind in ((rsa_key, "RSA"), (ec_key, "EC")):
        listed = objects[label(key)]
        assert listed["type"].startswith(kind)
        # Sensitive (its value never leaves in the clear) and, in a token without a trusted backup key, never extractable.
        assert listed["Access"].split(", ")[:3] == ["sensitive", "always sensitive", "never extractable"], listed


def test_only_exportable_keys_are_extractable_and_then_only_wrapped(hsm, plain, name):
    _, client = plain
    policy = KeyReleasePolicy(json.dumps({"version": "1.0.0", "anyOf": [
        {"authority": "https://attestation.example", "allOf": [{"claim": "x-ms-attestation-type", "equals": "sevsnpvm"}]}]}).encode())
    exportable = client.create_rsa_key(name, hardware_protected=True, exportable=True, release_policy=policy)
    listed = hsm.private_keys("plain")[label(exportable)]
    # Extractable for key release, which wraps it inside the module; still sensitive: never in the clear.
    assert listed["Access"].split(", ")[:2] == ["sensitive", "always sensitive"], listed
    assert "never extractable" not in listed["Access"] and "extractable" in listed["Access"], listed


@pytest.mark.parametrize("algorithm", ["RS256", "RS384", "PS256", "PS512"])
def test_rsa_signatures_from_the_module_verify_in_python(plain, name, algorithm):
    _, client = plain
    sign_and_check(client, client.create_rsa_key(name, hardware_protected=True), algorithm)


@pytest.mark.parametrize("curve,algorithm", [("P-256", "ES256"), ("P-384", "ES384"), ("P-521", "ES512")])
def test_ec_signatures_from_the_module_verify_in_python(plain, name, curve, algorithm):
    _, client = plain
    sign_and_check(client, client.create_ec_key(name, hardware_protected=True, curve=curve), algorithm)


def test_decrypt_and_unwrap_run_in_the_module(plain, name):
    _, client = plain
    key = client.create_rsa_key(name, hardware_protected=True)
    public = public_key(key.key)
    cryptography_client = crypto(client, key)
    secret = os.urandom(32)
    cases = [
        (EncryptionAlgorithm.rsa_oaep, padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None)),
        (EncryptionAlgorithm.rsa_oaep_256, padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)),
        (EncryptionAlgorithm.rsa1_5, padding.PKCS1v15()),
    ]
    for algorithm, scheme in cases:
        ciphertext = public.encrypt(secret, scheme)
        assert cryptography_client.decrypt(algorithm, ciphertext).plaintext == secret
        assert cryptography_client.unwrap_key(KeyWrapAlgorithm(algorithm.value), ciphertext).key == secret
    # A ciphertext that does not decrypt is a clear 400.
    with pytest.raises(HttpResponseError) as refused:
        cryptography_client.decrypt(EncryptionAlgorithm.rsa_oaep, os.urandom(256))
    assert refused.value.status_code == 400


def test_rotation_and_deletion_keep_the_objects_and_purge_destroys_them(hsm, plain, name):
    _, client = plain
    first = client.create_ec_key(name, hardware_protected=True)
    second = client.rotate_key(name)
    assert second.key_type == "EC-HSM"
    objects = hsm.private_keys("plain")
    assert label(first) in objects and label(second) in objects
    client.begin_delete_key(name).wait()
    client.begin_recover_deleted_key(name).wait()
    sign_and_check(client, client.get_key(name), "ES256")
    client.begin_delete_key(name).wait()
    client.purge_deleted_key(name)
    objects = hsm.private_keys("plain")
    assert label(first) not in objects and label(second) not in objects


def test_a_key_whose_object_is_removed_fails_and_software_keys_keep_working(hsm, plain, name):
    _, client = plain
    hardware = client.create_ec_key(name + "-hw", hardware_protected=True)
    software = client.create_ec_key(name + "-sw")
    sign_and_check(client, hardware, "ES256")
    hsm.tool("plain", "--delete-object", "--type", "privkey", "--id", hsm.private_keys("plain")[label(hardware)]["ID"])
    with pytest.raises(HttpResponseError) as failed:
        crypto(client, hardware).sign(SignatureAlgorithm.es256, hashlib.sha256(b"m").digest())
    assert failed.value.status_code == 409 and "not in the PKCS#11 token" in failed.value.message
    sign_and_check(client, software, "ES256")
    # Reading and verifying need only the public part, kept by Coffre.
    assert client.get_key(hardware.name).key.x == hardware.key.x


@pytest.mark.parametrize("size", [128, 256])
def test_oct_hsm_keys_are_an_aes_object_and_its_hmac_twin_in_the_token(hsm, plain, name, size):
    """An oct-HSM key in the token: a CKK_AES object and a CKK_GENERIC_SECRET of the same value for HMAC, both sensitive
    and not extractable; AES-GCM, AES-CBC and key wrap run in the module."""
    _, client = plain
    key = client.create_oct_key(name, size=size, hardware_protected=True)
    assert key.key_type == "oct-HSM"
    objects = [listed for listed in hsm.objects("plain", "secrkey") if listed.get("label") == label(key)]
    # Both are unwrapped from one value generated in the module, so PKCS#11 marks them neither local nor "never
    # extractable"; what matters holds: sensitive, and not extractable.
    assert sorted(listed["type"].split(" length")[0] for listed in objects) == ["AES", "Generic secret"], objects
    for listed in objects:
        access = listed["Access"].split(", ")
        assert "sensitive" in access and "extractable" not in access, listed
    client_crypto = crypto(client, key)
    sealed = client_crypto.encrypt(f"A{size}GCM", b"gcm plaintext", additional_authenticated_data=b"context")
    assert client_crypto.decrypt(f"A{size}GCM", sealed.ciphertext, iv=sealed.iv, authentication_tag=sealed.tag,
                                 additional_authenticated_data=b"context").plaintext == b"gcm plaintext"
    with pytest.raises(HttpResponseError) as refused:
        client_crypto.decrypt(f"A{size}GCM", sealed.ciphertext, iv=sealed.iv, authentication_tag=sealed.tag,
                              additional_authenticated_data=b"other")
    assert refused.value.status_code == 400
    iv = os.urandom(16)
    padded = client_crypto.encrypt(f"A{size}CBCPAD", b"needs padding", iv=iv)
    assert client_crypto.decrypt(f"A{size}CBCPAD", padded.ciphertext, iv=iv).plaintext == b"needs padding"
    data_key = os.urandom(32)
    assert client_crypto.unwrap_key(f"A{size}KW", client_crypto.wrap_key(f"A{size}KW", data_key).encrypted_key).key == data_key


def test_an_imported_oct_hsm_key_gives_what_python_computes(hsm, plain, name):
    """AES and HMAC results of a key imported into the token, against python cryptography and hmac; HMACs SoftHSM2 does
    not compute (a key shorter than the hash) are a clear 400."""
    _, client = plain
    secret = os.urandom(32)
    key = client.import_key(name, JsonWebKey(kty="oct-HSM", k=secret, key_ops=["encrypt", "decrypt", "wrapKey", "unwrapKey", "sign",
                                                                                "verify"]), hardware_protected=True)
    assert len([listed for listed in hsm.objects("plain", "secrkey") if listed.get("label") == label(key)]) == 2
    client_crypto = crypto(client, key)
    data_key = os.urandom(24)
    assert client_crypto.wrap_key("A256KW", data_key).encrypted_key == aes_key_wrap(secret, data_key)
    assert client_crypto.unwrap_key("CKM_AES_KEY_WRAP_PAD", aes_key_wrap_with_padding(secret, b"odd length")).key == b"odd length"
    check_aes_gcm_with_python(client_crypto, secret)
    iv = os.urandom(16)
    block = client_crypto.encrypt("A256CBC", b"exactly 16 bytes", iv=iv)
    assert block.ciphertext == Cipher(algorithms.AES(secret), modes.CBC(iv)).encryptor().update(b"exactly 16 bytes")
    mac = client_crypto.sign(SignatureAlgorithm.hs256, b"mac me").signature
    assert mac == hmac.new(secret, b"mac me", hashlib.sha256).digest()
    assert client_crypto.verify(SignatureAlgorithm.hs256, b"mac me", mac).is_valid
    with pytest.raises(HttpResponseError) as refused:
        client_crypto.sign(SignatureAlgorithm.hs512, b"mac me")
    assert refused.value.status_code == 400 and "PKCS#11 module does not compute HS512" in refused.value.message


def test_a_pools_keys_and_attestation_key_live_in_the_token(hsm, plain, name):
    """A Managed HSM pool on a Coffre with a module, through the SDK: its oct key (AES and HMAC) and RSA key are token
    objects that answer as a pool's keys do, and key attestation is signed by the pool's attestation key in the token,
    verifying against Coffre's CA."""
    server, _ = plain
    principal = server.cli_json("principal", "create", "--name", "pool-admin")
    pool = f"p{name[1:9]}"
    server.cli("hsm", "create", "--name", pool, "--administrator", principal["objectId"], "--activated")
    url = server.env("--hsm", pool)["AZURE_MANAGEDHSM_URL"]
    credential = ClientSecretCredential(principal["tenantId"], principal["clientId"], principal["clientSecret"],
                                        authority=server.authority, disable_instance_discovery=True, connection_verify=server.ca_file)
    access = KeyVaultAccessControlClient(url, credential, connection_verify=server.ca_file)
    access.create_role_assignment(KeyVaultRoleScope.GLOBAL, "21dbd100-6940-42c2-9190-5d6cb909625b", principal["objectId"])
    keys = KeyClient(url, credential, connection_verify=server.ca_file, api_version="7.6")

    secret = os.urandom(32)
    aes = keys.import_key("aes", JsonWebKey(kty="oct-HSM", k=secret, key_ops=["encrypt", "decrypt", "sign", "verify"]))
    assert sorted(listed["type"] for listed in hsm.objects("plain", "secrkey")
                  if listed.get("label") == f"coffre:{pool}/aes/{aes.properties.version}") == ["AES length 32", "Generic secret length 32"]
    aes_crypto = CryptographyClient(aes, credential, connection_verify=server.ca_file, api_version="7.6")
    check_aes_gcm_with_python(aes_crypto, secret)
    assert aes_crypto.sign(SignatureAlgorithm.hs256, b"mac me").signature == hmac.new(secret, b"mac me", hashlib.sha256).digest()

    signer = keys.create_rsa_key("signer", size=2048)
    assert f"coffre:{pool}/signer/{signer.properties.version}" in hsm.private_keys("plain")
    attestation = keys.get_key_attestation("signer").properties.attestation
    assert f"coffre-attestation:{pool}" in hsm.private_keys("plain")
    certificate = x509.load_pem_x509_certificates(attestation.certificate_pem_file)[0]
    certificate.verify_directly_issued_by(x509.load_pem_x509_certificate(open(server.ca_file, "rb").read()))
    header, payload, signature = attestation.private_key_attestation.decode().split(".")
    certificate.public_key().verify(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)), f"{header}.{payload}".encode(),
                                    padding.PKCS1v15(), hashes.SHA256())


# -- Bring your own key ----------------------------------------------------------------------------------------------

def byok_file(private_key, kek, kid):
    """A `.byok` transfer blob written from the specification (CKM_RSA_AES_KEY_WRAP): a fresh AES-256 key wrapped by the
    key-exchange key with RSA-OAEP (SHA-1), then the private key's PKCS#8 wrapped by it (AES key wrap with padding)."""
    transfer_key = os.urandom(32)
    wrapped_transfer_key = public_key(kek).encrypt(transfer_key, padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None))
    pkcs8 = private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    ciphertext = wrapped_transfer_key + aes_key_wrap_with_padding(transfer_key, pkcs8)
    return json.dumps({
        "schema_version": "1.0.0",
        "header": {"kid": kid, "alg": "dir", "enc": "CKM_RSA_AES_KEY_WRAP"},
        "ciphertext": base64.urlsafe_b64encode(ciphertext).decode().rstrip("="),
        "generator": "coffre compatibility suite",
    }).encode()


@pytest.fixture
def kek(core, name):
    _, client, _ = core
    return client.create_rsa_key(name + "-kek", hardware_protected=True, size=4096, key_operations=["import"])


def test_a_key_exchange_key_only_imports(core, kek):
    _, client, _ = core
    assert kek.key_type == "RSA-HSM" and kek.key_operations == ["import"]
    with pytest.raises(HttpResponseError) as refused:
        crypto(client, kek).sign(SignatureAlgorithm.rs256, hashlib.sha256(b"m").digest())
    assert refused.value.status_code == 403


@pytest.mark.parametrize("kind", ["RSA", "EC"])
def test_byok_imports_unwrap_in_the_module_and_the_key_works(hsm, core, kek, name, kind):
    _, client, _ = core
    if kind == "RSA":
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        # The SDK's JsonWebKey(t=…) sends the blob as key_hsm.
        jwk = JsonWebKey(kty="RSA-HSM", t=byok_file(private_key, kek.key, kek.id))
        algorithm = "RS256"
    else:
        private_key = ec.generate_private_key(ec.SECP256R1())
        # With crv: the wrapped key must be on that curve.
        jwk = JsonWebKey(kty="EC-HSM", crv="P-256", t=byok_file(private_key, kek.key, kek.id))
        algorithm = "ES256"
    imported = client.import_key(name, jwk, hardware_protected=True)
    assert imported.key_type == kind + "-HSM"
    assert public_key(imported.key).public_numbers() == private_key.public_key().public_numbers()
    assert label(imported) in hsm.private_keys("core")
    message = os.urandom(32)
    signature = crypto(client, imported).sign(SignatureAlgorithm(algorithm), hashlib.sha256(message).digest()).signature
    verify_signature(imported, algorithm, message, signature)


def test_byok_import_over_rest_as_any_client_sends_it(hsm, core, kek, name):
    """PUT /keys/{name} (import) with the blob in `key_hsm` (base64url), as the REST reference and other SDKs send it."""
    server, _, principal = core
    url = f"{server.vault_url()}/keys/{name}?api-version=7.4"
    challenge = requests.put(url, json={}, verify=server.ca_file)
    resource = challenge.headers["WWW-Authenticate"].split('resource="')[1].split('"')[0]
    credential = ClientSecretCredential(principal["tenantId"], principal["clientId"], principal["clientSecret"],
                                        authority=server.authority, disable_instance_discovery=True, connection_verify=server.ca_file)
    headers = {"Authorization": "Bearer " + credential.get_token(resource + "/.default").token}
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    blob = base64.urlsafe_b64encode(byok_file(private_key, kek.key, kek.id)).decode().rstrip("=")
    imported = requests.put(url, json={"key": {"kty": "RSA-HSM", "key_hsm": blob, "key_ops": ["sign", "verify"]}, "hsm": True},
                            headers=headers, verify=server.ca_file)
    assert imported.status_code == 200, imported.text
    key = imported.json()["key"]
    assert key["kty"] == "RSA-HSM" and key["key_ops"] == ["sign", "verify"]
    n = int.from_bytes(base64.urlsafe_b64decode(key["n"] + "=" * (-len(key["n"]) % 4)), "big")
    assert n == private_key.public_key().public_numbers().n
    assert f"coffre:default/{name}/{key['kid'].rsplit('/', 1)[1]}" in hsm.private_keys("core")
    # The same blob under a KEK of another vault's name space: a clear 400, nothing created.
    refused = requests.put(f"{server.vault_url()}/keys/{name}-again?api-version=7.4",
                           json={"key": {"kty": "EC-HSM", "key_hsm": blob}}, headers=headers, verify=server.ca_file)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "BadParameter", refused.text


def test_byok_blobs_that_cannot_be_imported_are_a_clear_400_and_create_nothing(hsm, core, kek, name):
    _, client, _ = core
    private_key = ec.generate_private_key(ec.SECP256R1())
    other = client.create_rsa_key(name + "-other", hardware_protected=True, key_operations=["import"])
    signer = client.create_rsa_key(name + "-signer", hardware_protected=True)
    good = json.loads(byok_file(private_key, kek.key, kek.id))
    altered = dict(good, ciphertext=good["ciphertext"][:-12] + ("A" if good["ciphertext"][-12] != "A" else "B") + good["ciphertext"][-11:])
    cases = {
        "wrong key-exchange key": byok_file(private_key, other.key, kek.id),
        "key without import": byok_file(private_key, signer.key, signer.id),
        "tampered": json.dumps(altered).encode(),
        "not a blob": b"not json",
        "curve other than the key's": None,
    }
    before = set(hsm.private_keys("core"))
    for reason, blob in cases.items():
        jwk = JsonWebKey(kty="EC-HSM", crv="P-384", t=byok_file(private_key, kek.key, kek.id)) if blob is None \
            else JsonWebKey(kty="EC-HSM", t=blob)
        with pytest.raises(HttpResponseError) as refused:
            client.import_key(name, jwk, hardware_protected=True)
        assert refused.value.status_code == 400, reason
        assert refused.value.error.code == "BadParameter", reason
    assert set(hsm.private_keys("core")) == before
    with pytest.raises(HttpResponseError) as missing:
        client.get_key(name)
    assert missing.value.status_code == 404


@pytest.mark.skipif(not os.path.exists(AZ), reason="the Azure CLI is not installed in .venv-az (scripts/test installs it)")
def test_byok_import_through_the_azure_cli(hsm, core, name, tmp_path):
    """`az keyvault key create --kty RSA-HSM --ops import`, then `az keyvault key import --byok-file` of a file written
    from the specification, as Azure's BYOK walk-through does it."""
    server, client, principal = core
    az = AzureCli(server, tmp_path)
    az.register_cloud()
    az.run("login", "--service-principal", "-u", principal["clientId"], "-p", principal["clientSecret"], "--tenant",
           principal["tenantId"], "--skip-subscription-discovery")
    made = az.json("keyvault", "key", "create", "--vault-name", "default", "--name", name + "-kek", "--kty", "RSA-HSM",
                   "--size", "4096", "--ops", "import")
    assert made["key"]["kty"] == "RSA-HSM" and made["key"]["keyOps"] == ["import"]
    kek = client.get_key(name + "-kek")
    for kind, private_key, extra in (("RSA", rsa.generate_private_key(public_exponent=65537, key_size=3072), []),
                                     ("EC", ec.generate_private_key(ec.SECP384R1()), ["--kty", "EC", "--curve", "P-384"])):
        byok = tmp_path / f"{kind}.byok"
        byok.write_bytes(byok_file(private_key, kek.key, kek.id))
        imported = az.json("keyvault", "key", "import", "--vault-name", "default", "--name", f"{name}-{kind.lower()}",
                           "--byok-file", str(byok), *extra)
        assert imported["key"]["kty"] == kind + "-HSM", imported
        key = client.get_key(f"{name}-{kind.lower()}")
        assert public_key(key.key).public_numbers() == private_key.public_key().public_numbers()
        assert label(key) in hsm.private_keys("core")
        sign_and_check(client, key, "RS256" if kind == "RSA" else "ES384")
    # A file made for a key that is no key-exchange key: the CLI shows Coffre's 400.
    signer = client.get_key(name + "-rsa")
    byok = tmp_path / "wrong.byok"
    byok.write_bytes(byok_file(ec.generate_private_key(ec.SECP256R1()), signer.key, signer.id))
    refused = az.run("keyvault", "key", "import", "--vault-name", "default", "--name", name + "-wrong", "--byok-file", str(byok),
                     "--kty", "EC", "--curve", "P-256", check=False)
    assert refused.returncode != 0 and "BadParameter" in refused.stderr, refused.stderr


# -- Secure key release ----------------------------------------------------------------------------------------------

def der_value(data):
    """The DER value at the start of `data`: SoftHSM2 pads the PKCS#8 it wraps to a multiple of 8 bytes."""
    length, offset = data[1], 2
    if length & 0x80:
        offset = 2 + (length & 0x7F)
        length = int.from_bytes(data[2:offset], "big")
    return data[:offset + length]


@pytest.mark.parametrize("kind", ["RSA", "EC"])
def test_an_exportable_hardware_key_is_released_wrapped_inside_the_module(hsm, plain, authority, name, kind):  # noqa: F811
    """Secure key release through the SDK of an exportable key in the token: the module wraps it (an AES key of its own,
    wrapped to the runtime key) and the attested runtime unwraps it; the object stays in the token, still sensitive."""
    _, client = plain
    url, signer = authority
    if kind == "RSA":
        key = client.create_rsa_key(name, hardware_protected=True, size=3072, exportable=True, release_policy=release_policy(url))
    else:
        key = client.create_ec_key(name, hardware_protected=True, curve="P-256", exportable=True, release_policy=release_policy(url))
    assert label(key) in hsm.private_keys("plain")
    runtime = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    result = client.release_key(name, attestation_token(url, signer, runtime), nonce="hsm")
    payload = result.value.split(".")[1]
    released = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["response"]["key"]["key"]
    assert "d" not in released
    wrapped = base64.urlsafe_b64decode(released["key_hsm"] + "=" * (-len(released["key_hsm"]) % 4))
    transient = runtime.decrypt(wrapped[:256], padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None))
    pkcs8 = der_value(aes_key_unwrap_with_padding(transient, wrapped[256:]))
    private = serialization.load_der_private_key(pkcs8, None)
    assert private.public_key().public_numbers() == public_key(key.key).public_numbers()
    listed = hsm.private_keys("plain")[label(key)]
    assert listed["Access"].split(", ")[:2] == ["sensitive", "always sensitive"], listed


# -- Backup and restore ---------------------------------------------------------------------------------------------

def copy_of(server, token, hsm):
    """Another Coffre made from a whole-server backup of `server` (so it opens the same object backups), on `token`."""
    directory = tempfile.mkdtemp(prefix="coffre-hsm-copy-")
    backup = os.path.join(directory, "server.backup")
    server.cli("backup", "create", backup)
    data = os.path.join(directory, "data")
    os.makedirs(data)
    shutil.copy(os.path.join(server.data, "root.key"), os.path.join(data, "root.key"))
    os.chmod(os.path.join(data, "root.key"), 0o600)
    Coffre(data=data, env=hsm.env).cli("backup", "restore", backup)
    copy = start(hsm, token, data=data)
    copy.owns_data = True
    return copy, directory


def test_backups_restore_in_the_same_token_and_a_token_sharing_the_backup_key_only(hsm, core, name):
    server, client, principal = core
    sister, sister_directory = copy_of(server, "sister", hsm)
    stranger, stranger_directory = copy_of(server, "stranger", hsm)
    try:
        rsa_key = client.create_rsa_key(name, hardware_protected=True)
        client.rotate_key(name)
        blob = client.backup_key(name)
        assert SHARED_BACKUP_KEY not in blob
        client.begin_delete_key(name).wait()
        client.purge_deleted_key(name)

        # The same token: new objects, the same keys.
        restored = client.restore_key_backup(blob)
        assert client.get_key(name, rsa_key.properties.version).key.n == rsa_key.key.n
        sign_and_check(client, client.get_key(name, rsa_key.properties.version), "RS256")
        assert label(restored) in hsm.private_keys("core")

        # A token holding the same backup key.
        sister_client, _ = key_client(sister, principal)
        moved = sister_client.restore_key_backup(blob)
        sign_and_check(sister_client, sister_client.get_key(name, rsa_key.properties.version), "PS256")
        assert label(moved) in hsm.private_keys("sister")

        # Anywhere else, refused clearly; nothing is created.
        stranger_client, _ = key_client(stranger, principal)
        with pytest.raises(HttpResponseError) as refused:
            stranger_client.restore_key_backup(blob)
        assert refused.value.status_code == 400
        assert "keys do not leave the HSM boundary" in refused.value.message
        assert not [object_label for object_label in hsm.private_keys("stranger") if f"/{name}/" in object_label]
    finally:
        for copy, directory in ((sister, sister_directory), (stranger, stranger_directory)):
            copy.cleanup()
            shutil.rmtree(directory, ignore_errors=True)
