"""Storage accounts managed by a vault and their SAS definitions (Key Vault's storage API), through the last official
client that has it, the track-1 azure-keyvault 1.1.0, over TLS. Every SAS token a definition hands out is checked
against azure-storage-blob: the same token its generate_*_sas functions compute from the active key, accepted by
Coffre's Blob service, refused once its key is regenerated or it expires."""
import datetime
import inspect
import json
import os
import time
import urllib.parse
import uuid

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import DefaultAzureCredential
from azure.keyvault import KeyVaultAuthentication, KeyVaultClient, SecretId, StorageSasDefinitionId
from azure.keyvault.models import KeyVaultErrorException, SasDefinitionAttributes, SasTokenType, StorageAccountAttributes
from azure.storage.blob import (AccountSasPermissions, BlobClient, BlobServiceClient, ContainerClient, ResourceTypes, generate_account_sas,
                                generate_blob_sas, generate_container_sas)

from coffre_process import Coffre

# azure-keyvault 1.1.0 (2019) reads its authorization callback's arity with inspect.getargspec, which Python 3.11
# removed; getfullargspec answers the same `.args`.
if not hasattr(inspect, "getargspec"):
    inspect.getargspec = inspect.getfullargspec

SAS_CONTENT_TYPE = "application/vnd.ms-sastoken-storage"
DUMMY_KEY = "MDAwMDAwMDA="  # what the templates are signed with: any key will do


def track1_client(token_for):
    """KeyVaultClient answering the vault's challenge with a token for the resource it names."""
    return KeyVaultClient(KeyVaultAuthentication(lambda server, resource, scope: ("Bearer", token_for(resource))))


@pytest.fixture(scope="module")
def client(admin_env):
    credential = DefaultAzureCredential()
    return track1_client(lambda resource: credential.get_token(resource + "/.default").token)


@pytest.fixture(scope="module")
def vault(coffre):
    return coffre.vault_url()


def blob_account(server):
    """An account of Coffre's Blob service (`coffre storage account create`) with its keys."""
    name = "kv" + uuid.uuid4().hex[:12]
    created = server.cli_json("storage", "account", "create", "--name", name)
    return {"name": name, "url": created["blobEndpoint"], **keys_of(server, name),
            "resource_id": f"/subscriptions/{uuid.uuid4()}/resourceGroups/default/providers/Microsoft.Storage/storageAccounts/{name}"}


def keys_of(server, name):
    return {key["keyName"]: key["value"] for key in server.cli_json("storage", "account", "keys", "--name", name)}


def managed_name():
    return "msa" + uuid.uuid4().hex[:10]


def error_of(raised):
    return raised.value.response.status_code, raised.value.error.error.code, raised.value.error.error.message


def expiry_of(token):
    se = urllib.parse.parse_qs(token)["se"][0]
    return datetime.datetime.strptime(se, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def add_account(client, vault, account, name=None, **kwargs):
    return client.set_storage_account(vault, name or managed_name(), account["resource_id"], kwargs.pop("active_key_name", "key1"),
                                      kwargs.pop("auto_regenerate_key", False), **kwargs)


def sas_token(client, definition):
    """A token from the SAS definition's secret, as the SDK samples read it (but for the vault's URL: SecretId drops the
    port, which Azure's vaults never have)."""
    secret_id = SecretId(uri=definition.secret_id)
    vault = definition.secret_id.split("/secrets/")[0]
    secret = client.get_secret(vault, secret_id.name, secret_id.version or "")
    assert secret.content_type == SAS_CONTENT_TYPE and secret.managed
    return secret.value


def account_template(account, services="b", resource_types="sco", permission="rwdlacup"):
    return generate_account_sas(account["name"], DUMMY_KEY, ResourceTypes.from_string(resource_types), AccountSasPermissions.from_string(permission),
                                datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc), services=services, protocol="https")


def assert_refused(call):
    with pytest.raises(ClientAuthenticationError) as refused:
        call()
    assert refused.value.error_code == "AuthenticationFailed"


# -- Storage accounts ----------------------------------------------------------------------------------------------

