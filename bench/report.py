#!/usr/bin/env python
"""Regenerate the results section of bench/README.md from the committed bench/results/*.json.

Writes the newest backup result per database size, the newest RTO, the newest tuning, the newest worker scaling,
the newest webhook answer and the newest health check result between the README's results markers, and the newest complete gate benchmark
result (never a --quick one) between its gate markers. With --check it changes nothing and exits 1 when the README
is out of date. Python stdlib only.
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import re
import statistics
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(BENCH, 'results')
README = os.path.join(BENCH, 'README.md')
BEGIN, END = '<!-- results:begin -->', '<!-- results:end -->'
GATE_BEGIN, GATE_END = '<!-- gate-results:begin -->', '<!-- gate-results:end -->'
# Runs smaller or shorter than this only show that the benchmark works; the README says so next to their tables.
REPRESENTATIVE_GB, REPRESENTATIVE_RUNS = 1.0, 3
# The tuning benchmark's defaults: smaller or shorter runs are smoke runs.
TUNE_SCALE, TUNE_DURATION = 50, 30
TUNE_DEFAULTS = dict(image='local/postgres:17', clients=8, threads=2, warmup=5, search_rounds=2, noise_floor=0.03)
TUNE_BASELINES = ('stock', 'pgtune')
# The scaling benchmark's defaults: fewer executions or rounds make a smoke run.
SCALE_EXECUTIONS, SCALE_ROUNDS = 200, 2
SCALE_DEFAULTS = dict(concurrency=10, parallel=16, warmup=10)
SCALE_TRIVIAL, SCALE_LATENCY = 'trivial-webhook', 'latency-bound'
# The webhook answer benchmark's bar: this many calls per variant, over at least two rounds.
WEBHOOK_CALLS = 10000
# The health check benchmark's default: fewer rounds make a smoke run.
HEALTH_ROUNDS = 10
# The gate benchmark's bar: this many runs of each kind; its default injected regression.
GATE_RUNS = 5
GATE_OVERRIDES = {'enable_indexscan': 'off', 'enable_bitmapscan': 'off'}
MB = 2 ** 20
CHANGES = [('ours-session', 'pg_restore-stdin'), ('ours-session', 'ours-session-pglz'),
           ('ours-session-pglz', 'pg_restore-stdin'), ('ours-j2', 'pg_restore-j2')]


def load_results(directory=RESULTS, kind='backup'):
    """[(file name, result)] of <kind>-*.json sorted by name, i.e. by UTC start time."""
    results = []
    for path in sorted(glob.glob(os.path.join(directory, kind + '-*.json'))):
        with open(path, encoding='utf-8') as f:
            results.append((os.path.basename(path), json.load(f)))
    return results


def newest_per_size(results):
    """The newest result of each --size-gb, largest size first."""
    newest = {}
    for name, result in results:
        newest[result['parameters']['size_gb']] = (name, result)
    return [newest[size] for size in sorted(newest, reverse=True)]


def cell(text):
    return str(text).replace('|', '\\|')


def row(cells):
    return '| ' + ' | '.join(cell(c) for c in cells) + ' |'


def seconds(summary):
    return '%.1f' % summary['median'], '%.1f-%.1f' % (summary['min'], summary['max'])


def ratio(a, b):
    return '%.2f' % (a['median'] / b['median'])


def target_cell(result, method):
    """PASS/MISS of the targets that belong to this method's row, or '' when it has none."""
    return '<br>'.join('%s %s %.2f <= %g' % (t['verdict'], t['what'], t['ratio'], t['limit'])
                       for t in result['targets'].values() if t['method'] == method)


def command_line(p):
    args = ['python bench/backup_bench.py', '--size-gb %g' % p['size_gb'], '--runs %d' % p['runs']]
    if p['image'] != 'local/postgres:17':
        args.append('--image ' + p['image'])
    args += ["--variant '%s'" % v for v in p['variants']]
    return ' '.join(args)


def heading(name, r):
    p = r['parameters']
    rounds = '%d round%s' % (p['runs'], '' if p['runs'] == 1 else 's')
    title = '### %g GB, %s, %s, %s UTC' % (p['size_gb'], rounds, p['image'], r['date'][:16].replace('T', ' '))
    if p['size_gb'] < REPRESENTATIVE_GB or p['runs'] < REPRESENTATIVE_RUNS:
        title = '### Smoke run (%g GB, %s), not representative: it only shows that the benchmark works, %s UTC' % (
            p['size_gb'], rounds, r['date'][:16].replace('T', ' '))
    return title


def version(text):
    """'17.12' from 'pg_dump (PostgreSQL) 17.12 (Debian 17.12-0+deb13u1)'."""
    match = re.search(r'\d+(\.\d+)*', text or '')
    return match.group(0) if match else 'unknown'


