"""Storage faults give clear, retryable errors and corrupt nothing: a full disk and a read-only data directory."""
import os
import subprocess
import tempfile

import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity import ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient

from coffre_process import Coffre, free_port


@pytest.fixture
def small_disk():
    """A 6 MiB tmpfs for the data directory (needs mount rights, which CI's root has)."""
    directory = tempfile.mkdtemp(prefix="coffre-small-disk-")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m,mode=0700", "tmpfs", directory], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    yield directory
    subprocess.run(["umount", "-l", directory])
    os.rmdir(directory)


@pytest.fixture
def server_on_small_disk(small_disk, tmp_path, monkeypatch):
    server = Coffre(data=small_disk, extra_args=["--audit-log", str(tmp_path / "audit.log")])
    server.log_path = str(tmp_path / "server.log")
    server.start()
    env = server.env()
    monkeypatch.setenv("IDENTITY_ENDPOINT", env["IDENTITY_ENDPOINT"])
    monkeypatch.setenv("IDENTITY_HEADER", env["IDENTITY_HEADER"])
    client = SecretClient(server.vault_url(), ManagedIdentityCredential(connection_verify=server.ca_file),
                          connection_verify=server.ca_file, retry_total=0)
    yield server, client
    server.stop()


def test_a_full_disk_is_a_clear_error_and_loses_nothing(server_on_small_disk):
    server, client = server_on_small_disk
    written = {}
    with pytest.raises(HttpResponseError) as error:
        for index in range(2000):
            value = os.urandom(9000).hex()
            client.set_secret(f"fill-{index}", value)
            written[index] = value
    assert error.value.status_code == 503
    assert error.value.error.code == "StorageNotWritable"
    assert "full" in error.value.message
    assert len(written) > 10
    for index in list(written)[:: max(1, len(written) // 20)]:
        assert client.get_secret(f"fill-{index}").value == written[index]


def test_a_read_only_data_directory_is_a_clear_error(small_disk, tmp_path):
    first = Coffre(data=small_disk, extra_args=["--audit-log", str(tmp_path / "audit.log")])
    first.log_path = str(tmp_path / "first.log")
    first.start()
    first.stop()
    subprocess.run(["mount", "-o", "remount,ro", small_disk], check=True)
    for extra in ([], ["--audit-log", str(tmp_path / "audit.log")]):
        result = subprocess.run([first_binary(), "serve", "--data", small_disk, "--port", str(free_port()), *extra],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode != 0
        assert "Read-only file system" in result.stderr or "read-only" in result.stderr, result.stderr


def first_binary():
    from coffre_process import BINARY
    return BINARY
