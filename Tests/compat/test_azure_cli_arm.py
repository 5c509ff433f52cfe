"""The seed's Key Vault quickstart through the unmodified Azure CLI (pinned in requirements-az.txt): sign-in with
subscription discovery, resource groups, vaults and their access policies through Azure Resource Manager, the people
lookups through Graph, then an SDK program with DefaultAzureCredential and the CLI's data-plane commands.

The only set-up is Coffre's: a user who owns the subscription (as the quickstart's reader owns theirs), the cloud
registration and the CA trust (AzureCli in test_azure_cli)."""
import json
import uuid

import pytest

from test_azure_cli import AZ, AzureCli, make_user  # noqa: F401 (AZ: the module skips without the CLI)
from test_azure_cli import pytestmark  # noqa: F401


@pytest.fixture
def subscription(coffre):
    return coffre.env()["AZURE_SUBSCRIPTION_ID"]


def signed_in_owner(coffre, tmp_path, upn, role="Owner"):
    """A user holding `role` on the subscription, signed in with `az login -u -p` (subscriptions discovered)."""
    user, password = make_user(coffre, upn, tmp_path)
    subscription = coffre.env()["AZURE_SUBSCRIPTION_ID"]
    coffre.cli("role", "assignment", "create", "--role", role, "--assignee", user["objectId"], "--scope", f"/subscriptions/{subscription}")
    az = AzureCli(coffre, tmp_path)
    az.register_cloud()
    accounts = json.loads(az.run("login", "-u", upn, "-p", password, "--output", "json").stdout)
    assert [a["id"] for a in accounts] == [subscription]
    return az, user


QUICKSTART_PROGRAM = """
    import os
    from azure.identity import DefaultAzureCredential
    from azure.keyvault.certificates import CertificateClient, CertificatePolicy
    from azure.keyvault.secrets import SecretClient
    url = f"https://{os.environ['KEY_VAULT_NAME']}.vault.localhost:{os.environ['COFFRE_PORT']}"
    credential = DefaultAzureCredential()
    secrets = SecretClient(vault_url=url, credential=credential)
    secrets.set_secret("mySecret", "Success!")
    print(secrets.get_secret("mySecret").value)
    secrets.begin_delete_secret("mySecret").wait()
    print("deleted")
    certificates = CertificateClient(vault_url=url, credential=credential)
    certificate = certificates.begin_create_certificate("myCertificate", CertificatePolicy.get_default()).result()
    print(certificate.name)
"""


