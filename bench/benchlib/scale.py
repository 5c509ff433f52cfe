"""Scale check (bench/run --scale): a vault with many secrets (100,000 by default).

- idle RSS of a fresh Coffre, then the vault is filled through the API (PUT over 32 keep-alive connections);
- a page of `list secrets` (25 items) is measured at the start, the middle and the end of the name range. The
  cursor of a page is the `$skiptoken`: base64url of the last name of the previous page, lower-cased (see
  `paging()` in Sources/CoffreHTTP/Routes.swift and `page()` in VersionedStore). The harness checks that reading on
  the API's own `nextLink` agrees with that before building cursors deep in the range;
- idle RSS again after the fill.
"""

import base64
import statistics
import time
import urllib.parse

from . import wrk
from .coffre import API, Coffre
from .scenarios import SECRET_VALUE

IDLE_RSS_LIMIT_MIB = 64
FULL_RSS_LIMIT_MIB = 256
SAME_COST = (0.8, 1.25)  # end-of-range page cost relative to the first page, allowing for noise


def name(i: int) -> str:
    return f"scale-{i:06d}"


def skiptoken(cursor: str) -> str:
    return base64.urlsafe_b64encode(cursor.encode()).rstrip(b"=").decode()


def idle_rss_mib(coffre: Coffre, settle: float) -> float:
    time.sleep(settle)
    return (coffre.rss_kib() or 0) / 1024


def check_cursor_encoding(coffre: Coffre) -> None:
    """The first page's nextLink must carry base64url(lower-cased last name of the page)."""
    _, page = coffre.request("GET", f"/secrets?{API}&maxresults=25")
    last = page["value"][-1]["id"].rstrip("/").split("/")[-1]
    query = urllib.parse.parse_qs(urllib.parse.urlparse(page["nextLink"]).query)
    token = query["$skiptoken"][0]
    decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    if decoded != last.lower():
        raise RuntimeError(f"the $skiptoken encodes {decoded!r}, not the page's last name {last!r}: update bench/benchlib/scale.py")


def page_path(position: int) -> str:
    """The list page that starts at item `position` (0 = the first page, without a cursor)."""
    if position == 0:
        return f"/secrets?{API}&maxresults=25"
    return f"/secrets?{API}&$skiptoken={skiptoken(name(position - 1).lower())}&maxresults=25"


def run(binary: str, workdir: str, count: int, duration: float, repeat: int, fill_timeout: float) -> dict:
    coffre = Coffre(binary, workdir, name="coffre-scale")
    report = {"count": count, "rss_idle_empty_mib": idle_rss_mib(coffre, settle=5)}
    print(f"idle RSS, empty: {report['rss_idle_empty_mib']:.1f} MiB; filling {count:,} secrets ...", flush=True)

    fill = coffre.load("PUT", f"/secrets/scale-{{i}}?{API}", {"value": SECRET_VALUE})
    started = time.monotonic()
    result = wrk.fill(fill, count, connections=32, workdir=workdir, deadline=fill_timeout)
    elapsed = time.monotonic() - started
    if not result["complete"]:
        raise RuntimeError(f"the fill did not finish within {fill_timeout:.0f} s: {result['errors']}")
    coffre.request("GET", f"/secrets/{name(count - 1)}?{API}")  # the last one exists (raises otherwise)
    report["fill"] = {"seconds": elapsed, "secrets_per_s": count / elapsed, "p50_ms": result["p50_ms"], "p99_ms": result["p99_ms"]}
    print(f"filled in {elapsed:.0f} s ({count / elapsed:,.0f} secrets/s)", flush=True)

    check_cursor_encoding(coffre)
    positions = {"start": 0, "middle": count // 2, "end": count - 25}
    loads = {}
    for label, position in positions.items():
        path = page_path(position)
        _, page = coffre.request("GET", path)
        names = [item["id"].rstrip("/").split("/")[-1] for item in page["value"]]
        if names[0] != name(position) or len(names) != 25:
            raise RuntimeError(f"page {label} starts at {names[:1]} ({len(names)} items), expected {name(position)}")
        loads[label] = coffre.load("GET", path)
    # Rounds over the three pages (not one page after the other), so that drift on a busy machine hits all three.
    samples = {label: [] for label in positions}
    for _ in range(repeat):
        for label, load in loads.items():
            one = wrk.run(load, connections=1, duration=duration, workdir=workdir, threads=1)
            many = wrk.run(load, connections=32, duration=duration, workdir=workdir)
            samples[label].append((one, many))
    pages = {}
    for label, runs in samples.items():
        one = statistics.median_low([r[0]["p50_ms"] for r in runs])
        pages[label] = {"first_name": name(positions[label]), "c1_p50_ms": one,
                        "c1_p99_ms": statistics.median_low([r[0]["p99_ms"] for r in runs]),
                        "c32_ops": statistics.median_low([r[1]["ops"] for r in runs]),
                        "c32_p99_ms": statistics.median_low([r[1]["p99_ms"] for r in runs])}
        print(f"page at {label:<6}: c1 p50 {one:.2f} ms; c32 {pages[label]['c32_ops']:,.0f}/s", flush=True)
    report["pages"] = pages
    report["rss_idle_full_mib"] = idle_rss_mib(coffre, settle=10)

    cost = pages["end"]["c1_p50_ms"] / max(pages["start"]["c1_p50_ms"], 1e-6)
    throughput = pages["end"]["c32_ops"] / max(pages["start"]["c32_ops"], 1e-6)
    report["checks"] = [
        {"check": "end/start page latency (c1 p50) within 0.8-1.25", "value": cost, "pass": SAME_COST[0] <= cost <= SAME_COST[1]},
        {"check": "end/start page throughput (c32) within 0.8-1.25", "value": throughput,
         "pass": SAME_COST[0] <= throughput <= SAME_COST[1]},
        {"check": f"idle RSS empty < {IDLE_RSS_LIMIT_MIB} MiB", "value": report["rss_idle_empty_mib"],
         "pass": report["rss_idle_empty_mib"] < IDLE_RSS_LIMIT_MIB},
        {"check": f"idle RSS with {count:,} secrets < {FULL_RSS_LIMIT_MIB} MiB", "value": report["rss_idle_full_mib"],
         "pass": report["rss_idle_full_mib"] < FULL_RSS_LIMIT_MIB},
    ]
    return report


def table(report: dict) -> str:
    lines = [f"scale: {report['count']:,} secrets, filled at {report['fill']['secrets_per_s']:,.0f}/s "
             f"(p99 {report['fill']['p99_ms']:.1f} ms)"]
    for label, page in report["pages"].items():
        lines.append(f"  list page at {label:<6} ({page['first_name']}): c1 p50 {page['c1_p50_ms']:.2f} ms, "
                     f"p99 {page['c1_p99_ms']:.2f} ms; c32 {page['c32_ops']:,.0f} pages/s, p99 {page['c32_p99_ms']:.2f} ms")
    for check in report["checks"]:
        lines.append(f"  {'PASS' if check['pass'] else 'FAIL'}  {check['check']}: {check['value']:.2f}")
    return "\n".join(lines)
