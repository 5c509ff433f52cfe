"""The unmodified Azure CLI (`az`, pinned in requirements-az.txt, in .venv-az) against Coffre: cloud registration from
Coffre's metadata, every sign-in kind, tokens for a vault, then SDK programs with AzureCliCredential and
DefaultAzureCredential; group-granted access; the device-code page in a real headless browser.

Every test has its own AZURE_CONFIG_DIR. Each az call costs a second or two of CPU: the calls are few and counted."""
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

from browser import chromium, follow
from coffre_process import ROOT
from test_identity import make_certificate

AZ = os.path.join(ROOT, ".venv-az", "bin", "az")
PIN = os.path.join(os.path.dirname(__file__), "pin_localhost")
CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"

pytestmark = pytest.mark.skipif(not os.path.exists(AZ), reason="the Azure CLI is not installed in .venv-az (scripts/test installs it)")


class AzureCli:
    """`az` with a configuration directory of its own, trusting Coffre's CA, with `*.localhost` resolving to loopback."""

    def __init__(self, coffre, directory):
        self.coffre = coffre
        self.directory = directory
        self.env = {
            "PATH": os.path.dirname(AZ) + os.pathsep + os.environ.get("PATH", ""),
            "HOME": str(directory),
            "AZURE_CONFIG_DIR": str(directory / "azure"),
            "REQUESTS_CA_BUNDLE": coffre.ca_file,
            "SSL_CERT_FILE": coffre.ca_file,
            "PYTHONPATH": PIN,
            # What `coffre env` prints for the CLI.
            "AZURE_CORE_INSTANCE_DISCOVERY": "false",
            # Nothing leaves the machine; no prompt, no colour.
            "AZURE_CORE_COLLECT_TELEMETRY": "false",
            "AZURE_CORE_SURVEY_MESSAGE": "false",
            "AZURE_CORE_NO_COLOR": "true",
            "AZURE_CORE_LOGIN_EXPERIENCE_V2": "off",
        }

    def run(self, *args, check=True, timeout=120):
        result = subprocess.run([AZ, *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"az {' '.join(args)} failed ({result.returncode}): {result.stderr}{result.stdout}")
        return result

    def json(self, *args):
        return json.loads(self.run(*args, "--output", "json").stdout)

    def register_cloud(self):
        """The two-line set-up's second line (the first is `eval "$(coffre env)"`)."""
        self.run("cloud", "register", "-n", "coffre", "--endpoint-resource-manager", self.coffre.authority)
        self.run("cloud", "set", "-n", "coffre")

    def python(self, program, extra_env=None):
        """Runs an SDK program with the compat suite's Python, as a user would after `az login`."""
        env = dict(self.env, **(extra_env or {}))
        result = subprocess.run([sys.executable, "-c", textwrap.dedent(program)], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr + result.stdout
        return result.stdout


@pytest.fixture
def az(coffre, tmp_path):
    cli = AzureCli(coffre, tmp_path)
    cli.register_cloud()
    return cli


@pytest.fixture
def tenant(coffre):
    return coffre.env()["AZURE_TENANT_ID"]


def make_user(coffre, upn, tmp_path):
    password_file = tmp_path / "password"
    password_file.write_text("correct horse battery staple\n")
    user = coffre.cli_json("user", "create", "--upn", upn, "--password-file", str(password_file))
    assert set(user) == {"objectId", "userPrincipalName", "tenantId"}
    return user, "correct horse battery staple"


SDK_PROGRAM = """
    import base64, json, os, sys
    from azure.identity import AzureCliCredential, DefaultAzureCredential
    from azure.keyvault.secrets import SecretClient
    url, name = os.environ["VAULT_URL"], os.environ["SECRET_NAME"]
    # Each token is an `az` run: give it more than the default 10 s, as a busy machine needs.
    for credential in (AzureCliCredential(process_timeout=60), DefaultAzureCredential(process_timeout=60)):
        client = SecretClient(url, credential)
        client.set_secret(name, type(credential).__name__)
        print(client.get_secret(name).value)
        # Every other resource Coffre serves: a token whose audience is that resource.
        for scope in os.environ["OTHER_SCOPES"].split():
            payload = credential.get_token(scope).token.split(".")[1]
            print(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["aud"])
"""


def test_cloud_registration_reads_coffres_metadata(az, coffre):
    cloud = az.json("cloud", "show", "-n", "coffre")
    assert cloud["endpoints"]["activeDirectory"] == coffre.authority + "/adfs"
    assert cloud["endpoints"]["activeDirectoryResourceId"] == f"https://management.localhost:{coffre.port}/"
    assert cloud["endpoints"]["microsoftGraphResourceId"] == coffre.authority + "/"
    assert cloud["suffixes"]["keyvaultDns"] == f".vault.localhost:{coffre.port}"
    assert cloud["suffixes"]["mhsmDns"] == f".managedhsm.localhost:{coffre.port}"
    assert cloud["isActive"]


def test_service_principal_with_a_secret_and_with_a_certificate(az, coffre, tenant, tmp_path, name):
    secret_app = coffre.cli_json("principal", "create", "--name", "az-secret-app")
    az.run("login", "--service-principal", "-u", secret_app["clientId"], "-p", secret_app["clientSecret"], "--tenant", tenant,
           "--skip-subscription-discovery")
    token = az.json("account", "get-access-token", "--resource", f"https://vault.localhost:{coffre.port}")
    assert token["accessToken"] and token["tenant"] == tenant

    combined, public = make_certificate(tmp_path, "az-cert")
    cert_app = coffre.cli_json("principal", "create", "--name", "az-cert-app", "--certificate", public, "--no-secret")
    coffre.cli("vault", "set-policy", "--name", "default", "--object-id", cert_app["objectId"], "--secret-permissions", "get", "set")
    az.run("login", "--service-principal", "-u", cert_app["clientId"], "--certificate", combined, "--tenant", tenant,
           "--skip-subscription-discovery")
    shown = az.run("keyvault", "secret", "set", "--vault-name", "default", "--name", name, "--value", "from-az", "--query", "value",
                   "--output", "tsv")
    assert shown.stdout.strip() == "from-az"


def test_user_password_sign_in_then_sdk_programs(az, coffre, tenant, tmp_path, name):
    user, password = make_user(coffre, "alice@example.test", tmp_path)
    coffre.cli("vault", "set-policy", "--name", "default", "--object-id", "alice@example.test", "--secret-permissions", "get", "set")
    az.run("login", "-u", user["userPrincipalName"], "-p", password, "--tenant", tenant, "--skip-subscription-discovery")
    account = az.json("account", "show")
    assert account["user"] == {"name": "alice@example.test", "type": "user"}
    # A token for another resource comes from the refresh token.
    token = az.json("account", "get-access-token", "--resource", f"https://vault.localhost:{coffre.port}")
    assert token["accessToken"]
    resources = [f"https://managedhsm.localhost:{coffre.port}", "https://storage.azure.com", f"https://management.localhost:{coffre.port}/"]
    scopes = " ".join(resource + "/.default" for resource in resources)
    output = az.python(SDK_PROGRAM, {"VAULT_URL": coffre.vault_url(), "SECRET_NAME": name, "AZURE_TOKEN_CREDENTIALS": "dev", "OTHER_SCOPES": scopes})
    audiences = [resource.rstrip("/") for resource in resources]
    assert [line.rstrip("/") for line in output.split()] == ["AzureCliCredential", *audiences, "DefaultAzureCredential", *audiences]


def test_a_generated_password_is_shown_once_and_signs_in(az, coffre, tenant):
    user = coffre.cli_json("user", "create", "--upn", "dave@example.test")
    assert set(user) == {"objectId", "userPrincipalName", "tenantId", "password"}
    assert user["userPrincipalName"] == "dave@example.test" and user["tenantId"] == tenant
    assert "password" not in json.dumps(coffre.cli_json("user", "list")) and "password" not in json.dumps(coffre.cli_json("user", "show", "--upn", "dave@example.test"))
    az.run("login", "-u", "dave@example.test", "-p", user["password"], "--tenant", tenant, "--skip-subscription-discovery")
    assert az.json("account", "show")["user"] == {"name": "dave@example.test", "type": "user"}


def test_a_policy_for_a_group_lets_its_member_in_until_removed(az, coffre, tenant, tmp_path, name):
    user, password = make_user(coffre, "bob@example.test", tmp_path)
    group = coffre.cli_json("group", "create", "--name", "vault-readers")
    assert set(group) == {"objectId", "displayName"}
    coffre.cli("group", "add-member", "--group", "vault-readers", "--member", user["objectId"])
    coffre.cli("vault", "set-policy", "--name", "default", "--object-id", group["objectId"], "--secret-permissions", "get")
    az.run("login", "-u", user["userPrincipalName"], "-p", password, "--tenant", tenant, "--skip-subscription-discovery")
    from azure.keyvault.secrets import SecretClient
    from conftest import managed_identity_credential
    SecretClient(coffre.vault_url(), managed_identity_credential()).set_secret(name, "shared")
    program = """
        import os
        from azure.core.exceptions import HttpResponseError
        from azure.identity import AzureCliCredential
        from azure.keyvault.secrets import SecretClient
        client = SecretClient(os.environ["VAULT_URL"], AzureCliCredential(process_timeout=60))
        print(client.get_secret(os.environ["SECRET_NAME"]).value)
        input()  # the test removes bob from the group meanwhile
        try:
            client.get_secret(os.environ["SECRET_NAME"])
            print("still allowed")
        except HttpResponseError as error:
            print(error.status_code)
    """
    process = subprocess.Popen([sys.executable, "-u", "-c", textwrap.dedent(program)], env=dict(az.env, VAULT_URL=coffre.vault_url(), SECRET_NAME=name),
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "shared", process.stderr.read() if process.poll() is not None else ""
        coffre.cli("group", "remove-member", "--group", "vault-readers", "--member", user["objectId"])
        out, err = process.communicate("\n", timeout=60)
        assert out.strip() == "403", err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_device_code_sign_in_through_the_page_in_a_headless_browser(az, coffre, tenant, tmp_path):
    from selenium.webdriver.common.by import By
    user, password = make_user(coffre, "carol@example.test", tmp_path)
    browser = chromium(window_size="800,700")
    login = subprocess.Popen([AZ, "login", "--use-device-code", "--tenant", tenant, "--skip-subscription-discovery", "--output", "json"],
                             env=az.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    output = os.environ.get("COFFRE_TEST_OUTPUT", os.path.join(ROOT, ".build", "test-output"))
    os.makedirs(output, exist_ok=True)
    try:
        message = ""
        deadline = time.monotonic() + 60
        while "enter the code" not in message and time.monotonic() < deadline:
            line = login.stderr.readline()
            assert line, f"az login ended: {login.poll()}"
            message += line
        verification_uri, code = message.split("open the page ")[1].split(" and enter the code ")
        code = code.split()[0]
        assert verification_uri == coffre.authority + "/devicelogin"

        browser.get(verification_uri)
        assert "/signin" in browser.current_url
        browser.find_element(By.ID, "username").send_keys(user["userPrincipalName"])
        browser.find_element(By.ID, "password").send_keys(password)
        follow(browser, browser.find_element(By.ID, "signin"))
        browser.find_element(By.ID, "user_code").send_keys(code)
        follow(browser, browser.find_element(By.ID, "next"))
        assert "Microsoft Azure CLI" in browser.page_source
        browser.save_screenshot(os.path.join(output, "device-code-approve.png"))
        follow(browser, browser.find_element(By.ID, "approve"))
        assert "You are signed in" in browser.page_source
        browser.save_screenshot(os.path.join(output, "device-code-done.png"))
        assert login.wait(timeout=60) == 0, login.stderr.read()
    finally:
        browser.quit()
        if login.poll() is None:
            login.kill()
            login.wait()
    assert az.json("account", "show")["user"] == {"name": "carol@example.test", "type": "user"}
