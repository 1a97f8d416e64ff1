#!/usr/bin/python
# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: backup_lock
short_description: Take or release the lock that keeps backups and restores from running at the same time
version_added: 0.1.0
author: n8n_ops maintainers (!UNKNOWN)
description:
  - The lock is a directory, for example C(/var/backups/n8n/.lock), holding an C(owner.json) record with a random
    token, the purpose, the PID and host of the owning run and its start time.
  - Over a plain C(mkdir) and a stat-then-remove of an old lock it adds owner records, safe stale-lock breaking
    and token-checked release. Every change happens under an exclusive C(flock) on the sibling file
    C(<path>.guard) (created with mode 0600 and kept), held only while the module runs. So two runs can never both
    break a stale lock and both go on.
  - With O(state=present) the lock is taken and its token returned. A held lock fails the task with a message that
    starts with C(Another backup or restore is running:).
  - A lock is stale when it is older than O(stale_hours), or when it was taken on this host by a process whose
    recorded PID no longer exists. A lock without a readable C(owner.json) (for example from an older version of the
    role) has an unknown owner and its age is the directory's mtime. A stale lock is renamed to
    C(<path>.broken-<UTC time>-<random>) for forensics and a fresh lock is taken. Such renamed locks older than
    7 days are removed whenever the lock is taken.
  - With O(state=absent) the lock is removed only if its C(owner.json) carries O(token). The lock of another run,
    or one with an unknown owner, is left in place with a warning.
options:
  path:
    description: The lock directory. Its parent directory must exist.
    type: path
    required: true
  state:
    description: V(present) takes the lock, V(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
  stale_hours:
    description: A lock older than this many hours is stale and is broken. Must be greater than 0.
    type: float
    default: 12.0
  token:
    description:
      - The token returned when the lock was taken. Required with O(state=absent).
      - Not a secret, it only proves which run owns the lock.
    type: str
  purpose:
    description: What holds the lock, for example V(backup) or V(restore). Recorded in the lock and shown to others.
    type: str
    default: backup
  pid:
    description:
      - PID of the process on this host that owns the run, for example the cron wrapper's C($$). Recorded in the lock.
      - When that process no longer exists the lock is broken without waiting for O(stale_hours). Without O(pid) only
        the age counts.
      - Do not pass the PID of a process that ends before the run does.
    type: int
notes:
  - In check mode nothing is created, renamed or removed, and no guard is taken. O(state=present) reports whether it
    would take or break the lock and returns no token. It fails like a real run when the lock is held.
  - A recycled PID keeps a dead run's lock looking alive. Then only O(stale_hours) breaks it.
'''

EXAMPLES = r'''
- name: Take the backup lock
  n8n_ops.stack.backup_lock:
    path: /var/backups/n8n/.lock
    purpose: backup
    pid: "{{ backup_wrapper_pid | default(omit) }}"
    stale_hours: 12
  check_mode: false
  register: backup_lock

- name: Release the backup lock
  n8n_ops.stack.backup_lock:
    path: /var/backups/n8n/.lock
    state: absent
    token: "{{ backup_lock.token }}"
  check_mode: false
'''

RETURN = r'''
lock:
  description: Absolute path of the lock directory.
  returned: always
  type: str
  sample: /var/backups/n8n/.lock
token:
  description: Token of the lock taken. Pass it as O(token) to release the lock. V(null) in check mode.
  returned: when state=present
  type: str
  sample: 3f9a1c2b7d4e5f60718293a4b5c6d7e8
owner:
  description:
    - With O(state=present), the owner record written (in check mode, the one that would be written).
    - With O(state=absent), the owner record found, V(null) when there was no lock or its owner is unknown.
    - When the task fails because the lock is held, the holder's record (V(null) when unknown).
  returned: always
  type: dict
  sample:
    token: 3f9a1c2b7d4e5f60718293a4b5c6d7e8
    purpose: backup
    pid: 4242
    host: backup-host
    started: '2026-11-23T02:00:00+00:00'
    started_epoch: 1795399200.0
broke_stale:
  description:
    - The stale lock that was broken (or would be, in check mode), V(null) when none was.
    - C(owner) is its owner record (V(null) when unknown), C(reason) why it was stale and C(moved_to) where it was
      moved (V(null) in check mode).
  returned: when state=present
  type: dict
  sample:
    owner: {token: 0a1b2c3d4e5f60718293a4b5c6d7e8f9, purpose: backup, pid: 4100, host: backup-host,
            started: '2026-11-22T02:00:00+00:00', started_epoch: 1795312800.0}
    reason: process 4100 on backup-host is gone
    moved_to: /var/backups/n8n/.lock.broken-20261123T020000Z-5e6f7a8b
removed_broken:
  description: Broken locks older than 7 days that were removed.
  returned: when state=present
  type: list
  elements: str
  sample: [/var/backups/n8n/.lock.broken-20261101T020000Z-1a2b3c4d]
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.n8n_ops.stack.plugins.module_utils import lockdir


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            stale_hours=dict(type='float', default=12.0),
            token=dict(type='str', no_log=False),
            purpose=dict(type='str', default='backup'),
            pid=dict(type='int'),
        ),
        required_if=[('state', 'absent', ['token'])],
        supports_check_mode=True,
    )
    p = module.params
    path = os.path.abspath(p['path'])
    # not 'path': AnsibleModule would add the directory's stat (owner, mode, state...) to a result with that key
    result = dict(changed=False, lock=path, owner=None)
    if p['stale_hours'] <= 0:
        module.fail_json(msg='stale_hours must be > 0', **result)
    if p['pid'] is not None and p['pid'] <= 0:
        module.fail_json(msg='pid must be > 0', **result)
    if not os.path.isdir(os.path.dirname(path)):
        if p['state'] == 'absent':
            module.exit_json(**result)
        module.fail_json(msg='parent directory of the lock does not exist: %s' % os.path.dirname(path), **result)

    try:
        if p['state'] == 'present':
            result.update(lockdir.acquire(path, p['stale_hours'], p['purpose'], p['pid'], module.check_mode))
        else:
            released, warning = lockdir.release(path, p['token'], module.check_mode)
            result.update(released)
            if warning:
                module.warn(warning)
    except lockdir.LockHeld as e:
        result['owner'] = e.owner
        module.fail_json(msg=str(e), **result)
    except (lockdir.LockError, OSError) as e:
        action = 'taking' if p['state'] == 'present' else 'releasing'
        module.fail_json(msg='%s lock %s failed: %s' % (action, path, e), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
