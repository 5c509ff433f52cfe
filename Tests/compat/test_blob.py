"""Coffre's Blob service through the official azure-storage-blob client, over TLS: with an account key, a connection
string and SAS tokens the client generates itself, sync and async; refused once a key is regenerated or a token
expires."""
import datetime
import hashlib
import os
import uuid

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import (AccountSasPermissions, BlobBlock, BlobClient, BlobSasPermissions, BlobServiceClient,
                                ContainerClient, ContainerSasPermissions, ContentSettings, ResourceTypes, generate_account_sas,
                                generate_blob_sas, generate_container_sas)


def new_account(coffre):
    """A storage account made by `coffre storage account create`, with its keys and connection string."""
    name = "compat" + uuid.uuid4().hex[:10]
    created = coffre.cli_json("storage", "account", "create", "--name", name)
    assert created["name"] == name
    assert created["blobEndpoint"] == f"https://{name}.blob.localhost:{coffre.port}/"
    keys = {key["keyName"]: key["value"] for key in coffre.cli_json("storage", "account", "keys", "--name", name)}
    connection = coffre.cli_json("storage", "account", "show-connection-string", "--name", name)["connectionString"]
    return {"name": name, "url": created["blobEndpoint"], "connection_string": connection, **keys}


@pytest.fixture(scope="module")
def account(coffre):
    return new_account(coffre)


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def key(account, name="key1"):
    """An account key as a credential. The client reads the account name from hosts of the form `*.blob.core.*` only, so
    under Coffre's `blob.localhost` it is given with the key (or by a connection string)."""
    return {"account_name": account["name"], "account_key": account[name]}


def test_accounts_are_listed_shown_and_deleted(coffre):
    created = new_account(coffre)
    assert created["name"] in {a["name"] for a in coffre.cli_json("storage", "account", "list")}
    assert coffre.cli_json("storage", "account", "show", "--name", created["name"])["blobEndpoint"] == created["url"]
    assert created["key1"] != created["key2"]
    coffre.cli("storage", "account", "delete", "--name", created["name"])
    refused = coffre.cli("storage", "account", "show", "--name", created["name"], check=False)
    assert refused.returncode != 0 and "StorageAccountNotFound" in refused.stdout + refused.stderr
    refused = coffre.cli("storage", "account", "create", "--name", "Not-Valid", check=False)
    assert refused.returncode != 0 and "storage account name" in refused.stdout + refused.stderr


def test_containers_and_blobs_with_the_account_key(account):
    service = BlobServiceClient(account["url"], credential=key(account))
    name = "c" + uuid.uuid4().hex[:12]
    container = service.create_container(name, metadata={"Owner": "compat"})
    with pytest.raises(ResourceExistsError) as exists:
        service.create_container(name)
    assert exists.value.error_code == "ContainerAlreadyExists"
    assert name in {c.name for c in service.list_containers(name_starts_with=name[:6])}
    assert container.get_container_properties().metadata == {"Owner": "compat"}

    uploaded = container.get_blob_client("dir/hello world.txt").upload_blob(
        b"hello, coffre", metadata={"kind": "greeting"}, content_settings=ContentSettings(content_type="text/plain", cache_control="no-cache"))
    assert container.download_blob("dir/hello world.txt").readall() == b"hello, coffre"
    properties = container.get_blob_client("dir/hello world.txt").get_blob_properties()
    assert properties.size == 13 and properties.metadata == {"kind": "greeting"}
    assert properties.content_settings.content_type == "text/plain" and properties.content_settings.cache_control == "no-cache"
    assert properties.content_settings.content_md5 == hashlib.md5(b"hello, coffre").digest()
    assert properties.etag == uploaded["etag"]
    with pytest.raises(ResourceExistsError):
        container.upload_blob("dir/hello world.txt", b"again")
    container.upload_blob("dir/hello world.txt", b"again", overwrite=True)
    assert container.download_blob("dir/hello world.txt", offset=1, length=3).readall() == b"gai"
    container.upload_blob("dir/sub/x", b"x")
    container.upload_blob("top", b"")
    assert container.download_blob("top").readall() == b""
    assert [b.name for b in container.list_blobs(name_starts_with="dir/")] == ["dir/hello world.txt", "dir/sub/x"]
    assert [b.name for b in container.walk_blobs(delimiter="/")] == ["dir/", "top"]
    assert [b.name for b in container.list_blobs(results_per_page=1)] == ["dir/hello world.txt", "dir/sub/x", "top"]

    container.delete_blob("top")
    with pytest.raises(ResourceNotFoundError) as missing:
        container.get_blob_client("top").get_blob_properties()
    assert missing.value.error_code == "BlobNotFound"
    container.delete_container()
    with pytest.raises(ResourceNotFoundError) as gone:
        container.get_container_properties()
    assert gone.value.error_code == "ContainerNotFound"


