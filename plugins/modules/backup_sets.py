#!/usr/bin/python
# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: backup_sets
short_description: List backup sets and prune them with daily/weekly/monthly retention
version_added: 0.1.0
author: n8n_ops maintainers (!UNKNOWN)
description:
  - Lists the backup set directories named C(YYYYMMDD_HHMMSS) under O(root). A set is good when its C(manifest.json)
    exists, parses and has C(status=good), see M(n8n_ops.stack.backup_manifest). Files are not hashed again here.
  - Applies retention like restic's C(--keep-daily/--keep-weekly/--keep-monthly). For each of the last N days
    (ISO weeks, months) that have a good set, the newest good set of that period is kept. The newest good set is
    always kept.
  - Over M(ansible.builtin.find) with an age filter it adds safety. Only good sets count towards retention, so
    failed backups can never push good ones out. An incomplete set newer than the newest good set is never removed
    (it may be a backup still running). Entries whose name does not match C(YYYYMMDD_HHMMSS), and anything that is
    not a directory, are never touched. Every decision comes with a reason.
options:
  root:
    description: Directory holding the backup sets.
    type: path
    required: true
  keep_daily:
    description: Keep the newest good set of each of the last N days that have one.
    type: int
    default: 7
  keep_weekly:
    description: Keep the newest good set of each of the last N ISO weeks that have one.
    type: int
    default: 0
  keep_monthly:
    description: Keep the newest good set of each of the last N months that have one.
    type: int
    default: 0
  prune:
    description: Delete the sets in RV(delete). Without it the module only reports.
    type: bool
    default: false
  prune_incomplete:
    description: Also delete incomplete sets older than the newest good set.
    type: bool
    default: true
notes:
  - In check mode nothing is deleted. With O(prune=true) the module reports what would go and C(changed).
  - Set names are read as timestamps without a time zone. Days, weeks and months follow the names.
'''

EXAMPLES = r'''
- name: Keep 7 daily, 4 weekly and 6 monthly backups
  n8n_ops.stack.backup_sets:
    root: /srv/backups
    keep_daily: 7
    keep_weekly: 4
    keep_monthly: 6
    prune: true
  register: sets

- name: Find the newest good backup to restore
  n8n_ops.stack.backup_sets:
    root: /srv/backups
  register: available
'''

RETURN = r'''
sets:
  description: All backup sets found, oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Set name (C(YYYYMMDD_HHMMSS)).
      type: str
    good:
      description: Whether the set has a manifest with C(status=good).
      type: bool
    path:
      description: Absolute path of the set.
      type: str
  sample: [{name: '20261122_020000', good: true, path: /srv/backups/20261122_020000}]
newest_good:
  description: Name of the newest good set, or null when there is none.
  returned: always
  type: str
  sample: '20261123_020000'
keep:
  description: Names of the sets kept, oldest first.
  returned: always
  type: list
  elements: str
  sample: ['20261122_020000', '20261123_020000']
delete:
  description: Names of the sets deleted (or, without O(prune) or in check mode, that would be), oldest first.
  returned: always
  type: list
  elements: str
  sample: ['20261101_020000']
reasons:
  description: Why each set is kept, deleted or ignored.
  returned: always
  type: dict
  sample: {'20261123_020000': 'keep: newest good set, daily 2026-11-23', '20261101_020000': 'delete: not selected by any keep rule'}
'''

import json
import os
import shutil

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.n8n_ops.stack.plugins.module_utils import retention

MANIFEST = 'manifest.json'


def is_good(path):
    try:
        with open(os.path.join(path, MANIFEST), 'rb') as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get('status') == 'good'


def list_sets(root):
    sets = []
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if retention.parse_name(name) is None or os.path.islink(path) or not os.path.isdir(path):
            continue
        sets.append({'name': name, 'good': is_good(path), 'path': path})
    return sets


def main():
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type='path', required=True),
            keep_daily=dict(type='int', default=7),
            keep_weekly=dict(type='int', default=0),
            keep_monthly=dict(type='int', default=0),
            prune=dict(type='bool', default=False),
            prune_incomplete=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    root = os.path.abspath(p['root'])
    if not os.path.isdir(root):
        module.fail_json(msg='backup root does not exist or is not a directory: %s' % root)
    try:
        sets = list_sets(root)
    except OSError as e:
        module.fail_json(msg='cannot list %s: %s' % (root, e))
    try:
        decision = retention.select(sets, p['keep_daily'], p['keep_weekly'], p['keep_monthly'],
                                    prune_incomplete=p['prune_incomplete'])
    except ValueError as e:
        module.fail_json(msg=str(e))

    result = dict(changed=False, sets=sets, newest_good=decision['newest_good'], keep=decision['keep'],
                  delete=decision['delete'], reasons=decision['reasons'])
    if p['prune'] and decision['delete']:
        if decision['newest_good'] in decision['delete']:
            module.fail_json(msg='internal error: refusing to delete the newest good set', **result)
        result['changed'] = True
        if not module.check_mode:
            for name in decision['delete']:
                try:
                    shutil.rmtree(os.path.join(root, name))
                except OSError as e:
                    module.fail_json(msg='deleting %s failed: %s' % (os.path.join(root, name), e), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
