"""Ephemeral servers (`coffre serve --ephemeral --port 0 --env-file F`) through the official SDKs: in memory, nothing on
disk but the env file (its own CA bundle, written atomically once the server answers, removed when it stops)."""
import base64
import json
import os
import subprocess
import time
import urllib.parse
import urllib.request
import ssl

import pytest
from azure.identity import ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient

from coffre_process import BINARY


def read_env(path):
    variables = {}
    with open(path) as f:
        for line in f:
            if line.startswith("export "):
                name, _, value = line[7:].rstrip("\n").partition("=")
                variables[name] = value.strip("'")
    return variables


@pytest.fixture
def ephemeral(tmp_path, monkeypatch):
    """Starts an ephemeral server in an empty working directory; yields (process, env file, variables, workdir)."""
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    env_file = str(tmp_path / "coffre.env")
    seed = tmp_path / "seed.yaml"
    seed.write_text("vaults:\n  - name: seeded\n    secrets:\n      - {name: greeting, value: hello}\n")
    process = subprocess.Popen([BINARY, "serve", "--ephemeral", "--dev", "--port", "0", "--env-file", env_file, "--seed", str(seed)],
                               cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not os.path.exists(env_file):
        assert process.poll() is None, process.stdout.read().decode()
        assert time.monotonic() < deadline, "no env file"
        time.sleep(0.005)
    variables = read_env(env_file)
    monkeypatch.setenv("IDENTITY_ENDPOINT", variables["IDENTITY_ENDPOINT"])
    monkeypatch.setenv("IDENTITY_HEADER", variables["IDENTITY_HEADER"])
    yield process, env_file, variables, workdir
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=20)


def test_the_env_file_is_coffre_env_and_its_own_ca_bundle(ephemeral):
    process, env_file, variables, workdir = ephemeral
    port = int(variables["COFFRE_PORT"])
    assert variables["AZURE_KEYVAULT_URL"] == f"https://default.vault.localhost:{port}"
    assert variables["REQUESTS_CA_BUNDLE"] == variables["SSL_CERT_FILE"] == variables["COFFRE_ENV_FILE"] == env_file
    assert variables["AZURE_AUTHORITY_HOST"] == f"https://localhost:{port}" and variables["AZURE_TENANT_ID"]
    assert oct(os.stat(env_file).st_mode & 0o777) == "0o600"
    # The shell reads the file as `coffre env`'s output (the CA sits in a here-document it skips).
    shell = subprocess.run(["bash", "-c", f'. "{env_file}" && echo "$COFFRE_PORT $AZURE_KEYVAULT_URL"'], capture_output=True, text=True)
    assert shell.returncode == 0 and shell.stdout.strip() == f"{port} {variables['AZURE_KEYVAULT_URL']}", shell.stderr
    client = SecretClient(variables["AZURE_KEYVAULT_URL"], ManagedIdentityCredential(connection_verify=env_file),
                          connection_verify=env_file)
    client.set_secret("first", "call")
    assert client.get_secret("first").value == "call"


def test_nothing_is_written_and_the_env_file_goes_with_the_server(ephemeral):
    process, env_file, variables, workdir = ephemeral
    SecretClient(variables["AZURE_KEYVAULT_URL"], ManagedIdentityCredential(connection_verify=env_file),
                 connection_verify=env_file).set_secret("kept", "nowhere")
    assert os.listdir(workdir) == []  # no coffre-data, no database, no key, no CA, no audit log
    assert sorted(os.listdir(os.path.dirname(env_file))) == ["coffre.env", "cwd", "seed.yaml"]
    process.terminate()
    assert process.wait(timeout=20) == 0
    assert not os.path.exists(env_file)


def test_seeded_objects_are_there_when_the_env_file_appears(ephemeral):
    process, env_file, variables, _ = ephemeral
    url = variables["AZURE_KEYVAULT_URL"].replace("//default.", "//seeded.")
    client = SecretClient(url, ManagedIdentityCredential(connection_verify=env_file), connection_verify=env_file)
    assert client.get_secret("greeting").value == "hello"


def test_coffre_commands_reach_the_server_named_by_the_env_file(ephemeral, tmp_path):
    process, env_file, variables, workdir = ephemeral
    environment = {**os.environ, "COFFRE_ENV_FILE": env_file}
    shown = subprocess.run([BINARY, "clock", "show"], cwd=workdir, env=environment, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["server"]["offsetSeconds"] == 0
    listed = subprocess.run([BINARY, "vault", "list"], cwd=workdir, env=environment, capture_output=True, text=True, timeout=60)
    assert {vault["name"] for vault in json.loads(listed.stdout)} == {"default", "seeded"}


def test_tokens_of_an_ephemeral_server_are_es256(ephemeral):
    process, env_file, variables, _ = ephemeral
    resource = "https://vault.localhost:" + variables["COFFRE_PORT"]
    query = urllib.parse.urlencode({"api-version": "2019-08-01", "resource": resource})
    request = urllib.request.Request(f"{variables['IDENTITY_ENDPOINT']}?{query}", headers={"X-IDENTITY-HEADER": variables["IDENTITY_HEADER"]})
    with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=env_file)) as response:
        token = json.load(response)["access_token"]
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["alg"] == "ES256"


def test_ephemeral_refuses_storage_and_env_file_needs_ephemeral(tmp_path):
    done = subprocess.run([BINARY, "serve", "--ephemeral", "--storage", "sqlite"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "in memory" in done.stderr
    done = subprocess.run([BINARY, "serve", "--env-file", str(tmp_path / "x")], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "--ephemeral" in done.stderr
