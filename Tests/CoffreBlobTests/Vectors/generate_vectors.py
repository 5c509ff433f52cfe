#!/usr/bin/env python3
"""Regenerates vectors.json: SAS tokens and Shared Key signatures computed by the official Azure Storage clients.

    python3 Tests/CoffreBlobTests/Vectors/generate_vectors.py

Each client generation below is installed, at its pinned version, into a virtual environment of its own (they cannot
share one), and this script runs itself there with `--emit GENERATION`. The Swift tests (CoffreBlobTests) check that
Coffre computes the same string-to-sign, signature and token from the same inputs, verifies them, and refuses what
Azure Storage refuses.

- current: azure-storage-blob 12.31.1, the client people use today (sv 2026-02-06 format: with signedEncryptionScope).
- v12_8:   azure-storage-blob 12.8.1 (sv 2020-06-12: signedResource and signedSnapshotTime, no encryption scope).
- track1:  azure-storage-blob 1.5.0 with azure-storage-common 1.4.2 (sv 2018-03-28: signedIP and signedProtocol).
- legacy:  azure-storage 0.20.3 (sv 2014-02-14: response headers, canonical resource without "/blob"; and 2012-02-12).

Shared Key vectors are requests of the current client, captured at the transport (a requests adapter answers them as
the service would, so every operation runs its real request path) with the string-to-sign the client signed.

Template vectors are Key Vault SAS definitions: a template (`templateUri`, signed with a dummy key, with another
expiry) and the token the same client computes for the same fields with an account key and the vector's expiry — what
the definition's secret must hand out. `--only templates` regenerates that section alone.
"""

import base64
import json
import os
import subprocess
import sys
import tempfile

PINS = {
    "current": ["azure-storage-blob==12.31.1", "azure-core==1.41.0"],
    "v12_8": ["azure-storage-blob==12.8.1", "azure-core==1.41.0", "msrest==0.7.1", "six==1.17.0"],
    "track1": ["azure-storage-blob==1.5.0", "azure-storage-common==1.4.2", "azure-common==1.1.28"],
    "legacy": ["azure-storage==0.20.3", "azure-common==1.1.28"],
}

ACCOUNT = "coffretest"
# Two fixed 512-bit keys (the tests create the account with them).
KEY1 = base64.b64encode(bytes(range(64))).decode()
KEY2 = base64.b64encode(bytes(range(64, 128))).decode()
START = "2026-01-01T00:00:00Z"
EXPIRY = "2026-01-02T00:00:00Z"
# What SAS definition templates are signed with, and their expiry (both replaced in the tokens made from them).
DUMMY_KEY = base64.b64encode(b"00000000").decode()
TEMPLATE_EXPIRY = "2020-01-01T00:00:00Z"
BLOB_URL = f"https://{ACCOUNT}.blob.core.windows.net"
HERE = os.path.dirname(os.path.abspath(__file__))


def sas_entry(name, client, kind, inputs, token, string_to_sign, key="key1"):
    return {"name": name, "client": client, "kind": kind, "key": key, "inputs": inputs, "token": token, "stringToSign": string_to_sign}


def template_entry(name, client, sas_type, template, token, string_to_sign, key="key1"):
    return {"name": name, "client": client, "sasType": sas_type, "templateUri": template, "key": key, "expiry": EXPIRY, "token": token,
            "stringToSign": string_to_sign}


def record_signing(*targets):
    """Wraps the signing function the older clients call (they have no `sts_hook`); returns what they signed."""
    signed = []
    for module, attribute in targets:
        original = getattr(module, attribute)

        def recording(key, string_to_sign, *args, _original=original, **kwargs):
            signed.append(string_to_sign)
            return _original(key, string_to_sign, *args, **kwargs)

        setattr(module, attribute, recording)
    return signed


