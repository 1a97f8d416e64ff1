#!/usr/bin/env python
"""Gate benchmark: pg_tuning's benchmark gate run after run, on a sound plan and on an injected regression.

The bar (issue tracker): on an unchanged default stack, 5 consecutive runs of the README command
(`ansible-playbook playbooks/tune_postgres.yml`) from stock all succeed; an injected >= 30 % regression is reverted
5 of 5 times.

Deploys its own stack on the local Docker engine with the collection's playbooks (playbooks/deploy.yml with
inventory/local and nothing but the project's variables: project n8ngatebench in /tmp/n8n-gate-bench, n8n on
127.0.0.1:5692; the default stack gives postgres a 1g memory limit, which pg_tuning needs, and the script checks it
is there). Then, from stock every time (PostgreSQL put back with our own entry point, `tune_postgres.yml -e
pg_tuning_rollback=<the oldest snapshot>`, the first run's, which records the stock files as absent; verified with
`SHOW shared_buffers` = 128MB and neither the tuned file nor the overlay present):

- stock runs: `ansible-playbook playbooks/tune_postgres.yml -i inventory/local -e <project vars>` with the role's
  defaults. Success: rc 0 and every stage kept in the run's report.json.
- regression runs: the same with `-e '{"pg_tuning_overrides": {"enable_indexscan": "off", "enable_bitmapscan":
  "off"}}'` (every pgbench lookup becomes a sequential scan). Success: rc != 0, the play's message says stage 1 was
  reverted, stage 1 is not kept in report.json, and afterwards the overridden settings are as before the run
  (`SHOW enable_indexscan` on). The gate's estimate of the tps change per workload is recorded: the bar needs the
  injected regression to be >= 30 %.

Order: interleaved (stock, regression, stock, ...) by default. A full run takes hours on a shared box whose load
drifts (a CI job starts or ends, the page cache fills): with all stock runs first and all regression runs after,
any drift would fall on one kind only and look like a property of it. Interleaved, both kinds see the same
conditions, and since every run starts from stock (rollback, then checked), there is no carry-over a block order
would avoid. `--order stock-first` or `regression-first` runs them in blocks.

Per run the JSON keeps rc, wall seconds, the rollback before it and, from the newest snapshot's report.json, each
step: kept, the gate's verdict and rounds, per workload and measure the estimate, its interval and p, and the
pgbench samples. Writes bench/results/gate-<UTC start time>.json (after every run, `complete` false until the end),
from which bench/report.py builds the Gate benchmark section of bench/README.md; `--quick` results are marked
`quick` and never rendered. See bench/README.md. Python stdlib, the docker CLI and this collection's venv only.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
sys.path.insert(0, os.path.join(REPO, 'collections'))  # collections/ansible_collections/n8n_ops/stack -> the checkout
import backup_bench as bb  # noqa: E402  (venv re-exec, machine facts, SIGTERM clean-up)
from bench_project import containers, log, output, refuse_leftovers, tear_down  # noqa: E402
from ansible_collections.n8n_ops.stack.plugins.module_utils import pg_tuning  # noqa: E402

PROJECT_DIR = '/tmp/n8n-gate-bench'
PROJECT = 'n8ngatebench'
PORT = 5692
OWNER = dict(email='gate-bench@example.com', password='Gate-Bench-Pass-1')
STOCK, REGRESSION = 'stock', 'regression'
ORDERS = ('interleaved', 'stock-first', 'regression-first')
BAR_RUNS = 5                  # the bar: 5 runs of each kind
MIN_REGRESSION = 0.30         # the bar: the injected regression is at least this (the gate's estimate of the tps fall)
STOCK_SHARED_BUFFERS = '128MB'  # PostgreSQL's built-in default: the stack runs it until pg_tuning writes a file
REGRESSION_OVERRIDES = {'enable_indexscan': 'off', 'enable_bitmapscan': 'off'}
REGRESSION_STAGE = 'stage 1'  # reload settings like these land in stage 1
REVERTED = re.compile(r'(stage \d+) \([^)]*\) made PostgreSQL slower and was reverted')  # apply.yml's rescue
FATAL = re.compile(r'^fatal: \[[^\]]*\]: FAILED! =>[ \t]*', re.M)
MEASURES = (('tps', True), ('latency_p95_ms', False))  # (key, higher is better), as pg_tuning.MEASURES
SHORT = {'tps': 'tps', 'latency_p95_ms': 'p95'}
# --quick: a smoke test that shows the benchmark works (~15 min), never a result.
QUICK_VARS = dict(pg_tuning_bench_duration=3, pg_tuning_bench_scale=2, pg_tuning_bench_executions=2000,
                  pg_tuning_bench_rounds=2, pg_tuning_bench_max_rounds=3)
README_COMMAND = 'ansible-playbook playbooks/tune_postgres.yml -i inventory/local -e <project vars>'
MEASURED_FILES = ['roles/pg_tuning', 'plugins/module_utils/pg_tuning.py', 'plugins/module_utils/bench_stats.py',
                  'plugins/module_utils/pgbench.py', 'plugins/modules/pgbench.py', 'plugins/modules/pg_tuning_report.py',
                  'plugins/filter/pg_tuning.py', 'playbooks/tune_postgres.yml']
PSQL = 'psql -X -q -At -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"'
SETTING_NAME = re.compile(r'^[a-z_][a-z0-9_.]*$')
BUSY_LOAD = 1.0  # a 1-minute load average at start or end at least this: the machine was otherwise busy


# --- judging (pure) ------------------------------------------------------------------------------------------------
def schedule(stock_runs, regression_runs, order='interleaved'):
    """The kinds in the order they run: interleaved S R S R ... (the longer list's rest at the end), or in blocks."""
    if order == 'stock-first':
        return [STOCK] * stock_runs + [REGRESSION] * regression_runs
    if order == 'regression-first':
        return [REGRESSION] * regression_runs + [STOCK] * stock_runs
    if order != 'interleaved':
        raise ValueError('order must be one of %s, got %r' % (', '.join(ORDERS), order))
    kinds = []
    for i in range(max(stock_runs, regression_runs)):
        kinds += ([STOCK] if i < stock_runs else []) + ([REGRESSION] if i < regression_runs else [])
    return kinds


def failure_messages(stdout):
    """The msg of every task failure ansible-playbook printed (`fatal: [host]: FAILED! => {...}`, JSON result format),
    in order, leaving out the ignored ones (followed by `...ignoring`)."""
    decoder = json.JSONDecoder()
    messages = []
    for match in FATAL.finditer(stdout):
        try:
            obj, end = decoder.raw_decode(stdout, match.end())
        except ValueError:   # not JSON (another result format): the rest of the line
            messages.append(stdout[match.end():].split('\n', 1)[0].strip())
            continue
        if stdout[end:].lstrip().startswith('...ignoring'):
            continue
        messages.append(str(obj.get('msg', obj)) if isinstance(obj, dict) else str(obj))
    return messages


def new_snapshot(before, after):
    """The newest snapshot name in `after` that was not in `before` (the run's), or None."""
    fresh = sorted(set(after) - set(before))
    return fresh[-1] if fresh else None


def is_stock(state):
    """PostgreSQL runs its built-in shared_buffers and neither pg_tuning's file nor its overlay is in the project."""
    return (state.get('shared_buffers') == STOCK_SHARED_BUFFERS and not state.get('conf_present')
            and not state.get('overlay_present'))


def find_step(steps, stage):
    """The first step named `stage` or `stage (...)` (report.json's names: 'stage 1 (reload)'), or None."""
    for step in steps or []:
        if step.get('name') == stage or str(step.get('name', '')).startswith(stage + ' '):
            return step
    return None


def measure_record(t):
    """One measure of the gate's test: the estimate (change), its interval, p and verdict."""
    rec = {k: t.get(k) for k in ('change', 'low', 'high', 'p', 'verdict', 'baseline', 'candidate') if k in t}
    if 'improved' in t:
        rec['improved'] = bool(t['improved'])
    return rec


def bench_samples(runs):
    """pgbench's tps and p95 per workload and side, in the order they ran: {workload: {side: {measure: [...]}}}."""
    out = {}
    for r in runs or []:
        side = out.setdefault(r.get('workload'), {}).setdefault(r.get('side'), {})
        for key, dummy in MEASURES:
            if r.get(key) is not None:
                side.setdefault(key, []).append(r[key])
    return out


def step_record(step):
    """A report.json step as the result keeps it: kept, verdict, rounds, per workload and measure the estimate, its
    interval and p; the reasons and the open measures in words; the samples."""
    rec = dict(name=step.get('name'), kept=bool(step.get('kept')), switch=step.get('switch'))
    if step.get('changes'):
        rec['changes'] = step['changes']
    if step.get('note'):
        rec['note'] = step['note']
    g = step.get('gate') or {}
    if g:
        rec.update(verdict=g.get('verdict'), rounds=g.get('rounds'), max_rounds=g.get('max_rounds'),
                   confidence=g.get('confidence'), alpha_test=g.get('alpha_test'), floor=g.get('floor'),
                   reasons=list(g.get('reasons') or []), uncertain=list(g.get('uncertain') or []))
        rec['workloads'] = {w: dict({k: measure_record(row[k]) for k, dummy in MEASURES if k in row},
                                    verdict=row.get('verdict'))
                            for w, row in sorted((g.get('workloads') or {}).items())}
        rec['samples'] = bench_samples(step.get('runs'))
    return rec


def worse_by(key, change):
    """How much worse a change is on one log scale for both measures (tps down, p95 up); negative: better."""
    ratio = 1.0 + change
    if ratio <= 0:
        return math.inf
    return -math.log(ratio) if dict(MEASURES)[key] else math.log(ratio)


def worst_estimate(steps):
    """Over the gated steps, the workload and measure whose estimate is furthest on the worse side:
    {'step', 'workload', 'measure', 'change'}, or None without a gated step."""
    worst, score = None, None
    for step in steps or []:
        for workload, row in sorted((step.get('workloads') or {}).items()):
            for key, dummy in MEASURES:
                change = (row.get(key) or {}).get('change')
                if change is None:
                    continue
                s = worse_by(key, change)
                if score is None or s > score:
                    worst, score = dict(step=step.get('name'), workload=workload, measure=key, change=change), s
    return worst


def rounds_used(steps):
    """{step name: rounds} of the gated steps."""
    return {s['name']: s['rounds'] for s in steps or [] if s.get('rounds') is not None}


def regression_size(step):
    """The gate's estimate of the injected regression in a step, per workload: tps change and p95 change, and the tps
    fall (-change); `size` is the largest tps fall over the workloads. None without a gated step."""
    if not step or not step.get('workloads'):
        return None
    per = {}
    for workload, row in sorted(step['workloads'].items()):
        tps, p95 = (row.get('tps') or {}).get('change'), (row.get('latency_p95_ms') or {}).get('change')
        per[workload] = dict(tps_change=tps, p95_change=p95, tps_fall=None if tps is None else round(-tps, 4))
    falls = [v['tps_fall'] for v in per.values() if v['tps_fall'] is not None]
    return dict(workloads=per, size=max(falls) if falls else None)


def judge_stock(rc, steps, has_report):
    """A stock run succeeds when the play returned 0 and every stage in its report.json is kept."""
    reasons = []
    if rc != 0:
        reasons.append('rc %s' % rc)
    if not has_report:
        reasons.append('no report.json (no new snapshot)')
    elif not steps:
        reasons.append('report.json has no steps')
    not_kept = [s['name'] for s in steps or [] if not s.get('kept')]
    if not_kept:
        reasons.append('not kept: %s' % ', '.join(not_kept))
    return dict(success=not reasons, reasons=reasons)


def judge_regression(rc, steps, messages, before, after, stage=REGRESSION_STAGE):
    """A regression run succeeds when the play failed (rc != 0), its message says `stage` was reverted, report.json
    has `stage` not kept, and the overridden settings are back as before the run (`before`/`after`: SHOW values)."""
    reasons = []
    if rc == 0:
        reasons.append('rc 0: the play kept the regression')
    elif rc is None:
        reasons.append('no rc (timed out)')
    said = [m for m in messages or [] if any(x.group(1) == stage for x in REVERTED.finditer(m))]
    message = said[-1] if said else ((messages or [''])[-1])
    if not said:
        reasons.append("the play's message does not say %s was reverted: %r" % (stage, message[:300]))
    step = find_step(steps, stage)
    if step is None:
        reasons.append('%s is not in report.json' % stage)
    elif step.get('kept'):
        reasons.append('%s kept in report.json' % stage)
    not_back = ['%s = %s (before: %s)' % (n, after.get(n), v) for n, v in sorted(before.items())
                if v is None or after.get(n) != v]
    if not_back:
        reasons.append('not back after the run: %s' % ', '.join(not_back))
    return dict(success=not reasons, reasons=reasons, message=message)


def spread(values):
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    return dict(median=round(statistics.median(v), 1), min=round(v[0], 1), max=round(v[-1], 1))


def summarize(runs, stock_runs, regression_runs, quick=False, min_regression=MIN_REGRESSION, bar_runs=BAR_RUNS):
    """Stock successes and regression reverts with their seconds, the regression's size per workload (the gate's
    estimate of the tps change in the reverted stage, over the runs) and the bar's verdict: PASS/MISS, 'n/a' for a
    quick run or fewer than `bar_runs` of a kind."""
    stock = [r for r in runs if r['kind'] == STOCK]
    reg = [r for r in runs if r['kind'] == REGRESSION]
    sizes = [(r.get('regression') or {}).get('size') for r in reg]
    per_workload = {}
    for r in reg:
        for workload, v in ((r.get('regression') or {}).get('workloads') or {}).items():
            if v.get('tps_change') is not None:
                per_workload.setdefault(workload, []).append(v['tps_change'])
    s = dict(
        stock=dict(planned=stock_runs, runs=len(stock), succeeded=sum(1 for r in stock if r['success']),
                   seconds=spread([r.get('seconds') for r in stock]), seconds_each=[r.get('seconds') for r in stock],
                   rounds_each=[rounds_used(r.get('steps')) for r in stock]),
        regression=dict(planned=regression_runs, runs=len(reg), reverted=sum(1 for r in reg if r['success']),
                        seconds=spread([r.get('seconds') for r in reg]), seconds_each=[r.get('seconds') for r in reg],
                        tps_change=({w: dict(min=min(v), max=max(v), each=v) for w, v in sorted(per_workload.items())}),
                        size_each=sizes, smallest_size=min((x for x in sizes if x is not None), default=None),
                        all_at_least=bool(reg) and all(x is not None and x >= min_regression for x in sizes),
                        min_regression=min_regression))
    met = (s['stock']['runs'] == stock_runs and s['stock']['succeeded'] == stock_runs
           and s['regression']['runs'] == regression_runs and s['regression']['reverted'] == regression_runs
           and (regression_runs == 0 or s['regression']['all_at_least']))
    if quick or stock_runs < bar_runs or regression_runs < bar_runs:
        verdict = 'n/a'
    else:
        verdict = 'PASS' if met else 'MISS'
    if quick:
        why_na = 'quick: a smoke test'
    else:
        why_na = 'fewer than %d runs of a kind' % bar_runs if verdict == 'n/a' else None
    s['bar'] = dict(runs=bar_runs, min_regression=min_regression, met=met, verdict=verdict, why_na=why_na)
    return s


def estimate_text(w):
    """'select-only tps -97.1 %' of a worst_estimate() dict, '-' without one."""
    if not w:
        return '-'
    return '%s %s %+.1f %%' % (w['workload'], SHORT.get(w['measure'], w['measure']), w['change'] * 100)


def print_report(r):
    s = r['summary']
    print('\n== gate benchmark%s: %d stock, %d regression run(s), %s; overrides of the regression runs: %s'
          % (' (QUICK: a smoke test, not a result)' if r['quick'] else '', s['stock']['runs'], s['regression']['runs'],
             r['parameters']['order'], json.dumps(r['parameters']['regression_overrides'], sort_keys=True)))
    header = ('run', 'kind', 'rc', 'result', 'seconds', 'steps (kept/REVERTED, rounds)', 'worst estimate')
    print('%4s %-10s %4s %-10s %8s  %-50s %s' % header)
    for run in r['runs']:
        steps = ', '.join('%s %s%s' % (st['name'].split(' (')[0], 'kept' if st['kept'] else 'REVERTED',
                                       '/%s' % st['rounds'] if st.get('rounds') is not None else '')
                          for st in run.get('steps') or []) or '-'
        result = ('success' if run['kind'] == STOCK else 'reverted') if run['success'] else 'FAILED'
        print('%4d %-10s %4s %-10s %8s  %-50s %s' % (run['run'], run['kind'], run.get('rc'), result,
                                                     '-' if run.get('seconds') is None else '%.0f' % run['seconds'],
                                                     steps, estimate_text(run.get('worst'))))
        for reason in run.get('reasons') or []:
            print('%4s   %s' % ('', reason))
    st, rg = s['stock'], s['regression']

    def seconds(kind):
        return ', '.join('%.0f' % x for x in kind['seconds_each'] if x is not None)
    print('\nstock: %d/%d succeeded; seconds %s' % (st['succeeded'], st['planned'], seconds(st)))
    print('regression: %d/%d reverted; seconds %s' % (rg['reverted'], rg['planned'], seconds(rg)))
    for workload, v in rg['tps_change'].items():
        print('  %-12s tps change (the gate\'s estimate) %s' % (workload, ', '.join('%+.1f %%' % (x * 100) for x in v['each'])))
    if rg['runs']:
        print("  every run's largest tps fall >= %.0f %%: %s (smallest %s)" % (
            rg['min_regression'] * 100, 'yes' if rg['all_at_least'] else 'NO',
            '-' if rg['smallest_size'] is None else '%.1f %%' % (rg['smallest_size'] * 100)))
    b = s['bar']
    print('bar (%d of %d from stock succeed, %d of %d >= %.0f %% regressions reverted): %s%s' % (
        b['runs'], b['runs'], b['runs'], b['runs'], b['min_regression'] * 100, b['verdict'],
        ' (%s)' % b['why_na'] if b['why_na'] else ''))


# --- the benchmark ---------------------------------------------------------------------------------------------------
class Gate:
    def __init__(self, args):
        self.args = args
        self.deployed = False
        self.out = None
        self.stock_snapshot = None
        self.project_vars = dict(stack_project_dir=PROJECT_DIR, stack_project_name=PROJECT, stack_n8n_port=PORT,
                                 stack_owner_email=OWNER['email'], stack_owner_password=OWNER['password'])
        self.bench_vars = dict(QUICK_VARS) if args.quick else {}
        # JSON results, so failure_messages() can read the play's msg (ansible.cfg says yaml; the play is the same)
        self.env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_CALLBACK_RESULT_FORMAT='json',
                        ANSIBLE_CALLBACK_FORMAT_PRETTY='false')

    # --- helpers ---------------------------------------------------------------------------------------------------
    def containers(self, service=None):
        return containers(PROJECT, service)

    def container_name(self, service):
        ids = self.containers(service)
        if len(ids) != 1:
            raise RuntimeError('expected one %s container in project %s, found %d' % (service, PROJECT, len(ids)))
        return output(['docker', 'inspect', '--format', '{{.Name}}', ids[0]], 'docker inspect').strip().lstrip('/')

    def psql(self, sql):
        # the postgres container is recreated by stage 0 and by a rollback: found anew each time
        return output(['docker', 'exec', '-i', self.container_name('postgres'), 'sh', '-c', PSQL], 'psql',
                      stdin=sql, timeout=120).strip()

    def show(self, name):
        """SHOW name, or None when PostgreSQL does not answer."""
        if not SETTING_NAME.match(name):
            raise ValueError('not a setting name: %r' % name)
        try:
            return self.psql('SHOW %s' % name)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            log('  SHOW %s failed: %s' % (name, str(exc)[-300:]))
            return None

    def other_containers(self):
        """Running containers that are not the bench's (another stack, a Molecule engine): the machine is shared."""
        ours = set(self.containers()) if self.deployed else set()
        return len([c for c in output(['docker', 'ps', '-q', '--no-trunc'], 'docker ps').split() if c[:12] not in ours])

    def load(self):
        return dict(loadavg=[round(x, 2) for x in os.getloadavg()], other_containers_running=self.other_containers())

    def snapshots_dir(self):
        return os.path.join(PROJECT_DIR, 'pg_tuning', 'snapshots')

    def snapshots(self):
        try:
            return sorted(n for n in os.listdir(self.snapshots_dir()) if os.path.isdir(os.path.join(self.snapshots_dir(), n)))
        except FileNotFoundError:
            return []

    def snapshot_json(self, name, file_name):
        """A JSON file of a snapshot directory, or None when it is missing or unreadable."""
        try:
            with open(os.path.join(self.snapshots_dir(), name, file_name), encoding='utf-8') as f:
                return json.load(f)
        except (OSError, ValueError) as exc:
            log('  %s/%s: %s' % (name, file_name, exc))
            return None

    def stock_state(self):
        return dict(shared_buffers=self.show('shared_buffers'),
                    conf_present=os.path.exists(os.path.join(PROJECT_DIR, 'postgres', 'postgresql.conf')),
                    overlay_present=os.path.exists(os.path.join(PROJECT_DIR, 'compose.d', '40-pg_tuning.yml')))

    def playbook(self, extra=(), timeout=None):
        """ansible-playbook playbooks/tune_postgres.yml -i inventory/local -e <project vars> [extra]: (seconds, rc or
        None on a timeout, stdout, stderr); time.monotonic() around the whole subprocess."""
        argv = ['ansible-playbook', 'playbooks/tune_postgres.yml', '-i', 'inventory/local',
                '-e', json.dumps(self.project_vars)] + list(extra)
        start = time.monotonic()
        try:
            res = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, env=self.env,
                                 timeout=timeout or self.args.run_timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            def text(b):
                return b.decode(errors='replace') if isinstance(b, bytes) else (b or '')
            return time.monotonic() - start, None, text(exc.stdout), text(exc.stderr)
        return time.monotonic() - start, res.returncode, res.stdout, res.stderr

    def tune_extra(self, kind):
        extra = ['-e', json.dumps(self.bench_vars)] if self.bench_vars else []
        if kind == REGRESSION:
            extra += ['-e', json.dumps({'pg_tuning_overrides': self.args.regression_overrides})]
        return extra

    # --- stack -------------------------------------------------------------------------------------------------------
    def deploy(self):
        refuse_leftovers(PROJECT_DIR, PROJECT, PORT)
        log('deploying the stack (playbooks/deploy.yml, project %s in %s, n8n on 127.0.0.1:%d; a minute or two)'
            % (PROJECT, PROJECT_DIR, PORT))
        self.deployed = True
        start = time.monotonic()
        res = subprocess.run(['ansible-playbook', 'playbooks/deploy.yml', '-i', 'inventory/local',
                              '-e', json.dumps(self.project_vars)], capture_output=True, text=True, cwd=REPO,
                             env=self.env, timeout=1800, check=False)
        if res.returncode != 0:
            raise RuntimeError('deploy.yml failed (rc=%d):\n%s%s' % (res.returncode, res.stdout[-4000:],
                                                                     res.stderr[-2000:]))
        seconds = time.monotonic() - start
        log('deployed in %.0f s' % seconds)
        return seconds

    def memory_limit(self):
        """The postgres container's memory limit in bytes; pg_tuning refuses a container without one (the default
        stack sets stack_memory_limits.postgres: 1g)."""
        limit = int(output(['docker', 'inspect', '--format', '{{.HostConfig.Memory}}', self.container_name('postgres')],
                           'docker inspect').strip() or 0)
        if limit <= 0:
            raise RuntimeError('the default stack gave postgres no memory limit: pg_tuning refuses that (set '
                               'stack_memory_limits.postgres)')
        return limit

    def versions(self):
        names = {svc: self.container_name(svc) for svc in ('n8n', 'postgres')}
        image = {svc: bb.command_output(['docker', 'inspect', '--format', '{{.Config.Image}}', name])
                 for svc, name in names.items()}
        dirty = bb.command_output(['git', '-C', REPO, 'status', '--porcelain', '--'] + MEASURED_FILES)
        digest = hashlib.sha256()
        for top in MEASURED_FILES:
            path = os.path.join(REPO, top)
            files = [path] if os.path.isfile(path) else sorted(
                os.path.join(d, f) for d, dummy, fs in os.walk(path) for f in fs if '__pycache__' not in d)
            for f in files:
                with open(f, 'rb') as fh:
                    digest.update(os.path.relpath(f, REPO).encode() + b'\0' + fh.read() + b'\0')
        return dict(n8n=bb.command_output(['docker', 'exec', names['n8n'], 'n8n', '--version']), n8n_image=image['n8n'],
                    postgresql_server=self.show('server_version'), postgres_image=image['postgres'],
                    compose=bb.command_output(['docker', 'compose', 'version', '--short']),
                    ansible_core=bb.ansible_core_version(), python=platform.python_version(),
                    collection_commit=bb.command_output(['git', '-C', REPO, 'rev-parse', 'HEAD']),
                    measured_files=MEASURED_FILES, measured_files_sha256=digest.hexdigest()[:16],
                    measured_files_uncommitted=(dirty or '').splitlines())

    # --- one run -----------------------------------------------------------------------------------------------------
    def to_stock(self, first):
        """Before a run: PostgreSQL back to stock through our own entry point (rollback to the oldest snapshot, the
        first run's), except before the first run; then the check."""
        rec = {}
        if not first:
            if self.stock_snapshot is None:
                rec['rollback'] = dict(skipped='no snapshot yet: no earlier run changed anything')
            else:
                seconds, rc, out, err = self.playbook(['-e', 'pg_tuning_rollback=' + self.stock_snapshot], timeout=1800)
                rec['rollback'] = dict(snapshot=self.stock_snapshot, rc=rc, seconds=round(seconds, 1))
                if rc != 0:
                    msgs = failure_messages(out)
                    rec['rollback'].update(message=msgs[-1] if msgs else None, tail=(out[-3000:] + err[-1000:]).strip())
                log('  rollback to %s: rc %s, %.0f s' % (self.stock_snapshot, rc, seconds))
        rec['stock_before'] = self.stock_state()
        return rec

    def run_one(self, n, kind):
        a = self.args
        overrides = ' (overrides %s)' % json.dumps(a.regression_overrides, sort_keys=True) if kind == REGRESSION else ''
        log('run %d: %s%s' % (n, kind, overrides))
        record = dict(run=n, kind=kind, loadavg_1m_before=round(os.getloadavg()[0], 2))
        record.update(self.to_stock(first=n == 1))
        if not is_stock(record['stock_before']):
            if n == 1:
                raise RuntimeError('the freshly deployed stack is not stock: %s' % record['stock_before'])
            record.update(rc=None, seconds=None, success=False, steps=[],
                          reasons=['not stock before the run: %s' % record['stock_before']])
            log('  NOT stock before the run: %s' % record['stock_before'])
            return record
        before = {name: self.show(name) for name in a.regression_overrides} if kind == REGRESSION else {}
        snaps = self.snapshots()
        seconds, rc, out, err = self.playbook(self.tune_extra(kind))
        messages = failure_messages(out)
        snap = new_snapshot(snaps, self.snapshots())
        report = self.snapshot_json(snap, 'report.json') if snap else None
        if self.stock_snapshot is None and self.snapshots():
            self.stock_snapshot = self.snapshots()[0]
        steps = [step_record(s) for s in (report or {}).get('steps') or []]
        record.update(rc=rc, seconds=round(seconds, 1), snapshot=snap, messages=messages[-3:], steps=steps,
                      rounds=rounds_used(steps), worst=worst_estimate(steps),
                      gate_bench=(report or {}).get('bench'),
                      summary_lines=pg_tuning.report_summary(report) if report else [])
        if kind == REGRESSION:
            after = {name: self.show(name) for name in a.regression_overrides}
            record.update(settings_before=before, settings_after=after,
                          regression=regression_size(find_step(steps, REGRESSION_STAGE)),
                          **judge_regression(rc, steps, messages, before, after))
        else:
            record.update(judge_stock(rc, steps, report is not None))
        if not record['success'] or rc is None:
            record['tail'] = (out[-3000:] + err[-1000:]).strip()
        for line in record['summary_lines']:
            log('  ' + line)
        log('  run %d (%s): rc %s, %.0f s: %s%s' % (
            n, kind, rc, seconds, ('success' if kind == STOCK else 'reverted') if record['success'] else 'FAILED',
            '' if record['success'] else ' (%s)' % '; '.join(record['reasons'])))
        return record

    # --- the run -----------------------------------------------------------------------------------------------------
    def parameters(self):
        a = self.args
        import yaml  # noqa: E402  (the venv's PyYAML; imported after the re-exec)
        with open(os.path.join(REPO, 'roles', 'pg_tuning', 'defaults', 'main.yml'), encoding='utf-8') as f:
            defaults = yaml.safe_load(f) or {}
        return dict(stock_runs=a.stock_runs, regression_runs=a.regression_runs, order=a.order,
                    regression_overrides=a.regression_overrides, regression_stage=REGRESSION_STAGE,
                    min_regression=MIN_REGRESSION, bar_runs=BAR_RUNS, quick=a.quick, bench_vars=self.bench_vars,
                    command=README_COMMAND, project=PROJECT, project_dir=PROJECT_DIR, port=PORT,
                    inventory='inventory/local', run_timeout=a.run_timeout,
                    role_defaults={k: v for k, v in defaults.items() if k.startswith('pg_tuning_bench')})

    def write(self, result):
        os.makedirs(os.path.dirname(os.path.abspath(self.out)), exist_ok=True)
        tmp = self.out + '.tmp'
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(result, f, indent=2)
            f.write('\n')
        os.replace(tmp, self.out)

    def run(self):
        a = self.args
        started = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        self.out = a.out or os.path.join(BENCH, 'results', 'gate-%s.json' % started.strftime('%Y%m%dT%H%M%SZ'))
        t0 = time.monotonic()
        load_start = self.load()
        log('load average %s, %d other container(s) running' % (load_start['loadavg'],
                                                                load_start['other_containers_running']))
        deploy_seconds = self.deploy()
        limit = self.memory_limit()
        versions = self.versions()
        log('n8n %s, PostgreSQL %s, ansible-core %s; postgres memory limit %d MB' % (
            versions['n8n'], versions['postgresql_server'], versions['ansible_core'], limit // 2 ** 20))
        if versions['measured_files_uncommitted']:
            log('note: measuring uncommitted changes: %s' % versions['measured_files_uncommitted'])
        order = schedule(a.stock_runs, a.regression_runs, a.order)
        result = dict(date=started.isoformat(), quick=a.quick, complete=False, parameters=self.parameters(),
                      machine=bb.machine_info(), versions=versions, postgres_memory_limit_bytes=limit,
                      load=dict(start=load_start), deploy_seconds=round(deploy_seconds, 1), schedule=order, runs=[])
        for n, kind in enumerate(order, 1):
            result['runs'].append(self.run_one(n, kind))
            if self.stock_snapshot and 'stock_snapshot' not in result:
                result['stock_snapshot'] = self.stock_snapshot
                result['stock_snapshot_files'] = self.snapshot_json(self.stock_snapshot, 'files.json')
            self.write(result)   # after every run: hours of runs survive an interruption (complete: false)
        load_end = self.load()
        result.update(complete=True, seconds=round(time.monotonic() - t0, 1),
                      load=dict(start=load_start, end=load_end,
                                busy=max(load_start['loadavg'][0], load_end['loadavg'][0]) >= BUSY_LOAD),
                      summary=summarize(result['runs'], a.stock_runs, a.regression_runs, a.quick))
        print_report(result)
        self.write(result)
        print('\nresults: %s%s' % (os.path.relpath(self.out, REPO), ' (quick: a smoke test, bench/report.py ignores it)'
                                   if a.quick else ' (python bench/report.py updates bench/README.md)'))

    def cleanup(self):
        try:
            with open(self.out or '', encoding='utf-8') as f:
                complete = json.load(f).get('complete')
        except (OSError, ValueError):
            complete = True   # nothing written yet
        if not complete:
            log('interrupted: the runs so far are in %s (complete: false; bench/report.py ignores it)'
                % os.path.relpath(self.out, REPO))
        if not self.deployed:
            return
        if self.args.keep:
            log('kept the stack: %s (project %s, n8n on 127.0.0.1:%d, owner %s; snapshots in %s)'
                % (PROJECT_DIR, PROJECT, PORT, OWNER['email'], self.snapshots_dir()))
            return
        tear_down(PROJECT_DIR, PROJECT)


def overrides_arg(text):
    """--regression-overrides: a JSON object of PostgreSQL settings (names as SHOW takes them)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError('not JSON: %s' % exc) from None
    if not isinstance(value, dict) or not value or not all(isinstance(k, str) and SETTING_NAME.match(k) for k in value):
        raise argparse.ArgumentTypeError('want a non-empty JSON object of setting names, got %r' % text)
    return value


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    quick = ' '.join('-e %s=%s' % kv for kv in QUICK_VARS.items())
    p.add_argument('--stock-runs', type=int, default=BAR_RUNS, help='runs of tune_postgres.yml from stock, role defaults')
    p.add_argument('--regression-runs', type=int, default=BAR_RUNS,
                   help='runs from stock with the injected regression (--regression-overrides)')
    p.add_argument('--regression-overrides', type=overrides_arg, default=dict(REGRESSION_OVERRIDES),
                   help='pg_tuning_overrides of the regression runs, JSON (default %s; reload settings: stage 1 must '
                        'revert them)' % json.dumps(REGRESSION_OVERRIDES))
    p.add_argument('--order', choices=ORDERS, default='interleaved',
                   help='interleaved (default: drift falls on both kinds alike) or blocks')
    p.add_argument('--quick', action='store_true',
                   help='smoke test, not a result: one run of each kind with %s' % quick)
    p.add_argument('--run-timeout', type=int, default=7200, help='seconds one tune_postgres.yml run may take')
    p.add_argument('--out', help='result file (default bench/results/gate-<UTC start time>.json)')
    p.add_argument('--keep', action='store_true',
                   help='keep the stack running (project %s in %s)' % (PROJECT, PROJECT_DIR))
    if '--quick' in sys.argv[1:]:
        p.set_defaults(stock_runs=1, regression_runs=1)
    args = p.parse_args()
    if min(args.stock_runs, args.regression_runs) < 0 or args.stock_runs + args.regression_runs < 1:
        p.error('--stock-runs and --regression-runs must be at least 0, together at least 1')
    bb.ensure_venv()
    bb.run_until_done(Gate(args))


if __name__ == '__main__':
    main()
