"""Coffre under test: start it in a temporary data directory, get a real bearer token from its own token service
(the App-Service-style managed identity that `coffre env` describes), and talk to its REST API."""

import http.client
import json
import os
import shlex
import ssl
import time
import urllib.parse
import urllib.request

from . import procs
from .wrk import Load

API = "api-version=7.4"


class ApiError(Exception):
    def __init__(self, status: int, body: bytes):
        self.status = status
        try:
            error = json.loads(body).get("error", {})
            detail = f"{error.get('code', '')}: {error.get('message', '')}"
        except (ValueError, AttributeError):
            detail = body[:200].decode(errors="replace")
        super().__init__(f"HTTP {status} {detail}")


class Coffre:
    def __init__(self, binary: str, workdir: str, name: str = "coffre", extra_args: list[str] | None = None, env: dict | None = None):
        self.binary = binary
        self.data = os.path.join(workdir, name)
        self.port = procs.free_port()
        self.log = os.path.join(workdir, f"{name}.log")
        argv = [binary, "serve", "--data", self.data, "--port", str(self.port), "--bind", "127.0.0.1"] + (extra_args or [])
        self.process = procs.start(name, argv, self.log, env=dict(os.environ, **env) if env else None)
        self.ca_file = os.path.join(self.data, "ca.pem")
        procs.wait_until(lambda: os.path.exists(self.ca_file), 120, "Coffre (ca.pem)", self.process, self.log)
        self.tls = ssl.create_default_context(cafile=self.ca_file)
        procs.wait_until(self._healthy, 60, "Coffre (/healthz)", self.process, self.log)
        self.host = f"default.vault.localhost:{self.port}"
        self._token, self._token_time = None, 0.0
        self._connection = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def _healthy(self) -> bool:
        with urllib.request.urlopen(f"{self.base_url}/healthz", context=self.tls, timeout=2) as response:
            return response.status == 200

    def env(self) -> dict:
        """`coffre env --data DIR`, parsed from its `export NAME='value'` lines."""
        done = procs.run([self.binary, "env", "--data", self.data], timeout=60, check=True)
        variables = {}
        for line in done.stdout.splitlines():
            if line.startswith("export "):
                name, _, value = line[len("export "):].partition("=")
                variables[name] = shlex.split(value)[0] if value else ""
        return variables

    def token(self) -> str:
        """A bearer token for the vaults (resource https://vault.localhost:PORT), renewed every 20 minutes."""
        if self._token and time.monotonic() - self._token_time < 1200:
            return self._token
        env = self.env()
        query = urllib.parse.urlencode({"api-version": "2019-08-01", "resource": f"https://vault.localhost:{self.port}"})
        request = urllib.request.Request(f"{env['IDENTITY_ENDPOINT']}?{query}", headers={"X-IDENTITY-HEADER": env["IDENTITY_HEADER"]})
        with urllib.request.urlopen(request, context=self.tls, timeout=10) as response:
            self._token = json.loads(response.read())["access_token"]
        self._token_time = time.monotonic()
        return self._token

    def headers(self, json_body: bool = False) -> dict:
        headers = {"Host": self.host, "Authorization": f"Bearer {self.token()}"}
        if json_body:
            headers["Content-Type"] = "application/json"
        return headers

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[bytes, dict]:
        """One REST call on a kept-alive connection to the default vault; returns (raw body, parsed JSON)."""
        payload = json.dumps(body).encode() if body is not None else None
        for attempt in range(2):
            if self._connection is None:
                self._connection = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.tls, timeout=60)
            try:
                self._connection.request(method, path, body=payload, headers=self.headers(payload is not None))
                response = self._connection.getresponse()
                raw = response.read()
                break
            except (http.client.HTTPException, OSError):
                self._connection.close()
                self._connection = None
                if attempt == 1:
                    raise
        if response.status >= 300:
            raise ApiError(response.status, raw)
        return raw, (json.loads(raw) if raw else {})

    def load(self, method: str, path: str, body: dict | None = None, close: bool = False) -> Load:
        """The same request, for wrk: bearer token, the vault's Host header, JSON body."""
        headers = self.headers(body is not None)
        if close:
            headers["Connection"] = "close"
        return Load(self.base_url, path, method, headers, json.dumps(body).encode() if body is not None else None)

    def rss_kib(self) -> int | None:
        return procs.rss_kib(self.pid)


def key_path(kid: str) -> str:
    """`/keys/{name}/{version}` from a key identifier (an absolute URL)."""
    return urllib.parse.urlparse(kid).path
