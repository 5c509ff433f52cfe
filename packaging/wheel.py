#!/usr/bin/env python3
"""Builds the `coffre` wheel around a built executable, as ruff and uv ship theirs: the binary goes to the wheel's
`scripts` data directory, which pip installs on PATH (`venv/bin/coffre`); a small package carries the license
notices and finds the binary (`python -m coffre`). Standard library only.

    packaging/wheel.py --binary dist/coffre --licenses dist/licenses --version 0.1.0 --out dist
"""
import argparse
import base64
import hashlib
import io
import os
import platform
import re
import stat
import subprocess
import zipfile

NAME = "coffre"
SUMMARY = "Coffre: a key vault server that speaks the Azure Key Vault API (a single static binary)."


def platform_tag(binary):
    """`manylinux_X_Y_ARCH` for the newest glibc symbol version the binary needs (the wheel installs wherever glibc is at
    least that), else the machine's plain `linux_ARCH`."""
    arch = platform.machine()
    try:
        symbols = subprocess.run(["objdump", "-T", binary], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return f"linux_{arch}"
    versions = [tuple(int(part) for part in found.split(".")) for found in re.findall(r"GLIBC_([0-9]+\.[0-9]+)", symbols)]
    if not versions:
        return f"linux_{arch}"
    major, minor = max(versions)[:2]
    return f"manylinux_{major}_{minor}_{arch}"


def record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def build(binary, licenses, version, out):
    tag = platform_tag(binary)
    dist_info = f"{NAME}-{version}.dist-info"
    data_dir = f"{NAME}-{version}.data"
    files = []  # (path in the wheel, bytes, executable)
    with open(binary, "rb") as f:
        files.append((f"{data_dir}/scripts/{NAME}", f.read(), True))
    files.append((f"{NAME}/__init__.py", b'"""The coffre executable, installed on PATH by this wheel."""\n', False))
    files.append((f"{NAME}/__main__.py", MAIN, False))
    for root, _, names in sorted(os.walk(licenses)):
        for name in sorted(names):
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                files.append((f"{dist_info}/licenses/{os.path.relpath(path, licenses)}", f.read(), False))
    metadata = (
        f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {version}\nSummary: {SUMMARY}\nLicense: Apache-2.0\n"
        "Requires-Python: >=3.8\nDescription-Content-Type: text/markdown\n\n"
        "`pip install coffre` gives a `coffre` command: `coffre serve --ephemeral --dev --port 0 --env-file F` starts an "
        "in-memory Key Vault for tests. The binary needs glibc, libstdc++, zlib, OpenSSL 3's libcrypto and SQLite 3 from the system.\n"
    ).encode()
    wheel = f"Wheel-Version: 1.0\nGenerator: coffre-packaging\nRoot-Is-Purelib: false\nTag: py3-none-{tag}\n".encode()
    files.append((f"{dist_info}/METADATA", metadata, False))
    files.append((f"{dist_info}/WHEEL", wheel, False))
    record = [record_line(path, data) for path, data, _ in files] + [f"{dist_info}/RECORD,,"]
    files.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode(), False))

    os.makedirs(out, exist_ok=True)
    target = os.path.join(out, f"{NAME}-{version}-py3-none-{tag}.whl")
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as wheel_zip:
        for path, data, executable in files:
            info = zipfile.ZipInfo(path, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            wheel_zip.writestr(info, data)
    return target


MAIN = b'''"""`python -m coffre ...` runs the coffre executable this wheel installed."""
import os
import sys
import sysconfig


def main():
    binary = os.path.join(sysconfig.get_path("scripts"), "coffre")
    os.execv(binary, [binary] + sys.argv[1:])


if __name__ == "__main__":
    main()
'''


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--licenses", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--out", required=True)
    arguments = parser.parse_args()
    print(build(arguments.binary, arguments.licenses, arguments.version, arguments.out))
