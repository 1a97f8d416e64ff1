#!/usr/bin/python
# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: redis_snapshot
short_description: Take a fresh Redis RDB snapshot in a container and copy it to a verified, checksummed file
version_added: 0.1.0
author: n8n_ops maintainers (!UNKNOWN)
description:
  - Issues C(BGSAVE) in a running Redis container with C(docker exec redis-cli) and waits until that snapshot has
    finished and succeeded. It then streams the RDB file to the Docker host.
  - Over a plain shell task (C(redis-cli BGSAVE; docker cp)) it adds waiting for completion. C(LASTSAVE) must
    advance, no background save may be in progress, and C(rdb_last_bgsave_status) must be V(ok). A save already in
    progress is waited for and then BGSAVE is issued again. It also adds atomic publishing, an RDB magic check and a
    sha256.
  - The file is written as C(.NAME.partial) next to O(dest) and renamed to O(dest) only when complete. On any failure
    the partial file is removed.
extends_documentation_fragment:
  - n8n_ops.stack.container
options:
  password:
    description:
      - Redis password (C(requirepass)).
      - Given to redis-cli as C(REDISCLI_AUTH) in the environment of C(docker exec -e REDISCLI_AUTH). It never appears
        on a command line.
    type: str
  dest:
    description: Final path of the RDB file on the Docker host. Its parent directory must exist and it must not exist yet.
    type: path
    required: true
  timeout:
    description: Seconds to wait for the snapshot to complete, including waiting for a save already in progress.
    type: float
    default: 120
  poll_interval:
    description: Seconds between C(LASTSAVE)/C(INFO persistence) polls.
    type: float
    default: 0.5
notes:
  - The RDB path comes from C(CONFIG GET dir) and C(CONFIG GET dbfilename). If C(CONFIG) is unavailable (renamed or
    ACL), C(/data/dump.rdb) is used.
  - In check mode only the read-only C(LASTSAVE) runs. The other commands are listed in RV(commands).
  - The snapshot file is created with mode 0600.
'''

EXAMPLES = r'''
- name: Snapshot the n8n queue Redis
  n8n_ops.stack.redis_snapshot:
    container: n8n-redis-1
    password: "{{ n8n_redis_password }}"
    dest: /srv/backups/20261123_020000/redis.rdb
  register: rdb
'''

RETURN = r'''
dest:
  description: Final path of the snapshot.
  returned: always
  type: str
  sample: /srv/backups/20261123_020000/redis.rdb
bytes:
  description: Size of the copied RDB file.
  returned: success
  type: int
  sample: 18324
sha256:
  description: sha256 of the copied RDB file.
  returned: success
  type: str
  sample: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
lastsave:
  description: C(LASTSAVE) (unix time) of the snapshot that was copied.
  returned: success
  type: int
  sample: 1795461333
seconds:
  description: Wall time of snapshot and copy.
  returned: success
  type: float
  sample: 0.84
commands:
  description: Command lines run (or, in check mode, that would run), with C(> file) for streamed output.
  returned: always
  type: list
  elements: str
  sample: ["docker exec -e REDISCLI_AUTH n8n-redis-1 redis-cli BGSAVE"]
