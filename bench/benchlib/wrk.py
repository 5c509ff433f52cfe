"""Runs wrk (fixed duration and connections) with bench/lua/request.lua and parses its one-line JSON result."""

import json
import os
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


def run(load: Load, connections: int, duration: float, workdir: str, threads: int = 2, limit: int | None = None,
        timeout_s: int = 10) -> dict:
    """Returns {"ops": requests/s, "p50_ms", "p99_ms", "requests", "errors", ...}. Status errors are HTTP >= 400."""
    threads = min(threads, connections)
    env = dict(os.environ)
    env["BENCH_METHOD"] = load.method
    env["BENCH_PATH"] = load.path
    env["BENCH_HEADERS"] = "\n".join(f"{k}: {v}" for k, v in load.headers.items())
    env["BENCH_THREADS"] = str(threads)
    env.pop("BENCH_LIMIT", None)
    if limit is not None:
        env["BENCH_LIMIT"] = str(limit)
    env["BENCH_BODY_FILE"] = ""
    if load.body is not None:
        body_file = os.path.join(workdir, "wrk-body")
        with open(body_file, "wb") as f:
            f.write(load.body)
        env["BENCH_BODY_FILE"] = body_file
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", f"--timeout={timeout_s}s",
            "-s", LUA, load.base_url + "/"]
    completed = procs.run(argv, timeout=duration + timeout_s + 30, env=env)
    line = next((l for l in completed.stdout.splitlines() if l.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result (exit {completed.returncode}): {completed.stderr.strip()[:500]}")
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
