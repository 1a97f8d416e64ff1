# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""Stack health (pure): facts read from the running stack -> checks (green/red with a message), the stuck-queue
diagnosis, alert transitions that do not flap, what an alert says, the retry of alerts not delivered, the state
file's content, and the Prometheus textfile.

The monitoring role reads the facts (docker inspect, HTTP, redis-cli, psql, df, the backup role's status.json) and
hands them here; every threshold is an argument, so the role exposes each one as a variable.
"""

from __future__ import annotations

import json
import math
import re
import time

GREEN, RED = 'green', 'red'
THRESHOLDS = dict(
    connections_pct=80.0,       # PostgreSQL connections used / max_connections
    cache_hit_min=0.95,         # heap blocks hit / (hit + read), once enough blocks were read to judge
    cache_hit_min_reads=10000,
    longest_query_s=300.0,
    oldest_xact_s=600.0,        # an open transaction holds back vacuum on n8n's execution tables
    redis_memory_pct=80.0,      # used_memory / the container's limit
    disk_free_pct=10.0,
    backup_max_age_h=26.0,      # nightly backups plus two hours of slack
    queue_wait_s=120.0,         # oldest waiting job's age before the queue counts as stuck
    restarts_max=0,             # restarts since the container was created ...
    restart_window_s=3600.0,    # ... red while the last (re)start is this recent (a crash loop stays red)
)


STARTUP_GRACE_S = 60.0  # an n8n worker connects to Redis and PostgreSQL within this after its container starts
ACTIONS_KEEP_S = 7 * 86400  # the remediation history in the state file covers the last week ...
ACTIONS_KEEP = 200          # ... and at most this many actions (the newest; the hourly limit looks back one hour)


def _check(name, ok, message, value=None):
    return dict(name=name, status=GREEN if ok else RED, message=message, value=value)


def _pct(part, whole):
    return 100.0 * part / whole if whole else 0.0


def container_checks(containers, t):
    """One check per container: running, healthy (when it has a healthcheck), no OOM kill, restarts."""
    checks = []
    for c in sorted(containers, key=lambda c: c['name']):
        problems = []
        if c.get('state') != 'running':
            problems.append('is %s' % (c.get('state') or 'missing'))
        elif c.get('paused'):
            problems.append('is paused')
        if c.get('health') not in (None, '', 'healthy'):
            problems.append('health %s' % c['health'])
        if c.get('oom_killed'):
            problems.append('was OOM-killed (raise its memory limit)')
        since = c.get('started_s_ago')
        if int(c.get('restarts') or 0) > t['restarts_max'] and (since is None or since < t['restart_window_s']):
            problems.append('restarted %d times, the last %s' % (
                int(c['restarts']), 'time unknown' if since is None else '%.0f s ago' % since))
        checks.append(_check('container:' + c['name'], not problems,
                             '%s %s' % (c['name'], ', '.join(problems) if problems else 'running, healthy'),
                             int(c.get('restarts') or 0)))
    return checks


def http_checks(endpoints):
    """endpoints: [{'name', 'status', 'body', 'expect'}]: green when the status is 200 and the body holds `expect`
    (n8n answers 200 "n8n is starting up" during migrations)."""
    checks = []
    for e in endpoints:
        ok = e.get('status') == 200 and (e.get('expect') or '') in (e.get('body') or '')
        checks.append(_check('http:' + e['name'], ok, '%s answered %s%s' % (
            e['name'], e.get('status') or 'nothing', '' if ok else ' (%r)' % (e.get('body') or '')[:80])))
    return checks


def redis_replies(lines):
    """redis-cli's answers to PING, INFO memory, LLEN wait, LLEN active, ZCARD delayed, ZCARD failed, LINDEX wait -1
    (in that order, one command per line on stdin) -> (info dict, queue counts, id of the oldest waiting job or '');
    None when Redis did not answer PONG."""
    lines = [line.strip() for line in lines or []]
    if not lines or lines[0] != 'PONG':
        return None
    info = dict(line.split(':', 1) for line in lines if ':' in line and not line.startswith('#'))
    rest = [line for line in lines[1:] if line and ':' not in line and not line.startswith('#')]
    counts = [int(x) for x in rest[:4] if x.lstrip('-').isdigit()]
    queue = dict(zip(('waiting', 'active', 'delayed', 'failed'), counts)) if len(counts) == 4 else {}
    return info, queue, rest[4] if len(rest) > 4 else ''


def redis_checks(redis, t):
    if not redis.get('ping'):
        return [_check('redis', False, 'Redis does not answer PING: %s' % (redis.get('error') or 'no answer'))]
    used, limit = int(redis.get('used_memory') or 0), int(redis.get('limit') or 0)
    pct = _pct(used, limit)
    return [_check('redis', True, 'Redis answers PING'),
            _check('redis_memory', not limit or pct <= t['redis_memory_pct'],
                   'Redis uses %d MB of its %d MB limit (%.0f %%, red above %.0f %%)'
                   % (used // 2 ** 20, limit // 2 ** 20, pct, t['redis_memory_pct']), round(pct, 1))]


def postgres_checks(pg, t):
    if not pg.get('reachable'):
        return [_check('postgres', False, 'PostgreSQL is not reachable: %s' % (pg.get('error') or 'no answer'))]
    checks = [_check('postgres', True, 'PostgreSQL answers (database %d MB)' % (int(pg.get('db_size') or 0) // 2 ** 20),
                     int(pg.get('db_size') or 0))]
    pct = _pct(pg['connections'], pg['max_connections'])
    checks.append(_check('postgres_connections', pct <= t['connections_pct'],
                         '%d of max_connections %d in use (%.0f %%, red above %.0f %%)'
                         % (pg['connections'], pg['max_connections'], pct, t['connections_pct']), round(pct, 1)))
    hit, read = int(pg.get('blks_hit') or 0), int(pg.get('blks_read') or 0)
    ratio = hit / float(hit + read) if hit + read else 1.0
    judged = hit + read >= t['cache_hit_min_reads']
    checks.append(_check('postgres_cache_hit', not judged or ratio >= t['cache_hit_min'],
                         'cache hit ratio %.3f%s' % (ratio, ' (red below %.2f)' % t['cache_hit_min'] if judged
                                                     else ' (not judged below %d blocks)' % t['cache_hit_min_reads']),
                         round(ratio, 4)))
    for key, name, what in (('longest_query_s', 'postgres_longest_query', 'longest running query'),
                            ('oldest_xact_s', 'postgres_oldest_transaction', 'oldest open transaction')):
        age = float(pg.get(key) or 0)
        checks.append(_check(name, age <= t[key], '%s: %.0f s (red above %.0f s)' % (what, age, t[key]),
                             round(age, 1)))
    return checks


def disk_checks(disks, t):
    """disks: {label: {'path', 'free', 'total'}} in bytes (the Docker data root, the backup root)."""
    checks = []
    for label in sorted(disks):
        d = disks[label]
        pct = _pct(d['free'], d['total'])
        checks.append(_check('disk:' + label, pct >= t['disk_free_pct'],
                             '%s (%s): %.1f GB free of %.1f GB (%.0f %%, red below %.0f %%)'
                             % (label, d['path'], d['free'] / 2.0 ** 30, d['total'] / 2.0 ** 30, pct,
                                t['disk_free_pct']), round(pct, 1)))
    return checks


def _epoch(iso):
    """ISO 8601 time as the backup role writes it (UTC, with or without an offset) -> epoch seconds."""
    from datetime import datetime, timezone
    when = datetime.fromisoformat(str(iso).replace('Z', '+00:00'))
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def backup_check(status, now, t, data_age_s=None):
    """The backup role's status.json ({'result': ok|failed, 'time', 'set', 'task', 'last_good_set',
    'last_good_time'}) or None when no backup has run: red when the last run failed or the last good set is older
    than the threshold. No backup yet on a stack whose data (data_age_s: its oldest volume's age) is younger than
    the threshold is green, saying so: a fresh deploy's first set is the next nightly run, and a red from the
    first minute on would teach users to ignore the check. Red once the data is older than the threshold."""
    if not status:
        if data_age_s is not None and data_age_s / 3600.0 <= t['backup_max_age_h']:
            return _check('backup', True, 'no backup yet: the stack\'s data is %.1f h old, the first set is due with '
                          'the nightly job (red when none exists at %.0f h; playbooks/backup.yml takes one now)'
                          % (data_age_s / 3600.0, t['backup_max_age_h']))
        return _check('backup', False, 'no backup has run (no status.json under the backup root)')
    good = status.get('last_good_time')
    age_h = (now - _epoch(good)) / 3600.0 if good else None
    last_good = ('the last good set %s is %.1f h old' % (status.get('last_good_set'), age_h) if good
                 else 'there is no good set')
    if status.get('result') != 'ok':
        return _check('backup', False, 'the last backup (%s) failed%s; %s' % (
            status.get('time') or '?', ' at "%s"' % status['task'] if status.get('task') else '', last_good),
            None if age_h is None else round(age_h, 2))
    return _check('backup', age_h is not None and age_h <= t['backup_max_age_h'],
                  '%s (red above %.0f h)' % (last_good, t['backup_max_age_h']),
                  None if age_h is None else round(age_h, 2))


def redis_queue_clients(lines):
    """Redis' CLIENT LIST (one client per line: `addr=IP:port`, `name=` among its fields) -> {IP: number of queue
    connections}, a queue connection being one named `bull:...`: a Bull worker names its blocking connection so (it
    is how Bull's getWorkers() lists workers). Addresses with only other connections map to 0. What Redis itself
    holds: a worker whose queue connection Redis dropped while the worker still thinks it open (a half-open TCP
    connection after a network blip, n8n #37581) has none here, yet its readiness stays green."""
    counts = {}
    for line in lines or []:
        fields = dict(f.split('=', 1) for f in line.split() if '=' in f)
        if 'addr' in fields:
            ip = fields['addr'].rsplit(':', 1)[0].strip('[]')
            counts[ip] = counts.get(ip, 0) + (1 if fields.get('name', '').startswith('bull:') else 0)
    return counts


def stuck_queue(queue, workers, t):
    """Red when jobs have waited longer than the threshold while the queue should be moving, naming the likely cause.

    queue: {'waiting', 'active', 'oldest_wait_s', 'stalled'}; workers: [{'name', 'state', 'paused', 'command', 'concurrency',
    'redis_ok', 'queue_clients', 'stopped_process', 'started_s_ago'}] (stopped_process: a process of the container is
    stopped, /proc state T; queue_clients: the queue connections Redis holds from the worker, None if unknown).
    The red check carries `suspects`: the workers a restart may bring back (see remediation())."""
    waiting, age = int(queue.get('waiting') or 0), float(queue.get('oldest_wait_s') or 0)
    stalled = int(queue.get('stalled') or 0)
    running = [w for w in workers if w.get('state') == 'running']
    slots = sum(int(w.get('concurrency') or 0) for w in running)
    active = int(queue.get('active') or 0)
    if (waiting == 0 or age <= t['queue_wait_s']) and not stalled:
        return _check('queue', True, '%d waiting, %d active in %d worker slots' % (waiting, active, slots), waiting)
    causes, suspects = [], []
    grace = max(t['queue_wait_s'], STARTUP_GRACE_S)
    starting = [w for w in running if w.get('started_s_ago') is not None and w['started_s_ago'] < grace]
    if not running:
        causes.append('no worker is running (start them: playbooks/scale_workers.yml)')
    for w in running:
        cmd = w.get('command') or []
        if 'worker' not in cmd:
            causes.append('%s was started without the `worker` command (%s): it does not consume the queue'
                          % (w['name'], ' '.join(cmd) or 'no command'))
        elif w.get('paused') or w.get('stopped_process'):
            causes.append('%s stopped consuming (%s) while its container still runs: restart it'
                          % (w['name'], 'paused' if w.get('paused') else 'its n8n process is stopped'))
            suspects.append(w['name'])
        elif w.get('redis_ok') is False and w not in starting:
            causes.append('%s cannot reach Redis (its readiness fails)' % w['name'])
            suspects.append(w['name'])
        elif w.get('queue_clients') == 0 and w not in starting:
            causes.append('%s looks healthy but Redis holds no queue connection from it, so it takes no jobs (a '
                          'half-open connection after a network blip, n8n #37581): restart it' % w['name'])
            suspects.append(w['name'])
    if not causes and active >= slots and not stalled:
        causes.append('every worker slot is busy (%d active in %d slots): add workers or concurrency'
                      % (active, slots))
    if not causes and starting:
        causes.append('%s started less than %.0f s ago and may not consume yet' % (
            ', '.join(w['name'] for w in starting), grace))
    if not causes:
        causes.append('workers have free slots but do not take jobs: a worker that stopped consuming its queue '
                      'connection - restart the workers')
        suspects = [w['name'] for w in running]
    held = ('%d executions taken from the queue but held by no live worker (active in Bull without a lock)'
            % stalled) if stalled else ''
    late = ('%d executions waiting, the oldest for %.0f s (red above %.0f s)' % (waiting, age, t['queue_wait_s'])
            if waiting and age > t['queue_wait_s'] else '')
    check = _check('queue', False, '%s: %s' % (' and '.join(x for x in (late, held) if x), '; '.join(causes)),
                   waiting + stalled)
    check['suspects'] = suspects
    return check


def evaluate(facts, now, thresholds=None):
    """Every check of the stack from the facts; {'checks': [...], 'red': [names], 'ok': bool}."""
    t = dict(THRESHOLDS, **(thresholds or {}))
    checks = container_checks(facts.get('containers') or [], t)
    checks += http_checks(facts.get('endpoints') or [])
    if 'redis' in facts:
        checks += redis_checks(facts['redis'], t)
    if 'postgres' in facts:
        checks += postgres_checks(facts['postgres'], t)
    checks += disk_checks(facts.get('disks') or {}, t)
    if 'backup' in facts:
        checks.append(backup_check(facts['backup'], now, t, facts.get('data_age_s')))
    if 'queue' in facts:
        checks.append(stuck_queue(facts['queue'], facts.get('workers') or [], t))
    red = [c['name'] for c in checks if c['status'] == RED]
    return dict(checks=checks, red=red, ok=not red)


def transitions(previous, checks, confirm=1):
    """Alert on state changes only. previous: {name: {'alerted': status, 'streak': n, 'seen': status}} from the
    last run (kept on disk); a new status is alerted once it was seen `confirm` runs in a row, so an item flapping
    between two runs does not alert each time. Returns (new state, [{'name', 'from', 'to', 'message'}]).
    `alerted` is the status the receiver was last told of; after_delivery() keeps it there when a POST fails."""
    state, alerts = {}, []
    for c in checks:
        old = previous.get(c['name']) or dict(alerted=GREEN, streak=0, seen=GREEN)
        streak = old.get('streak', 0) + 1 if c['status'] == old.get('seen') else 1
        alerted = old.get('alerted', GREEN)
        if c['status'] != alerted and streak >= confirm:
            alerts.append(dict(name=c['name'], to=c['status'], message=c['message'], **{'from': alerted}))
            alerted = c['status']
        state[c['name']] = dict(alerted=alerted, streak=streak, seen=c['status'])
    for name, old in previous.items():  # a check that disappeared (a removed worker) is not an alert
        state.setdefault(name, old)
    return state, alerts


def alert_message(alert, host, now):
    """The JSON object POSTed for one alert: `text` for a chat webhook, the fields for anything else. `time` is
    the run's (UTC), for an alert tried again after a failed POST too."""
    return dict(text=alert_text(alert, host), check=alert['name'], host=host, message=alert['message'], to=alert['to'],
                time=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now)), **{'from': alert['from']})


