# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""PostgreSQL tuning (pure): one function from the container's resources to settings, plus the checks.

PGTune's formulas (le0pard/pgtune) on the memory and CPUs the *postgres container* gets, never the host's, an
`n8n` profile for n8n's workload (large JSON execution rows written once, read by id, pruned by age), a memory
budget check (postgresqltuner's) that refuses plans which could be OOM-killed, and validated user overrides.
Sizes are kB internally (PostgreSQL's own unit for memory settings); settings come out as PostgreSQL strings.
"""

from __future__ import annotations

import math
import re

from ansible_collections.n8n_ops.stack.plugins.module_utils import bench_stats

KB, MB, GB, TB = 1, 1024, 1024 ** 2, 1024 ** 3
PROFILES = ('web', 'oltp', 'mixed', 'n8n')
STORAGE = ('ssd', 'hdd', 'san')
SUPPORTED_MAJORS = (14, 18)
MEMORY_FLOOR_KB = 256 * MB          # below this there is nothing to tune: PostgreSQL's defaults fit
BUDGET_FRACTION = 0.8               # of the container limit: page cache and the rest of the container need room
WORK_MEM_FACTOR = 1.5               # a query may use several work_mem areas (sorts, hashes); postgresqltuner's factor
# Every n8n process (main, each worker) opens at most DB_POSTGRESDB_POOL_SIZE connections (n8n's default 2, set
# explicitly by the stack); a worker's concurrency shares them, it does not add connections.
DB_POOL_SIZE = 2
DB_POOL_SIZE_MAX = 100
# Ours beside n8n's: backups (pg_dump), monitoring, psql, the tuning gate's pgbench clients, db_owner,
# superuser_reserved_connections (3).
CONNECTION_HEADROOM = 20
# Never touched by the tuner: they trade durability for speed. synchronous_commit only with an explicit opt-in.
DATA_SAFETY = ('fsync', 'full_page_writes', 'synchronous_commit', 'wal_sync_method')
# Minimum and maximum WAL per profile (PGTune), GB.
WAL_SIZES = {'web': (1, 4), 'oltp': (2, 8), 'mixed': (1, 4), 'n8n': (1, 4)}
DEFAULT_CONNECTIONS = {'web': 200, 'oltp': 300, 'mixed': 100}
MEMORY_SETTINGS = ('shared_buffers', 'effective_cache_size', 'maintenance_work_mem', 'work_mem', 'wal_buffers',
                   'min_wal_size', 'max_wal_size', 'autovacuum_work_mem', 'temp_buffers')

_SIZE_RE = re.compile(r'^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$', re.I)
_PG_SIZE_RE = re.compile(r'^\s*(\d+)\s*(kB|MB|GB|TB)?\s*$')


def parse_memory(value, name='memory'):
    """Bytes-free size in kB from an int (bytes) or a Docker/Compose/PostgreSQL string: 1g, 768m, 1GiB, 512MB."""
    if isinstance(value, bool):
        raise ValueError('%s must be a size like 1g, 768m or 2GB, got %r' % (name, value))
    if isinstance(value, int):
        if value <= 0:
            raise ValueError('%s must be positive, got %r' % (name, value))
        return value // 1024
    m = _SIZE_RE.match(str(value))
    if not m:
        raise ValueError('%s must be a size like 1g, 768m or 2GB, got %r' % (name, value))
    number, unit = float(m.group(1)), m.group(2).lower()
    if not unit and not m.group(3):  # a bare number: bytes, as Docker reads it
        kb = number / 1024
    else:
        kb = number * {'': 1 / 1024, 'k': KB, 'm': MB, 'g': GB, 't': TB}[unit]
    if kb < 1:
        raise ValueError('%s must be at least 1kB, got %r' % (name, value))
    return int(kb)


def parse_pg_memory(value, name):
    """kB from a PostgreSQL memory value ('256MB', '64kB', '1GB' or a number of kB)."""
    m = _PG_SIZE_RE.match(str(value))
    if not m:
        raise ValueError('%s must be a PostgreSQL memory size like 256MB, 64kB or 1GB, got %r' % (name, value))
    return int(m.group(1)) * {None: KB, 'kB': KB, 'MB': MB, 'GB': GB, 'TB': TB}[m.group(2)]


def format_kb(kb):
    """The largest exact unit PostgreSQL accepts: 262144 -> '256MB', 1048576 -> '1GB', 1500 -> '1500kB'."""
    for unit, size in (('TB', TB), ('GB', GB), ('MB', MB)):
        if kb >= size and kb % size == 0:
            return '%d%s' % (kb // size, unit)
    return '%dkB' % kb


def _floor_mb(kb):
    """Round down to whole MB above 1 MB (PGTune's output style); small values stay in kB."""
    return kb - kb % MB if kb >= MB else kb


def pool_size_ok(value):
    """A DB_POSTGRESDB_POOL_SIZE the budgets accept (one bound for the stack, pg_tuning and worker_scaling)."""
    return _is_int(value) and 1 <= value <= DB_POOL_SIZE_MAX


def n8n_connections(workers, pool_size=DB_POOL_SIZE):
    """The most connections n8n opens: main and every worker, each its whole pool."""
    return (int(workers) + 1) * int(pool_size)


def default_connections(profile, workers, pool_size=DB_POOL_SIZE):
    """max_connections when not given: for n8n, main's and every worker's pool + our headroom; else PGTune's."""
    if profile == 'n8n':
        return n8n_connections(workers, pool_size) + CONNECTION_HEADROOM
    return DEFAULT_CONNECTIONS[profile]


def rollback_connections_problem(snapshot_settings, workers, pool_size=DB_POOL_SIZE, snapshot='the snapshot'):
    """'' when the snapshot's max_connections (its pg_settings.json) holds what runs now - main's and every running
    worker's pool plus our headroom - else why not and the ways past it. A rollback must not put back a limit that
    refuses n8n's connections after a scale-up (tuned for 2 workers, rolled back under 4)."""
    setting = (snapshot_settings or {}).get('max_connections') or {}
    try:
        have = int(setting.get('value'))
    except (TypeError, ValueError):
        return ''   # a snapshot without the setting recorded: nothing to compare (PostgreSQL's own default then)
    need = default_connections('n8n', workers, pool_size)
    if have >= need:
        return ''
    fits = max((have - CONNECTION_HEADROOM) // int(pool_size) - 1, 0)
    return ('%s has max_connections=%d, but main and the %d running workers need up to %d (%d x pool %d + %d for '
            'backups, monitoring and tuning); scale down first (playbooks/scale_workers.yml -e workers=%d), roll back '
            'to another snapshot, or run tune_postgres.yml without pg_tuning_rollback to size it for them. Nothing was '
            'changed.' % (snapshot, have, int(workers), need, int(workers) + 1, int(pool_size), CONNECTION_HEADROOM, fits))


# --- one function per formula (PGTune), each unit-tested -------------------------------------------------------
def shared_buffers(mem_kb):
    return _floor_mb(mem_kb // 4)


def effective_cache_size(mem_kb):
    return _floor_mb(mem_kb * 3 // 4)


def maintenance_work_mem(mem_kb):
    return min(_floor_mb(mem_kb // 16), 8 * GB)


def wal_buffers(shared_kb):
    """3 % of shared_buffers, 32kB..16MB; PGTune rounds 14-16 MB up to 16 MB."""
    value = shared_kb * 3 // 100
    if 14 * MB < value < 16 * MB:
        value = 16 * MB
    return max(32, min(_floor_mb(value), 16 * MB))


def worker_processes(cpus):
    """(max_worker_processes, max_parallel_workers, per_gather, maintenance) for >= 4 CPUs; None below (defaults)."""
    if cpus < 4:
        return None
    half = int(math.ceil(cpus / 2.0))
    return cpus, cpus, min(half, 4), min(half, 4)


def work_mem(mem_kb, shared_kb, connections, max_workers, profile):
    """(T - shared_buffers) / ((connections + worker processes) x 3), halved for mixed and n8n, at least 4 MB."""
    value = (mem_kb - shared_kb) // ((connections + max_workers) * 3)
    if profile in ('mixed', 'n8n'):
        value //= 2
    return max(_floor_mb(value), 4 * MB)


def work_mem_cap(mem_kb, shared_kb, maintenance_kb, connections, autovacuum_workers=3):
    """The largest work_mem (whole MB, at least 1 MB) the memory budget leaves for every connection: PGTune's
    4 MB floor times hundreds of connections does not fit a small container."""
    room = mem_kb * BUDGET_FRACTION - shared_kb - autovacuum_workers * maintenance_kb
    return max(_floor_mb(int(room / (connections * WORK_MEM_FACTOR))), MB)


def random_page_cost(storage):
    return {'ssd': 1.1, 'san': 1.1, 'hdd': 4.0}[storage]


def effective_io_concurrency(storage):
    return {'ssd': 200, 'san': 300, 'hdd': 2}[storage]


def huge_pages(shared_kb):
    return 'try' if shared_kb >= 2 * GB else 'off'


def budget(settings, connections, autovacuum_workers=3):
    """The worst case the plan allows, in kB, against BUDGET_FRACTION of the limit (postgresqltuner's check).
    Autovacuum workers use autovacuum_work_mem, or maintenance_work_mem when that is -1 (the default)."""
    vacuum = settings.get('autovacuum_work_mem', '-1')
    if str(vacuum) == '-1':
        vacuum = settings['maintenance_work_mem']
    parts = dict(shared_buffers=parse_pg_memory(settings['shared_buffers'], 'shared_buffers'),
                 work_mem=int(connections * parse_pg_memory(settings['work_mem'], 'work_mem') * WORK_MEM_FACTOR),
                 maintenance=autovacuum_workers * parse_pg_memory(vacuum, 'autovacuum_work_mem'))
    return parts, sum(parts.values())


# --- the whole plan ----------------------------------------------------------------------------------------------
def compute(memory, cpus, profile='n8n', storage='ssd', pg_major=17, max_connections=None, workers=2,
            pool_size=DB_POOL_SIZE):
    """Settings for a container with `memory` (limit) and `cpus`; raises ValueError naming the bad input."""
    errors = input_errors(dict(memory=memory, cpus=cpus, profile=profile, storage=storage, pg_major=pg_major,
                               max_connections=max_connections, workers=workers, pool_size=pool_size))
    if errors:
        raise ValueError('; '.join(errors))
    return _settings(memory, cpus, profile, storage, pg_major, max_connections, workers, pool_size)


def _settings(memory, cpus, profile, storage, pg_major, max_connections, workers, pool_size):
    """compute() on inputs already checked by input_errors()."""
    mem = parse_memory(memory)
    connections = max_connections or default_connections(profile, workers, pool_size)
    shared = shared_buffers(mem)
    parallel = worker_processes(cpus)
    wal_min, wal_max = WAL_SIZES[profile]
    s = {
        'max_connections': connections,
        'shared_buffers': format_kb(shared),
        'effective_cache_size': format_kb(effective_cache_size(mem)),
        'maintenance_work_mem': format_kb(maintenance_work_mem(mem)),
        'checkpoint_completion_target': 0.9,
        'wal_buffers': format_kb(wal_buffers(shared)),
        'default_statistics_target': 100,
        'random_page_cost': random_page_cost(storage),
        'effective_io_concurrency': effective_io_concurrency(storage),
        'work_mem': format_kb(min(work_mem(mem, shared, connections, parallel[0] if parallel else 8, profile),
                                  work_mem_cap(mem, shared, maintenance_work_mem(mem), connections))),
        'huge_pages': huge_pages(shared),
        'min_wal_size': format_kb(wal_min * GB),
        'max_wal_size': format_kb(wal_max * GB),
        'jit': 'off',
        'shared_preload_libraries': 'pg_stat_statements',
    }
    if parallel:
        s.update(max_worker_processes=parallel[0], max_parallel_workers=parallel[1],
                 max_parallel_workers_per_gather=parallel[2], max_parallel_maintenance_workers=parallel[3])
    if profile == 'n8n':
        s.update(n8n_settings(pg_major))
    return s


def pgtune(memory, cpus, profile='mixed', storage='ssd', max_connections=None):
    """What PGTune itself prints for these inputs (its formulas, uncapped work_mem, none of our additions): the
    baseline the benchmark compares against. profile: web, oltp or mixed."""
    mem = parse_memory(memory)
    connections = max_connections or DEFAULT_CONNECTIONS[profile]
    shared = shared_buffers(mem)
    parallel = worker_processes(cpus)
    wal_min, wal_max = WAL_SIZES[profile]
    s = {
        'max_connections': connections, 'shared_buffers': format_kb(shared),
        'effective_cache_size': format_kb(effective_cache_size(mem)),
        'maintenance_work_mem': format_kb(maintenance_work_mem(mem)), 'checkpoint_completion_target': 0.9,
        'wal_buffers': format_kb(wal_buffers(shared)), 'default_statistics_target': 100,
        'random_page_cost': random_page_cost(storage), 'effective_io_concurrency': effective_io_concurrency(storage),
        'work_mem': format_kb(work_mem(mem, shared, connections, parallel[0] if parallel else 8, profile)),
        'huge_pages': huge_pages(shared), 'min_wal_size': format_kb(wal_min * GB), 'max_wal_size': format_kb(wal_max * GB),
    }
    if parallel:
        s.update(max_worker_processes=parallel[0], max_parallel_workers=parallel[1],
                 max_parallel_workers_per_gather=parallel[2], max_parallel_maintenance_workers=parallel[3])
    return s


def n8n_settings(pg_major):
    """What n8n's execution data asks for beyond PGTune: its rows are tens of KB of JSON, TOASTed on every insert
    and deleted by age. lz4 compresses them several times faster than pglz (inserts, restores); WAL full-page
    images of those pages compress well; autovacuum keeps up with pruning's mass deletes."""
    s = {'default_toast_compression': 'lz4', 'autovacuum_vacuum_scale_factor': 0.05,
         'autovacuum_analyze_scale_factor': 0.05}
    s['wal_compression'] = 'lz4' if pg_major >= 15 else 'on'
    return s


def input_errors(v):
    """Messages naming each bad input; [] when all are fine."""
    errors = []
    if v.get('memory') is None:
        errors.append('the postgres container has no memory limit: set stack_memory_limits.postgres (and redeploy) '
                      'or pg_tuning_memory; tuning for the whole host\'s RAM gets PostgreSQL OOM-killed')
    try:
        mem = parse_memory(v.get('memory'), 'pg_tuning_memory') if v.get('memory') is not None else MEMORY_FLOOR_KB
        if mem < MEMORY_FLOOR_KB:
            errors.append('pg_tuning_memory is %s, below the %s floor: PostgreSQL\'s defaults already fit; give the '
                          'postgres container more memory' % (format_kb(mem), format_kb(MEMORY_FLOOR_KB)))
        host = v.get('host_memory')
        if host and mem > parse_memory(host, 'host memory'):
            errors.append('pg_tuning_memory (%s) is more than the host has (%s)'
                          % (format_kb(mem), format_kb(parse_memory(host, 'host memory'))))
    except ValueError as exc:
        errors.append(str(exc))
    checks = [
        ('pg_tuning_cpus', v.get('cpus'), lambda x: _is_int(x) and 1 <= x <= 1024, 'an integer from 1 to 1024'),
        ('pg_tuning_profile', v.get('profile'), lambda x: x in PROFILES, 'one of ' + ', '.join(PROFILES)),
        ('pg_tuning_storage', v.get('storage'), lambda x: x in STORAGE, 'one of ' + ', '.join(STORAGE)),
        ('pg_tuning_pg_major', v.get('pg_major'), lambda x: _is_int(x) and SUPPORTED_MAJORS[0] <= x <= SUPPORTED_MAJORS[1],
         'a PostgreSQL major version from %d to %d' % SUPPORTED_MAJORS),
        ('pg_tuning_max_connections', v.get('max_connections'), lambda x: x is None or (_is_int(x) and 10 <= x <= 10000),
         'empty (derived from the workers) or an integer from 10 to 10000'),
        ('stack_worker_replicas', v.get('workers'), lambda x: _is_int(x) and 0 <= x <= 100, 'an integer from 0 to 100'),
        ('pg_tuning_db_pool_size', v.get('pool_size', DB_POOL_SIZE), pool_size_ok,
         'an integer from 1 to %d (DB_POSTGRESDB_POOL_SIZE)' % DB_POOL_SIZE_MAX),
    ]
    for name, value, ok, what in checks:
        if not ok(value):
            errors.append('%s must be %s, got %r' % (name, what, value))
    return errors


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def override_errors(overrides, memory, known=None, allow_synchronous_commit=False):
    """Messages for user overrides: unknown names (against the server's pg_settings when given), data-safety
    settings, memory values that do not parse or exceed the container limit."""
    errors = []
    mem = parse_memory(memory)
    for name, value in sorted((overrides or {}).items()):
        if not re.match(r'^[a-z_][a-z0-9_.]*$', str(name)):
            errors.append('pg_tuning_overrides: %r is not a PostgreSQL parameter name' % (name,))
            continue
        if known is not None and name not in known and '.' not in name:
            errors.append('pg_tuning_overrides: unknown parameter %r (not in the server\'s pg_settings)' % name)
            continue
        if name in DATA_SAFETY and not (name == 'synchronous_commit' and allow_synchronous_commit):
            errors.append('pg_tuning_overrides: %s is a data-safety setting the tuner never changes%s' % (
                name, ' (set pg_tuning_allow_async_commit to accept its loss window)' if name == 'synchronous_commit' else ''))
            continue
        if name in MEMORY_SETTINGS and str(value) != '-1':
            try:
                kb = parse_pg_memory(value, 'pg_tuning_overrides.' + name)
            except ValueError as exc:
                errors.append(str(exc))
                continue
            if name in ('shared_buffers', 'work_mem', 'maintenance_work_mem', 'autovacuum_work_mem') and kb >= mem:
                errors.append('pg_tuning_overrides.%s = %s is not below the postgres container\'s memory limit (%s)'
                              % (name, value, format_kb(mem)))
    return errors


def plan(memory, cpus, profile='n8n', storage='ssd', pg_major=17, max_connections=None, workers=2,
         pool_size=DB_POOL_SIZE, overrides=None, known=None, check_budget=True, allow_synchronous_commit=False, host_memory=None):
    """compute() with the overrides applied and the budget checked: {'settings', 'computed', 'budget'}.
    Raises ValueError with every problem (and the numbers) when the inputs or the plan are unsafe."""
    errors = input_errors(dict(memory=memory, cpus=cpus, profile=profile, storage=storage, pg_major=pg_major,
                               max_connections=max_connections, workers=workers, pool_size=pool_size,
                               host_memory=host_memory))
    if not errors:
        errors = override_errors(overrides, memory, known, allow_synchronous_commit)
    if errors:
        raise ValueError('; '.join(errors))
    computed = _settings(memory, cpus, profile, storage, pg_major, max_connections, workers, pool_size)
    settings = dict(computed)
    settings.update(overrides or {})
    connections = int(settings['max_connections'])
    parts, total = budget(settings, connections, int(settings.get('autovacuum_max_workers', 3)))
    limit = int(parse_memory(memory) * BUDGET_FRACTION)
    report = dict(parts_kb=parts, total_kb=total, limit_kb=limit, ok=total <= limit)
    if check_budget and not report['ok']:
        raise ValueError(
            'unsafe plan: shared_buffers %s + %d connections x work_mem %s x %.1f + 3 autovacuum workers x %s = %s, '
            'above %d %% of the postgres container\'s %s (%s); lower the overrides or raise the memory limit'
            % (format_kb(parts['shared_buffers']), connections, settings['work_mem'], WORK_MEM_FACTOR,
               format_kb(parts['maintenance'] // 3), format_kb(total), int(BUDGET_FRACTION * 100),
               format_kb(parse_memory(memory)), format_kb(limit)))
    return dict(settings=settings, computed=computed, budget=report, memory=format_kb(parse_memory(memory)))


# --- the file and the container ----------------------------------------------------------------------------------
def conf_value(value):
    """A postgresql.conf value: numbers bare, everything else single-quoted (quotes doubled)."""
    if isinstance(value, bool):
        return 'on' if value else 'off'
    if isinstance(value, (int, float)):
        return repr(value)
    return "'%s'" % str(value).replace("'", "''")


def conf_settings(base, settings):
    """[(name, value)] for the file: the server's own configuration (adopted once, e.g. listen_addresses,
    TimeZone) under the plan, names compared case-insensitively as PostgreSQL does, sorted."""
    merged = {}
    for source in (base or {}), settings:
        for name, value in source.items():
            merged[name.lower()] = (name if name.lower() not in merged else merged[name.lower()][0], value)
    return [(name, conf_value(value)) for name, value in sorted(merged.values(), key=lambda nv: nv[0].lower())]


def shm_size(settings, floor='256m'):
    """Compose shm_size for the postgres container: parallel query's dynamic shared memory lives in /dev/shm
    (Docker gives 64 MB); sized to shared_buffers, never below the stack's floor. In MiB, as Compose writes it."""
    shared = parse_pg_memory(settings['shared_buffers'], 'shared_buffers')
    return '%dm' % (max(shared, parse_memory(floor, 'shm_size')) // MB)


def adopt_base(pg_settings):
    """The running server's settings that come from its configuration file (what initdb wrote): the tuned file
    keeps them, so replacing the file changes nothing the plan does not name."""
    return {name: s['value'] for name, s in sorted(pg_settings.items()) if s.get('source') == 'configuration file'}


def container_resources(host_config, visible_cpus, worker_cmds, memory='', cpus=0):
    """(memory, cpus, workers, concurrency) for the plan from `docker inspect` of the postgres container
    (HostConfig) and the workers' commands. memory/cpus given by the user win. A container without a memory
    limit gives memory None: the plan then refuses, since the host's RAM is not PostgreSQL's to take."""
    if not memory:
        memory = host_config.get('Memory') or None
    if not cpus:
        nano = host_config.get('NanoCpus') or 0
        cpus = max(1, int(math.ceil(nano / 1e9))) if nano else int(visible_cpus)
    concurrency = 10  # n8n worker's default
    for cmd in worker_cmds or []:
        for arg in cmd or []:
            if str(arg).startswith('--concurrency='):
                concurrency = int(str(arg).split('=', 1)[1])
    return memory, cpus, len(worker_cmds or []), concurrency


# --- the benchmark gate ------------------------------------------------------------------------------------------
NOISE_FLOOR = 0.03  # below 3 % a difference between two pgbench medians on a shared box is not a signal
ALPHA = 0.05        # chance per gated step of reverting a change that is not worse than the floor (all tests)
MEASURES = (('tps', True), ('latency_p95_ms', False))  # (key, higher is better)
VERDICTS = ('regressed', 'inconclusive', 'ok')         # worst first


def median(values):
    values = sorted(values)
    n = len(values)
    return (values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2.0) if n else None


def noise(values, floor=NOISE_FLOOR):
    """Run-to-run spread of repeated baseline runs: (max - min) / median, at least `floor`. Shown in the report and
    the chart; the gate's decision is the test's (gate())."""
    m = median(values)
    if not m or len(values) < 2:
        raise ValueError('the noise needs at least 2 baseline runs with results, got %r' % (values,))
    return max((max(values) - min(values)) / m, floor)


def _worst(verdicts):
    return min(verdicts, key=VERDICTS.index) if verdicts else 'ok'


def gate(baseline, candidate, floor=NOISE_FLOOR, alpha=ALPHA, looks=1):
    """Revert only what is confidently worse: per workload and measure (tps, p95 latency), a one-sided Welch t-test
    on the logs of the runs (module_utils/bench_stats.py says why) of "the candidate is worse by more than `floor`".

    baseline/candidate: {workload: [{'tps': float, 'latency_p95_ms': float}, ...]} from interleaved rounds
    (B C B C ...). `alpha` is the chance, for the whole step, of reverting a change that is not worse than the floor:
    Bonferroni splits it over every test the step can make - workloads x 2 measures x `looks` (the times the role
    decides, one per round from the minimum to the maximum, since it adds rounds while the verdict is open).

    A measure is regressed (p < the split alpha), ok (confident it is not worse than the floor) or inconclusive; a
    workload takes its worst measure's verdict, the step its worst workload's. Only a regression reverts:
    keep = no workload regressed. Returns {'keep', 'verdict', 'reasons', 'uncertain', 'alpha', 'alpha_test',
    'confidence', 'floor', 'rounds', 'workloads': {w: {'verdict', 'tps': {...}, 'latency_p95_ms': {...}}}}; each
    measure has baseline and candidate (geometric means), change, low and high (its interval at `confidence`),
    p, verdict, regressed, improved and noise (the baseline's spread, for the chart)."""
    if not baseline:
        raise ValueError('no benchmark runs')
    if not 0 < float(alpha) < 0.5:
        raise ValueError('alpha must be between 0 and 0.5, got %r' % (alpha,))
    looks = max(int(looks), 1)
    alpha_test = float(alpha) / (len(baseline) * len(MEASURES) * looks)
    report, reasons, uncertain, leaning, rounds = {}, [], [], [], None
    level = '%.1f %%' % (100 * (1 - 2 * alpha_test))
    for workload in sorted(baseline):
        b, c = baseline[workload], candidate.get(workload) or []
        if not c:
            raise ValueError('no candidate runs for workload %r' % workload)
        rounds = min(len(b), len(c), rounds if rounds is not None else len(b))
        row = {}
        for key, higher_is_better in MEASURES:
            bv, cv = [r[key] for r in b], [r[key] for r in c]
            spread = noise(bv, floor)
            t = bench_stats.compare(bv, cv, floor, alpha_test, higher_is_better)
            t.update(noise=round(spread, 4), regressed=t['verdict'] == 'regressed')
            row[key] = t
            what = 'tps fell' if higher_is_better else 'p95 latency rose'
            if t['verdict'] == 'regressed':
                reasons.append('%s: %s %.1f %% (%s to %s at %s confidence, p = %s < %s)' % (
                    workload, what, abs(t['change']) * 100, _pct(t['low']), _pct(t['high']), level, _p(t['p']),
                    _p(alpha_test)))
            elif t['verdict'] == 'inconclusive':
                if (-t['change'] if higher_is_better else t['change']) > floor:
                    leaning.append('%s %s' % (workload, key))
                uncertain.append('%s: %s %s (%s to %s at %s confidence, p = %s)' % (
                    workload, 'tps' if higher_is_better else 'p95 latency', _pct(t['change']), _pct(t['low']),
                    _pct(t['high']), level, _p(t['p'])))
        row['verdict'] = _worst([row[k]['verdict'] for k, _higher in MEASURES])
        report[workload] = row
    return dict(keep=not reasons, verdict=_worst([r['verdict'] for r in report.values()]), reasons=reasons,
                uncertain=uncertain, leaning=leaning, alpha=alpha, alpha_test=float('%.3g' % alpha_test),
                confidence=round(1 - 2 * alpha_test, 4), floor=floor, rounds=rounds, workloads=report)


def gate_runs(runs, floor=NOISE_FLOOR, alpha=ALPHA, looks=1):
    """gate() on the flat list the role collects: [{'side': 'baseline'|'candidate', 'workload', 'tps',
    'latency_p95_ms', ...}] in the order they ran."""
    sides = {'baseline': {}, 'candidate': {}}
    for r in runs:
        sides[r['side']].setdefault(r['workload'], []).append(r)
    return gate(sides['baseline'], sides['candidate'], floor, alpha, looks)


def more_rounds(gate_report, max_rounds):
    """True when the step should run another round: nothing regressed (a regression is final), some measure is
    inconclusive while its estimate is worse than the floor (`leaning`: more rounds may prove a regression - an
    open answer whose estimate is within the floor is kept either way, so it costs no more time), and the rounds
    so far are below `max_rounds`."""
    return (gate_report['verdict'] == 'inconclusive' and bool(gate_report.get('leaning', True))
            and gate_report['rounds'] is not None and gate_report['rounds'] < int(max_rounds))


def gate_step(runs, floor=NOISE_FLOOR, alpha=ALPHA, min_rounds=None, max_rounds=None):
    """What the role decides after each round: gate_runs() with alpha split over the looks from `min_rounds` to
    `max_rounds` (one decision per round), plus 'more_rounds' (more_rounds()) and 'max_rounds'. Without
    `min_rounds`: one look, no more rounds."""
    if min_rounds is None:
        g = gate_runs(runs, floor, alpha)
        g.update(more_rounds=False, max_rounds=g['rounds'])
        return g
    min_rounds = int(min_rounds)
    max_rounds = max(int(max_rounds if max_rounds is not None else min_rounds), min_rounds)
    g = gate_runs(runs, floor, alpha, looks=max_rounds - min_rounds + 1)
    g.update(more_rounds=more_rounds(g, max_rounds), max_rounds=max_rounds)
    return g


BENCH_KEYS = ('tps', 'latency_p95_ms', 'latency_p50_ms', 'latency_avg_ms', 'transactions')


def bench_records(results, side):
    """The role's loop of pgbench module results (each with its workload as `item`) as gate_runs() records."""
    records = []
    for r in results:
        record = dict(side=side, workload=r['item'])
        record.update((k, r[k]) for k in BENCH_KEYS if k in r)
        records.append(record)
    return records


def improves(gate_report, workload, key='tps'):
    """True when the candidate is confidently better than the baseline on `workload` by more than the floor (the
    interval of the change lies wholly beyond it; the search keeps only neighbours that are)."""
    row = gate_report['workloads'].get(workload, {}).get(key)
    return bool(row) and bool(row.get('improved'))


# --- stages --------------------------------------------------------------------------------------------------------
RESTART_CONTEXTS = ('postmaster', 'internal')


def same_value(a, b):
    """PostgreSQL values compared as the server reads them: sizes by kB ('1GB' == '1024MB'), numbers as
    numbers, the rest case-insensitively."""
    for parse in (lambda v: parse_pg_memory(v, 'value'), float):
        try:
            return parse(a) == parse(b)
        except (TypeError, ValueError):
            continue
    return str(a).strip().lower() == str(b).strip().lower()


def stages(settings, pg_settings):
    """Split a plan into what a reload applies and what needs a restart, from the running server's pg_settings
    ({name: {'value', 'context', ...}}). Returns {'current', 'reload', 'restart', 'reload_changes'}:
    current - every planned name the server knows, at the value it runs with (the file that changes nothing);
    reload - the plan, but restart-only settings at their running values (stage 1's file);
    restart - names whose change needs a restart (unknown names too: a library's settings before it is loaded);
    reload_changes - names stage 1 changes."""
    current, reload, restart, reload_changes = {}, {}, [], []
    for name, value in sorted(settings.items()):
        known = pg_settings.get(name) or pg_settings.get(name.lower())
        if known is None:
            restart.append(name)
            continue
        current[name] = known['value']
        if same_value(value, known['value']):
            reload[name] = value
        elif known.get('context') in RESTART_CONTEXTS:
            reload[name] = known['value']
            restart.append(name)
        else:
            reload[name] = value
            reload_changes.append(name)
    return dict(current=current, reload=reload, restart=restart, reload_changes=reload_changes)


def changed_settings(new, old):
    """The settings of `new` that `old` does not have or has with another value (what the search kept)."""
    return {k: v for k, v in sorted(new.items()) if k not in old or not same_value(v, old[k])}


# --- the search (opt-in): a few neighbours of the computed plan ---------------------------------------------------
RANDOM_PAGE_COSTS = (1.1, 2.0, 4.0)


def neighbours(settings, memory, connections=None):
    """Bounded alternatives to try after the computed plan passed its gate, each within the memory budget, the ones
    most likely to matter for n8n's workload first (cache size, checkpoints, sort memory, then the planner's cost
    of random reads), so a short time budget tries those. [{'label', 'changes', 'restart'}]."""
    mem = parse_memory(memory)
    connections = int(connections or settings['max_connections'])
    limit = mem * BUDGET_FRACTION
    out = []

    def add(label, changes, restart=False):
        trial = dict(settings, **changes)
        if budget(trial, connections, int(trial.get('autovacuum_max_workers', 3)))[1] <= limit:
            out.append(dict(label=label, changes=changes, restart=restart))

    shared = parse_pg_memory(settings['shared_buffers'], 'shared_buffers')
    for factor in (1.5, 0.5):
        value = _floor_mb(int(shared * factor))
        add('shared_buffers x%s' % factor, {'shared_buffers': format_kb(value),
                                            'wal_buffers': format_kb(wal_buffers(value))}, restart=True)
    wal = parse_pg_memory(settings['max_wal_size'], 'max_wal_size')
    add('max_wal_size x2', {'max_wal_size': format_kb(wal * 2)})
    work = parse_pg_memory(settings['work_mem'], 'work_mem')
    add('work_mem x2', {'work_mem': format_kb(work * 2)})
    if work // 2 >= MB:
        add('work_mem x0.5', {'work_mem': format_kb(_floor_mb(work // 2))})
    for cost in RANDOM_PAGE_COSTS:
        if not same_value(cost, settings.get('random_page_cost', 4.0)):
            add('random_page_cost %s' % cost, {'random_page_cost': cost})
    return out


# --- the report ----------------------------------------------------------------------------------------------------
def _pct(x):
    return '%+.1f %%' % (x * 100)


def _p(x):
    return '%.2g' % x


def _step_verdict(step, form=' (%s)'):
    g = step.get('gate') or {}
    if 'verdict' not in g:
        return ''
    return form % ('%s after %s round%s' % (g['verdict'], g.get('rounds'), '' if g.get('rounds') == 1 else 's'))


def report_markdown(report):
    """The tuning report as Markdown: one table per gated step (stage or search neighbour) with the means before and
    after, the change with its interval, the test's p and the verdict per workload. `report`: {'title', 'settings',
    'bench', 'steps': [{'name', 'changes', 'switch', 'gate', 'kept', 'note'}]}."""
    lines = ['# %s' % report.get('title', 'PostgreSQL tuning report'), '']
    bench = report.get('bench') or {}
    if bench:
        rounds, most = bench.get('rounds'), bench.get('max_rounds') or bench.get('rounds')
        lines += ['Benchmark gate: %s rounds of baseline and candidate, interleaved%s; %s s per run, %s clients. Per '
                  'workload and measure a one-sided Welch t-test on the logarithms of the runs asks whether the '
                  'candidate is worse by more than %s (tps lower, p95 latency higher); alpha %s for the whole step, '
                  'split over its tests. **regressed**: confident it is worse by more than that - the step is '
                  'reverted; **ok**: confident it is not; **inconclusive**: the runs cannot tell - kept. Before and '
                  'after are the geometric means of the runs; the interval of the change is at the confidence the '
                  'verdict uses; p is the test\'s (small: a regression).'
                  % (rounds if most == rounds else '%s to %s' % (rounds, most),
                     '' if most == rounds else ' (one more while a verdict is inconclusive)',
                     bench.get('duration'), bench.get('clients'),
                     '%.0f %%' % (100 * bench.get('noise_floor', NOISE_FLOOR)), bench.get('alpha', ALPHA)), '']
    for step in report.get('steps', []):
        verdict = 'kept' if step.get('kept') else 'reverted'
        lines += ['## %s: %s%s' % (step['name'], verdict, _step_verdict(step)), '']
        if step.get('changes'):
            lines += ['Changes (%s): %s' % (step.get('switch', 'reload'), ', '.join(
                '`%s = %s`' % (k, v) for k, v in sorted(step['changes'].items()))), '']
        g = step.get('gate')
        if g:
            lines += ['| workload | tps before | tps after | change (interval) | p | p95 ms before | p95 ms after '
                      '| change (interval) | p | verdict |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|']
            for workload, row in sorted(g['workloads'].items()):
                t, q = row['tps'], row['latency_p95_ms']
                lines.append('| %s | %.1f | %.1f | %s (%s to %s) | %s | %.2f | %.2f | %s (%s to %s) | %s | %s |' % (
                    workload, t['baseline'], t['candidate'], _pct(t['change']), _pct(t['low']), _pct(t['high']),
                    _p(t['p']), q['baseline'], q['candidate'], _pct(q['change']), _pct(q['low']), _pct(q['high']),
                    _p(q['p']), row['verdict']))
            lines += ['', 'Intervals at %.1f %% (alpha %s per test).' % (100 * g['confidence'], _p(g['alpha_test'])),
                      '']
            for reason in g.get('reasons', []):
                lines.append('- regression: %s' % reason)
            for doubt in g.get('uncertain', []):
                lines.append('- inconclusive: %s' % doubt)
        if step.get('note'):
            lines.append('- %s' % step['note'])
        lines.append('')
    if report.get('settings'):
        lines += ['## Settings in effect', '', '| setting | value |', '|---|---|']
        lines += ['| %s | %s |' % (k, v) for k, v in sorted(report['settings'].items())]
        lines.append('')
    return '\n'.join(lines)


def report_summary(report):
    """One line per gated step for the play's output: kept or reverted, the verdict and rounds, the change per
    workload, why."""
    out = []
    for step in report.get('steps', []):
        g = step.get('gate') or {}
        parts = ['%s tps %s p95 %s %s' % (w, _pct(r['tps']['change']), _pct(r['latency_p95_ms']['change']),
                                          r['verdict']) for w, r in sorted(g.get('workloads', {}).items())]
        out.append('%s: %s%s%s%s' % (step['name'], 'kept' if step.get('kept') else 'REVERTED',
                                     _step_verdict(step, ', %s'),
                                     ' (' + '; '.join(parts) + ')' if parts else '',
                                     ' - ' + '; '.join(g.get('reasons', [])) if g.get('reasons') else ''))
    return out