def stack_lines(m, v):
    """The machine and versions lines of the health and gate benchmarks' sections."""
    uncommitted = v.get('measured_files_uncommitted')
    machine = '- Machine: %s, %d cores, %.0f GiB RAM, kernel %s, Docker %s, Compose %s.' % (
        m['cpu_model'], m['cores'], (m['memory_bytes'] or 0) / 2 ** 30, m['kernel'], m['docker_engine'], v['compose'])
    changes = ' with uncommitted changes to %s' % ', '.join('`%s`' % f.split()[-1] for f in uncommitted) if uncommitted else ''
    versions = '- Versions: n8n %s (`%s`), PostgreSQL %s (`%s`), ansible-core %s, collection commit %s%s.' % (
        v['n8n'], v['n8n_image'], version(v['postgresql_server']), v['postgres_image'], v['ansible_core'],
        (v['collection_commit'] or 'unknown')[:12], changes)
    return [machine, versions]


def context(name, r):
    """Where the numbers come from: file, command, machine, versions, database."""
    m, v, g = r['machine'], r['versions'], r['generation']
    commit = (v['collection_commit'] or 'unknown')[:12]
    return [
        '`results/%s`: `%s`' % (name, command_line(r['parameters'])),
        '',
        '- Machine: %s, %d cores, %.0f GiB RAM, kernel %s, Docker %s.' % (
            m['cpu_model'], m['cores'], (m['memory_bytes'] or 0) / 2 ** 30, m['kernel'], m['docker_engine']),
        '- Versions: PostgreSQL %s, pg_dump %s, ansible-core %s, Python %s, collection commit %s.' % (
            version(v['postgresql_server']), version(v['pg_dump']), v['ansible_core'], v['python'], commit),
        '- Database: %.0f MB (`pg_database_size`), %d executions, generated in %.0f s.' % (
            g['db_bytes'] / MB, g['executions'], g['seconds']),
    ]


def dump_table(r):
    d = r['dumps']
    seed, floor = d['seed'], d['floor']
    lines = [row(['dump', 'median s', 'min-max s', '/ seed', '/ floor', 'MB', 'MB / seed', 'target']),
             '|---|---:|---:|---:|---:|---:|---:|---|']
    for method, v in d.items():
        size = v['bytes']['median']
        lines.append(row(['`%s`: %s' % (method, v['description']), *seconds(v['seconds']),
                          ratio(v['seconds'], seed['seconds']), ratio(v['seconds'], floor['seconds']),
                          '%.1f' % (size / MB) if size else '-',
                          ratio(v['bytes'], seed['bytes']) if size else '-', target_cell(r, method)]))
    return lines


def restore_table(r):
    rs = r['restores']
    base = rs[r['restore_baseline']]['seconds']
    lines = [row(['restore', 'median s', 'min-max s', '/ psql', 'of which ANALYZE s', 'restored MB', 'target']),
             '|---|---:|---:|---:|---:|---:|---|']
    for method, v in rs.items():
        analyze = '%.1f' % v['analyze_seconds']['median'] if 'analyze_seconds' in v else '-'
        restored = '%.0f' % (v['restored_bytes'] / MB) if v.get('restored_bytes') else '-'
        lines.append(row(['`%s`: %s' % (method, v['description']), *seconds(v['seconds']),
                          ratio(v['seconds'], base), analyze, restored, target_cell(r, method)]))
    return lines


def changes_line(r):
    """What the role's session settings, one transaction and ANALYZE buy against the same pg_restore without them."""
    rs = r['restores']
    parts = ['`%s` / `%s` %s' % (a, b, ratio(rs[a]['seconds'], rs[b]['seconds']))
             for a, b in CHANGES if a in rs and b in rs]
    return 'Same run, ratios of median times: %s.' % ', '.join(parts) if parts else ''


def render_run(name, r):
    lines = [heading(name, r), ''] + context(name, r) + [''] + dump_table(r) + [''] + restore_table(r)
    changes = changes_line(r)
    return lines + ([''] + [changes] if changes else [])


def render_rto(name, r):
    """The newest RTO run: phases of playbooks/restore.yml on a bare host, total against the goal."""
    m, v, g, p = r['machine'], r['versions'], r['generation'], r['parameters']
    total = r['restore_seconds']
    when = r['date'][:16].replace('T', ' ')
    lines = ['### RTO: bare host to n8n answering, %.0f MB database, %s UTC' % (g['db_bytes'] / MB, when),
             '', '`results/%s`: `python bench/rto_bench.py --size-gb %g`' % (name, p['size_gb']), '',
             '- Machine: %s, %d cores, %.0f GiB RAM, kernel %s, Docker %s.' % (
                 m['cpu_model'], m['cores'], (m['memory_bytes'] or 0) / 2 ** 30, m['kernel'], m['docker_engine']),
             '- Versions: PostgreSQL %s, n8n %s, ansible-core %s, collection commit %s.' % (
                 version(v['postgresql_server']), v['n8n'], v['ansible_core'],
                 (v['collection_commit'] or 'unknown')[:12]),
             '- Before: %d executions, %.0f MB (`pg_database_size`); backup set %.0f MB, taken in %.0f s; PostgreSQL '
             'memory limit %s.' % (g['executions'], g['db_bytes'] / MB, sum(r['set_bytes'].values()) / MB,
                                   r['backup_seconds'], p['postgres_memory_limit']),
             '- After: rows match %s, credential decrypts %s, readiness HTTP %s.' % (
                 'yes' if r['checks']['rows_match'] else 'NO', 'yes' if r['checks']['credential_decrypts'] else 'NO',
                 r['checks']['readiness_status']),
             '', row(['phase of `playbooks/restore.yml`', 's', 'share']), '|---|---:|---:|']
    lines += [row([ph['phase'], '%.1f' % ph['seconds'], '%.0f %%' % (100 * ph['seconds'] / total)])
              for ph in r['phases']]
    lines.append(row(['**total** (goal <= %d s: %s)' % (r['goal_seconds'], r['verdict']), '**%.1f**' % total, '100 %']))
    return lines