def emit_current():
    from azure.storage.blob import generate_account_sas, generate_blob_sas, generate_container_sas

    client = "azure-storage-blob 12.31.1"
    entries = []

    def account(name, key="key1", account_name=ACCOUNT, **inputs):
        captured = []
        args = dict(inputs)
        token = generate_account_sas(
            account_name, KEY1 if key == "key1" else KEY2, args.pop("resource_types"), args.pop("permission"), args.pop("expiry"),
            sts_hook=captured.append, **args)
        entries.append(sas_entry(name, client, "account", dict(inputs, account=account_name), token, captured[0], key))

    def container(name, key="key1", **inputs):
        captured = []
        args = dict(inputs)
        token = generate_container_sas(ACCOUNT, args.pop("container"), KEY1 if key == "key1" else KEY2, sts_hook=captured.append, **args)
        entries.append(sas_entry(name, client, "container", dict(inputs, account=ACCOUNT), token, captured[0], key))

    def blob(name, key="key1", **inputs):
        captured = []
        args = dict(inputs)
        token = generate_blob_sas(
            ACCOUNT, args.pop("container"), args.pop("blob"), account_key=KEY1 if key == "key1" else KEY2, sts_hook=captured.append, **args)
        entries.append(sas_entry(name, client, "blob", dict(inputs, account=ACCOUNT), token, captured[0], key))

    every = dict(start=START, expiry=EXPIRY)
    account("account-all", services="b", resource_types="sco", permission="rwdlacup", protocol="https", **every)
    account("account-key2", key="key2", services="b", resource_types="sco", permission="rwdlacup", **every)
    account("account-ip-range", services="bqtf", resource_types="sco", permission="rwdlac", ip="127.0.0.1-127.0.0.9", **every)
    account("account-wrong-ip", services="b", resource_types="sco", permission="rwdlac", ip="10.1.2.3", **every)
    account("account-http-allowed", services="b", resource_types="sco", permission="rl", protocol="https,http", **every)
    account("account-read-only", services="b", resource_types="sco", permission="rl", **every)
    account("account-objects-only", services="b", resource_types="o", permission="rwdlac", **every)
    account("account-queue-only", services="q", resource_types="sco", permission="rwdlac", **every)
    account("account-no-start", services="b", resource_types="sco", permission="rwdl", expiry=EXPIRY)
    account("account-any-order", services="b", resource_types="sco", permission="lwr", **every)
    account("account-encryption-scope", services="b", resource_types="sco", permission="rwl", encryption_scope="scope1", **every)
    account("account-unknown", account_name="coffreother", services="b", resource_types="sco", permission="rwdlac", **every)
    container("container-read-list", container="vectors", permission="rl", **every)
    container("container-write", container="vectors", permission="racwdl", protocol="https", **every)
    container("container-other", container="others", permission="racwdl", **every)
    container("container-wrong-order", container="vectors", permission="lr", **every)
    container(
        "container-response-headers", container="vectors", permission="r", cache_control="no-cache", content_disposition="attachment",
        content_encoding="identity", content_language="fr", content_type="text/plain; charset=utf-8", **every)
    container("container-ip", container="vectors", permission="rl", ip="127.0.0.1", **every)
    container("container-encryption-scope", container="vectors", permission="rl", encryption_scope="scope1", **every)
    blob("blob-read", container="vectors", blob="dir/a b+c.txt", permission="r", **every)
    blob("blob-create-write", container="vectors", blob="new.bin", permission="cw", protocol="https", **every)
    blob("blob-create-only", container="vectors", blob="new.bin", permission="c", **every)
    blob("blob-unicode", container="vectors", blob="d\u00e9j\u00e0/\u65e5\u672c.txt", permission="rd", **every)
    blob("blob-response-headers", container="vectors", blob="file.txt", permission="r", content_type="application/json",
         content_disposition="inline", **every)
    return entries


