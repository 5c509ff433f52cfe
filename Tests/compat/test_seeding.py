"""Seed files (`coffre vault import|export`, docs/seed-format.md) checked through the official SDKs and python
cryptography: every kind of object, idempotence, a changed value as a new version, all-or-nothing, and export."""
import base64
import datetime
import json
import textwrap
import uuid

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.keyvault.certificates import CertificateClient
from azure.keyvault.keys import KeyClient
from azure.keyvault.secrets import SecretClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from conftest import client_secret_credential, managed_identity_credential


def self_signed(key, name):
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))


@pytest.fixture
def seed(tmp_path, app_principal):
    """A seed file with every kind of object, the files it names beside it, and what was put in them."""
    (tmp_path / "keys").mkdir()
    ec_key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "keys" / "imported.pem").write_bytes(
        ec_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = self_signed(rsa_key, "partner.example")
    pfx = pkcs12.serialize_key_and_certificates(b"partner", rsa_key, certificate, None, serialization.BestAvailableEncryption(b"pw"))
    (tmp_path / "partner.pfx").write_bytes(pfx)
    name = "s" + uuid.uuid4().hex[:12]
    document = f"""
        vaults:
          - name: {name}
            retentionDays: 7
            accessPolicies:
              - objectId: compat-app
                permissions: {{secrets: [get, list]}}
            secrets:
              - name: db-password
                value: hunter2
                contentType: text/plain
                tags: {{env: dev}}
              - name: dated
                value: "1234"
                notBefore: 2026-01-01T00:00:00Z
                expires: 2040-01-01
            keys:
              - {{name: signing, kty: EC, curve: P-256, ops: [sign, verify]}}
              - {{name: wrapping, kty: RSA, size: 3072, tags: {{purpose: wrap}}}}
              - name: from-pem
                pemFile: keys/imported.pem
            certificates:
              - name: web
                policy:
                  subject: CN=web.example
                  subjectAlternativeNames: {{dnsNames: [web.example]}}
                  validityInMonths: 6
                  issuerName: Self
                  contentType: application/x-pem-file
              - name: partner
                file: partner.pfx
                password: pw
                tags: {{owner: partners}}
        """
    path = tmp_path / "seed.yaml"
    path.write_text(textwrap.dedent(document))
    return {"path": str(path), "vault": name, "ec_key": ec_key, "certificate": certificate}


def clients(coffre, vault):
    credential = managed_identity_credential()
    url = coffre.vault_url(vault)
    return SecretClient(url, credential), KeyClient(url, credential), CertificateClient(url, credential)


def test_a_seed_file_makes_every_kind_of_object(coffre, seed, app_principal):
    report = coffre.cli_json("vault", "import", "--name", seed["vault"], seed["path"])
    assert sorted(report["created"]) == sorted(["vault", "secret/db-password", "secret/dated", "key/signing", "key/wrapping",
                                                "key/from-pem", "certificate/web", "certificate/partner"])
    secrets, keys, certificates = clients(coffre, seed["vault"])
    secret = secrets.get_secret("db-password")
    assert secret.value == "hunter2" and secret.properties.content_type == "text/plain" and secret.properties.tags == {"env": "dev"}
    dated = secrets.get_secret("dated").properties
    assert dated.not_before == datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    assert dated.expires_on == datetime.datetime(2040, 1, 1, tzinfo=datetime.timezone.utc)
    signing = keys.get_key("signing")
    assert signing.key.crv == "P-256" and sorted(signing.key_operations) == ["sign", "verify"]
    wrapping = keys.get_key("wrapping")
    assert len(wrapping.key.n) * 8 == 3072 and wrapping.properties.tags == {"purpose": "wrap"}
    imported = keys.get_key("from-pem").key
    numbers = seed["ec_key"].public_key().public_numbers()
    assert int.from_bytes(imported.x, "big") == numbers.x and int.from_bytes(imported.y, "big") == numbers.y
    web = certificates.get_certificate("web")
    assert web.policy.subject == "CN=web.example" and web.policy.validity_in_months == 6
    partner = certificates.get_certificate("partner")
    assert partner.cer == seed["certificate"].public_bytes(serialization.Encoding.DER)
    assert partner.properties.tags == {"owner": "partners"}
    # The access policy names a principal by name: its own credential now reads the vault's secrets.
    mine = SecretClient(coffre.vault_url(seed["vault"]), client_secret_credential(app_principal))
    assert mine.get_secret("db-password").value == "hunter2"


def test_loading_twice_changes_nothing_and_a_changed_value_adds_a_version(coffre, seed):
    coffre.cli_json("vault", "import", "--name", seed["vault"], seed["path"])
    again = coffre.cli_json("vault", "import", "--name", seed["vault"], seed["path"])
    assert again["created"] == [] and again["changed"] == []
    secrets, keys, certificates = clients(coffre, seed["vault"])
    assert len(list(secrets.list_properties_of_secret_versions("db-password"))) == 1
    assert len(list(keys.list_properties_of_key_versions("from-pem"))) == 1
    assert len(list(certificates.list_properties_of_certificate_versions("partner"))) == 1
    text = open(seed["path"]).read().replace("value: hunter2", "value: hunter3").replace("env: dev", "env: prod")
    with open(seed["path"], "w") as f:
        f.write(text)
    changed = coffre.cli_json("vault", "import", "--name", seed["vault"], seed["path"])
    assert changed["changed"] == ["secret/db-password"] and changed["created"] == []
    assert secrets.get_secret("db-password").value == "hunter3"
    assert secrets.get_secret("db-password").properties.tags == {"env": "prod"}
    assert len(list(secrets.list_properties_of_secret_versions("db-password"))) == 2


def test_an_import_is_all_or_nothing(coffre, tmp_path):
    name = "s" + uuid.uuid4().hex[:12]
    (tmp_path / "broken.yaml").write_text(textwrap.dedent(f"""
        vaults:
          - name: {name}
            secrets: [{{name: first, value: written-first}}]
            keys: [{{name: broken, pem: "-----BEGIN PRIVATE KEY-----\\nnot a key\\n-----END PRIVATE KEY-----\\n"}}]
        """))
    failed = coffre.cli("vault", "import", "--name", name, str(tmp_path / "broken.yaml"), check=False)
    assert failed.returncode != 0 and "BadParameter" in failed.stderr
    assert name not in {vault["name"] for vault in coffre.cli_json("vault", "list")}


def test_export_without_and_with_values(coffre, seed):
    coffre.cli_json("vault", "import", "--name", seed["vault"], seed["path"])
    bare = json.loads(coffre.cli("vault", "export", "--name", seed["vault"], "--format", "json").stdout)["vaults"][0]
    assert bare["name"] == seed["vault"] and bare["retentionDays"] == 7
    assert all("value" not in secret for secret in bare["secrets"])
    assert all("jwk" not in key and "publicJwk" in key for key in bare["keys"])
    assert all("pfx" not in certificate and "pem" not in certificate for certificate in bare["certificates"])
    assert {key["name"]: key.get("curve") for key in bare["keys"]}["signing"] == "P-256"

    full_path = seed["path"] + ".full.json"
    coffre.cli("vault", "export", "--name", seed["vault"], "--include-values", "--format", "json", "--output", full_path)
    full = json.load(open(full_path))["vaults"][0]
    assert {secret["name"]: secret["value"] for secret in full["secrets"]}["db-password"] == "hunter2"
    # The full export loads into another vault as the same objects.
    copy = "c" + uuid.uuid4().hex[:12]
    coffre.cli_json("vault", "import", "--name", copy, full_path)
    secrets, keys, certificates = clients(coffre, copy)
    assert secrets.get_secret("db-password").value == "hunter2"
    original = clients(coffre, seed["vault"])
    assert keys.get_key("signing").key.x == original[1].get_key("signing").key.x
    assert certificates.get_certificate("partner").cer == seed["certificate"].public_bytes(serialization.Encoding.DER)
    assert coffre.cli_json("vault", "import", "--name", copy, full_path)["created"] == []


def test_a_yaml_export_imports_as_a_vault_of_the_same_shape(coffre, seed, tmp_path):
    coffre.cli_json("vault", "import", "--name", seed["vault"], seed["path"])
    exported = coffre.cli("vault", "export", "--name", seed["vault"]).stdout
    assert exported.startswith("vaults:") and "hunter2" not in exported and "BEGIN" not in exported
    (tmp_path / "shape.yaml").write_text(exported)
    shape = "h" + uuid.uuid4().hex[:12]
    report = coffre.cli("vault", "import", "--name", shape, str(tmp_path / "shape.yaml"), check=False)
    # Secrets without values cannot be created: the import says so and leaves nothing behind.
    assert report.returncode != 0 and "must give its value" in report.stderr
    keys_only = json.loads(coffre.cli("vault", "export", "--name", seed["vault"], "--format", "json").stdout)
    keys_only["vaults"][0].pop("secrets")
    (tmp_path / "keys.json").write_text(json.dumps(keys_only))
    made = coffre.cli_json("vault", "import", "--name", shape, str(tmp_path / "keys.json"))
    assert "key/signing" in made["created"] and "certificate/web" in made["created"]
    _, keys, _ = clients(coffre, shape)
    assert keys.get_key("signing").key.crv == "P-256" and keys.get_key("signing").key.x != clients(coffre, seed["vault"])[1].get_key("signing").key.x
