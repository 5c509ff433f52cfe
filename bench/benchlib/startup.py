"""Start-up: from process start to a first successful call, for an ephemeral Coffre and for coffre-hello.

- coffre-hello (the limit): start, then `GET /hello` until it answers 200 (a new TLS connection per attempt).
- Coffre: `coffre serve --ephemeral --port 0 --env-file F`, then, once F exists, what an SDK's first call does: the
  request without a token (401 and its challenge), a token from the managed identity of F (`/msi/token`), and the
  request with it (`PUT /secrets/{name}`, 200), on one TLS connection trusting the CA in F.

Each is measured `runs` times; the median counts (the first run warms the page cache). Target: Coffre within 150 ms.
"""

import http.client
import json
import os
import ssl
import statistics
import subprocess
import time
import urllib.parse

from . import limits, procs

TARGET_MS = 150.0


def _wait(condition, process, deadline, what):
    while not condition():
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{what} did not answer within the time allowed")
        time.sleep(0.0005)


def hello_once(binary: str, cert: str, key: str) -> float:
    port = procs.free_port()
    insecure = ssl._create_unverified_context()  # the benchmark's own throwaway certificate
    started = time.perf_counter()
    process = subprocess.Popen([binary, "--cert", cert, "--key", key, "--port", str(port), "--body-bytes", "200"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def answered():
            try:
                connection = http.client.HTTPSConnection("127.0.0.1", port, context=insecure, timeout=2)
                connection.request("GET", "/hello")
                return connection.getresponse().status == 200
            except OSError:
                return False
        _wait(answered, process, started + 30, "coffre-hello")
        return (time.perf_counter() - started) * 1000
    finally:
        process.terminate()
        process.wait(timeout=10)


def coffre_once(binary: str, workdir: str) -> float:
    env_file = os.path.join(workdir, "startup.env")
    if os.path.exists(env_file):
        os.unlink(env_file)
    started = time.perf_counter()
    process = subprocess.Popen([binary, "serve", "--ephemeral", "--port", "0", "--env-file", env_file, "--log-level", "warning"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(lambda: os.path.exists(env_file), process, started + 30, "coffre")
        variables = {}
        with open(env_file) as f:
            for line in f:
                if line.startswith("export "):
                    name, _, value = line[7:].rstrip("\n").partition("=")
                    variables[name] = value.strip("'")
        port = int(variables["COFFRE_PORT"])
        vault_host = urllib.parse.urlsplit(variables["AZURE_KEYVAULT_URL"]).netloc
        resource = "https://" + vault_host.split(".", 1)[1]
        context = ssl.create_default_context(cafile=env_file)
        context.check_hostname = False  # the connection goes to 127.0.0.1; the vault's name travels in Host
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
        path = "/secrets/startup?api-version=7.6"
        body = json.dumps({"value": "v"})
        connection.request("PUT", path, body=body, headers={"Host": vault_host, "Content-Type": "application/json"})
        challenge = connection.getresponse()
        challenge.read()
        assert challenge.status == 401, challenge.status
        query = urllib.parse.urlencode({"api-version": "2019-08-01", "resource": resource})
        connection.request("GET", f"/msi/token?{query}", headers={"X-IDENTITY-HEADER": variables["IDENTITY_HEADER"]})
        token = json.loads(connection.getresponse().read())["access_token"]
        connection.request("PUT", path, body=body, headers={"Host": vault_host, "Content-Type": "application/json",
                                                            "Authorization": f"Bearer {token}"})
        answer = connection.getresponse()
        answer.read()
        if answer.status != 200:
            raise RuntimeError(f"the first call answered {answer.status}")
        return (time.perf_counter() - started) * 1000
    finally:
        process.terminate()
        process.wait(timeout=10)


def run(coffre_binary: str, hello_binary: str, workdir: str, runs: int = 11) -> dict:
    cert, key = limits.make_certificate(workdir)
    hello = [hello_once(hello_binary, cert, key) for _ in range(runs)]
    coffre = [coffre_once(coffre_binary, workdir) for _ in range(runs)]
    median_hello, median_coffre = statistics.median(hello[1:]), statistics.median(coffre[1:])
    return {"runs": runs, "hello_ms": [round(v, 1) for v in hello], "coffre_ms": [round(v, 1) for v in coffre],
            "hello_median_ms": median_hello, "coffre_median_ms": median_coffre, "ratio": median_coffre / median_hello,
            "target_ms": TARGET_MS, "pass": median_coffre <= TARGET_MS}


def table(result: dict) -> str:
    verdict = "PASS" if result["pass"] else f"FAIL: > {TARGET_MS:g} ms"
    return (f"{'ephemeral-start':<26} median {result['coffre_median_ms']:7.1f} ms   hello {result['hello_median_ms']:7.1f} ms   "
            f"ratio {result['ratio']:5.2f}   target <= {TARGET_MS:g} ms   {verdict}\n"
            "  (process start -> first successful SDK-equivalent call: 401 challenge, managed-identity token, PUT secret;\n"
            "   coffre-hello: process start -> first 200 of GET /hello; medians of the runs after the first)")
