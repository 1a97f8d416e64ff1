#!/usr/bin/env python
"""Health check benchmark: what one n8n_ops.stack.stack_health run costs on a healthy stack.

Deploys its own stack on the local Docker engine with the collection's playbooks (playbooks/deploy.yml with
inventory/local: project n8nhealthbench in /tmp/n8n-health-bench, n8n on 127.0.0.1:5691), then, in interleaved
rounds, times three ways of checking it: the module alone (`ansible localhost -m n8n_ops.stack.stack_health`, its
own `seconds` and the command's wall time), playbooks/health.yml (the monitoring role's entry point `check`) and the
baseline people run today (`docker compose ps`, `curl /healthz`, `redis-cli ping`, `pg_isready`). Afterwards it
counts what one module run asks PostgreSQL (pg_stat_statements, reset right before the run) and the docker CLI
calls it makes. Writes bench/results/health-<UTC start time>.json, from which bench/report.py builds a table in
bench/README.md. See bench/README.md. Python stdlib, curl, the docker CLI and this collection's venv only.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
sys.path.insert(0, os.path.join(REPO, 'collections'))  # collections/ansible_collections/n8n_ops/stack -> the checkout
import backup_bench as bb  # noqa: E402  (venv re-exec, machine facts, SIGTERM clean-up)
from bench_project import containers, log, output, refuse_leftovers, tear_down  # noqa: E402
from ansible_collections.n8n_ops.stack.plugins.module_utils.queue_check import BULL_COMMANDS  # noqa: E402

PROJECT_DIR = '/tmp/n8n-health-bench'
PROJECT = 'n8nhealthbench'
PORT = 5691
OWNER = dict(email='health-bench@example.com', password='Health-Bench-Pass-1')
GOAL_SECONDS = 3.0   # the goal for the module itself, judged on the p95 of its own `seconds`
BUSY_LOAD = 1.0     # a 1-minute load average at start or end at least this: the machine was otherwise busy
MODULE, PLAYBOOK, BASELINE = 'module', 'playbook', 'baseline'
METHODS = {
    MODULE: '`ansible localhost -c local -m n8n_ops.stack.stack_health` (no backup root, no state file)',
    PLAYBOOK: '`ansible-playbook playbooks/health.yml -i inventory/local` (entry point `check`: state file, '
              'Prometheus textfile, table, assert)',
    BASELINE: '`docker compose ps`; `curl -fsS /healthz`; `docker exec <redis> redis-cli ping`; '
              '`docker exec <postgres> pg_isready`',
}
# The module's one statement (plugins/modules/stack_health.py PG_SQL) as pg_stat_statements shows it normalised.
MODULE_QUERY_MARKERS = ('json_build_object(', 'pg_database_size(current_database())')
PSQL = 'psql -X -q -At -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"'
STATEMENTS_SQL = """
SELECT coalesce(json_agg(json_build_object('database', d.datname, 'calls', s.calls,
                                           'total_exec_ms', round(s.total_exec_time::numeric, 3),
                                           'rows', s.rows, 'query', s.query) ORDER BY s.total_exec_time DESC), '[]')
FROM pg_stat_statements s LEFT JOIN pg_database d ON d.oid = s.dbid
WHERE s.query NOT ILIKE '%pg_stat_statements%'
"""


def timed(argv, cwd=None, env=None, timeout=600):
    """(wall seconds, CompletedProcess) of one command; time.monotonic() around the whole subprocess."""
    start = time.monotonic()
    res = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout, check=False)
    return time.monotonic() - start, res


# --- numbers (pure) ------------------------------------------------------------------------------------------------
def spread(values, digits=3):
    """median, p95 (nearest rank), min and max; None without values."""
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    return dict(median=round(statistics.median(v), digits), p95=round(v[min(len(v) - 1, int(0.95 * len(v) + 0.5) - 1)],
                                                                      digits),
                min=round(v[0], digits), max=round(v[-1], digits))


def rotation(rnd, methods):
    """Round rnd's order: the methods rotated by one each round, so each one goes first, second and last in turn."""
    k = (rnd - 1) % len(methods)
    return methods[k:] + methods[:k]


def module_result(stdout):
    """The JSON an ad-hoc `ansible ... -m` prints after 'host | SUCCESS =>' (or FAILED!) with the json format."""
    head, sep, body = stdout.partition('=>')
    if not sep:
        raise ValueError('no module result in: %s' % stdout[-1000:])
    return json.loads(body)


