#!/usr/bin/env python
"""Tuning benchmark: pgbench on PostgreSQL's defaults, PGTune's settings and the collection's pg_tuning plan.

Starts one throw-away PostgreSQL container with the memory limit the wsl2 inventory gives postgres, loads pgbench
tables and n8n-shaped tables larger than the default shared_buffers, optionally searches the plan's neighbours
(interleaved A/B rounds through pg_tuning's gate), then runs every configuration on every workload in interleaved,
rotated rounds, restarting PostgreSQL with that configuration's postgresql.conf before each. Prints medians and
ratios and writes every run to bench/results/tune-<UTC time>.json, from which bench/report.py builds
bench/README.md's tables. See bench/README.md. Python stdlib, the docker CLI and this collection's venv only.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
sys.path.insert(0, os.path.join(REPO, 'collections'))  # collections/ansible_collections/n8n_ops/stack -> the checkout
import backup_bench as bb  # noqa: E402  (container helpers, venv re-exec, machine facts, result files)
from ansible_collections.n8n_ops.stack.plugins.module_utils import pg_tuning, pgbench  # noqa: E402
from ansible_collections.n8n_ops.stack.plugins.module_utils.docker_exec import ContainerExec  # noqa: E402

USER = 'postgres'
MOUNT = '/conf'  # the work directory, bind-mounted: postgresql.conf and the n8n workload script
CONF_FILE = MOUNT + '/postgresql.conf'
LOG_PREFIX = '/tmp/bench_tune_log'  # pgbench --log files inside the container, read and removed after each run
PGBENCH_DB, N8N_DB = 'bench_pgbench', 'bench_n8n'
WORKLOAD_DIR = os.path.join(REPO, 'roles', 'pg_tuning', 'files')
INVENTORY_VARS = os.path.join(REPO, 'inventory', 'wsl2', 'group_vars', 'n8n_hosts.yml')
STOCK, PGTUNE, OURS, SEARCHED = 'stock', 'pgtune', 'ours', 'ours+search'
BASELINES = (STOCK, PGTUNE)
Workload = collections.namedtuple('Workload', 'name database args description')
WORKLOADS = [
    Workload('tpcb-like', PGBENCH_DB, ['-b', 'tpcb-like'], "pgbench's TPC-B-like transaction (3 updates, an insert, a select)"),
    Workload('select-only', PGBENCH_DB, ['-b', 'select-only'], 'primary-key lookups in pgbench_accounts'),
    Workload('n8n', N8N_DB, ['-n', '-f', MOUNT + '/n8n_workload.sql'],
             "roles/pg_tuning/files/n8n_workload.sql: an execution's life (insert, store run data, finish, read, list; "
             '2 % prune 50)'),
]
# --quick: a smoke run that shows the benchmark works (a few minutes), not a result.
QUICK = dict(scale=2, duration=3, warmup=1, rounds=1, search_budget=100)


def log(msg):
    print('[%s] %s' % (time.strftime('%H:%M:%S'), msg), flush=True)


def inventory_inputs(path=INVENTORY_VARS):
    """(postgres memory limit, worker replicas, worker concurrency) the wsl2 inventory deploys with."""
    import yaml  # noqa: E402  (the venv's PyYAML; imported after the re-exec)
    with open(path, encoding='utf-8') as f:
        data = yaml.safe_load(f) or {}
    memory = (data.get('stack_memory_limits') or {}).get('postgres')
    if not memory:
        raise RuntimeError('%s has no stack_memory_limits.postgres' % os.path.relpath(path, REPO))
    return str(memory), int(data.get('stack_worker_replicas', 2)), int(data.get('stack_worker_concurrency', 10))


def image_major(image):
    """PG_MAJOR of the image (the official image's interface); the server's own version is checked after start."""
    env = bb.command_output(['docker', 'image', 'inspect', '--format', '{{range .Config.Env}}{{println .}}{{end}}', image])
    for line in (env or '').splitlines():
        if line.startswith('PG_MAJOR='):
            return int(line.split('=', 1)[1].split('.')[0])
    raise RuntimeError('image %s not found or without PG_MAJOR in its environment' % image)


def shm_mb(settings):
    return int(pg_tuning.shm_size(settings)[:-1])


class Tune(bb.Bench):
    """One container, one bind-mounted postgresql.conf; a configuration switch is a rewrite and a restart."""

    def __init__(self, args):
        super().__init__(args)
        self.container = 'bench-tune-%d' % os.getpid()
        self.c = shlex.quote(self.container)
        self.work = os.path.join(args.workdir, self.container)
        self.ex = ContainerExec(self.container)
        self.names = []         # every setting any configuration or search candidate sets (checked after restarts)
        self.effective = {}     # configuration -> {setting: value the server shows}
        self.block_seconds = []  # wall time of every restart + warm-up + measured workloads block
        self.inputs = {}        # memory, CPUs, PostgreSQL major, workers, concurrency, shm size the plans were made for

    def psql(self, sql, db='postgres', variables=None):
        return super().psql(sql, db, variables)

    def run_in(self, cmd, what, timeout=600):
        """docker exec CONTAINER cmd...; raises with its output when it fails."""
        res = self.ex.run(cmd, timeout=timeout)
        if not res.ok:
            detail = (res.stderr_text or res.stdout_text)[-2000:]
            raise RuntimeError('%s failed (rc=%s%s): %s' % (what, res.rc, ', timed out' if res.timed_out else '', detail))
        return res

    # --- the container and its configuration ------------------------------------------------------------------
    def write_conf(self, label, settings):
        lines = ['# bench/tune_bench.py: %s' % label]
        lines += ['%s = %s' % nv for nv in pg_tuning.conf_settings({'listen_addresses': '*'}, settings)]
        with open(self.path('postgresql.conf'), 'w', encoding='utf-8') as f:
            f.write('\n'.join(lines) + '\n')

    def start_container(self, memory, shm):
        os.makedirs(self.work)
        shutil.copy(os.path.join(WORKLOAD_DIR, 'n8n_workload.sql'), self.work)
        self.write_conf(STOCK, {})
        self.sh('docker run -d --name %s --memory %s --shm-size %s -e POSTGRES_PASSWORD=bench -v %s:%s %s postgres -c '
                'config_file=%s' % (self.c, shlex.quote(memory), shm, shlex.quote(self.work), MOUNT,
                                    shlex.quote(self.args.image), CONF_FILE))
        self.wait_ready()

    def wait_ready(self, timeout=300):
        """Until PostgreSQL accepts TCP connections (the entrypoint's initdb server listens on no TCP address)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ex.run(['pg_isready', '-q', '-h', '127.0.0.1', '-U', USER], timeout=30).ok:
                return
            state = bb.command_output(['docker', 'inspect', '--format', '{{.State.Running}}', self.container])
            if state != 'true':
                break
            time.sleep(0.5)
        logs = subprocess.run(['docker', 'logs', '--tail', '30', self.container], capture_output=True, text=True,
                              check=False)
        raise RuntimeError('PostgreSQL in %s is not accepting connections:\n%s' % (self.container,
                                                                                   (logs.stdout + logs.stderr)[-3000:]))

    def switch(self, label, settings):
        """Write the configuration, restart the container, check that the server runs with exactly it."""
        self.write_conf(label, settings)
        self.sh('docker restart --time 120 %s' % self.c)
        self.wait_ready()
        return self.verify(label, settings)

    def verify(self, label, settings):
        """{setting: shown value}; fails unless every setting of the configuration is in effect and no other
        setting comes from the file (stock: shared_buffers and the rest at the server's defaults)."""
        names = ', '.join("'%s'" % n for n in self.names)
        out = self.psql('SELECT name, current_setting(name), source FROM pg_settings WHERE name IN (%s) ORDER BY name'
                        % names)
        shown, wrong = {}, []
        for line in out.splitlines():
            name, value, source = line.split('|')
            shown[name] = value
            if name in settings and not pg_tuning.same_value(settings[name], value):
                wrong.append('%s = %s, not %s' % (name, value, settings[name]))
            elif name not in settings and source == 'configuration file':
                wrong.append('%s = %s comes from the file, but %s does not set it' % (name, value, label))
        wrong += ['%s is unknown to the server' % n for n in settings if n not in shown]
        if wrong:
            raise RuntimeError('after the restart with %s: %s' % (label, '; '.join(wrong)))
        return shown

    # --- data and workloads ---------------------------------------------------------------------------------------
    def load(self):
        """pgbench tables (--scale) and the n8n workload's tables, vacuumed, analysed, checkpointed."""
        start = time.monotonic()
        self.psql('CREATE DATABASE %s' % PGBENCH_DB)
        self.run_in(['pgbench', '-i', '-q', '-s', str(self.args.scale), '-U', USER, PGBENCH_DB], 'pgbench -i', 3600)
        pgbench_seconds = time.monotonic() - start
        self.psql('CREATE DATABASE %s' % N8N_DB)
        with open(os.path.join(WORKLOAD_DIR, 'n8n_workload_init.sql'), encoding='utf-8') as f:
            self.psql(f.read(), db=N8N_DB)
        for db in (PGBENCH_DB, N8N_DB):
            self.psql('VACUUM (ANALYZE)', db=db)
        self.psql('CHECKPOINT')
        sizes = {db: int(self.psql("SELECT pg_database_size('%s')" % db)) for db in (PGBENCH_DB, N8N_DB)}
        data = dict(seconds=round(time.monotonic() - start, 1), pgbench_init_seconds=round(pgbench_seconds, 1),
                    db_bytes=sizes, executions=int(self.psql('SELECT count(*) FROM execution_entity', db=N8N_DB)))
        log('data: %s %.0f MB (scale %d), %s %.0f MB (%d executions), loaded in %.0f s'
            % (PGBENCH_DB, sizes[PGBENCH_DB] / 2 ** 20, self.args.scale, N8N_DB, sizes[N8N_DB] / 2 ** 20,
               data['executions'], data['seconds']))
        return data

    def pgbench(self, workload, seconds, measured=True):
        """One pgbench run as the pgbench module does it (--log, percentiles from the log); None when not measured."""
        a = self.args
        cmd = ['pgbench', '-U', USER, '-c', str(a.clients), '-j', str(a.threads), '-T', str(seconds)]
        if measured:
            cmd += ['--log', '--log-prefix=' + LOG_PREFIX]
            self.run_in(['sh', '-c', 'rm -f %s.*' % LOG_PREFIX], 'clearing old logs')
        res = self.run_in(cmd + workload.args + [workload.database], 'pgbench %s' % workload.name, seconds + 600)
        if not measured:
            return None
        logs = self.run_in(['sh', '-c', 'cat %s.*; rm -f %s.*' % (LOG_PREFIX, LOG_PREFIX)], 'reading the log')
        numbers = pgbench.result(res.stdout_text, logs.stdout_text)
        if numbers['failed_transactions']:
            raise RuntimeError('%s: %d transactions failed: %s' % (workload.name, numbers['failed_transactions'],
                                                                   res.stderr_text[-2000:]))
        return numbers

    def block(self, label, settings, tags):
        """Vacuum and checkpoint (the workloads' dead rows and dirty pages would otherwise drift into later blocks),
        restart with the settings, warm up (not recorded), then every workload once: [run rows]."""
        start = time.monotonic()
        for db in (PGBENCH_DB, N8N_DB):
            self.psql('VACUUM', db=db)
        self.psql('CHECKPOINT')
        shown = self.switch(label, settings)
        self.effective.setdefault(label, shown)
        if self.args.warmup:
            for w in WORKLOADS:
                self.pgbench(w, self.args.warmup, measured=False)
        rows = []
        for w in WORKLOADS:
            n = self.pgbench(w, self.args.duration)
            rows.append(dict(tags, config=label, workload=w.name, **n))
            log('  %-9s round %d  %-22s %-12s %9.1f tps  p95 %8.2f ms' % (
                tags.get('side', ''), tags['round'], label, w.name, n['tps'], n['latency_p95_ms']))
        self.block_seconds.append(time.monotonic() - start)
        return rows

    def block_estimate(self):
        """Seconds one block takes: measured once blocks ran, else a guess (restart and checks ~8 s, ~1 s per pgbench
        call on top of its duration)."""
        if self.block_seconds:
            return statistics.mean(self.block_seconds)
        return len(WORKLOADS) * (self.args.duration + self.args.warmup + 1) + 8

    # --- search and comparison ----------------------------------------------------------------------------------
    def search(self, ours, candidates):
        """Greedy: each neighbour of the plan against the best so far, interleaved A/B rounds (B C, C B, ...),
        kept when pg_tuning's gate passes and the n8n workload gains more than the noise. Returns (best, log)."""
        a = self.args
        best, tried, start = dict(ours), [], time.monotonic()
        for i, nb in enumerate(candidates):
            spent, estimate = time.monotonic() - start, 2 * a.search_rounds * self.block_estimate()
            if spent + estimate > a.search_budget:
                reason = 'budget: %.0f s spent + ~%.0f s for this one > %d s' % (spent, estimate, a.search_budget)
                tried += [dict(label=n['label'], changes=n['changes'], restart=n['restart'], verdict='not tried',
                               reason=reason) for n in candidates[i:]]
                log('search: %d neighbour(s) not tried (%s)' % (len(candidates) - i, reason))
                break
            log('search %d/%d: %s %s' % (i + 1, len(candidates), nb['label'], nb['changes']))
            candidate, began, runs = dict(best, **nb['changes']), time.monotonic(), []
            for r in range(a.search_rounds):
                sides = [('baseline', 'best', best), ('candidate', nb['label'], candidate)]
                for side, label, settings in (sides if r % 2 == 0 else sides[::-1]):
                    runs += self.block(label, settings, dict(side=side, round=r + 1))
            g = pg_tuning.gate_runs(runs, a.noise_floor)
            kept = g['keep'] and pg_tuning.improves(g, 'n8n')
            n8n = g['workloads']['n8n']['tps']
            verdict = 'kept' if kept else ('regressed' if not g['keep'] else 'no n8n gain beyond noise')
            tried.append(dict(label=nb['label'], changes=nb['changes'], restart=nb['restart'], verdict=verdict,
                              reasons=g['reasons'], n8n_tps_change=n8n['change'], n8n_tps_noise=n8n['noise'],
                              seconds=round(time.monotonic() - began, 1), gate=g, runs=runs))
            log('search: %s -> %s (n8n tps %+.1f %%, noise %.1f %%)%s' % (
                nb['label'], verdict, n8n['change'] * 100, n8n['noise'] * 100,
                ': ' + '; '.join(g['reasons']) if g['reasons'] else ''))
            if kept:
                best = candidate
        changes = {k: v for k, v in best.items() if ours.get(k) != v}
        return best, dict(budget_seconds=a.search_budget, rounds=a.search_rounds, seconds=round(time.monotonic() - start, 1),
                          neighbours=tried, changes=changes)

    def compare(self, configs):
        """--rounds rounds; every configuration once per round, the order rotated by one each round."""
        names, runs = list(configs), []
        for r in range(self.args.rounds):
            k = r % len(names)
            for name in names[k:] + names[:k]:
                runs += self.block(name, configs[name], dict(round=r + 1))
        return runs

    # --- main ----------------------------------------------------------------------------------------------------
    def run(self):
        started = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        a, t0 = self.args, time.monotonic()
        memory, workers, concurrency = inventory_inputs()
        memory = a.memory or memory
        cpus, major = os.cpu_count() or 1, image_major(a.image)
        ours = pg_tuning.plan(memory, cpus, profile='n8n', storage='ssd', pg_major=major, workers=workers)['settings']
        configs = {STOCK: {}, PGTUNE: pg_tuning.pgtune(memory, cpus, 'mixed', 'ssd',
                                                       max_connections=ours['max_connections']), OURS: ours}
        candidates = pg_tuning.neighbours(ours, memory) if a.search else []
        trials = [configs[PGTUNE], ours] + [dict(ours, **n['changes']) for n in candidates]
        self.names = sorted(set().union(*trials))
        shm = '%dm' % max(shm_mb(s) for s in trials)
        self.inputs = dict(memory=memory, cpus=cpus, pg_major=major, workers=workers, concurrency=concurrency, shm_size=shm)
        blocks = len(configs) + (1 if a.search else 0)
        log('%s, --memory %s, %d CPUs, --shm-size %s; %d configurations x %d rounds%s: expect ~%.0f min after loading'
            % (a.image, memory, cpus, shm, blocks, a.rounds, ', search up to %d s' % a.search_budget if a.search else '',
               (blocks * a.rounds * self.block_estimate() + (a.search_budget if a.search else 0)) / 60))
        self.start_container(memory, shm)
        self.check_container(memory, cpus, major)
        data = self.load()
        search = None
        if a.search:
            configs[SEARCHED], search = self.search(ours, candidates)
        runs = self.compare(configs)
        table = summarize(runs, list(configs), a.noise_floor)
        goals = {name: goal(table, name) for name in (OURS, SEARCHED) if name in configs}
        result = dict(date=started.isoformat(), parameters=self.parameters(), machine=bb.machine_info(),
                      versions=self.versions(), data=data,
                      configs={name: dict(settings=s, effective=self.effective.get(name)) for name, s in configs.items()},
                      workloads={w.name: dict(database=w.database, args=w.args, description=w.description)
                                 for w in WORKLOADS},
                      search=search, runs=runs, summary=table, goals=goals, seconds=round(time.monotonic() - t0, 1),
                      block_seconds=[round(s, 1) for s in self.block_seconds])
        print_report(result)
        out = bb.write_result(result, started, 'tune')
        print('\nresults: %s (python bench/report.py updates bench/README.md)' % os.path.relpath(out, REPO))

    def check_container(self, memory, cpus, major):
        """The container has the memory limit, sees the CPUs the plan was computed for, runs the image's major."""
        limit = bb.command_output(['docker', 'inspect', '--format', '{{.HostConfig.Memory}}', self.container])
        seen = self.run_in(['nproc'], 'nproc').stdout_text.strip()
        server = int(self.psql('SHOW server_version_num')) // 10000
        if int(limit or 0) != pg_tuning.parse_memory(memory) * 1024 or seen != str(cpus) or server != major:
            raise RuntimeError('container: memory limit %s bytes (want %s), %s CPUs (want %d), PostgreSQL %d (want %d)'
                               % (limit, memory, seen, cpus, server, major))

    def parameters(self):
        a = self.args
        return dict(image=a.image, scale=a.scale, clients=a.clients, threads=a.threads, duration=a.duration,
                    warmup=a.warmup, rounds=a.rounds, search=a.search, search_budget=a.search_budget,
                    search_rounds=a.search_rounds, noise_floor=a.noise_floor, memory_from_inventory=not a.memory,
                    inventory=os.path.relpath(INVENTORY_VARS, REPO), **self.inputs)

    def versions(self):
        v = super().versions()
        del v['pg_dump']
        v['pgbench'] = bb.command_output(['docker', 'exec', self.container, 'pgbench', '--version'])
        return v

    def cleanup(self):
        super().cleanup()
        if not self.args.keep:
            try:
                os.rmdir(self.args.workdir)  # only when nothing else is in it
            except OSError:
                pass


# --- results -----------------------------------------------------------------------------------------------------
def noise_of(values, floor):
    """(max - min) / median of the baseline's runs (at least the floor); the floor alone below 2 runs."""
    return round(pg_tuning.noise(values, floor), 4) if len(values) >= 2 else floor


def summarize(runs, names, floor):
    """Per workload: per configuration median/min/max of tps and p95, ratios to stock and PGTune; the noise
    (stock's spread across rounds)."""
    table = {}
    for w in WORKLOADS:
        per = {}
        for name in names:
            rows = [dict(tps=r['tps'], latency_p95_ms=r['latency_p95_ms']) for r in runs
                    if r['config'] == name and r['workload'] == w.name]
            per[name] = {k: v for k, v in bb.summarize(rows).items() if k != 'runs'}
        stock = [r for r in runs if r['config'] == STOCK and r['workload'] == w.name]
        noise = {k: noise_of([r[k] for r in stock], floor) for k in ('tps', 'latency_p95_ms')}
        for name in names:
            for base in BASELINES:
                for key, short in (('tps', 'tps'), ('latency_p95_ms', 'p95')):
                    per[name]['%s_vs_%s' % (short, base)] = round(per[name][key]['median'] / per[base][key]['median'], 4)
        table[w.name] = dict(noise=noise, noise_measured=len(stock) >= 2, configs=per)
    return table


def goal(table, name):
    """The issue's goal for a configuration: against stock and against PGTune, no workload worse beyond the noise
    (tps lower or p95 higher), and at least one workload's tps higher by more than the noise."""
    out = {}
    for base in BASELINES:
        worse, better = [], []
        for workload, t in table.items():
            c, n = t['configs'][name], t['noise']
            if c['tps_vs_' + base] - 1 < -n['tps'] or c['p95_vs_' + base] - 1 > n['latency_p95_ms']:
                worse.append(workload)
            if c['tps_vs_' + base] - 1 > n['tps']:
                better.append(workload)
        out['vs_' + base] = dict(worse=worse, better=better)
    out['verdict'] = 'PASS' if all(not v['worse'] and v['better'] for v in out.values()) else 'MISS'
    return out


def print_report(r):
    p, names = r['parameters'], list(r['configs'])
    print('\n== %s, --memory %s, %d CPUs: %d round(s) of %d s per workload, %d clients, %d threads; medians'
          % (p['image'], p['memory'], p['cpus'], p['rounds'], p['duration'], p['clients'], p['threads']))
    print('%-12s %-12s %10s %7s %7s %10s %7s %7s' % ('workload', 'config', 'tps', '/stock', '/pgtune', 'p95 ms', '/stock', '/pgtune'))
    for workload, t in r['summary'].items():
        for name in names:
            c = t['configs'][name]
            print('%-12s %-12s %10.1f %7.2f %7.2f %10.2f %7.2f %7.2f' % (
                workload, name, c['tps']['median'], c['tps_vs_stock'], c['tps_vs_pgtune'],
                c['latency_p95_ms']['median'], c['p95_vs_stock'], c['p95_vs_pgtune']))
        n = t['noise']
        print('%-12s noise (stock spread%s): tps %.1f %%, p95 %.1f %%' % (
            '', '' if t['noise_measured'] else ', one round: the floor', n['tps'] * 100, n['latency_p95_ms'] * 100))
    if r['search']:
        s = r['search']
        print('\nsearch (%.0f s of %d s):' % (s['seconds'], s['budget_seconds']))
        for nb in s['neighbours']:
            change = ('n8n tps %+.1f %% (noise %.1f %%)' % (nb['n8n_tps_change'] * 100, nb['n8n_tps_noise'] * 100)
                      if 'n8n_tps_change' in nb else nb.get('reason', ''))
            print('  %-22s %-26s %s' % (nb['label'], nb['verdict'], change))
        print('  ours+search = ours %s' % (', '.join('%s=%s' % kv for kv in sorted(s['changes'].items())) or '(unchanged)'))
    for name, g in r['goals'].items():
        print('\ngoal (%s >= stock and >= pgtune within noise, clearly better on one): %s' % (name, g['verdict']))
        for base in BASELINES:
            v = g['vs_' + base]
            print('  vs %-7s worse: %-30s better: %s' % (base, ', '.join(v['worse']) or '-', ', '.join(v['better']) or '-'))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    quick = ', '.join('--%s %s' % (k.replace('_', '-'), v) for k, v in QUICK.items())
    p.add_argument('--quick', action='store_true', help='smoke test: %s (explicit options win)' % quick)
    p.add_argument('--image', default='local/postgres:17', help='any image with the official postgres image interface')
    p.add_argument('--memory', help='container memory limit (default: stack_memory_limits.postgres of %s)'
                   % os.path.relpath(INVENTORY_VARS, REPO))
    p.add_argument('--scale', type=int, default=50, help='pgbench -i --scale (50: ~750 MB)')
    p.add_argument('--clients', type=int, default=8, help='pgbench -c')
    p.add_argument('--threads', type=int, default=2, help='pgbench -j')
    p.add_argument('--duration', type=int, default=30, help='seconds per measured run (pgbench -T)')
    p.add_argument('--warmup', type=int, default=5, help='unrecorded seconds per workload after each restart')
    p.add_argument('--rounds', type=int, default=3, help='rounds of the main comparison')
    p.add_argument('--search', action=argparse.BooleanOptionalAction, default=True,
                   help="search the plan's neighbours first (the ours+search configuration)")
    p.add_argument('--search-budget', type=int, default=1200, help='seconds the search may take')
    p.add_argument('--search-rounds', type=int, default=2, help='A/B rounds per neighbour (at least 2)')
    p.add_argument('--noise-floor', type=float, default=pg_tuning.NOISE_FLOOR, help="pg_tuning's gate noise floor")
    p.add_argument('--workdir', default='/var/tmp/bench', help='postgresql.conf goes to WORKDIR/<container>/')
    p.add_argument('--keep', action='store_true', help='keep the container and its work directory')
    if '--quick' in sys.argv[1:]:
        p.set_defaults(**QUICK)
    args = p.parse_args()
    if args.search_rounds < 2 or args.threads > args.clients or min(args.duration, args.rounds, args.scale) < 1:
        p.error('--search-rounds must be at least 2, --threads at most --clients, --duration/--rounds/--scale >= 1')
    bb.ensure_venv()
    bb.run_until_done(Tune(args))


if __name__ == '__main__':
    main()
