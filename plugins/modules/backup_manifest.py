#!/usr/bin/python
# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: backup_manifest
short_description: Write or verify the checksummed manifest of a backup set directory
version_added: 0.1.0
author: n8n_ops maintainers (!UNKNOWN)
description:
  - A backup set is a directory of files, for example a database dump, a Redis snapshot and config files.
    Its C(manifest.json) records the sha256 and size of every file and marks the set as good.
  - Over M(ansible.builtin.stat) with checksums or a shell C(sha256sum) task it adds a recursive, deterministic
    listing and metadata. The manifest is written atomically (fsynced partial file, then rename), so a set is good
    only after all its files are complete. Verification reports missing, extra and changed files.
  - With O(state=finalize) every regular file in O(path) is hashed. Files are found recursively, C(manifest.json)
    itself and the C(PINNED) mark of M(n8n_ops.stack.backup_sets) are excluded and symlinks are not followed.
    All files are fsynced before the manifest is written. The result is merged with O(metadata) and written as
    C(manifest.json) with C(status=good). An identical existing manifest is left alone (C(changed=false)).
  - With O(state=verify) the files are hashed again and compared with the manifest. The module fails on any
    difference and lists it.
options:
  path:
    description: The backup set directory.
    type: path
    required: true
  state:
    description: V(finalize) writes the manifest, V(verify) checks the set against it.
    type: str
    choices: [finalize, verify]
    required: true
  metadata:
    description:
      - Extra top-level keys for the manifest with O(state=finalize), for example C(n8n_version), C(postgres_version)
        and C(instance_id). Values must be JSON-serializable.
      - Secrets are refused. A key containing C(password) or equal to C(encryption_key) fails. So does a key the
        manifest uses itself (C(set), C(created), C(status), C(files), C(manifest_version)).
    type: dict
    default: {}
notes:
  - O(state=finalize) fails if the set still contains a C(.NAME.partial) file, the sign of an unfinished or failed
    write.
'''

EXAMPLES = r'''
- name: Mark the backup set as good
  n8n_ops.stack.backup_manifest:
    path: /srv/backups/20261123_020000
    state: finalize
    metadata:
      n8n_version: 2.41.1
      postgres_version: "{{ dump.server_version }}"
      instance_id: "{{ n8n_instance_id }}"

- name: Verify a set before restoring it
  n8n_ops.stack.backup_manifest:
    path: /srv/backups/20261123_020000
    state: verify
'''

RETURN = r'''
manifest:
  description: The manifest content (written, or read and verified).
  returned: success
  type: dict
  sample:
    manifest_version: 1
    set: '20261123_020000'
    status: good
    created: '2026-11-23T02:00:41+00:00'
    n8n_version: 2.41.1
    files:
      n8n.dump: {sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08, bytes: 1048576}
mismatched:
  description: With O(state=verify), files whose size or sha256 differ from the manifest.
  returned: when state=verify
  type: list
  elements: str
  sample: [n8n.dump]
missing:
  description: With O(state=verify), files listed in the manifest but absent.
  returned: when state=verify
  type: list
  elements: str
  sample: []
extra:
  description: With O(state=verify), files present but not listed in the manifest.
  returned: when state=verify
  type: list
  elements: str
  sample: []