def tune_command(p):
    """The command line of a tuning run: its size, length and search, plus every option not at its default."""
    args = ['python bench/tune_bench.py', '--scale %d' % p['scale'], '--duration %d' % p['duration'],
            '--rounds %d' % p['rounds'], '--search-budget %d' % p['search_budget'] if p['search'] else '--no-search']
    args += ['--%s %s' % (k.replace('_', '-'), p[k]) for k, v in TUNE_DEFAULTS.items() if p.get(k, v) != v]
    if not p.get('memory_from_inventory', True):
        args.append('--memory ' + p['memory'])
    return ' '.join(args)


def pct(x):
    return '%+.1f %%' % (x * 100)


def tune_settings_table(r):
    """The settings the configurations differ in, as the server showed them after the restart (stock: its
    built-in defaults)."""
    configs = r['configs']
    names = sorted({n for c in configs.values() for n in (c.get('effective') or {})})
    lines = [row(['setting'] + ['`%s`' % c for c in configs]), '|---|' + '---|' * len(configs)]
    for name in names:
        values = [(c.get('effective') or {}).get(name, '-') for c in configs.values()]
        if len(set(values)) > 1:
            lines.append(row([name] + [v if v != '' else "''" for v in values]))
    return lines


def tune_workload_table(r, workload):
    t = r['summary'][workload]
    n = t['noise']
    measured = '' if t.get('noise_measured', True) else ', one round: the floor'
    lines = ['**%s**: %s. Noise (spread of stock\'s runs%s): tps %.1f %%, p95 %.1f %%.' % (
        workload, r['workloads'][workload]['description'], measured, n['tps'] * 100, n['latency_p95_ms'] * 100), '',
        row(['config', 'median tps', 'min-max tps', '/ stock', '/ pgtune', 'median p95 ms', '/ stock', '/ pgtune']),
        '|---|---:|---:|---:|---:|---:|---:|---:|']
    for name, c in t['configs'].items():
        tps, p95 = c['tps'], c['latency_p95_ms']
        lines.append(row(['`%s`' % name, '%.1f' % tps['median'], '%.0f-%.0f' % (tps['min'], tps['max']),
                          '%.2f' % c['tps_vs_stock'], '%.2f' % c['tps_vs_pgtune'], '%.2f' % p95['median'],
                          '%.2f' % c['p95_vs_stock'], '%.2f' % c['p95_vs_pgtune']]))
    return lines


def tune_goal_lines(r):
    lines = []
    for name, g in r['goals'].items():
        parts = ['vs %s better: %s, worse: %s' % (base, ', '.join(g['vs_' + base]['better']) or 'none',
                                                  ', '.join(g['vs_' + base]['worse']) or 'none')
                 for base in TUNE_BASELINES]
        lines.append('- Goal for `%s` (>= stock and >= pgtune on every workload within the noise, tps higher by more '
                     'than the noise on at least one): **%s**; %s.' % (name, g['verdict'], '; '.join(parts)))
    return lines


def tune_search_lines(r):
    s = r.get('search')
    if not s:
        return ['No search (`--no-search`).']
    changes = ', '.join('`%s = %s`' % kv for kv in sorted(s['changes'].items())) or 'nothing (no neighbour was kept)'
    lines = ['Search: %.0f s of a %d s budget, %d A/B rounds per neighbour; `ours+search` = `ours` + %s.' % (
        s['seconds'], s['budget_seconds'], s['rounds'], changes), '',
        row(['neighbour of `ours`', 'changes', 'verdict', 'n8n tps change', 'noise']), '|---|---|---|---:|---:|']
    for nb in s['neighbours']:
        verdict = nb['verdict'] + (': ' + '; '.join(nb['reasons']) if nb.get('reasons') else '')
        tried = 'n8n_tps_change' in nb
        lines.append(row([nb['label'], ', '.join('`%s = %s`' % kv for kv in sorted(nb['changes'].items())),
                          verdict if tried else '%s (%s)' % (verdict, nb.get('reason', '')),
                          pct(nb['n8n_tps_change']) if tried else '-',
                          '%.1f %%' % (nb['n8n_tps_noise'] * 100) if tried else '-']))
    return lines