def after_delivery(state, alerts):
    """The retry bookkeeping after the POSTs of transitions()' alerts, each marked `delivered` (and `error` when
    not). A check whose alert was not delivered keeps, as `alerted`, the status the receiver last heard of (the
    alert's `from`): the next run's transitions() then alerts it again while the check is still in its new status,
    with that run's message, and drops it when the check went back meanwhile - for the receiver nothing changed.
    That is the whole spool of undelivered alerts: at most one per check, in the state file, tried every run until
    a POST succeeds. Returns (new state, one warning per alert not delivered); `state` is left as it was."""
    state = dict(state)
    warnings = []
    for a in alerts:
        if not a.get('delivered'):
            state[a['name']] = dict(state[a['name']], alerted=a['from'])
            warnings.append('alert for %s not delivered: %s' % (a['name'], a.get('error') or 'no reason given'))
    return state, warnings


STATE_UNREADABLE = 'cannot read the state file %s (%s): move it away to start afresh'


def read_state(text, path):
    """The state file's text -> {'checks': the alert state transitions() takes, 'actions': the remediation
    history}; None (no file yet, the first run) -> an empty state. ValueError naming the file when it is not
    a state stack_health wrote."""
    if text is None:
        return dict(checks={}, actions=[])
    try:
        state = json.loads(text)
    except ValueError as exc:
        raise ValueError(STATE_UNREADABLE % (path, exc)) from exc
    if not isinstance(state, dict) or not isinstance(state.get('checks') or {}, dict) \
            or not isinstance(state.get('actions') or [], list):
        raise ValueError(STATE_UNREADABLE % (path, 'not a JSON object with checks {} and actions []'))
    return dict(checks=state.get('checks') or {}, actions=state.get('actions') or [])


