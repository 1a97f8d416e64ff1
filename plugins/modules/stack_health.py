#!/usr/bin/python
# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: stack_health
short_description: One health check of the n8n stack - containers, n8n, workers, Redis and its queue, PostgreSQL, disks, backups
version_added: 0.3.0
author: n8n_ops maintainers (!UNKNOWN)
description:
  - Runs on the Docker host of the stack deployed by the C(n8n_ops.stack.stack) role and reads, read-only, every
    container's state, health, restart count and OOM kills (C(docker inspect), selected fields only - never the
    environment, which holds secrets); n8n main's C(/healthz) and C(/healthz/readiness) (body checked) and each
    worker's readiness (from inside the worker); Redis PING, used memory against its container's limit and Bull's
    queue (waiting, active, delayed, failed and the age of the oldest waiting job); PostgreSQL connections against
    C(max_connections), database size, cache hit ratio, the longest running query and the oldest open transaction;
    free space on the Docker data root and the backup root; the backup role's C(status.json).
  - The checks, thresholds and the stuck-queue diagnosis are pure functions (C(module_utils/health.py)); this module
    gathers the facts, writes the Prometheus textfile atomically (node_exporter textfile collector format) and
    fails when any check is red, so a cron job or a playbook exits non-zero.
  - Over M(ansible.builtin.command) it adds one consistent snapshot, parsing, the diagnosis and an atomic textfile.
