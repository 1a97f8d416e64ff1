#!/usr/bin/python
# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: backup_sets
short_description: List backup sets, pin them and prune them with per-instance retention
version_added: 0.1.0
author: n8n_ops maintainers (!UNKNOWN)
description:
  - Lists the backup set directories named C(YYYYMMDD_HHMMSS) under O(root). A set is good when its C(manifest.json)
    exists, parses and has C(status=good), see M(n8n_ops.stack.backup_manifest). Files are not hashed again here.
  - Applies retention like restic's C(--keep-last/--keep-within/--keep-daily/--keep-weekly/--keep-monthly), grouped
    by the C(instance_id) of each manifest. Every rule applies to each instance on its own, so the backups of a new
    n8n instance never push out those of the previous one. The newest good set of every instance is always kept.
  - Over M(ansible.builtin.find) with an age filter it adds safety. Only good sets count towards retention, so
    failed backups can never push good ones out. An incomplete set newer than the newest good set is never removed
    (it may be a backup still running). Pinned sets are never removed. Entries whose name does not match
    C(YYYYMMDD_HHMMSS), and anything that is not a directory, are never touched. Every decision comes with a reason.
options:
  root:
    description: Directory holding the backup sets.
    type: path
    required: true
  keep_last:
    description: Keep the N newest good sets of each instance.
    type: int
    default: 0
  keep_within:
    description:
      - Keep every good set made within this duration of the newest good set of the same instance, for example
        C(36h), C(7d), C(2w), C(3m) (30 days), C(1y) (365 days) or C(1d12h) (each unit at most once).
      - Measured from the newest set, not from now, so sets never expire while backups are not running.
      - An empty string disables the rule.
    type: str
    default: ''
  keep_daily:
    description: Keep the newest good set of each of the last N days that have one, per instance.
    type: int
    default: 7
  keep_weekly:
    description: Keep the newest good set of each of the last N ISO weeks that have one, per instance.
    type: int
    default: 0
  keep_monthly:
    description: Keep the newest good set of each of the last N months that have one, per instance.
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
  prune_other_instances:
    description:
      - Protect only the newest good set of O(current_instance). Sets of other instances are then kept only by the
        keep rules (still applied per instance) or a pin, so with all keep counts at 0 they are all deleted.
      - Requires O(current_instance).
    type: bool
    default: false
  current_instance:
    description: Instance id of the running n8n (the C(n8n_ops.stack.n8n_instance_id) filter of its encryption key).
    type: str
  pin:
    description:
      - Names of sets (good or incomplete) to pin. A pinned set has a file named C(PINNED) and is never deleted.
      - Each name must be an existing set, else the module fails before changing anything.
    type: list
    elements: str
    default: []
  unpin:
    description: Names of sets to unpin (their C(PINNED) file is removed).
    type: list
    elements: str
    default: []
notes:
  - In check mode nothing is deleted, pinned or unpinned. The module reports what would change and C(changed).
  - Pins and unpins are applied before retention is decided, so a set pinned in the same task is kept.
  - Sets without an C(instance_id) in their manifest (incomplete sets, or sets made before instance ids were
    recorded) form one group, reported as C(unknown).
  - Incomplete sets are judged against the newest good set of any instance.
  - Set names are read as timestamps without a time zone. Days, weeks, months and O(keep_within) follow the names.
'''

EXAMPLES = r'''
- name: Keep 7 daily, 4 weekly and 6 monthly backups of every instance
  n8n_ops.stack.backup_sets:
    root: /srv/backups
    keep_daily: 7
    keep_weekly: 4
    keep_monthly: 6
    prune: true
  register: sets

- name: Keep everything from the last 2 days plus the 3 newest sets of every instance
  n8n_ops.stack.backup_sets:
    root: /srv/backups
    keep_within: 2d
    keep_last: 3
    prune: true

- name: Pin the set taken before an upgrade so that retention never deletes it
  n8n_ops.stack.backup_sets:
    root: /srv/backups
    pin:
      - '20261123_093000'

- name: Prune the sets of old instances by the rules, protecting only the current instance's newest set
  n8n_ops.stack.backup_sets:
    root: /srv/backups
    keep_daily: 0
    keep_monthly: 1
    prune_other_instances: true
    current_instance: "{{ n8n_encryption_key | n8n_ops.stack.n8n_instance_id }}"
    prune: true

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
    instance_id:
      description: C(instance_id) from the set's manifest, or null when it has none.
      type: str
    pinned:
      description: Whether the set is pinned (after O(pin) and O(unpin)).
      type: bool
    path:
      description: Absolute path of the set.
      type: str
  sample: [{name: '20261122_020000', good: true, instance_id: 'a3f5...', pinned: false,
            path: /srv/backups/20261122_020000}]
newest_good:
  description: Name of the newest good set of any instance, or null when there is none.
  returned: always
  type: str
  sample: '20261123_020000'
