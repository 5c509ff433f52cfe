"""The Certificates API through the official CertificateClient; certificates and PFX files checked by python cryptography."""
import base64
import datetime

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.keyvault.certificates import (AdministratorContact, CertificateClient, CertificateContact, CertificatePolicy,
                                         CertificatePolicyAction, KeyUsageType, LifetimeAction, PlatformManaged,
                                         WellKnownIssuerNames)
from azure.keyvault.keys import KeyClient
from azure.keyvault.keys.crypto import CryptographyClient, SignatureAlgorithm
from azure.keyvault.secrets import SecretClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@pytest.fixture
def client(coffre, credential):
    return CertificateClient(coffre.vault_url(), credential)


def self_signed_policy(**overrides):
    arguments = dict(issuer_name=WellKnownIssuerNames.self, subject="CN=coffre.example", san_dns_names=["coffre.example", "www.coffre.example"],
                     validity_in_months=12, exportable=True, key_type="RSA", key_size=2048, reuse_key=False,
                     content_type="application/x-pkcs12")
    arguments.update(overrides)
    return CertificatePolicy(**arguments)


def test_versions_of_a_name_that_never_existed_are_an_empty_list(client, name):
    # As the service answers: 200 with an empty page, not CertificateNotFound.
    assert list(client.list_properties_of_certificate_versions(name)) == []


def test_platform_managed_policy_is_kept_and_issued_by_coffres_own_ca(coffre, client, name):
    # api-version 2026-04-01: the policy names no subject; Coffre's CA (the one of its TLS certificate) issues it.
    metadata = {"Region": "west", "camelCase": {"snake_name": [1, 2]}}
    policy = CertificatePolicy(platform_managed=PlatformManaged(certificate_usage="ServerAuthentication", metadata=metadata))
    certificate = client.begin_create_certificate(name, policy).result()
    read = client.get_certificate_policy(name).platform_managed
    assert read.certificate_usage == "ServerAuthentication" and dict(read.metadata) == metadata
    issued = x509.load_der_x509_certificate(bytes(certificate.cer))
    with open(coffre.ca_file, "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    assert issued.issuer == ca.subject
    ca.public_key().verify(issued.signature, issued.tbs_certificate_bytes, ec.ECDSA(issued.signature_hash_algorithm))
    assert issued.subject.rfc4514_string() == f"CN={name}"


def test_create_self_signed_and_the_addressable_key_and_secret(coffre, credential, client, name):
    policy = self_signed_policy(key_usage=[KeyUsageType.digital_signature, KeyUsageType.key_encipherment],
                                enhanced_key_usage=["1.3.6.1.5.5.7.3.1"])
    certificate = client.begin_create_certificate(name, policy, tags={"env": "test"}).result()
    assert certificate.name == name and certificate.properties.tags == {"env": "test"}
    parsed = x509.load_der_x509_certificate(bytes(certificate.cer))
    assert parsed.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "coffre.example"
    sans = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert set(sans) == {"coffre.example", "www.coffre.example"}
    assert ExtendedKeyUsageOID.SERVER_AUTH in parsed.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert certificate.properties.x509_thumbprint == parsed.fingerprint(hashes.SHA1())
    assert certificate.properties.expires_on == parsed.not_valid_after_utc.replace(microsecond=0)
    version = certificate.properties.version
    assert certificate.key_id == f"{client.vault_url}/keys/{name}/{version}"
    assert certificate.secret_id == f"{client.vault_url}/secrets/{name}/{version}"

    key = KeyClient(coffre.vault_url(), credential).get_key(name, version)
    assert key.properties.managed is True
    assert set(key.key_operations) == {"sign", "verify", "wrapKey", "unwrapKey"}
    assert key.key.n == parsed.public_key().public_numbers().n.to_bytes(256, "big")
    digest = hashes.Hash(hashes.SHA256())
    digest.update(b"signed by the certificate key")
    digest = digest.finalize()
    signature = CryptographyClient(key, credential).sign(SignatureAlgorithm.rs256, digest).signature
    parsed.public_key().verify(signature, digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))

    secret = SecretClient(coffre.vault_url(), credential).get_secret(name, version)
    assert secret.properties.managed is True and secret.properties.content_type == "application/x-pkcs12"
    assert secret.properties.key_id == certificate.key_id
    private_key, leaf, _ = pkcs12.load_key_and_certificates(base64.b64decode(secret.value), None)
    assert leaf == parsed and private_key.public_key().public_numbers() == parsed.public_key().public_numbers()


