"""Processes the benchmark starts: each is recorded and stopped at exit, by its own process group id."""

import atexit
import os
import signal
import socket
import subprocess
import time

_started: list[tuple[str, subprocess.Popen]] = []
_cleanups: list = []


def start(name: str, argv: list[str], log_path: str, env: dict | None = None, cwd: str | None = None) -> subprocess.Popen:
    """Starts a background process in its own session (so stopping it also stops its children)."""
    log = open(log_path, "ab")
    process = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=cwd, start_new_session=True
    )
    _started.append((name, process))
    return process


def stop(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM to the process group the benchmark created, then SIGKILL after `grace` seconds."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


def on_exit(cleanup) -> None:
    """Registers a cleanup (e.g. `pg_ctl stop`) run at exit before the processes are stopped."""
    _cleanups.append(cleanup)


def stop_all() -> None:
    for cleanup in reversed(_cleanups):
        try:
            cleanup()
        except Exception as error:  # a failed cleanup must not prevent the others
            print(f"cleanup failed: {error}")
    _cleanups.clear()
    for _, process in reversed(_started):
        stop(process)
    _started.clear()


def _on_signal(signum, _frame):
    raise SystemExit(128 + signum)


atexit.register(stop_all)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGHUP, _on_signal)


def free_port() -> int:
    """A port that is free on 127.0.0.1 now (the kernel picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout: float, what: str, process: subprocess.Popen | None = None, log_path: str | None = None):
    """Polls `check()` until it returns a true value; fails after `timeout` seconds or if `process` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: the process exited ({process.returncode}); see {log_path}")
        try:
            value = check()
            if value:
                return value
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what}: not ready after {timeout:.0f} s; see {log_path}")


def run(argv: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """A bounded foreground command; output captured as text."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)


def rss_kib(pid: int) -> int | None:
    """Resident set size (VmRSS) of a process, in KiB."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None
