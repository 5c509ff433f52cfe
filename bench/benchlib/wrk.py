"""Runs wrk (fixed duration and connections) with bench/lua/request.lua and parses its one-line JSON result."""

import itertools
import json
import os
import resource
import signal
import subprocess
import time
from dataclasses import dataclass, field

from . import procs

LUA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lua", "request.lua")


@dataclass
class Load:
    """What wrk sends: one request shape (see request.lua for "{n}" and "{i}" in the path)."""

    base_url: str  # scheme://127.0.0.1:port
    path: str
    method: str = "GET"
    headers: dict = field(default_factory=dict)
    body: bytes | None = None


_runs = itertools.count(1)


def _environment(load: Load, threads: int, workdir: str) -> dict:
    env = dict(os.environ)
    env["BENCH_RUN"] = str(next(_runs))  # names made by "{n}" are new in every run (creates, not new versions)
    env["BENCH_METHOD"] = load.method
    env["BENCH_PATH"] = load.path
    env["BENCH_HEADERS"] = "\n".join(f"{k}: {v}" for k, v in load.headers.items())
    env["BENCH_THREADS"] = str(threads)
    env["BENCH_BODY_FILE"] = ""
    for name in ("BENCH_LIMIT", "BENCH_DONE_DIR"):
        env.pop(name, None)
    if load.body is not None:
        body_file = os.path.join(workdir, "wrk-body")
        with open(body_file, "wb") as f:
            f.write(load.body)
        env["BENCH_BODY_FILE"] = body_file
    return env


def _argv(load: Load, threads: int, connections: int, duration: float, timeout_s: int) -> list[str]:
    return ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", f"--timeout={timeout_s}s", "-s", LUA, load.base_url + "/"]


def run(load: Load, connections: int, duration: float, workdir: str, threads: int = 2, timeout_s: int = 10) -> dict:
    """Returns {"ops": requests/s, "p50_ms", "p99_ms", "requests", "errors", ...}. Status errors are HTTP >= 400."""
    threads = min(threads, connections)
    env = _environment(load, threads, workdir)
    before = _children_cpu_s()
    completed = procs.run(_argv(load, threads, connections, duration, timeout_s), timeout=duration + timeout_s + 30, env=env)
    result = _parse(completed.stdout, completed.stderr, completed.returncode, connections, threads)
    # wrk's own CPU: what the client alone costs per request on the cores it shares with the server.
    result["client_cpu_us"] = (_children_cpu_s() - before) / max(1, result["requests"]) * 1e6
    return result


def _children_cpu_s() -> float:
    """User + system CPU of the benchmark's finished child processes (wrk is the only one ending during a run)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def fill(load: Load, count: int, connections: int, workdir: str, deadline: float, threads: int = 2) -> dict:
    """Sends request i = 0 ..< count once each (path with "{i}"), then stops wrk as soon as all have a 2xx answer."""
    env = _environment(load, threads, workdir)
    env["BENCH_LIMIT"] = str(count)
    done_dir = os.path.join(workdir, "fill-done")
    os.makedirs(done_dir, exist_ok=True)
    env["BENCH_DONE_DIR"] = done_dir
    process = subprocess.Popen(_argv(load, threads, connections, deadline, 10), env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        while process.poll() is None and len(os.listdir(done_dir)) < threads:
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)  # wrk stops and still reports (done() runs)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    result = _parse(stdout, stderr, process.returncode, connections, threads)
    result["complete"] = len(os.listdir(done_dir)) == threads
    return result


def _parse(stdout: str, stderr: str, returncode: int, connections: int, threads: int) -> dict:
    line = next((l for l in stdout.splitlines() if l.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result (exit {returncode}): {stderr.strip()[:500]}")
    raw = json.loads(line[len("BENCH_RESULT "):])
    seconds = raw["duration_us"] / 1e6
    latency = raw["latency_us"]
    return {
        "ops": raw["requests"] / seconds if seconds > 0 else 0.0,
        "p50_ms": latency["p50"] / 1000,
        "p90_ms": latency["p90"] / 1000,
        "p99_ms": latency["p99"] / 1000,
        "max_ms": latency["max"] / 1000,
        "requests": raw["requests"],
        "seconds": seconds,
        "errors": raw["errors"],
        "connections": connections,
        "threads": threads,
    }