def state_content(checks, actions, now):
    """What the state file holds after a run: the alert state of every check (transitions(), then
    after_delivery()) and the remediation history - the earlier runs' actions followed by this run's - of the last
    ACTIONS_KEEP_S, at most the newest ACTIONS_KEEP."""
    kept = [a for a in actions if now - float(a.get('time') or 0) < ACTIONS_KEEP_S]
    return dict(checks=checks, actions=kept[-ACTIONS_KEEP:])


def lockless(active_ids, exists_replies):
    """Bull job ids in the active list whose lock key does not exist (EXISTS replied 0): no live worker holds
    them. A worker stopped mid-poll still has its blocking BRPOPLPUSH served by Redis, so its jobs move to
    `active` and stay there, unlocked, while the queue looks empty."""
    return [i for i, r in zip(active_ids, exists_replies) if str(r).strip() == '0']


def remediation(checks, history, now, max_per_hour):
    """Opt-in remediation of a stuck queue: restart the workers the red queue check suspects, each at most
    `max_per_hour` times in the last hour. history: earlier actions [{'time', 'worker', 'action'}].
    Returns (workers to restart, [{'worker', 'reason'}] left alone)."""
    queue = next((c for c in checks if c['name'] == 'queue' and c['status'] == RED), None)
    restart, skipped = [], []
    for worker in (queue or {}).get('suspects') or []:
        recent = [a for a in history if a.get('worker') == worker and a.get('action') == 'restart'
                  and now - float(a.get('time') or 0) < 3600]
        if len(recent) >= max_per_hour:
            skipped.append(dict(worker=worker, reason='restarted %d times in the last hour (limit %d): a restart '
                                'does not help, look at its logs' % (len(recent), max_per_hour)))
        else:
            restart.append(worker)
    return restart, skipped


