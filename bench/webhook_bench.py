#!/usr/bin/env python
"""Webhook answer benchmark: does every `lastNode` webhook call get its answer, with n8n's default queue retention
and with the stack's (stack_queue_keep_finished_jobs)?

n8n main answers a `Respond: When Last Node Finishes` webhook once Bull tells it the execution's job finished
(`await job.finished()` in workflow-runner.js). It starts that wait after the job is enqueued and its own
`workflowExecuteBefore` hooks ran; with N8N_EXECUTIONS_QUEUE_KEEP_LAST_COMPLETED=0 (n8n's default) a worker that
finishes the job first deletes it, main finds no finished job and no completion event comes any more: the caller
waits until its own timeout. Kept finished jobs (the stack's default 1000) are found at once.

Deploys the same bench project as scale_bench.py (playbooks/deploy.yml with inventory/local: project n8nscalebench
in /tmp/n8n-scale-bench, n8n on 127.0.0.1:5690, --workers workers), then, in interleaved rounds, redeploys with
each --variants value of stack_queue_keep_finished_jobs and fires --calls tagged calls (`?tag=<unique>`) at a
Webhook (lastNode) -> Set workflow whose answer echoes the tag and the execution id, --parallel at a time, each
with a --timeout. Every call must come back 200 with its own tag. For every call that did not, the execution that
carries its tag is looked up in PostgreSQL (status, times) with main's log lines about it: where the answer was lost.
Writes bench/results/webhook-<UTC start time>.json; bench/report.py builds its table in bench/README.md.
Python stdlib, the docker CLI and this collection's venv only.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
import backup_bench as bb  # noqa: E402  (venv re-exec, machine facts, SIGTERM clean-up)
import scale_bench as sb  # noqa: E402  (the bench project: deploy, owner session, public API, psql, clean-up)
from bench_project import log  # noqa: E402


def stack_default():
    """stack_queue_keep_finished_jobs from the stack role's defaults (the role is the one place it is set)."""
    with open(os.path.join(sb.REPO, 'roles', 'stack', 'defaults', 'main.yml'), encoding='utf-8') as f:
        found = re.search(r'^stack_queue_keep_finished_jobs: (\d+)\s*$', f.read(), re.M)
    if not found:
        raise RuntimeError('stack_queue_keep_finished_jobs not found in roles/stack/defaults/main.yml')
    return int(found.group(1))


STACK_DEFAULT = stack_default()


def workflow_body(marker):
    """Webhook (GET, answers with the last node's first item) -> Set {tag, execution}."""
    hook = sb.node(marker, 'Webhook', 'webhook', 2, 0,
                   {'httpMethod': 'GET', 'path': marker, 'responseMode': 'lastNode', 'options': {}}, webhook=True)
    fields = [('tag', '={{ $json.query.tag }}'), ('execution', '={{ $execution.id }}')]
    assignments = [{'id': sb.node_id(marker, name), 'name': name, 'value': value, 'type': 'string'}
                   for name, value in fields]
    answer = sb.node(marker, 'Answer', 'set', 3.4, 220, {'assignments': {'assignments': assignments}, 'options': {}})
    return dict(name='n8n_ops webhook bench %s' % marker, nodes=[hook, answer],
                connections={'Webhook': {'main': [[{'node': 'Answer', 'type': 'main', 'index': 0}]]}},
                settings={'executionOrder': 'v1', 'saveDataSuccessExecution': 'all'})


# --- calls and their verdicts (pure) -----------------------------------------------------------------------------
def call(url, tag, timeout):
    """dict(tag, start, seconds, status, execution) of one GET; status 'ok' only for a 200 echoing the tag."""
    start = time.time()
    status, execution = None, None
    try:
        with urllib.request.urlopen('%s?tag=%s' % (url, tag), timeout=timeout) as response:
            body = response.read()
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if isinstance(answer, dict) and answer.get('tag') == tag:
            status, execution = 'ok', answer.get('execution')
        else:
            status = 'wrong answer: %s' % body[:200]
    except urllib.error.HTTPError as exc:
        status = 'http %d' % exc.code
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, 'reason', exc)
        status = 'timeout' if 'timed out' in str(reason) else 'error: %s' % reason
    return dict(tag=tag, start=start, seconds=round(time.time() - start, 3), status=status, execution=execution)


def verdict(calls):
    """Counts of one measurement: answered (200 with its own tag), lost (no answer before the timeout), other."""
    statuses = collections.Counter(c['status'] for c in calls)
    answered = statuses.get('ok', 0)
    lost = statuses.get('timeout', 0)
    latencies = [c['seconds'] for c in calls if c['status'] == 'ok']
    return dict(calls=len(calls), answered=answered, lost=lost, other=len(calls) - answered - lost,
                statuses=dict(statuses), latency_ms=sb.percentiles(latencies, 1000, 1))