def test_storage_account_lifecycle(client, vault, coffre):
    account = blob_account(coffre)
    name = managed_name()
    created = client.set_storage_account(vault, name, account["resource_id"], "key1", False,
                                         storage_account_attributes=StorageAccountAttributes(enabled=True), tags={"team": "compat"})
    assert created.id == f"{vault}/storage/{name}"
    assert (created.resource_id, created.active_key_name, created.auto_regenerate_key) == (account["resource_id"], "key1", False)
    assert created.attributes.enabled and created.attributes.recovery_level == "Recoverable+Purgeable" and created.tags == {"team": "compat"}
    fetched = client.get_storage_account(vault, name.upper())
    assert fetched.id == created.id and fetched.attributes.created == created.attributes.created

    updated = client.update_storage_account(vault, name, active_key_name="key2", auto_regenerate_key=True, regeneration_period="P30D",
                                            tags={"team": "storage"})
    assert (updated.active_key_name, updated.auto_regenerate_key, updated.regeneration_period, updated.tags) == (
        "key2", True, "P30D", {"team": "storage"})
    # Keys never leave the vault: a bundle holds no key value.
    assert account["key1"] not in repr(updated.as_dict()) and account["key2"] not in repr(updated.as_dict())

    deleted = client.delete_storage_account(vault, name)
    assert deleted.recovery_id == f"{vault}/deletedstorage/{name}"
    assert deleted.scheduled_purge_date - deleted.deleted_date == datetime.timedelta(days=90)
    with pytest.raises(KeyVaultErrorException) as missing:
        client.get_storage_account(vault, name)
    assert error_of(missing)[:2] == (404, "StorageAccountNotFound")
    assert client.get_deleted_storage_account(vault, name).recovery_id == deleted.recovery_id
    assert name in {item.id.rsplit("/", 1)[1] for item in client.get_deleted_storage_accounts(vault)}
    with pytest.raises(KeyVaultErrorException) as taken:
        add_account(client, vault, account, name=name)
    assert error_of(taken)[:2] == (409, "Conflict")

    recovered = client.recover_deleted_storage_account(vault, name)
    assert recovered.id == created.id and recovered.active_key_name == "key2"
    client.delete_storage_account(vault, name)
    purged = client.purge_deleted_storage_account(vault, name, raw=True)
    assert purged.response.status_code == 204
    with pytest.raises(KeyVaultErrorException) as gone:
        client.get_deleted_storage_account(vault, name)
    assert error_of(gone)[:2] == (404, "StorageAccountNotFound")


def test_storage_accounts_are_listed_in_pages(client, vault, coffre):
    account = blob_account(coffre)
    names = {add_account(client, vault, account).id.rsplit("/", 1)[1] for _ in range(3)}
    items = client.get_storage_accounts(vault, maxresults=1)
    listed = [item for item in items]
    assert names <= {item.id.rsplit("/", 1)[1] for item in listed}
    assert all(item.resource_id and item.attributes.created for item in listed)
    raw = requests.get(f"{vault}/storage?api-version=7.0&maxresults=1", headers=bearer(coffre), verify=coffre.ca_file).json()
    assert len(raw["value"]) == 1 and raw["nextLink"].startswith(f"{vault}/storage?")
    assert set(raw["value"][0]) == {"id", "resourceId", "attributes"} | ({"tags"} if "tags" in raw["value"][0] else set())


def bearer(server):
    credential = DefaultAzureCredential()
    return {"Authorization": "Bearer " + credential.get_token(f"https://vault.localhost:{server.port}/.default").token}


def test_regenerate_key_switches_the_active_key(client, vault, coffre):
    account = blob_account(coffre)
    name = managed_name()
    add_account(client, vault, account, name=name)
    regenerated = client.regenerate_storage_account_key(vault, name, "key2")
    assert regenerated.active_key_name == "key2"
    keys = keys_of(coffre, account["name"])
    assert keys["key2"] != account["key2"] and keys["key1"] == account["key1"]
    with pytest.raises(KeyVaultErrorException) as refused:
        client.regenerate_storage_account_key(vault, name, "key3")
    assert error_of(refused)[:2] == (400, "BadParameter")


