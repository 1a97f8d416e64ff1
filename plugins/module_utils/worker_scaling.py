# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""n8n worker scaling (pure): input checks, the stack's memory and connection budget, and the autoscaler's decision.

Memory is what the Docker host sees (on WSL2 the VM's, not Windows'), compared with every container's limit; database
connections are counted as pg_tuning counts them for max_connections (main's and every worker's pool,
DB_POSTGRESDB_POOL_SIZE, plus our headroom). The autoscaler is one function from the queue's numbers to a target replica count, with a cool-down and
hysteresis so a bursty queue does not flap.
"""

from __future__ import annotations

import math

from ansible_collections.n8n_ops.stack.plugins.module_utils import pg_tuning
from ansible_collections.n8n_ops.stack.plugins.module_utils.pg_tuning import (
    CONNECTION_HEADROOM, format_kb, parse_memory)

BUDGET_SHARE = 0.8      # of the host's memory: the OS, Docker and the page cache need the rest
MAX_REPLICAS = 50
# Names users copy from blog posts; n8n ignores them. Value: what to use instead.
FICTIONAL_ENV = {
    'EXECUTIONS_CONCURRENCY': 'worker_scaling_concurrency (n8n worker --concurrency=N)',
    'QUEUE_WORKER_CONCURRENCY': 'worker_scaling_concurrency (n8n worker --concurrency=N)',
}


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def _cpus_ok(x):
    if x in (None, '', 0):
        return True
    return isinstance(x, (int, float)) and not isinstance(x, bool) and 0 < x <= 256


def _share_ok(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and 0 < x <= 1


def input_errors(v):
    """Messages naming each bad input ([] when fine): replicas, concurrency, limits, graceful shutdown, extra env."""
    errors = []
    checks = [
        ('worker_scaling_replicas', v.get('replicas'), lambda x: _is_int(x) and 1 <= x <= MAX_REPLICAS,
         'an integer from 1 to %d' % MAX_REPLICAS),
        ('worker_scaling_concurrency', v.get('concurrency'), lambda x: _is_int(x) and 1 <= x <= 1000,
         'an integer from 1 to 1000 (n8n advises at least 5)'),
        ('worker_scaling_graceful_timeout', v.get('graceful_timeout'), lambda x: _is_int(x) and 1 <= x <= 3600,
         'seconds from 1 to 3600'),
        ('worker_scaling_cpus', v.get('cpus'), _cpus_ok, 'empty or a number of CPUs above 0 (e.g. 0.5)'),
        ('worker_scaling_heap_share', v.get('heap_share', 0.75), _share_ok, 'a share above 0 and at most 1 (e.g. 0.75)'),
        ('worker_scaling_memory_share', v.get('share', BUDGET_SHARE), _share_ok, 'a share above 0 and at most 1'),
        ('stack_db_pool_size', v.get('pool_size', pg_tuning.DB_POOL_SIZE), pg_tuning.pool_size_ok,
         'an integer from 1 to %d (DB_POSTGRESDB_POOL_SIZE)' % pg_tuning.DB_POOL_SIZE_MAX),
    ]
    for name, value, ok, what in checks:
        if not ok(value):
            errors.append('%s must be %s, got %r' % (name, what, value))
    low, high = v.get('min_replicas', 1), v.get('max_replicas', 0)
    if not (_is_int(low) and 1 <= low <= MAX_REPLICAS):
        errors.append('worker_scaling_min_replicas must be an integer from 1 to %d, got %r' % (MAX_REPLICAS, low))
    elif not (_is_int(high) and 0 <= high <= MAX_REPLICAS) or 0 < high < low:
        errors.append('worker_scaling_max_replicas must be 0 (the memory budget decides) or an integer from '
                      'worker_scaling_min_replicas (%r) to %d, got %r' % (low, MAX_REPLICAS, high))
    try:
        parse_memory(v.get('memory'), 'worker_scaling_memory')
    except ValueError as exc:
        errors.append(str(exc))
    for name in sorted(v.get('extra_env') or {}):
        if name in FICTIONAL_ENV:
            errors.append('%s is not an n8n setting (n8n ignores it): use %s' % (name, FICTIONAL_ENV[name]))
    return errors


def node_heap_mb(memory, share=0.75):
    """node's --max-old-space-size for a worker limit: the heap stays below the cgroup limit, so V8 collects garbage
    (or fails one execution with a heap error) before the kernel OOM-kills the whole worker."""
    return max(64, int(parse_memory(memory, 'worker_scaling_memory') / 1024 * share))


def stack_limits(lines):
    """Lines '<compose service> <memory limit in bytes>' of the running containers -> {'postgres', 'redis', 'main'}
    in bytes; a missing service or one without a limit is named in 'errors'."""
    seen = {}
    for line in lines or []:
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            seen.setdefault(parts[0], int(parts[1]))
    limits, errors = {}, []
    for key, service in (('postgres', 'postgres'), ('redis', 'redis'), ('main', 'n8n')):
        if service not in seen:
            errors.append('the %s service is not running: start the stack first' % service)
        elif seen[service] <= 0:
            errors.append('the %s container has no memory limit, so no budget can be checked: deploy it with the '
                          'stack role (stack_memory_limits)' % service)
        else:
            limits[key] = seen[service]
    return dict(limits=limits, errors=errors)


def _human(kb):
    return '%.1f GB' % (kb / 1048576.0) if kb >= 1048576 else '%d MB' % (kb // 1024)


def memory_budget(limits, replicas, host_memory, share=BUDGET_SHARE):
    """Every container's memory limit against `share` of the host's memory. limits: {postgres, redis, main, worker}
    as Docker sizes. Returns {'parts_kb', 'total_kb', 'allowed_kb', 'ok', 'message'}; the message names every number."""
    parts = {name: parse_memory(limits[name], 'stack_memory_limits.' + name) for name in ('postgres', 'redis', 'main')}
    worker = parse_memory(limits['worker'], 'worker memory limit')
    parts['workers'] = worker * replicas
    total = sum(parts.values())
    host = parse_memory(host_memory, 'host memory')
    allowed = int(host * share)
    message = ('postgres %s + redis %s + main %s + %d workers x %s = %s %s %d %% of the memory the Docker host sees (%s '
               'of %s)' % (format_kb(parts['postgres']), format_kb(parts['redis']), format_kb(parts['main']), replicas,
                           format_kb(worker), format_kb(total), 'fits in' if total <= allowed else 'is above',
                           int(share * 100), _human(allowed), _human(host)))
    return dict(parts_kb=parts, total_kb=total, allowed_kb=allowed, ok=total <= allowed, message=message)


def connection_budget(replicas, pool_size, max_connections):
    """n8n's pools (main and every worker, DB_POSTGRESDB_POOL_SIZE each) + our headroom against PostgreSQL's
    max_connections, as pg_tuning derives it; a refusal says the command that gets past it."""
    needed = pg_tuning.n8n_connections(replicas, pool_size) + CONNECTION_HEADROOM
    max_connections = int(max_connections)
    message = ('(%d workers + 1 main) x pool %d + %d (ours) = %d connections %s max_connections %d'
               % (replicas, pool_size, CONNECTION_HEADROOM, needed,
                  'within' if needed <= max_connections else 'above', max_connections))
    if needed > max_connections:  # the way out, as a command (max_connections needs a PostgreSQL restart)
        message += ('; raise it first: ansible-playbook playbooks/tune_postgres.yml -e pg_tuning_workers=%d '
                    '(or -e pg_tuning_max_connections=%d), then scale again' % (replicas, needed))
    return dict(needed=needed, max_connections=max_connections, ok=needed <= max_connections, message=message)


def max_replicas(limits, host_memory, share=BUDGET_SHARE):
    """The most workers the memory budget allows (0 when even the rest does not fit)."""
    rest = memory_budget(limits, 0, host_memory, share)
    room = rest['allowed_kb'] - rest['total_kb']
    return max(0, min(MAX_REPLICAS, room // parse_memory(limits['worker'], 'worker memory limit')))


def decide(waiting, active, replicas, concurrency, min_replicas, max_replicas, since_change_s, cooldown_s=300,
           down_utilisation=0.5):
    """The autoscaler's target replica count from Bull's queue: {'target', 'action', 'reason'}.

    Up (at once by as many workers as the queued jobs fill) when jobs wait; down (one at a time) only when nothing
    waits and the active jobs would fit in one worker fewer at `down_utilisation` of its slots - the gap between the
    two conditions is the hysteresis. No change at all within `cooldown_s` of the last one. Out-of-range replica
    counts are brought back into [min, max] first."""
    if replicas < min_replicas or replicas > max_replicas:
        target = min(max(replicas, min_replicas), max_replicas)
        return dict(target=target, action='up' if target > replicas else 'down',
                    reason='%d replicas is outside [%d, %d]' % (replicas, min_replicas, max_replicas))
    if since_change_s is not None and since_change_s < cooldown_s:
        return dict(target=replicas, action='none',
                    reason='cool-down: last change %ds ago (< %ds)' % (since_change_s, cooldown_s))
    if waiting > 0 and replicas < max_replicas:
        target = min(max_replicas, replicas + int(math.ceil(waiting / float(concurrency))))
        return dict(target=target, action='up', reason='%d jobs waiting, %d active in %d slots'
                    % (waiting, active, replicas * concurrency))
    fewer = replicas - 1
    if waiting == 0 and fewer >= min_replicas and active <= fewer * concurrency * down_utilisation:
        return dict(target=fewer, action='down', reason='nothing waiting, %d active fit %d workers at %d %%'
                    % (active, fewer, int(down_utilisation * 100)))
    return dict(target=replicas, action='none', reason='%d waiting, %d active in %d slots'
                % (waiting, active, replicas * concurrency))


def sizing_table(host_memories, limits, concurrency, share=BUDGET_SHARE, pool_size=pg_tuning.DB_POOL_SIZE):
    """Rows for docs/SCALING.md: per host memory, the most workers and the execution slots they give."""
    rows = []
    for host in host_memories:
        n = max_replicas(limits, host, share)
        rows.append(dict(host=host, workers=n, slots=n * concurrency,
                         max_connections=pg_tuning.n8n_connections(n, pool_size) + CONNECTION_HEADROOM))
    return rows