def render_tune(name, r):
    """The newest tuning run: settings side by side, per workload tps and p95 against stock and PGTune, the search."""
    m, v, p, d = r['machine'], r['versions'], r['parameters'], r['data']
    when = r['date'][:16].replace('T', ' ')
    rounds = '%d round%s of %d s' % (p['rounds'], '' if p['rounds'] == 1 else 's', p['duration'])
    title = '### Tuning: stock vs PGTune vs ours (pgbench), --memory %s, %d CPUs, %s, %s UTC' % (
        p['memory'], p['cpus'], rounds, when)
    if p['scale'] < TUNE_SCALE or p['rounds'] < REPRESENTATIVE_RUNS or p['duration'] < TUNE_DURATION:
        title = ('### Smoke run of the tuning benchmark (scale %d, %s), not representative: it only shows that the '
                 'benchmark works, %s UTC' % (p['scale'], rounds, when))
    db = d['db_bytes']
    lines = [title, '', '`results/%s`: `%s`' % (name, tune_command(p)), '',
             '- Machine: %s, %d cores, %.0f GiB RAM, kernel %s, Docker %s.' % (
                 m['cpu_model'], m['cores'], (m['memory_bytes'] or 0) / 2 ** 30, m['kernel'], m['docker_engine']),
             '- Versions: PostgreSQL %s, pgbench %s, ansible-core %s, Python %s, collection commit %s.' % (
                 version(v['postgresql_server']), version(v['pgbench']), v['ansible_core'], v['python'],
                 (v['collection_commit'] or 'unknown')[:12]),
             '- Container: `--memory %s`%s, %d CPUs, `--shm-size %s`; plans for %d workers x concurrency %d, '
             'PostgreSQL %d.' % (p['memory'], ' (`stack_memory_limits.postgres` of `%s`)' % p['inventory']
                                 if p.get('memory_from_inventory') else '', p['cpus'], p['shm_size'], p['workers'],
                                 p['concurrency'], p['pg_major']),
             '- Data: `bench_pgbench` %.0f MB (scale %d), `bench_n8n` %.0f MB (%d executions); %d clients, %d threads, '
             '%d s warm-up per workload after each restart; %.0f min in all.' % (
                 db['bench_pgbench'] / MB, p['scale'], db['bench_n8n'] / MB, d['executions'], p['clients'],
                 p['threads'], p['warmup'], r['seconds'] / 60)]
    lines += tune_goal_lines(r) + [''] + tune_settings_table(r)
    for workload in r['summary']:
        lines += [''] + tune_workload_table(r, workload)
    return lines + [''] + tune_search_lines(r)


def scale_command(p):
    """The command line of a scaling run: its size and worker counts, plus every option not at its default."""
    args = ['python bench/scale_bench.py', '--rounds %d' % p['rounds'], '--executions %d' % p['executions'],
            '--workers %s' % ','.join(str(n) for n in p['workers'])]
    return ' '.join(args + ['--%s %s' % (k, p[k]) for k, v in SCALE_DEFAULTS.items() if p.get(k, v) != v])


def scale_median(s, key):
    return '%.1f' % s[key]['median'] if s.get(key) else '-'


def scale_worst(per, key):
    """The largest value of key over both workflows, '-' when neither has one (older results)."""
    values = [s[key] for s in per.values() if s.get(key)]
    return '%.0f' % max(values) if values else '-'


def scale_row(n, per):
    """One worker count: both workflows' median exec/s, the latency-bound drain and goal, worst RSS, OOM kills."""
    trivial, latency = per.get(SCALE_TRIVIAL) or {}, per.get(SCALE_LATENCY) or {}
    ratio = latency.get('ratio')
    return row([n, scale_median(trivial, 'throughput_per_s'), scale_median(latency, 'throughput_per_s'),
                scale_median(latency, 'drain_s'), scale_median(latency, 'ideal_per_s'),
                '%.2f %s' % (ratio['median'], latency['verdict']) if ratio else '-',
                scale_worst(per, 'peak_rss_mb_max'), sum(s.get('oom_kills', 0) for s in per.values())])


def compose_stack_lines(m, v):
    """Machine and versions of a benchmark that deployed the whole compose stack (scaling, webhook answers)."""
    machine = '- Machine: %s, %d cores, %.0f GiB RAM, kernel %s, Docker %s, Compose %s.' % (
        m['cpu_model'], m['cores'], (m['memory_bytes'] or 0) / 2 ** 30, m['kernel'], m['docker_engine'], v['compose'])
    versions = '- Versions: n8n %s, PostgreSQL %s, Redis %s, ansible-core %s, collection commit %s.' % (
        v['n8n'], version(v['postgresql_server']), version((v['redis'] or '').partition('v=')[2]), v['ansible_core'],
        (v['collection_commit'] or 'unknown')[:12])
    return [machine, versions]


