"""The web console in a real browser: Debian's headless Chromium, driven by Selenium through chromium-driver, signs in on
Coffre's sign-in page, browses a vault, reveals a value (found in the audit log, as the person), creates a secret that
azure-keyvault-secrets reads back, is refused what its policy lacks, and signs out. Screenshots of each page go to the
test output directory (COFFRE_TEST_OUTPUT, default .build/test-output/console), with how long each page took to load
(timings.txt: the browser's own Navigation Timing, recorded, never asserted: "usable in one second" is read there).

A second test walks the objects and vaults: it changes, deletes, recovers and purges a secret (read back through the
SDK each time), compares a key's public JWK and a certificate's thumbprint with the SDK's, follows a certificate
operation, draws the expiry timeline, and makes, changes, deletes and recovers a vault and a Managed HSM pool as a
person holding Contributor."""
import base64
import json
import os

import pytest
from azure.keyvault.certificates import CertificateClient, CertificatePolicy
from azure.keyvault.keys import KeyClient
from azure.keyvault.secrets import SecretClient

from browser import chromium, follow
from coffre_process import ROOT
from conftest import client_secret_credential

OBJECT_ID_CLAIM = "http://schemas.microsoft.com/identity/claims/objectidentifier"


@pytest.fixture
def browser():
    driver = chromium()
    yield driver
    driver.quit()


class Output:
    """Where screenshots go, and the load time of each page shot (written to timings.txt when the module ends)."""

    # What the browser measured for the page on screen: milliseconds from the start of its navigation (a form's POST
    # and redirect included) to the first byte, the last byte, the DOM ready and the load event.
    TIMING = """const e = performance.getEntriesByType('navigation')[0];
        return e ? [e.responseStart, e.responseEnd, e.domContentLoadedEventEnd, e.loadEventEnd, e.transferSize] : null;"""

    def __init__(self, directory, timings_file="timings.txt"):
        self.directory = directory
        self.timings_file = timings_file
        self.timings = []

    def shot(self, browser, label):
        browser.save_screenshot(os.path.join(self.directory, label + ".png"))
        measured = browser.execute_script(self.TIMING)
        if measured:
            self.timings.append((label, browser.current_url.split("/", 3)[-1], *measured))

    def write(self):
        lines = [f"{'page':<24} {'first byte':>10} {'last byte':>10} {'DOM ready':>10} {'loaded':>10} {'bytes':>7}  path"]
        for label, path, first, last, ready, loaded, size in self.timings:
            lines.append(f"{label:<24} {first:>8.0f}ms {last:>8.0f}ms {ready:>8.0f}ms {loaded:>8.0f}ms {size:>7}  /{path}")
        if self.timings:
            slowest = max(self.timings, key=lambda t: t[5])
            lines.append(f"slowest load event: {slowest[0]} {slowest[5]:.0f} ms; load average {os.getloadavg()[0]:.1f}")
        with open(os.path.join(self.directory, self.timings_file), "w") as f:
            f.write("\n".join(lines) + "\n")


def output_directory():
    directory = os.path.join(os.environ.get("COFFRE_TEST_OUTPUT", os.path.join(ROOT, ".build", "test-output")), "console")
    os.makedirs(directory, exist_ok=True)
    return directory


@pytest.fixture(scope="module")
def output():
    recorded = Output(output_directory())
    yield recorded
    recorded.write()


VAULT = "consolevault"
"""The vault these tests browse: their own, so that the objects they look for are on its first page."""


@pytest.fixture(scope="module", autouse=True)
def console_vault(coffre, app_principal):
    coffre.cli("vault", "create", "--name", VAULT)
    coffre.cli("vault", "set-policy", "--name", VAULT, "--object-id", app_principal["objectId"],
               "--secret-permissions", "all", "--key-permissions", "all", "--certificate-permissions", "all")
    return VAULT


def make_user(coffre, tmp_path, upn, vault=VAULT, **permissions):
    """A person with a password and an access policy on `vault` (`secrets=["get", "list"]`…)."""
    password = "correct horse battery staple"
    password_file = tmp_path / (upn + ".password")
    password_file.write_text(password + "\n")
    user = coffre.cli_json("user", "create", "--upn", upn, "--password-file", str(password_file))
    arguments = []
    for area, granted in permissions.items():
        arguments += [f"--{area[:-1]}-permissions", *granted]
    coffre.cli("vault", "set-policy", "--name", vault, "--object-id", upn, *arguments)
    return user, password