options:
  project_dir:
    description: The compose project directory (holds C(.env) and C(compose.yml)).
    type: path
    required: true
  base_url:
    description: n8n main's URL as this host reaches it.
    type: str
    default: http://127.0.0.1:5678
  backup_root:
    description: The backup role's C(backup_root); empty - no backup or backup disk check.
    type: path
    default: ""
  thresholds:
    description: Overrides of the thresholds (names as in C(module_utils/health.py) C(THRESHOLDS)).
    type: dict
    default: {}
  textfile:
    description: Write the Prometheus textfile here (atomically); empty - none.
    type: path
    default: ""
  fail_on_red:
    description: Fail the task when any check is red.
    type: bool
    default: true
  timeout:
    description: Seconds each probe may take (a remediation restart waits for the worker's stop timeout + 60 s).
    type: int
    default: 10
  docker_cli:
    description: The docker client.
    type: str
    default: docker
  state_file:
    description:
      - Keep the alert state here (JSON, written atomically) so alerts go out on state changes only, and the
        remediation history. Empty - no alerts, no remediation.
    type: path
    default: ""
  alert_url:
    description:
      - POST one JSON message (C(text), C(check), C(from), C(to), C(message), C(host), C(time)) to this URL per state
        change (green to red, red to green). Needs O(state_file). A message that cannot be delivered (no connection,
        an error status, no valid HTTP answer) is tried again on every later run while the check stays in its new
        state, with that run's message and time, and dropped when the check went back meanwhile.
    type: str
    default: ""
  alert_confirm:
    description:
      - A new state is alerted once it was seen this many runs in a row, so an item that flaps between two runs
        does not alert each time.
    type: int
    default: 2
  remediate:
    description:
      - When the queue is stuck, restart the workers the diagnosis names (a paused worker is unpaused, a stopped
        process continued, then the container restarted with its stop timeout). A worker whose readiness is green
        while Redis holds no queue connection from it (C(CLIENT LIST) by the container's addresses, the
        connections Bull names C(bull:...); a half-open connection, n8n issue 37581) is named alone, and the other
        running workers are left alone. Needs O(state_file); each action
        is logged there and in the result.
    type: bool
    default: false
  remediate_max_per_hour:
    description: Restart each worker at most this many times per hour; beyond it the worker is left alone and said so.
    type: int
    default: 2
notes:
  - Supports check mode (it only reads; no textfile, state, alert or restart in check mode).
'''

EXAMPLES = r'''
- name: Check the stack; fail when anything is red
  n8n_ops.stack.stack_health:
    project_dir: /opt/n8n
    backup_root: /var/backups/n8n
    textfile: /var/lib/node_exporter/textfile/n8n_ops.prom
    thresholds:
      queue_wait_s: 300
'''

RETURN = r'''
ok:
  description: No check is red.
  returned: always
  type: bool
red:
  description: Names of the red checks.
  returned: always
  type: list
  elements: str
checks:
  description: Every check with C(name), C(status) (green or red), C(message) and C(value).
  returned: always
  type: list
  elements: dict
table:
  description: The human table, red first.
  returned: always
  type: str
facts:
  description: What was read (no secrets).
  returned: always
  type: dict
commands:
  description: The commands it ran.
  returned: always
  type: list
  elements: str
seconds:
  description: How long the check took.
  returned: always
  type: float
alerts:
  description: >-
    The state changes alerted in this run (C(name), C(from), C(to), C(message), C(delivered), C(error) when not
    delivered).
  returned: always
  type: list
  elements: dict
actions:
  description: The remediation actions of this run (C(worker), C(action), C(rc), C(reason)) and workers left alone.
  returned: always
  type: list
  elements: dict
'''

import calendar
import json
import os
import re
import shlex
import socket
import subprocess
import time
import urllib.error
from http.client import HTTPException

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url
from ansible_collections.n8n_ops.stack.plugins.module_utils import health
from ansible_collections.n8n_ops.stack.plugins.module_utils.fileutil import atomic_write_bytes
from ansible_collections.n8n_ops.stack.plugins.module_utils.queue_check import BULL_COMMANDS, worker_concurrency

PG_SQL = (
    "SELECT json_build_object("
    "'connections', (SELECT count(*) FROM pg_stat_activity),"
    "'max_connections', current_setting('max_connections')::int,"
    "'db_size', pg_database_size(current_database()),"
    "'blks_hit', (SELECT blks_hit FROM pg_stat_database WHERE datname = current_database()),"
    "'blks_read', (SELECT blks_read FROM pg_stat_database WHERE datname = current_database()),"
    "'longest_query_s', (SELECT coalesce(max(extract(epoch FROM now() - query_start)), 0) FROM pg_stat_activity"
    " WHERE state = 'active' AND pid <> pg_backend_pid() AND backend_type = 'client backend'),"
    "'oldest_xact_s', (SELECT coalesce(max(extract(epoch FROM now() - xact_start)), 0) FROM pg_stat_activity"
    " WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() AND backend_type = 'client backend'))")
# redis-cli authenticated from the stack's password file, else REDISCLI_AUTH in the container's environment: the
# stack role's script mounted into the redis container (roles/stack/files/n8n-redis-cli).
REDIS_CLI = ('n8n-redis-cli',)
REDIS_CMDS = ('PING', 'INFO memory') + BULL_COMMANDS + ('LINDEX bull:jobs:wait -1',)
INSPECT = ('{{index .Config.Labels "com.docker.compose.service"}}\t{{.Name}}\t{{.State.Status}}\t{{.State.Paused}}\t'
           '{{if .State.Health}}{{.State.Health.Status}}{{end}}\t{{.RestartCount}}\t{{.State.OOMKilled}}\t'
           '{{.Config.StopTimeout}}\t{{.HostConfig.Memory}}\t{{.State.StartedAt}}\t{{json .Config.Cmd}}\t'
           '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}')
READINESS_JS = ("fetch('http://127.0.0.1:5678/healthz/readiness').then(r => r.text().then(t => "
                "console.log(r.status + ' ' + t))).catch(e => console.log('0 ' + e.message))")


class Probe:
    def __init__(self, module):
        self.m = module
        self.commands = []

    def run(self, argv, stdin=None, timeout=None):
        self.commands.append(' '.join(shlex.quote(a) for a in argv))
        timeout = timeout or self.m.params['timeout']
        try:
            # pylint: disable-next=ansible-bad-function
            p = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False,
                               cwd=self.m.params['project_dir'], timeout=timeout)
        except subprocess.TimeoutExpired:
            return 124, '', 'timed out after %d s' % timeout
        except OSError as exc:
            return 127, '', str(exc)
        return p.returncode, p.stdout, p.stderr.strip()

    def docker(self, *args, **kw):
        return self.run([self.m.params['docker_cli']] + list(args), **kw)


def containers(probe):
    rc, out, err = probe.docker('compose', 'ps', '-aq')
    ids = out.split()
    if rc != 0 or not ids:
        return [], err or 'no containers in the project'
    rc, out, err = probe.docker('inspect', '--format', INSPECT, *ids)
    found = []
    for line in out.splitlines():
        f = line.split('\t')
        if len(f) != 12:
            continue
        found.append(dict(service=f[0], name=f[1].lstrip('/'), state=f[2], paused=f[3] == 'true', health=f[4],
                          restarts=int(f[5] or 0), oom_killed=f[6] == 'true',
                          stop_timeout=int(f[7]) if f[7].isdigit() else None,
                          memory_limit=int(f[8] or 0), started_s_ago=seconds_since(f[9]),
                          command=json.loads(f[10]) if f[10] not in ('', 'null') else [], ips=f[11].split()))
    return found, None if rc == 0 else err


def seconds_since(docker_time):
    """Docker's StartedAt (RFC 3339 with nanoseconds, UTC) -> seconds ago; None when unknown."""
    match = re.match(r'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)', docker_time or '')
    if not match or docker_time.startswith('0001-'):
        return None
    started = calendar.timegm(time.strptime(match.group(1), '%Y-%m-%dT%H:%M:%S'))
    return round(max(0.0, time.time() - started), 1)


def http(url, timeout):
    try:
        r = open_url(url, timeout=timeout)
        return r.getcode(), r.read(2000).decode('utf-8', 'replace')
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(2000).decode('utf-8', 'replace')
    except (urllib.error.URLError, OSError) as exc:
        return None, str(exc)


def stopped_process(probe, name):
    """True when a process of the container is stopped (ps state T: SIGSTOP, a debugger) - the container still
    counts as running and its health check may pass for a while. The main process is tini, so every process is
    looked at (docker top)."""
    rc, out, dummy = probe.docker('top', name, '-o', 'pid,stat')
    return rc == 0 and any(line.split()[1].startswith('T') for line in out.splitlines()[1:] if len(line.split()) > 1)


def redis_facts(probe, container):
    rc, out, err = probe.docker('exec', '-i', container['name'], *REDIS_CLI,
                                stdin='\n'.join(REDIS_CMDS) + '\n')
    replies = health.redis_replies(out.splitlines()) if rc == 0 else None
    if not replies:
        return dict(ping=False, error=(err or out or 'no answer').strip()[:200]), None
    info, queue, oldest = replies
    if queue and oldest:
        rc, ts, dummy = probe.docker('exec', container['name'], *REDIS_CLI, 'HGET',
                                     'bull:jobs:' + oldest, 'timestamp')
        if rc == 0 and ts.strip().isdigit():
            queue['oldest_wait_s'] = max(0.0, time.time() - int(ts.strip()) / 1000.0)
    if queue and queue.get('active'):
        queue['stalled'] = stalled_jobs(probe, container['name'])
    return dict(ping=True, used_memory=int(info.get('used_memory', '0') or 0), limit=container['memory_limit']), queue


def stalled_jobs(probe, container):
    """Active jobs no live worker holds (health.lockless), seen twice 1 s apart: a live worker takes the lock right
    after a job moves to active, so only a job still unlocked a second later counts."""
    held = None
    for attempt in range(2):
        rc, out, dummy = probe.docker('exec', container, *REDIS_CLI, 'LRANGE',
                                      'bull:jobs:active', '0', '99')
        active = [i for i in out.split() if held is None or i in held]
        if rc != 0 or not active:
            return 0
        rc, out, dummy = probe.docker('exec', '-i', container, *REDIS_CLI,
                                      stdin=''.join('EXISTS bull:jobs:%s:lock\n' % i for i in active))
        held = health.lockless(active, out.split()) if rc == 0 else []
        if not held:
            return 0
        if attempt == 0:
            time.sleep(1)
    return len(held)


def count_queue_clients(probe, container, workers):
    """Each running worker's queue connections as Redis holds them (CLIENT LIST by address): none while its
    readiness is green is the half-open case the stuck-queue diagnosis names."""
    rc, out, dummy = probe.docker('exec', container, *REDIS_CLI, 'CLIENT', 'LIST')
    if rc != 0:
        return
    by_ip = health.redis_queue_clients(out.splitlines())
    for w in workers:
        if w['state'] == 'running' and w['ips']:
            w['queue_clients'] = sum(by_ip.get(ip, 0) for ip in w['ips'])


def postgres_facts(probe, container):
    rc, out, err = probe.docker('exec', container['name'], 'sh', '-c',
                                'psql -X -At -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "$0"', PG_SQL)
    if rc != 0:
        return dict(reachable=False, error=(err or out).strip()[:200])
    facts = json.loads(out.strip())
    facts['reachable'] = True
    return facts


def disk(path):
    st = os.statvfs(path)
    return dict(path=path, free=st.f_bavail * st.f_frsize, total=st.f_blocks * st.f_frsize)


def gather(module, probe):
    p = module.params
    facts = dict(endpoints=[], disks={})
    found, error = containers(probe)
    facts['containers'] = found
    if error:
        facts['error'] = error
    by_service = {}
    for c in found:
        by_service.setdefault(c['service'], []).append(c)
    for path, expect in (('/healthz', 'ok'), ('/healthz/readiness', '"ok"')):
        status, body = http(p['base_url'].rstrip('/') + path, p['timeout'])
        facts['endpoints'].append(dict(name='main ' + path, status=status, body=body, expect=expect))
    workers = []
    for w in by_service.get('n8n-worker', []):
        entry = dict(name=w['name'], state=w['state'], paused=w['paused'], command=w['command'], ips=w['ips'],
                     concurrency=worker_concurrency([json.dumps(w['command'])]), stop_timeout=w['stop_timeout'],
                     started_s_ago=w['started_s_ago'],
                     stopped_process=w['state'] == 'running' and stopped_process(probe, w['name']))
        if w['state'] == 'running' and not w['paused'] and not entry['stopped_process']:
            rc, out, dummy = probe.docker('exec', w['name'], 'node', '-e', READINESS_JS)
            code, dummy, body = out.strip().partition(' ')
            status = int(code) if code.isdigit() and code != '0' else None
            facts['endpoints'].append(dict(name=w['name'] + ' /healthz/readiness', status=status, body=body,
                                           expect='"ok"'))
            entry['redis_ok'] = status == 200
        elif w['state'] == 'running':  # asking it would only time out
            facts['endpoints'].append(dict(name=w['name'] + ' /healthz/readiness', status=None, expect='"ok"',
                                           body='not asked: the container is paused' if w['paused'] else
                                           'not asked: its n8n process is stopped (state T), it takes no jobs'))
        workers.append(entry)
    facts['workers'] = workers
    redis = (by_service.get('redis') or [None])[0]
    if redis and redis['state'] == 'running' and not redis['paused']:
        facts['redis'], queue = redis_facts(probe, redis)
        if queue:
            facts['queue'] = queue
            if queue.get('waiting') or queue.get('stalled'):  # only a queue that can be stuck needs the diagnosis
                count_queue_clients(probe, redis['name'], workers)
    else:
        facts['redis'] = dict(ping=False, error='the redis container is %s' % (redis['state'] if redis else 'missing'))
    pg = (by_service.get('postgres') or [None])[0]
    if pg and pg['state'] == 'running' and not pg['paused']:
        facts['postgres'] = postgres_facts(probe, pg)
    else:
        facts['postgres'] = dict(reachable=False, error='the postgres container is %s' % (pg['state'] if pg else 'missing'))
    rc, root, dummy = probe.docker('info', '--format', '{{.DockerRootDir}}')
    if rc == 0 and os.path.isdir(root.strip()):
        facts['disks']['docker data root'] = disk(root.strip())
    if p['backup_root']:
        if os.path.isdir(p['backup_root']):
            facts['disks']['backup root'] = disk(p['backup_root'])
        status_file = os.path.join(p['backup_root'], 'status.json')
        try:
            with open(status_file, encoding='utf-8') as f:
                facts['backup'] = json.load(f)
        except (OSError, ValueError):
            facts['backup'] = None
        if facts['backup'] is None and pg:
            facts['data_age_s'] = data_age(probe, pg)
    return facts


def data_age(probe, container):
    """Seconds since the oldest named volume of the postgres container was created: how long this stack's data
    has existed (a container is recreated on every change, its volume is not). None when unknown."""
    rc, out, dummy = probe.docker('inspect', '--format',
                                  '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}', container['name'])
    if rc != 0 or not out.split():
        return None
    rc, out, dummy = probe.docker('volume', 'inspect', '--format', '{{.CreatedAt}}', *out.split())
    ages = [a for a in (seconds_since(line.strip()) for line in out.splitlines()) if a is not None]
    return max(ages) if rc == 0 and ages else None


def gauges(facts, now):
    """Numbers for Prometheus next to the check states."""
    g = {'last_run_timestamp_seconds': [({}, round(now, 3))]}
    q = facts.get('queue') or {}
    for key in ('waiting', 'active', 'delayed', 'failed', 'stalled'):
        if key in q:
            g['queue_' + key] = [({}, q[key])]
    if 'oldest_wait_s' in q:
        g['queue_oldest_wait_seconds'] = [({}, q['oldest_wait_s'])]
    pg = facts.get('postgres') or {}
    for key, metric in (('connections', 'postgres_connections'), ('max_connections', 'postgres_max_connections'),
                        ('db_size', 'postgres_database_bytes'), ('longest_query_s', 'postgres_longest_query_seconds'),
                        ('oldest_xact_s', 'postgres_oldest_transaction_seconds')):
        if pg.get(key) is not None:
            g[metric] = [({}, pg[key])]
    g['container_restarts'] = [({'container': c['name']}, c['restarts']) for c in facts.get('containers') or []]
    g['container_oom_killed'] = [({'container': c['name']}, int(c['oom_killed'])) for c in facts.get('containers') or []]
    return g


def load_state(path):
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except FileNotFoundError:
        text = None
    except (OSError, ValueError) as exc:
        raise ValueError(health.STATE_UNREADABLE % (path, exc)) from exc
    return health.read_state(text, path)


def send_alerts(module, alerts, now):
    """POST each alert; marks it `delivered`, or not with the `error` (health.after_delivery() keeps it for the
    next run). A receiver that answers with no valid HTTP (HTTPException) is one that did not take it."""
    host = socket.gethostname()
    for a in alerts:
        try:
            open_url(module.params['alert_url'], data=json.dumps(health.alert_message(a, host, now)), method='POST',
                     timeout=module.params['timeout'], headers={'Content-Type': 'application/json'})
            a['delivered'] = True
        except (urllib.error.URLError, OSError, HTTPException) as exc:
            a['delivered'] = False
            a['error'] = str(exc) or type(exc).__name__
    return alerts


def remediate(module, probe, result, facts, history, now):
    """Restart the suspects of a stuck queue (within the hourly limit); returns the actions, done or not."""
    restart, skipped = health.remediation(result['checks'], history, now, module.params['remediate_max_per_hour'])
    workers = dict((w['name'], w) for w in facts.get('workers') or [])
    actions = [dict(worker=s['worker'], action='none', reason=s['reason'], time=now) for s in skipped]
    for name in restart:
        w = workers.get(name) or {}
        if w.get('paused'):
            probe.docker('unpause', name)
        if w.get('stopped_process'):
            probe.docker('kill', '--signal', 'CONT', name)  # a stopped process cannot shut down gracefully
        stop_timeout = w.get('stop_timeout') or 30
        # a worker that cannot reach Redis may use its whole stop timeout before it is killed: wait for that
        rc, dummy, err = probe.docker('restart', '--time', str(stop_timeout), name, timeout=stop_timeout + 60)
        actions.append(dict(worker=name, action='restart', rc=rc, time=now, reason='the queue is stuck and %s is '
                            'suspected' % name + ('' if rc == 0 else ': restart failed: %s' % err[:200])))
    return actions


def keep_state(module, probe, result, facts, now):
    """Alerts on state changes and the opt-in remediation, with what is kept between runs."""
    p = module.params
    previous = load_state(p['state_file'])
    checks, alerts = health.transitions(previous['checks'], result['checks'], p['alert_confirm'])
    if p['alert_url'] and alerts:
        checks, warnings = health.after_delivery(checks, send_alerts(module, alerts, now))
        for warning in warnings:
            module.warn(warning)
    actions = remediate(module, probe, result, facts, previous['actions'], now) if p['remediate'] else []
    atomic_write_bytes(p['state_file'], json.dumps(health.state_content(checks, previous['actions'] + actions, now),
                                                   indent=1).encode(), mode=0o600)
    return alerts, actions


def main():
    module = AnsibleModule(
        argument_spec=dict(
            project_dir=dict(type='path', required=True),
            base_url=dict(type='str', default='http://127.0.0.1:5678'),
            backup_root=dict(type='path', default=''),
            thresholds=dict(type='dict', default={}),
            textfile=dict(type='path', default=''),
            fail_on_red=dict(type='bool', default=True),
            timeout=dict(type='int', default=10),
            docker_cli=dict(type='str', default='docker'),
            state_file=dict(type='path', default=''),
            alert_url=dict(type='str', default='', no_log=True),
            alert_confirm=dict(type='int', default=2),
            remediate=dict(type='bool', default=False),
            remediate_max_per_hour=dict(type='int', default=2),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if (p['alert_url'] or p['remediate']) and not p['state_file']:
        module.fail_json(msg='alert_url and remediate need state_file (the state kept between runs)')
    if p['alert_confirm'] < 1 or p['remediate_max_per_hour'] < 0:
        module.fail_json(msg='alert_confirm must be >= 1 and remediate_max_per_hour >= 0')
    unknown = sorted(set(module.params['thresholds']) - set(health.THRESHOLDS))
    if unknown:
        module.fail_json(msg='Unknown thresholds %s; known: %s' % (', '.join(unknown), ', '.join(sorted(health.THRESHOLDS))))
    if not os.path.isdir(module.params['project_dir']):
        module.fail_json(msg='No compose project at %s' % module.params['project_dir'])
    started = time.monotonic()
    probe = Probe(module)
    facts = gather(module, probe)
    thresholds = dict((k, float(v)) for k, v in module.params['thresholds'].items())
    now = time.time()
    result = health.evaluate(facts, now, thresholds)
    alerts, actions = [], []
    if module.params['textfile'] and not module.check_mode:
        atomic_write_bytes(module.params['textfile'], health.textfile(result['checks'], gauges(facts, now)).encode(),
                           mode=0o644)
        os.chmod(module.params['textfile'], 0o644)  # node_exporter reads it, whatever the umask (cron's is 077)
    if module.params['state_file'] and not module.check_mode:
        try:
            alerts, actions = keep_state(module, probe, result, facts, now)
        except ValueError as exc:
            module.fail_json(msg=str(exc))
    changed = any(a['action'] == 'restart' for a in actions)
    out = dict(changed=changed, ok=result['ok'], red=result['red'], checks=result['checks'],
               table=health.table(result), facts=facts, commands=probe.commands, alerts=alerts, actions=actions,
               seconds=round(time.monotonic() - started, 3))
    if module.params['fail_on_red'] and not result['ok']:
        module.fail_json(msg='Red: ' + '; '.join(c['message'] for c in result['checks'] if c['status'] == health.RED),
                         **out)
    module.exit_json(**out)


if __name__ == '__main__':
    main()
