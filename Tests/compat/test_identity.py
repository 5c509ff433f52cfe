"""Identity and access through the official clients: every credential type, external issuers, RBAC, refusals, audit."""
import datetime
import json
import os
import time
import uuid

import jwt
import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.identity import (CertificateCredential, ClientSecretCredential, DefaultAzureCredential, EnvironmentCredential,
                            ManagedIdentityCredential)
from azure.keyvault.secrets import SecretClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from coffre_process import Coffre


def make_certificate(tmp_path, name="client"):
    """A self-signed certificate and its key in one PEM file (what CertificateCredential reads) and the public part."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    combined = tmp_path / f"{name}-with-key.pem"
    combined.write_bytes(key_pem + cert_pem)
    public = tmp_path / f"{name}.pem"
    public.write_bytes(cert_pem)
    return str(combined), str(public)


def grant(coffre, principal, vault="default", permissions=("get", "list", "set", "delete")):
    coffre.cli("vault", "set-policy", "--name", vault, "--object-id", principal["objectId"], "--secret-permissions", *permissions)


def roundtrip(client, name):
    client.set_secret(name, "v")
    assert client.get_secret(name).value == "v"


# -- Credential types ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("send_chain", [False, True])
def test_certificate_credential(coffre, tmp_path, name, send_chain):
    combined, public = make_certificate(tmp_path)
    principal = coffre.cli_json("principal", "create", "--name", "cert-app", "--certificate", public, "--no-secret")
    assert principal.get("clientSecret") is None
    grant(coffre, principal)
    credential = CertificateCredential(principal["tenantId"], principal["clientId"], combined, authority=principal["authority"],
                                       disable_instance_discovery=True, send_certificate_chain=send_chain)
    roundtrip(SecretClient(coffre.vault_url(), credential), name)


async def test_certificate_credential_async(coffre, tmp_path, name):
    from azure.identity.aio import CertificateCredential as AsyncCertificateCredential
    from azure.keyvault.secrets.aio import SecretClient as AsyncSecretClient
    combined, public = make_certificate(tmp_path)
    principal = coffre.cli_json("principal", "create", "--name", "cert-app-async", "--certificate", public)
    grant(coffre, principal)
    async with AsyncCertificateCredential(principal["tenantId"], principal["clientId"], combined, authority=principal["authority"],
                                          disable_instance_discovery=True) as credential:
        async with AsyncSecretClient(coffre.vault_url(), credential) as client:
            await client.set_secret(name, "v")
            assert (await client.get_secret(name)).value == "v"


def test_unregistered_certificate_is_refused(coffre, tmp_path):
    combined, _ = make_certificate(tmp_path, "stranger")
    _, registered = make_certificate(tmp_path, "registered")
    principal = coffre.cli_json("principal", "create", "--name", "cert-app-2", "--certificate", registered)
    credential = CertificateCredential(principal["tenantId"], principal["clientId"], combined, authority=principal["authority"],
                                       disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError):
        SecretClient(coffre.vault_url(), credential).get_secret("anything")


def test_certificate_can_be_added_and_removed(coffre, tmp_path, name):
    combined, public = make_certificate(tmp_path)
    principal = coffre.cli_json("principal", "create", "--name", "cert-rotation")
    grant(coffre, principal)
    shown = coffre.cli_json("principal", "add-certificate", "--id", principal["clientId"], "--certificate", public)
    thumbprint = shown["certificates"][0]["sha1Thumbprint"]
    credential = CertificateCredential(principal["tenantId"], principal["clientId"], combined, authority=principal["authority"],
                                       disable_instance_discovery=True)
    roundtrip(SecretClient(coffre.vault_url(), credential), name)
    coffre.cli("principal", "remove-certificate", "--id", principal["clientId"], "--thumbprint", thumbprint)
    fresh = CertificateCredential(principal["tenantId"], principal["clientId"], combined, authority=principal["authority"],
                                  disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError):
        fresh.get_token(f"https://vault.localhost:{coffre.port}/.default")


def test_environment_credential_with_a_secret_and_with_a_certificate(coffre, tmp_path, name, monkeypatch):
    principal = coffre.cli_json("principal", "create", "--name", "env-app")
    grant(coffre, principal)
    # Tenant `adfs` keeps MSAL off instance discovery with no code change (see the README).
    monkeypatch.setenv("AZURE_TENANT_ID", "adfs")
    monkeypatch.setenv("AZURE_CLIENT_ID", principal["clientId"])
    monkeypatch.setenv("AZURE_CLIENT_SECRET", principal["clientSecret"])
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", principal["authority"])
    roundtrip(SecretClient(coffre.vault_url(), EnvironmentCredential()), name)
    roundtrip(SecretClient(coffre.vault_url(), DefaultAzureCredential()), name + "dac")

    combined, public = make_certificate(tmp_path)
    coffre.cli("principal", "add-certificate", "--id", principal["clientId"], "--certificate", public)
    monkeypatch.delenv("AZURE_CLIENT_SECRET")
    monkeypatch.setenv("AZURE_CLIENT_CERTIFICATE_PATH", combined)
    roundtrip(SecretClient(coffre.vault_url(), EnvironmentCredential()), name + "cert")


def test_managed_identity_app_service_system_and_user_assigned(coffre, name):
    roundtrip(SecretClient(coffre.vault_url(), ManagedIdentityCredential()), name)
    identity = coffre.cli_json("principal", "create", "--name", "worker-identity", "--managed-identity", "--no-secret")
    grant(coffre, identity)
    roundtrip(SecretClient(coffre.vault_url(), ManagedIdentityCredential(client_id=identity["clientId"])), name + "u")
    token = ManagedIdentityCredential(client_id=identity["clientId"]).get_token(f"https://vault.localhost:{coffre.port}/.default")
    assert jwt.decode(token.token, options={"verify_signature": False})["oid"] == identity["objectId"]


def test_managed_identity_imds_style(coffre, name, monkeypatch):
    monkeypatch.delenv("IDENTITY_ENDPOINT")
    monkeypatch.delenv("IDENTITY_HEADER")
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", coffre.authority)
    roundtrip(SecretClient(coffre.vault_url(), ManagedIdentityCredential()), name)
    response = requests.get(f"{coffre.authority}/metadata/identity/oauth2/token",
                            params={"api-version": "2018-02-01", "resource": f"https://vault.localhost:{coffre.port}"},
                            verify=coffre.ca_file)
    assert response.status_code == 400  # no Metadata header


def test_app_service_endpoint_needs_the_header(coffre):
    response = requests.get(f"{coffre.authority}/msi/token", params={"api-version": "2019-08-01",
                                                                     "resource": f"https://vault.localhost:{coffre.port}"},
                            headers={"X-IDENTITY-HEADER": "guess"}, verify=coffre.ca_file)
    assert response.status_code == 401
    assert "access_token" not in response.text


# -- Tokens, rotation, refusals ---------------------------------------------------------------------------------------

def test_tokens_carry_the_entra_claims(coffre, app_principal):
    credential = ClientSecretCredential(app_principal["tenantId"], app_principal["clientId"], app_principal["clientSecret"],
                                        authority=app_principal["authority"], disable_instance_discovery=True)
    claims = jwt.decode(credential.get_token(f"https://vault.localhost:{coffre.port}/.default").token,
                        options={"verify_signature": False})
    assert claims["tid"] == app_principal["tenantId"]
    assert claims["oid"] == app_principal["objectId"]
    assert claims["appid"] == app_principal["clientId"]
    assert claims["aud"] == f"https://vault.localhost:{coffre.port}"
    assert claims["iss"] == f"{coffre.authority}/{app_principal['tenantId']}/v2.0"
    assert claims["nbf"] <= time.time() < claims["exp"]


def test_v1_token_endpoint_with_resource(coffre, app_principal):
    response = requests.post(f"{coffre.authority}/{app_principal['tenantId']}/oauth2/token", verify=coffre.ca_file, data={
        "grant_type": "client_credentials", "client_id": app_principal["clientId"],
        "client_secret": app_principal["clientSecret"], "resource": f"https://vault.localhost:{coffre.port}"})
    assert response.status_code == 200
    assert response.json()["resource"] == f"https://vault.localhost:{coffre.port}"


def test_jwks_verifies_tokens_and_rotation_keeps_old_tokens(coffre, admin_env, credential):
    scope = f"https://vault.localhost:{coffre.port}/.default"
    old = credential.get_token(scope).token
    discovery = requests.get(f"{coffre.authority}/{admin_env['AZURE_TENANT_ID']}/v2.0/.well-known/openid-configuration",
                             verify=coffre.ca_file).json()
    keys = requests.get(discovery["jwks_uri"], verify=coffre.ca_file).json()["keys"]
    kid = jwt.get_unverified_header(old)["kid"]
    public = jwt.PyJWK({k: v for k, v in next(k for k in keys if k["kid"] == kid).items()}).key
    jwt.decode(old, public, algorithms=["RS256"], audience=f"https://vault.localhost:{coffre.port}", issuer=discovery["issuer"])

    rotated = coffre.cli_json("operator", "rotate-signing-key")
    assert rotated[-1]["kid"] != kid
    response = requests.get(f"{coffre.vault_url()}/secrets?api-version=7.4", headers={"Authorization": f"Bearer {old}"},
                            verify=coffre.ca_file)
    assert response.status_code == 200
    new = ManagedIdentityCredential().get_token(scope).token
    assert jwt.get_unverified_header(new)["kid"] == rotated[-1]["kid"]
    keys = requests.get(discovery["jwks_uri"], verify=coffre.ca_file).json()["keys"]
    assert {kid, rotated[-1]["kid"]} <= {k["kid"] for k in keys}


def test_secret_rotation_and_deleted_principal(coffre, name):
    principal = coffre.cli_json("principal", "create", "--name", "rotating")
    grant(coffre, principal)
    second = coffre.cli_json("principal", "add-secret", "--id", principal["clientId"])
    for secret in (principal["clientSecret"], second["clientSecret"]):
        credential = ClientSecretCredential(principal["tenantId"], principal["clientId"], secret, authority=principal["authority"],
                                            disable_instance_discovery=True)
        roundtrip(SecretClient(coffre.vault_url(), credential), name)
    shown = coffre.cli_json("principal", "show", "--id", principal["clientId"])
    assert "clientSecret" not in json.dumps(shown) and principal["clientSecret"] not in json.dumps(shown)
    coffre.cli("principal", "remove-secret", "--id", principal["clientId"], "--secret-id", shown["secrets"][0]["id"])
    with pytest.raises(ClientAuthenticationError):
        ClientSecretCredential(principal["tenantId"], principal["clientId"], principal["clientSecret"],
                               authority=principal["authority"], disable_instance_discovery=True).get_token(
            f"https://vault.localhost:{coffre.port}/.default")
    coffre.cli("principal", "delete", "--id", principal["clientId"])
    assert principal["clientId"] not in {p["clientId"] for p in coffre.cli_json("principal", "list")}


def test_policy_changes_apply_on_the_next_request(coffre, name):
    principal = coffre.cli_json("principal", "create", "--name", "policy-change")
    client = SecretClient(coffre.vault_url(), ClientSecretCredential(
        principal["tenantId"], principal["clientId"], principal["clientSecret"], authority=principal["authority"],
        disable_instance_discovery=True))
    with pytest.raises(HttpResponseError) as error:
        client.set_secret(name, "v")
    assert error.value.status_code == 403
    assert "secrets set permission" in error.value.message
    grant(coffre, principal, permissions=("set",))
    client.set_secret(name, "v")
    with pytest.raises(HttpResponseError) as error:
        client.get_secret(name)
    assert error.value.status_code == 403
    assert "\"v\"" not in error.value.response.text()
    coffre.cli("vault", "delete-policy", "--name", "default", "--object-id", principal["objectId"])
    with pytest.raises(HttpResponseError):
        client.set_secret(name, "w")


# -- RBAC ---------------------------------------------------------------------------------------------------------------

def test_rbac_vault_with_built_in_roles_at_vault_and_object_scope(coffre, name):
    vault = "r" + uuid.uuid4().hex[:10]
    coffre.cli("vault", "create", "--name", vault, "--enable-rbac-authorization")
    principal = coffre.cli_json("principal", "create", "--name", "rbac-user")
    client = SecretClient(coffre.vault_url(vault), ClientSecretCredential(
        principal["tenantId"], principal["clientId"], principal["clientSecret"], authority=principal["authority"],
        disable_instance_discovery=True))
    with pytest.raises(HttpResponseError) as error:
        client.set_secret(name, "v")
    assert error.value.status_code == 403
    assert "ForbiddenByRbac" in error.value.response.text()

    assignment = coffre.cli_json("role", "assignment", "create", "--role", "Key Vault Secrets Officer",
                                 "--assignee", principal["objectId"], "--scope", f"/vaults/{vault}")
    client.set_secret(name, "v")
    client.set_secret(name + "-other", "w")
    coffre.cli("role", "assignment", "delete", "--vault", vault, "--id", assignment["id"])
    coffre.cli("role", "assignment", "create", "--role", "Key Vault Secrets User", "--assignee", principal["clientId"],
               "--scope", f"/vaults/{vault}/secrets/{name}")
    assert client.get_secret(name).value == "v"
    for call in (lambda: client.get_secret(name + "-other"), lambda: client.set_secret(name, "x"),
                 lambda: list(client.list_properties_of_secrets())):
        with pytest.raises(HttpResponseError) as error:
            call()
        assert error.value.status_code == 403
    roles = {r["roleName"] for r in coffre.cli_json("role", "definition", "list")}
    assert {"Key Vault Administrator", "Key Vault Reader", "Key Vault Secrets Officer", "Key Vault Secrets User",
            "Key Vault Crypto Officer", "Key Vault Crypto User", "Key Vault Crypto Service Encryption User",
            "Key Vault Crypto Service Release User", "Key Vault Certificates Officer", "Key Vault Certificate User"} <= roles


# -- External issuers ---------------------------------------------------------------------------------------------------

class StaticToken:
    """A credential that hands out a token minted by the test's own issuer."""

    def __init__(self, token):
        self.token = token

    def get_token(self, *scopes, **kwargs):
        return AccessToken(self.token, int(time.time()) + 600)


