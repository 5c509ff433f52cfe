"""SoftHSM2 tokens of a test's own: a temporary directory with its configuration, tokens, PIN files, and the backup
wrapping keys made by `coffre pkcs11 create-backup-key`; `pkcs11-tool` (OpenSC) to look inside."""
import os
import shutil
import subprocess
import tempfile

from coffre_process import BINARY

MODULE_CANDIDATES = ["/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
                     "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"]


class SoftHSM:
    PIN = "4321-user"
    SO_PIN = "8765-officer"

    def __init__(self):
        self.module = os.environ.get("COFFRE_SOFTHSM_MODULE") or next((m for m in MODULE_CANDIDATES if os.path.exists(m)), None)
        if self.module is None:
            raise RuntimeError("SoftHSM2 is not installed (Debian: apt-get install softhsm2 opensc); scripts/test installs it")
        self.directory = tempfile.mkdtemp(prefix="coffre-softhsm-")
        os.makedirs(os.path.join(self.directory, "tokens"))
        self.conf = os.path.join(self.directory, "softhsm2.conf")
        with open(self.conf, "w") as f:
            f.write(f"directories.tokendir = {self.directory}/tokens\nobjectstore.backend = file\nlog.level = ERROR\n")
        self.pin_file = self._secret_file("pin", self.PIN)
        self.so_pin_file = self._secret_file("so-pin", self.SO_PIN)
        self.env = {"SOFTHSM2_CONF": self.conf}

    def _secret_file(self, name, content):
        path = os.path.join(self.directory, name)
        with open(path, "w") as f:
            f.write(content + "\n")
        os.chmod(path, 0o600)
        return path

    def _run(self, command):
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=dict(os.environ, **self.env))
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {result.stdout}{result.stderr}")
        return result.stdout

    def init_token(self, label, backup_key=None):
        """A token; with `backup_key` (32 bytes), its trusted backup wrapping key of that value."""
        self._run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", self.PIN, "--so-pin", self.SO_PIN])
        if backup_key is not None:
            value_file = os.path.join(self.directory, f"backup-key-{label}")
            with open(value_file, "wb") as f:
                f.write(backup_key)
            self._run([BINARY, "pkcs11", "create-backup-key", "--pkcs11-module", self.module, "--pkcs11-token-label", label,
                       "--so-pin-file", self.so_pin_file, "--value-file", value_file])
            os.remove(value_file)
        return label

    def serve_args(self, label, pin_file=None):
        return ["--pkcs11-module", self.module, "--pkcs11-token-label", label, "--pkcs11-pin-file", pin_file or self.pin_file]

    def tool(self, label, *args):
        """pkcs11-tool on a token, logged in as the user."""
        return self._run(["pkcs11-tool", "--module", self.module, "--token-label", label, "--login", "--pin", self.PIN, *args])

    def objects(self, label, kind):
        """The objects `pkcs11-tool --list-objects --type kind` shows (privkey, secrkey): [{"type", "label", "id", "access",
        "usage"}]."""
        header = {"privkey": "Private Key Object", "secrkey": "Secret Key Object"}[kind]
        objects = []
        for line in self.tool(label, "--list-objects", "--type", kind).splitlines():
            if line.startswith(header):
                objects.append({"type": line.split(";")[1].strip()})
            elif objects and ":" in line:
                field, _, value = line.strip().partition(":")
                objects[-1][field.strip()] = value.strip()
        return objects

    def private_keys(self, label):
        """The private key objects: {label: {"type", "id", "access", "usage"}}."""
        return {listed["label"]: listed for listed in self.objects(label, "privkey") if "label" in listed}

    def cleanup(self):
        shutil.rmtree(self.directory, ignore_errors=True)