def render_scale(name, r):
    """The newest scaling run: per worker count, trivial and latency-bound throughput against the ideal."""
    m, v, p, summary = r['machine'], r['versions'], r['parameters'], r['summary']
    when = r['date'][:16].replace('T', ' ')
    rounds = '%d round%s' % (p['rounds'], '' if p['rounds'] == 1 else 's')
    title = '### Worker scaling: %s workers x concurrency %d (%s, %g CPU each), %d executions, %s, %s UTC' % (
        '/'.join(str(n) for n in p['workers']), p['concurrency'], p['worker_memory'], p['worker_cpus'],
        p['executions'], rounds, when)
    if p['executions'] < SCALE_EXECUTIONS or p['rounds'] < SCALE_ROUNDS:
        title = ('### Smoke run of the worker scaling benchmark (%d executions, %s), not representative: it only '
                 'shows that the benchmark works, %s UTC' % (p['executions'], rounds, when))
    per_n = [(n, summary.get(str(n)) or {}) for n in p['workers']]
    enqueue = ', '.join('%s: %.1f' % (n, per[SCALE_TRIVIAL]['enqueue_per_s']['median'])
                        for n, per in per_n if per.get(SCALE_TRIVIAL))
    cgroup = ', '.join('%s: %s' % (n, scale_worst(per, 'cgroup_peak_mb_max')) for n, per in per_n if per)
    failed = sum(s['failed'] for dummy, per in per_n for s in per.values())
    lines = [title, '', '`results/%s`: `%s`' % (name, scale_command(p)), '',
             *compose_stack_lines(m, v),
             '- Enqueue rate (trivial workflow\'s webhook calls answered per second, %d parallel callers), by number '
             'of workers: %s; failed calls or executions: %d.' % (p['parallel'], enqueue, failed),
             '- Worker memory: the peak RSS column is n8n\'s own process (largest `VmHWM`); the container\'s memory '
             'cgroup peak (with the task runner and page cache; the %s limit applies to it), worst, by number of '
             'workers: %s MB.' % (p['worker_memory'], cgroup),
             '- Medians of %s (in each round the worker counts in turn, the order reversed every other round); '
             '"ideal" is min(N x concurrency / %g s, ceiling), the ceiling being the trivial workflow\'s exec/s with '
             'the same workers in the same round; peak RSS is the worst and OOM kills (workers and main) the total '
             'over both workflows.' % (rounds, p['wait_seconds']),
             '', row(['workers', 'trivial webhook exec/s', 'latency-bound exec/s',
                      'drain of the %d latency-bound s' % p['executions'], 'ideal latency-bound exec/s',
                      'actual / ideal (goal >= %g)' % p['goal_share'], 'peak RSS per worker MB (max)', 'OOM kills']),
             '|---:|---:|---:|---:|---:|---|---:|---:|']
    return lines + [scale_row(n, per) for n, per in per_n]


def health_cells(v, base):
    """median, p95 and min-max of a summary's seconds and its median over the baseline's."""
    if not v:
        return ['-', '-', '-', '-']
    return ['%.2f' % v['median'], '%.2f' % v['p95'], '%.2f-%.2f' % (v['min'], v['max']),
            '%.2f' % (v['median'] / base['median']) if base and base['median'] else '-']


def health_outcome(r, method):
    """'green in all N rounds' or how many were not, with the red items named."""
    s = r['summary']
    green, rounds = s['green_rounds'][method], s['rounds']
    if green == rounds:
        return 'green in all %d rounds' % rounds
    red = s.get('red_items', {}).get(method) or []
    return '**NOT green in %d of %d rounds**%s' % (rounds - green, rounds, ' (red: %s)' % ', '.join(red) if red else '')


def health_command(command, project):
    """A docker call of the module, short: 'docker exec n8n-worker-1 node', without scripts and templates."""
    words = command.split()
    short = [w.replace(project + '-', '', 1) for w in words[:2]]
    if len(words) > 2 and words[1] in ('exec', 'top'):
        rest = [w.replace(project + '-', '', 1) for w in words[2:] if not w.startswith('-')]
        program = rest[1:2] if words[1] == 'exec' else []
        return ' '.join(short + rest[:1] + (['psql'] if program == ['sh'] and 'psql' in command else program))
    return ' '.join(short + (words[2:3] if len(words) > 2 and not words[2].startswith('-') else []))