def test_backup_and_restore_bring_back_the_account_and_its_sas_definitions(client, vault, coffre):
    account = blob_account(coffre)
    name = managed_name()
    add_account(client, vault, account, name=name, tags={"kept": "yes"})
    definition = client.set_sas_definition(vault, name, "all", account_template(account), SasTokenType.account, "PT1H")
    blob = client.backup_storage_account(vault, name).value
    client.delete_storage_account(vault, name)
    client.purge_deleted_storage_account(vault, name)
    restored = client.restore_storage_account(vault, blob)
    assert restored.id == f"{vault}/storage/{name}" and restored.tags == {"kept": "yes"}
    assert client.get_sas_definition(vault, name, "all").secret_id == definition.secret_id
    token = sas_token(client, client.get_sas_definition(vault, name, "all"))
    BlobServiceClient(account["url"], credential=token).create_container("restored")
    with pytest.raises(KeyVaultErrorException) as again:
        client.restore_storage_account(vault, blob)
    assert error_of(again)[:2] == (409, "Conflict")
    with pytest.raises(KeyVaultErrorException) as altered:
        client.restore_storage_account(vault, blob[:-4] + bytes(byte ^ 1 for byte in blob[-4:]))
    assert error_of(altered)[:2] == (400, "BadParameter")


# -- SAS definitions and their tokens -------------------------------------------------------------------------------

def test_account_sas_definition_tokens_are_azure_storage_blobs(client, vault, coffre):
    account = blob_account(coffre)
    name = managed_name()
    add_account(client, vault, account, name=name, active_key_name="key1")
    template = account_template(account)
    definition = client.set_sas_definition(vault, name, "acctall", template, SasTokenType.account, "PT2H",
                                           sas_definition_attributes=SasDefinitionAttributes(enabled=True), tags={"use": "compat"})
    assert definition.id == f"{vault}/storage/{name}/sas/acctall"
    assert definition.secret_id == f"{vault}/secrets/{name}-acctall"
    assert (definition.template_uri, definition.sas_type, definition.validity_period) == (template, "account", "PT2H")

    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    token = sas_token(client, definition)
    expiry = expiry_of(token)
    assert before + datetime.timedelta(hours=2) <= expiry <= before + datetime.timedelta(hours=2, seconds=5)
    assert token == generate_account_sas(account["name"], account["key1"], ResourceTypes.from_string("sco"),
                                         AccountSasPermissions.from_string("rwdlacup"), expiry, services="b", protocol="https")
    service = BlobServiceClient(account["url"], credential=token)
    container = service.create_container("c" + uuid.uuid4().hex[:10])
    container.upload_blob("b", b"through a SAS from the vault")
    assert container.download_blob("b").readall() == b"through a SAS from the vault"

    # Regenerating the active key kills the token; the next one is signed with the new key.
    client.regenerate_storage_account_key(vault, name, "key1")
    assert_refused(lambda: container.get_container_properties())
    fresh = sas_token(client, definition)
    new_key = keys_of(coffre, account["name"])["key1"]
    assert fresh == generate_account_sas(account["name"], new_key, ResourceTypes.from_string("sco"), AccountSasPermissions.from_string("rwdlacup"),
                                         expiry_of(fresh), services="b", protocol="https")
    assert BlobServiceClient(account["url"], credential=fresh).get_container_client(container.container_name).download_blob("b").readall()

    # Switching the active key signs with the other key; regenerating the inactive one leaves tokens alone.
    client.update_storage_account(vault, name, active_key_name="key2")
    with_key2 = sas_token(client, definition)
    assert with_key2 == generate_account_sas(account["name"], account["key2"], ResourceTypes.from_string("sco"),
                                             AccountSasPermissions.from_string("rwdlacup"), expiry_of(with_key2), services="b", protocol="https")
    coffre.cli("storage", "account", "regenerate-key", "--name", account["name"], "--key", "key1")
    BlobServiceClient(account["url"], credential=with_key2).get_container_client(container.container_name).get_container_properties()