'''

import json
import os
from datetime import datetime, timezone

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.n8n_ops.stack.plugins.module_utils import fileutil

MANIFEST = 'manifest.json'
# Written by backup_sets (pin/unpin) after the set was finalized; not part of the set's content.
NOT_CONTENT = (MANIFEST, 'PINNED')
MANIFEST_VERSION = 1
RESERVED = ('set', 'created', 'status', 'files', 'manifest_version')


def check_metadata(metadata):
    """Return an error message for a forbidden metadata key, or None."""
    for key in metadata:
        lowered = str(key).lower()
        if 'password' in lowered or lowered == 'encryption_key':
            return 'metadata key %r looks like a secret; secrets must not go into the manifest' % key
        if lowered in RESERVED:
            return 'metadata key %r is reserved for the manifest itself' % key
    return None


def scan(path):
    """{relpath: {sha256, bytes}} for every regular file of the set except the manifest."""
    files = {}
    for relpath, abspath in fileutil.walk_files(path):
        if relpath in NOT_CONTENT:
            continue
        files[relpath] = {'sha256': fileutil.sha256_file(abspath), 'bytes': os.path.getsize(abspath)}
    return files


def partial_files(path):
    return [os.path.relpath(os.path.join(d, n), path) for d, dirs, names in os.walk(path)
            for n in names + dirs if fileutil.is_partial_name(n)]


def read_manifest(path):
    with open(os.path.join(path, MANIFEST), 'rb') as f:
        manifest = json.load(f)
    if not isinstance(manifest, dict) or not isinstance(manifest.get('files'), dict):
        raise ValueError('manifest.json is not a manifest object with a files map')
    return manifest


def compare(expected, actual):
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    mismatched = sorted(name for name in set(expected) & set(actual) if expected[name] != actual[name])
    return mismatched, missing, extra


def finalize(module, path):
    metadata = module.params['metadata'] or {}
    error = check_metadata(metadata)
    if error:
        module.fail_json(msg=error)
    leftovers = partial_files(path)
    if leftovers:
        module.fail_json(msg='backup set has unfinished partial files: %s' % ', '.join(sorted(leftovers)))
    files = scan(path)
    try:
        old = read_manifest(path)
    except (OSError, ValueError):
        old = None
    wanted = dict(metadata)
    wanted.update(manifest_version=MANIFEST_VERSION, set=os.path.basename(path), status='good', files=files)
    if old is not None and all(old.get(k) == v for k, v in wanted.items()) and set(old) == set(wanted) | {'created'}:
        module.exit_json(changed=False, manifest=old)
    wanted['created'] = datetime.now(timezone.utc).isoformat(timespec='seconds')
    manifest = dict(sorted(wanted.items()))
    try:
        data = (json.dumps(manifest, indent=2, sort_keys=True) + '\n').encode('utf-8')
    except TypeError as e:
        module.fail_json(msg='metadata is not JSON-serializable: %s' % e)
    if not module.check_mode:
        # The manifest vouches for the files: they must be on disk before it is.
        fileutil.fsync_tree(path)
        fileutil.atomic_write_bytes(os.path.join(path, MANIFEST), data)
    module.exit_json(changed=True, manifest=manifest)


def verify(module, path):
    try:
        manifest = read_manifest(path)
    except FileNotFoundError:
        module.fail_json(msg='no %s in %s: the set was never finalized' % (MANIFEST, path))
    except (OSError, ValueError) as e:
        module.fail_json(msg='cannot read %s in %s: %s' % (MANIFEST, path, e))
    mismatched, missing, extra = compare(manifest['files'], scan(path))
    result = dict(changed=False, manifest=manifest, mismatched=mismatched, missing=missing, extra=extra)
    problems = ['%s: %s' % (label, ', '.join(names)) for label, names in
                (('mismatched', mismatched), ('missing', missing), ('extra', extra)) if names]
    if manifest.get('status') != 'good':
        problems.insert(0, 'status is %r, not good' % manifest.get('status'))
    if problems:
        module.fail_json(msg='backup set %s failed verification: %s' % (path, '; '.join(problems)), **result)
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            state=dict(type='str', choices=['finalize', 'verify'], required=True),
            metadata=dict(type='dict', default={}),
        ),
        supports_check_mode=True,
    )
    path = os.path.abspath(module.params['path'])
    if not os.path.isdir(path):
        module.fail_json(msg='backup set directory does not exist: %s' % path)
    try:
        if module.params['state'] == 'finalize':
            finalize(module, path)
        else:
            verify(module, path)
    except OSError as e:
        module.fail_json(msg='reading backup set %s failed: %s' % (path, e))


if __name__ == '__main__':
    main()