@pytest.fixture(scope="module")
def external_issuer(tmp_path_factory):
    directory = tmp_path_factory.mktemp("idp")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "idp-key-1", "use": "sig", "alg": "RS256"})
    jwks = directory / "jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk]}))
    issuer = "https://idp.example.test/realms/coffre"
    server = Coffre(extra_args=["--trusted-issuer", f"issuer={issuer},jwks={jwks},audience=api://coffre-test,tenant=example"]).start()
    yield server, key, issuer
    server.cleanup()


def mint(key, issuer, subject, audience="api://coffre-test", lifetime=600, kid="idp-key-1"):
    now = int(time.time())
    return jwt.encode({"iss": issuer, "aud": audience, "sub": subject, "iat": now, "nbf": now, "exp": now + lifetime},
                      key, algorithm="RS256", headers={"kid": kid})


def test_tokens_of_a_trusted_external_issuer(external_issuer, name):
    server, key, issuer = external_issuer
    server.cli("vault", "set-policy", "--name", "default", "--object-id", "external-user", "--tenant-id", "example",
               "--secret-permissions", "get", "set")
    client = SecretClient(server.vault_url(), StaticToken(mint(key, issuer, "external-user")), connection_verify=server.ca_file)
    roundtrip(client, name)

    refusals = [
        mint(key, issuer, "external-user", audience="https://vault.azure.net"),
        mint(key, issuer, "external-user", lifetime=-900),
        mint(key, "https://untrusted.example.test", "external-user"),
        mint(rsa.generate_private_key(public_exponent=65537, key_size=2048), issuer, "external-user"),
    ]
    for token in refusals:
        response = requests.get(f"https://127.0.0.1:{server.port}/secrets/{name}?api-version=7.4", verify=server.ca_file,
                                headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
        assert "WWW-Authenticate" in response.headers
        assert "\"v\"" not in response.text
    # A valid external caller without a policy is refused with 403.
    client = SecretClient(server.vault_url(), StaticToken(mint(key, issuer, "someone-else")), connection_verify=server.ca_file)
    with pytest.raises(HttpResponseError) as error:
        client.get_secret(name)
    assert error.value.status_code == 403


# -- Audit ----------------------------------------------------------------------------------------------------------------

def test_audit_log_has_one_outcome_line_per_request_and_no_values(coffre, credential, name):
    client = SecretClient(coffre.vault_url(), credential)
    marker = "audit-marker-" + name
    client.set_secret(name, marker)
    client.get_secret(name)
    requests.get(f"{coffre.vault_url()}/secrets/{name}?api-version=7.4", verify=coffre.ca_file)
    token = credential.get_token(f"https://vault.localhost:{coffre.port}/.default").token
    with open(os.path.join(coffre.data, "audit.log")) as f:
        content = f.read()
    assert marker not in content and token not in content
    records = [json.loads(line) for line in content.splitlines()]
    mine = [r for r in records if r["properties"]["requestUri"].rstrip("/").endswith(f"/secrets/{name}")]
    # The change has a record written before it was made (stage "request"), then its outcome's, as every request.
    assert [(r["operationName"], r["resultType"]) for r in mine if r.get("stage") == "request"] == [("SecretSet", "Started")]
    mine = [r for r in mine if "stage" not in r]
    assert [r["operationName"] for r in mine][-3:] == ["SecretSet", "SecretGet", "SecretGet"]
    assert [r["properties"]["httpStatusCode"] for r in mine][-3:] == [200, 200, 401]
    last_ok = mine[-2]
    assert last_ok["category"] == "AuditEvent" and last_ok["resultType"] == "Success"
    assert last_ok["callerIpAddress"] == "127.0.0.1"
    assert last_ok["identity"]["claim"]["http://schemas.microsoft.com/identity/claims/objectidentifier"]
    assert last_ok["properties"]["id"] == f"{coffre.vault_url()}/secrets/{name}"
    assert isinstance(last_ok["durationMs"], int)