def test_ec_pem_and_non_exportable(coffre, credential, client, name):
    policy = self_signed_policy(key_type="EC", key_size=None, key_curve_name="P-384", content_type="application/x-pem-file",
                                exportable=False)
    certificate = client.begin_create_certificate(name, policy).result()
    parsed = x509.load_der_x509_certificate(bytes(certificate.cer))
    assert isinstance(parsed.public_key(), ec.EllipticCurvePublicKey) and parsed.public_key().curve.name == "secp384r1"
    secret = SecretClient(coffre.vault_url(), credential).get_secret(name)
    assert "BEGIN CERTIFICATE" in secret.value and "PRIVATE KEY" not in secret.value
    key = KeyClient(coffre.vault_url(), credential).get_key(name)
    assert key.key_operations == ["sign", "verify"]


def test_exportable_secret_converts_between_pfx_and_pem(coffre, credential, client, name):
    certificate = client.begin_create_certificate(name, self_signed_policy()).result()
    token = credential.get_token(f"https://vault.localhost:{coffre.port}/.default").token
    import requests
    response = requests.get(f"{coffre.vault_url()}/secrets/{name}/{certificate.properties.version}",
                            params={"api-version": "2025-07-01", "outContentType": "application/x-pem-file"},
                            headers={"Authorization": f"Bearer {token}"}, verify=coffre.ca_file)
    assert response.status_code == 200
    body = response.json()
    assert body["contentType"] == "application/x-pem-file"
    key = serialization.load_pem_private_key(body["value"].encode(), None)
    assert key.public_key().public_numbers() == x509.load_der_x509_certificate(bytes(certificate.cer)).public_key().public_numbers()


def test_unknown_issuer_pending_csr_then_merge(coffre, credential, client, name):
    policy = CertificatePolicy(issuer_name=WellKnownIssuerNames.unknown, subject="CN=merged.example", san_dns_names=["merged.example"],
                               validity_in_months=6)
    operation = client.begin_create_certificate(name, policy).result()
    assert operation.status == "inProgress" and operation.csr
    with pytest.raises(ResourceExistsError):
        client.begin_create_certificate(name, policy)
    assert name in {c.name for c in client.list_properties_of_certificates(include_pending=True)}
    csr = x509.load_der_x509_csr(bytes(operation.csr))
    assert csr.is_signature_valid

    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "External CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=365))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca_name).public_key(csr.public_key())
            .serial_number(2).not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=90))
            .sign(ca_key, hashes.SHA256()))
    # A chain whose leaf is not the pending key is refused.
    stranger = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(rsa.generate_private_key(65537, 2048).public_key())
                .serial_number(3).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1)).sign(ca_key, hashes.SHA256()))
    with pytest.raises(HttpResponseError) as error:
        client.merge_certificate(name, [stranger.public_bytes(serialization.Encoding.DER)])
    assert error.value.status_code == 400
    merged = client.merge_certificate(name, [leaf.public_bytes(serialization.Encoding.DER), ca.public_bytes(serialization.Encoding.DER)])
    assert x509.load_der_x509_certificate(bytes(merged.cer)) == leaf
    assert client.get_certificate_operation(name).status == "completed"
    _, parsed_leaf, chain = pkcs12.load_key_and_certificates(
        base64.b64decode(SecretClient(coffre.vault_url(), credential).get_secret(name).value), None)
    assert parsed_leaf == leaf and chain == [ca]


