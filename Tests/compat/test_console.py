"""The web console in a real browser: Debian's headless Chromium, driven by Selenium through chromium-driver, signs in on
Coffre's sign-in page, browses a vault, reveals a value (found in the audit log, as the person), creates a secret that
azure-keyvault-secrets reads back, is refused what its policy lacks, and signs out. Screenshots of each page go to the
test output directory (COFFRE_TEST_OUTPUT, default .build/test-output/console)."""
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


@pytest.fixture(scope="module")
def output():
    directory = os.path.join(os.environ.get("COFFRE_TEST_OUTPUT", os.path.join(ROOT, ".build", "test-output")), "console")
    os.makedirs(directory, exist_ok=True)
    return directory


VAULT = "consolevault"
"""The vault these tests browse: their own, so that the objects they look for are on its first page."""


@pytest.fixture(scope="module", autouse=True)
def console_vault(coffre, app_principal):
    coffre.cli("vault", "create", "--name", VAULT)
    coffre.cli("vault", "set-policy", "--name", VAULT, "--object-id", app_principal["objectId"],
               "--secret-permissions", "all", "--key-permissions", "all", "--certificate-permissions", "all")
    return VAULT


def make_user(coffre, tmp_path, upn, **permissions):
    """A person with a password and an access policy on the console's vault (`secrets=["get", "list"]`…)."""
    password = "correct horse battery staple"
    password_file = tmp_path / (upn + ".password")
    password_file.write_text(password + "\n")
    user = coffre.cli_json("user", "create", "--upn", upn, "--password-file", str(password_file))
    arguments = []
    for area, granted in permissions.items():
        arguments += [f"--{area[:-1]}-permissions", *granted]
    coffre.cli("vault", "set-policy", "--name", VAULT, "--object-id", upn, *arguments)
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
    browser.save_screenshot(os.path.join(output, "1-vaults.png"))
    follow(browser, browser.find_element(By.LINK_TEXT, VAULT))
    page = browser.page_source
    assert name in page and name + "-key" in page and name + "-cert" in page and "owner=console" in page
    browser.save_screenshot(os.path.join(output, "2-vault.png"))

    # A certificate's secret has its name too: links by where they go.
    follow(browser, browser.find_element(By.XPATH, f"//a[@href='/vaults/{VAULT}/keys/{name}-key']"))
    assert "sign" in browser.page_source
    browser.save_screenshot(os.path.join(output, "3-key.png"))
    browser.back()
    follow(browser, browser.find_element(By.XPATH, f"//a[@href='/vaults/{VAULT}/certificates/{name}-cert']"))
    assert "Thumbprint" in browser.page_source
    browser.save_screenshot(os.path.join(output, "4-certificate.png"))
    browser.back()

    follow(browser, browser.find_element(By.XPATH, f"//a[@href='/vaults/{VAULT}/secrets/{name}']"))
    assert value not in browser.page_source and "text/plain" in browser.page_source
    browser.save_screenshot(os.path.join(output, "5-secret.png"))
    follow(browser, browser.find_element(By.XPATH, "//button[text()='Reveal']"))
    assert browser.find_element(By.ID, "secret-value").text == value
    assert value not in browser.current_url
    browser.save_screenshot(os.path.join(output, "6-revealed.png"))
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
    browser.save_screenshot(os.path.join(output, "7-created.png"))
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
    browser.save_screenshot(os.path.join(output, "8-refused.png"))
    refused = [r for r in audit_records(coffre) if r["operationName"] == "SecretGet" and r["properties"]["requestUri"].endswith(
        f"/secrets/{name}/reveal")]
    assert [r["properties"]["httpStatusCode"] for r in refused] == [403]
