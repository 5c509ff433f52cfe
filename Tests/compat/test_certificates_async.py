"""The Certificates API through the async CertificateClient, with both credentials."""
import base64

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.keyvault.certificates import CertificateContact, CertificatePolicy, WellKnownIssuerNames
from azure.keyvault.certificates.aio import CertificateClient
from azure.keyvault.secrets.aio import SecretClient
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12


@pytest.fixture
async def clients(coffre, async_credential):
    async with async_credential, CertificateClient(coffre.vault_url(), async_credential) as certificates, \
            SecretClient(coffre.vault_url(), async_credential) as secrets:
        yield certificates, secrets


async def test_create_get_secret_delete_recover(clients, name):
    certificates, secrets = clients
    policy = CertificatePolicy(issuer_name=WellKnownIssuerNames.self, subject="CN=async.example", san_dns_names=["async.example"])
    certificate = await certificates.create_certificate(name, policy)
    parsed = x509.load_der_x509_certificate(bytes(certificate.cer))
    assert parsed.subject.rfc4514_string() == "CN=async.example"
    secret = await secrets.get_secret(name)
    _, leaf, _ = pkcs12.load_key_and_certificates(base64.b64decode(secret.value), None)
    assert leaf == parsed
    assert (await certificates.get_certificate_policy(name)).subject == "CN=async.example"
    assert name in {c.name async for c in certificates.list_properties_of_certificates()}
    await certificates.delete_certificate(name)
    with pytest.raises(ResourceNotFoundError):
        await certificates.get_certificate(name)
    await certificates.recover_deleted_certificate(name)
    assert (await certificates.get_certificate(name)).properties.version == certificate.properties.version


async def test_contacts_async(clients):
    certificates, _ = clients
    await certificates.set_contacts([CertificateContact(email="ops@example.com", name="Ops")])
    assert [c.email for c in await certificates.get_contacts()] == ["ops@example.com"]
    await certificates.delete_contacts()