'''

import os
import posixpath
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.n8n_ops.stack.plugins.module_utils import fileutil
from ansible_collections.n8n_ops.stack.plugins.module_utils import redis_info
from ansible_collections.n8n_ops.stack.plugins.module_utils.docker_exec import (
    ContainerExec, DockerExecError, container_argument_spec,
)

DEFAULT_RDB = '/data/dump.rdb'
RDB_MAGIC = b'REDIS'
BGSAVE_STARTED = 'Background saving started'
BGSAVE_BUSY = ('already in progress', 'Another child process is active')
FORK_FLAGS = ('rdb_bgsave_in_progress', 'aof_rewrite_in_progress', 'module_fork_in_progress')


class SnapshotError(Exception):
    pass


class Redis:
    def __init__(self, ex, password, deadline):
        self.ex = ex
        self.env = {'REDISCLI_AUTH': password} if password else None
        self.deadline = deadline

    def cmd(self, *args):
        return ['redis-cli'] + list(args)

    def plan(self, *args, **kwargs):
        self.ex.plan(self.cmd(*args), env_names=sorted(self.env or {}), **kwargs)

    def call(self, *args):
        """Run one redis-cli command; redis-cli exits 0 on error replies, so callers check the reply text."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise SnapshotError('timed out before %s' % ' '.join(args))
        res = self.ex.run(self.cmd(*args), env=self.env, timeout=min(remaining, 60))
        if not res.ok:
            raise SnapshotError('redis-cli %s in container %s failed (%s): %s' % (
                ' '.join(args), self.ex.container, 'timed out' if res.timed_out else 'rc=%s' % res.rc,
                res.stderr_text or res.stdout_text.strip()))
        return res.stdout_text.strip()

    def error(self, args, reply):
        return SnapshotError('redis-cli %s in container %s: unexpected reply %r' % (
            ' '.join(args), self.ex.container, reply))

    def lastsave(self):
        reply = self.call('LASTSAVE')
        if not reply.isdigit():
            raise self.error(['LASTSAVE'], reply)
        return int(reply)

    def persistence(self):
        reply = self.call('INFO', 'persistence')
        info = redis_info.parse_info(reply)
        if 'rdb_bgsave_in_progress' not in info:
            raise self.error(['INFO', 'persistence'], reply)
        return info

    def rdb_path(self):
        config = {}
        for name in ('dir', 'dbfilename'):
            config.update(redis_info.parse_config_get(self.call('CONFIG', 'GET', name)))
        if config.get('dir') and config.get('dbfilename'):
            return posixpath.join(config['dir'], config['dbfilename'])
        return DEFAULT_RDB


def wait(redis, poll_interval, done, what):
    while True:
        value = done()
        if value:
            return value
        if time.monotonic() + poll_interval > redis.deadline:
            raise SnapshotError('timed out waiting for %s' % what)
        time.sleep(poll_interval)


def snapshot(redis, poll_interval):
    """BGSAVE and wait for it; returns the new LASTSAVE."""
    while True:
        before = redis.lastsave()
        saves_before = redis.persistence().get('rdb_saves')
        reply = redis.call('BGSAVE')
        if reply == BGSAVE_STARTED:
            break
        if not any(busy in reply for busy in BGSAVE_BUSY):
            raise redis.error(['BGSAVE'], reply)
        time.sleep(poll_interval)
        wait(redis, poll_interval, lambda: not any(redis.persistence().get(k) for k in FORK_FLAGS),
             'the background save already in progress to finish')

    def finished():
        now = redis.lastsave()
        info = redis.persistence()
        state = redis_info.snapshot_state(before, now, info, saves_before)
        if state == redis_info.FAILED:
            raise SnapshotError('BGSAVE failed in container %s (rdb_last_bgsave_status:err); see the Redis log'
                                % redis.ex.container)
        return now if state == redis_info.DONE else None

    return wait(redis, poll_interval, finished, 'BGSAVE to complete')


def copy_rdb(ex, path, partial):
    with fileutil.open_exclusive(partial) as f:
        res = ex.run(['cat', path], stdout=f)
        f.flush()
        os.fsync(f.fileno())
    if not res.ok or res.stderr:
        raise SnapshotError('copying %s from container %s failed (rc=%s): %s'
                            % (path, ex.container, res.rc, res.stderr_text or '(no stderr)'))
    with open(partial, 'rb') as f:
        magic = f.read(len(RDB_MAGIC))
    if magic != RDB_MAGIC:
        raise SnapshotError('%s from container %s is not an RDB file (starts with %r)' % (path, ex.container, magic))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            **container_argument_spec(),
            password=dict(type='str', no_log=True),
            dest=dict(type='path', required=True),
            timeout=dict(type='float', default=120),
            poll_interval=dict(type='float', default=0.5),
        ),
        supports_check_mode=True,
    )
    p = module.params
    dest = os.path.abspath(p['dest'])
    ex = ContainerExec(p['container'], p['docker_cli'])
    result = dict(changed=False, dest=dest, commands=ex.commands)

    if p['timeout'] <= 0 or p['poll_interval'] <= 0:
        module.fail_json(msg='timeout and poll_interval must be > 0', **result)
    dest_error = fileutil.new_dest_error(dest)
    if dest_error:
        module.fail_json(msg=dest_error, **result)

    partial = fileutil.partial_path(dest)
    start = time.monotonic()
    redis = Redis(ex, p['password'], start + p['timeout'])
    published = False
    try:
        if module.check_mode:
            redis.lastsave()
            redis.plan('INFO', 'persistence')
            redis.plan('BGSAVE')
            redis.plan('CONFIG', 'GET', 'dir')
            redis.plan('CONFIG', 'GET', 'dbfilename')
            ex.plan(['cat', DEFAULT_RDB], stdout_name=partial)
            result['changed'] = True
            module.exit_json(**result)

        fileutil.remove_path(partial)
        lastsave = snapshot(redis, p['poll_interval'])
        copy_rdb(ex, redis.rdb_path(), partial)
        size = os.path.getsize(partial)
        digest = fileutil.sha256_file(partial)
        try:
            fileutil.publish(partial, dest)
        except FileExistsError as e:
            raise SnapshotError('dest appeared during the snapshot, refusing to overwrite it: %s' % dest) from e
        published = True
    except SnapshotError as e:
        module.fail_json(msg=str(e), **result)
    except (DockerExecError, OSError) as e:
        module.fail_json(msg='redis snapshot from %s failed: %s' % (p['container'], e), **result)
    finally:
        if not published and not module.check_mode:
            fileutil.remove_path(partial)

    result.update(changed=True, bytes=size, sha256=digest, lastsave=lastsave,
                  seconds=round(time.monotonic() - start, 3))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
