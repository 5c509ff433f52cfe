"""Secure key release: an exportable key is released, wrapped to the runtime key of an attested environment, when the
attestation token from the policy's authority satisfies the policy (a local attestation stub serves the authority)."""
import base64
import http.server
import json
import threading
import time

import jwt
import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.keyvault.keys import KeyClient, KeyReleasePolicy
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap_with_padding


@pytest.fixture(scope="module")
def authority():
    """An attestation authority on loopback: its signing key's JWKS at /certs."""
    signer = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signer.public_key()))
    jwk["kid"] = "attestation-key"
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/certs" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", signer
    server.shutdown()


def policy(url, attestation_type="sevsnpvm", immutable=False):
    document = {"version": "1.0.0", "anyOf": [{"authority": url, "allOf": [
        {"claim": "x-ms-attestation-type", "equals": attestation_type},
        {"claim": "x-ms-compliance-status", "condition": "equals", "value": "azure-compliant-cvm"}]}]}
    return KeyReleasePolicy(json.dumps(document).encode(), immutable=immutable)


def attestation_token(url, signer, runtime, attestation_type="sevsnpvm"):
    runtime_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(runtime.public_key()))
    runtime_jwk.update({"kid": "runtime", "key_ops": ["encrypt"]})
    claims = {"iss": url, "iat": int(time.time()), "exp": int(time.time()) + 600, "x-ms-attestation-type": attestation_type,
              "x-ms-compliance-status": "azure-compliant-cvm", "x-ms-runtime": {"keys": [runtime_jwk]}}
    return jwt.encode(claims, signer, algorithm="RS256", headers={"kid": "attestation-key"})


def test_release_wraps_the_key_to_the_attested_runtime(coffre, credential, authority, name):
    url, signer = authority
    client = KeyClient(coffre.vault_url(), credential)
    key = client.create_rsa_key(name, size=2048, exportable=True, release_policy=policy(url))
    assert key.properties.exportable is True and key.properties.release_policy.encoded_policy
    runtime = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    result = client.release_key(name, attestation_token(url, signer, runtime), nonce="n-1")

    # The statement is signed by Coffre's token-signing key, published in its JWKS.
    header = jwt.get_unverified_header(result.value)
    tenant = json.load(open(f"{coffre.data}/coffre.json"))["tenantId"]
    keys = requests.get(f"{coffre.authority}/{tenant}/discovery/v2.0/keys", verify=coffre.ca_file).json()["keys"]
    public = jwt.PyJWK(next(k for k in keys if k["kid"] == header["kid"])).key
    statement = jwt.decode(result.value, public, algorithms=["RS256"])
    assert statement["request"]["nonce"] == "n-1" and statement["request"]["enc"] == "CKM_RSA_AES_KEY_WRAP"
    released = statement["response"]["key"]["key"]
    assert "d" not in released
    wrapped = base64.urlsafe_b64decode(released["key_hsm"] + "=" * (-len(released["key_hsm"]) % 4))
    transient = runtime.decrypt(wrapped[:256], padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None))
    private = serialization.load_der_private_key(aes_key_unwrap_with_padding(transient, wrapped[256:]), None)
    assert private.public_key().public_numbers().n == int.from_bytes(key.key.n, "big")


def test_release_is_refused_when_the_policy_is_not_satisfied(coffre, credential, authority, name):
    url, signer = authority
    client = KeyClient(coffre.vault_url(), credential)
    client.create_rsa_key(name, exportable=True, release_policy=policy(url))
    runtime = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(HttpResponseError) as error:
        client.release_key(name, attestation_token(url, signer, runtime, attestation_type="sgx"))
    assert error.value.status_code == 403
    forged = attestation_token(url, rsa.generate_private_key(public_exponent=65537, key_size=2048), runtime)
    with pytest.raises(HttpResponseError) as error:
        client.release_key(name, forged)
    assert error.value.status_code == 400
    client.create_rsa_key(name + "-fixed")
    with pytest.raises(HttpResponseError) as error:
        client.release_key(name + "-fixed", attestation_token(url, signer, runtime))
    assert error.value.status_code == 403


def test_release_policy_rules(coffre, credential, authority, name):
    url, _ = authority
    client = KeyClient(coffre.vault_url(), credential)
    with pytest.raises(HttpResponseError) as error:
        client.create_rsa_key(name, exportable=True)
    assert "release policy" in error.value.message
    client.create_rsa_key(name, exportable=True, release_policy=policy(url, immutable=True))
    with pytest.raises(HttpResponseError) as error:
        client.update_key_properties(name, release_policy=policy(url, attestation_type="other"))
    assert "AKV.SKR.1020" in error.value.message