newest_good_by_instance:
  description: Name of the newest good set of each instance, by instance id (C(unknown) for sets without one).
  returned: always
  type: dict
  sample: {'a3f5c0e1d2b4...': '20261120_020000', 'unknown': '20261001_020000'}
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
  sample: {'20261123_020000': 'keep: newest good set of instance a3f5c0e1d2b4, daily 2026-11-23',
           '20261101_020000': 'delete: not selected by any keep rule'}
'''

import json
import os
import shutil
from datetime import datetime, timezone

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.n8n_ops.stack.plugins.module_utils import retention

MANIFEST = 'manifest.json'
PIN_FILE = 'PINNED'


def read_manifest(path):
    try:
        with open(os.path.join(path, MANIFEST), 'rb') as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def list_sets(root):
    sets = []
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if retention.parse_name(name) is None or os.path.islink(path) or not os.path.isdir(path):
            continue
        manifest = read_manifest(path)
        instance_id = manifest.get('instance_id')
        sets.append({'name': name, 'good': manifest.get('status') == 'good',
                     'instance_id': instance_id if isinstance(instance_id, str) and instance_id else None,
                     # lexists: anything named PINNED protects the set, even a dangling symlink
                     'pinned': os.path.lexists(os.path.join(path, PIN_FILE)), 'path': path})
    return sets


def pin_changes(module, sets):
    """Validate O(pin)/O(unpin); return [(set, pinned)] for the sets whose pin state changes."""
    pin, unpin = module.params['pin'], module.params['unpin']
    bad = [n for n in pin + unpin if retention.parse_name(n) is None]
    if bad:
        module.fail_json(msg='pin/unpin: not a set name (YYYYMMDD_HHMMSS): %s' % ', '.join(map(repr, bad)))
    both = sorted(set(pin) & set(unpin))
    if both:
        module.fail_json(msg='pin/unpin: sets listed in both: %s' % ', '.join(both))
    by_name = dict((s['name'], s) for s in sets)
    missing = [n for n in pin + unpin if n not in by_name]
    if missing:
        module.fail_json(msg='pin/unpin: no backup set named %s in %s; available sets: %s'
                         % (', '.join(missing), module.params['root'], ', '.join(sorted(by_name)) or '(none)'))
    wanted = dict([(n, True) for n in pin] + [(n, False) for n in unpin])
    return [(by_name[n], pinned) for n, pinned in sorted(wanted.items()) if by_name[n]['pinned'] != pinned]


def set_pin(path, pinned):
    pin_path = os.path.join(path, PIN_FILE)
    if pinned:
        with open(pin_path, 'w') as f:
            f.write('pinned by n8n_ops.stack.backup_sets at %s\n'
                    % datetime.now(timezone.utc).isoformat(timespec='seconds'))
    else:
        os.remove(pin_path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type='path', required=True),
            keep_daily=dict(type='int', default=7),
            keep_weekly=dict(type='int', default=0),
            keep_monthly=dict(type='int', default=0),
            keep_last=dict(type='int', default=0),
            keep_within=dict(type='str', default=''),
            prune=dict(type='bool', default=False),
            prune_incomplete=dict(type='bool', default=True),
            prune_other_instances=dict(type='bool', default=False),
            current_instance=dict(type='str'),
            pin=dict(type='list', elements='str', default=[]),
            unpin=dict(type='list', elements='str', default=[]),
        ),
        required_if=[('prune_other_instances', True, ('current_instance',))],
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

    # Decide with the pins as they will be, but write nothing before the parameters are known to be valid.
    changes = pin_changes(module, sets)
    for s, pinned in changes:
        s['pinned'] = pinned
    try:
        decision = retention.select(sets, p['keep_daily'], p['keep_weekly'], p['keep_monthly'],
                                    keep_last=p['keep_last'], keep_within=p['keep_within'],
                                    prune_incomplete=p['prune_incomplete'],
                                    prune_other_instances=p['prune_other_instances'],
                                    current_instance=p['current_instance'])
    except ValueError as e:
        module.fail_json(msg=str(e))

    by_instance = decision['newest_good_by_instance']
    result = dict(changed=bool(changes), sets=sets, newest_good=decision['newest_good'],
                  newest_good_by_instance=by_instance, keep=decision['keep'], delete=decision['delete'],
                  reasons=decision['reasons'])
    if p['prune_other_instances'] and by_instance and p['current_instance'] not in by_instance:
        module.warn('no good set of current_instance %s in %s: the newest good set of no instance is protected, '
                    'only the keep rules and pins decide' % (p['current_instance'], root))
    if not module.check_mode:
        for s, pinned in changes:
            try:
                set_pin(s['path'], pinned)
            except OSError as e:
                module.fail_json(msg='%s %s failed: %s' % ('pinning' if pinned else 'unpinning', s['path'], e),
                                 **result)

    if p['prune'] and decision['delete']:
        protected = [by_instance.get(p['current_instance'])] if p['prune_other_instances'] else by_instance.values()
        if set(protected) & set(decision['delete']):
            module.fail_json(msg='internal error: refusing to delete the newest good set of a protected instance',
                             **result)
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
