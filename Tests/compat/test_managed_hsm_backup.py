"""Managed HSM full backup, full restore and selective key restore through KeyVaultBackupClient's pollers, written as
blobs to a container of Coffre's Blob service (a storage account made by `coffre storage account create`, a container
and a SAS token made by azure-storage-blob)."""
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.administration import KeyVaultBackupClient
from azure.keyvault.keys import KeyClient

from conftest import grant_key_roles, managed_identity_credential


def pool(coffre, name):
    """An activated pool whose administrator (the managed identity) may also use and purge keys."""
    created = coffre.cli_json("hsm", "create", "--name", name, "--activated")
    grant_key_roles(coffre, name, created["administrators"][0])
    return coffre.hsm_url(name)


def test_full_backup_restore_and_selective_key_restore(coffre, backup_container):
    url = pool(coffre, "backup-hsm")
    container_url, token, blobs = backup_container
    keys = KeyClient(url, managed_identity_credential())
    kept = keys.create_rsa_key("kept")
    dropped = keys.create_ec_key("dropped")
    backup = KeyVaultBackupClient(url, managed_identity_credential())

    backup.begin_pre_backup(container_url, sas_token=token).wait()
    poller = backup.begin_backup(container_url, sas_token=token)
    assert poller.status().lower() == "inprogress"
    result = poller.result()
    folder = result.folder_url.rsplit("/", 1)[1]
    assert result.folder_url.startswith(container_url + "/mhsm-backup-hsm-")
    assert len(folder) == len("mhsm-backup-hsm-") + 16
    assert [b.name for b in blobs.list_blobs(name_starts_with=folder)] == [f"{folder}/backup.coffre"]
    assert b"kept" not in blobs.download_blob(f"{folder}/backup.coffre").readall()  # sealed

    # Selective restore brings one deleted and purged key back, with its versions.
    keys.begin_delete_key("dropped").wait()
    keys.purge_deleted_key("dropped")
    with pytest.raises(ResourceNotFoundError):
        keys.get_key("dropped")
    backup.begin_restore(result.folder_url, sas_token=token, key_name="dropped").wait()
    assert keys.get_key("dropped").id == dropped.id

    # A full restore brings the pool back to the backup.
    keys.create_rsa_key("after-backup")
    backup.begin_pre_restore(result.folder_url, sas_token=token).wait()
    backup.begin_restore(result.folder_url, sas_token=token).wait()
    assert keys.get_key("kept").id == kept.id
    with pytest.raises(ResourceNotFoundError):
        keys.get_key("after-backup")


def test_a_pool_with_another_security_domain_cannot_restore_the_backup(coffre, backup_container):
    container_url, token, _ = backup_container
    source = pool(coffre, "backup-source")
    KeyClient(source, managed_identity_credential()).create_rsa_key("secret-key")
    folder_url = KeyVaultBackupClient(source, managed_identity_credential()).begin_backup(container_url, sas_token=token).result().folder_url
    stranger = pool(coffre, "backup-stranger")
    with pytest.raises(HttpResponseError) as refused:
        KeyVaultBackupClient(stranger, managed_identity_credential()).begin_restore(folder_url, sas_token=token).wait()
    assert "another security domain" in str(refused.value)
    with pytest.raises(ResourceNotFoundError):
        KeyClient(stranger, managed_identity_credential()).get_key("secret-key")


def test_a_backup_needs_a_sas_token(coffre, backup_container):
    container_url, _, _ = backup_container
    url = pool(coffre, "backup-no-token")
    with pytest.raises(HttpResponseError) as refused:
        KeyVaultBackupClient(url, managed_identity_credential()).begin_backup(container_url, use_managed_identity=True)
    assert refused.value.status_code == 400
