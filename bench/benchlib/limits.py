"""The limits of this machine, measured in the same run as Coffre:

- hello: coffre-hello (a minimal Hummingbird TLS route, same JSON size as a GET-secret response) under wrk;
- RSA-2048 private-key operations: `openssl speed -multi <cores> rsa2048` (sign/s);
- raw durable SQLite commits: WAL, synchronous=FULL, one ~300-byte row per commit, one writer;
- raw durable PostgreSQL commits: pgbench, one INSERT per transaction, fsync=on, synchronous_commit=on;
- for the hardware-key rows, a SoftHSM2 token (`SoftHSMToken`) for a Coffre of its own, whose software keys are the
  limit (the same signatures, same server, same run).
"""

import os
import re
import shutil
import sqlite3
import ssl
import statistics
import subprocess
import time
import urllib.request

from . import procs

PG_BIN = "/usr/lib/postgresql/15/bin"


# MARK: - hello


def make_certificate(directory: str) -> tuple[str, str]:
    """A self-signed ECDSA P-256 certificate for 127.0.0.1: the key type of Coffre's own TLS certificate."""
    cert, key = os.path.join(directory, "hello-cert.pem"), os.path.join(directory, "hello-key.pem")
    procs.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
               "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
               "-addext", "subjectAltName=IP:127.0.0.1"], timeout=30, check=True)
    return cert, key


def start_hello(binary: str, workdir: str, body_bytes: int) -> int:
    """Starts coffre-hello on a free loopback port; returns the port."""
    cert, key = make_certificate(workdir)
    port = procs.free_port()
    log = os.path.join(workdir, "hello.log")
    process = procs.start("coffre-hello", [binary, "--cert", cert, "--key", key, "--port", str(port),
                                           "--body-bytes", str(body_bytes)], log)
    insecure = ssl._create_unverified_context()  # the benchmark's own throwaway certificate
    procs.wait_until(lambda: urllib.request.urlopen(f"https://127.0.0.1:{port}/hello", context=insecure, timeout=2).status == 200,
                     30, "coffre-hello", process, log)
    return port


# MARK: - RSA


def openssl_rsa2048_sign(seconds: int, processes: int) -> dict:
    """`openssl speed -multi N -seconds S rsa2048`: RSA-2048 sign/s over N processes (all the cores)."""
    argv = ["openssl", "speed", "-multi", str(processes), "-seconds", str(seconds), "rsa2048"]
    completed = procs.run(argv, timeout=4 * seconds + 60)
    # The summary line: "rsa 2048 bits 0.000461s 0.000012s   2170.0  81003.0" (times, then sign/s and verify/s).
    match = re.search(r"^rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)", completed.stdout, re.M)
    if not match:
        raise RuntimeError(f"cannot parse openssl speed output: {completed.stdout[-400:]} {completed.stderr[-400:]}")
    return {"ops": float(match.group(1)), "verify_ops": float(match.group(2)), "command": " ".join(argv)}


# MARK: - SQLite


def sqlite_commits(directory: str, commits: int) -> dict:
    """Raw durable SQLite: one writer, one ~300-byte row per autocommit INSERT, WAL + synchronous=FULL."""
    path = os.path.join(directory, "raw-sqlite.db")
    connection = sqlite3.connect(path, isolation_level=None)  # autocommit: every INSERT is one durable commit
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("CREATE TABLE secrets(name TEXT, version TEXT, value TEXT, attrs TEXT, PRIMARY KEY(name, version))")
    value, attrs = "v" * 256, '{"enabled":true}'
    latencies = []
    started = time.perf_counter()
    for i in range(commits):
        t0 = time.perf_counter()
        connection.execute("INSERT INTO secrets VALUES (?, ?, ?, ?)", (f"s{i}", os.urandom(16).hex(), value, attrs))
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    connection.close()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return {"ops": commits / elapsed, **latency_summary(latencies), "requests": commits, "connections": 1,
            "command": f"python sqlite3 {sqlite3.sqlite_version}: {commits} autocommit INSERTs, WAL, synchronous=FULL"}


