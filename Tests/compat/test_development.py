"""Development mode (`coffre serve --dev`) through the official SDKs: time travel (`coffre clock`) moves expiry,
scheduled purge, rotation policies and certificate renewal for a vault or the whole server while tokens keep working;
injected faults (`coffre faults`) are answered in Key Vault's envelope and the SDKs' retry policies recover."""
import datetime
import json
import time
import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.certificates import CertificateClient, CertificatePolicy, LifetimeAction, CertificatePolicyAction
from azure.keyvault.keys import KeyClient, KeyRotationLifetimeAction, KeyRotationPolicy, KeyRotationPolicyAction
from azure.keyvault.keys.crypto import CryptographyClient, SignatureAlgorithm
from azure.identity import ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient

from coffre_process import Coffre

DAY = 86400


@pytest.fixture(scope="module")
def dev():
    server = Coffre(extra_args=["--dev"]).start()
    yield server
    server.cleanup()


@pytest.fixture
def vault(dev, monkeypatch):
    """A fresh vault with 7 days of retention, reached with the dev server's managed identity; the clock is back to real
    time and no fault is left after the test."""
    env = dev.env()
    monkeypatch.setenv("IDENTITY_ENDPOINT", env["IDENTITY_ENDPOINT"])
    monkeypatch.setenv("IDENTITY_HEADER", env["IDENTITY_HEADER"])
    name = "v" + uuid.uuid4().hex[:12]
    dev.cli("vault", "create", "--name", name, "--retention-days", "7")
    yield name
    dev.cli("clock", "reset")
    dev.cli("faults", "clear")


def credential(dev):
    return ManagedIdentityCredential(connection_verify=dev.ca_file)


def clients(dev, vault, **options):
    url, options = dev.vault_url(vault), {"connection_verify": dev.ca_file, **options}
    return (SecretClient(url, credential(dev), **options), KeyClient(url, credential(dev), **options),
            CertificateClient(url, credential(dev), **options))