def emit_current_templates():
    from azure.storage.blob import BlobClient, generate_account_sas, generate_blob_sas, generate_container_sas

    client = "azure-storage-blob 12.31.1"
    entries = []

    def signed(generate, key, expiry):
        captured = []
        token = generate(key, expiry, captured.append)
        return token, captured[0]

    def account(name, key="key1", **inputs):
        def generate(account_key, expiry, hook):
            args = dict(inputs)
            return generate_account_sas(ACCOUNT, account_key, args.pop("resource_types"), args.pop("permission"), expiry, sts_hook=hook, **args)

        template, _ = signed(generate, DUMMY_KEY, TEMPLATE_EXPIRY)
        token, string_to_sign = signed(generate, KEY1 if key == "key1" else KEY2, EXPIRY)
        entries.append(template_entry(name, client, "account", template, token, string_to_sign, key))

    def service(name, url, generate, key="key1"):
        template, _ = signed(generate, DUMMY_KEY, TEMPLATE_EXPIRY)
        token, string_to_sign = signed(generate, KEY1 if key == "key1" else KEY2, EXPIRY)
        entries.append(template_entry(name, client, "service", url + "?" + template, token, string_to_sign, key))

    account("template-account", services="b", resource_types="sco", permission="rwdlacup", protocol="https")
    account("template-account-key2", key="key2", services="bqtf", resource_types="co", permission="rl", start=START, ip="127.0.0.1-127.0.0.9")
    account("template-account-encryption-scope", services="b", resource_types="sco", permission="rwl", encryption_scope="scope1")
    service("template-container", f"{BLOB_URL}/vectors", lambda key, expiry, hook: generate_container_sas(
        ACCOUNT, "vectors", key, permission="racwdl", expiry=expiry, protocol="https", sts_hook=hook))
    blob_url = BlobClient(BLOB_URL, "vectors", "dir/a b+c.txt").url
    service("template-blob", blob_url, lambda key, expiry, hook: generate_blob_sas(
        ACCOUNT, "vectors", "dir/a b+c.txt", account_key=key, permission="r", expiry=expiry, start=START, content_disposition="attachment",
        content_type="text/plain", sts_hook=hook), key="key2")
    return entries


def emit_v12_8():
    from azure.storage.blob import _shared_access_signature, generate_account_sas, generate_blob_sas, generate_container_sas
    from azure.storage.blob._shared import shared_access_signature

    client = "azure-storage-blob 12.8.1"
    signed = record_signing((_shared_access_signature, "sign_string"), (shared_access_signature, "sign_string"))
    entries = []
    every = dict(start=START, expiry=EXPIRY)
    token = generate_account_sas(ACCOUNT, KEY1, "sco", "rwdlac", EXPIRY, start=START, ip="127.0.0.1", protocol="https")
    entries.append(sas_entry("v12_8-account", client, "account", dict(
        account=ACCOUNT, services="b", resource_types="sco", permission="rwdlac", ip="127.0.0.1", protocol="https", **every), token, signed[-1]))
    token = generate_container_sas(ACCOUNT, "vectors", KEY1, permission="rl", cache_control="no-store", **every)
    entries.append(sas_entry("v12_8-container", client, "container", dict(
        account=ACCOUNT, container="vectors", permission="rl", cache_control="no-store", **every), token, signed[-1]))
    token = generate_blob_sas(ACCOUNT, "vectors", "dir/a b+c.txt", account_key=KEY1, permission="rw", protocol="https", **every)
    entries.append(sas_entry("v12_8-blob", client, "blob", dict(
        account=ACCOUNT, container="vectors", blob="dir/a b+c.txt", permission="rw", protocol="https", **every), token, signed[-1]))
    return entries