def upper_bound_95(failures, trials):
    """One-sided 95 % upper bound of a failure rate (Clopper-Pearson; 0 of n gives 1 - 0.05 ** (1 / n),
    about 3 / n): 'at most this often', from what was seen."""
    if trials == 0:
        return None
    if failures >= trials:
        return 1.0
    low, high = failures / trials, 1.0
    for dummy in range(60):   # bisection on the binomial tail P(X <= failures | p) = 0.05
        mid = (low + high) / 2
        if binomial_cdf(failures, trials, mid) > 0.05:
            low = mid
        else:
            high = mid
    return high


def binomial_cdf(k, n, p):
    term = (1 - p) ** n
    total = term
    for i in range(k):
        term *= (n - i) / (i + 1) * p / (1 - p)
        total += term
    return total


def summarize(measurements, variants):
    out = {}
    for v in variants:
        ms = [m for m in measurements if m['keep_finished_jobs'] == v]
        calls = sum(m['calls'] for m in ms)
        lost = sum(m['lost'] for m in ms)
        out[str(v)] = dict(rounds=len(ms), calls=calls, answered=sum(m['answered'] for m in ms), lost=lost,
                           other=sum(m['other'] for m in ms),
                           lost_rate=round(lost / calls, 6) if calls else None,
                           lost_rate_upper_95=round(upper_bound_95(lost, calls), 6) if calls else None,
                           calls_per_s=sb.stats([m['calls_per_s'] for m in ms]),
                           latency_p95_ms=sb.stats([(m['latency_ms'] or {}).get('p95') for m in ms]))
    return out


# --- the benchmark ---------------------------------------------------------------------------------------------------
class Webhooks(sb.Scale):
    def __init__(self, args):
        super().__init__(args)
        self.extra_vars['stack_worker_replicas'] = args.workers

    def redeploy(self, keep):
        self.extra_vars['stack_queue_keep_finished_jobs'] = keep
        if not self.deployed:
            return self.deploy()
        log('redeploying with stack_queue_keep_finished_jobs=%d (recreates main and the workers)' % keep)
        seconds = self.playbook('deploy.yml')
        log('redeployed in %.0f s' % seconds)
        return seconds

    def main_env(self):
        out = sb.output(['docker', 'inspect', '--format', '{{json .Config.Env}}', self.container('n8n')],
                        'docker inspect')
        env = dict(e.split('=', 1) for e in json.loads(out) if '=' in e)
        return {k: env.get(k) for k in ('N8N_EXECUTIONS_QUEUE_KEEP_LAST_COMPLETED',
                                        'N8N_EXECUTIONS_QUEUE_KEEP_LAST_FAILED')}

    def trace(self, workflow_id, lost, since):
        """Where each lost answer went: the execution carrying its tag (PostgreSQL) and main's log lines on it."""
        main_log = subprocess.run(['docker', 'logs', '--since', '%.3f' % (since - 1), self.container('n8n')],
                                  capture_output=True, text=True, check=False)
        lines = (main_log.stdout + main_log.stderr).splitlines()
        traces = []
        for c in lost:
            if not re.match(r'^[a-z0-9-]+$', c['tag']):
                raise RuntimeError('unexpected tag %r' % c['tag'])
            row = self.psql(
                'SELECT e.id, e.status, e."createdAt", e."startedAt", e."stoppedAt" FROM execution_entity e '
                'JOIN execution_data d ON d."executionId" = e.id WHERE e."workflowId" = \'%s\' '
                'AND d.data LIKE \'%%%s%%\'' % (workflow_id, c['tag']))
            fields = row.split('|') if row else []
            t = dict(c, execution_found=bool(fields))
            if fields:
                t.update(execution=fields[0], execution_status=fields[1], created_at=fields[2], started_at=fields[3],
                         stopped_at=fields[4])
                pattern = re.compile(r'\bexecution %s\b' % re.escape(fields[0]), re.I)
                t['main_log'] = [line[:300] for line in lines if pattern.search(line)][:10]
            traces.append(t)
        return traces

    def measure(self, rnd, keep):
        a = self.args
        marker = 'webhook-k%d-r%d-%s' % (keep, rnd, uuid.uuid4().hex[:8])
        url = '%s/webhook/%s' % (self.base, marker)
        with self.published(workflow_body(marker), a.settle) as workflow_id:
            with ThreadPoolExecutor(max_workers=a.parallel) as pool:
                warm = list(pool.map(lambda i: call(url, 'warm-%04d' % i, a.timeout), range(a.warmup)))
            log('round %d, keep %d: %d warm-up calls (%s); firing %d tagged calls from %d threads, timeout %d s'
                % (rnd, keep, len(warm), dict(collections.Counter(c['status'] for c in warm)), a.calls, a.parallel,
                   a.timeout))
            tags = ['%s-%06d' % (marker, i) for i in range(a.calls)]
            first = time.time()
            with ThreadPoolExecutor(max_workers=a.parallel) as pool:
                calls = list(pool.map(lambda t: call(url, t, a.timeout), tags))
            seconds = time.time() - first
            m = dict(round=rnd, keep_finished_jobs=keep, workflow_id=workflow_id, marker=marker,
                     seconds=round(seconds, 1), **verdict(calls))
            m['calls_per_s'] = round(m['calls'] / seconds, 1)
            self.wait_finished(workflow_id, a.calls + a.warmup)
            missing = [c for c in calls if c['status'] != 'ok']
            m['not_answered'] = self.trace(workflow_id, missing, first)
        log('  %d calls in %.0f s (%.1f/s): %d answered, %d lost, %d other; p95 %s ms'
            % (m['calls'], m['seconds'], m['calls_per_s'], m['answered'], m['lost'], m['other'],
               (m['latency_ms'] or {}).get('p95')))
        for t in m['not_answered']:
            log('    %s: %s after %.1f s; execution %s %s'
                % (t['tag'], t['status'], t['seconds'], t.get('execution'), t.get('execution_status', 'not found')))
        return m

    def run(self):
        a = self.args
        started = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        t0 = time.monotonic()
        measurements, deploys = [], []
        for rnd in range(1, a.rounds + 1):
            for keep in (a.variants if rnd % 2 else a.variants[::-1]):
                deploys.append(round(self.redeploy(keep), 1))
                if self.api_key is None:   # the API key outlives a redeploy (it is in PostgreSQL)
                    self.open_session()
                env = self.main_env()
                if env['N8N_EXECUTIONS_QUEUE_KEEP_LAST_COMPLETED'] != str(keep):
                    raise RuntimeError('main runs with %s, expected %d' % (env, keep))
                m = self.measure(rnd, keep)
                m['main_env'] = env
                measurements.append(m)
        result = dict(date=started.isoformat(), seconds=round(time.monotonic() - t0, 1),
                      parameters=dict(calls=a.calls, rounds=a.rounds, variants=a.variants, workers=a.workers,
                                      concurrency=a.concurrency, parallel=a.parallel, timeout=a.timeout,
                                      warmup=a.warmup, settle=a.settle, project=sb.PROJECT, port=sb.PORT,
                                      inventory='inventory/local', stack_default=STACK_DEFAULT),
                      machine=bb.machine_info(), versions=self.versions(), deploy_seconds=deploys, runs=measurements,
                      summary=summarize(measurements, a.variants))
        print('\n== lastNode webhook calls, %d workers x concurrency %d, %d threads, timeout %d s'
              % (a.workers, a.concurrency, a.parallel, a.timeout))
        print('%-12s %8s %9s %6s %6s %14s %9s' % ('keep jobs', 'calls', 'answered', 'lost', 'other', 'lost <= (95%)',
                                                  'calls/s'))
        for v, s in result['summary'].items():
            print('%-12s %8d %9d %6d %6d %13.4f%% %9.1f'
                  % (v, s['calls'], s['answered'], s['lost'], s['other'], 100 * s['lost_rate_upper_95'],
                     s['calls_per_s']['median']))
        out = a.out or os.path.join(BENCH, 'results', 'webhook-%s.json' % started.strftime('%Y%m%dT%H%M%SZ'))
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, 'w', encoding='utf-8') as f:
            json.dump(result, f, indent=2)
            f.write('\n')
        print('\nresults: %s (python bench/report.py updates bench/README.md)' % os.path.relpath(out, sb.REPO))