def playbook_red(stdout):
    """The red items the playbook's assert names ('N red: a, b (see the table ...)'), [] when none is named."""
    match = re.search(r'\b\d+ red: (.*?) \(see the table', stdout)
    return [n.strip() for n in match.group(1).split(',') if n.strip()] if match else []


def is_module_statement(query):
    return all(m in query for m in MODULE_QUERY_MARKERS)


def statement_totals(rows):
    """Statements (distinct normalised texts), calls and total execution ms of pg_stat_statements rows."""
    return dict(statements=len(rows), calls=sum(r['calls'] for r in rows),
                total_exec_ms=round(sum(float(r['total_exec_ms']) for r in rows), 3))


def ratio_of_medians(a, b):
    return round(a['median'] / b['median'], 3) if a and b and b['median'] else None


def summarize(rounds, pg_samples, goal=GOAL_SECONDS):
    """Medians and p95 over the rounds, ratios against the baseline (of medians and the median of per-round ratios),
    the goal, the docker calls, the red items seen and PostgreSQL's count of one module run."""
    def values(method, key='wall_s'):
        return [r[method][key] for r in rounds if r[method].get(key) is not None]

    s = dict(rounds=len(rounds), module_seconds=spread(values(MODULE, 'module_s')), module_wall=spread(values(MODULE)),
             playbook=spread(values(PLAYBOOK)), baseline=spread(values(BASELINE)))
    s['ratios'] = dict(module_wall_over_baseline=ratio_of_medians(s['module_wall'], s['baseline']),
                       module_seconds_over_baseline=ratio_of_medians(s['module_seconds'], s['baseline']),
                       playbook_over_baseline=ratio_of_medians(s['playbook'], s['baseline']),
                       playbook_over_module_wall=ratio_of_medians(s['playbook'], s['module_wall']))
    per_round = {}
    for key, (a, ak), b in (('module_wall_over_baseline', (MODULE, 'wall_s'), BASELINE),
                            ('module_seconds_over_baseline', (MODULE, 'module_s'), BASELINE),
                            ('playbook_over_baseline', (PLAYBOOK, 'wall_s'), BASELINE)):
        pairs = [r[a][ak] / r[b]['wall_s'] for r in rounds if r[a].get(ak) is not None and r[b]['wall_s']]
        per_round[key] = round(statistics.median(pairs), 3) if pairs else None
    s['per_round_ratios'] = per_round
    p95 = (s['module_seconds'] or {}).get('p95')
    s['goal'] = dict(seconds=goal, judged_on="p95 of the module's own seconds", value=p95,
                     verdict='n/a' if p95 is None else ('PASS' if p95 <= goal else 'MISS'),
                     module_wall_median_within=None if not s['module_wall'] else s['module_wall']['median'] <= goal)
    s['docker_calls'] = spread(values(MODULE, 'docker_calls'), 0)
    s['green_rounds'] = {m: sum(1 for r in rounds if r[m]['ok']) for m in METHODS}
    s['red_items'] = {m: sorted({n for r in rounds for n in r[m].get('red') or []}) for m in (MODULE, PLAYBOOK)}
    if pg_samples:
        mod = [x['module_statements'] for x in pg_samples]
        s['postgres'] = dict(samples=len(pg_samples), statements=max(m['statements'] for m in mod),
                             calls=max(m['calls'] for m in mod),
                             total_exec_ms=spread([m['total_exec_ms'] for m in mod]),
                             others_in_window=spread([x['other_statements']['calls'] for x in pg_samples], 0),
                             control_window_calls=spread([x['control']['calls'] for x in pg_samples], 0))
    return s