def render_health(name, r):
    """The newest health check run: the module, the playbook and the bash baseline, PostgreSQL's and docker's
    share of one module run."""
    m, v, p, s = r['machine'], r['versions'], r['parameters'], r['summary']
    when = r['date'][:16].replace('T', ' ')
    rounds = '%d round%s' % (p['rounds'], '' if p['rounds'] == 1 else 's')
    title = '### Health check: one `stack_health` run on a healthy stack (%d workers), %s, %s UTC' % (
        p['workers'], rounds, when)
    if p['rounds'] < HEALTH_ROUNDS:
        title = ('### Smoke run of the health check benchmark (%s), not representative: it only shows that the '
                 'benchmark works, %s UTC' % (rounds, when))
    command = 'python bench/health_bench.py --rounds %d' % p['rounds']
    if p['workers'] != 2:
        command += ' --workers %d' % p['workers']
    load = r['load']
    g, base = s['goal'], s['baseline']
    lines = [title, '', '`results/%s`: `%s`' % (name, command), '',
             *stack_lines(m, v),
             '- Load average (1 min) at start %.2f, at end %.2f%s.' % (
                 load['start']['loadavg'][0], load['end']['loadavg'][0],
                 ': the machine was otherwise busy, absolute seconds carry that noise; the ratios are from the same '
                 'rounds' if load['busy'] else ''),
             "- Goal: the module's own `seconds` <= %g s (judged on the p95): **%s** (p95 %.2f s)." % (
                 g['seconds'], g['verdict'], g['value']),
             '- Module %s; playbook %s; baseline %s.' % (health_outcome(r, 'module'), health_outcome(r, 'playbook'),
                                                         health_outcome(r, 'baseline'))]
    pg = s.get('postgres')
    if pg:
        lines.append('- Per module run (pg_stat_statements reset right before, %d samples): PostgreSQL %d statement%s, '
                     '%d call%s, %.2f ms execution (median); n8n itself issued %d calls in the same window (%d in a '
                     'window as long without the check); docker CLI calls %d.' % (
                         pg['samples'], pg['statements'], '' if pg['statements'] == 1 else 's', pg['calls'],
                         '' if pg['calls'] == 1 else 's', pg['total_exec_ms']['median'],
                         pg['others_in_window']['median'], pg['control_window_calls']['median'],
                         s['docker_calls']['median']))
    if r.get('breakdown'):
        parts = sorted(r['breakdown'], key=lambda b: -b['seconds']['median'])
        lines.append("- Where the module's own time goes (its docker calls re-run one by one, median of %d each): "
                     '%.2f s in all; slowest %s.' % (
                         p.get('breakdown_repeats', 1), sum(b['seconds']['median'] for b in parts),
                         ', '.join('`%s` %.2f s' % (health_command(b['command'], p['project']), b['seconds']['median'])
                                   for b in parts[:3])))
    lines += ['', row(['%s, seconds' % rounds.replace('round', 'interleaved round'), 'median', 'p95', 'min-max',
                       '/ baseline']), '|---|---:|---:|---:|---:|']
    for label, value in (("`module`: the module's own `seconds`", s['module_seconds']),
                         ('`module`: `ansible -m n8n_ops.stack.stack_health` wall', s['module_wall']),
                         ('`playbook`: `ansible-playbook playbooks/health.yml` wall', s['playbook']),
                         ('`baseline`: `docker compose ps`, `curl /healthz`, `redis-cli ping`, `pg_isready`', base)):
        lines.append(row([label] + health_cells(value, base)))
    return lines


def gate_results(results):
    """The gate results that count: complete runs, never --quick ones (a smoke test is not a result)."""
    return [(name, r) for name, r in results if r.get('complete') and not r.get('quick')]


def gate_command(p):
    """The command line of a gate run: every option not at its default."""
    args = ['python bench/gate_bench.py']
    for key in ('stock_runs', 'regression_runs'):
        if p[key] != GATE_RUNS:
            args.append('--%s %d' % (key.replace('_', '-'), p[key]))
    if p['order'] != 'interleaved':
        args.append('--order ' + p['order'])
    if p['regression_overrides'] != GATE_OVERRIDES:
        args.append("--regression-overrides '%s'" % json.dumps(p['regression_overrides'], sort_keys=True))
    return ' '.join(args)


def gate_stage_names(runs):
    """The step names over all runs, in the order they first appear ('stage 0 (container)', 'stage 1 (reload)')."""
    names = []
    for run in runs:
        for step in run.get('steps') or []:
            if step['name'] not in names:
                names.append(step['name'])
    return names


def gate_step_cell(run, name):
    """kept or reverted, with the gate's verdict; '-' where the run did not reach the step."""
    step = next((s for s in run.get('steps') or [] if s['name'] == name), None)
    if step is None:
        return '-'
    return ('kept' if step['kept'] else '**reverted**') + (', %s' % step['verdict'] if step.get('verdict') else '')


def gate_estimate(w):
    """'select-only tps -97.1 %' from a run's worst estimate."""
    if not w:
        return '-'
    return '%s %s %+.1f %%' % (w['workload'], 'tps' if w['measure'] == 'tps' else 'p95', w['change'] * 100)


def gate_result_cell(run):
    if run['success']:
        return 'success' if run['kind'] == 'stock' else 'reverted'
    reasons = '; '.join(x[:160] for x in run.get('reasons') or [])
    return '**%s**: %s' % ('FAILED' if run['kind'] == 'stock' else 'NOT reverted', reasons)


def gate_row(run, stages):
    rounds = ', '.join(str(s['rounds']) for s in run.get('steps') or [] if s.get('rounds') is not None) or '-'
    return row([run['run'], run['kind'], '-' if run.get('rc') is None else run['rc'], gate_result_cell(run),
                '-' if run.get('seconds') is None else '%.0f' % run['seconds']]
               + [gate_step_cell(run, name) for name in stages] + [rounds, gate_estimate(run.get('worst'))])


def gate_gate_line(r):
    """The gate's parameters as the runs' report.json recorded them (the role's defaults)."""
    g = next((run['gate_bench'] for run in r['runs'] if run.get('gate_bench')), None)
    if not g:
        return []
    more = '' if g['max_rounds'] == g['rounds'] else ' (one more while a verdict is open, up to %d)' % g['max_rounds']
    return ['- Gate (the role\'s defaults, from report.json): %d rounds%s of %s s per workload and side, %s clients, '
            'pgbench scale %s, workloads %s; floor %.0f %%, alpha %s per stage.' % (
                g['rounds'], more, g['duration'], g['clients'], g['scale'], ', '.join(g['workloads']),
                100 * g['noise_floor'], g['alpha'])]


