import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass


def find_binary(explicit=None):
    """The `coffre` executable: `explicit`, else `$COFFRE_BINARY`, else `coffre` on PATH (`pip install coffre` puts it there)."""
    for candidate in (explicit, os.environ.get("COFFRE_BINARY"), shutil.which("coffre")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("No coffre binary: pip install coffre, put coffre on PATH, or set COFFRE_BINARY (or --coffre-binary).")


_real_getaddrinfo = socket.getaddrinfo


def _pinned_getaddrinfo(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if isinstance(name, str) and name.lower().endswith(".localhost"):
        host = "127.0.0.1"
    return _real_getaddrinfo(host, *args, **kwargs)


def pin_localhost():
    """Resolve every `*.localhost` name (each vault's host) to 127.0.0.1 in this process, whatever the system's resolver
    does (glibc needs nss-myhostname for them). Nothing outside the process changes."""
    socket.getaddrinfo = _pinned_getaddrinfo


@dataclass(frozen=True)
class Vault:
    name: str
    url: str


class ManagementError(Exception):
    def __init__(self, status, code, message):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class CoffreServer:
    """One ephemeral Coffre server: in memory, on a free loopback port, with development controls (`--dev`)."""

    def __init__(self, binary=None, dev=True, extra_args=(), startup_timeout=30):
        self.binary = find_binary(binary)
        self.dev = dev
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.process = None
        self.env = {}
        self._directory = None
        self._token = None

    # -- lifecycle -----------------------------------------------------------------------------------------------
    def start(self):
        self._directory = tempfile.mkdtemp(prefix="coffre-")
        self.env_file = os.path.join(self._directory, "coffre.env")
        log = open(os.path.join(self._directory, "server.log"), "wb")
        command = [self.binary, "serve", "--ephemeral", "--port", "0", "--env-file", self.env_file, "--log-level", "warning"]
        self.process = subprocess.Popen(command + (["--dev"] if self.dev else []) + self.extra_args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + self.startup_timeout
        while not os.path.exists(self.env_file):
            if self.process.poll() is not None:
                raise RuntimeError("coffre exited: " + self.log())
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("coffre did not start: " + self.log())
            time.sleep(0.002)
        self.env = self.read_env(self.env_file)
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._directory:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def log(self):
        try:
            with open(os.path.join(self._directory, "server.log"), "rb") as f:
                return f.read().decode(errors="replace")
        except (OSError, TypeError):
            return ""

    @staticmethod
    def read_env(path):
        """The `export NAME='value'` lines of an env file, as a dict."""
        variables = {}
        with open(path) as f:
            for line in f:
                if not line.startswith("export "):
                    continue
                name, _, value = line[len("export "):].rstrip("\n").partition("=")
                if value.startswith("'") and value.endswith("'"):
                    value = value[1:-1].replace("'\\''", "'")
                variables[name] = value
        return variables

    # -- connection details ----------------------------------------------------------------------------------
    @property
    def ca_file(self):
        """The CA bundle to trust (the env file itself holds the CA certificate)."""
        return self.env["REQUESTS_CA_BUNDLE"]

    @property
    def port(self):
        return int(self.env["COFFRE_PORT"])

    @property
    def authority(self):
        return self.env["AZURE_AUTHORITY_HOST"]

    @property
    def vault_zone(self):
        host = urllib.parse.urlsplit(self.env["AZURE_KEYVAULT_URL"]).hostname
        return host.split(".", 1)[1]

    def vault_url(self, name="default"):
        return f"https://{name}.{self.vault_zone}:{self.port}"

    @property
    def resource(self):
        return f"https://{self.vault_zone}:{self.port}"

    def export_environment(self, environ=None):
        """Sets what `eval "$(coffre env)"` sets (vault URL, CA bundle, managed identity) in `environ` (os.environ)."""
        environ = os.environ if environ is None else environ
        for name in ("AZURE_KEYVAULT_URL", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "AZURE_AUTHORITY_HOST", "AZURE_TENANT_ID",
                     "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "COFFRE_ENV_FILE"):
            if name in self.env:
                environ[name] = self.env[name]

    def credential(self, aio=False):
        """A credential for the admin identity: the App-Service-style managed identity of the env file."""
        if aio:
            from azure.identity.aio import ManagedIdentityCredential
        else:
            from azure.identity import ManagedIdentityCredential
        return ManagedIdentityCredential()

    # -- management API (administrator) ---------------------------------------------------------------------
    def _context(self):
        return ssl.create_default_context(cafile=self.ca_file)

    def token(self):
        if self._token is None or self._token[1] - 300 < time.time():
            query = urllib.parse.urlencode({"api-version": "2019-08-01", "resource": self.resource})
            request = urllib.request.Request(f"{self.authority}/msi/token?{query}", headers={"X-IDENTITY-HEADER": self.env["IDENTITY_HEADER"]})
            with urllib.request.urlopen(request, context=self._context(), timeout=30) as response:
                answer = json.load(response)
            self._token = (answer["access_token"], int(answer["expires_on"]))
        return self._token[0]

    def management(self, method, path, body=None):
        """Calls `/coffre/v1/{path}` as the administrator; returns the JSON answer (None when empty)."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.token()}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(f"{self.authority}/coffre/v1/{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, context=self._context(), timeout=60) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            try:
                envelope = json.loads(error.read())["error"]
            except Exception:
                envelope = {"code": str(error.code), "message": error.reason}
            raise ManagementError(error.code, envelope.get("code"), envelope.get("message")) from None
        return json.loads(raw) if raw else None

    # -- vaults ---------------------------------------------------------------------------------------------
    def create_vault(self, name=None, retention_days=7, purge_protection=False, rbac_authorization=False):
        name = name or "t" + uuid.uuid4().hex[:12]
        self.management("POST", "vaults", {"name": name, "retentionDays": retention_days, "purgeProtection": purge_protection,
                                           "rbacAuthorization": rbac_authorization})
        return Vault(name, self.vault_url(name))

    def delete_vault(self, name):
        self.management("DELETE", f"vaults/{name}")

    def import_vault(self, name, seed):
        """Loads a seed (the dict of one vault, see docs/seed-format.md) into vault `name`; returns the report."""
        return self.management("POST", f"vaults/{name}/import", seed)

    def export_vault(self, name, include_values=False):
        return self.management("GET", f"vaults/{name}/export" + ("?includeValues=true" if include_values else ""))

    # -- time travel -------------------------------------------------------------------------------------------
    def clock_shift(self, days=0, hours=0, minutes=0, seconds=0, vault=None):
        total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
        return self.management("POST", "clock/shift", {"seconds": int(total), "vault": vault})

    def clock_set(self, time, vault=None):
        """`time`: ISO 8601 text, seconds since 1970, or a datetime."""
        if hasattr(time, "isoformat"):
            time = int(time.timestamp())
        return self.management("PUT", "clock", {"time": time, "vault": vault})

    def clock_reset(self, vault=None):
        return self.management("DELETE", "clock" + (f"?vault={vault}" if vault else ""))

    def clock_show(self):
        return self.management("GET", "clock")

    # -- faults ------------------------------------------------------------------------------------------------
    def fault_add(self, status=None, vault=None, operation=None, retry_after=None, rate=None, count=None, latency_ms=None):
        return self.management("POST", "faults", {"status": status, "vault": vault, "operation": operation, "retryAfter": retry_after,
                                                  "rate": rate, "count": count, "latencyMs": latency_ms})

    def fault_list(self):
        return self.management("GET", "faults")

    def fault_remove(self, fault_id):
        return self.management("DELETE", f"faults/{fault_id}")

    def fault_clear(self):
        return self.management("DELETE", "faults")