def eventually(check, timeout=10):
    """`check()` until it returns a true value (background services act within a second of a shift)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


# -- Time travel -----------------------------------------------------------------------------------------------------

def test_without_dev_mode_the_clock_is_refused(coffre):
    result = coffre.cli("clock", "shift", "--days", "1", check=False)
    assert result.returncode != 0 and "DevelopmentModeRequired" in result.stderr + result.stdout
    result = coffre.cli("faults", "add", "--status", "503", check=False)
    assert result.returncode != 0 and "--dev" in result.stderr + result.stdout


def test_expiry_follows_the_vaults_clock_and_tokens_keep_working(dev, vault):
    _, keys, _ = clients(dev, vault)
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    key = keys.create_ec_key("signer", curve="P-256", expires_on=expires)
    crypto = CryptographyClient(key, credential(dev), connection_verify=dev.ca_file)
    digest = b"\x01" * 32
    crypto.sign(SignatureAlgorithm.es256, digest)
    shown = json.loads(dev.cli("clock", "shift", "--days", "2", "--vault", vault).stdout)
    assert shown["vaults"][0]["vault"] == vault and shown["vaults"][0]["offsetSeconds"] == 2 * DAY
    with pytest.raises(HttpResponseError) as error:
        crypto.sign(SignatureAlgorithm.es256, digest)
    assert error.value.status_code == 403 and "expired" in error.value.message
    # Another vault keeps real time.
    _, default_keys, _ = clients(dev, "default")
    other = default_keys.create_ec_key("t" + uuid.uuid4().hex[:10], curve="P-256", expires_on=expires)
    CryptographyClient(other, credential(dev), connection_verify=dev.ca_file).sign(SignatureAlgorithm.es256, digest)
    dev.cli("clock", "reset", "--vault", vault)
    crypto.sign(SignatureAlgorithm.es256, digest)


def test_dates_in_answers_follow_the_clock(dev, vault):
    secrets, _, _ = clients(dev, vault)
    dev.cli("clock", "set", "2031-05-01T12:00:00Z")
    secret = secrets.set_secret("dated", "v")
    assert abs((secret.properties.created_on - datetime.datetime(2031, 5, 1, 12, tzinfo=datetime.timezone.utc)).total_seconds()) < 60
    deleted = secrets.begin_delete_secret("dated").result()
    assert (deleted.scheduled_purge_date - deleted.deleted_date).days == 7
    assert deleted.deleted_date.year == 2031
    shown = json.loads(dev.cli("clock", "show").stdout)
    assert shown["server"]["now"].startswith("2031-05-01T12:")


def test_scheduled_purge_happens_when_the_clock_gets_there(dev, vault):
    secrets, _, _ = clients(dev, vault)
    secrets.set_secret("doomed", "v")
    secrets.begin_delete_secret("doomed").result()
    assert secrets.get_deleted_secret("doomed").name == "doomed"
    dev.cli("clock", "shift", "--days", "8", "--vault", vault)

    def purged():
        try:
            secrets.get_deleted_secret("doomed")
            return False
        except ResourceNotFoundError:
            return True
    assert eventually(purged), "the shift should wake the purge sweeper"


def test_rotation_policies_run_on_the_shifted_clock(dev, vault):
    _, keys, _ = clients(dev, vault)
    original = keys.create_rsa_key("rotating", size=2048)
    keys.update_key_rotation_policy(
        "rotating", KeyRotationPolicy(), lifetime_actions=[KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P30D")])
    time.sleep(0.5)
    assert [v.version for v in keys.list_properties_of_key_versions("rotating")] == [original.properties.version]
    dev.cli("clock", "shift", "--days", "31")
    assert eventually(lambda: len(list(keys.list_properties_of_key_versions("rotating"))) == 2)
    assert keys.get_key("rotating").properties.version != original.properties.version


def test_certificates_renew_on_the_shifted_clock(dev, vault):
    _, _, certificates = clients(dev, vault)
    policy = CertificatePolicy(
        issuer_name="Self", subject="CN=renewed.example", validity_in_months=12,
        lifetime_actions=[LifetimeAction(CertificatePolicyAction.auto_renew, days_before_expiry=30)])
    first = certificates.begin_create_certificate("renewed", policy).result()
    dev.cli("clock", "shift", "--days", "340", "--vault", vault)
    assert eventually(lambda: len(list(certificates.list_properties_of_certificate_versions("renewed"))) == 2)
    renewed = certificates.get_certificate("renewed")
    assert renewed.properties.version != first.properties.version
    assert renewed.properties.not_before.year >= first.properties.not_before.year
    assert (renewed.properties.not_before - first.properties.not_before).days >= 330


# -- Faults ------------------------------------------------------------------------------------------------------------

def test_sdk_retries_recover_from_a_counted_fault(dev, vault):
    secrets, _, _ = clients(dev, vault)
    secrets.set_secret("retried", "v")
    added = json.loads(dev.cli("faults", "add", "--vault", vault, "--operation", "SecretGet", "--status", "503",
                               "--retry-after", "1", "--count", "2").stdout)
    assert added["id"] and added["remaining"] == 2
    started = time.monotonic()
    assert secrets.get_secret("retried").value == "v"
    assert time.monotonic() - started >= 2  # two Retry-After waits
    (fault,) = json.loads(dev.cli("faults", "list").stdout)
    assert fault["hits"] == 2 and fault["remaining"] == 0


def test_throttling_without_retries_is_keyvaults_429(dev, vault):
    _, keys, _ = clients(dev, vault, retry_total=0)
    keys.create_ec_key("throttled", curve="P-256")
    dev.cli("faults", "add", "--operation", "KeyGet", "--status", "429", "--retry-after", "3")
    with pytest.raises(HttpResponseError) as error:
        keys.get_key("throttled")
    assert error.value.status_code == 429 and error.value.error.code == "Throttled"
    assert error.value.response.headers["Retry-After"] == "3"


def test_a_fault_comes_before_any_effect(dev, vault):
    secrets, _, _ = clients(dev, vault, retry_total=0)
    dev.cli("faults", "add", "--vault", vault, "--operation", "SecretSet", "--status", "500")
    with pytest.raises(HttpResponseError) as error:
        secrets.set_secret("never", "v")
    assert error.value.status_code == 500 and error.value.error.code == "InternalServerError"
    dev.cli("faults", "clear")
    with pytest.raises(ResourceNotFoundError):
        secrets.get_secret("never")


def test_faults_match_their_vault_and_rate(dev, vault):
    secrets, _, _ = clients(dev, vault, retry_total=0)
    other, _, _ = clients(dev, "default", retry_total=0)
    fault = json.loads(dev.cli("faults", "add", "--vault", vault, "--status", "503", "--rate", "1.0").stdout)
    with pytest.raises(HttpResponseError):
        secrets.set_secret("x", "v")
    other.set_secret("t" + uuid.uuid4().hex[:10], "v")
    dev.cli("faults", "remove", "--id", fault["id"])
    secrets.set_secret("x", "v")
    dev.cli("faults", "add", "--vault", vault, "--status", "503", "--rate", "0.0")
    secrets.set_secret("x", "v2")


def test_latency_only_faults_slow_requests_down(dev, vault):
    secrets, _, _ = clients(dev, vault)
    secrets.set_secret("slow", "v")
    dev.cli("faults", "add", "--operation", "SecretGet", "--latency", "400")
    started = time.monotonic()
    assert secrets.get_secret("slow").value == "v"
    assert time.monotonic() - started >= 0.4


def test_unknown_operations_are_refused(dev):
    result = dev.cli("faults", "add", "--operation", "SecretFetch", "--status", "503", check=False)
    assert result.returncode != 0 and "SecretGet" in result.stderr + result.stdout
