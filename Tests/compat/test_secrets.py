"""The whole Secrets API through the official azure-keyvault-secrets client, sync, with both credentials."""
import time

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.keyvault.secrets import SecretClient


@pytest.fixture
def client(coffre, credential):
    return SecretClient(coffre.vault_url(), credential)


def test_set_and_get_latest_and_by_version(client, name):
    first = client.set_secret(name, "one")
    second = client.set_secret(name, "two", content_type="text/plain", tags={"env": "test"})
    assert first.properties.version != second.properties.version
    assert len(second.properties.version) == 32 and int(second.properties.version, 16) >= 0
    assert second.id.startswith(client.vault_url + "/secrets/" + name + "/")
    assert client.get_secret(name).value == "two"
    assert client.get_secret(name, first.properties.version).value == "one"
    latest = client.get_secret(name)
    assert latest.properties.content_type == "text/plain"
    assert latest.properties.tags == {"env": "test"}
    assert latest.properties.enabled is True
    assert latest.properties.created_on is not None and latest.properties.updated_on is not None
    assert latest.properties.recovery_level == "Recoverable+Purgeable"
    assert latest.properties.recoverable_days == 90
    assert latest.properties.vault_url == client.vault_url


def test_names_are_case_insensitive(client, name):
    client.set_secret(name.upper(), "v")
    assert client.get_secret(name.lower()).value == "v"
    assert client.get_secret(name.upper()).name == name.upper()


def test_list_and_list_versions_page_with_next_link(client, name):
    for index in range(7):
        client.set_secret(f"{name}-{index}", "v")
    for index in range(5):
        client.set_secret(name, f"v{index}")
    listed = {p.name for p in client.list_properties_of_secrets(max_page_size=3)}
    assert {f"{name}-{index}" for index in range(7)} <= listed
    pages = list(client.list_properties_of_secrets(max_page_size=2).by_page())
    assert len(pages) > 1
    versions = list(client.list_properties_of_secret_versions(name, max_page_size=2))
    assert len(versions) == 5
    assert len({v.version for v in versions}) == 5
    assert all(v.name == name for v in versions)


def test_update_properties(client, name):
    secret = client.set_secret(name, "v", content_type="a")
    time.sleep(1)
    expires = secret.properties.created_on.replace(year=secret.properties.created_on.year + 1, microsecond=0)
    not_before = secret.properties.created_on.replace(microsecond=0)
    updated = client.update_secret_properties(name, content_type="b", enabled=False, expires_on=expires,
                                              not_before=not_before, tags={"k": "v"})
    assert updated.content_type == "b"
    assert updated.enabled is False
    assert updated.expires_on == expires
    assert updated.not_before == not_before
    assert updated.tags == {"k": "v"}
    assert updated.updated_on > secret.properties.updated_on
    # By version, too, and the value never changes.
    client.update_secret_properties(name, secret.properties.version, enabled=True)
    assert client.get_secret(name).value == "v"


def test_disabled_secret_value_is_refused(client, name):
    client.set_secret(name, "v", enabled=False)
    with pytest.raises(HttpResponseError) as error:
        client.get_secret(name)
    assert error.value.status_code == 403
    assert error.value.error.code == "Forbidden"
    assert "v" not in str(error.value.message).split("disabled")[0][-3:]


def test_delete_get_list_recover_and_purge(client, name):
    client.set_secret(name, "v1")
    client.set_secret(name, "v2")
    deleted = client.begin_delete_secret(name).result()
    assert deleted.recovery_id == client.vault_url + "/deletedsecrets/" + name
    assert deleted.deleted_date is not None
    assert (deleted.scheduled_purge_date - deleted.deleted_date).days == 90
    with pytest.raises(ResourceNotFoundError) as error:
        client.get_secret(name)
    assert error.value.error.code == "SecretNotFound"
    assert client.get_deleted_secret(name).name == name
    assert name in {s.name for s in client.list_deleted_secrets()}
    with pytest.raises(ResourceExistsError) as error:
        client.set_secret(name, "again")
    assert error.value.status_code == 409

    recovered = client.begin_recover_deleted_secret(name).result()
    assert recovered.name == name
    assert client.get_secret(name).value == "v2"
    assert len(list(client.list_properties_of_secret_versions(name))) == 2

    client.begin_delete_secret(name).wait()
    client.purge_deleted_secret(name)
    with pytest.raises(ResourceNotFoundError):
        client.get_deleted_secret(name)
    client.set_secret(name, "fresh")
    assert len(list(client.list_properties_of_secret_versions(name))) == 1


