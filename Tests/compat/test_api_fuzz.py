"""The HTTP API fuzzed from its OpenAPI description (keyvault_openapi.py) with schemathesis: valid and invalid
parameters and bodies for every secret, key and certificate operation, sent to a server of its own with an
administrator's token. Whatever is sent, the answer is never a 5xx, and every 4xx is a Key Vault error envelope.

Bounded: COFFRE_API_FUZZ_EXAMPLES examples per operation and mode (valid, invalid), 5 by default, besides the
boundary cases schemathesis derives from each schema (most of the requests).
"""
import collections
import os
import urllib.parse

import conftest
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from coffre_process import Coffre
from keyvault_openapi import document

EXAMPLES = int(os.environ.get("COFFRE_API_FUZZ_EXAMPLES", "5"))

schema = schemathesis.openapi.from_dict(document())
statuses = collections.Counter()


@pytest.fixture(scope="module")
def target():
    """A server of its own (what the fuzzer writes stays there) and an administrator's token for its default vault."""
    server = Coffre().start()
    try:
        env = server.env()
        endpoint = env["IDENTITY_ENDPOINT"] + "?" + urllib.parse.urlencode(
            {"resource": f"https://vault.localhost:{server.port}", "api-version": "2019-08-01"})
        answer = requests.get(endpoint, headers={"X-IDENTITY-HEADER": env["IDENTITY_HEADER"]}, verify=server.ca_file,
                              timeout=30)
        answer.raise_for_status()
        session = requests.Session()
        session.headers["Authorization"] = "Bearer " + answer.json()["access_token"]
        yield server, session
    finally:
        server.cleanup()
        summary = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
        conftest.SUMMARY.append(f"API fuzzing: {sum(statuses.values())} requests, by status: {summary}")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_input_gets_a_server_error(case, target):
    server, session = target
    response = case.call(base_url=server.vault_url(), session=session, verify=server.ca_file, timeout=60)
    statuses[response.status_code] += 1
    request = f"{case.method} {response.request.url} {response.request.body!r:.300}"
    assert response.status_code < 500, f"{request} -> {response.status_code} {response.text[:500]}"
    if response.status_code >= 400:
        error = response.json().get("error")
        assert isinstance(error, dict), f"{request} -> {response.status_code} without an error envelope: {response.text[:300]}"
        assert isinstance(error.get("code"), str) and error["code"], f"{request} -> {response.text[:300]}"
        assert isinstance(error.get("message"), str) and error["message"], f"{request} -> {response.text[:300]}"