def emit_track1():
    from azure.storage.blob.sharedaccesssignature import BlobSharedAccessSignature
    from azure.storage.common import sharedaccesssignature
    from azure.storage.common.sharedaccesssignature import SharedAccessSignature

    client = "azure-storage-blob 1.5.0"
    signed = record_signing((sharedaccesssignature, "_sign_string"))
    entries = []
    every = dict(start=START, expiry=EXPIRY)
    token = SharedAccessSignature(ACCOUNT, KEY1).generate_account("b", "sco", "rwdlac", EXPIRY, start=START, protocol="https")
    entries.append(sas_entry("track1-account", client, "account", dict(
        account=ACCOUNT, services="b", resource_types="sco", permission="rwdlac", protocol="https", **every), token, signed[-1]))
    signer = BlobSharedAccessSignature(ACCOUNT, KEY1)
    token = signer.generate_container("vectors", permission="rl", ip="127.0.0.1", content_type="text/csv", **every)
    entries.append(sas_entry("track1-container", client, "container", dict(
        account=ACCOUNT, container="vectors", permission="rl", ip="127.0.0.1", content_type="text/csv", **every), token, signed[-1]))
    token = signer.generate_blob("vectors", "dir/a b+c.txt", permission="r", **every)
    entries.append(sas_entry("track1-blob", client, "blob", dict(
        account=ACCOUNT, container="vectors", blob="dir/a b+c.txt", permission="r", **every), token, signed[-1]))
    return entries


def emit_track1_templates():
    from azure.storage.blob.sharedaccesssignature import BlobSharedAccessSignature
    from azure.storage.common import sharedaccesssignature
    from azure.storage.common.sharedaccesssignature import SharedAccessSignature

    client = "azure-storage-blob 1.5.0"
    signed = record_signing((sharedaccesssignature, "_sign_string"))
    entries = []
    template = SharedAccessSignature(ACCOUNT, DUMMY_KEY).generate_account("bfqt", "sco", "rwdlacup", TEMPLATE_EXPIRY, protocol="https")
    token = SharedAccessSignature(ACCOUNT, KEY1).generate_account("bfqt", "sco", "rwdlacup", EXPIRY, protocol="https")
    entries.append(template_entry("track1-template-account", client, "account", template, token, signed[-1]))
    # The form `az keyvault storage sas-definition create` documents: the signed fields alone, without expiry or signature.
    token = SharedAccessSignature(ACCOUNT, KEY1).generate_account("b", "sco", "rwdl", EXPIRY, protocol="https")
    entries.append(template_entry("track1-template-unsigned", client, "account", "sv=2018-03-28&ss=b&srt=sco&sp=rwdl&spr=https", token,
                                  signed[-1]))
    template = BlobSharedAccessSignature(ACCOUNT, DUMMY_KEY).generate_container("vectors", permission="rl", expiry=TEMPLATE_EXPIRY, ip="127.0.0.1")
    token = BlobSharedAccessSignature(ACCOUNT, KEY1).generate_container("vectors", permission="rl", expiry=EXPIRY, ip="127.0.0.1")
    entries.append(template_entry("track1-template-container", client, "service", f"{BLOB_URL}/vectors?{template}", token, signed[-1]))
    return entries


def emit_legacy():
    from azure.storage import AccessPolicy, sharedaccesssignature
    from azure.storage.sharedaccesssignature import SharedAccessPolicy, SharedAccessSignature

    client = "azure-storage 0.20.3"
    signed = record_signing((sharedaccesssignature, "_sign_string"))
    signer = SharedAccessSignature(ACCOUNT, KEY1)
    entries = []
    every = dict(start=START, expiry=EXPIRY)
    policy = SharedAccessPolicy(AccessPolicy(permission="rl", **every))
    token = signer.generate_signed_query_string("vectors", "c", policy, content_language="de")
    entries.append(sas_entry("legacy-container", client, "container", dict(
        account=ACCOUNT, container="vectors", permission="rl", content_language="de", **every), token, signed[-1]))
    policy = SharedAccessPolicy(AccessPolicy(permission="r", **every))
    token = signer.generate_signed_query_string("vectors/dir/a b+c.txt", "b", policy)
    entries.append(sas_entry("legacy-blob", client, "blob", dict(
        account=ACCOUNT, container="vectors", blob="dir/a b+c.txt", permission="r", **every), token, signed[-1]))
    # Version 2012-02-12 signs no response headers: the client's signature without a resource type is that format;
    # the token adds the resource (`sr`), which that version's string-to-sign does not cover.
    signature = signer._generate_signature("vectors/dir/a b+c.txt", None, policy, version="2012-02-12")
    from urllib.parse import quote
    token = "&".join(f"{k}={quote(v)}" for k, v in [
        ("st", START), ("se", EXPIRY), ("sp", "r"), ("sv", "2012-02-12"), ("sr", "b"), ("sig", signature)])
    entries.append(sas_entry("legacy-2012-blob", client, "blob", dict(
        account=ACCOUNT, container="vectors", blob="dir/a b+c.txt", permission="r", **every), token, signed[-1]))
    return entries


