"""Several Coffre nodes on one PostgreSQL database: one truth, no lost writes, survival of kill -9 and restarts."""
import concurrent.futures
import os
import shutil
import tempfile
import time

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient

from coffre_process import Coffre, TemporaryPostgres


@pytest.fixture(scope="module")
def postgres():
    server = TemporaryPostgres()
    yield server
    server.cleanup()


def node(url, root_key_from=None):
    """A node on `url`; the second node of a cluster gets the first node's root key file."""
    data = tempfile.mkdtemp(prefix="coffre-node-")
    if root_key_from:
        shutil.copy(os.path.join(root_key_from.data, "root.key"), os.path.join(data, "root.key"))
        os.chmod(os.path.join(data, "root.key"), 0o600)
    server = Coffre(data=data, extra_args=["--storage", url])
    server.owns_data = True
    return server.start()


def client(server, principal):
    """A client of one node (each node here has its own port, so its own token audience and issuer URL)."""
    credential = ClientSecretCredential(principal["tenantId"], principal["clientId"], principal["clientSecret"],
                                        authority=server.authority, disable_instance_discovery=True, connection_verify=server.ca_file)
    return SecretClient(server.vault_url(), credential, connection_verify=server.ca_file)


@pytest.fixture
def cluster(postgres, request):
    url = postgres.create_database("coffre_" + request.node.name.lower().replace("[", "_").replace("]", "").replace("-", "_")[:40])
    first = node(url)
    second = node(url, root_key_from=first)
    principal = first.cli_json("principal", "create", "--name", "cluster-user")
    second.cli("vault", "set-policy", "--name", "default", "--object-id", principal["objectId"], "--secret-permissions", "all")
    yield first, second, principal
    for server in (first, second):
        server.cleanup()


def test_a_write_through_one_node_is_visible_through_the_other(cluster):
    a, b, principal = cluster
    assert open(a.ca_file).read() == open(b.ca_file).read()  # one CA, kept in the database
    via_a = client(a, principal)
    version = via_a.set_secret("shared", "v1").properties.version
    via_b = client(b, principal)
    assert via_b.get_secret("shared").value == "v1"
    via_b.update_secret_properties("shared", version, enabled=False, tags={"by": "b"})
    assert [p for p in via_a.list_properties_of_secrets() if p.name == "shared"][0].enabled is False
    via_a.begin_delete_secret("shared").wait()
    with pytest.raises(ResourceNotFoundError):
        via_b.get_secret("shared")
    assert via_b.get_deleted_secret("shared").name == "shared"

    # A policy change through one node's CLI applies on the other as soon as PostgreSQL announces it (milliseconds):
    # node a had the vault cached from the requests above.
    b.cli("vault", "set-policy", "--name", "default", "--object-id", principal["objectId"], "--secret-permissions", "list")
    assert refused_within(2.0, lambda: via_a.set_secret("refused-now", "v"))
    assert "shared" not in [p.name for p in via_a.list_properties_of_secrets()]  # listing is still allowed