def sign_in(browser, coffre, upn, password):
    from selenium.webdriver.common.by import By
    browser.get(coffre.authority + "/")
    assert "/signin?return=" in browser.current_url
    browser.find_element(By.ID, "username").send_keys(upn)
    browser.find_element(By.ID, "password").send_keys(password)
    follow(browser, browser.find_element(By.ID, "signin"))
    assert browser.current_url == coffre.authority + "/"
    assert "Signed in as " + upn in browser.page_source


def audit_records(coffre):
    """The outcome records of the audit log (changes also have a record made before them, with a "stage")."""
    with open(os.path.join(coffre.data, "audit.log")) as f:
        return [record for record in map(json.loads, f.read().splitlines()) if "stage" not in record]


def test_browse_reveal_create_and_sign_out(coffre, browser, output, app_principal, tmp_path, name):
    from selenium.webdriver.common.by import By
    credential = client_secret_credential(app_principal)
    secrets = SecretClient(coffre.vault_url(VAULT), credential)
    value = "console-value-" + name
    secrets.set_secret(name, value, tags={"owner": "console"}, content_type="text/plain")
    KeyClient(coffre.vault_url(VAULT), credential).create_ec_key(name + "-key")
    CertificateClient(coffre.vault_url(VAULT), credential).begin_create_certificate(
        name + "-cert", CertificatePolicy.get_default()).result()
    upn = f"{name}@example.test"
    user, password = make_user(coffre, tmp_path, upn, secrets=["get", "list", "set"], keys=["list"], certificates=["list"])

    sign_in(browser, coffre, upn, password)
    output.shot(browser, "1-vaults")
    follow(browser, browser.find_element(By.LINK_TEXT, VAULT))
    page = browser.page_source
    assert name in page and name + "-key" in page and name + "-cert" in page and "owner=console" in page
    output.shot(browser, "2-vault")

    # A certificate's secret has its name too: links by where they go.
    follow(browser, browser.find_element(By.XPATH, f"//a[@href='/vaults/{VAULT}/keys/{name}-key']"))
    assert "sign" in browser.page_source
    output.shot(browser, "3-key")
    browser.back()
    follow(browser, browser.find_element(By.XPATH, f"//a[@href='/vaults/{VAULT}/certificates/{name}-cert']"))
    assert "Thumbprint" in browser.page_source
    output.shot(browser, "4-certificate")
    browser.back()

    follow(browser, browser.find_element(By.XPATH, f"//a[@href='/vaults/{VAULT}/secrets/{name}']"))
    assert value not in browser.page_source and "text/plain" in browser.page_source
    output.shot(browser, "5-secret")
    follow(browser, browser.find_element(By.XPATH, "//button[text()='Reveal']"))
    assert browser.find_element(By.ID, "secret-value").text == value
    assert value not in browser.current_url
    output.shot(browser, "6-revealed")
    reveals = [r for r in audit_records(coffre) if r["operationName"] == "SecretGet" and r["properties"]["requestUri"].endswith(
        f"/vaults/{VAULT}/secrets/{name}/reveal")]
    assert len(reveals) == 1 and reveals[0]["properties"]["httpStatusCode"] == 200
    assert reveals[0]["identity"]["claim"][OBJECT_ID_CLAIM] == user["objectId"]
    assert reveals[0]["properties"]["id"].startswith(f"{coffre.vault_url(VAULT)}/secrets/{name}/")

    browser.get(coffre.authority + "/vaults/" + VAULT)
    created = name + "-new"
    browser.find_element(By.ID, "name").send_keys(created)
    browser.find_element(By.ID, "value").send_keys("made in the console")
    follow(browser, browser.find_element(By.ID, "create"))
    assert browser.current_url == f"{coffre.authority}/vaults/{VAULT}/secrets/{created}"
    output.shot(browser, "7-created")
    assert secrets.get_secret(created).value == "made in the console"

    follow(browser, browser.find_element(By.ID, "signout"))
    assert "/signin" in browser.current_url
    browser.get(coffre.authority + "/vaults/" + VAULT)
    assert "/signin?return=" in browser.current_url
    with open(os.path.join(coffre.data, "audit.log")) as f:
        log = f.read()
    assert value not in log and "made in the console" not in log and value not in coffre.read_log()


