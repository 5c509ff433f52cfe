"""Compatibility suite: the official Azure SDKs against the built Coffre binary, over TLS, with Coffre's tokens.

One server is started for the session before any test module is imported (so that aiohttp, which reads
SSL_CERT_FILE when it is imported, trusts Coffre's CA). `*.localhost` resolves to loopback inside this process
only; nothing on the system is changed.
"""
import importlib.util
import os
import socket
import uuid

import pytest

from coffre_process import Coffre

_real_getaddrinfo = socket.getaddrinfo


def _pinned_getaddrinfo(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if isinstance(name, str) and name.lower().endswith(".localhost"):
        host = "127.0.0.1"
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _pinned_getaddrinfo

SERVER = None
# Lines a test module adds for the end of the run (figures such as the API fuzzing's request count).
SUMMARY = []


def pytest_ignore_collect(collection_path, config):
    """track1/ needs the track-1 azure-keyvault client, which has a virtual environment of its own (.venv-track1, made by
    scripts/test): the other environments leave it out."""
    if collection_path.name == "track1" and importlib.util.find_spec("msrestazure") is None:
        return True
    return None


def pytest_configure(config):
    global SERVER
    SERVER = Coffre().start()
    os.environ["REQUESTS_CA_BUNDLE"] = SERVER.ca_file
    os.environ["SSL_CERT_FILE"] = SERVER.ca_file
    # Credentials must come from each test's choice, never from the developer's environment.
    for name in ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_CLIENT_CERTIFICATE_PATH",
                 "AZURE_FEDERATED_TOKEN_FILE", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT"):
        os.environ.pop(name, None)
    # As after `eval "$(coffre env)"`: DefaultAzureCredential finds Coffre's managed identity.
    for name, value in SERVER.env().items():
        if name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER"):
            os.environ[name] = value


def pytest_terminal_summary(terminalreporter):
    for line in SUMMARY:
        terminalreporter.write_line(line)


def pytest_unconfigure(config):
    if SERVER is not None:
        SERVER.cleanup()


@pytest.fixture(scope="session")
def coffre():
    return SERVER


@pytest.fixture(scope="session")
def admin_env(coffre):
    return coffre.env()


@pytest.fixture(scope="session")
def app_principal(coffre):
    """A principal from `coffre principal create`, granted every secret permission on the default vault."""
    principal = coffre.cli_json("principal", "create", "--name", "compat-app")
    coffre.cli("vault", "set-policy", "--name", "default", "--object-id", principal["objectId"],
               "--secret-permissions", "all", "--key-permissions", "all", "--certificate-permissions", "all")
    return principal


def managed_identity_credential(aio=False):
    """DefaultAzureCredential as an unmodified program gets it after `eval "$(coffre env)"`."""
    if aio:
        from azure.identity.aio import DefaultAzureCredential
    else:
        from azure.identity import DefaultAzureCredential
    return DefaultAzureCredential()


def client_secret_credential(principal, aio=False):
    if aio:
        from azure.identity.aio import ClientSecretCredential
    else:
        from azure.identity import ClientSecretCredential
    return ClientSecretCredential(principal["tenantId"], principal["clientId"], principal["clientSecret"],
                                  authority=principal["authority"], disable_instance_discovery=True)


@pytest.fixture(params=["managed_identity", "client_secret"])
def credential(request, admin_env, app_principal):
    if request.param == "managed_identity":
        return managed_identity_credential()
    return client_secret_credential(app_principal)


@pytest.fixture(params=["managed_identity", "client_secret"])
def async_credential(request, admin_env, app_principal):
    if request.param == "managed_identity":
        return managed_identity_credential(aio=True)
    return client_secret_credential(app_principal, aio=True)


@pytest.fixture
def name():
    """A fresh object name per test."""
    return "t" + uuid.uuid4().hex[:12]


def hsm_env(coffre, name, activated=True):
    """A new pool (`coffre hsm create`), and the variables `coffre env --hsm NAME` exports for it: its URL, the test
    attestation service's, and a backup container of Coffre's Blob service with a SAS token for it."""
    created = coffre.cli_json("hsm", "create", "--name", name, *(["--activated"] if activated else []))
    return created, coffre.env("--hsm", name)


def backup_container_client(env):
    """azure-storage-blob's client of the backup container `coffre env --hsm` names, with its SAS token."""
    from azure.storage.blob import ContainerClient
    return ContainerClient(env["BLOB_STORAGE_URL"], env["BLOB_CONTAINER_NAME"], credential=env["BLOB_STORAGE_SAS_TOKEN"])


def container_uri(env):
    """The container URL as the administration SDK's tests build it from the environment."""
    return f"{env['BLOB_STORAGE_URL'].rstrip('/')}/{env['BLOB_CONTAINER_NAME']}"


def grant_key_roles(pool_url, object_id):
    """Managed HSM Crypto User and Crypto Officer at `/` for `object_id`, given by the pool's administrator."""
    from azure.keyvault.administration import KeyVaultAccessControlClient, KeyVaultRoleScope
    access = KeyVaultAccessControlClient(pool_url, managed_identity_credential())
    for role in ("21dbd100-6940-42c2-9190-5d6cb909625b", "515eb02d-2335-4d2d-92f2-b1cbdf9c3778"):
        access.create_role_assignment(KeyVaultRoleScope.GLOBAL, role, object_id)