def emit_shared_key():
    """Requests of the current client with an account key, captured at the transport with what it signed."""
    import io

    import requests
    import urllib3
    from azure.core.pipeline.transport import RequestsTransport
    from azure.storage.blob import BlobBlock, BlobServiceClient, ContentSettings
    from azure.storage.blob._shared import authentication

    captured = []
    signed = []
    original_sign = authentication.sign_string

    def recording_sign(key, string_to_sign, *args, **kwargs):
        signed.append(string_to_sign)
        return original_sign(key, string_to_sign, *args, **kwargs)

    authentication.sign_string = recording_sign
    now = "Thu, 01 Jan 2026 12:00:00 GMT"
    etag = '"0x8DE48F2B3C4D5E6"'

    class Answering(requests.adapters.HTTPAdapter):
        """Records each request and answers it as the service would (status, headers, body), without a socket."""

        def send(self, request, **kwargs):
            from urllib.parse import parse_qs, urlsplit

            url = urlsplit(request.url)
            query = parse_qs(url.query)
            comp = query.get("comp", [None])[0]
            restype = query.get("restype", [None])[0]
            body = request.body or b""
            body = body.encode() if isinstance(body, str) else body if isinstance(body, bytes) else body.read()
            captured.append({
                "method": request.method, "url": request.url, "headers": dict(request.headers), "body": base64.b64encode(body).decode(),
                "stringToSign": signed[-1], "authorization": request.headers["Authorization"]})
            headers = {"x-ms-request-id": "00000000-0000-0000-0000-000000000000", "x-ms-version": request.headers["x-ms-version"],
                       "Date": now, "ETag": etag, "Last-Modified": now}
            status, body = 200, b""
            if request.method == "PUT":
                status = 200 if comp in ("metadata", "properties") else 201
            elif request.method == "DELETE":
                status = 202
            elif comp == "list" and restype == "container":
                body = (b'<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="https://coffretest.blob.core.windows.net/"'
                        b' ContainerName="vectors"><Blobs/><NextMarker/></EnumerationResults>')
                headers["Content-Type"] = "application/xml"
            elif comp == "list":
                body = (b'<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="https://coffretest.blob.core.windows.net/">'
                        b'<Containers/><NextMarker/></EnumerationResults>')
                headers["Content-Type"] = "application/xml"
            elif restype is None and comp is None:
                body = b"0123456789"
                headers.update({"x-ms-blob-type": "BlockBlob", "Content-Type": "application/octet-stream"})
                if request.method == "GET":
                    status = 206
                    headers["Content-Range"] = f"bytes 0-{len(body) - 1}/{len(body)}"
            headers["Content-Length"] = str(len(body))
            raw = urllib3.HTTPResponse(
                body=io.BytesIO(b"" if request.method == "HEAD" else body), headers=headers, status=status, preload_content=False,
                request_method=request.method)
            return self.build_response(request, raw)

    session = requests.Session()
    session.mount("https://", Answering())
    service = BlobServiceClient(
        f"https://{ACCOUNT}.blob.core.windows.net", credential={"account_name": ACCOUNT, "account_key": KEY1},
        transport=RequestsTransport(session=session), max_single_put_size=16, max_block_size=8, retry_total=0)
    named = []

    def step(name, action):
        before = len(captured)
        action()
        for index, request in enumerate(captured[before:]):
            named.append(dict(request, name=name if index == 0 else f"{name}-{index}"))

    container = service.get_container_client("vectors")
    step("create_container", lambda: container.create_container(metadata={"Owner": "coffre", "purpose": "vectors"}))
    step("list_containers", lambda: list(service.list_containers(name_starts_with="vec", include_metadata=True)))
    step("get_container_properties", lambda: container.get_container_properties())
    step("set_container_metadata", lambda: container.set_container_metadata({"stage": "two"}))
    step("upload_blob", lambda: container.upload_blob(
        "dir/a b+c.txt", b"hello", metadata={"k": "v"}, content_settings=ContentSettings(content_type="text/plain", cache_control="no-cache")))
    step("upload_blob_staged", lambda: container.upload_blob("big.bin", b"x" * 20, overwrite=True))
    blob = container.get_blob_client("d\u00e9j\u00e0/\u65e5\u672c.txt")
    step("stage_block", lambda: blob.stage_block("YmxvY2stMQ==", b"first", validate_content=True))
    step("commit_block_list", lambda: blob.commit_block_list([BlobBlock("YmxvY2stMQ==")], metadata={"m": "1"}))
    step("download_blob", lambda: container.download_blob("dir/a b+c.txt").readall())
    step("download_blob_range", lambda: container.download_blob("dir/a b+c.txt", offset=2, length=3).readall())
    step("get_blob_properties", lambda: container.get_blob_client("dir/a b+c.txt").get_blob_properties())
    step("list_blobs", lambda: list(container.list_blobs(name_starts_with="dir/", include=["metadata"])))
    step("walk_blobs", lambda: list(container.walk_blobs(delimiter="/", results_per_page=2)))
    step("set_blob_metadata", lambda: container.get_blob_client("big.bin").set_blob_metadata({"a": "b"}))
    step("delete_blob", lambda: container.delete_blob("big.bin"))
    step("delete_container", lambda: container.delete_container())
    return named