def test_the_quickstart_with_an_access_policy(coffre, tmp_path, subscription):
    az, user = signed_in_owner(coffre, tmp_path, "quickstart@example.test")
    group, vault = "rg-" + uuid.uuid4().hex[:6], "kv" + uuid.uuid4().hex[:10]
    created = az.json("group", "create", "--name", group, "--location", "westeurope")
    assert created["properties"]["provisioningState"] == "Succeeded"

    made = az.json("keyvault", "create", "--name", vault, "--resource-group", group, "--enable-rbac-authorization", "false")
    assert made["properties"]["vaultUri"] == coffre.vault_url(vault) + "/"
    # The CLI looked the signed-in user up in Graph (/me) and gave it every permission.
    assert [p["objectId"] for p in made["properties"]["accessPolicies"]] == [user["objectId"]]
    assert vault in [v["name"] for v in coffre.cli_json("vault", "list")]

    # set-policy finds the vault through the resources filter and the user through Graph's users filter.
    az.run("keyvault", "set-policy", "--name", vault, "--upn", user["userPrincipalName"], "--secret-permissions", "delete", "get", "list",
           "set")
    policy = az.json("keyvault", "show", "--name", vault)["properties"]["accessPolicies"][0]
    assert sorted(policy["permissions"]["secrets"]) == ["delete", "get", "list", "set"]
    assert policy["permissions"]["certificates"]

    output = az.python(QUICKSTART_PROGRAM, {"KEY_VAULT_NAME": vault, "COFFRE_PORT": str(coffre.port), "AZURE_TOKEN_CREDENTIALS": "dev"})
    assert output.split() == ["Success!", "deleted", "myCertificate"]

    az.run("keyvault", "secret", "set", "--vault-name", vault, "--name", "fromcli", "--value", "v1")
    assert az.json("keyvault", "secret", "show", "--vault-name", vault, "--name", "fromcli")["value"] == "v1"
    assert "fromcli" in [s["name"] for s in az.json("keyvault", "secret", "list", "--vault-name", vault)]
    assert az.json("keyvault", "certificate", "show", "--vault-name", vault, "--name", "myCertificate")["policy"]["issuerParameters"]["name"] \
        == "Self"
    az.run("keyvault", "key", "create", "--vault-name", vault, "--name", "k1", "--kty", "EC")
    assert az.json("keyvault", "key", "show", "--vault-name", vault, "--name", "k1")["key"]["kty"] == "EC"

    # Update, list, delete-policy.
    updated = az.json("keyvault", "update", "--name", vault, "--enabled-for-deployment", "true")
    assert updated["properties"]["enabledForDeployment"] is True
    assert vault in [v["name"] for v in az.json("keyvault", "list", "--resource-group", group)]
    assert vault in [v["name"] for v in az.json("keyvault", "list")]
    other = coffre.cli_json("principal", "create", "--name", "quickstart-app")
    az.run("keyvault", "set-policy", "--name", vault, "--spn", other["clientId"], "--key-permissions", "get")
    assert other["objectId"] in [p["objectId"] for p in az.json("keyvault", "show", "--name", vault)["properties"]["accessPolicies"]]
    az.run("keyvault", "delete-policy", "--name", vault, "--object-id", other["objectId"])
    assert other["objectId"] not in [p["objectId"] for p in az.json("keyvault", "show", "--name", vault)["properties"]["accessPolicies"]]

    # Delete, recover, delete, purge, and the group with what is left in it.
    az.run("keyvault", "delete", "--name", vault)
    assert vault in [v["name"] for v in az.json("keyvault", "list-deleted")]
    az.run("keyvault", "recover", "--name", vault)
    assert az.json("keyvault", "secret", "show", "--vault-name", vault, "--name", "fromcli")["value"] == "v1"
    az.run("keyvault", "delete", "--name", vault)
    az.run("keyvault", "purge", "--name", vault)
    assert vault not in [v["name"] for v in az.json("keyvault", "list-deleted")]
    assert vault not in [v["name"] for v in coffre.cli_json("vault", "list")]
    az.run("group", "delete", "--name", group, "--yes")
    assert az.run("group", "exists", "--name", group).stdout.strip() == "false"


def test_rbac_vaults_take_role_assignments_made_with_the_cli(coffre, tmp_path):
    az, user = signed_in_owner(coffre, tmp_path, "rbac@example.test")
    group, vault = "rg-" + uuid.uuid4().hex[:6], "kv" + uuid.uuid4().hex[:10]
    az.run("group", "create", "--name", group, "--location", "westeurope")
    made = az.json("keyvault", "create", "--name", vault, "--resource-group", group)
    assert made["properties"]["enableRbacAuthorization"] is True
    # Owner of the subscription is not a data-plane role.
    refused = az.run("keyvault", "secret", "set", "--vault-name", vault, "--name", "s", "--value", "v", check=False)
    assert refused.returncode != 0 and "Forbidden" in refused.stderr
    assignment = az.json("role", "assignment", "create", "--role", "Key Vault Secrets Officer", "--assignee", user["userPrincipalName"],
                         "--scope", made["id"])
    assert assignment["principalType"] == "User"
    assert assignment["principalId"] == user["objectId"]
    az.run("keyvault", "secret", "set", "--vault-name", vault, "--name", "s", "--value", "v")
    assert az.json("keyvault", "secret", "show", "--vault-name", vault, "--name", "s")["value"] == "v"
    listed = az.json("role", "assignment", "list", "--scope", made["id"])
    assert [a["roleDefinitionName"] for a in listed] == ["Key Vault Secrets Officer"]
    az.run("role", "assignment", "delete", "--ids", assignment["id"])
    assert az.json("role", "assignment", "list", "--scope", made["id"]) == []