def latency_summary(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000
    return {"p50_ms": pick(0.50), "p99_ms": pick(0.99), "mean_ms": statistics.fmean(ordered) * 1000}


# MARK: - PostgreSQL


class Postgres:
    """A throwaway PostgreSQL 15 cluster on 127.0.0.1 (run as the postgres user), durable commits on."""

    def __init__(self, workdir: str):
        self.root = os.path.join(workdir, "pg")
        self.data = os.path.join(self.root, "data")
        self.port = procs.free_port()
        self.running = False

    def as_postgres(self, argv: list[str], timeout: float) -> subprocess.CompletedProcess:
        return procs.run(["runuser", "-u", "postgres", "--"] + argv, timeout=timeout)

    def start(self) -> None:
        os.makedirs(self.root)
        shutil.chown(self.root, "postgres", "postgres")
        done = self.as_postgres([f"{PG_BIN}/initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync"], 120)
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr[-500:]}")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.root} "
                   "-c fsync=on -c synchronous_commit=on -c shared_buffers=256MB -c max_connections=100")
        procs.on_exit(self.stop)
        done = self.as_postgres([f"{PG_BIN}/pg_ctl", "-D", self.data, "-l", os.path.join(self.root, "log"), "-w", "-t", "60",
                                 "-o", options, "start"], 90)
        if done.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start: {done.stderr[-500:]}; see {self.root}/log")
        self.running = True
        self.psql("CREATE DATABASE coffre")

    def psql(self, sql: str, database: str = "postgres") -> None:
        procs.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1",
                   "-q", "-c", sql], timeout=60, check=True)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/coffre"

    def stop(self) -> None:
        if self.running:
            self.as_postgres([f"{PG_BIN}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "60", "stop"], 90)
            self.running = False

    def insert_commits(self, clients: int, duration: int, workdir: str) -> dict:
        """pgbench: one ~300-byte INSERT per transaction over TCP, `clients` connections, 2 pgbench threads."""
        self.psql("CREATE TABLE secrets(name text, version text, value text, attrs jsonb, PRIMARY KEY(name, version))")
        script = os.path.join(workdir, "pg_insert.sql")
        with open(script, "w") as f:
            f.write("INSERT INTO secrets(name, version, value, attrs) VALUES "
                    "('s' || :client_id || '-' || random(), md5(random()::text), repeat('v', 256), '{\"enabled\":true}');\n")
        logs = os.path.join(workdir, "pgbench-logs")
        os.makedirs(logs, exist_ok=True)
        argv = ["pgbench", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-n", "-f", script,
                "-c", str(clients), "-j", "2", "-T", str(duration), "-l", "--log-prefix", os.path.join(logs, "tx"), "postgres"]
        done = procs.run(argv, timeout=duration + 60)
        match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
        if not match:
            raise RuntimeError(f"cannot parse pgbench output: {done.stdout[-400:]} {done.stderr[-400:]}")
        # Per-transaction log lines: "client_id transaction_no latency_us script_no time_epoch time_us".
        latencies = []
        for name in os.listdir(logs):
            with open(os.path.join(logs, name)) as f:
                latencies += [int(line.split()[2]) / 1e6 for line in f if line.strip()]
        shutil.rmtree(logs)
        self.psql("DROP TABLE secrets")
        summary = latency_summary(latencies) if latencies else {}
        return {"ops": float(match.group(1)), **summary, "connections": clients, "requests": len(latencies),
                "command": " ".join(argv[:-4] + ["postgres"])}


# MARK: - SoftHSM2


SOFTHSM_MODULES = ["/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
                   "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"]


class SoftHSMToken:
    """A SoftHSM2 token in the work directory (`softhsm2-util --init-token`), and the `coffre serve` arguments and
    environment that give it to Coffre."""

    def __init__(self, workdir: str, label: str = "bench"):
        module = next((path for path in SOFTHSM_MODULES if os.path.exists(path)), None)
        if module is None:
            raise RuntimeError("SoftHSM2 is not installed (Debian: softhsm2)")
        directory = os.path.join(workdir, "softhsm")
        os.makedirs(os.path.join(directory, "tokens"))
        self.env = {"SOFTHSM2_CONF": os.path.join(directory, "softhsm2.conf")}
        with open(self.env["SOFTHSM2_CONF"], "w") as f:
            f.write(f"directories.tokendir = {directory}/tokens\nobjectstore.backend = file\nlog.level = ERROR\n")
        pin_file = os.path.join(directory, "pin")
        with open(pin_file, "w") as f:
            f.write("1234-bench\n")
        os.chmod(pin_file, 0o600)
        procs.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", "1234-bench", "--so-pin", "5678-bench"],
                  timeout=60, check=True, env=dict(os.environ, **self.env))
        self.serve_args = ["--pkcs11-module", module, "--pkcs11-token-label", label, "--pkcs11-pin-file", pin_file]
