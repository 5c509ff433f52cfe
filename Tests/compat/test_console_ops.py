"""The console's access editors, audit log, metrics charts and seal page in headless Chromium (as test_console.py):
a person holding Owner on a vault gives an application an access policy on the Access page, and azure-keyvault-secrets
is allowed, then refused once the policy is changed; a reveal is found in the audit log by its filters; the charts
are drawn; a sealed server is unsealed with key shares on its seal page. Screenshots go to the console's output."""
import json
import os
import subprocess
import tempfile
import time

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.secrets import SecretClient

from browser import follow
from coffre_process import BINARY, Coffre, free_port
from conftest import client_secret_credential
from test_console import Output, browser, make_user, output_directory, sign_in  # noqa: F401 (fixture)

VAULT = "consoleops"
"""The vault these tests edit the access of: their own."""


@pytest.fixture(scope="module")
def output():
    """Screenshots beside test_console.py's, with the pages' load times in timings-ops.txt."""
    recorded = Output(output_directory(), "timings-ops.txt")
    yield recorded
    recorded.write()


@pytest.fixture(scope="module", autouse=True)
def ops_vault(coffre, app_principal):
    coffre.cli("vault", "create", "--name", VAULT)
    coffre.cli("vault", "set-policy", "--name", VAULT, "--object-id", app_principal["objectId"], "--secret-permissions", "all")
    return VAULT


def subscription(coffre):
    return "/subscriptions/" + coffre.env()["AZURE_SUBSCRIPTION_ID"]


def person(coffre, tmp_path, name, role, scope, **permissions):
    """A person with an access policy on the console's vault and `role` at `scope`."""
    upn = f"{name}@example.test"
    user, password = make_user(coffre, tmp_path, upn, vault=VAULT, **permissions)
    coffre.cli("role", "assignment", "create", "--role", role, "--assignee", upn, "--scope", scope)
    return upn, password


def test_an_owner_edits_a_policy_and_the_sdk_follows_it(coffre, browser, output, tmp_path, name):
    from selenium.webdriver.common.by import By
    upn, password = person(coffre, tmp_path, name, "Owner", f"/vaults/{VAULT}", secrets=["list"])
    app = coffre.cli_json("principal", "create", "--name", name + "-app")
    app_client = SecretClient(coffre.vault_url(VAULT), client_secret_credential(app))
    coffre.cli("vault", "set-policy", "--name", VAULT, "--object-id", app["objectId"], "--secret-permissions", "set")
    app_client.set_secret(name, "policy-guarded")
    with pytest.raises(HttpResponseError) as refused:
        app_client.get_secret(name)
    assert refused.value.status_code == 403

    sign_in(browser, coffre, upn, password)
    browser.get(f"{coffre.authority}/vaults/{VAULT}/access")
    browser.find_element(By.ID, "principal").send_keys(name + "-app")
    for permission in ("secrets.get", "secrets.list"):
        browser.find_element(By.ID, permission).click()
    follow(browser, browser.find_element(By.ID, "save-policy"))
    assert browser.current_url == f"{coffre.authority}/vaults/{VAULT}/access"
    assert name + "-app" in browser.page_source and "ServicePrincipal" in browser.page_source
    output.shot(browser, "ops-access")
    assert app_client.get_secret(name).value == "policy-guarded"

    # Change: the form shows what the application holds; unchecking get takes it away at the next request.
    follow(browser, browser.find_element(By.XPATH, f"//a[@href='/vaults/{VAULT}/access?principal={app['objectId']}']"))
    assert browser.find_element(By.ID, "secrets.get").is_selected() and browser.find_element(By.ID, "secrets.list").is_selected()
    browser.find_element(By.ID, "secrets.get").click()
    follow(browser, browser.find_element(By.ID, "save-policy"))
    with pytest.raises(HttpResponseError) as refused:
        app_client.get_secret(name)
    assert refused.value.status_code == 403 and "secrets get permission" in str(refused.value)
    assert [p.name for p in app_client.list_properties_of_secrets()]


def test_a_person_without_a_role_is_told_the_missing_action(coffre, browser, output, tmp_path, name):
    upn = f"{name}@example.test"
    _, password = make_user(coffre, tmp_path, upn, vault=VAULT, secrets=["list"])
    sign_in(browser, coffre, upn, password)
    browser.get(f"{coffre.authority}/vaults/{VAULT}/access")
    assert "Microsoft.KeyVault/vaults/read" in browser.page_source
    browser.get(f"{coffre.authority}/audit")
    assert "Microsoft.Insights/logs/read" in browser.page_source
    output.shot(browser, "ops-no-role")


