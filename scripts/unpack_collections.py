"""Unpack named collections from the `ansible` wheel into DEST/ansible_collections/<ns>/<name>."""
import os
import sys
import zipfile

wheel, dest, names = sys.argv[1], sys.argv[2], sys.argv[3:]
prefixes = {"ansible_collections/%s/" % n.replace(".", "/"): n for n in names}
found = set()
with zipfile.ZipFile(wheel) as zf:
    for info in zf.infolist():
        for prefix, name in prefixes.items():
            if info.filename.startswith(prefix):
                found.add(name)
                zf.extract(info, dest)
                mode = (info.external_attr >> 16) & 0o777
                if mode and not info.is_dir():
                    os.chmod(os.path.join(dest, info.filename), mode)
missing = set(names) - found
if missing:
    sys.exit("not in %s: %s" % (os.path.basename(wheel), ", ".join(sorted(missing))))
print("unpacked: " + ", ".join(sorted(found)))
