"""The server as a newcomer meets it: the command line, `coffre env`, addressing, tokens, TLS and storage at rest."""
import concurrent.futures
import json
import os
import subprocess
import sys
import textwrap
import time

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient

from coffre_process import Coffre

HERE = os.path.dirname(os.path.abspath(__file__))


def test_data_directory_layout(coffre):
    files = set(os.listdir(coffre.data))
    assert {"coffre.json", "root.key", "ca.pem", "coffre.db"} <= files
    assert os.stat(os.path.join(coffre.data, "root.key")).st_mode & 0o777 == 0o600
    assert os.stat(coffre.data).st_mode & 0o077 == 0


def test_health_needs_no_token(coffre):
    response = requests.get(f"{coffre.authority}/healthz", verify=coffre.ca_file)
    assert response.status_code == 200


def test_tls_certificate_covers_every_name(coffre):
    for host in ("localhost", "127.0.0.1", "default.vault.localhost", "anything.vault.localhost", "pool.managedhsm.localhost"):
        response = requests.get(f"https://{host}:{coffre.port}/healthz", verify=coffre.ca_file)
        assert response.status_code == 200, host


def openssl_handshake(server, *options):
    """`openssl s_client` against the server with `options`; its exit status and everything it printed."""
    result = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}", "-servername", "localhost", *options],
                            input="", capture_output=True, text=True, timeout=30)
    return result.returncode, result.stdout + result.stderr