def test_the_audit_log_finds_a_reveal(coffre, browser, output, app_principal, tmp_path, name):
    from selenium.webdriver.common.by import By
    SecretClient(coffre.vault_url(VAULT), client_secret_credential(app_principal)).set_secret(name, "audited-value")
    upn, password = person(coffre, tmp_path, name, "Reader", f"/vaults/{VAULT}", secrets=["get", "list"])
    sign_in(browser, coffre, upn, password)
    browser.get(f"{coffre.authority}/vaults/{VAULT}/secrets/{name}")
    follow(browser, browser.find_element(By.XPATH, "//button[text()='Reveal']"))

    browser.get(f"{coffre.authority}/audit")
    browser.find_element(By.ID, "who").send_keys(upn)
    browser.find_element(By.ID, "operation").send_keys("SecretGet")
    browser.find_element(By.ID, "object").send_keys(name)
    follow(browser, browser.find_element(By.XPATH, "//button[text()='Filter']"))
    rows = browser.find_elements(By.XPATH, "//table//tr[td]")
    assert len(rows) == 1, browser.page_source
    cells = [cell.text for cell in rows[0].find_elements(By.TAG_NAME, "td")]
    assert cells[1] == "SecretGet" and cells[2] == "Success (200)" and cells[3] == upn
    assert cells[4].startswith(f"{coffre.vault_url(VAULT)}/secrets/{name}")
    assert "audited-value" not in browser.page_source and "audited-value" not in browser.current_url
    output.shot(browser, "ops-audit")


def test_the_charts_are_drawn(coffre, browser, output, app_principal, tmp_path, name):
    from selenium.webdriver.common.by import By
    secrets = SecretClient(coffre.vault_url(VAULT), client_secret_credential(app_principal))
    upn, password = person(coffre, tmp_path, name, "Reader", subscription(coffre), secrets=["list"])
    for index in range(20):
        secrets.set_secret(f"{name}-{index % 3}", "v")
    time.sleep(6)  # at least one sample after the traffic (every 5 s)
    sign_in(browser, coffre, upn, password)
    browser.get(f"{coffre.authority}/monitoring")
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert [chart.find_element(By.TAG_NAME, "title").get_attribute("textContent") for chart in charts] == [
        "Requests", "Latency", "Errors", "Cryptographic operations"]
    assert charts[0].find_elements(By.CSS_SELECTOR, "polyline, circle")
    assert charts[0].size["width"] > 400
    output.shot(browser, "ops-metrics")


def test_a_sealed_server_is_unsealed_on_its_seal_page(browser, output):
    from selenium.webdriver.common.by import By
    data = tempfile.mkdtemp(prefix="coffre-console-seal-")
    port = free_port()
    result = subprocess.run([BINARY, "operator", "init", "--data", data, "--shares", "3", "--threshold", "2", "--port", str(port)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    shares = json.loads(result.stdout)["shares"]
    server = Coffre(data=data, port=port)
    server.owns_data = True
    server.start()
    try:
        browser.get(server.authority + "/")
        assert browser.current_url == server.authority + "/seal"
        assert "Sealed" in browser.page_source and "0" in browser.find_elements(By.XPATH, "//table//td")[3].text
        output.shot(browser, "ops-sealed")
        browser.find_element(By.ID, "share").send_keys("QQ==")  # one byte: not a share
        follow(browser, browser.find_element(By.ID, "unseal"))
        assert browser.find_elements(By.CSS_SELECTOR, "p.error")
        for share in shares[:2]:
            browser.get(server.authority + "/seal")
            browser.find_element(By.ID, "share").send_keys(share)
            follow(browser, browser.find_element(By.ID, "unseal"))
        assert "Unsealed" in browser.page_source and not browser.find_elements(By.ID, "share")
        output.shot(browser, "ops-unsealed")
        browser.get(server.authority + "/")
        assert "/signin?return=" in browser.current_url
        log = server.read_log()
        with open(os.path.join(data, "audit.log")) as f:
            log += f.read()
        assert all(share not in log for share in shares)
    finally:
        server.cleanup()
