"""Operating Coffre: key shares and sealing, keyring rotation, whole-server backup and restore, readiness."""
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest
import requests
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient

from coffre_process import BINARY, Coffre, free_port


def admin_client(server, credentials, vault="default"):
    credential = ClientSecretCredential(server.env_tenant(), credentials["COFFRE_CLIENT_ID"], credentials["COFFRE_CLIENT_SECRET"],
                                        authority=server.authority, disable_instance_discovery=True,
                                        connection_verify=server.ca_file)
    return SecretClient(server.vault_url(vault), credential, connection_verify=server.ca_file)


def tenant_of(server):
    with open(os.path.join(server.data, "coffre.json")) as f:
        return json.load(f)["tenantId"]


Coffre.env_tenant = tenant_of


@pytest.fixture
def shamir_server():
    data = tempfile.mkdtemp(prefix="coffre-shamir-")
    port = free_port()
    result = subprocess.run([BINARY, "operator", "init", "--data", data, "--shares", "5", "--threshold", "3", "--port", str(port)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    init = json.loads(result.stdout)
    server = Coffre(data=data, port=port)
    server.owns_data = True
    server.start()
    yield server, init
    server.cleanup()


def test_sealed_server_serves_nothing_until_enough_shares(shamir_server):
    server, init = shamir_server
    assert not os.path.exists(os.path.join(server.data, "root.key"))
    assert len(init["shares"]) == 5 and init["threshold"] == 3
    response = requests.get(f"https://127.0.0.1:{server.port}/secrets?api-version=7.4", verify=server.ca_file)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "ServiceUnavailable"
    assert "Retry-After" in response.headers
    assert requests.get(f"{server.authority}/readyz", verify=server.ca_file).status_code == 503
    token = requests.get(f"{server.authority}/msi/token", verify=server.ca_file).status_code
    assert token == 503

    for index, share in enumerate(init["shares"][1:3]):
        status = server.cli_json("operator", "unseal", "--share", share)
        assert status["sealed"] and status["progress"] == index + 1
    # A wrong share makes the set fail, and is forgotten.
    bad = server.cli("operator", "unseal", "--share", init["shares"][0][:-4] + "AAAA", check=False)
    assert bad.returncode != 0 and "BadParameter" in bad.stderr
    assert server.cli_json("operator", "status")["progress"] == 0
    for share in init["shares"][2:5]:
        status = server.cli_json("operator", "unseal", "--share", share)
    assert status["sealed"] is False
    assert requests.get(f"{server.authority}/readyz", verify=server.ca_file).status_code == 200

    client = admin_client(server, init["administrator"])
    client.set_secret("after-unseal", "v")
    assert client.get_secret("after-unseal").value == "v"


def test_keyring_rotation_keeps_data_readable(shamir_server, monkeypatch):
    server, init = shamir_server
    for share in init["shares"][:3]:
        server.cli("operator", "unseal", "--share", share)
    monkeypatch.setenv("COFFRE_CLIENT_ID", init["administrator"]["COFFRE_CLIENT_ID"])
    monkeypatch.setenv("COFFRE_CLIENT_SECRET", init["administrator"]["COFFRE_CLIENT_SECRET"])
    client = admin_client(server, init["administrator"])
    client.set_secret("before", "old-term")
    rotated = server.cli_json("operator", "rotate")
    assert rotated["activeTerm"] == 2 and rotated["terms"] == [1, 2]
    client.set_secret("after", "new-term")
    assert client.get_secret("before").value == "old-term"
    rewrapped = server.cli_json("operator", "rewrap")
    assert rewrapped["rewrapped"] > 0
    assert client.get_secret("before").value == "old-term"
    assert client.get_secret("after").value == "new-term"


def test_whole_server_backup_restores_everything_on_a_fresh_machine(coffre, credential, name, tmp_path):
    vault = "b" + name[1:10]
    coffre.cli("vault", "create", "--name", vault, "--retention-days", "30")
    principal = coffre.cli_json("principal", "create", "--name", "backup-check")
    coffre.cli("vault", "set-policy", "--name", vault, "--object-id", principal["objectId"], "--secret-permissions", "all")
    client = SecretClient(coffre.vault_url(vault), ClientSecretCredential(
        principal["tenantId"], principal["clientId"], principal["clientSecret"], authority=principal["authority"],
        disable_instance_discovery=True))
    first = client.set_secret("kept", "backup-plaintext-marker")
    client.set_secret("kept", "v2")
    client.set_secret("removed", "gone")
    client.begin_delete_secret("removed").wait()

    backup = tmp_path / "server.bak"
    coffre.cli("backup", "create", str(backup))
    assert os.stat(backup).st_mode & 0o777 == 0o600
    assert b"backup-plaintext-marker" not in backup.read_bytes()

    fresh = tmp_path / "fresh"
    fresh.mkdir(mode=0o700)
    shutil.copy(os.path.join(coffre.data, "root.key"), fresh / "root.key")
    os.chmod(fresh / "root.key", 0o600)
    result = subprocess.run([BINARY, "backup", "restore", str(backup), "--data", str(fresh)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr

    restored = Coffre(data=str(fresh)).start()
    try:
        restored_client = SecretClient(restored.vault_url(vault), ClientSecretCredential(
            principal["tenantId"], principal["clientId"], principal["clientSecret"], authority=restored.authority,
            disable_instance_discovery=True, connection_verify=restored.ca_file), connection_verify=restored.ca_file)
        assert restored_client.get_secret("kept").value == "v2"
        assert restored_client.get_secret("kept", first.properties.version).value == "backup-plaintext-marker"
        deleted = restored_client.get_deleted_secret("removed")
        assert deleted.properties.recoverable_days == 30
        assert vault in {v["name"] for v in restored.cli_json("vault", "list")}
    finally:
        restored.cleanup()


def test_restore_refuses_a_wrong_root_key_or_a_used_directory(coffre, tmp_path):
    backup = tmp_path / "server.bak"
    coffre.cli("backup", "create", str(backup))
    other = tmp_path / "other"
    other.mkdir()
    (other / "root.key").write_text("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
    result = subprocess.run([BINARY, "backup", "restore", str(backup), "--data", str(other)], capture_output=True, text=True)
    assert result.returncode != 0
    result = subprocess.run([BINARY, "backup", "restore", str(backup), "--data", coffre.data], capture_output=True, text=True)
    assert result.returncode != 0


def test_auto_unseal_by_another_coffre(coffre, tmp_path):
    # Vault A (the session's server) holds the wrapping key; a principal there may wrap and unwrap with it.
    principal = coffre.cli_json("principal", "create", "--name", "auto-unseal")
    coffre.cli("vault", "set-policy", "--name", "default", "--object-id", principal["objectId"], "--key-permissions", "wrapkey", "unwrapkey")
    from azure.keyvault.keys import KeyClient
    from conftest import managed_identity_credential
    key = KeyClient(coffre.vault_url(), managed_identity_credential()).create_rsa_key("coffre-root-" + os.urandom(3).hex(), size=2048)
    key_id = f"https://localhost:{coffre.port}/keys/{key.name}/{key.properties.version}"

    data = str(tmp_path / "auto")
    port = free_port()
    environment = dict(os.environ, COFFRE_AUTO_UNSEAL_CLIENT_SECRET=principal["clientSecret"])
    result = subprocess.run([BINARY, "operator", "init", "--data", data, "--port", str(port), "--auto-unseal-key", key_id,
                             "--auto-unseal-tenant", principal["tenantId"], "--auto-unseal-client-id", principal["clientId"],
                             "--auto-unseal-ca", coffre.ca_file], capture_output=True, text=True, env=environment, timeout=120)
    assert result.returncode == 0, result.stderr
    init = json.loads(result.stdout)
    assert "shares" not in init and not os.path.exists(os.path.join(data, "root.key"))
    wrapped = json.load(open(os.path.join(data, "root.key.wrapped")))
    assert wrapped["kid"].startswith(f"https://localhost:{coffre.port}/keys/")

    os.environ["COFFRE_AUTO_UNSEAL_CLIENT_SECRET"] = principal["clientSecret"]
    server = Coffre(data=data, port=port)
    try:
        server.start()
        deadline = time.time() + 30
        while requests.get(f"{server.authority}/readyz", verify=server.ca_file).status_code != 200:
            assert time.time() < deadline, server.read_log()
            time.sleep(0.5)
        client = admin_client(server, init["administrator"])
        client.set_secret("auto", "unsealed")
        server.stop()
        # Without the wrapping key's permission, the node stays sealed and serves nothing.
        coffre.cli("vault", "delete-policy", "--name", "default", "--object-id", principal["objectId"])
        server.start()
        time.sleep(2)
        assert requests.get(f"https://127.0.0.1:{port}/secrets/auto?api-version=7.4", verify=server.ca_file).status_code == 503
        coffre.cli("vault", "set-policy", "--name", "default", "--object-id", principal["objectId"], "--key-permissions", "unwrapkey")
        deadline = time.time() + 30
        while requests.get(f"{server.authority}/readyz", verify=server.ca_file).status_code != 200:
            assert time.time() < deadline, server.read_log()
            time.sleep(0.5)
        assert admin_client(server, init["administrator"]).get_secret("auto").value == "unsealed"
    finally:
        os.environ.pop("COFFRE_AUTO_UNSEAL_CLIENT_SECRET", None)
        server.cleanup()
