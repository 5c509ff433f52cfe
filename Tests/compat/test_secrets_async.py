"""The Secrets API through the async client (aiohttp), with both credentials."""
import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.keyvault.secrets.aio import SecretClient


@pytest.fixture
async def client(coffre, async_credential):
    async with async_credential, SecretClient(coffre.vault_url(), async_credential) as client:
        yield client


async def test_set_get_update_and_list(client, name):
    first = await client.set_secret(name, "one", tags={"a": "b"})
    second = await client.set_secret(name, "two")
    assert (await client.get_secret(name)).value == "two"
    assert (await client.get_secret(name, first.properties.version)).value == "one"
    updated = await client.update_secret_properties(name, second.properties.version, content_type="text/plain")
    assert updated.content_type == "text/plain"
    assert name in {p.name async for p in client.list_properties_of_secrets(max_page_size=2)}
    assert len([v async for v in client.list_properties_of_secret_versions(name)]) == 2


async def test_soft_delete_recover_purge(client, name):
    await client.set_secret(name, "v")
    deleted = await client.delete_secret(name)
    assert deleted.recovery_id.endswith("/deletedsecrets/" + name)
    assert (await client.get_deleted_secret(name)).name == name
    assert name in {s.name async for s in client.list_deleted_secrets()}
    with pytest.raises(ResourceExistsError):
        await client.set_secret(name, "again")
    await client.recover_deleted_secret(name)
    assert (await client.get_secret(name)).value == "v"
    await client.delete_secret(name)
    await client.purge_deleted_secret(name)
    with pytest.raises(ResourceNotFoundError):
        await client.get_deleted_secret(name)


async def test_backup_restore_and_errors(client, name):
    await client.set_secret(name, "v", enabled=False)
    with pytest.raises(HttpResponseError) as error:
        await client.get_secret(name)
    assert error.value.status_code == 403
    blob = await client.backup_secret(name)
    await client.delete_secret(name)
    await client.purge_deleted_secret(name)
    restored = await client.restore_secret_backup(blob)
    assert restored.name == name
    with pytest.raises(HttpResponseError) as error:
        await client.set_secret("bad_name", "v")
    assert error.value.error.code == "BadParameter"