def refused_within(seconds, request):
    """Whether `request` is refused with 403 within `seconds` (tried every 10 ms); a success before then wrote nothing
    that matters here."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            request()
        except HttpResponseError as error:
            return error.status_code == 403
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)


def test_concurrent_writers_never_lose_a_version(cluster):
    a, b, principal = cluster
    clients = [client(a, principal), client(b, principal)]

    def write(index):
        return clients[index % 2].set_secret("contended", f"value-{index}").properties.version

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        versions = set(pool.map(write, range(40)))
    assert len(versions) == 40
    listed = {p.version for p in clients[1].list_properties_of_secret_versions("contended")}
    assert listed == versions


def test_kill_9_of_a_node_under_load_loses_no_acknowledged_write(cluster):
    a, b, principal = cluster
    writer = client(a, principal)
    writer._client._config.retry_policy.total_retries = 0  # after the kill, fail fast instead of retrying a dead node
    acknowledged = {}

    def write(index):
        try:
            acknowledged[index] = writer.set_secret(f"k9-{index}", f"value-{index}").properties.version
        except Exception:
            pass

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(write, index) for index in range(200)]
        # Kill amid the writes, once some are acknowledged (a fixed delay was too short on a loaded machine).
        deadline = time.time() + 30
        while len(acknowledged) < 5 and time.time() < deadline:
            time.sleep(0.01)
        a.kill()
        concurrent.futures.wait(futures)
    assert acknowledged, "some writes were acknowledged before the kill"
    reader = client(b, principal)
    for index, version in acknowledged.items():
        assert reader.get_secret(f"k9-{index}", version).value == f"value-{index}"


def test_postgresql_restart_is_survived(postgres, cluster):
    a, _, principal = cluster
    c = client(a, principal)
    c.set_secret("before-restart", "v")
    token = c._client._config.authentication_policy._credential.get_token(f"https://vault.localhost:{a.port}/.default").token
    postgres.stop()
    import requests
    response = requests.get(f"https://127.0.0.1:{a.port}/readyz", verify=a.ca_file)
    assert response.status_code == 503
    # Data requests during the outage get a retryable 503, never wrong data.
    response = requests.get(f"https://127.0.0.1:{a.port}/secrets/before-restart?api-version=7.4", verify=a.ca_file,
                            headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503 and "Retry-After" in response.headers
    assert response.json()["error"]["code"] == "ServiceUnavailable"
    postgres.start()
    deadline = time.time() + 60
    while time.time() < deadline:
        if requests.get(f"https://127.0.0.1:{a.port}/readyz", verify=a.ca_file).status_code == 200:
            break
        time.sleep(0.5)
    assert c.get_secret("before-restart").value == "v"
    c.set_secret("after-restart", "w")
    assert c.get_secret("after-restart").value == "w"


def test_a_failover_to_the_synchronous_standby_loses_no_acknowledged_write():
    """kill -9 of the primary, promotion of its synchronous standby: the node (given both hosts, libpq style) follows by
    itself, answers 503 with Retry-After meanwhile, and every write the SDK saw acknowledged, before, during or after,
    reads back."""
    primary = TemporaryPostgres()
    standby = primary.start_synchronous_standby()
    server = None
    try:
        primary.create_database("coffre_failover")
        url = (f"postgres://postgres@127.0.0.1:{primary.port},127.0.0.1:{standby.port}/coffre_failover"
               "?sslmode=disable&target_session_attrs=read-write")
        server = node(url)
        principal = server.cli_json("principal", "create", "--name", "failover-user")
        server.cli("vault", "set-policy", "--name", "default", "--object-id", principal["objectId"], "--secret-permissions", "all")
        sdk = client(server, principal)
        acknowledged = {f"before-{i}": sdk.set_secret(f"before-{i}", f"value-{i}").properties.version for i in range(10)}
        token = sdk._client._config.authentication_policy._credential.get_token(f"https://vault.localhost:{server.port}/.default").token

        # A writer that does not retry keeps writing through the failover; what it saw acknowledged must survive.
        writer = client(server, principal)
        writer._client._config.retry_policy.total_retries = 0
        stop = time.monotonic() + 3600
        during = {}

        def keep_writing():
            index = 0
            while time.monotonic() < stop:
                index += 1
                try:
                    during[f"during-{index}"] = writer.set_secret(f"during-{index}", f"value-{index}").properties.version
                except HttpResponseError:
                    time.sleep(0.05)

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            background = pool.submit(keep_writing)
            time.sleep(0.5)
            primary.kill9()
            import requests
            response = requests.get(f"https://127.0.0.1:{server.port}/secrets/before-0?api-version=7.4", verify=server.ca_file,
                                    headers={"Authorization": f"Bearer {token}"}, timeout=30)
            assert response.status_code == 503 and "Retry-After" in response.headers
            assert response.json()["error"]["code"] == "ServiceUnavailable"
            standby.promote()
            promoted = time.monotonic()
            # The SDK's own retries (honouring Retry-After) carry a write over the last moments of the switch.
            acknowledged["after-0"] = sdk.set_secret("after-0", "value-0").properties.version
            serving_after = time.monotonic() - promoted
            time.sleep(0.5)
            stop = time.monotonic()
            background.result()
        assert serving_after < 15, f"serving again {serving_after:.1f} s after the promotion"
        for i in range(1, 10):
            acknowledged[f"after-{i}"] = sdk.set_secret(f"after-{i}", f"value-{i}").properties.version
        acknowledged.update(during)
        assert any(name.startswith("during-") for name in acknowledged)
        for name, version in acknowledged.items():
            assert sdk.get_secret(name, version).value == "value-" + name.split("-")[1]
    finally:
        if server:
            server.cleanup()
        standby.cleanup()
        primary.cleanup()