def test_backup_and_restore(client, name):
    # Values long enough that ciphertext cannot contain them by chance ("v1" did, once in a CI run).
    first_value, latest_value = "first-" + "0123456789abcdef" * 2, "latest-" + "fedcba9876543210" * 2
    first = client.set_secret(name, first_value, tags={"a": "b"})
    client.set_secret(name, latest_value)
    blob = client.backup_secret(name)
    assert isinstance(blob, bytes) and first_value.encode() not in blob and latest_value.encode() not in blob
    with pytest.raises(ResourceExistsError):
        client.restore_secret_backup(blob)
    client.begin_delete_secret(name).wait()
    client.purge_deleted_secret(name)
    restored = client.restore_secret_backup(blob)
    assert restored.name == name
    assert client.get_secret(name).value == latest_value
    assert client.get_secret(name, first.properties.version).properties.tags == {"a": "b"}


def test_tampered_backup_is_refused(client, name):
    client.set_secret(name, "v")
    blob = bytearray(client.backup_secret(name))
    blob[len(blob) // 2] ^= 0x01
    with pytest.raises(HttpResponseError) as error:
        client.restore_secret_backup(bytes(blob))
    assert error.value.status_code == 400
    assert error.value.error.code == "BadParameter"


@pytest.mark.parametrize("api_version", ["2016-10-01", "7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01", "2026-04-01"])
def test_every_api_version(coffre, credential, name, api_version):
    client = SecretClient(coffre.vault_url(), credential, api_version=api_version)
    client.set_secret(name, "v")
    assert client.get_secret(name).value == "v"
    assert name in {p.name for p in client.list_properties_of_secrets()}


@pytest.mark.parametrize("case", ["too_large", "content_type", "too_many_tags", "long_tag", "bad_name", "long_name"])
def test_limits_are_bad_parameter(client, name, case):
    arguments = {"name": name, "value": "v"}
    if case == "too_large":
        arguments["value"] = "x" * (25 * 1024 + 1)
    elif case == "content_type":
        arguments["content_type"] = "c" * 256
    elif case == "too_many_tags":
        arguments["tags"] = {f"t{i}": "v" for i in range(16)}
    elif case == "long_tag":
        arguments["tags"] = {"t": "v" * 257}
    elif case == "bad_name":
        arguments["name"] = "bad_name"
    elif case == "long_name":
        arguments["name"] = "n" * 128
    with pytest.raises(HttpResponseError) as error:
        client.set_secret(**arguments)
    assert error.value.status_code == 400
    assert error.value.error.code == "BadParameter"
    with pytest.raises(ResourceNotFoundError):
        client.get_secret(arguments["name"] if case not in ("bad_name", "long_name") else name)


def test_largest_value_is_accepted(client, name):
    value = "x" * (25 * 1024)
    client.set_secret(name, value)
    assert client.get_secret(name).value == value


def test_versions_of_a_name_that_never_existed_are_an_empty_list(client, name):
    # As the service answers: 200 with an empty page, not SecretNotFound.
    assert list(client.list_properties_of_secret_versions(name)) == []


def test_missing_objects_are_not_found(client, name):
    for call in (lambda: client.get_secret(name), lambda: client.get_deleted_secret(name),
                 lambda: client.purge_deleted_secret(name), lambda: client.begin_recover_deleted_secret(name),
                 lambda: client.begin_delete_secret(name), lambda: client.backup_secret(name),
                 lambda: client.update_secret_properties(name, enabled=False)):
        with pytest.raises(ResourceNotFoundError) as error:
            call()
        assert error.value.error.code == "SecretNotFound"
    client.set_secret(name, "v")
    with pytest.raises(ResourceNotFoundError):
        client.get_secret(name, "0" * 32)
