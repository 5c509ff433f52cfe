"""Coffre under Azure's own names: `--vault-zone vault.azure.net` with public port 443, so that a program that builds
`https://{name}.vault.azure.net` itself runs unchanged.

Nothing binds port 443 here: inside this test, names under vault.azure.net and `localhost` on port 443 resolve to the
test server's real port (what a hosts entry plus a server on 443 give a real program). The TLS names, the challenge
resource and the ids are the ones a server on 443 presents.
"""
import socket
import uuid

import pytest
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient

from coffre_process import Coffre


@pytest.fixture(scope="module")
def azure_named():
    server = Coffre(extra_args=["--vault-zone", "vault.azure.net", "--public-port", "443"]).start()
    yield server
    server.cleanup()


@pytest.fixture
def port_443_is_the_server(azure_named, monkeypatch):
    resolve = socket.getaddrinfo

    def divert(host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if str(port) == "443" and isinstance(name, str) and (name == "localhost" or name.lower().endswith(".vault.azure.net")):
            return resolve("127.0.0.1", azure_named.port, *args, **kwargs)
        return resolve(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", divert)


def test_a_program_that_builds_vault_azure_net_urls_works_unchanged(azure_named, port_443_is_the_server):
    principal = azure_named.cli_json("principal", "create", "--name", "azure-named")
    azure_named.cli("vault", "set-policy", "--name", "default", "--object-id", principal["objectId"], "--secret-permissions", "all")
    assert principal["authority"] == "https://localhost"
    credential = ClientSecretCredential(principal["tenantId"], principal["clientId"], principal["clientSecret"],
                                        authority=principal["authority"], disable_instance_discovery=True,
                                        connection_verify=azure_named.ca_file)
    # The program's own code: the URL is built from the vault name, as for Azure. The SDK checks the challenge
    # resource (https://vault.azure.net) against the host, with no option turned off.
    vault_name = "default"
    client = SecretClient(f"https://{vault_name}.vault.azure.net", credential, connection_verify=azure_named.ca_file)
    name = "s" + uuid.uuid4().hex[:8]
    secret = client.set_secret(name, "value")
    assert secret.id.startswith(f"https://{vault_name}.vault.azure.net/secrets/{name}/")
    assert client.get_secret(name).value == "value"