def test_service_sas_definitions_for_a_container_and_a_blob(client, vault, coffre):
    account = blob_account(coffre)
    name = managed_name()
    add_account(client, vault, account, name=name, active_key_name="key2")
    owner = BlobServiceClient(account["url"], credential={"account_name": account["name"], "account_key": account["key1"]})
    container = owner.create_container("c" + uuid.uuid4().hex[:10])
    container.upload_blob("dir/report one.txt", b"quarterly")
    far = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)

    container_template = container.url + "?" + generate_container_sas(account["name"], container.container_name, DUMMY_KEY, permission="rl",
                                                                      expiry=far)
    definition = client.set_sas_definition(vault, name, "cont", container_template, SasTokenType.service, "PT1H")
    token = sas_token(client, definition)
    assert token == generate_container_sas(account["name"], container.container_name, account["key2"], permission="rl", expiry=expiry_of(token))
    reader = ContainerClient(account["url"], container.container_name, credential=token)
    assert [b.name for b in reader.list_blobs()] == ["dir/report one.txt"]

    blob_url = container.get_blob_client("dir/report one.txt").url
    blob_template = blob_url + "?" + generate_blob_sas(account["name"], container.container_name, "dir/report one.txt", account_key=DUMMY_KEY,
                                                       permission="r", expiry=far, content_disposition="attachment")
    definition = client.set_sas_definition(vault, name, "blob", blob_template, SasTokenType.service, "PT10M")
    token = sas_token(client, definition)
    assert token == generate_blob_sas(account["name"], container.container_name, "dir/report one.txt", account_key=account["key2"], permission="r",
                                      expiry=expiry_of(token), content_disposition="attachment")
    downloaded = BlobClient(account["url"], container.container_name, "dir/report one.txt", credential=token).download_blob()
    assert downloaded.readall() == b"quarterly" and downloaded.properties.content_settings.content_disposition == "attachment"

    client.regenerate_storage_account_key(vault, name, "key2")
    assert_refused(lambda: BlobClient(account["url"], container.container_name, "dir/report one.txt", credential=token).download_blob())


def test_tokens_expire_after_the_validity_period(client, vault, coffre):
    account = blob_account(coffre)
    name = managed_name()
    add_account(client, vault, account, name=name)
    definition = client.set_sas_definition(vault, name, "short", account_template(account), SasTokenType.account, "PT3S")
    token = sas_token(client, definition)
    service = BlobServiceClient(account["url"], credential=token)
    container = service.create_container("c" + uuid.uuid4().hex[:10])
    time.sleep(max(0.0, (expiry_of(token) - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) + 1.5)
    assert_refused(lambda: container.get_container_properties())
    BlobServiceClient(account["url"], credential=sas_token(client, definition)).get_container_client(container.container_name).get_container_properties()


def test_templates_of_an_older_signed_version(client, vault, coffre):
    """A template in the format `az keyvault storage sas-definition create` documents (sv 2018-03-28, no signature)."""
    account = blob_account(coffre)
    name = managed_name()
    add_account(client, vault, account, name=name)
    definition = client.set_sas_definition(vault, name, "legacy", "sv=2018-03-28&ss=bfqt&srt=sco&sp=rwdlacup&spr=https", SasTokenType.account,
                                           "P1D")
    token = sas_token(client, definition)
    fields = urllib.parse.parse_qs(token)
    assert fields["sv"] == ["2018-03-28"] and fields["ss"] == ["bfqt"]
    BlobServiceClient(account["url"], credential=token).create_container("legacy")


def test_sas_definition_lifecycle(client, vault, coffre):
    account = blob_account(coffre)
    name = managed_name()
    add_account(client, vault, account, name=name)
    for index in range(3):
        client.set_sas_definition(vault, name, f"def{index}", account_template(account), SasTokenType.account, "PT1H")
    listed = list(client.get_sas_definitions(vault, name, maxresults=1))
    assert sorted(StorageSasDefinitionId(uri=item.id).sas_definition for item in listed) == ["def0", "def1", "def2"]
    assert all(item.secret_id == f"{vault}/secrets/{name}-{item.id.rsplit('/', 1)[1]}" for item in listed)

    updated = client.update_sas_definition(vault, name, "def0", validity_period="PT5M", sas_definition_attributes=SasDefinitionAttributes(enabled=False))
    assert updated.validity_period == "PT5M" and not updated.attributes.enabled
    with pytest.raises(KeyVaultErrorException) as disabled:
        sas_token(client, updated)
    assert error_of(disabled)[:2] == (403, "Forbidden")
    client.update_sas_definition(vault, name, "def0", sas_definition_attributes=SasDefinitionAttributes(enabled=True))
    assert expiry_of(sas_token(client, updated)) <= datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5, seconds=5)

    # The secret is managed through its SAS definition.
    for method, path in (("PUT", f"/secrets/{name}-def1"), ("DELETE", f"/secrets/{name}-def1"), ("POST", f"/secrets/{name}-def1/backup")):
        refused = requests.request(method, f"{vault}{path}?api-version=7.0", json={"value": "x"}, headers=bearer(coffre), verify=coffre.ca_file)
        assert refused.status_code == 403, (method, refused.text)

    deleted = client.delete_sas_definition(vault, name, "def1")
    assert deleted.recovery_id == f"{vault}/deletedstorage/{name}/sas/def1" and deleted.deleted_date and deleted.scheduled_purge_date
    with pytest.raises(KeyVaultErrorException) as missing:
        client.get_sas_definition(vault, name, "def1")
    assert error_of(missing)[:2] == (404, "SasDefinitionNotFound")
    assert client.get_deleted_sas_definition(vault, name, "def1").template_uri == deleted.template_uri
    assert [item.recovery_id for item in client.get_deleted_sas_definitions(vault, name)] == [deleted.recovery_id]
    with pytest.raises(KeyVaultErrorException) as taken:
        client.set_sas_definition(vault, name, "def1", account_template(account), SasTokenType.account, "PT1H")
    assert error_of(taken)[:2] == (409, "Conflict")
    assert client.recover_deleted_sas_definition(vault, name, "def1").id == f"{vault}/storage/{name}/sas/def1"
    assert sas_token(client, client.get_sas_definition(vault, name, "def1"))

    # Deleting the account deletes its SAS definitions; recovering it brings them back.
    client.delete_storage_account(vault, name)
    assert {item.id.rsplit("/", 1)[1] for item in client.get_deleted_sas_definitions(vault, name)} == {"def0", "def1", "def2"}
    with pytest.raises(KeyVaultErrorException) as with_account:
        client.recover_deleted_sas_definition(vault, name, "def2")
    assert error_of(with_account)[:2] == (409, "Conflict")
    client.recover_deleted_storage_account(vault, name)
    assert len(list(client.get_sas_definitions(vault, name))) == 3
    token = sas_token(client, client.get_sas_definition(vault, name, "def2"))
    BlobServiceClient(account["url"], credential=token).create_container("recovered")


