"""Managed HSM full backup, full restore, selective key restore and their dry runs through KeyVaultBackupClient's
pollers, configured only from `coffre env --hsm H`: the backup container is the one it names (Coffre's Blob service,
reached by azure-storage-blob with the SAS token it exports)."""
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.administration import (KeyVaultAccessControlClient, KeyVaultBackupClient, KeyVaultDataAction,
                                           KeyVaultPermission, KeyVaultRoleScope, KeyVaultSetting, KeyVaultSettingsClient)
from azure.keyvault.keys import KeyClient

from conftest import backup_container_client, container_uri, grant_key_roles, hsm_env, managed_identity_credential

SETTING = "AllowKeyManagementOperationsThroughARM"


def pool(coffre, name):
    """An activated pool whose administrator (the managed identity) may also use and purge keys; its environment."""
    created, env = hsm_env(coffre, name)
    grant_key_roles(env["AZURE_MANAGEDHSM_URL"], created["administrators"][0])
    return env


def clients(env):
    url, credential = env["AZURE_MANAGEDHSM_URL"], managed_identity_credential()
    return (KeyClient(url, credential), KeyVaultBackupClient(url, credential), KeyVaultAccessControlClient(url, credential),
            KeyVaultSettingsClient(url, credential))


def test_the_environment_names_a_container_of_coffres_blob_service(coffre):
    _, env = hsm_env(coffre, "env-hsm")
    assert env["AZURE_MANAGEDHSM_URL"] == coffre.hsm_url("env-hsm")
    assert env["AZURE_KEYVAULT_ATTESTATION_URL"] == f"{coffre.authority}/test-attestation"
    assert env["BLOB_STORAGE_URL"].startswith("https://") and ".blob.localhost:" in env["BLOB_STORAGE_URL"]
    assert env["BLOB_CONTAINER_NAME"] == "env-hsm"
    container = backup_container_client(env)
    container.upload_blob("probe", b"probe")
    assert [b.name for b in container.list_blobs()] == ["probe"]
    container.delete_blob("probe")
    # Asking again keeps the container and gives a token that works as well.
    again = coffre.env("--hsm", "env-hsm")
    assert again["BLOB_CONTAINER_NAME"] == "env-hsm"
    assert list(backup_container_client(again).list_blobs()) == []


def test_pollers_as_the_sdk_tests_drive_them(coffre):
    env = pool(coffre, "poll-hsm")
    _, backup, _, _ = clients(env)
    uri, token = container_uri(env), env["BLOB_STORAGE_SAS_TOKEN"]

    backup.begin_pre_backup(uri, sas_token=token).wait()
    poller = backup.begin_backup(uri, token)  # the SAS token positionally, as the SDK's test does
    assert poller.status() == "InProgress"
    continuation = poller.continuation_token()
    rehydrated = backup.begin_backup(uri, sas_token=token, continuation_token=continuation)
    assert rehydrated.status() == "InProgress"
    assert not rehydrated.done() or rehydrated.polling_method().finished()
    # Each answer of an unfinished job asks for the next poll in 1 s (without it the poller waits 5 s).
    for answered in (poller, rehydrated):
        assert answered.polling_method()._pipeline_response.http_response.headers["Retry-After"] == "1"
    result = poller.result()
    assert poller.status() == "Succeeded" and poller.polling_method().status() == "Succeeded"
    assert rehydrated.result().folder_url == result.folder_url
    # A finished job stays readable: a poller rebuilt late sees it succeeded.
    late = backup.begin_backup(uri, sas_token=token, continuation_token=continuation)
    assert late.status() == "Succeeded"

    folder = result.folder_url.rsplit("/", 1)[1]
    assert result.folder_url.startswith(uri + "/mhsm-poll-hsm-") and len(folder) == len("mhsm-poll-hsm-") + 16
    blobs = backup_container_client(env)
    assert [b.name for b in blobs.list_blobs(name_starts_with=folder)] == [f"{folder}/backup.coffre"]

    backup.begin_pre_restore(result.folder_url, sas_token=token).wait()
    restore = backup.begin_restore(result.folder_url, token)
    continuation = restore.continuation_token()
    rehydrated = backup.begin_restore(result.folder_url, sas_token=token, continuation_token=continuation)
    assert restore.status() == "InProgress" and rehydrated.status() == "InProgress"
    rehydrated.wait()
    restore.wait()
    assert restore.status() == "Succeeded" and rehydrated.polling_method().status() == "Succeeded"


