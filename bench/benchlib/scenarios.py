"""What is measured: the limits, the peer's operations and Coffre's scenarios, with the targets of the issue.

A target's `source` says where it comes from: "issue" (the performance issue's targets) or "anchors" (a suggested
target from shared/reference/perf-anchors.md §2, reported but marked).
"""

import base64
import os
from dataclasses import dataclass

from .coffre import API, ApiError, Coffre, key_path
from .wrk import Load

P99_LIMIT_MS = 15.0  # p99 of non-RSA keep-alive scenarios at 32 connections
PEER_FACTOR = 20.0  # every scenario at least 20x moto

SECRET_VALUE = "s3cr3t-" + "x" * 25  # a 32-character value, like a generated password


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    connections: int
    limit: str | None  # the limit it is compared with (a key of the limits table)
    target: float | None  # minimum ratio to that limit
    source: str  # "issue" or "anchors"
    peer: str  # the moto operation it is compared with
    p99_check: bool  # p99 <= 15 ms applies


SCENARIOS = [
    Scenario("get-secret", "GET /secrets/{name} (latest version), keep-alive", 32, "hello", 0.5, "issue",
             "moto GetSecretValue", True),
    Scenario("set-secret-sqlite", "PUT /secrets/{new name}, durable SQLite commit", 16, "sqlite-commits", 0.6, "issue",
             "moto CreateSecret", True),
    Scenario("set-secret-postgres", "PUT /secrets/{new name}, durable PostgreSQL commit", 16, "postgres-commits", 0.35,
             "issue", "moto CreateSecret", True),
    Scenario("list-secrets", "GET /secrets?maxresults=25 (a full page)", 32, "hello", None, "issue",
             "moto ListSecrets", True),
    Scenario("rs256-sign", "POST /keys/{rsa-2048}/{version}/sign RS256", 32, "openssl-rsa2048-sign", 0.7, "issue",
             "moto KMS Sign RSA", False),
    Scenario("es256-sign", "POST /keys/{ec-p256}/{version}/sign ES256", 32, "hello", 0.4, "issue",
             "moto KMS Sign EC", True),
    Scenario("rsa-oaep-256-decrypt", "POST /keys/{rsa-2048}/{version}/decrypt RSA-OAEP-256", 32,
             "openssl-rsa2048-sign", 0.7, "issue", "moto KMS Decrypt RSA", False),
    Scenario("a256kw-unwrap", "POST /keys/{oct-HSM 256}/{version}/unwrapkey A256KW", 32, "hello", 0.4, "anchors",
             "moto KMS Decrypt AES", True),
    Scenario("create-ec-key", "POST /keys/{new name}/create EC P-256 (durable)", 32, "sqlite-commits", None, "issue",
             "moto KMS CreateKey EC", True),
    # The same GET while hostile clients hold connections open and send oversized requests (benchlib/hostile.py).
    Scenario("get-secret-hostile", "GET secret, keep-alive, beside 2,000 idle, 200 slowloris and oversized clients", 32,
             "hello", None, "issue", "moto GetSecretValue", True),
    # A new TLS connection per request: p99 is not held to 15 ms (the limit itself is above it, see perf-anchors).
    Scenario("cold-tls-get-secret", "GET secret on a new TLS connection (Connection: close)", 32, "hello-cold", 0.8,
             "anchors", "moto GetSecretValue", False),
    # Hardware keys: the same signatures on keys in a SoftHSM2 token (PKCS#11), as a ratio to software keys of the same
    # server in the same run (no target and no peer: the ratio is what is reported; see README "Hardware keys").
    Scenario("rs256-sign-hsm", "POST /keys/{rsa-hsm-2048}/{version}/sign RS256, key in a SoftHSM2 token", 32,
             "software-rs256-sign", None, "issue", "", False),
    Scenario("es256-sign-hsm", "POST /keys/{ec-hsm-p256}/{version}/sign ES256, key in a SoftHSM2 token", 32,
             "software-es256-sign", None, "issue", "", False),
]

# The scenarios served by the Coffre that has a PKCS#11 token (`prepare_hardware`).
HARDWARE_SCENARIOS = {"rs256-sign-hsm", "es256-sign-hsm"}

