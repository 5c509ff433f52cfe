"""The plugin's own tests: its fixtures against a real ephemeral server, through the official SDKs."""
import datetime
import os
import time

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.keys.crypto import CryptographyClient, SignatureAlgorithm
from azure.keyvault.secrets import SecretClient

from pytest_coffre import CoffreServer, pin_localhost


def test_the_environment_is_coffre_env(coffre_server):
    assert os.environ["AZURE_KEYVAULT_URL"] == coffre_server.vault_url("default")
    assert os.environ["REQUESTS_CA_BUNDLE"] == coffre_server.env_file
    with open(coffre_server.env_file) as f:
        text = f.read()
    assert "-----BEGIN CERTIFICATE-----" in text and f"export COFFRE_PORT='{coffre_server.port}'" in text
    assert oct(os.stat(coffre_server.env_file).st_mode & 0o777) == "0o600"
    # The default vault answers a program that knows nothing of Coffre.
    from azure.identity import DefaultAzureCredential
    SecretClient(os.environ["AZURE_KEYVAULT_URL"], DefaultAzureCredential()).set_secret("from-env", "v")


def test_each_test_gets_a_fresh_vault(secret_client, coffre_vault):
    assert secret_client.vault_url == coffre_vault.url
    assert list(secret_client.list_properties_of_secrets()) == []
    secret_client.set_secret("only-here", "v")


def test_another_fresh_vault(secret_client):
    assert [s.name for s in secret_client.list_properties_of_secrets()] == []


def test_clients_are_ready(secret_client, key_client, certificate_client):
    assert secret_client.set_secret("s", "value").value == "value"
    key = key_client.create_ec_key("k", curve="P-256")
    assert key.key.crv == "P-256"
    from azure.keyvault.certificates import CertificatePolicy
    certificate = certificate_client.begin_create_certificate("c", CertificatePolicy.get_default()).result()
    assert certificate.cer


def test_the_clock_moves_the_tests_vault(key_client, coffre_clock, coffre_credential):
    key = key_client.create_ec_key("short-lived", curve="P-256",
                                   expires_on=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))
    crypto = CryptographyClient(key, coffre_credential)
    crypto.sign(SignatureAlgorithm.es256, b"\0" * 32)
    shown = coffre_clock.shift(hours=2)
    assert shown["vaults"][0]["offsetSeconds"] == 7200
    with pytest.raises(HttpResponseError) as error:
        crypto.sign(SignatureAlgorithm.es256, b"\0" * 32)
    assert error.value.status_code == 403


def test_the_clock_was_reset_after_the_previous_test(coffre_clock):
    assert coffre_clock.show()["vaults"] == []


def test_faults_and_the_sdk_retry_policy(secret_client, coffre_faults):
    secret_client.set_secret("retried", "v")
    fault = coffre_faults.add(503, operation="SecretGet", retry_after=1, count=2)
    assert secret_client.get_secret("retried").value == "v"
    assert coffre_faults.get(fault["id"])["hits"] == 2


def test_faults_without_retries(coffre_vault, coffre_credential, coffre_faults):
    client = SecretClient(coffre_vault.url, coffre_credential, retry_total=0)
    coffre_faults.add(429, operation="SecretSet", retry_after=5)
    with pytest.raises(HttpResponseError) as error:
        client.set_secret("throttled", "v")
    assert error.value.status_code == 429 and error.value.error.code == "Throttled"
    coffre_faults.clear()
    with pytest.raises(ResourceNotFoundError):
        client.get_secret("throttled")


def test_seeding_a_vault(coffre_server, coffre_vault, secret_client):
    seed = {"secrets": [{"name": "seeded", "value": "from-seed", "tags": {"a": "b"}}], "keys": [{"name": "signing", "kty": "EC", "curve": "P-256"}]}
    report = coffre_server.import_vault(coffre_vault.name, seed)
    assert sorted(report["created"]) == ["key/signing", "secret/seeded"]
    assert secret_client.get_secret("seeded").properties.tags == {"a": "b"}
    assert coffre_server.import_vault(coffre_vault.name, seed)["created"] == []
    exported = coffre_server.export_vault(coffre_vault.name)
    assert [s.get("value") for s in exported["secrets"]] == [None]


def test_a_server_of_its_own_starts_and_answers(monkeypatch):
    """A server per test: start, a first SDK call with its own identity and CA, stop. (The 150 ms goal is bench/'s
    ephemeral-start row; this bound only catches a hang.)"""
    pin_localhost()
    started = time.monotonic()
    with CoffreServer() as server:
        environment = {}
        server.export_environment(environment)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        client = SecretClient(server.vault_url(), server.credential(), connection_verify=server.ca_file)
        assert client.set_secret("first", "v").value == "v"
    assert time.monotonic() - started < 30