def test_cancel_and_delete_pending_operation(client, name):
    policy = CertificatePolicy(issuer_name=WellKnownIssuerNames.unknown, subject="CN=cancel.example")
    client.begin_create_certificate(name, policy).result()
    cancelled = client.cancel_certificate_operation(name)
    assert cancelled.status == "cancelled" and cancelled.cancellation_requested
    with pytest.raises(HttpResponseError) as error:
        client.cancel_certificate_operation(name)
    assert error.value.status_code == 400
    client.delete_certificate_operation(name)
    with pytest.raises(ResourceNotFoundError) as error:
        client.get_certificate_operation(name)
    assert error.value.error.code == "PendingCertificateNotFound"


@pytest.mark.parametrize("fixture,password", [("modern.pfx", "modern-pass"), ("legacy.pfx", "legacy-pass"),
                                              ("legacy-3des.pfx", "triple-des"), ("no-encryption.pfx", None)])
def test_import_pfx_including_legacy_encryptions(client, name, fixture, password):
    import os
    path = os.path.join(os.path.dirname(__file__), "..", "CoffreCertificatesTests", "Fixtures", fixture)
    with open(path, "rb") as f:
        data = f.read()
    certificate = client.import_certificate(name, data, password=password)
    key, leaf, _ = pkcs12.load_key_and_certificates(data, password.encode() if password else None)
    assert x509.load_der_x509_certificate(bytes(certificate.cer)) == leaf
    assert certificate.policy.exportable is True
    if password:
        with pytest.raises(HttpResponseError) as error:
            client.import_certificate(name + "x", data, password="wrong")
        assert error.value.status_code == 400 and "password" in error.value.message


def test_import_pem_and_malformed(coffre, credential, client, name):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pem.example")])
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key()).serial_number(5)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()) + \
        leaf.public_bytes(serialization.Encoding.PEM)
    policy = CertificatePolicy(issuer_name="Unknown", content_type="application/x-pem-file")
    imported = client.import_certificate(name, pem, policy=policy)
    assert x509.load_der_x509_certificate(bytes(imported.cer)) == leaf
    assert "PRIVATE KEY" in SecretClient(coffre.vault_url(), credential).get_secret(name).value
    with pytest.raises(HttpResponseError) as error:
        client.import_certificate(name + "bad", b"not a certificate at all")
    assert error.value.status_code == 400


def test_versions_update_policy_delete_recover_purge_backup_restore(coffre, credential, client, name):
    first = client.begin_create_certificate(name, self_signed_policy()).result()
    second = client.begin_create_certificate(name, self_signed_policy()).result()
    assert {v.version for v in client.list_properties_of_certificate_versions(name)} == {first.properties.version, second.properties.version}
    assert client.get_certificate_version(name, first.properties.version).properties.version == first.properties.version
    updated = client.update_certificate_properties(name, enabled=False, tags={"a": "b"})
    assert updated.properties.enabled is False and updated.properties.tags == {"a": "b"}
    with pytest.raises(HttpResponseError):
        SecretClient(coffre.vault_url(), credential).get_secret(name)
    policy = client.update_certificate_policy(name, CertificatePolicy(validity_in_months=24, subject="CN=coffre.example",
                                                                      issuer_name=WellKnownIssuerNames.self))
    assert policy.validity_in_months == 24 and client.get_certificate_policy(name).validity_in_months == 24

    blob = client.backup_certificate(name)
    deleted = client.begin_delete_certificate(name).result()
    assert deleted.recovery_id == f"{client.vault_url}/deletedcertificates/{name}"
    with pytest.raises(ResourceNotFoundError):
        KeyClient(coffre.vault_url(), credential).get_key(name)
    assert name in {c.name for c in client.list_deleted_certificates()}
    client.begin_recover_deleted_certificate(name).wait()
    assert KeyClient(coffre.vault_url(), credential).get_key(name).properties.managed
    client.begin_delete_certificate(name).wait()
    client.purge_deleted_certificate(name)
    with pytest.raises(ResourceNotFoundError):
        client.get_deleted_certificate(name)
    restored = client.restore_certificate_backup(blob)
    assert restored.properties.version == second.properties.version
    assert KeyClient(coffre.vault_url(), credential).get_key(name).properties.version == second.properties.version