def test_a_reader_sees_no_value_and_is_told_the_missing_permission(coffre, browser, output, app_principal, tmp_path, name):
    from selenium.webdriver.common.by import By
    secrets = SecretClient(coffre.vault_url(VAULT), client_secret_credential(app_principal))
    value = "reader-must-not-see-" + name
    secrets.set_secret(name, value)
    upn = f"{name}@example.test"
    make_user(coffre, tmp_path, upn, secrets=["list"])

    sign_in(browser, coffre, upn, password="correct horse battery staple")
    browser.get(coffre.authority + "/vaults/" + VAULT)
    assert "does not have keys list permission" in browser.page_source
    assert "does not have certificates list permission" in browser.page_source
    follow(browser, browser.find_element(By.LINK_TEXT, name))
    follow(browser, browser.find_element(By.XPATH, "//button[text()='Reveal']"))
    assert "does not have secrets get permission" in browser.page_source and value not in browser.page_source
    output.shot(browser, "8-refused")
    browser.get(f"{coffre.authority}/vaults/{VAULT}/secrets/{name}")
    follow(browser, browser.find_element(By.ID, "delete"))
    assert "does not have secrets delete permission" in browser.page_source
    assert secrets.get_secret(name).value == value
    refused = [r for r in audit_records(coffre) if r["operationName"] == "SecretGet" and r["properties"]["requestUri"].endswith(
        f"/secrets/{name}/reveal")]
    assert [r["properties"]["httpStatusCode"] for r in refused] == [403]