def render_gate(results):
    """The newest complete gate benchmark: runs from stock and with the injected regression, the bar's verdict, a row
    per run with its stages."""
    usable = gate_results(results)
    if not usable:
        return '\n'.join(['### Gate benchmark', '', 'No committed run yet: run `python bench/gate_bench.py`, then '
                          '`python bench/report.py`. `--quick` runs are smoke tests and never shown here.'])
    name, r = usable[-1]
    m, v, p, s = r['machine'], r['versions'], r['parameters'], r['summary']
    st, rg, gate_bar = s['stock'], s['regression'], s['bar']
    when = r['date'][:16].replace('T', ' ')
    overrides = ', '.join('`%s=%s`' % kv for kv in sorted(p['regression_overrides'].items()))
    title = '### Gate benchmark: %d runs from stock, %d with an injected regression (%s), %s, %s UTC' % (
        st['planned'], rg['planned'], overrides, p['order'], when)
    if gate_bar['verdict'] == 'n/a':
        title = ('### Partial gate benchmark (%d runs from stock, %d with an injected regression): fewer than the '
                 'bar\'s %d of each, %s UTC' % (st['planned'], rg['planned'], gate_bar['runs'], when))
    load = r['load']
    rollbacks = [run['rollback']['seconds'] for run in r['runs'] if (run.get('rollback') or {}).get('seconds')]
    lines = [title, '', '`results/%s`: `%s`' % (name, gate_command(p)), '',
             *stack_lines(m, v),
             '- Stack: the default stack of `inventory/local` (postgres memory limit %.0f MB), `%s`, from stock before '
             'every run (`-e pg_tuning_rollback=%s`, the first run\'s snapshot%s, then `SHOW shared_buffers` = 128MB).' % (
                 r['postgres_memory_limit_bytes'] / MB, p['command'], r.get('stock_snapshot') or '<first snapshot>',
                 ': %d rollbacks, median %.0f s' % (len(rollbacks), statistics.median(rollbacks)) if rollbacks else '')]
    lines += gate_gate_line(r)
    lines += ['- Load average (1 min) at start %.2f, at end %.2f; other containers running at start %d, at end %d%s.' % (
        load['start']['loadavg'][0], load['end']['loadavg'][0], load['start']['other_containers_running'],
        load['end']['other_containers_running'], ': the machine was otherwise busy' if load['busy'] else '')]
    seconds = st['seconds']
    lines.append('- **From stock: %d of %d succeeded** (rc 0, every stage kept)%s.' % (
        st['succeeded'], st['planned'],
        '; wall seconds median %.0f (%.0f-%.0f)' % (seconds['median'], seconds['min'], seconds['max']) if seconds else ''))
    changes = '; '.join('%s %+.1f %%' % (w, c['min'] * 100) if c['min'] == c['max'] else
                        '%s %+.1f to %+.1f %%' % (w, c['min'] * 100, c['max'] * 100) for w, c in rg['tps_change'].items())
    lines.append('- **Injected regression: %d of %d reverted** (rc != 0, the play says %s was reverted, not kept in '
                 'report.json, the settings back as before)%s%s.' % (
                     rg['reverted'], rg['planned'], p['regression_stage'],
                     '; the gate\'s estimate of the tps change there, per workload over the runs: %s' % changes
                     if changes else '',
                     '; every run\'s largest tps fall >= %.0f %%: %s (smallest %.1f %%)' % (
                         100 * rg['min_regression'], 'yes' if rg['all_at_least'] else '**NO**', 100 * rg['smallest_size'])
                     if rg['smallest_size'] is not None else ''))
    why_na = ' (%s)' % gate_bar['why_na'] if gate_bar.get('why_na') else ''
    lines.append('- Bar (%d runs from stock all succeed; an injected >= %.0f %% regression reverted %d of %d times): '
                 '**%s**%s.' % (gate_bar['runs'], 100 * gate_bar['min_regression'], gate_bar['runs'], gate_bar['runs'],
                                gate_bar['verdict'], why_na))
    stages = gate_stage_names(r['runs'])
    lines += ['', 'Rounds: per gated stage, in order. Worst estimate: over the gated stages, the workload and measure '
              'whose estimated change (the gate\'s, before to after) is furthest on the worse side.', '',
              row(['run', 'kind', 'rc', 'result', 'seconds'] + stages + ['rounds', 'worst estimate']),
              '|---:|---|---:|---|---:|' + '---|' * len(stages) + '---|---|']
    return '\n'.join(lines + [gate_row(run, stages) for run in r['runs']])


def webhook_command(p):
    args = ['python bench/webhook_bench.py', '--calls %d' % p['calls'], '--rounds %d' % p['rounds'],
            '--variants %s' % ','.join(str(v) for v in p['variants'])]
    defaults = dict(workers=4, concurrency=10, parallel=20, timeout=60)
    args += ['--%s %s' % (k, p[k]) for k, v in defaults.items() if p[k] != v]
    return ' '.join(args)