def test_managed_key_and_secret_are_managed_through_the_certificate(coffre, credential, client, name):
    client.begin_create_certificate(name, self_signed_policy()).result()
    with pytest.raises(HttpResponseError) as error:
        SecretClient(coffre.vault_url(), credential).set_secret(name, "overwrite")
    assert error.value.status_code == 403
    with pytest.raises(HttpResponseError) as error:
        KeyClient(coffre.vault_url(), credential).begin_delete_key(name)
    assert error.value.status_code == 403


def test_contacts_and_issuers(client, name):
    contacts = [CertificateContact(email="admin@example.com", name="Admin", phone="123")]
    assert client.set_contacts(contacts)[0].email == "admin@example.com"
    assert client.get_contacts()[0].name == "Admin"
    client.delete_contacts()
    with pytest.raises(ResourceNotFoundError) as error:
        client.get_contacts()
    assert error.value.error.code == "ContactsNotFound"

    issuer = client.create_issuer(name, "DigiCert", account_id="acct", password="hidden", organization_id="org",
                                  admin_contacts=[AdministratorContact(first_name="Ada", last_name="L", email="ada@example.com", phone="1")])
    assert issuer.provider == "DigiCert" and issuer.account_id == "acct" and issuer.admin_contacts[0].first_name == "Ada"
    assert issuer.password is None
    assert client.update_issuer(name, enabled=False).enabled is False
    assert name in {i.name for i in client.list_properties_of_issuers()}
    client.delete_issuer(name)
    with pytest.raises(ResourceNotFoundError) as error:
        client.get_issuer(name)
    assert error.value.error.code == "CertificateIssuerNotFound"


def test_coffre_issuer_signs_with_a_ca_held_in_the_vault(coffre, credential, client, name):
    ca_policy = self_signed_policy(subject="CN=Coffre Team CA", san_dns_names=None,
                                   key_usage=[KeyUsageType.key_cert_sign, KeyUsageType.crl_sign, KeyUsageType.digital_signature],
                                   validity_in_months=60)
    ca = client.begin_create_certificate(name + "-ca", ca_policy).result()
    client.create_issuer(name + "-issuer", "Coffre", account_id=name + "-ca")
    leaf_policy = self_signed_policy(issuer_name=name + "-issuer", subject="CN=service.internal", san_dns_names=["service.internal"],
                                     lifetime_actions=[LifetimeAction(CertificatePolicyAction.auto_renew, lifetime_percentage=80)])
    leaf = client.begin_create_certificate(name, leaf_policy).result()
    parsed = x509.load_der_x509_certificate(bytes(leaf.cer))
    ca_cert = x509.load_der_x509_certificate(bytes(ca.cer))
    assert parsed.issuer == ca_cert.subject
    ca_cert.public_key().verify(parsed.signature, parsed.tbs_certificate_bytes, padding.PKCS1v15(), parsed.signature_hash_algorithm)
    _, _, chain = pkcs12.load_key_and_certificates(base64.b64decode(SecretClient(coffre.vault_url(), credential).get_secret(name).value), None)
    assert chain == [ca_cert]


def test_external_provider_fails_cleanly(client, name):
    client.create_issuer(name + "-dc", "DigiCert", account_id="x")
    operation = client.begin_create_certificate(name, self_signed_policy(issuer_name=name + "-dc")).result()
    assert operation.status == "failed" and operation.error.code == "CertificateIssuerError"


def test_bad_policies_are_bad_parameter(client, name):
    for policy in (self_signed_policy(key_size=1024), self_signed_policy(subject="not a subject=="), self_signed_policy(validity_in_months=0),
                   self_signed_policy(key_type="oct")):
        with pytest.raises(HttpResponseError) as error:
            client.begin_create_certificate(name, policy)
        assert error.value.status_code == 400