# -- Refusals --------------------------------------------------------------------------------------------------------

def test_bad_input_gets_clear_errors(client, vault, coffre):
    account = blob_account(coffre)
    other = dict(account, resource_id="/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/nosuchaccount1")
    with pytest.raises(KeyVaultErrorException) as unknown:
        add_account(client, vault, other)
    assert error_of(unknown)[:2] == (404, "StorageAccountNotFound")
    foreign = dict(account, resource_id="/subscriptions/s/resourceGroups/g/providers/Microsoft.ClassicStorage/storageAccounts/x")
    with pytest.raises(KeyVaultErrorException) as external:
        add_account(client, vault, foreign)
    status, code, message = error_of(external)
    assert (status, code) == (400, "BadParameter") and "Coffre's Blob service" in message
    with pytest.raises(KeyVaultErrorException) as key:
        add_account(client, vault, account, active_key_name="primary")
    assert error_of(key)[:2] == (400, "BadParameter")
    with pytest.raises(KeyVaultErrorException) as period:
        add_account(client, vault, account, auto_regenerate_key=True)
    assert error_of(period)[:2] == (400, "BadParameter")
    with pytest.raises(KeyVaultErrorException) as duration:
        add_account(client, vault, account, auto_regenerate_key=True, regeneration_period="every day")
    assert error_of(duration)[:2] == (400, "BadParameter")

    name = managed_name()
    add_account(client, vault, account, name=name)
    for template, kind in (("sv=2018-03-28&sr=c&sp=r", SasTokenType.account), ("https://x/c?sv=2018-03-28&sp=r", SasTokenType.service),
                           ("sv=2026-10-06&ss=b&srt=sco&sp=r&si=policy", SasTokenType.account), ("not a template", SasTokenType.account)):
        with pytest.raises(KeyVaultErrorException) as refused:
            client.set_sas_definition(vault, name, "bad", template, kind, "PT1H")
        assert error_of(refused)[:2] == (400, "BadParameter"), template
    with pytest.raises(KeyVaultErrorException) as validity:
        client.set_sas_definition(vault, name, "bad", account_template(account), SasTokenType.account, "2 hours")
    assert error_of(validity)[:2] == (400, "BadParameter")
    raw = requests.put(f"{vault}/storage/{name}/sas/bad?api-version=7.0", headers=bearer(coffre), verify=coffre.ca_file,
                       json={"templateUri": account_template(account), "sasType": "queue", "validityPeriod": "PT1H"})
    assert raw.status_code == 400 and "sasType" in raw.json()["error"]["message"]
    with pytest.raises(KeyVaultErrorException) as missing:
        list(client.get_sas_definitions(vault, "nosuchaccount"))
    assert error_of(missing)[:2] == (404, "StorageAccountNotFound")
    raw = requests.get(f"{vault}/storage/not-alphanumeric?api-version=7.0", headers=bearer(coffre), verify=coffre.ca_file)
    assert raw.status_code == 400 and raw.json()["error"]["code"] == "BadParameter"


