"""Azure Resource Manager: `azure-mgmt-keyvault` (pinned) against Coffre's ARM subset on the server's own host.

A principal granted Contributor on the subscription (`coffre role assignment create --scope /subscriptions/S`) creates,
updates, lists, deletes and purges vaults with a ClientSecretCredential; the vaults it makes are the ones the data
plane serves. A principal without a role gets 403 AuthorizationFailed.
"""
import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.keyvault.models import (AccessPolicyEntry, Permissions, Sku, VaultAccessPolicyParameters,
                                        VaultAccessPolicyProperties, VaultCreateOrUpdateParameters, VaultPatchParameters,
                                        VaultPatchProperties, VaultProperties)

from conftest import client_secret_credential


def management(coffre):
    return f"https://management.localhost:{coffre.port}"


def subscription_id(coffre):
    return coffre.env()["AZURE_SUBSCRIPTION_ID"]


def mgmt_client(coffre, principal):
    credential = client_secret_credential(principal)
    return KeyVaultManagementClient(credential, subscription_id(coffre), base_url=coffre.authority,
                                    credential_scopes=[management(coffre) + "/.default"], polling_interval=0)


@pytest.fixture(scope="module")
def contributor(coffre):
    principal = coffre.cli_json("principal", "create", "--name", "arm-contributor")
    coffre.cli("role", "assignment", "create", "--role", "Contributor", "--assignee", principal["objectId"],
               "--scope", f"/subscriptions/{subscription_id(coffre)}")
    return principal


@pytest.fixture(scope="module")
def group(coffre, contributor):
    # azure-mgmt-resource is not among the pinned packages: the group is made with one raw ARM call.
    from azure.core.pipeline.policies import BearerTokenCredentialPolicy
    from azure.core import PipelineClient
    from azure.core.rest import HttpRequest
    credential = client_secret_credential(contributor)
    client = PipelineClient(coffre.authority, policies=[BearerTokenCredentialPolicy(credential, management(coffre) + "/.default")])
    name = "rg-" + uuid.uuid4().hex[:6]
    request = HttpRequest("PUT", f"{coffre.authority}/subscriptions/{subscription_id(coffre)}/resourcegroups/{name}",
                          params={"api-version": "2024-11-01"}, json={"location": "westeurope"})
    response = client.send_request(request)
    assert response.status_code == 201, response.text()
    return name


def vault_parameters(coffre, object_id, rbac=False):
    tenant = coffre.env()["AZURE_TENANT_ID"]
    policies = [] if rbac else [AccessPolicyEntry(tenant_id=tenant, object_id=object_id,
                                                  permissions=Permissions(secrets=["get", "list", "set", "delete", "purge"]))]
    return VaultCreateOrUpdateParameters(
        location="westeurope", tags={"team": "compat"},
        properties=VaultProperties(tenant_id=tenant, sku=Sku(family="A", name="standard"), access_policies=policies,
                                   enable_rbac_authorization=rbac, enable_soft_delete=True, soft_delete_retention_in_days=7))


def test_create_update_list_delete_and_purge(coffre, contributor, group):
    client = mgmt_client(coffre, contributor)
    name = "arm" + uuid.uuid4().hex[:10]
    with pytest.raises(ResourceNotFoundError):
        client.vaults.get(group, name)
    vault = client.vaults.begin_create_or_update(group, name, vault_parameters(coffre, contributor["objectId"])).result()
    assert vault.name == name
    assert vault.properties.provisioning_state == "Succeeded"
    assert vault.properties.vault_uri == coffre.vault_url(name) + "/"
    assert vault.tags == {"team": "compat"}
    assert vault.properties.soft_delete_retention_in_days == 7

    # The vault the data plane serves, with the access policy just given.
    secrets = SecretClient(coffre.vault_url(name), client_secret_credential(contributor))
    secrets.set_secret("made-through-arm", "v")
    assert secrets.get_secret("made-through-arm").value == "v"
    assert name in [v["name"] for v in coffre.cli_json("vault", "list")]

    # Update, access policies, lists.
    patched = client.vaults.update(group, name, VaultPatchParameters(tags={"team": "compat", "stage": "2"},
                                                                    properties=VaultPatchProperties(enabled_for_deployment=True)))
    assert patched.tags == {"team": "compat", "stage": "2"}
    assert patched.properties.enabled_for_deployment is True
    other = str(uuid.uuid4())
    tenant = coffre.env()["AZURE_TENANT_ID"]
    client.vaults.update_access_policy(group, name, "add", VaultAccessPolicyParameters(properties=VaultAccessPolicyProperties(
        access_policies=[AccessPolicyEntry(tenant_id=tenant, object_id=other, permissions=Permissions(keys_property=["get"]))])))
    policies = client.vaults.get(group, name).properties.access_policies
    assert sorted(p.object_id for p in policies) == sorted([contributor["objectId"], other])
    assert name in [v.name for v in client.vaults.list_by_resource_group(group)]
    assert name in [v.name for v in client.vaults.list_by_subscription()]
    assert name in [r.name for r in client.vaults.list()]
    assert client.vaults.check_name_availability({"name": name, "type": "Microsoft.KeyVault/vaults"}).name_available is False

    # Delete (soft), list deleted, get by location, purge.
    client.vaults.delete(group, name)
    with pytest.raises(ResourceNotFoundError):
        client.vaults.get(group, name)
    deleted = client.vaults.get_deleted(name, "westeurope")
    assert deleted.properties.vault_id.lower().endswith(f"/resourcegroups/{group}/providers/microsoft.keyvault/vaults/{name}".lower())
    assert name in [d.name for d in client.vaults.list_deleted()]
    client.vaults.begin_purge_deleted(name, "westeurope").result()
    assert name not in [d.name for d in client.vaults.list_deleted()]
    assert client.vaults.check_name_availability({"name": name, "type": "Microsoft.KeyVault/vaults"}).name_available is True