def print_report(r):
    s = r['summary']
    print('\n== health check on a healthy stack (%d worker(s)), %d interleaved round(s); seconds'
          % (r['parameters']['workers'], s['rounds']))
    print('%-46s %8s %8s %8s %8s %12s' % ('', 'median', 'p95', 'min', 'max', '/ baseline'))
    rows = (("module's own seconds", s['module_seconds'], s['ratios']['module_seconds_over_baseline']),
            ('module: ansible -m wall', s['module_wall'], s['ratios']['module_wall_over_baseline']),
            ('playbook: ansible-playbook health.yml', s['playbook'], s['ratios']['playbook_over_baseline']),
            ('baseline: compose ps, curl, redis, pg_isready', s['baseline'], 1.0))
    for label, v, ratio in rows:
        if v:
            print('%-46s %8.2f %8.2f %8.2f %8.2f %12s' % (label, v['median'], v['p95'], v['min'], v['max'],
                                                          '-' if ratio is None else '%.2f' % ratio))
    g = s['goal']
    print('goal: %s <= %g s: %s (%s)' % (g['judged_on'], g['seconds'], g['verdict'], g['value']))
    print('green rounds: %s; red items: %s' % (s['green_rounds'], s['red_items']))
    print('docker CLI calls per module run: %s' % s['docker_calls'])
    if r.get('breakdown'):
        print('where the module\'s time goes (its docker calls re-run one by one, median of %d):'
              % r['parameters']['breakdown_repeats'])
        for b in r['breakdown']:
            print('  %6.3f s  %s' % (b['seconds']['median'], b['command'][:100]))
    if s.get('postgres'):
        pg = s['postgres']
        print('PostgreSQL per module run: %d statement(s), %d call(s), %s ms; n8n in the same window: %s calls; '
              'control window: %s calls' % (pg['statements'], pg['calls'], pg['total_exec_ms']['median'],
                                            pg['others_in_window']['median'], pg['control_window_calls']['median']))


