"""The Keys API through the async KeyClient and CryptographyClient, with both credentials."""
import hashlib

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.keyvault.keys.aio import KeyClient
from azure.keyvault.keys.crypto.aio import CryptographyClient
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils


@pytest.fixture
async def client(coffre, async_credential):
    async with async_credential, KeyClient(coffre.vault_url(), async_credential) as client:
        yield client, async_credential


async def test_key_lifecycle_and_crypto(client, name):
    keys, credential = client
    key = await keys.create_rsa_key(name, size=2048)
    assert (await keys.get_key(name)).key.n == key.key.n
    assert name in {k.name async for k in keys.list_properties_of_keys()}
    async with CryptographyClient(key, credential) as crypto:
        digest = hashlib.sha256(b"async").digest()
        signature = (await crypto.sign("PS256", digest)).signature
        public = rsa.RSAPublicNumbers(int.from_bytes(key.key.e, "big"), int.from_bytes(key.key.n, "big")).public_key()
        public.verify(signature, digest, padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.DIGEST_LENGTH),
                      utils.Prehashed(hashes.SHA256()))
        wrapped = (await crypto.wrap_key("RSA-OAEP-256", b"k" * 32)).encrypted_key
        assert (await crypto.unwrap_key("RSA-OAEP-256", wrapped)).key == b"k" * 32
    rotated = await keys.rotate_key(name)
    assert rotated.properties.version != key.properties.version
    blob = await keys.backup_key(name)
    await keys.delete_key(name)
    await keys.purge_deleted_key(name)
    with pytest.raises(ResourceNotFoundError):
        await keys.get_key(name)
    assert (await keys.restore_key_backup(blob)).name == name
    assert len(await keys.get_random_bytes(8)) == 8
