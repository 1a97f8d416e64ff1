#!/usr/bin/python
# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: pgbench
short_description: Run pgbench in a PostgreSQL container against a scratch database and return parsed results
version_added: 0.2.0
author: n8n_ops maintainers (!UNKNOWN)
description:
  - Runs C(pgbench) inside a running PostgreSQL container with C(docker exec), always in a scratch database of its own
    (never the application's), and returns structured numbers instead of text.
  - Over a shell task running C(pgbench) it adds the refusal of protected databases, initialisation of the scratch
    database, per-transaction latency percentiles (p50/p95/p99 from C(pgbench --log)) and failure on any error or any
    failed transaction.
  - Built-in scripts (V(tpcb-like), V(simple-update), V(select-only)) need O(init=true) (C(pgbench -i -s scale)).
    A custom O(script) runs with C(-n) (no vacuum of pgbench's own tables); O(init_sql) creates what it needs.
extends_documentation_fragment:
  - n8n_ops.stack.container
options:
  database:
    description: Scratch database the benchmark runs in. Dropped and created again when O(init=true).
    type: str
    default: n8n_ops_pgbench
  protected_databases:
    description: Databases the module refuses to touch (the application's).
    type: list
    elements: str
    default: [n8n, postgres, template0, template1]
  login_user:
    description: Database role used inside the container (local socket authentication).
    type: str
    default: postgres
  init:
    description:
      - Drop and create O(database), then C(pgbench -i -s) O(scale) for built-in scripts and O(init_sql) if given.
    type: bool
    default: true
  scale:
    description: C(pgbench -i -s), the size of the built-in tables (one unit is 100,000 accounts, ~16 MB).
    type: int
    default: 10
  builtin:
    description: Built-in script. Mutually exclusive with O(script).
    type: str
    choices: [tpcb-like, simple-update, select-only]
  script:
    description: Text of a custom pgbench script (C(pgbench -f)). Mutually exclusive with O(builtin).
    type: str
  init_sql:
    description: SQL run in O(database) after it is created, before the run (tables and data for O(script)).
    type: str
  clients:
    description: C(pgbench -c).
    type: int
    default: 4
  threads:
    description: C(pgbench -j); at most O(clients).
    type: int
    default: 1
  duration:
    description: Seconds the run lasts (C(pgbench -T)).
    type: int
    default: 30
  drop:
    description: Drop O(database) after the run.
    type: bool
    default: false
notes:
  - In check mode nothing runs; the commands are listed in RV(commands).
seealso:
  - name: pgbench
    description: PostgreSQL's benchmarking tool.
    link: https://www.postgresql.org/docs/current/pgbench.html
'''

EXAMPLES = r'''
- name: TPC-B for 60 s on scale 20 in a scratch database
  n8n_ops.stack.pgbench:
    container: n8n-postgres-1
    login_user: n8n
    builtin: tpcb-like
    scale: 20
    clients: 8
    threads: 2
    duration: 60
  register: tpcb

- name: A custom script with its own tables
  n8n_ops.stack.pgbench:
    container: n8n-postgres-1
    login_user: n8n
    init_sql: "CREATE TABLE t (id serial PRIMARY KEY, v text);"
    script: "INSERT INTO t (v) VALUES (repeat('x', 1000));"
    duration: 20
'''

RETURN = r'''
tps:
  description: Transactions per second, without the initial connection time.
  returned: success
  type: float
latency_avg_ms:
  description: Average latency pgbench reports.
  returned: success
  type: float
latency_p50_ms:
  description: Median per-transaction latency from C(--log); also C(latency_p95_ms), C(latency_p99_ms),
    C(latency_max_ms) and C(latency_stddev_ms).
  returned: success
  type: float
transactions:
  description: Transactions processed; C(logged_transactions) is how many the log holds.
  returned: success
  type: int
failed_transactions:
  description: Failed transactions (any fails the task).
  returned: success
  type: int
scale:
  description: Scaling factor pgbench reports.
  returned: success
  type: int
clients:
  description: Clients (C(threads), C(duration_s) likewise).
  returned: success
  type: int
commands:
  description: Every command run (or, in check mode, that would run).
  returned: always
  type: list
  elements: str
'''

import re
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.n8n_ops.stack.plugins.module_utils import pgbench
from ansible_collections.n8n_ops.stack.plugins.module_utils.docker_exec import (
    ContainerExec, DockerExecError, container_argument_spec)

SCRIPT_PATH = '/tmp/n8n_ops_pgbench.sql'
LOG_PREFIX = '/tmp/n8n_ops_pgbench_log'


class BenchError(Exception):
    pass


def validate(p):
    if not re.match(r'^[a-z_][a-z0-9_]{0,62}$', p['database']):
        return 'database must be a plain lowercase name, got %r' % p['database']
    if p['database'] in p['protected_databases']:
        return 'refusing to benchmark in %r: it is a protected database (protected_databases)' % p['database']
    if bool(p['builtin']) == bool(p['script']):
        return 'give exactly one of builtin and script'
    for name in ('clients', 'threads', 'duration', 'scale'):
        if p[name] < 1:
            return '%s must be at least 1, got %d' % (name, p[name])
    if p['threads'] > p['clients']:
        return 'threads (%d) must not exceed clients (%d)' % (p['threads'], p['clients'])
    return None


def step(ex, cmd, what, stdin_text=None, timeout=600):
    """Run one command; raise BenchError with its stderr when it fails."""
    if stdin_text is None:
        res = ex.run(cmd, timeout=timeout)
    else:
        res = _run_with_stdin(ex, cmd, stdin_text, timeout)
    if not res.ok:
        detail = res.stderr_text or res.stdout_text.strip()[-2000:]
        raise BenchError('%s failed (rc=%s%s): %s' % (what, res.rc, ', timed out' if res.timed_out else '', detail))
    return res


def _run_with_stdin(ex, cmd, text, timeout):
    with tempfile.TemporaryFile() as f:
        f.write(text.encode())
        f.seek(0)
        return ex.run(cmd, stdin=f, timeout=timeout)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            **container_argument_spec(),
            database=dict(type='str', default='n8n_ops_pgbench'),
            protected_databases=dict(type='list', elements='str', default=['n8n', 'postgres', 'template0', 'template1']),
            login_user=dict(type='str', default='postgres'),
            init=dict(type='bool', default=True),
            scale=dict(type='int', default=10),
            builtin=dict(type='str', choices=['tpcb-like', 'simple-update', 'select-only']),
            script=dict(type='str'),
            init_sql=dict(type='str'),
            clients=dict(type='int', default=4),
            threads=dict(type='int', default=1),
            duration=dict(type='int', default=30),
            drop=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    ex = ContainerExec(p['container'], p['docker_cli'])
    result = dict(changed=False, database=p['database'], commands=ex.commands)
    error = validate(p)
    if error:
        module.fail_json(msg=error, **result)

    user, db = ['-U', p['login_user']], p['database']
    psql = ['psql', '-X', '-q', '-w', '-v', 'ON_ERROR_STOP=1'] + user
    run_cmd = ['pgbench'] + user
    run_cmd += ['-c', str(p['clients']), '-j', str(p['threads']), '-T', str(p['duration']),
                '--log', '--log-prefix=' + LOG_PREFIX]
    run_cmd += ['-b', p['builtin']] if p['builtin'] else ['-n', '-f', SCRIPT_PATH]
    run_cmd.append(db)
    plan = []
    if p['init']:
        plan.append((psql + ['-d', 'postgres', '-c', 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % db,
                             '-c', 'CREATE DATABASE "%s"' % db], 'creating the scratch database', None))
        if p['builtin']:
            plan.append((['pgbench', '-i', '-q', '-s', str(p['scale'])] + user + [db], 'pgbench -i', None))
        if p['init_sql']:
            plan.append((psql + ['-d', db], 'init_sql', p['init_sql']))
    if p['script']:
        plan.append((['sh', '-c', 'cat > ' + SCRIPT_PATH], 'writing the script', p['script']))
    plan.append((['sh', '-c', 'rm -f %s.*' % LOG_PREFIX], 'clearing old logs', None))

    if module.check_mode:
        for cmd, dummy, text in plan + [(run_cmd, 'run', None)]:
            ex.plan(cmd, interactive=text is not None, stdin_name=None if text is None else '<text>')
        result['changed'] = True
        module.exit_json(**result)

    start = time.monotonic()
    try:
        for cmd, what, text in plan:
            step(ex, cmd, what, text)
        res = ex.run(run_cmd, timeout=p['duration'] + 600)
        if not res.ok:
            raise BenchError('pgbench failed (rc=%s): %s' % (res.rc, (res.stderr_text or res.stdout_text)[-2000:]))
        log = step(ex, ['sh', '-c', 'cat %s.*; rm -f %s.*' % (LOG_PREFIX, LOG_PREFIX)], 'reading the log')
        try:
            numbers = pgbench.result(res.stdout_text, log.stdout_text)
        except ValueError as e:
            raise BenchError(str(e)) from e
        if numbers['failed_transactions']:
            raise BenchError('%d transactions failed: %s' % (numbers['failed_transactions'], res.stderr_text[-2000:]))
        if p['drop']:
            step(ex, psql + ['-d', 'postgres', '-c', 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % db], 'dropping')
    except BenchError as e:
        module.fail_json(msg=str(e), **result)
    except DockerExecError as e:
        module.fail_json(msg='pgbench in %s failed: %s' % (p['container'], e), **result)
    result.update(numbers, changed=True, seconds=round(time.monotonic() - start, 3))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
