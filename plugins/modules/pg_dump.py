#!/usr/bin/python
# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: pg_dump
short_description: Dump a PostgreSQL database from a container to a verified, checksummed file
version_added: 0.1.0
author: n8n_ops maintainers (!UNKNOWN)
description:
  - Runs C(pg_dump) inside a running PostgreSQL container with C(docker exec) and writes the dump on the Docker host.
  - Over M(community.postgresql.postgresql_db) with O(community.postgresql.postgresql_db#module:state=dump) or a plain
    shell task it adds a version check, verification and atomic publishing. The server major version and the
    C(pg_dump) major version in the container must match. The dump is written as C(.NAME.partial) next to O(dest).
    Any non-zero exit code or any output on stderr fails the dump. The result must list with C(pg_restore --list)
    and be at least O(min_bytes) long. Only then is it fsynced and renamed to O(dest) and its sha256 returned.
  - On any failure the partial file is removed and no other file is touched. An existing O(dest) is never overwritten.
  - Needs no database network connection. C(psql), C(pg_dump) and C(pg_restore) run in the container over its local
    socket.
extends_documentation_fragment:
  - n8n_ops.stack.container
options:
  database:
    description: Name of the database to dump.
    type: str
    required: true
  login_user:
    description: Database role used inside the container (local socket authentication).
    type: str
    default: postgres
  dest:
    description:
      - Final path of the dump on the Docker host. Its parent directory must exist.
      - Must not exist yet. The module fails rather than overwrite it.
      - For O(format=directory) this is a directory. Its parent must be bind-mounted into the container at
        O(container_dest).
    type: path
    required: true
  format:
    description:
      - V(custom) streams C(pg_dump -Fc) from the container to the host. Nothing is written inside the container.
      - V(directory) runs C(pg_dump -Fd), which allows O(jobs) > 1. It writes through a bind mount, see O(container_dest).
    type: str
    choices: [custom, directory]
    default: custom
  jobs:
    description: Number of parallel dump jobs (C(pg_dump -j)). Values above 1 need O(format=directory).
    type: int
    default: 1
  container_dest:
    description:
      - Path inside the container where the parent directory of O(dest) is visible (bind mount).
      - Required for O(format=directory). The mapping is checked with a probe file before dumping.
    type: str
  compression:
    description:
      - Value for C(pg_dump -Z). Either V(none), V(gzip), V(lz4), V(zstd), C(METHOD:LEVEL) (gzip 1-9, lz4 1-12,
        zstd 1-22), or a bare gzip level 0-9.
      - pg_dump before 16 supports only gzip levels. V(gzip:N) and V(none) are translated for it. V(lz4) and
        V(zstd) fail there.
    type: str
    default: zstd:1
  min_bytes:
    description: Smallest acceptable dump size in bytes. A smaller dump is treated as a failure.
    type: int
    default: 1024
  timeout:
    description:
      - Seconds the dump may take; V(0) means no limit. C(pg_dump) runs under C(timeout) inside the container
        (killing the C(docker exec) client alone would leave it running), so a hung dump ends, fails the task and
        releases whatever lock the caller holds before that lock is considered stale.
    type: int
    default: 0
notes:
  - In check mode the read-only version probes run. The dump and verification commands are only listed in
    RV(commands).
  - The dump file is created with mode 0600.
  - A custom-format dump written to a pipe has no data offsets. C(pg_restore -j) can still use it because it reads
    the file from disk, but a C(pg_restore) reading it from a pipe must restore in archive order.
seealso:
  - module: community.postgresql.postgresql_db
'''

EXAMPLES = r'''
- name: Dump the n8n database
  n8n_ops.stack.pg_dump:
    container: n8n-postgres-1
    database: n8n
    dest: /srv/backups/20261123_020000/n8n.dump
  register: dump

- name: Parallel directory-format dump through a bind mount (/srv/backups/current -> /backup)
  n8n_ops.stack.pg_dump:
    container: n8n-postgres-1
    database: n8n
    format: directory
    jobs: 4
    compression: gzip:6
    dest: /srv/backups/current/n8n.dir
    container_dest: /backup
'''

RETURN = r'''
dest:
  description: Final path of the dump.
  returned: always
  type: str
  sample: /srv/backups/20261123_020000/n8n.dump
bytes:
  description: Size of the dump (sum of all files for the directory format).
  returned: success
  type: int
  sample: 1048576
seconds:
  description: Wall time of dump and verification.
  returned: success
  type: float
  sample: 3.42
sha256:
  description: sha256 of the dump file. For the directory format, sha256 over each file's relative path and sha256.
  returned: success
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
format:
  description: Dump format used.
  returned: always
  type: str
  sample: custom
compression:
  description: Compression as requested.
  returned: always
  type: str
  sample: zstd:1
server_version:
  description: PostgreSQL server version (SHOW server_version, first word).
  returned: when the container could be queried
  type: str
  sample: '17.6'
pg_dump_version:
  description: Version of pg_dump in the container.
  returned: when the container could be queried
  type: str
  sample: '17.6'
toc_entries:
  description: Number of entries C(pg_restore --list) reported.
  returned: success
  type: int
  sample: 187
rc:
  description: Exit code of the container command that failed.
  returned: when a container command failed
  type: int
  sample: 137
stderr:
  description: Error output of the container command that failed.
  returned: when a container command failed
  type: str
  sample: 'pg_dump: error: connection to server failed'
commands:
  description: Command lines run (or, in check mode, that would run), with C(< file)/C(> file) for streamed I/O.
  returned: always
  type: list
  elements: str
  sample: ["docker exec n8n-postgres-1 pg_dump --version", "docker exec -i n8n-postgres-1 pg_restore --list < /srv/b/.n8n.dump.partial"]
'''

import os
import posixpath
import re
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.n8n_ops.stack.plugins.module_utils import fileutil
from ansible_collections.n8n_ops.stack.plugins.module_utils.pg_compression import parse_compression
from ansible_collections.n8n_ops.stack.plugins.module_utils.docker_exec import (
    ContainerExec, DockerExecError, container_argument_spec,
)


class DumpError(Exception):
    def __init__(self, msg, result=None):
        super().__init__(msg)
        self.result = result


def compression_arg(method, level, pg_dump_major):
    """The -Z argument for this pg_dump; before 16 only integer gzip levels exist."""
    if pg_dump_major >= 16:
        return method if level is None else '%s:%d' % (method, level)
    if method == 'none':
        return '0'
    if method == 'gzip':
        return '6' if level is None else str(level)
    raise ValueError('pg_dump %d supports only gzip compression; %s needs pg_dump 16 or later '
                     '(use compression=gzip:6)' % (pg_dump_major, method))


def dbname_arg(name):
    """Value for -d. libpq parses a -d value containing '=' or a URI prefix as a connection string;
    such a name is wrapped in a quoted dbname='...' so it can only ever name a database."""
    if '=' not in name and not name.startswith(('postgres://', 'postgresql://')):
        return name
    return "dbname='%s'" % name.replace('\\', '\\\\').replace("'", "\\'")


def count_toc(listing):
    return sum(1 for line in listing.splitlines() if line.strip() and not line.startswith(';'))


def validate(params):
    """Option checks that need no container; returns an error message or None."""
    if params['jobs'] < 1:
        return 'jobs must be >= 1'
    if params['jobs'] > 1 and params['format'] != 'directory':
        return 'jobs > 1 needs format=directory (pg_dump cannot dump custom format in parallel)'
    if params['format'] == 'directory' and not params['container_dest']:
        return ('format=directory needs container_dest: the path where the parent directory of dest '
                'is bind-mounted inside the container')
    if params['container_dest'] and not posixpath.isabs(params['container_dest']):
        return 'container_dest must be an absolute path inside the container'
    if params['min_bytes'] < 0:
        return 'min_bytes must be >= 0'
    if params['timeout'] < 0:
        return 'timeout must be >= 0 (0: no limit)'
    try:
        parse_compression(params['compression'])
    except ValueError as e:
        return str(e)
    return None


def probe_versions(ex, conn):
    sql = ['-c', 'SHOW server_version_num', '-c', 'SHOW server_version']
    res = ex.run(['psql', '-X', '-w', '-At', '-v', 'ON_ERROR_STOP=1'] + conn + sql, timeout=60)
    lines = res.stdout_text.split('\n')
    if not res.ok or len(lines) < 2 or not lines[0].strip().isdigit():
        raise DumpError('cannot read the server version in container %s: %s'
                        % (ex.container, res.stderr_text or res.stdout_text or 'rc=%s' % res.rc), res)
    server_major = int(lines[0]) // 10000
    server_version = lines[1].split()[0] if lines[1].split() else lines[0]
    res = ex.run(['pg_dump', '--version'], timeout=60)
    m = re.search(r'\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?', res.stdout_text)
    if not res.ok or not m:
        raise DumpError('cannot read the pg_dump version in container %s: %s'
                        % (ex.container, res.stderr_text or res.stdout_text), res)
    dump_version = m.group(0).split()[-1]
    return server_major, server_version, int(m.group(1)), dump_version


def check_stream(res, what):
    if not res.ok or res.stderr:
        reason = 'timed out' if res.timed_out or res.rc == 124 else 'rc=%s' % res.rc
        raise DumpError('%s failed (%s): %s' % (what, reason, res.stderr_text or '(no stderr)'), res)


def check_mount(ex, partial, container_partial):
    """Make sure the host directory really is what the container sees at container_dest."""
    probe = partial + '.probe'
    fileutil.remove_path(probe)
    with fileutil.open_exclusive(probe):
        pass
    try:
        res = ex.run(['test', '-f', container_partial + '.probe'], timeout=60)
    finally:
        fileutil.remove_path(probe)
    if not res.ok:
        raise DumpError('container_dest %s is not the parent of dest inside container %s (a probe file written to '
                        '%s is not visible there)' % (posixpath.dirname(container_partial), ex.container,
                                                      os.path.dirname(partial)), res)


def with_timeout(cmd, seconds):
    """Prefix cmd with timeout(1) for the container (coreutils and busybox accept this form)."""
    return ['timeout', '-s', 'TERM', '-k', '30', str(seconds)] + cmd if seconds else cmd


def host_timeout(seconds):
    return seconds + 60 if seconds else None


def dump_custom(ex, dump_cmd, partial, seconds=0):
    with fileutil.open_exclusive(partial) as f:
        res = ex.run(with_timeout(dump_cmd + ['-Fc'], seconds), stdout=f, timeout=host_timeout(seconds))
        f.flush()
        os.fsync(f.fileno())
    check_stream(res, 'pg_dump')
    with open(partial, 'rb') as f:
        res = ex.run(['pg_restore', '--list'], stdin=f)
    check_stream(res, 'pg_restore --list (verification)')
    return count_toc(res.stdout_text)


def dump_directory(ex, dump_cmd, partial, container_partial, jobs, seconds=0):
    res = ex.run(with_timeout(dump_cmd + ['-Fd', '-j', str(jobs), '-f', container_partial], seconds),
                 timeout=host_timeout(seconds))
    check_stream(res, 'pg_dump')
    if not os.path.isdir(partial):
        raise DumpError('pg_dump wrote %s inside the container but %s does not exist on the host'
                        % (container_partial, partial))
    fileutil.fsync_tree(partial)
    res = ex.run(['pg_restore', '--list', container_partial])
    check_stream(res, 'pg_restore --list (verification)')
    return count_toc(res.stdout_text)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            **container_argument_spec(),
            database=dict(type='str', required=True),
            login_user=dict(type='str', default='postgres'),
            dest=dict(type='path', required=True),
            format=dict(type='str', choices=['custom', 'directory'], default='custom'),
            jobs=dict(type='int', default=1),
            container_dest=dict(type='str'),
            compression=dict(type='str', default='zstd:1'),
            min_bytes=dict(type='int', default=1024),
            timeout=dict(type='int', default=0),
        ),
        supports_check_mode=True,
    )
    p = module.params
    dest = os.path.abspath(p['dest'])
    ex = ContainerExec(p['container'], p['docker_cli'])
    result = dict(changed=False, dest=dest, format=p['format'], compression=p['compression'], commands=ex.commands)

    error = validate(p)
    if error:
        module.fail_json(msg=error, **result)
    dest_error = fileutil.new_dest_error(dest)
    if dest_error:
        module.fail_json(msg=dest_error, **result)

    partial = fileutil.partial_path(dest)
    container_partial = None
    if p['format'] == 'directory':
        container_partial = posixpath.join(p['container_dest'], os.path.basename(partial))
    conn = ['-U', p['login_user'], '-d', dbname_arg(p['database'])]
    published = False
    start = time.monotonic()
    try:
        server_major, server_version, dump_major, dump_version = probe_versions(ex, conn)
        result.update(server_version=server_version, pg_dump_version=dump_version)
        if server_major != dump_major:
            raise DumpError('pg_dump %s in container %s does not match server major version %s'
                            % (dump_version, p['container'], server_version))
        try:
            z = compression_arg(*parse_compression(p['compression']), pg_dump_major=dump_major)
        except ValueError as e:
            raise DumpError(str(e)) from e
        dump_cmd = ['pg_dump', '-w'] + conn + ['-Z', z]

        if module.check_mode:
            if p['format'] == 'custom':
                ex.plan(with_timeout(dump_cmd + ['-Fc'], p['timeout']), stdout_name=partial)
                ex.plan(['pg_restore', '--list'], interactive=True, stdin_name=partial)
            else:
                ex.plan(with_timeout(dump_cmd + ['-Fd', '-j', str(p['jobs']), '-f', container_partial], p['timeout']))
                ex.plan(['pg_restore', '--list', container_partial])
            result['changed'] = True
            module.exit_json(**result)

        fileutil.remove_path(partial)  # left over by a crashed run; the name is reserved for this module
        if p['format'] == 'custom':
            toc = dump_custom(ex, dump_cmd, partial, p['timeout'])
        else:
            check_mount(ex, partial, container_partial)
            toc = dump_directory(ex, dump_cmd, partial, container_partial, p['jobs'], p['timeout'])
        size = fileutil.tree_size(partial)
        if size < p['min_bytes']:
            raise DumpError('dump is only %d bytes, below min_bytes=%d' % (size, p['min_bytes']))
        digest = fileutil.sha256_tree(partial)
        try:
            fileutil.publish(partial, dest)
        except FileExistsError as e:
            raise DumpError('dest appeared while dumping, refusing to overwrite it: %s' % dest) from e
        published = True
    except DumpError as e:
        if e.result is not None:
            result.update(rc=e.result.rc, stderr=e.result.stderr_text)
        module.fail_json(msg=str(e), **result)
    except (DockerExecError, OSError) as e:
        module.fail_json(msg='pg_dump of %s failed: %s' % (p['database'], e), **result)
    finally:
        if not published and not module.check_mode:
            fileutil.remove_path(partial)

    result.update(changed=True, bytes=size, seconds=round(time.monotonic() - start, 3), sha256=digest, toc_entries=toc)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
