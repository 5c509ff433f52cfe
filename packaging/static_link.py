#!/usr/bin/env python3
"""Links an existing SwiftPM build of `coffre` again, with the Swift runtime inside (`-static-stdlib`), into another file.

SwiftPM's own `--static-swift-stdlib` recompiles modules and leaves their objects fit only for static links, so a
following ordinary build no longer links. This runs SwiftPM's own link command for the product (read from the build
manifest, `.build/{configuration}.yaml`) with the output changed and the static runtime added: only a link, nothing
in the build folder changes.

    packaging/static_link.py --manifest .build/debug.yaml --binary .build/debug/coffre --out dist/coffre
"""
import argparse
import json
import os
import re
import subprocess

# What static Foundation needs beyond what the objects name (dynamic Foundation carries these inside itself).
FOUNDATION_STATIC = ["-lCoreFoundation", "-l_FoundationICU", "-l_FoundationCShims", "-l_FoundationCollections"]


def link_arguments(manifest, binary):
    """The arguments of the manifest's command whose only output is `binary` (SwiftPM writes them as a JSON list)."""
    text = open(manifest).read()
    outputs = f'outputs: [{json.dumps(binary)}]'
    for command in text.split("\n\n"):
        if outputs in command and 'description: "Linking' in command:
            found = re.search(r"^\s*args: (\[.*\])\s*$", command, re.MULTILINE)
            if found:
                return json.loads(found.group(1))
    raise SystemExit(f"no link command for {binary} in {manifest}: build it first")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--binary", required=True, help="the product as SwiftPM links it (its absolute path)")
    parser.add_argument("--out", required=True)
    options = parser.parse_args()
    arguments = link_arguments(options.manifest, os.path.realpath(options.binary))
    output = arguments.index("-o") + 1
    arguments[output] = os.path.abspath(options.out)
    # No rpath: the binary carries the runtime and must not look for one beside itself.
    arguments = [a for i, a in enumerate(arguments) if not a.startswith("-rpath=") and not (a == "-Xlinker" and i + 1 < len(arguments)
                                                                                          and arguments[i + 1].startswith("-rpath="))]
    subprocess.run(arguments + ["-static-stdlib"] + FOUNDATION_STATIC, check=True)


if __name__ == "__main__":
    main()