def test_only_tls_1_2_and_later_with_modern_suites(coffre):
    # The client offers TLS 1.1 for real (OpenSSL 3 keeps it off below security level 0): the server's alert refuses it.
    status, output = openssl_handshake(coffre, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    assert status != 0 and "alert protocol version" in output, output
    # TLS 1.2 suites without forward secrecy or without AEAD (CBC, RSA key transport): no suite in common.
    weak = "AES128-SHA:AES256-SHA:AES128-GCM-SHA256:AES256-GCM-SHA384:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES256-SHA384"
    status, output = openssl_handshake(coffre, "-tls1_2", "-cipher", weak + ":ECDHE-ECDSA-AES256-SHA384")
    assert status != 0 and "handshake failure" in output, output
    status, output = openssl_handshake(coffre, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256")
    assert status == 0 and "TLSv1.2" in output, output
    status, output = openssl_handshake(coffre, "-tls1_3")
    assert status == 0 and "TLSv1.3" in output, output


def test_no_core_dump_and_memory_locked_where_permitted(coffre):
    with open(f"/proc/{coffre.process.pid}/limits") as f:
        assert [line.split()[4:6] for line in f if line.startswith("Max core file size")] == [["0", "0"]]
    log = coffre.read_log()
    with open(f"/proc/{coffre.process.pid}/status") as f:
        locked_kb = int([line.split()[1] for line in f if line.startswith("VmLck:")][0])
    if "memory locked:" in log:
        assert locked_kb > 0
    else:  # not permitted here (memlock limit): said clearly
        assert "memory not locked (" in log


def test_challenge_and_token_refusals(coffre):
    url = f"{coffre.vault_url()}/secrets/x?api-version=7.4"
    response = requests.put(url, verify=coffre.ca_file, headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer authorization="https://localhost:{coffre.port}", resource="https://vault.localhost:{coffre.port}"')
    assert response.json()["error"]["code"] == "Unauthorized"
    for token in ("garbage", "eyJhbGciOiJub25lIn0.eyJvaWQiOiJ4In0."):
        response = requests.get(url, verify=coffre.ca_file, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert "WWW-Authenticate" in response.headers


def test_missing_api_version_is_bad_parameter(coffre, credential):
    token = credential.get_token(f"https://vault.localhost:{coffre.port}/.default").token
    response = requests.get(f"{coffre.vault_url()}/secrets", verify=coffre.ca_file, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadParameter"


def test_bare_host_reaches_the_default_vault(coffre, credential, name):
    SecretClient(coffre.vault_url(), credential).set_secret(name, "v")
    token = credential.get_token(f"https://vault.localhost:{coffre.port}/.default").token
    response = requests.get(f"https://127.0.0.1:{coffre.port}/secrets/{name}?api-version=7.4", verify=coffre.ca_file,
                            headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["value"] == "v"
    assert response.json()["id"].startswith(f"https://127.0.0.1:{coffre.port}/secrets/{name}/")


def test_method_override(coffre, credential, name):
    SecretClient(coffre.vault_url(), credential).set_secret(name, "v")
    token = credential.get_token(f"https://vault.localhost:{coffre.port}/.default").token
    headers = {"Authorization": f"Bearer {token}", "X-HTTP-METHOD": "PATCH"}
    response = requests.post(f"{coffre.vault_url()}/secrets/{name}/?api-version=7.4", verify=coffre.ca_file, headers=headers,
                             json={"contentType": "overridden"})
    assert response.status_code == 200 and response.json()["contentType"] == "overridden"
    headers["X-HTTP-METHOD"] = "DELETE"
    response = requests.post(f"{coffre.vault_url()}/secrets/{name}?api-version=7.4", verify=coffre.ca_file, headers=headers)
    assert response.status_code == 200 and "recoveryId" in response.json()


def test_principal_create_output_works_with_client_secret_credential(coffre):
    principal = coffre.cli_json("principal", "create", "--name", "json-check")
    assert set(principal) >= {"tenantId", "clientId", "clientSecret", "objectId", "authority"}
    coffre.cli("vault", "set-policy", "--name", "default", "--object-id", principal["objectId"], "--secret-permissions", "get", "list")
    credential = ClientSecretCredential(principal["tenantId"], principal["clientId"], principal["clientSecret"],
                                        authority=principal["authority"], disable_instance_discovery=True)
    client = SecretClient(coffre.vault_url(), credential)
    list(client.list_properties_of_secrets())
    with pytest.raises(HttpResponseError) as error:
        client.set_secret("not-allowed", "v")
    assert error.value.status_code == 403
    assert error.value.error.code == "Forbidden"
    wrong = ClientSecretCredential(principal["tenantId"], principal["clientId"], "wrong-secret",
                                   authority=principal["authority"], disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError):
        SecretClient(coffre.vault_url(), wrong).get_secret("anything")


def test_vault_commands_while_serving(coffre, credential, name):
    vault = "v" + name[1:10]
    created = coffre.cli_json("vault", "create", "--name", vault, "--retention-days", "7")
    assert created["url"] == coffre.vault_url(vault)
    assert vault in {v["name"] for v in coffre.cli_json("vault", "list")}
    principal = coffre.cli_json("principal", "create", "--name", "vault-user")
    coffre.cli("vault", "set-policy", "--name", vault, "--object-id", principal["objectId"], "--secret-permissions", "all")
    client = SecretClient(coffre.vault_url(vault), ClientSecretCredential(
        principal["tenantId"], principal["clientId"], principal["clientSecret"], authority=principal["authority"],
        disable_instance_discovery=True))
    client.set_secret("s", "v")
    deleted = client.begin_delete_secret("s").result()
    assert deleted.properties.recoverable_days == 7
    assert deleted.properties.recovery_level == "CustomizedRecoverable+Purgeable"
    assert (deleted.scheduled_purge_date - deleted.deleted_date).days == 7

    coffre.cli("vault", "delete", "--name", vault)
    assert vault not in {v["name"] for v in coffre.cli_json("vault", "list")}
    with pytest.raises(ResourceNotFoundError) as error:
        client.get_secret("s")
    assert error.value.error.code == "VaultNotFound"


@pytest.mark.parametrize("bad", [["--name", "ab"], ["--name", "1abc"], ["--name", "a--b"], ["--name", "okname", "--retention-days", "6"],
                                 ["--name", "okname", "--retention-days", "91"]])
def test_vault_create_refuses_bad_input(coffre, bad):
    result = coffre.cli("vault", "create", *bad, check=False)
    assert result.returncode != 0
    assert "BadParameter" in result.stderr


def test_unmodified_program_after_eval_coffre_env(coffre, tmp_path):
    """`eval "$(coffre env)"` then a program that only reads AZURE_KEYVAULT_URL, sync and async."""
    program = tmp_path / "program.py"
    program.write_text(textwrap.dedent("""
        import asyncio, os
        from azure.identity import DefaultAzureCredential
        from azure.keyvault.secrets import SecretClient
        client = SecretClient(os.environ["AZURE_KEYVAULT_URL"], DefaultAzureCredential())
        client.set_secret("from-env", "sync works")
        print(client.get_secret("from-env").value)

        from azure.identity.aio import DefaultAzureCredential as AsyncCredential
        from azure.keyvault.secrets.aio import SecretClient as AsyncClient
        async def main():
            async with AsyncCredential() as credential, AsyncClient(os.environ["AZURE_KEYVAULT_URL"], credential) as client:
                await client.set_secret("from-env-async", "async works")
                print((await client.get_secret("from-env-async")).value)
        asyncio.run(main())
    """))
    script = f'eval "$({coffre_binary()} env --data {coffre.data})" && exec {sys.executable} {program}'
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("AZURE_", "IDENTITY_", "REQUESTS_CA", "SSL_CERT"))}
    # Only name resolution of *.localhost is pinned for the child, as a hosts entry would do.
    environment["PYTHONPATH"] = os.path.join(HERE, "pin_localhost")
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=environment, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["sync", "works", "async", "works"]


def coffre_binary():
    from coffre_process import BINARY
    return BINARY


def test_no_secret_value_in_any_file_of_the_data_directory(coffre, credential, name):
    marker = "plaintext-marker-" + name
    client = SecretClient(coffre.vault_url(), credential)
    client.set_secret(name, marker)
    blob = client.backup_secret(name)
    client.begin_delete_secret(name).wait()
    for directory, _, files in os.walk(coffre.data):
        for file in files:
            with open(os.path.join(directory, file), "rb") as f:
                content = f.read()
            assert marker.encode() not in content, file
            assert marker.encode("utf-16-le") not in content, file
    assert marker.encode() not in blob


@pytest.fixture
def own_server():
    server = Coffre().start()
    yield server
    server.cleanup()


@pytest.fixture
def own_client(own_server, monkeypatch):
    """Makes SecretClients of own_server's default vault, signed in as its managed identity, without retries."""
    from azure.identity import ManagedIdentityCredential
    env = own_server.env()
    monkeypatch.setenv("IDENTITY_ENDPOINT", env["IDENTITY_ENDPOINT"])
    monkeypatch.setenv("IDENTITY_HEADER", env["IDENTITY_HEADER"])

    def client():
        credential = ManagedIdentityCredential(connection_verify=own_server.ca_file)
        return SecretClient(own_server.vault_url(), credential, connection_verify=own_server.ca_file, retry_total=0)
    return client


def test_acknowledged_writes_survive_kill_9(own_server, own_client):
    writer = own_client()

    def write(index):
        return writer.set_secret(f"durable-{index}", f"value-{index}").properties.version

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        acknowledged = dict(enumerate(pool.map(write, range(64))))
    own_server.kill()
    own_server.start()
    reader = own_client()
    for index, version in acknowledged.items():
        assert reader.get_secret(f"durable-{index}", version).value == f"value-{index}"


def test_every_change_has_its_audit_record_across_kill_9(own_server, own_client):
    # Issue 27, point 2: the record of a change is written before the change, so a kill -9 amid writes leaves no
    # change without its record.
    writer = own_client()
    acknowledged = []

    def write(index):
        try:
            writer.set_secret(f"audited-{index}", "v")
            acknowledged.append(index)
        except Exception:
            pass

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(write, index) for index in range(300)]
        while len(acknowledged) < 40 and not all(f.done() for f in futures):
            time.sleep(0.01)
        own_server.kill()
    own_server.start()
    stored = {p.name for p in own_client().list_properties_of_secrets() if p.name.startswith("audited-")}
    with open(os.path.join(own_server.data, "audit.log")) as f:
        records = [json.loads(line) for line in f if line.strip()]
    recorded = {r["properties"]["requestUri"].split("?")[0].rsplit("/", 1)[-1] for r in records
                if r["operationName"] == "SecretSet" and r.get("stage") == "request"}
    assert len(stored) >= 40 and {f"audited-{i}" for i in acknowledged} <= stored
    assert stored <= recorded, sorted(stored - recorded)


def test_backup_from_another_server_is_refused(coffre, credential, own_server, name):
    env = own_server.env()
    token = requests.get(env["IDENTITY_ENDPOINT"], params={"api-version": "2019-08-01",
                                                           "resource": f"https://vault.localhost:{own_server.port}"},
                         headers={"X-IDENTITY-HEADER": env["IDENTITY_HEADER"]}, verify=own_server.ca_file).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    url = own_server.vault_url()
    assert requests.put(f"{url}/secrets/{name}?api-version=7.4", json={"value": "v"}, headers=headers,
                        verify=own_server.ca_file).status_code == 200
    blob = requests.post(f"{url}/secrets/{name}/backup?api-version=7.4", headers=headers, verify=own_server.ca_file).json()["value"]
    client = SecretClient(coffre.vault_url(), credential)
    import base64
    raw = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
    with pytest.raises(HttpResponseError) as error:
        client.restore_secret_backup(raw)
    assert error.value.status_code == 400
    assert error.value.error.code == "BadParameter"


def test_prometheus_metrics(coffre, credential, name):
    client = SecretClient(coffre.vault_url(), credential)
    client.set_secret(name, "v")
    client.get_secret(name)
    text = requests.get(f"{coffre.authority}/metrics", verify=coffre.ca_file).text
    assert 'coffre_requests_total{operation="SecretGet",status="200"}' in text
    assert 'coffre_request_duration_seconds_bucket{operation="SecretSet",le="+Inf"}' in text
    assert 'coffre_storage_duration_seconds_count{operation="transaction"}' in text
    assert "coffre_sealed 0" in text
    assert name not in text