def test_large_blobs_go_in_blocks_and_come_back_in_ranges(account):
    service = BlobServiceClient(account["url"], credential=key(account), max_single_put_size=1024 * 1024, max_block_size=512 * 1024,
                                max_single_get_size=1024 * 1024, max_chunk_get_size=512 * 1024)
    container = service.create_container("c" + uuid.uuid4().hex[:12])
    data = os.urandom(3 * 1024 * 1024 + 12345)
    container.upload_blob("big.bin", data, max_concurrency=4)
    blocks, _ = container.get_blob_client("big.bin").get_block_list("committed")
    assert len(blocks) == 7
    assert hashlib.sha256(container.download_blob("big.bin", max_concurrency=3).readall()).digest() == hashlib.sha256(data).digest()

    staged = container.get_blob_client("staged")
    staged.stage_block("YmxvY2stMQ==", b"one-")
    staged.stage_block("YmxvY2stMg==", b"two")
    staged.commit_block_list([BlobBlock("YmxvY2stMg=="), BlobBlock("YmxvY2stMQ==")])
    assert staged.download_blob().readall() == b"twoone-"
    container.delete_container()


def test_connection_string(account):
    service = BlobServiceClient.from_connection_string(account["connection_string"])
    container = service.create_container("c" + uuid.uuid4().hex[:12])
    container.upload_blob("b", b"from a connection string")
    assert service.get_blob_client(container.container_name, "b").download_blob().readall() == b"from a connection string"
    container.delete_container()


def test_shared_access_signatures(account):
    owner = BlobServiceClient(account["url"], credential=key(account))
    name = "c" + uuid.uuid4().hex[:12]
    account_sas = generate_account_sas(account["name"], account["key2"], ResourceTypes(service=True, container=True, object=True),
                                       AccountSasPermissions(read=True, write=True, delete=True, list=True, create=True),
                                       expiry=now() + datetime.timedelta(hours=1))
    service = BlobServiceClient(account["url"], credential=account_sas)
    container = service.create_container(name)
    container.upload_blob("a.txt", b"by an account SAS")
    assert name in {c.name for c in service.list_containers()}

    container_sas = generate_container_sas(account["name"], name, account["key1"], permission=ContainerSasPermissions(
        read=True, write=True, list=True, create=True), expiry=now() + datetime.timedelta(hours=1))
    by_container = ContainerClient.from_container_url(f"{account['url']}{name}?{container_sas}")
    by_container.upload_blob("b.txt", b"by a container SAS")
    assert sorted(b.name for b in by_container.list_blobs()) == ["a.txt", "b.txt"]

    blob_sas = generate_blob_sas(account["name"], name, "b.txt", account_key=account["key1"], permission=BlobSasPermissions(read=True),
                                 expiry=now() + datetime.timedelta(hours=1), content_type="text/x-coffre")
    # Not from_blob_url: it reads a host with "localhost" and no ".core." as the emulator's path-style URL.
    reader = BlobClient(account["url"], name, "b.txt", credential=blob_sas)
    downloaded = reader.download_blob()
    assert downloaded.readall() == b"by a container SAS"
    assert downloaded.properties.content_settings.content_type == "text/x-coffre"
    with pytest.raises(HttpResponseError) as refused:
        reader.upload_blob(b"no write permission", overwrite=True)
    assert refused.value.status_code == 403 and refused.value.error_code == "AuthorizationPermissionMismatch"
    with pytest.raises(ClientAuthenticationError) as other:
        BlobClient(account["url"], name, "a.txt", credential=blob_sas).download_blob()
    assert other.value.error_code == "AuthenticationFailed"

    expired = generate_container_sas(account["name"], name, account["key1"], permission="rl", start=now() - datetime.timedelta(hours=2),
                                     expiry=now() - datetime.timedelta(minutes=1))
    with pytest.raises(ClientAuthenticationError) as late:
        list(ContainerClient.from_container_url(f"{account['url']}{name}?{expired}").list_blobs())
    assert late.value.error_code == "AuthenticationFailed"
    owner.delete_container(name)