def test_recover_a_deleted_vault(coffre, contributor, group):
    client = mgmt_client(coffre, contributor)
    name = "arm" + uuid.uuid4().hex[:10]
    client.vaults.begin_create_or_update(group, name, vault_parameters(coffre, contributor["objectId"])).result()
    SecretClient(coffre.vault_url(name), client_secret_credential(contributor)).set_secret("kept", "v")
    client.vaults.delete(group, name)
    with pytest.raises(HttpResponseError) as conflict:
        client.vaults.begin_create_or_update(group, name, vault_parameters(coffre, contributor["objectId"])).result()
    assert conflict.value.status_code == 409
    recover = vault_parameters(coffre, contributor["objectId"])
    recover.properties.create_mode = "recover"
    client.vaults.begin_create_or_update(group, name, recover).result()
    assert SecretClient(coffre.vault_url(name), client_secret_credential(contributor)).get_secret("kept").value == "v"


def test_a_principal_without_a_role_is_refused(coffre, group):
    stranger = coffre.cli_json("principal", "create", "--name", "arm-stranger")
    client = mgmt_client(coffre, stranger)
    with pytest.raises(HttpResponseError) as refused:
        client.vaults.begin_create_or_update(group, "arm" + uuid.uuid4().hex[:10], vault_parameters(coffre, stranger["objectId"])).result()
    assert refused.value.status_code == 403
    assert refused.value.error.code == "AuthorizationFailed"
    assert list(client.vaults.list_by_subscription()) == []


def test_an_rbac_vault_grants_data_access_by_azure_role_assignments(coffre, contributor, group):
    """Owner-level work (role assignments) is the server administrator's: `coffre role assignment create` with the
    vault's Azure resource id."""
    client = mgmt_client(coffre, contributor)
    name = "arm" + uuid.uuid4().hex[:10]
    vault = client.vaults.begin_create_or_update(group, name, vault_parameters(coffre, None, rbac=True)).result()
    assert vault.properties.enable_rbac_authorization is True
    secrets = SecretClient(coffre.vault_url(name), client_secret_credential(contributor))
    with pytest.raises(HttpResponseError) as refused:
        secrets.set_secret("s", "v")
    assert refused.value.status_code == 403
    coffre.cli("role", "assignment", "create", "--role", "Key Vault Secrets Officer", "--assignee", contributor["objectId"],
               "--scope", vault.id)
    secrets.set_secret("s", "v")
    assert secrets.get_secret("s").value == "v"


def test_managed_hsm_pools_are_created_listed_and_deleted(coffre, contributor, group):
    from azure.mgmt.keyvault.models import ManagedHsm, ManagedHsmProperties, ManagedHsmSku

    client = mgmt_client(coffre, contributor)
    name = "armhsm" + uuid.uuid4().hex[:8]
    with pytest.raises(ResourceNotFoundError):
        client.managed_hsms.get(group, name)
    administrator = str(uuid.uuid4())
    parameters = ManagedHsm(
        location="westeurope", tags={"team": "compat"}, sku=ManagedHsmSku(family="B", name="Standard_B1"),
        properties=ManagedHsmProperties(tenant_id=coffre.env()["AZURE_TENANT_ID"], initial_admin_object_ids=[administrator],
                                        soft_delete_retention_in_days=7, enable_purge_protection=False))
    pool = client.managed_hsms.begin_create_or_update(group, name, parameters).result()
    assert pool.name == name
    assert pool.properties.provisioning_state == "Succeeded"
    assert pool.properties.initial_admin_object_ids == [administrator]
    assert pool.properties.soft_delete_retention_in_days == 7
    # The pool Coffre serves, waiting for its security domain download.
    assert pool.properties.security_domain_properties.activation_status == "NotActivated"
    assert pool.properties.hsm_uri.startswith(f"https://{name}.")
    assert name in [p["name"] for p in coffre.cli_json("hsm", "list")]

    got = client.managed_hsms.get(group, name)
    assert got.id.lower().endswith(f"/resourcegroups/{group}/providers/microsoft.keyvault/managedhsms/{name}".lower())
    assert got.tags == {"team": "compat"}
    assert name in [p.name for p in client.managed_hsms.list_by_resource_group(group)]
    assert name in [p.name for p in client.managed_hsms.list_by_subscription()]
    assert name not in [v.name for v in client.vaults.list_by_resource_group(group)]

    # Not authorised without a role; pools of `coffre hsm create` are in the group `default`.
    stranger = mgmt_client(coffre, coffre.cli_json("principal", "create", "--name", "arm-hsm-stranger"))
    with pytest.raises(HttpResponseError) as refused:
        stranger.managed_hsms.get(group, name)
    assert refused.value.status_code == 403 and refused.value.error.code == "AuthorizationFailed"
    assert list(stranger.managed_hsms.list_by_subscription()) == []

    client.managed_hsms.begin_delete(group, name).result()
    with pytest.raises(ResourceNotFoundError):
        client.managed_hsms.get(group, name)
    assert name not in [p["name"] for p in coffre.cli_json("hsm", "list")]


def test_pools_made_by_coffre_are_in_the_default_group(coffre, contributor):
    name = "clihsm" + uuid.uuid4().hex[:8]
    coffre.cli("hsm", "create", "--name", name, "--administrator", contributor["objectId"])
    try:
        client = mgmt_client(coffre, contributor)
        assert client.managed_hsms.get("default", name).name == name
        assert name in [p.name for p in client.managed_hsms.list_by_resource_group("default")]
    finally:
        coffre.cli("hsm", "delete", "--name", name)