# -- Access ------------------------------------------------------------------------------------------------------------

def principal_client(coffre, principal):
    from azure.identity import ClientSecretCredential
    credential = ClientSecretCredential(principal["tenantId"], principal["clientId"], principal["clientSecret"], authority=principal["authority"],
                                        disable_instance_discovery=True)
    return track1_client(lambda resource: credential.get_token(resource + "/.default").token)


def test_access_policies_grant_each_storage_permission(client, vault, coffre):
    account = blob_account(coffre)
    name = managed_name()
    add_account(client, vault, account, name=name)
    client.set_sas_definition(vault, name, "def", account_template(account), SasTokenType.account, "PT1H")
    principal = coffre.cli_json("principal", "create", "--name", "storage-reader-" + uuid.uuid4().hex[:6])
    coffre.cli("vault", "set-policy", "--name", "default", "--object-id", principal["objectId"], "--storage-permissions", "get", "listsas")
    reader = principal_client(coffre, principal)
    assert reader.get_storage_account(vault, name).active_key_name == "key1"
    assert len(list(reader.get_sas_definitions(vault, name))) == 1
    for call, permission in ((lambda: list(reader.get_storage_accounts(vault)), "storage list"),
                             (lambda: reader.get_sas_definition(vault, name, "def"), "storage getsas"),
                             (lambda: reader.regenerate_storage_account_key(vault, name, "key1"), "storage regeneratekey"),
                             (lambda: reader.delete_storage_account(vault, name), "storage delete"),
                             (lambda: reader.backup_storage_account(vault, name), "storage backup")):
        with pytest.raises(KeyVaultErrorException) as refused:
            call()
        status, code, message = error_of(refused)
        assert (status, code) == (403, "Forbidden") and f"does not have {permission} permission" in message

    # Every storage permission, but not an administrator: the Blob account's keys are not the principal's to use.
    coffre.cli("vault", "set-policy", "--name", "default", "--object-id", principal["objectId"], "--storage-permissions", "all")
    with pytest.raises(KeyVaultErrorException) as keys:
        reader.set_storage_account(vault, managed_name(), account["resource_id"], "key1", False)
    status, code, message = error_of(keys)
    assert (status, code) == (403, "Forbidden") and "keys of storage account" in message
    with pytest.raises(KeyVaultErrorException) as regenerate:
        reader.regenerate_storage_account_key(vault, name, "key1")
    assert error_of(regenerate)[:2] == (403, "Forbidden")
    assert reader.update_storage_account(vault, name, active_key_name="key2").active_key_name == "key2"


def test_rbac_data_actions_authorise_storage_operations(coffre):
    vault_name = "st" + uuid.uuid4().hex[:10]
    coffre.cli("vault", "create", "--name", vault_name, "--enable-rbac-authorization")
    url = coffre.vault_url(vault_name)
    credential = DefaultAzureCredential()
    admin = track1_client(lambda resource: credential.get_token(resource + "/.default").token)
    account = blob_account(coffre)
    name = managed_name()
    add_account(admin, url, account, name=name)
    admin.set_sas_definition(url, name, "def", account_template(account), SasTokenType.account, "PT1H")

    principal = coffre.cli_json("principal", "create", "--name", "storage-rbac-" + uuid.uuid4().hex[:6])
    coffre.cli("role", "assignment", "create", "--role", "Key Vault Reader", "--assignee", principal["objectId"], "--scope", f"/vaults/{vault_name}")
    reader = principal_client(coffre, principal)
    assert reader.get_storage_account(url, name).id == f"{url}/storage/{name}"
    assert reader.get_sas_definition(url, name, "def").sas_type == "account"
    with pytest.raises(KeyVaultErrorException) as refused:
        reader.delete_sas_definition(url, name, "def")
    status, code, message = error_of(refused)
    assert (status, code) == (403, "Forbidden") and "Microsoft.KeyVault/vaults/storageaccounts/sas/delete" in message


