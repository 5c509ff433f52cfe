"""Ratios, pass/fail, the printed table and the JSON report."""

import datetime
import json
import os
import platform
import statistics
import subprocess

from .scenarios import LIMITS, P99_LIMIT_MS, PEER_FACTOR, SCENARIOS

ERROR_BUDGET = 0.001  # more than 0.1% of answers with HTTP >= 400 (or socket errors) fails a scenario


def machine() -> dict:
    """nproc, CPU model, memory, kernel and load: what the numbers depend on."""
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "unknown")
    memory = next((line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal:")), "0")
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": round(int(memory) / 1024 / 1024, 1),
        "kernel": platform.release(),
        "loadavg_start": os.getloadavg(),
    }


def tool_versions(extra: dict) -> dict:
    def first_line(argv):
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            return (done.stdout or done.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "unknown"

    return {"wrk": first_line(["wrk", "-v"]), "openssl": first_line(["openssl", "version"]),
            "swift": first_line(["swift", "--version"]), "postgres": first_line(["/usr/lib/postgresql/15/bin/postgres", "-V"]),
            **extra}


def errors_of(result: dict, cold: bool) -> int:
    errors = result.get("errors") or {}
    counted = ["status", "connect", "write", "timeout"] + ([] if cold else ["read"])  # wrk counts each close as a read error
    return sum(errors.get(name, 0) for name in counted)


def evaluate(scenario_results: dict, limits: dict, peers: dict) -> list[dict]:
    """One row per scenario: its numbers, ratios, the checks that apply and whether they pass."""
    rows = []
    for scenario in SCENARIOS:
        result = scenario_results.get(scenario.name)
        row = {"scenario": scenario.name, "what": scenario.what, "connections": scenario.connections,
               "limit": scenario.limit, "peer": scenario.peer}
        if not isinstance(result, dict):
            row.update(available=False, reason=result or "not measured", checks=[])
            rows.append(row)
            continue
        row.update(available=True, **{k: result[k] for k in ("ops", "p50_ms", "p99_ms", "requests", "errors") if k in result},
                   runs_ops=result.get("runs_ops"))
        checks = []
        limit = limits.get(scenario.limit) if scenario.limit else None
        if "paired_ratio" in result:
            # The limit measured right before each run (see bench/run `paired_runs`).
            row["limit_ops"] = statistics.median(result["paired_limit_ops"])
            row["ratio"] = result["paired_ratio"]
            row["paired_limit_ops"] = result["paired_limit_ops"]
        elif isinstance(limit, dict):
            row["limit_ops"] = limit["ops"]
            row["ratio"] = result["ops"] / limit["ops"]
        if "ratio" in row:
            if scenario.target is not None:
                checks.append({"check": f"ratio >= {scenario.target}", "source": scenario.source,
                               "pass": row["ratio"] >= scenario.target})
        peer = peers.get(scenario.peer)
        if isinstance(peer, dict) and peer["ops"] > 0:
            row["peer_ops"] = peer["ops"]
            row["peer_factor"] = result["ops"] / peer["ops"]
            target = f"{PEER_FACTOR:g}x {scenario.peer}"
            check = {"check": f"ops >= {target}", "source": "issue", "pass": row["peer_factor"] >= PEER_FACTOR}
            needed = PEER_FACTOR * peer["ops"]
            ceiling = machine_ceiling(row, result)
            if not check["pass"] and ceiling and needed > ceiling["ops"]:
                check["beyond_machine"] = {"target": target, "needed_ops": needed, **ceiling}
            checks.append(check)
        if scenario.p99_check:
            checks.append({"check": f"p99 <= {P99_LIMIT_MS:g} ms", "source": "issue", "pass": result["p99_ms"] <= P99_LIMIT_MS})
        error_count = errors_of(result, cold="cold" in scenario.name)
        checks.append({"check": f"errors <= {ERROR_BUDGET:.1%}", "source": "harness",
                       "pass": error_count <= ERROR_BUDGET * max(1, result["requests"])})
        row["checks"] = checks
        row["pass"] = all(c["pass"] for c in checks if c["source"] != "anchors")
        rows.append(row)
    return rows


# Limits that no server could pass on this machine whatever it did, and why (formatted with the scenario's result): an
# RSA row cannot pass `openssl speed` on every core with no HTTP at all; a new TLS connection per request cannot pass
# the same TLS server stack answering a prebuilt body (coffre-hello), with wrk's own handshakes on the same cores.
CEILINGS = {
    "openssl-rsa2048-sign": "openssl speed alone on every core, no HTTP",
    "hello-cold": "the same TLS stack answering a prebuilt body; wrk itself used {client_cpu_us:.0f} us of CPU per connection",
}


def machine_ceiling(row: dict, result: dict) -> dict | None:
    """The row's paired limit, when that limit is a ceiling of the machine (`CEILINGS`)."""
    why = CEILINGS.get(row.get("limit"))
    if why is None or not row.get("limit_ops"):
        return None
    return {"ops": row["limit_ops"], "why": why.format(**result)}


def _num(value, digits=0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(limits: dict, peers: dict, rows: list[dict]) -> str:
    header = f"{'scenario':<26}{'c':>4}{'ops/s':>10}{'p50 ms':>9}{'p99 ms':>9}  {'vs limit':<28}{'ratio':>6}{'target':>9}{'x moto':>8}  result"
    lines = [header, "-" * len(header)]
    for name, result in list(limits.items()) + list(peers.items()):
        kind = "limit" if name in limits else "peer"
        if isinstance(result, dict):
            lines.append(f"{name:<26}{result.get('connections', '') or '':>4}{_num(result['ops']):>10}"
                         f"{_num(result.get('p50_ms'), 2):>9}{_num(result.get('p99_ms'), 2):>9}  ({kind})")
        else:
            lines.append(f"{name:<26}{'':>4}{'':>10}{'':>9}{'':>9}  ({kind}) {result}")
    lines.append("-" * len(header))
    for row in rows:
        if not row["available"]:
            lines.append(f"{row['scenario']:<26}{row['connections']:>4}  {row['reason']}")
            continue
        target = next((c for c in row["checks"] if c["check"].startswith("ratio")), None)
        target_text = "-" if target is None else (">=" + c_value(target["check"]) + ("*" if target["source"] == "anchors" else ""))
        limit_text = f"{row['limit']} {_num(row.get('limit_ops'))}" if row.get("limit_ops") else "-"
        result = verdict(row["checks"])
        lines.append(f"{row['scenario']:<26}{row['connections']:>4}{_num(row['ops']):>10}{_num(row['p50_ms'], 2):>9}"
                     f"{_num(row['p99_ms'], 2):>9}  {limit_text:<28}{_num(row.get('ratio'), 2):>6}{target_text:>9}"
                     f"{_num(row.get('peer_factor'), 1):>8}  {result}")
    lines.append("")
    lines.append("* a target suggested by perf-anchors.md, not one of the issue's (reported, does not fail the run)")
    for row in rows:
        for check in row.get("checks", []):
            if beyond := check.get("beyond_machine"):
                lines.append(f"+ {row['scenario']}: {beyond['target']} = {_num(beyond['needed_ops'])}/s, "
                             f"above this machine's ceiling of {_num(beyond['ops'])}/s in this run ({beyond['why']})")
    lines += [f"{name}: {what}" for name, what in LIMITS.items()]
    return "\n".join(lines)


def verdict(checks: list[dict]) -> str:
    """PASS or FAIL with the failed checks (+: beyond what this machine can do, see the note under the table); a missed
    advisory (anchors) target is named but does not fail."""
    required = [c["check"] + ("+" if "beyond_machine" in c else "") for c in checks if not c["pass"] and c["source"] != "anchors"]
    advisory = [c["check"] for c in checks if not c["pass"] and c["source"] == "anchors"]
    text = "FAIL: " + ", ".join(required) if required else "PASS"
    return text + (f" (advisory miss: {', '.join(advisory)})" if advisory else "")


def c_value(check: str) -> str:
    return check.split(">=")[1].strip()


def write_json(path: str, document: dict) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    document = {"generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), **document}
    with open(path, "w") as f:
        json.dump(document, f, indent=2, default=str)
        f.write("\n")