def test_objects_and_vaults(coffre, browser, output, app_principal, tmp_path, name):
    """Objects: change, delete, recover, purge (the SDK reads each result); a key's JWK and a certificate's details as
    the SDK sees them; a certificate operation; the expiry timeline. Vaults and pools, as a person with Contributor."""
    from azure.core.exceptions import ResourceNotFoundError
    from selenium.webdriver.common.by import By
    credential = client_secret_credential(app_principal)
    secrets = SecretClient(coffre.vault_url(VAULT), credential)
    keys = KeyClient(coffre.vault_url(VAULT), credential)
    certificates = CertificateClient(coffre.vault_url(VAULT), credential)
    secret = secrets.set_secret(name, "objects-" + name)
    key = keys.create_ec_key(name + "-key", curve="P-384")
    policy = CertificatePolicy(issuer_name="Self", subject="CN=" + name + ".example.test", san_dns_names=[name + ".example.test"],
                               validity_in_months=3)
    certificate = certificates.begin_create_certificate(name + "-cert", policy).result()
    certificates.begin_create_certificate(name + "-csr", CertificatePolicy(issuer_name="Unknown", subject="CN=elsewhere"))
    upn = f"{name}@example.test"
    user, password = make_user(coffre, tmp_path, upn, secrets=["all"], keys=["all"], certificates=["all"])
    coffre.cli("role", "assignment", "create", "--role", "Contributor", "--assignee", user["objectId"],
               "--scope", "/subscriptions/" + coffre.env()["AZURE_SUBSCRIPTION_ID"])
    sign_in(browser, coffre, upn, password)
    base = f"{coffre.authority}/vaults/{VAULT}"

    # A secret version's page: disable it, give it an expiry and tags; the SDK sees them.
    browser.get(f"{base}/secrets/{name}/versions/{secret.properties.version}")
    output.shot(browser, "10-secret-version")
    browser.find_element(By.ID, "enabled").click()
    browser.find_element(By.ID, "tags").send_keys("owner=console, tier=gold")
    browser.execute_script("document.getElementById('expires').value = '2031-03-01T09:30'")
    follow(browser, browser.find_element(By.ID, "save"))
    # Disabled: the SDK reads its properties from the versions list.
    properties = next(p for p in secrets.list_properties_of_secret_versions(name) if p.version == secret.properties.version)
    assert properties.enabled is False and properties.tags == {"owner": "console", "tier": "gold"}
    assert properties.expires_on.isoformat() == "2031-03-01T09:30:00+00:00"

    # Delete, find it among the deleted objects, recover it, delete and purge it.
    browser.get(f"{base}/secrets/{name}")
    follow(browser, browser.find_element(By.ID, "delete"))
    assert browser.current_url == f"{base}/deleted" and name in browser.page_source
    output.shot(browser, "11-deleted-objects")
    assert secrets.get_deleted_secret(name).name == name
    follow(browser, browser.find_element(By.XPATH, f"//form[@action='/vaults/{VAULT}/deleted/secrets/{name}/recover']/button"))
    assert any(p.version == secret.properties.version for p in secrets.list_properties_of_secret_versions(name))
    browser.get(f"{base}/secrets/{name}")
    follow(browser, browser.find_element(By.ID, "delete"))
    follow(browser, browser.find_element(By.XPATH, f"//form[@action='/vaults/{VAULT}/deleted/secrets/{name}/purge']/button"))
    with pytest.raises(ResourceNotFoundError):
        secrets.get_deleted_secret(name)

    # A key made on the vault page is the SDK's; a key's public JWK is the SDK's.
    browser.get(base)
    browser.find_element(By.ID, "keyName").send_keys(name + "-made")
    follow(browser, browser.find_element(By.ID, "create-key"))
    assert browser.current_url == f"{base}/keys/{name}-made"
    assert keys.get_key(name + "-made").key_type == "EC"
    browser.get(f"{base}/keys/{name}-key/versions/{key.properties.version}")
    jwk = json.loads(browser.find_element(By.ID, "jwk").text)
    assert jwk["kid"] == key.id and jwk["crv"] == "P-384"
    assert base64.urlsafe_b64decode(jwk["x"] + "==") == key.key.x
    output.shot(browser, "12-key-version")
    browser.get(f"{base}/keys/{name}-key")
    follow(browser, browser.find_element(By.ID, "rotate"))
    assert len(list(keys.list_properties_of_key_versions(name + "-key"))) == 2

    # A certificate's subject, names and thumbprint are the SDK's; its chain is shown.
    browser.get(f"{base}/certificates/{name}-cert/versions/{certificate.properties.version}")
    page = browser.page_source
    assert "CN=" + name + ".example.test" in page and "DNS:" + name + ".example.test" in page
    assert certificate.properties.x509_thumbprint.hex().upper() in page and "<h2>Chain</h2>" in page
    output.shot(browser, "13-certificate-version")
    browser.get(f"{base}/certificates/{name}-csr/pending")
    assert "inProgress" in browser.page_source and "BEGIN CERTIFICATE REQUEST" in browser.page_source
    output.shot(browser, "14-certificate-operation")
    follow(browser, browser.find_element(By.ID, "cancel"))
    assert certificates.get_certificate_operation(name + "-csr").cancellation_requested
    browser.get(f"{base}/expiry")
    assert browser.find_element(By.TAG_NAME, "svg") and f"certificate {name}-cert" in browser.page_source
    output.shot(browser, "15-expiry-timeline")

    # A vault of the person's own: made, changed, deleted and recovered; then a pool.
    vault = "cv" + name.replace("-", "")[:16]
    browser.get(coffre.authority + "/")
    browser.find_element(By.ID, "name").send_keys(vault)
    retention = browser.find_element(By.ID, "retentionDays")
    retention.clear()
    retention.send_keys("7")
    follow(browser, browser.find_element(By.ID, "create-vault"))
    assert browser.current_url == f"{coffre.authority}/vaults/{vault}/settings"
    output.shot(browser, "16-vault-settings")
    browser.find_element(By.ID, "tags").send_keys("cost-centre=42")
    follow(browser, browser.find_element(By.ID, "save-settings"))
    assert "cost-centre=42" in browser.page_source
    # The person may use the vault they made (an access policy of their own, as az keyvault create gives).
    browser.get(f"{coffre.authority}/vaults/{vault}")
    assert "None." in browser.page_source and "does not have" not in browser.page_source
    browser.get(f"{coffre.authority}/vaults/{vault}/settings")
    follow(browser, browser.find_element(By.ID, "delete-vault"))
    assert browser.current_url == coffre.authority + "/deleted-vaults" and vault in browser.page_source
    output.shot(browser, "17-deleted-vaults")
    follow(browser, browser.find_element(By.XPATH, f"//form[@action='/deleted-vaults/{vault}/recover']/button"))
    assert browser.current_url == f"{coffre.authority}/vaults/{vault}/settings"
    assert any(v["name"] == vault for v in coffre.cli_json("vault", "list"))

    pool = "cp" + name.replace("-", "")[:16]
    browser.get(coffre.authority + "/pools")
    output.shot(browser, "18-pools")
    browser.find_element(By.ID, "name").send_keys(pool)
    follow(browser, browser.find_element(By.ID, "create-pool"))
    assert browser.current_url == f"{coffre.authority}/pools/{pool}" and user["objectId"] in browser.page_source
    output.shot(browser, "19-pool")
    follow(browser, browser.find_element(By.ID, "delete-pool"))
    assert pool not in browser.page_source
