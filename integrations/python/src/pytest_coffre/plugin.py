"""pytest fixtures for Coffre (loaded automatically once `pytest-coffre` is installed).

- `coffre_server` (session): an ephemeral server (`coffre serve --ephemeral --dev`), its environment exported to the
  test process as `eval "$(coffre env)"` would, `*.localhost` pinned to 127.0.0.1 in the process.
- `coffre_vault`: a fresh vault per test (deleted after it), `coffre_credential`: the admin's managed identity.
- `secret_client`, `key_client`, `certificate_client`: the official clients on the test's vault.
- `coffre_clock`, `coffre_faults`: time travel and fault injection for the test's vault (undone after the test).
"""
import pytest

from ._server import CoffreServer, pin_localhost


def pytest_addoption(parser):
    group = parser.getgroup("coffre")
    group.addoption("--coffre-binary", default=None, help="the coffre executable (default: $COFFRE_BINARY, then coffre on PATH)")
    parser.addini("coffre_args", type="args", default=[], help="extra arguments for `coffre serve --ephemeral`")
    parser.addini("coffre_pin_localhost", type="bool", default=True, help="resolve *.localhost to 127.0.0.1 in the test process")


@pytest.fixture(scope="session")
def coffre_server(request):
    """The session's ephemeral Coffre server (started on first use, stopped at the end of the session)."""
    if request.config.getini("coffre_pin_localhost"):
        pin_localhost()
    server = CoffreServer(binary=request.config.getoption("--coffre-binary"), extra_args=request.config.getini("coffre_args"))
    server.start()
    patch = pytest.MonkeyPatch()
    server.export_environment(_Environ(patch))
    yield server
    patch.undo()
    server.stop()


class _Environ:
    """`environ[name] = value` through a MonkeyPatch, so that the session undoes it."""

    def __init__(self, patch):
        self.patch = patch

    def __setitem__(self, name, value):
        self.patch.setenv(name, value)


@pytest.fixture
def coffre_vault(coffre_server):
    """A vault of its own for this test (7 days of retention), deleted after it."""
    vault = coffre_server.create_vault()
    yield vault
    coffre_server.delete_vault(vault.name)


@pytest.fixture
def coffre_credential(coffre_server):
    """A credential for the server's administrator (every permission on the vaults it creates)."""
    return coffre_server.credential()


@pytest.fixture
def secret_client(coffre_vault, coffre_credential):
    from azure.keyvault.secrets import SecretClient
    return SecretClient(coffre_vault.url, coffre_credential)


@pytest.fixture
def key_client(coffre_vault, coffre_credential):
    from azure.keyvault.keys import KeyClient
    return KeyClient(coffre_vault.url, coffre_credential)


@pytest.fixture
def certificate_client(coffre_vault, coffre_credential):
    from azure.keyvault.certificates import CertificateClient
    return CertificateClient(coffre_vault.url, coffre_credential)


class Clock:
    """Time travel for one test: the test's vault by default (`server=True` for every vault); undone after the test."""

    def __init__(self, server, vault):
        self.server, self.vault, self.moved_server = server, vault, False

    def _target(self, server):
        self.moved_server |= server
        return None if server else self.vault.name

    def shift(self, days=0, hours=0, minutes=0, seconds=0, server=False):
        return self.server.clock_shift(days, hours, minutes, seconds, vault=self._target(server))

    def set(self, time, server=False):
        return self.server.clock_set(time, vault=self._target(server))

    def show(self):
        return self.server.clock_show()

    def reset(self):
        self.server.clock_reset(vault=None if self.moved_server else self.vault.name)


@pytest.fixture
def coffre_clock(coffre_server, coffre_vault):
    clock = Clock(coffre_server, coffre_vault)
    yield clock
    clock.reset()


class Faults:
    """Fault injection for one test: faults match the test's vault unless `vault=` says otherwise; removed after."""

    def __init__(self, server, vault):
        self.server, self.vault, self.added = server, vault, []

    def add(self, status=None, operation=None, retry_after=None, rate=None, count=None, latency_ms=None, vault=None):
        fault = self.server.fault_add(status=status, vault=vault or self.vault.name, operation=operation, retry_after=retry_after,
                                      rate=rate, count=count, latency_ms=latency_ms)
        self.added.append(fault["id"])
        return fault

    def list(self):
        return [fault for fault in self.server.fault_list() if fault["id"] in self.added]

    def get(self, fault_id):
        return next(fault for fault in self.server.fault_list() if fault["id"] == fault_id)

    def clear(self):
        for fault_id in self.added:
            try:
                self.server.fault_remove(fault_id)
            except Exception:
                pass
        self.added = []


@pytest.fixture
def coffre_faults(coffre_server, coffre_vault):
    faults = Faults(coffre_server, coffre_vault)
    yield faults
    faults.clear()
