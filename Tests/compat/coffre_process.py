"""Start and stop Coffre binaries for the compatibility suite: loopback only, temporary data directory, free port."""
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("COFFRE_BINARY", os.path.join(ROOT, ".build", "debug", "coffre"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Coffre:
    """One running server with its own data directory."""

    def __init__(self, data=None, port=None, extra_args=(), env=None):
        self.owns_data = data is None
        self.data = data or tempfile.mkdtemp(prefix="coffre-compat-")
        self.port = port or free_port()
        self.extra_args = list(extra_args)
        self.extra_env = dict(env or {})  # besides the test process's environment at each start or command
        self.process = None
        self.log_path = os.path.join(self.data, "server.log")

    # -- lifecycle -----------------------------------------------------------------------------------------------
    def start(self, timeout=60):
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [BINARY, "serve", "--data", self.data, "--port", str(self.port)] + self.extra_args,
            stdout=self.log, stderr=subprocess.STDOUT, env=dict(os.environ, **self.extra_env))
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("coffre exited: " + self.read_log())
            try:
                context = ssl.create_default_context(cafile=self.ca_file)
                with urllib.request.urlopen(f"https://127.0.0.1:{self.port}/healthz", context=context, timeout=2) as r:
                    if r.status == 200:
                        return self
            except Exception:
                time.sleep(0.1)
        raise RuntimeError("coffre did not become healthy: " + self.read_log())

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "log", None):
            self.log.close()

    def kill(self):
        """kill -9: no chance to flush anything."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.log.close()

    def cleanup(self):
        self.stop()
        if self.owns_data:
            shutil.rmtree(self.data, ignore_errors=True)

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    # -- connection details ----------------------------------------------------------------------------------
    @property
    def ca_file(self):
        return os.path.join(self.data, "ca.pem")

    @property
    def authority(self):
        return f"https://localhost:{self.port}"

    def vault_url(self, name="default"):
        return f"https://{name}.vault.localhost:{self.port}"

    def hsm_url(self, name):
        return f"https://{name}.managedhsm.localhost:{self.port}"

    def cli(self, *args, check=True):
        """Runs `coffre ARGS --data DIR`; returns the completed process."""
        result = subprocess.run([BINARY, *args, "--data", self.data], capture_output=True, text=True, timeout=60,
                                env=dict(os.environ, **self.extra_env))
        if check and result.returncode != 0:
            raise RuntimeError(f"coffre {' '.join(args)} failed: {result.stdout}{result.stderr}")
        return result

    def cli_json(self, *args):
        return json.loads(self.cli(*args).stdout)

    def env(self, *args):
        """The variables `coffre env ARGS` exports, as a dict."""
        variables = {}
        for line in self.cli("env", *args).stdout.splitlines():
            assert line.startswith("export ")
            name, _, value = line[len("export "):].partition("=")
            assert value.startswith("'") and value.endswith("'")
            variables[name] = value[1:-1].replace("'\\''", "'")
        return variables


class TemporaryPostgres:
    """A PostgreSQL 15 cluster on a temporary directory and a free loopback port (as the postgres user when root); with
    `base_backup_of`, a streaming-replication standby of that cluster (see `start_synchronous_standby`)."""

    BIN = os.environ.get("COFFRE_POSTGRES_BIN", "/usr/lib/postgresql/15/bin")

    def __init__(self, base_backup_of=None):
        self.directory = tempfile.mkdtemp(prefix="coffre-pg-")
        self.data = os.path.join(self.directory, "data")
        self.port = free_port()
        if os.getuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        if base_backup_of:
            self._run([f"{self.BIN}/pg_basebackup", "-h", "127.0.0.1", "-p", str(base_backup_of.port), "-U", "postgres", "-D", self.data,
                       "-R", "-X", "stream", "--no-sync", "-c", "fast"])
        else:
            self._run([f"{self.BIN}/initdb", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync", "-D", self.data])
        self.start()

    def _run(self, command):
        if os.getuid() == 0:
            command = ["runuser", "-u", "postgres", "--"] + command
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {result.stdout}{result.stderr}")
        return result

    def start(self):
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.directory} -c fsync=on -c synchronous_commit=on "
                   f"-c max_connections=300")
        self._run([f"{self.BIN}/pg_ctl", "start", "-w", "-t", "60", "-D", self.data, "-l", os.path.join(self.directory, "log"),
                   "-o", options])

    def stop(self, mode="fast"):
        self._run([f"{self.BIN}/pg_ctl", "stop", "-w", "-m", mode, "-D", self.data])

    def psql(self, sql, database="postgres"):
        return self._run([f"{self.BIN}/psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                          "-U", "postgres", "-d", database, "-c", sql]).stdout.strip()

    def create_database(self, name):
        self.psql(f"CREATE DATABASE {name}")
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}?sslmode=disable"

    def start_synchronous_standby(self):
        """A standby (pg_basebackup -R) that this cluster then waits for at each commit: promoting it loses no acknowledged
        write. Promoted, it keeps no synchronous_standby_names, so it commits alone."""
        standby = TemporaryPostgres(base_backup_of=self)
        self.psql("ALTER SYSTEM SET synchronous_standby_names = '*'")
        self.psql("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 30
        while self.psql("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") != "1":
            if time.monotonic() > deadline:
                raise RuntimeError("the standby did not become synchronous")
            time.sleep(0.1)
        return standby

    def promote(self):
        self._run([f"{self.BIN}/pg_ctl", "promote", "-w", "-t", "30", "-D", self.data])

    def kill9(self):
        """kill -9 of the postmaster: no shutdown, no checkpoint, no goodbye."""
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            pid = int(f.readline())
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.01)
        os.remove(os.path.join(self.data, "postmaster.pid"))

    def cleanup(self):
        try:
            self.stop("immediate")
        except Exception:
            pass
        shutil.rmtree(self.directory, ignore_errors=True)