# --- the benchmark ---------------------------------------------------------------------------------------------------
class Health:
    def __init__(self, args):
        self.args = args
        self.base = 'http://127.0.0.1:%d' % PORT
        self.deployed = False
        self.state_dir = None
        self.names = {}
        self.extra_vars = dict(stack_project_dir=PROJECT_DIR, stack_project_name=PROJECT, stack_n8n_port=PORT,
                               stack_owner_email=OWNER['email'], stack_owner_password=OWNER['password'],
                               stack_pull_policy='never', stack_worker_replicas=args.workers)
        self.env = dict(os.environ, ANSIBLE_NOCOLOR='1')

    # --- helpers ---------------------------------------------------------------------------------------------------
    def containers(self, service=None):
        return containers(PROJECT, service)

    def container_name(self, service):
        ids = self.containers(service)
        if len(ids) != 1:
            raise RuntimeError('expected one %s container in project %s, found %d' % (service, PROJECT, len(ids)))
        return output(['docker', 'inspect', '--format', '{{.Name}}', ids[0]], 'docker inspect').strip().lstrip('/')

    def psql(self, sql):
        return output(['docker', 'exec', '-i', self.names['postgres'], 'sh', '-c', PSQL], 'psql', stdin=sql).strip()

    def other_containers(self):
        """Running containers that are not the bench's (another stack, a Molecule engine): the machine is shared."""
        ours = set(self.containers()) if self.deployed else set()
        return len([c for c in output(['docker', 'ps', '-q', '--no-trunc'], 'docker ps').split()
                    if c[:12] not in ours])

    def load(self):
        return dict(loadavg=[round(x, 2) for x in os.getloadavg()], other_containers_running=self.other_containers())

    # --- stack -------------------------------------------------------------------------------------------------------
    def deploy(self):
        refuse_leftovers(PROJECT_DIR, PROJECT, PORT)
        log('deploying the stack (playbooks/deploy.yml, project %s in %s, n8n on 127.0.0.1:%d, %d worker(s); a '
            'minute or two)' % (PROJECT, PROJECT_DIR, PORT, self.args.workers))
        self.deployed = True
        seconds, res = timed(['ansible-playbook', 'playbooks/deploy.yml', '-i', 'inventory/local',
                              '-e', json.dumps(self.extra_vars)], cwd=REPO, env=self.env, timeout=1800)
        if res.returncode != 0:
            raise RuntimeError('deploy.yml failed (rc=%d):\n%s%s' % (res.returncode, res.stdout[-4000:],
                                                                     res.stderr[-2000:]))
        self.names = {svc: self.container_name(svc) for svc in ('n8n', 'postgres', 'redis')}
        log('deployed in %.0f s' % seconds)
        return seconds

    def wait_healthy(self):
        """Until every container of the project runs and is healthy (the check is meant to find a healthy stack)."""
        deadline = time.monotonic() + 300
        while True:
            out = output(['docker', 'inspect', '--format', '{{.Name}} {{.State.Status}} {{if .State.Health}}'
                          '{{.State.Health.Status}}{{else}}none{{end}}'] + self.containers(), 'docker inspect')
            states = [line.split() for line in out.splitlines()]
            if states and all(s[1] == 'running' and s[2] in ('healthy', 'none') for s in states):
                return
            if time.monotonic() > deadline:
                raise RuntimeError('the stack did not become healthy: %s' % states)
            time.sleep(2)

    def pg_setup(self):
        """pg_stat_statements: preloaded by the stack's compose command; the extension in n8n's database."""
        preload = self.psql('SHOW shared_preload_libraries')
        if 'pg_stat_statements' not in preload:
            raise RuntimeError('pg_stat_statements is not preloaded (shared_preload_libraries = %r)' % preload)
        self.psql('CREATE EXTENSION IF NOT EXISTS pg_stat_statements')
        return dict(shared_preload_libraries=preload, track=self.psql('SHOW pg_stat_statements.track'),
                    track_planning=self.psql('SHOW pg_stat_statements.track_planning'),
                    extension_version=self.psql("SELECT extversion FROM pg_extension WHERE extname = "
                                                "'pg_stat_statements'"))

    def versions(self):
        image = {svc: bb.command_output(['docker', 'inspect', '--format', '{{.Config.Image}}', name])
                 for svc, name in self.names.items()}
        files = ['plugins/modules/stack_health.py', 'plugins/module_utils/health.py',
                 'roles/monitoring/tasks/check.yml']
        dirty = bb.command_output(['git', '-C', REPO, 'status', '--porcelain', '--'] + files)
        sha = {}
        for f in files:
            with open(os.path.join(REPO, f), 'rb') as fh:
                sha[f] = hashlib.sha256(fh.read()).hexdigest()[:16]
        return dict(n8n=bb.command_output(['docker', 'exec', self.names['n8n'], 'n8n', '--version']),
                    n8n_image=image['n8n'], postgresql_server=self.psql('SHOW server_version'),
                    postgres_image=image['postgres'],
                    redis=bb.command_output(['docker', 'exec', self.names['redis'], 'redis-server', '--version']),
                    redis_image=image['redis'], docker_client=bb.command_output(['docker', 'version', '--format',
                                                                                 '{{.Client.Version}}']),
                    compose=bb.command_output(['docker', 'compose', 'version', '--short']),
                    curl=(bb.command_output(['curl', '--version']) or '').split('\n')[0],
                    ansible_core=bb.ansible_core_version(), python=platform.python_version(),
                    collection_commit=bb.command_output(['git', '-C', REPO, 'rev-parse', 'HEAD']),
                    measured_files_sha256=sha, measured_files_uncommitted=(dirty or '').splitlines())

    # --- the three measurements ------------------------------------------------------------------------------------
    def run_module(self):
        args = 'project_dir=%s base_url=%s' % (PROJECT_DIR, self.base)
        argv = ['ansible', 'localhost', '-c', 'local', '-m', 'n8n_ops.stack.stack_health', '-a', args]
        wall, res = timed(argv, cwd=REPO, env=dict(self.env, ANSIBLE_CALLBACK_RESULT_FORMAT='json'), timeout=300)
        try:
            result = module_result(res.stdout)
        except ValueError as exc:
            return dict(wall_s=round(wall, 3), rc=res.returncode, ok=False, error='%s %s' % (exc, res.stderr[-1000:]))
        return dict(wall_s=round(wall, 3), module_s=result.get('seconds'), rc=res.returncode,
                    ok=bool(result.get('ok')) and res.returncode == 0, red=result.get('red') or [],
                    docker_calls=len(result.get('commands') or []), commands=result.get('commands') or [],
                    red_messages=[c['message'] for c in result.get('checks') or [] if c.get('status') == 'red'])

    def run_playbook(self):
        argv = ['ansible-playbook', 'playbooks/health.yml', '-i', 'inventory/local', '-e',
                'stack_project_dir=' + PROJECT_DIR, '-e', 'monitoring_base_url=' + self.base,
                '-e', 'monitoring_backup_root=', '-e', 'monitoring_state_dir=' + self.state_dir]
        wall, res = timed(argv, cwd=REPO, env=self.env, timeout=300)
        out = dict(wall_s=round(wall, 3), rc=res.returncode, ok=res.returncode == 0)
        if res.returncode != 0:
            out['red'] = playbook_red(res.stdout)
            out['tail'] = (res.stdout[-3000:] + res.stderr[-1000:]).strip()
        return out

    def baseline_commands(self):
        return [(['docker', 'compose', 'ps'], PROJECT_DIR),
                (['curl', '-fsS', self.base + '/healthz'], None),
                (['docker', 'exec', self.names['redis'], 'n8n-redis-cli', 'ping'], None),
                (['docker', 'exec', self.names['postgres'], 'pg_isready'], None)]

    def run_baseline(self):
        steps, start = [], time.monotonic()
        for argv, cwd in self.baseline_commands():
            seconds, res = timed(argv, cwd=cwd, timeout=60)
            steps.append(dict(command=' '.join(shlex.quote(a) for a in argv), rc=res.returncode,
                              seconds=round(seconds, 3), output=(res.stdout.strip().splitlines() or [''])[-1][:120]))
        wall = time.monotonic() - start
        return dict(wall_s=round(wall, 3), ok=all(s['rc'] == 0 for s in steps), steps=steps)

    def measure(self, method):
        return dict(module=self.run_module, playbook=self.run_playbook, baseline=self.run_baseline)[method]()

    def pg_sample(self, n):
        """Reset pg_stat_statements, one module run, read every statement; then the same window without the module
        (reset, sleep as long as that run took, read): what n8n itself issues meanwhile."""
        self.psql('SELECT pg_stat_statements_reset()')
        run = self.run_module()
        rows = json.loads(self.psql(STATEMENTS_SQL))
        self.psql('SELECT pg_stat_statements_reset()')
        time.sleep(run['wall_s'])
        control = json.loads(self.psql(STATEMENTS_SQL))
        mine = [r for r in rows if is_module_statement(r['query'])]
        others = [r for r in rows if not is_module_statement(r['query'])]
        sample = dict(sample=n, module_run={k: v for k, v in run.items() if k != 'commands'},
                      module_statements=statement_totals(mine), other_statements=statement_totals(others),
                      control=statement_totals(control), statements=rows, control_statements=control)
        log('  pg sample %d: module %d statement(s), %d call(s), %.3f ms; n8n in the window %d call(s); control '
            'window %d call(s)' % (n, sample['module_statements']['statements'], sample['module_statements']['calls'],
                                   sample['module_statements']['total_exec_ms'], sample['other_statements']['calls'],
                                   sample['control']['calls']))
        return sample

    def breakdown(self, commands, repeats):
        """The module's docker calls (read-only: compose ps, inspect, top, exec of readiness, redis-cli, psql, info)
        re-run one by one, each repeats times, in the project directory as the module runs them: where its own
        seconds go. redis-cli gets the module's commands on stdin."""
        redis_stdin = '\n'.join(('PING', 'INFO memory') + BULL_COMMANDS + ('LINDEX bull:jobs:wait -1',)) + '\n'
        out = []
        for command in commands:
            argv = shlex.split(command)
            stdin = redis_stdin if {'redis-cli', 'n8n-redis-cli'} & set(argv) and '-i' in argv else None
            times = []
            for dummy in range(repeats):
                start = time.monotonic()
                subprocess.run(argv, input=stdin, capture_output=True, text=True, cwd=PROJECT_DIR, timeout=60,
                               check=False)
                times.append(time.monotonic() - start)
            out.append(dict(command=command, seconds=spread(times)))
        return out

    # --- the run ---------------------------------------------------------------------------------------------------
    def run(self):
        a = self.args
        started = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        t0 = time.monotonic()
        load_start = self.load()
        log('load average %s, %d other container(s) running' % (load_start['loadavg'],
                                                                load_start['other_containers_running']))
        deploy_seconds = self.deploy()
        self.wait_healthy()
        pg = self.pg_setup()
        self.state_dir = tempfile.mkdtemp(prefix='n8n-health-bench-state-')
        versions = self.versions()
        log('n8n %s, PostgreSQL %s, ansible-core %s' % (versions['n8n'], versions['postgresql_server'],
                                                        versions['ansible_core']))
        if versions['measured_files_uncommitted']:
            log('note: measuring uncommitted changes: %s' % versions['measured_files_uncommitted'])
        methods = list(METHODS)
        warmup = {m: self.measure(m) for m in methods}   # unmeasured: first ansible start-up, .pyc, page cache
        log('warm-up: %s' % ', '.join('%s %.2f s%s' % (m, v['wall_s'], '' if v['ok'] else ' (NOT green)')
                                      for m, v in warmup.items()))
        rounds = []
        for rnd in range(1, a.rounds + 1):
            order = rotation(rnd, methods)
            r = dict(round=rnd, order=order, loadavg_1m_before=round(os.getloadavg()[0], 2))
            for m in order:
                r[m] = self.measure(m)
            if rnd > 1:
                r[MODULE].pop('commands', None)   # the same list every round; kept for round 1
            rounds.append(r)
            log('round %d (%s): module %.2f s (own %s s, %s docker calls%s), playbook %.2f s%s, baseline %.2f s%s'
                % (rnd, ' '.join(order), r[MODULE]['wall_s'], r[MODULE].get('module_s'), r[MODULE].get('docker_calls'),
                   '' if r[MODULE]['ok'] else ', red: %s' % r[MODULE].get('red'), r[PLAYBOOK]['wall_s'],
                   '' if r[PLAYBOOK]['ok'] else ' (FAILED: red %s)' % r[PLAYBOOK].get('red'),
                   r[BASELINE]['wall_s'], '' if r[BASELINE]['ok'] else ' (a step failed)'))
        log('PostgreSQL: %d sample(s) of one module run with pg_stat_statements reset right before' % a.pg_samples)
        pg_samples = [self.pg_sample(n) for n in range(1, a.pg_samples + 1)]
        commands = rounds[0][MODULE].get('commands') or []
        log("where the module's time goes: its %d docker calls re-run one by one, %d times each"
            % (len(commands), a.breakdown_repeats))
        breakdown = self.breakdown(commands, a.breakdown_repeats) if a.breakdown_repeats else []
        load_end = self.load()
        summary = summarize(rounds, pg_samples)
        result = dict(date=started.isoformat(), seconds=round(time.monotonic() - t0, 1),
                      parameters=dict(rounds=a.rounds, workers=a.workers, pg_samples=a.pg_samples,
                                      breakdown_repeats=a.breakdown_repeats, project=PROJECT,
                                      project_dir=PROJECT_DIR, port=PORT, base_url=self.base,
                                      inventory='inventory/local', goal_seconds=GOAL_SECONDS,
                                      baseline_commands=[' '.join(c) for c, dummy in self.baseline_commands()]),
                      machine=bb.machine_info(), versions=versions, methods=METHODS,
                      load=dict(start=load_start, end=load_end,
                                busy=max(load_start['loadavg'][0], load_end['loadavg'][0]) >= BUSY_LOAD),
                      deploy_seconds=round(deploy_seconds, 1), pg_stat_statements=pg, warmup=warmup, rounds=rounds,
                      pg_samples=pg_samples, breakdown=breakdown,
                      summary=summary)
        print_report(result)
        out = a.out or os.path.join(BENCH, 'results', 'health-%s.json' % started.strftime('%Y%m%dT%H%M%SZ'))
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, 'w', encoding='utf-8') as f:
            json.dump(result, f, indent=2)
            f.write('\n')
        print('\nresults: %s (python bench/report.py updates bench/README.md)' % os.path.relpath(out, REPO))

    def cleanup(self):
        if self.state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)
        if not self.deployed:
            return
        if self.args.keep:
            log('kept the stack: %s (project %s, n8n on 127.0.0.1:%d, owner %s)'
                % (PROJECT_DIR, PROJECT, PORT, OWNER['email']))
            return
        tear_down(PROJECT_DIR, PROJECT)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--rounds', type=int, default=10, help='interleaved rounds of module, playbook and baseline')
    p.add_argument('--workers', type=int, default=2, help='n8n workers of the bench stack (stack_worker_replicas)')
    p.add_argument('--pg-samples', type=int, default=3,
                   help='module runs with pg_stat_statements reset right before (each with a control window)')
    p.add_argument('--breakdown-repeats', type=int, default=3,
                   help="re-run each of the module's docker calls this often, timed one by one (0: no breakdown)")
    p.add_argument('--out', help='result file (default bench/results/health-<UTC start time>.json)')
    p.add_argument('--keep', action='store_true',
                   help='keep the stack running (project %s in %s)' % (PROJECT, PROJECT_DIR))
    args = p.parse_args()
    if min(args.rounds, args.workers, args.pg_samples) < 1 or args.breakdown_repeats < 0:
        p.error('--rounds, --workers and --pg-samples must be at least 1, --breakdown-repeats at least 0')
    bb.ensure_venv()
    bb.run_until_done(Health(args))


if __name__ == '__main__':
    main()
