"""The secrets quickstart, as a user runs it after `pip install coffre`: start an ephemeral server with the installed
`coffre` command, take its environment, set and read a secret with the official SDK and DefaultAzureCredential."""
import os
import socket
import subprocess
import sys
import tempfile
import time

# *.localhost names resolve to loopback only with nss-myhostname; pin them in this process, as the docs explain.
_resolve = socket.getaddrinfo
socket.getaddrinfo = lambda host, *a, **k: _resolve("127.0.0.1" if str(host).endswith(".localhost") else host, *a, **k)

directory = tempfile.mkdtemp()
env_file = os.path.join(directory, "coffre.env")
server = subprocess.Popen(["coffre", "serve", "--ephemeral", "--port", "0", "--env-file", env_file])
try:
    deadline = time.monotonic() + 30
    while not os.path.exists(env_file):
        if server.poll() is not None or time.monotonic() > deadline:
            sys.exit("coffre did not start")
        time.sleep(0.01)
    for line in open(env_file):
        if line.startswith("export "):
            name, _, value = line[7:].rstrip("\n").partition("=")
            os.environ[name] = value.strip("'")

    from azure.identity import DefaultAzureCredential
    from azure.keyvault.secrets import SecretClient

    client = SecretClient(os.environ["AZURE_KEYVAULT_URL"], DefaultAzureCredential())
    client.set_secret("db-password", "hunter2")
    assert client.get_secret("db-password").value == "hunter2"
    print("quickstart: set and read a secret through the wheel's coffre")
finally:
    server.terminate()
    server.wait(timeout=20)
assert not os.path.exists(env_file), "the env file is removed when the server stops"