def alert_text(alert, host):
    """One line for a chat webhook: which check on which host went from what to what, and why."""
    return '[n8n_ops] %s: %s %s -> %s: %s' % (host, alert['name'], alert['from'].upper(), alert['to'].upper(),
                                              alert['message'])


_NAME = re.compile(r'[^a-zA-Z0-9_:]')


def _label(value):
    return str(value).replace('\\', '\\\\').replace('\n', '\\n').replace('"', '\\"')


def textfile(checks, gauges=None, prefix='n8n_ops'):
    """Prometheus text exposition (node_exporter textfile collector): one `<prefix>_check_ok{check=...}` per check
    and any extra gauges {metric: [(labels dict, value)]}. Valid under `promtool check metrics`."""
    lines = ['# HELP %s_check_ok 1 when the health check is green, 0 when red.' % prefix,
             '# TYPE %s_check_ok gauge' % prefix]
    for c in checks:
        lines.append('%s_check_ok{check="%s"} %d' % (prefix, _label(c['name']), 1 if c['status'] == GREEN else 0))
    for metric, samples in sorted((gauges or {}).items()):
        name = prefix + '_' + _NAME.sub('_', metric)
        lines.append('# HELP %s %s' % (name, metric.replace('_', ' ')))
        lines.append('# TYPE %s gauge' % name)
        for labels, value in samples:
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            rendered = ','.join('%s="%s"' % (_NAME.sub('_', k), _label(v)) for k, v in sorted(labels.items()))
            lines.append('%s%s %s' % (name, '{%s}' % rendered if rendered else '', repr(float(value))
                                      if isinstance(value, float) else int(value)))
    return '\n'.join(lines) + '\n'


def table(result):
    """The human table: one line per check, red first."""
    rows = sorted(result['checks'], key=lambda c: (c['status'] != RED, c['name']))
    width = max([len(c['name']) for c in rows] + [5])
    return '\n'.join('%-5s  %-*s  %s' % (c['status'].upper(), width, c['name'], c['message']) for c in rows)