def test_a_reader_cannot_change_what_it_reads(coffre, tmp_path):
    az, _ = signed_in_owner(coffre, tmp_path, "reader@example.test", role="Reader")
    refused = az.run("group", "create", "--name", "rg-" + uuid.uuid4().hex[:6], "--location", "westeurope", check=False)
    assert refused.returncode != 0 and "AuthorizationFailed" in refused.stderr
    assert "default" in [g["name"] for g in az.json("group", "list")]


def test_storage_accounts_through_the_cli(coffre, tmp_path):
    """Issue 26's ARM half: az storage account create|show|list|keys list|keys renew|delete, then the Blob service
    with the account's key, from a connection string the CLI builds out of the cloud's storage suffix."""
    az, _ = signed_in_owner(coffre, tmp_path, "storage@example.test")
    group, account = "rg-" + uuid.uuid4().hex[:6], "st" + uuid.uuid4().hex[:10]
    az.run("group", "create", "--name", group, "--location", "westeurope")
    made = az.json("storage", "account", "create", "--name", account, "--resource-group", group, "--sku", "Standard_LRS", "--kind",
                   "StorageV2")
    assert made["provisioningState"] == "Succeeded"
    assert made["primaryEndpoints"]["blob"] == f"https://{account}.blob.localhost:{coffre.port}/"
    assert az.json("storage", "account", "show", "--name", account, "--resource-group", group)["name"] == account
    assert account in [a["name"] for a in az.json("storage", "account", "list", "--resource-group", group)]
    assert account in [a["name"] for a in coffre.cli_json("storage", "account", "list")]

    keys = az.json("storage", "account", "keys", "list", "--account-name", account, "--resource-group", group)
    assert [k["keyName"] for k in keys] == ["key1", "key2"]
    assert keys[0]["value"] == coffre.cli_json("storage", "account", "keys", "--name", account)[0]["value"]
    renewed = az.json("storage", "account", "keys", "renew", "--account-name", account, "--resource-group", group, "--key", "primary")
    assert renewed[0]["value"] != keys[0]["value"] and renewed[1]["value"] == keys[1]["value"]

    connection = az.json("storage", "account", "show-connection-string", "--name", account, "--resource-group", group)["connectionString"]
    assert renewed[0]["value"] in connection
    from azure.storage.blob import BlobServiceClient
    service = BlobServiceClient.from_connection_string(connection)
    service.create_container("arm-made").upload_blob("b", b"through arm")
    assert service.get_blob_client("arm-made", "b").download_blob().readall() == b"through arm"

    az.run("storage", "account", "delete", "--name", account, "--resource-group", group, "--yes")
    assert account not in [a["name"] for a in coffre.cli_json("storage", "account", "list")]


def test_managed_hsm_pools_through_the_cli(coffre, tmp_path):
    """Issue 25: `az keyvault create --hsm-name` makes the pool `coffre hsm list` shows, waiting for its security
    domain download; `az keyvault list --resource-type hsm` lists it."""
    az, user = signed_in_owner(coffre, tmp_path, "hsm@example.test")
    group, pool = "rg-" + uuid.uuid4().hex[:6], "hsm" + uuid.uuid4().hex[:10]
    az.run("group", "create", "--name", group, "--location", "westeurope")
    made = az.json("keyvault", "create", "--hsm-name", pool, "--administrators", user["objectId"], "--retention-days", "7",
                   "--resource-group", group)
    assert made["properties"]["provisioningState"] == "Succeeded"
    assert made["properties"]["initialAdminObjectIds"] == [user["objectId"]]
    assert made["properties"]["securityDomainProperties"]["activationStatus"] == "NotActivated"
    assert pool in [p["name"] for p in coffre.cli_json("hsm", "list")]
    assert pool in [p["name"] for p in az.json("keyvault", "list", "--resource-type", "hsm")]
    assert pool in [p["name"] for p in az.json("keyvault", "list", "--resource-type", "hsm", "--resource-group", group)]