LIMITS = {
    "hello": "coffre-hello GET /hello, TLS keep-alive, same body size as GET secret",
    "hello-cold": "coffre-hello GET /hello, new TLS connection per request",
    "openssl-rsa2048-sign": "openssl speed -multi <cores> rsa2048, sign/s",
    "sqlite-commits": "raw SQLite commits/s (WAL, synchronous=FULL, 1 writer)",
    "postgres-commits": "raw PostgreSQL commits/s (pgbench INSERT, 16 clients)",
    "software-rs256-sign": "RS256 sign on a software RSA-2048 key of the Coffre with the SoftHSM2 token, c32",
    "software-es256-sign": "ES256 sign on a software EC P-256 key of the Coffre with the SoftHSM2 token, c32",
}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def prepare(coffre: Coffre, postgres: Coffre | None) -> tuple[dict[str, Load | str], int]:
    """Creates the objects the scenarios use, through the REST API, and checks each request once.

    Returns the load of each scenario (or why it is not available) and the size of a GET-secret response body.
    """
    loads: dict[str, Load | str] = {}

    def attempt(name: str, make) -> None:
        try:
            loads[name] = make()
        except ApiError as error:
            loads[name] = f"not available ({error})"

    # Secrets: one to read, a full page to list, fresh names to write.
    raw, _ = coffre.request("PUT", f"/secrets/bench-get?{API}", {"value": SECRET_VALUE})
    raw, _ = coffre.request("GET", f"/secrets/bench-get?{API}")
    body_bytes = len(raw)
    loads["get-secret"] = coffre.load("GET", f"/secrets/bench-get?{API}")
    loads["get-secret-hostile"] = loads["get-secret"]
    loads["cold-tls-get-secret"] = coffre.load("GET", f"/secrets/bench-get?{API}", close=True)
    for i in range(30):
        coffre.request("PUT", f"/secrets/bench-list-{i:02d}?{API}", {"value": SECRET_VALUE})
    attempt("list-secrets", lambda: checked(coffre, "GET", f"/secrets?{API}&maxresults=25"))
    attempt("set-secret-sqlite", lambda: checked(coffre, "PUT", f"/secrets/bench-set-{{n}}?{API}", {"value": SECRET_VALUE}))
    if postgres is None:
        loads["set-secret-postgres"] = "not available (Coffre has no PostgreSQL storage option yet)"
    else:
        attempt("set-secret-postgres",
                lambda: checked(postgres, "PUT", f"/secrets/bench-set-{{n}}?{API}", {"value": SECRET_VALUE}))

    # Keys: RSA-2048 (sign, decrypt), EC P-256 (sign), oct-HSM 256 (unwrap), and fresh EC keys.
    digest = b64url(os.urandom(32))

    def rsa_key() -> str:
        _, key = coffre.request("POST", f"/keys/bench-rsa/create?{API}", {"kty": "RSA", "key_size": 2048})
        return key_path(key["key"]["kid"])

    def sign(path: str, alg: str) -> Load:
        return checked(coffre, "POST", f"{path}/sign?{API}", {"alg": alg, "value": digest})

    try:
        rsa = rsa_key()
        attempt("rs256-sign", lambda: sign(rsa, "RS256"))

        def oaep() -> Load:
            _, encrypted = coffre.request("POST", f"{rsa}/encrypt?{API}", {"alg": "RSA-OAEP-256", "value": b64url(os.urandom(32))})
            return checked(coffre, "POST", f"{rsa}/decrypt?{API}", {"alg": "RSA-OAEP-256", "value": encrypted["value"]})

        attempt("rsa-oaep-256-decrypt", oaep)
    except ApiError as error:
        loads["rs256-sign"] = loads["rsa-oaep-256-decrypt"] = f"not available ({error})"

    def ec() -> Load:
        _, key = coffre.request("POST", f"/keys/bench-ec/create?{API}", {"kty": "EC", "crv": "P-256"})
        return sign(key_path(key["key"]["kid"]), "ES256")

    attempt("es256-sign", ec)

    def unwrap() -> Load:
        _, key = coffre.request("POST", f"/keys/bench-oct/create?{API}", {"kty": "oct-HSM", "key_size": 256})
        path = key_path(key["key"]["kid"])
        _, wrapped = coffre.request("POST", f"{path}/wrapkey?{API}", {"alg": "A256KW", "value": b64url(os.urandom(32))})
        return checked(coffre, "POST", f"{path}/unwrapkey?{API}", {"alg": "A256KW", "value": wrapped["value"]})

    attempt("a256kw-unwrap", unwrap)
    attempt("create-ec-key", lambda: checked(coffre, "POST", f"/keys/bench-new-{{n}}/create?{API}", {"kty": "EC", "crv": "P-256"}))
    return loads, body_bytes


def prepare_hardware(coffre: Coffre) -> dict[str, Load | str]:
    """On a Coffre started with a SoftHSM2 token: RSA-HSM 2048 and EC-HSM P-256 keys (in the token) and RSA 2048 and EC
    P-256 keys (in software), signed with in the same way: the hardware scenarios and the limits they are paired with."""
    loads: dict[str, Load | str] = {}
    digest = b64url(os.urandom(32))
    for kty, name, body, alg in (("RSA", "rsa", {"key_size": 2048}, "RS256"), ("EC", "ec", {"crv": "P-256"}, "ES256")):
        for hardware in (True, False):
            scenario = f"{alg.lower()}-sign-hsm" if hardware else f"software-{alg.lower()}-sign"
            try:
                _, key = coffre.request("POST", f"/keys/bench-{name}{'-hsm' if hardware else ''}/create?{API}",
                                        {"kty": kty + ("-HSM" if hardware else ""), **body})
                loads[scenario] = checked(coffre, "POST", f"{key_path(key['key']['kid'])}/sign?{API}", {"alg": alg, "value": digest})
            except ApiError as error:
                loads[scenario] = f"not available ({error})"
    return loads


def checked(coffre: Coffre, method: str, path: str, body: dict | None = None) -> Load:
    """Sends the request once (with "{n}" -> "probe"), so that an unsupported one is reported, not measured."""
    coffre.request(method, path.replace("{n}", "probe"), body)
    return coffre.load(method, path, body)
