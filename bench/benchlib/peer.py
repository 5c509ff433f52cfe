"""The peer a developer would otherwise run locally: moto's server (PyPI `moto[server]`), plain HTTP on loopback.

moto does not check SigV4 signatures, so every request carries a static, well-formed Authorization header; the
credential scope in it tells moto which service (and region) is meant.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import urllib.request

from . import procs
from .wrk import Load

_DATE = "20260101T000000Z"


def moto_server_binary(venv: str) -> str:
    """`moto_server` from PATH, or from a venv the harness creates (pip install 'moto[server]')."""
    found = shutil.which("moto_server")
    if found:
        return found
    binary = os.path.join(venv, "bin", "moto_server")
    if not os.path.exists(binary):
        print("installing moto[server] into", venv)
        subprocess.run([sys.executable, "-m", "venv", venv], check=True, timeout=300)
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "moto[server]"], check=True, timeout=900)
    return binary


def version(binary: str) -> str:
    python = os.path.join(os.path.dirname(binary), "python")
    python = python if os.path.exists(python) else sys.executable
    done = procs.run([python, "-c", "import moto; print(moto.__version__)"], timeout=60)
    return done.stdout.strip() or "unknown"


def headers(service: str, target: str, port: int) -> dict:
    return {
        "Host": f"127.0.0.1:{port}",
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": target,
        "X-Amz-Date": _DATE,
        "Authorization": (f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{_DATE[:8]}/us-east-1/{service}/aws4_request, "
                          "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0" * 64),
    }


class Moto:
    def __init__(self, binary: str, workdir: str):
        self.port = procs.free_port()
        log = os.path.join(workdir, "moto.log")
        self.process = procs.start("moto_server", [binary, "-H", "127.0.0.1", "-p", str(self.port)], log)
        procs.wait_until(lambda: urllib.request.urlopen(f"{self.base_url}/moto-api/", timeout=2).status == 200,
                         60, "moto_server", self.process, log)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(self, service: str, target: str, body: dict) -> dict:
        request = urllib.request.Request(self.base_url + "/", data=json.dumps(body).encode(), method="POST",
                                         headers=headers(service, target, self.port))
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")

    def prepare(self) -> dict[str, Load]:
        """Creates what the operations need (a secret, RSA and EC signing keys, RSA and AES encryption keys) and
        returns one load per moto operation that a Coffre scenario is compared with."""
        self.call("secretsmanager", "secretsmanager.CreateSecret", {"Name": "bench-get", "SecretString": "x" * 32})
        for index in range(30):  # a full page to list
            self.call("secretsmanager", "secretsmanager.CreateSecret", {"Name": f"bench-list-{index}", "SecretString": "x" * 32})
        loads = {
            "moto GetSecretValue": self.load("secretsmanager", "secretsmanager.GetSecretValue", {"SecretId": "bench-get"}),
            "moto CreateSecret": self.load("secretsmanager", "secretsmanager.CreateSecret",
                                           {"Name": "bench-set-{n}", "SecretString": "x" * 32}),
            "moto ListSecrets": self.load("secretsmanager", "secretsmanager.ListSecrets", {"MaxResults": 25}),
            "moto KMS CreateKey EC": self.load("kms", "TrentService.CreateKey", {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"}),
        }
        digest = base64.b64encode(os.urandom(32)).decode()
        for label, spec, algorithm in [("RSA", "RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256"), ("EC", "ECC_NIST_P256", "ECDSA_SHA_256")]:
            key = self.call("kms", "TrentService.CreateKey", {"KeySpec": spec, "KeyUsage": "SIGN_VERIFY"})["KeyMetadata"]["KeyId"]
            body = {"KeyId": key, "Message": digest, "MessageType": "DIGEST", "SigningAlgorithm": algorithm}
            self.call("kms", "TrentService.Sign", body)  # fails here, not under load, if moto refuses it
            loads[f"moto KMS Sign {label}"] = self.load("kms", "TrentService.Sign", body)
        data_key = base64.b64encode(os.urandom(32)).decode()
        for label, spec, algorithm in [("RSA", "RSA_2048", "RSAES_OAEP_SHA_256"), ("AES", "SYMMETRIC_DEFAULT", "SYMMETRIC_DEFAULT")]:
            key = self.call("kms", "TrentService.CreateKey", {"KeySpec": spec, "KeyUsage": "ENCRYPT_DECRYPT"})["KeyMetadata"]["KeyId"]
            encrypted = self.call("kms", "TrentService.Encrypt", {"KeyId": key, "Plaintext": data_key, "EncryptionAlgorithm": algorithm})
            body = {"KeyId": key, "CiphertextBlob": encrypted["CiphertextBlob"], "EncryptionAlgorithm": algorithm}
            self.call("kms", "TrentService.Decrypt", body)
            loads[f"moto KMS Decrypt {label}"] = self.load("kms", "TrentService.Decrypt", body)
        return loads

    def load(self, service: str, target: str, body: dict) -> Load:
        return Load(self.base_url, "/", "POST", headers(service, target, self.port), json.dumps(body).encode())
