# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""Queue-mode verification (pure): Bull's queue counts from redis-cli, and who ran a burst of executions.

The stack's `check_queue` entry point fires a burst, waits for the queue to drain and hands the raw facts here:
worker log lines (`Worker started execution <id>`), each worker container's state, and the executions' statuses.
"""

from __future__ import annotations

BULL_KEYS = ('waiting', 'active', 'delayed', 'failed')
# What check_queue sends to redis-cli, in BULL_KEYS order (prefix `bull`, queue `jobs`: n8n's defaults).
BULL_COMMANDS = ('LLEN bull:jobs:wait', 'LLEN bull:jobs:active', 'ZCARD bull:jobs:delayed', 'ZCARD bull:jobs:failed')
FINISHED = ('success', 'error', 'crashed', 'canceled')


def bull_query(dummy=None):
    """BULL_COMMANDS as redis-cli's stdin, one command per line (the filter form takes any input)."""
    return '\n'.join(BULL_COMMANDS) + '\n'


def bull_counts(lines):
    """redis-cli answers to BULL_COMMANDS (one integer per line) -> {'waiting', 'active', 'delayed', 'failed'}."""
    values = [line.strip() for line in lines or [] if line.strip()]
    if len(values) != len(BULL_KEYS) or not all(v.lstrip('-').isdigit() for v in values):
        raise ValueError('expected %d integers from redis-cli (%s), got %r'
                         % (len(BULL_KEYS), '; '.join(BULL_COMMANDS), values))
    return dict(zip(BULL_KEYS, (int(v) for v in values)))


def drained(counts):
    """Nothing waiting, running or delayed in the queue."""
    return counts['waiting'] + counts['active'] + counts['delayed'] == 0


def worker_states(state_lines, rss_lines):
    """Lines 'state <name> <health> <oom killed> <restarts>' and 'rss <name> <kB>' -> [{'name', 'healthy',
    'oom_killed', 'restarts', 'peak_rss_kb'}]."""
    rss = {}
    for line in rss_lines or []:
        parts = line.split()
        if len(parts) == 3 and parts[2].isdigit():
            rss[parts[1]] = int(parts[2])
    workers = []
    for line in state_lines or []:
        parts = line.split()
        if len(parts) != 5:
            raise ValueError('unexpected worker state line %r' % line)
        workers.append(dict(name=parts[1], healthy=parts[2] == 'healthy', oom_killed=parts[3] == 'true',
                            restarts=int(parts[4]), peak_rss_kb=rss.get(parts[1])))
    return workers


def distribution(ran, ids, workers, statuses, require_all_busy=True, expected_workers=None):
    """Who ran the burst, and what is wrong with it.

    ran: {container: [execution ids]} from the workers' logs; ids: the burst's execution ids; workers:
    [{'name', 'healthy', 'peak_rss_kb', 'oom_killed', 'restarts'}]; statuses: {execution id: status}.
    Returns {'workers': [{name, executions, peak_rss_kb, oom_killed, restarts, healthy}], 'on_main': [ids],
    'not_finished': [ids], 'failed': {id: status}, 'problems': [messages]} - problems empty means proven.
    expected_workers: how many the plan runs (the merged project's replicas); another count is a problem, and so
    is an unhealthy worker (a proof that "every worker shares the work" must not pass with one of them missing)."""
    ids = [str(i) for i in ids]
    wanted = set(ids)
    taken = {name: [i for i in executions if i in wanted] for name, executions in (ran or {}).items()}
    rows = []
    for w in sorted(workers, key=lambda w: w['name']):
        rows.append(dict(name=w['name'], executions=len(taken.get(w['name'], [])), healthy=bool(w.get('healthy')),
                         peak_rss_kb=w.get('peak_rss_kb'), oom_killed=bool(w.get('oom_killed')),
                         restarts=int(w.get('restarts') or 0)))
    on_workers = set(i for executions in taken.values() for i in executions)
    on_main = [i for i in ids if i not in on_workers]
    not_finished = [i for i in ids if statuses.get(i) not in FINISHED]
    failed = dict((i, statuses[i]) for i in ids if statuses.get(i) in FINISHED and statuses[i] != 'success')
    problems = []
    if not ids:
        problems.append('no execution was recorded for the burst')
    if on_main:
        problems.append('%d executions did not run on a worker (no "Worker started execution" line): %s'
                        % (len(on_main), ', '.join(on_main)))
    if not_finished:
        problems.append('%d executions did not finish: %s' % (len(not_finished), ', '.join(
            '%s (%s)' % (i, statuses.get(i, 'missing')) for i in not_finished)))
    if failed:
        problems.append('%d executions failed: %s' % (len(failed), ', '.join(
            '%s (%s)' % item for item in sorted(failed.items()))))
    if expected_workers is not None and len(rows) != int(expected_workers):
        problems.append('%d workers ran, the plan has %d' % (len(rows), int(expected_workers)))
    unhealthy = [r['name'] for r in rows if not r['healthy']]
    if unhealthy:
        problems.append('workers not healthy: %s' % ', '.join(unhealthy))
    idle = [r['name'] for r in rows if r['healthy'] and r['executions'] == 0]
    if require_all_busy and idle:
        problems.append('healthy workers took no execution of %d: %s' % (len(ids), ', '.join(idle)))
    oom = [r['name'] for r in rows if r['oom_killed']]
    if oom:
        problems.append('workers killed for memory (OOM): %s' % ', '.join(oom))
    return dict(workers=rows, on_main=on_main, not_finished=not_finished, failed=failed, problems=problems)


def worker_concurrency(commands, default=10):
    """The largest `--concurrency=N` among the workers' command lines (JSON arrays from docker inspect); n8n's
    default (10) for a worker started without it."""
    import json
    found = []
    for line in commands or []:
        args = json.loads(line) if line.strip().startswith('[') else line.split()
        values = [a.split('=', 1)[1] for a in args or [] if str(a).startswith('--concurrency=')]
        found.append(int(values[-1]) if values and values[-1].isdigit() else default)
    return max(found) if found else default


def burst_size(replicas, concurrency):
    """Executions in a burst that every worker must share: one more than all but one worker can hold at once."""
    replicas, concurrency = int(replicas), int(concurrency)
    return max(2, (replicas - 1) * concurrency + replicas)


def job_seconds(jobs, enqueue_per_second=10.0, margin=3):
    """How long each execution holds its slot so none finishes before the whole burst is queued (main enqueues
    ~15 webhook calls per second on 2 cores; 10 leaves room)."""
    return int(int(jobs) / enqueue_per_second) + margin


def summary(report):
    """One line per worker for the play output: 'n8n-n8n-worker-1: 7 executions, 366 MB peak RSS'."""
    lines = []
    for w in report['workers']:
        line = '%s: %d executions, %s peak RSS' % (
            w['name'], w['executions'], '%d MB' % (w['peak_rss_kb'] // 1024) if w.get('peak_rss_kb') else 'unknown')
        if w.get('restarts'):
            line += ', %d restarts' % w['restarts']
        if not w.get('healthy'):
            line += ' (not healthy)'
        lines.append(line)
    return lines