# -- Automatic regeneration ------------------------------------------------------------------------------------------

def own_server_client(server, coffre, monkeypatch, tmp_path):
    """A track-1 client of `server` (a server of the test's own), with its managed identity; both CAs trusted."""
    env = server.env()
    trusted = tmp_path / "ca.pem"
    trusted.write_text(open(coffre.ca_file).read().strip() + "\n" + open(server.ca_file).read())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(trusted))

    def token_for(resource):
        answer = requests.get(f"{server.authority}/msi/token", params={"resource": resource, "api-version": "2019-08-01"},
                              headers={"X-IDENTITY-HEADER": env["IDENTITY_HEADER"]}, verify=server.ca_file)
        return answer.json()["access_token"]

    return track1_client(token_for)


def regeneration_records(server):
    with open(os.path.join(server.data, "audit.log")) as log:
        return [json.loads(line) for line in log if "StorageAccountAutoRegenerateKey" in line]


def regenerating_account(server, client, period):
    """A managed account of `server`'s default vault regenerating its keys every `period`, key1 active, with an
    account SAS definition of one hour and a container made with its first token."""
    vault, account, name = server.vault_url(), blob_account(server), managed_name()
    add_account(client, vault, account, name=name, active_key_name="key1", auto_regenerate_key=True, regeneration_period=period)
    definition = client.set_sas_definition(vault, name, "def", account_template(account), SasTokenType.account, "PT1H")
    token = sas_token(client, definition)
    BlobServiceClient(account["url"], credential=token).create_container("before")
    return vault, account, name, definition, token


def assert_key2_regenerated_and_active(server, client, vault, account, name):
    deadline = time.time() + 20
    while client.get_storage_account(vault, name).active_key_name != "key2" and time.time() < deadline:
        time.sleep(0.2)
    assert client.get_storage_account(vault, name).active_key_name == "key2"
    keys = keys_of(server, account["name"])
    assert keys["key1"] == account["key1"] and keys["key2"] != account["key2"]
    return keys


def test_keys_are_regenerated_every_period_and_audited(coffre, monkeypatch, tmp_path):
    """A server of its own: its regeneration sweep runs when it starts, so a restart after the period shows it."""
    server = Coffre().start()
    try:
        client = own_server_client(server, coffre, monkeypatch, tmp_path)
        vault, account, name, definition, token = regenerating_account(server, client, "PT2S")
        time.sleep(3)
        server.stop()
        server.start()
        keys = assert_key2_regenerated_and_active(server, client, vault, account, name)
        # The previous active key still signs: its tokens live one more period.
        BlobServiceClient(account["url"], credential=token).get_container_client("before").get_container_properties()
        fresh = sas_token(client, definition)
        assert fresh == generate_account_sas(account["name"], keys["key2"], ResourceTypes.from_string("sco"),
                                             AccountSasPermissions.from_string("rwdlacup"), expiry_of(fresh), services="b", protocol="https")
        records = regeneration_records(server)
        assert records and records[-1]["properties"]["id"] == f"{vault}/storage/{name}"
    finally:
        server.cleanup()


def test_time_travel_regenerates_keys_and_expires_tokens(coffre, monkeypatch, tmp_path):
    """Development mode: shifting the server's clock past the regeneration period regenerates the key at once (no
    restart), and past a token's validity makes the Blob service refuse the token, though its key still signs."""
    server = Coffre(extra_args=["--dev"]).start()
    try:
        client = own_server_client(server, coffre, monkeypatch, tmp_path)
        vault, account, name, definition, token = regenerating_account(server, client, "P30D")
        time.sleep(1.5)
        assert client.get_storage_account(vault, name).active_key_name == "key1"

        server.cli("clock", "shift", "--days", "31")
        assert_key2_regenerated_and_active(server, client, vault, account, name)
        assert regeneration_records(server)
        # key1 still signs, but the token's hour is over on the shifted clock.
        assert_refused(lambda: BlobServiceClient(account["url"], credential=token).get_container_client("before").get_container_properties())
        fresh = sas_token(client, definition)
        assert expiry_of(fresh) - datetime.datetime.now(datetime.timezone.utc) > datetime.timedelta(days=30)
        BlobServiceClient(account["url"], credential=fresh).get_container_client("before").get_container_properties()
        server.cli("clock", "reset")
    finally:
        server.cleanup()
