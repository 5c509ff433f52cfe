"""Overload held: the per-vault request limit (`--request-limit`) answers 429 `Throttled` with `Retry-After`, which the
official SDK honours; hostile clients (thousands of idle connections, slowloris, oversized headers and bodies) do not
stop a well-behaved one, and the idle timeout closes what they hold. Behaviour only: latency under such load is
measured by the benchmark, not here.
"""
import os
import socket
import ssl
import time
import urllib.parse

import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import RequestsTransport
from azure.keyvault.secrets import SecretClient

from coffre_process import Coffre

LIMIT = 5
IDLE_TIMEOUT = 3


class StaticToken:
    """A credential holding one token fetched beforehand (from the server's managed-identity endpoint)."""

    def __init__(self, token):
        self.token = token

    def get_token(self, *scopes, **kwargs):
        return AccessToken(self.token, int(time.time()) + 3000)


def token_for(server):
    env = server.env()
    query = urllib.parse.urlencode({"resource": f"https://vault.localhost:{server.port}", "api-version": "2019-08-01"})
    answer = requests.get(env["IDENTITY_ENDPOINT"] + "?" + query, headers={"X-IDENTITY-HEADER": env["IDENTITY_HEADER"]},
                          verify=server.ca_file, timeout=30)
    answer.raise_for_status()
    return answer.json()["access_token"]


@pytest.fixture(scope="module")
def limited():
    server = Coffre(extra_args=["--request-limit", str(LIMIT)]).start()
    try:
        yield server, token_for(server)
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def guarded():
    server = Coffre(extra_args=["--idle-timeout", str(IDLE_TIMEOUT)]).start()
    try:
        yield server, token_for(server)
    finally:
        server.cleanup()


def get(server, token, path, vault="default", **kwargs):
    return requests.get(f"{server.vault_url(vault)}{path}", headers={"Authorization": "Bearer " + token},
                        verify=server.ca_file, timeout=30, **kwargs)


def test_requests_past_the_vault_limit_get_429_throttled_with_retry_after(limited):
    server, token = limited
    server.cli("vault", "create", "--name", "othervault")
    statuses = []
    while 429 not in statuses and len(statuses) < 4 * LIMIT:
        refused = get(server, token, "/secrets?api-version=7.5")
        statuses.append(refused.status_code)
    assert statuses.count(200) >= LIMIT and statuses[-1] == 429, statuses
    error = refused.json()["error"]
    assert error["code"] == "Throttled" and str(LIMIT) in error["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 10
    # The limit is per vault: another vault still answers.
    assert get(server, token, "/secrets?api-version=7.5", vault="othervault").status_code == 200


def test_the_sdk_waits_retry_after_and_succeeds(limited):
    server, token = limited
    seen = []
    session = requests.Session()
    session.hooks["response"].append(lambda response, *args, **kwargs: seen.append(response.status_code))
    transport = RequestsTransport(session=session, connection_verify=server.ca_file)
    client = SecretClient(server.vault_url(), StaticToken(token), transport=transport)
    client.set_secret("throttled", "value")
    while get(server, token, "/secrets?api-version=7.5").status_code != 429:
        pass
    assert client.get_secret("throttled").value == "value"
    assert 429 in seen and seen[-1] == 200, seen


def tls_context(server):
    return ssl.create_default_context(cafile=server.ca_file)


def test_hostile_clients_do_not_stop_others(guarded):
    server, token = guarded
    address = ("127.0.0.1", server.port)
    host = f"default.vault.localhost:{server.port}".encode()
    headers = {"Authorization": "Bearer " + token}
    url = server.vault_url() + "/secrets/kept?api-version=7.5"
    assert requests.put(url, json={"value": "kept"}, headers=headers, verify=server.ca_file, timeout=30).status_code == 200

    # Thousands of connections that never say anything (not even a TLS handshake).
    idle = [socket.create_connection(address) for _ in range(2000)]
    # Slowloris: TLS connections that send their headers a line at a time and never finish them.
    slow = []
    for _ in range(50):
        connection = tls_context(server).wrap_socket(socket.create_connection(address), server_hostname="localhost")
        connection.sendall(b"GET /secrets/kept?api-version=7.5 HTTP/1.1\r\nHost: " + host + b"\r\n")
        slow.append(connection)
    try:
        # Oversized headers: 431 in the Key Vault error envelope.
        answer = requests.get(url, headers={**headers, "X-Filler": "a" * 100_000}, verify=server.ca_file, timeout=30)
        assert answer.status_code == 431 and answer.json()["error"]["code"] == "RequestHeaderFieldsTooLarge"
        # An oversized body: 413, and the connection goes on serving.
        with requests.Session() as session:
            session.headers.update(headers)
            answer = session.put(url, data=b'{"value": "' + b"a" * (5 << 20) + b'"}', verify=server.ca_file, timeout=60,
                                 headers={"Content-Type": "application/json"})
            assert answer.status_code == 413 and answer.json()["error"]["code"] == "RequestBodyTooLarge"
            # Meanwhile a well-behaved client is served, while the slow ones keep trickling (until the server closes them).
            for round in range(20):
                for connection in slow:
                    try:
                        connection.sendall(b"X-Slow-%d: 1\r\n" % round)
                    except (OSError, ssl.SSLError):
                        pass
                answer = session.get(url, verify=server.ca_file, timeout=30)
                assert answer.status_code == 200 and answer.json()["value"] == "kept"
        # The idle timeout closes what the hostile clients hold: a partial request is no activity.
        time.sleep(IDLE_TIMEOUT + 2)
        for connection in slow + idle[:100]:
            assert closed_by_peer(connection)
    finally:
        for connection in slow + idle:
            connection.close()


def closed_by_peer(connection):
    """Whether the server closed the connection (end of stream, reset, or a TLS close)."""
    connection.settimeout(5)
    try:
        while True:
            if not connection.recv(4096):
                return True
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError, ssl.SSLEOFError):
        return True
    except socket.timeout:
        return False