def test_a_regenerated_key_is_refused_at_once(coffre):
    fresh = new_account(coffre)
    name = "c" + uuid.uuid4().hex[:12]
    BlobServiceClient(fresh["url"], credential=key(fresh)).create_container(name)
    sas = generate_container_sas(fresh["name"], name, fresh["key1"], permission="rl", expiry=now() + datetime.timedelta(hours=1))
    clients = {
        "key": BlobServiceClient(fresh["url"], credential=key(fresh)).get_container_client(name),
        "connection string": BlobServiceClient.from_connection_string(fresh["connection_string"]).get_container_client(name),
        "SAS": ContainerClient.from_container_url(f"{fresh['url']}{name}?{sas}"),
    }
    for client in clients.values():
        assert list(client.list_blobs()) == []

    keys = {k["keyName"]: k["value"] for k in coffre.cli_json("storage", "account", "regenerate-key", "--name", fresh["name"], "--key", "key1")}
    assert keys["key1"] != fresh["key1"] and keys["key2"] == fresh["key2"]
    for kind, client in clients.items():
        with pytest.raises(ClientAuthenticationError) as refused:
            list(client.list_blobs())
        assert refused.value.error_code == "AuthenticationFailed", kind
    assert list(BlobServiceClient(fresh["url"], credential=key(fresh, "key2")).get_container_client(name).list_blobs()) == []
    assert list(BlobServiceClient(fresh["url"], credential={"account_name": fresh["name"], "account_key": keys["key1"]}).get_container_client(name).list_blobs()) == []


def test_the_blob_core_zone_suits_the_clients_url_rules(coffre, account):
    """Under `blob.core.localhost` the client takes a bare key (the account from the host) and parses blob URLs."""
    url = f"https://{account['name']}.blob.core.localhost:{coffre.port}"
    container = BlobServiceClient(url, credential=account["key1"]).create_container("c" + uuid.uuid4().hex[:12])
    container.upload_blob("dir/x.txt", b"core")
    sas = generate_blob_sas(account["name"], container.container_name, "dir/x.txt", account_key=account["key1"], permission="r",
                            expiry=now() + datetime.timedelta(hours=1))
    assert BlobClient.from_blob_url(f"{url}/{container.container_name}/dir/x.txt?{sas}").download_blob().readall() == b"core"
    container.delete_container()


def test_unknown_accounts_are_refused(coffre, account):
    stranger = BlobServiceClient(f"https://nosuchaccount.blob.localhost:{coffre.port}", credential=key(account))
    with pytest.raises(ClientAuthenticationError):
        stranger.create_container("c" + uuid.uuid4().hex[:12])


async def test_the_async_client(account):
    from azure.storage.blob.aio import BlobServiceClient as AsyncBlobServiceClient

    async with AsyncBlobServiceClient(account["url"], credential=key(account)) as service:
        container = await service.create_container("c" + uuid.uuid4().hex[:12])
        await container.upload_blob("déjà vu/ä b+c.txt", b"async", metadata={"m": "1"})
        assert await (await container.download_blob("déjà vu/ä b+c.txt")).readall() == b"async"
        assert [b.name async for b in container.list_blobs()] == ["déjà vu/ä b+c.txt"]
        await container.delete_container()