def test_a_backup_folder_restores_every_key_version_deleted_key_role_assignment_and_setting(coffre):
    env = pool(coffre, "full-hsm")
    keys, backup, access, settings = clients(env)
    uri, token = container_uri(env), env["BLOB_STORAGE_SAS_TOKEN"]

    first = keys.create_rsa_key("versioned")
    second = keys.create_rsa_key("versioned")
    keys.create_ec_key("deleted")
    keys.begin_delete_key("deleted").wait()
    role = access.set_role_definition(KeyVaultRoleScope.GLOBAL, role_name="backup-reader",
                                      permissions=[KeyVaultPermission(data_actions=[KeyVaultDataAction.READ_HSM_KEY])])
    principal = coffre.cli_json("principal", "create", "--name", "full-hsm-reader")
    assignment = access.create_role_assignment(KeyVaultRoleScope.KEYS, role.id, principal["objectId"])
    settings.update_setting(KeyVaultSetting(name=SETTING, value=True))

    result = backup.begin_backup(uri, sas_token=token).result()
    sealed = backup_container_client(env).download_blob(result.folder_url.rsplit("/", 1)[1] + "/backup.coffre").readall()
    assert b"versioned" not in sealed and b"backup-reader" not in sealed

    # Everything changes after the backup...
    keys.purge_deleted_key("deleted")
    keys.begin_delete_key("versioned").wait()
    keys.purge_deleted_key("versioned")
    keys.create_rsa_key("after-backup")
    access.delete_role_assignment(KeyVaultRoleScope.KEYS, assignment.name)
    access.delete_role_definition(KeyVaultRoleScope.GLOBAL, role.name)
    settings.update_setting(KeyVaultSetting(name=SETTING, value=False))

    # ...and the full restore brings the pool back to the backup.
    backup.begin_restore(result.folder_url, sas_token=token).wait()
    assert {p.version for p in keys.list_properties_of_key_versions("versioned")} == {first.properties.version, second.properties.version}
    assert keys.get_key("versioned").id == second.id
    assert keys.get_deleted_key("deleted").name == "deleted"
    with pytest.raises(ResourceNotFoundError):
        keys.get_key("after-backup")
    assert access.get_role_definition(KeyVaultRoleScope.GLOBAL, role.name).role_name == "backup-reader"
    restored = access.get_role_assignment(KeyVaultRoleScope.KEYS, assignment.name)
    assert (restored.properties.principal_id, restored.properties.role_definition_id) == (principal["objectId"], role.id)
    assert settings.get_setting(SETTING).getboolean() is True


def test_a_selective_restore_brings_back_one_key_with_its_versions(coffre):
    env = pool(coffre, "select-hsm")
    keys, backup, _, _ = clients(env)
    uri, token = container_uri(env), env["BLOB_STORAGE_SAS_TOKEN"]
    first = keys.create_rsa_key("dropped")
    second = keys.create_rsa_key("dropped")
    keys.create_rsa_key("other")
    result = backup.begin_backup(uri, sas_token=token).result()

    keys.begin_delete_key("dropped").wait()
    keys.purge_deleted_key("dropped")
    keys.begin_delete_key("other").wait()
    keys.purge_deleted_key("other")
    backup.begin_restore(result.folder_url, sas_token=token, key_name="dropped").wait()
    assert keys.get_key("dropped").id == second.id
    assert {p.version for p in keys.list_properties_of_key_versions("dropped")} == {first.properties.version, second.properties.version}
    with pytest.raises(ResourceNotFoundError):
        keys.get_key("other")
    with pytest.raises(HttpResponseError) as missing:
        backup.begin_restore(result.folder_url, sas_token=token, key_name="never-existed").wait()
    assert "never-existed" in str(missing.value)


def test_a_pool_with_another_security_domain_cannot_restore_the_backup(coffre):
    source = pool(coffre, "backup-source")
    keys, backup, _, _ = clients(source)
    keys.create_rsa_key("secret-key")
    folder_url = backup.begin_backup(container_uri(source), sas_token=source["BLOB_STORAGE_SAS_TOKEN"]).result().folder_url
    stranger = pool(coffre, "backup-stranger")
    stranger_keys, stranger_backup, _, _ = clients(stranger)
    # The source's container, read with the source's token: only the security domain stands in the way.
    for begin in (stranger_backup.begin_pre_restore, stranger_backup.begin_restore):
        with pytest.raises(HttpResponseError) as refused:
            begin(folder_url, sas_token=source["BLOB_STORAGE_SAS_TOKEN"]).wait()
        assert "another security domain" in str(refused.value)
    with pytest.raises(ResourceNotFoundError):
        stranger_keys.get_key("secret-key")


def test_a_backup_needs_a_sas_token_and_a_container_it_opens(coffre):
    env = pool(coffre, "backup-no-token")
    _, backup, _, _ = clients(env)
    with pytest.raises(HttpResponseError) as refused:
        backup.begin_backup(container_uri(env), use_managed_identity=True)
    assert refused.value.status_code == 400
    with pytest.raises(HttpResponseError) as forged:
        backup.begin_backup(container_uri(env), sas_token=env["BLOB_STORAGE_SAS_TOKEN"].replace("sig=", "sig=AA")).result()
    assert "Backup failed" in str(forged.value)