def keep_values(text):
    values = [int(x) for x in text.split(',') if x.strip()]
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError('a comma-separated list of values >= 0, e.g. 0,1000')
    return values


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--calls', type=int, default=5000, help='tagged webhook calls per variant and round')
    p.add_argument('--rounds', type=int, default=2, help='interleaved rounds over the variants')
    p.add_argument('--variants', type=keep_values, default=[0, STACK_DEFAULT],
                   help='stack_queue_keep_finished_jobs values, comma-separated (0 is n8n\'s default)')
    p.add_argument('--workers', type=int, default=4, help='n8n workers')
    p.add_argument('--concurrency', type=int, default=10, help='n8n worker --concurrency')
    p.add_argument('--parallel', type=int, default=20, help='calls in flight')
    p.add_argument('--timeout', type=int, default=60, help='seconds a call waits for its answer')
    p.add_argument('--warmup', type=int, default=40, help='unmeasured calls after each deploy')
    p.add_argument('--settle', type=float, default=3.0, help='seconds between activating the workflow and firing')
    p.add_argument('--drain-timeout', type=int, default=600, help='seconds to wait for the executions to finish')
    p.add_argument('--out', help='result file (default bench/results/webhook-<UTC start time>.json)')
    p.add_argument('--keep', action='store_true',
                   help='keep the stack running (project %s in %s)' % (sb.PROJECT, sb.PROJECT_DIR))
    args = p.parse_args()
    if min(args.calls, args.rounds, args.workers, args.concurrency, args.parallel, args.timeout) < 1:
        p.error('--calls, --rounds, --workers, --concurrency, --parallel and --timeout must be at least 1')
    bb.ensure_venv()
    bb.run_until_done(Webhooks(args))


if __name__ == '__main__':
    main()
