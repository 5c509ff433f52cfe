"""The security domain through azure-keyvault-securitydomain, as its live test drives it: download from a new pool with
three certificates (quorum 2), which activates it; the second pool's transfer key; the domain opened with two of the
certificates' private keys and wrapped to that transfer key (client side, with python cryptography: the helpers of
Tests/CoffreCryptoTests/Vectors/security-domain/generate.py, written independently of Coffre); the upload, which
activates the second pool with the same root."""
import base64
import datetime
import hashlib
import importlib.util
import json
import os
import time

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.administration import KeyVaultBackupClient
from azure.keyvault.keys import KeyClient
from azure.keyvault.securitydomain import SecurityDomainClient
from azure.keyvault.securitydomain.models import CertificateInfo, SecurityDomainJsonWebKey
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from conftest import container_uri, grant_key_roles, hsm_env, managed_identity_credential

_spec = importlib.util.spec_from_file_location(
    "security_domain_format",
    os.path.join(os.path.dirname(__file__), "..", "CoffreCryptoTests", "Vectors", "security-domain", "generate.py"))
sd = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sd)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def int_bytes(value):
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


@pytest.fixture(scope="module")
def holders():
    """Three key pairs with self-signed certificates, as `openssl req -x509` would make them."""
    made = []
    for index in range(3):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"compat security domain {index}")])
        now = datetime.datetime.now(datetime.timezone.utc)
        certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                       .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
                       .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
        made.append((key, certificate.public_bytes(serialization.Encoding.DER)))
    return made


def certificate_info(holders):
    """What the SDK's own test builds from certificate{0,1,2}.cer."""
    keys = []
    for key, der in holders:
        numbers = key.public_key().public_numbers()
        keys.append(SecurityDomainJsonWebKey(
            kid=f"holder-{len(keys)}", kty="RSA", key_ops=["verify", "encrypt", "wrapKey"], n=b64url(int_bytes(numbers.n)),
            e=b64url(int_bytes(numbers.e)), x5_c=[base64.b64encode(der).decode()], alg="RSA-OAEP-256",
            x5_t=b64url(hashlib.sha1(der).digest()), x5_t_s256=b64url(hashlib.sha256(der).digest())))
    return CertificateInfo(certificates=keys, required=2)


def restore_blob(domain_text, holders, transfer_jwk):
    """What a client does before an upload: opens the domain with two holders' keys, wraps it to the transfer key."""
    domain = json.loads(domain_text)
    by_thumbprint = {b64url(hashlib.sha256(der).digest()): key for key, der in holders}
    shares = [sd.open_with_key(item["enc_key"], by_thumbprint[item["x5t_256"]])
              for item in domain["SharedKeys"]["enc_shares"] if item["x5t_256"] in by_thumbprint][:domain["SharedKeys"]["required"]]
    items = sd.decrypt_items(domain["EncData"], sd.shamir_combine(shares))
    certificate_der = base64.b64decode(transfer_jwk["x5c"][0])
    transfer = x509.load_der_x509_certificate(certificate_der)
    assert transfer_jwk["x5t#S256"] == b64url(hashlib.sha256(certificate_der).digest())
    stream = sd.Stream(os.urandom(32))
    master = stream.bytes(32)
    kid = b64url(hashlib.sha256(certificate_der).digest())
    blob = {"EncData": sd.encrypt_items(items, master, stream),
            "WrappedKey": {"enc_key": sd.seal_to_key(master, transfer.public_key(), kid, stream), "x5t_256": kid}}
    return {"value": json.dumps(blob)}


def wait_for(status, expected, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        current = status().status
        if current.lower() == expected.lower():
            return
        time.sleep(0.5)
    raise AssertionError(f"still {current}")


def test_download_then_upload_to_a_second_pool_then_restore_a_backup_into_it(coffre, holders):
    first, first_env = hsm_env(coffre, "sd-first", activated=False)
    second, second_env = hsm_env(coffre, "sd-second", activated=False)
    assert first["activation"] == second["activation"] == "NotActivated"
    first_url, second_url = first_env["AZURE_MANAGEDHSM_URL"], second_env["AZURE_MANAGEDHSM_URL"]
    client = SecurityDomainClient(first_url, managed_identity_credential())
    upload_client = SecurityDomainClient(second_url, managed_identity_credential())

    # Keys wait for the activation.
    keys = KeyClient(first_url, managed_identity_credential())
    with pytest.raises(HttpResponseError) as early:
        keys.get_key("nothing")
    assert early.value.status_code == 403

    result = client.begin_download(certificate_info=certificate_info(holders), skip_activation_polling=True).result()
    assert client.get_download_status().status.lower() == "inprogress"
    assert result.value
    wait_for(client.get_download_status, "Success")
    assert coffre.cli_json("hsm", "show", "--name", "sd-first")["activation"] == "Active"
    with pytest.raises(HttpResponseError) as again:
        client.begin_download(certificate_info=certificate_info(holders), skip_activation_polling=True).result()
    assert again.value.status_code == 409

    # A backup of the first pool, which the second one cannot open yet.
    grant_key_roles(first_url, first["administrators"][0])
    key = KeyClient(first_url, managed_identity_credential()).create_rsa_key("travels")
    backup = KeyVaultBackupClient(first_url, managed_identity_credential())
    folder_url = backup.begin_backup(container_uri(first_env), sas_token=first_env["BLOB_STORAGE_SAS_TOKEN"]).result().folder_url
    second_backup = KeyVaultBackupClient(second_url, managed_identity_credential())
    with pytest.raises(HttpResponseError):
        second_backup.begin_restore(folder_url, sas_token=first_env["BLOB_STORAGE_SAS_TOKEN"]).wait()

    transfer_key = json.loads(str(upload_client.get_transfer_key().transfer_key))
    assert transfer_key["alg"] == "RSA-OAEP-256"
    poller = upload_client.begin_upload(security_domain=restore_blob(result.value, holders, transfer_key))
    assert poller.result() is None
    assert upload_client.get_upload_status().status.lower() == "success"
    assert coffre.cli_json("hsm", "show", "--name", "sd-second")["activation"] == "Active"

    # The second pool now holds the first one's root: it restores the first one's backup.
    second_backup.begin_restore(folder_url, sas_token=first_env["BLOB_STORAGE_SAS_TOKEN"]).wait()
    assert KeyClient(second_url, managed_identity_credential()).get_key("travels").key.n == key.key.n


def test_a_domain_wrapped_for_another_pool_is_refused(coffre, holders):
    coffre.cli_json("hsm", "create", "--name", "sd-source")
    coffre.cli_json("hsm", "create", "--name", "sd-target")
    coffre.cli_json("hsm", "create", "--name", "sd-other")
    source = SecurityDomainClient(coffre.hsm_url("sd-source"), managed_identity_credential())
    target = SecurityDomainClient(coffre.hsm_url("sd-target"), managed_identity_credential())
    other = SecurityDomainClient(coffre.hsm_url("sd-other"), managed_identity_credential())
    domain = source.begin_download(certificate_info=certificate_info(holders), skip_activation_polling=True).result().value
    foreign = restore_blob(domain, holders, json.loads(str(other.get_transfer_key().transfer_key)))
    target.get_transfer_key()
    with pytest.raises(HttpResponseError) as refused:
        target.begin_upload(security_domain=foreign).result()
    assert refused.value.status_code == 400 and "another transfer key" in refused.value.message
    assert coffre.cli_json("hsm", "show", "--name", "sd-target")["activation"] == "NotActivated"