def render_webhook(name, r):
    """The newest webhook answer run: per stack_queue_keep_finished_jobs value, calls answered and lost."""
    m, v, p, summary = r['machine'], r['versions'], r['parameters'], r['summary']
    when = r['date'][:16].replace('T', ' ')
    per_variant = p['calls'] * p['rounds']
    title = ('### Webhook answers: %d `lastNode` calls per variant (%d round%s), %d workers x concurrency %d, '
             '%s UTC' % (per_variant, p['rounds'], '' if p['rounds'] == 1 else 's', p['workers'], p['concurrency'],
                         when))
    if per_variant < WEBHOOK_CALLS or p['rounds'] < 2:
        title = ('### Smoke run of the webhook answer benchmark (%d calls per variant), not representative: it only '
                 'shows that the benchmark works, %s UTC' % (per_variant, when))
    lost = [t for run in r['runs'] for t in run['not_answered'] if t['status'] == 'timeout']
    found = [t for t in lost if t.get('execution_found')]
    lines = [title, '', '`results/%s`: `%s`' % (name, webhook_command(p)), '',
             *compose_stack_lines(m, v),
             '- %d callers at a time, each call waits %d s for its answer; "lost" is a call without an answer by then, '
             '"at most" the one-sided 95 %% upper bound of the loss rate from what was seen (Clopper-Pearson).'
             % (p['parallel'], p['timeout'])]
    if lost:
        statuses = collections.Counter(t.get('execution_status', 'not found') for t in lost)
        logged = sum(1 for t in found if any('finished' in line for line in t.get('main_log', [])))
        lines.append('- The %d lost calls\' executions, found by their tag in PostgreSQL: %s; main logged the '
                     'worker\'s "finished" message for %d of them, and never answered.' % (
                         len(lost), ', '.join('%d %s' % (n, s) for s, n in sorted(statuses.items())), logged))
    lines += ['', row(['stack_queue_keep_finished_jobs', 'calls', 'answered', 'lost', 'lost rate, at most (95 %)',
                       'other failures', 'calls/s (median of rounds)', 'p95 answer ms (median of rounds)']),
              '|---|---:|---:|---:|---:|---:|---:|---:|']
    for variant, s in summary.items():
        label = '%s (n8n\'s default)' % variant if variant == '0' else (
            '%s (the stack\'s default)' % variant if int(variant) == p['stack_default'] else variant)
        lines.append(row([label, s['calls'], s['answered'], s['lost'], '%.3f %%' % (100 * s['lost_rate_upper_95']),
                          s['other'], s['calls_per_s']['median'], (s['latency_p95_ms'] or {}).get('median', '-')]))
    return lines


def render(results, rto=(), tune=(), scale=(), health=(), webhook=()):
    if not results:
        runs = ['No results yet: run `python bench/backup_bench.py`, then `python bench/report.py`.']
    else:
        runs = ['\n'.join(render_run(name, r)) for name, r in newest_per_size(results)]
        if rto:
            runs.insert(1, '\n'.join(render_rto(*rto[-1])))
    tuning = render_tune(*tune[-1]) if tune else [
        '### Tuning: stock vs PGTune vs ours (pgbench)', '',
        'No results yet: run `python bench/tune_bench.py`, then `python bench/report.py`.']
    scaling = render_scale(*scale[-1]) if scale else [
        '### Worker scaling', '', 'No results yet: run `python bench/scale_bench.py`, then `python bench/report.py`.']
    answers = render_webhook(*webhook[-1]) if webhook else [
        '### Webhook answers', '', 'No results yet: run `python bench/webhook_bench.py`, then `python bench/report.py`.']
    checking = render_health(*health[-1]) if health else [
        '### Health check', '', 'No results yet: run `python bench/health_bench.py`, then `python bench/report.py`.']
    at = min(len(runs), 2 if results and rto else 1)
    runs[at:at] = ['\n'.join(tuning), '\n'.join(scaling), '\n'.join(answers), '\n'.join(checking)]
    return '\n\n'.join(runs)


def splice(text, section, begin=BEGIN, end=END):
    """text with the lines between the marker lines replaced by section (markers quoted in prose do not count)."""
    lines = text.split('\n')
    try:
        first = lines.index(begin)
        last = lines.index(end, first)
    except ValueError:
        raise SystemExit('%s: no line %s followed by a line %s' % (README, begin, end)) from None
    return '\n'.join(lines[:first + 1] + [section] + lines[last:])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--check', action='store_true', help='exit 1 if bench/README.md is out of date; change nothing')
    args = p.parse_args()
    with open(README, encoding='utf-8') as f:
        current = f.read()
    wanted = splice(current, render(load_results(), load_results(kind='rto'), load_results(kind='tune'),
                                    load_results(kind='scale'), load_results(kind='health'),
                                    load_results(kind='webhook')))
    wanted = splice(wanted, render_gate(load_results(kind='gate')), GATE_BEGIN, GATE_END)
    if args.check:
        if wanted != current:
            print('bench/README.md results are out of date: run python bench/report.py', file=sys.stderr)
            return 1
        print('bench/README.md results are up to date')
        return 0
    if wanted != current:
        with open(README, 'w', encoding='utf-8') as f:
            f.write(wanted)
        print('updated bench/README.md')
    else:
        print('bench/README.md already up to date')
    return 0


if __name__ == '__main__':
    sys.exit(main())