def emit(generation):
    if generation == "current":
        return {"sas": emit_current(), "sharedKey": emit_shared_key(), "templates": emit_current_templates()}
    if generation == "track1":
        return {"sas": emit_track1(), "templates": emit_track1_templates()}
    return {"sas": {"v12_8": emit_v12_8, "legacy": emit_legacy}[generation]()}


SECTIONS = ("sas", "sharedKey", "templates")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--emit":
        json.dump(emit(sys.argv[2]), sys.stdout)
        return
    only = sys.argv[2:] if len(sys.argv) > 2 and sys.argv[1] == "--only" else SECTIONS
    vectors = {"account": ACCOUNT, "key1": KEY1, "key2": KEY2, "start": START, "expiry": EXPIRY, "pins": PINS}
    if only != SECTIONS:
        with open(os.path.join(HERE, "vectors.json")) as file:
            vectors = json.load(file)
    for section in only:
        vectors[section] = []
    with tempfile.TemporaryDirectory() as scratch:
        for generation, pins in PINS.items():
            venv = os.path.join(scratch, generation)
            subprocess.run([sys.executable, "-m", "venv", venv], check=True)
            python = os.path.join(venv, "bin", "python")
            subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *pins], check=True)
            output = subprocess.run([python, os.path.abspath(__file__), "--emit", generation], check=True, capture_output=True, text=True)
            emitted = json.loads(output.stdout)
            for section in only:
                vectors[section] += emitted.get(section, [])
    with open(os.path.join(HERE, "vectors.json"), "w") as file:
        json.dump(vectors, file, indent=1, ensure_ascii=False)
        file.write("\n")


if __name__ == "__main__":
    main()
