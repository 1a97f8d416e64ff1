#!/usr/bin/env python
"""Worker scaling benchmark: n8n queue-mode throughput with 1, 2 and 5 workers, trivial and latency-bound.

Deploys its own stack on the local Docker engine with the collection's playbooks (playbooks/deploy.yml with
inventory/local: project n8nscalebench in /tmp/n8n-scale-bench, n8n on 127.0.0.1:5690), then, in interleaved
rounds, scales the workers with playbooks/scale_workers.yml (the worker_scaling role's defaults: 512m and 1 CPU per
worker) and for each worker count fires --executions webhook calls at two workflows and waits until every execution
has finished: a trivial one (Webhook -> Set; bound by how fast n8n main accepts webhook calls) and a latency-bound
one (Webhook -> Wait 1 s -> Set; bound by the workers' slots). Records the enqueue rate, the drain time, the
throughput, the statuses and, per worker container, the executions it took, its peak RSS, OOM kills and restarts.
Writes bench/results/scale-<UTC start time>.json, from which bench/report.py builds a table in bench/README.md.
See bench/README.md. Python stdlib, the docker CLI and this collection's venv only.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime
import http.cookiejar
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
sys.path.insert(0, os.path.join(REPO, 'collections'))  # collections/ansible_collections/n8n_ops/stack -> the checkout
import backup_bench as bb  # noqa: E402  (venv re-exec, machine facts, SIGTERM clean-up)
from bench_project import containers, log, output, refuse_leftovers, tear_down  # noqa: E402
from ansible_collections.n8n_ops.stack.plugins.module_utils.queue_check import FINISHED  # noqa: E402

PROJECT_DIR = '/tmp/n8n-scale-bench'
PROJECT = 'n8nscalebench'
PORT = 5690
OWNER = dict(email='bench@example.com', password='Bench-Pass-1')
WAIT_SECONDS = 1   # the latency-bound workflow's Wait node: each execution holds a worker slot this long
GOAL_SHARE = 0.9   # latency-bound goal: at least this share of min(N x concurrency / WAIT_SECONDS, main's ceiling)
POLL_SECONDS = 0.5
TRIVIAL, LATENCY = 'trivial-webhook', 'latency-bound'
WORKFLOWS = {
    TRIVIAL: 'Webhook (GET, responds on receipt) -> Set: bound by how fast n8n main accepts and enqueues calls',
    LATENCY: 'Webhook (GET, responds on receipt) -> Wait %d s -> Set: each execution holds a worker slot'
             % WAIT_SECONDS,
}
STARTED = re.compile(r'Worker started execution (\d+)')
INSPECT = '\t'.join(['{{.Id}}', '{{.Name}}', '{{.State.OOMKilled}}', '{{.RestartCount}}', '{{.State.StartedAt}}',
                     '{{.HostConfig.Memory}}', '{{.HostConfig.NanoCpus}}', '{{json .Config.Cmd}}'])


# --- the two workflows ---------------------------------------------------------------------------------------------
def node_id(marker, name):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, '%s/%s' % (marker, name)))


def node(marker, name, kind, version, x, parameters, webhook=False):
    n = dict(id=node_id(marker, name), name=name, type='n8n-nodes-base.' + kind, typeVersion=version, position=[x, 0],
             parameters=parameters)
    if webhook:
        n['webhookId'] = node_id(marker, name + '-hook')
    return n


def workflow_body(kind, marker):
    """The workflow JSON for the public API (node JSON as roles/stack/templates/check_queue_workflow.json.j2)."""
    nodes = [node(marker, 'Webhook', 'webhook', 2, 0,
                  {'httpMethod': 'GET', 'path': marker, 'responseMode': 'onReceived', 'options': {}}, webhook=True)]
    if kind == LATENCY:
        nodes.append(node(marker, 'Wait', 'wait', 1.1, 220,
                          {'resume': 'timeInterval', 'amount': WAIT_SECONDS, 'unit': 'seconds'}, webhook=True))
    assignment = {'id': node_id(marker, 'assignment'), 'name': 'marker', 'value': marker, 'type': 'string'}
    nodes.append(node(marker, 'Marker', 'set', 3.4, 440, {'assignments': {'assignments': [assignment]}, 'options': {}}))
    names = [n['name'] for n in nodes]
    connections = {a: {'main': [[{'node': b, 'type': 'main', 'index': 0}]]} for a, b in zip(names, names[1:])}
    return dict(name='n8n_ops scale bench %s' % marker, nodes=nodes, connections=connections,
                settings={'executionOrder': 'v1', 'saveDataSuccessExecution': 'all'})


# --- firing and counting (pure where possible) --------------------------------------------------------------------
def call(url):
    """(start, end, status) of one GET; status is the HTTP code or 'error: ...'."""
    start = time.time()
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            response.read()
            status = str(response.status)
    except urllib.error.HTTPError as exc:
        status = str(exc.code)
    except (urllib.error.URLError, OSError) as exc:
        status = 'error: %s' % getattr(exc, 'reason', exc)
    return start, time.time(), status


def percentiles(values, scale=1.0, digits=3):
    """median, p95 (nearest rank) and max of values, times scale; None without values."""
    if not values:
        return None
    v = sorted(values)
    return dict(median=round(statistics.median(v) * scale, digits),
                p95=round(v[min(len(v) - 1, int(0.95 * len(v) + 0.5) - 1)] * scale, digits),
                max=round(v[-1] * scale, digits))


def fire(url, count, parallel):
    """count calls from parallel threads as fast as they answer; the enqueue rate counts 2xx answers."""
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        calls = list(pool.map(call, [url] * count))
    first, last = min(c[0] for c in calls), max(c[1] for c in calls)
    ok = sum(1 for c in calls if c[2].startswith('2'))
    return dict(first_call=first, calls=count, ok=ok, statuses=dict(collections.Counter(c[2] for c in calls)),
                seconds=round(last - first, 3), per_second=round(ok / (last - first), 2),
                latency_ms=percentiles([c[1] - c[0] for c in calls], 1000, 1))


def epoch(stamp):
    return datetime.datetime.fromisoformat(stamp.replace('Z', '+00:00')).timestamp()


def execution_stats(executions, first_call, created, seen_done):
    """Statuses and timings of a measurement's executions (the public API's startedAt/stoppedAt; createdAt from
    PostgreSQL for the time in the queue). drain_s runs from the first call to the last stop."""
    started = {str(e['id']): epoch(e['startedAt']) for e in executions if e.get('startedAt')}
    stopped = {str(e['id']): epoch(e['stoppedAt']) for e in executions if e.get('stoppedAt')}
    both = [i for i in started if i in stopped]
    finished = [e for e in executions if e.get('status') in FINISHED]
    out = dict(executions=len(executions), finished=len(finished),
               statuses=dict(collections.Counter(e.get('status') for e in executions)),
               failed_executions=sum(1 for e in executions if e.get('status') != 'success'),
               observed_drain_s=round(seen_done - first_call, 2))
    if both:
        last_stop = max(stopped[i] for i in both)
        drain = last_stop - first_call
        out.update(first_start_after_call_s=round(min(started.values()) - first_call, 3),
                   exec_span_s=round(last_stop - min(started[i] for i in both), 3), drain_s=round(drain, 3),
                   throughput_per_s=round(len(finished) / drain, 2) if drain > 0 else None,
                   duration_s=percentiles([stopped[i] - started[i] for i in both]),
                   queue_wait_s=percentiles([started[i] - created[i] for i in both if i in created]))
    return out


def memory_peaks(text):
    """From /proc/<pid>/status texts and a line 'cgroup <bytes>': the largest VmHWM (peak resident set of one
    process: n8n itself), the sum of all VmHWM (an upper bound with the task runner) and the container's memory
    cgroup peak (with page cache; what the limit is enforced on), in MB."""
    kb = [int(m) for m in re.findall(r'^VmHWM:\s+(\d+) kB', text, re.M)]
    cgroup = re.search(r'^cgroup (\d+)$', text, re.M)
    return dict(peak_rss_mb=round(max(kb) / 1024, 1) if kb else None,
                peak_rss_sum_mb=round(sum(kb) / 1024, 1) if kb else None,
                cgroup_peak_mb=round(int(cgroup.group(1)) / 2 ** 20, 1) if cgroup else None)


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return dict(median=round(statistics.median(values), 3), min=round(min(values), 3), max=round(max(values), 3))


def add_goal(trivial, latency, workers, concurrency):
    """The latency-bound goal of one round and worker count: 0.9 x min(slots per second, main's ceiling), the
    ceiling being the trivial workflow's throughput with the same workers in the same round."""
    slots = workers * concurrency / WAIT_SECONDS
    ceiling = trivial.get('throughput_per_s')
    actual = latency.get('throughput_per_s')
    if not ceiling or actual is None:
        latency['goal'] = dict(slots_per_s=slots, ceiling_per_s=ceiling, verdict='n/a')
        return
    ideal = min(slots, ceiling)
    latency['goal'] = dict(slots_per_s=slots, ceiling_per_s=ceiling, ideal_per_s=round(ideal, 2),
                           goal_per_s=round(GOAL_SHARE * ideal, 2), ratio=round(actual / ideal, 3),
                           verdict='PASS' if actual >= GOAL_SHARE * ideal else 'MISS')


def failures(m):
    """Calls not answered 2xx, executions missing or not successful."""
    return (m['enqueue']['calls'] - m['enqueue']['ok']) + max(0, m['enqueue']['ok'] - m['executions']) \
        + m['failed_executions']


def summarize(measurements, workers):
    """Per worker count and workflow: medians (min, max) over the rounds, worst peak RSS, OOM kills and failures."""
    summary = {}
    for n in workers:
        summary[str(n)] = {}
        for kind in WORKFLOWS:
            ms = [m for m in measurements if m['workers'] == n and m['workflow'] == kind]
            if not ms:
                continue
            containers = [w for m in ms for w in m['worker_containers']]
            s = dict(rounds=len(ms), throughput_per_s=stats([m.get('throughput_per_s') for m in ms]),
                     drain_s=stats([m.get('drain_s') for m in ms]),
                     exec_span_s=stats([m.get('exec_span_s') for m in ms]),
                     enqueue_per_s=stats([m['enqueue']['per_second'] for m in ms]),
                     peak_rss_mb_max=max((w['peak_rss_mb'] or 0 for w in containers), default=None),
                     cgroup_peak_mb_max=max((w['cgroup_peak_mb'] or 0 for w in containers), default=None),
                     main_peak_rss_mb_max=max((m['main']['peak_rss_mb'] or 0 for m in ms), default=None),
                     oom_kills=sum(w['oom_kills'] for m in ms for w in m['worker_containers'] + [m['main']]),
                     restarts=sum(w['restarts'] for m in ms for w in m['worker_containers'] + [m['main']]),
                     failed=sum(failures(m) for m in ms), not_on_a_worker=sum(m['not_on_a_worker'] for m in ms))
            if kind == LATENCY:
                goals = [m['goal'] for m in ms if 'ratio' in m['goal']]
                s.update(slots_per_s=n * ms[0]['concurrency'] / WAIT_SECONDS,
                         ideal_per_s=stats([g['ideal_per_s'] for g in goals]), ratio=stats([g['ratio'] for g in goals]))
                s['verdict'] = ('PASS' if s['ratio']['median'] >= GOAL_SHARE else 'MISS') if s['ratio'] else 'n/a'
            summary[str(n)][kind] = s
    return summary


def print_report(r):
    p = r['parameters']
    print('\n== n8n queue mode, %s executions per measurement, %d round(s), concurrency %d, %s and %s CPU per worker;'
          ' medians' % (p['executions'], p['rounds'], p['concurrency'], p['worker_memory'], p['worker_cpus']))
    heads = ('workers', 'workflow', 'enqueue/s', 'exec/s', 'drain s', 'ideal/s', 'ratio', 'goal', 'RSS MB', 'OOM',
             'failed')
    print('%-8s %-16s %9s %9s %9s %9s %7s %7s %8s %5s %6s' % heads)
    for n, per in r['summary'].items():
        for kind, s in per.items():
            ideal = s.get('ideal_per_s')
            ratio = s.get('ratio')
            print('%-8s %-16s %9.1f %9.1f %9.1f %9s %7s %7s %8.0f %5d %6d' % (
                n, kind, s['enqueue_per_s']['median'], (s['throughput_per_s'] or {}).get('median', 0),
                (s['drain_s'] or {}).get('median', 0), '%.1f' % ideal['median'] if ideal else '-',
                '%.2f' % ratio['median'] if ratio else '-', s.get('verdict', ''), s['peak_rss_mb_max'] or 0,
                s['oom_kills'], s['failed']))


# --- the benchmark ---------------------------------------------------------------------------------------------------
class Scale:
    def __init__(self, args):
        self.args = args
        self.base = 'http://127.0.0.1:%d' % PORT
        self.deployed = False
        self.opener = None
        self.api_key = self.api_key_id = None
        self.extra_vars = dict(stack_project_dir=PROJECT_DIR, stack_project_name=PROJECT, stack_n8n_port=PORT,
                               stack_owner_email=OWNER['email'], stack_owner_password=OWNER['password'],
                               stack_pull_policy='never', stack_worker_concurrency=args.concurrency,
                               worker_scaling_concurrency=args.concurrency)

    # --- helpers ---------------------------------------------------------------------------------------------------
    def playbook(self, name, extra=()):
        """ansible-playbook playbooks/<name> -i inventory/local with the bench's variables; returns seconds."""
        cmd = ['ansible-playbook', os.path.join('playbooks', name), '-i', 'inventory/local',
               '-e', json.dumps(self.extra_vars)] + list(extra)
        start = time.monotonic()
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=dict(os.environ, ANSIBLE_NOCOLOR='1'),
                             check=False)
        if res.returncode != 0:
            raise RuntimeError('%s failed (rc=%d):\n%s%s'
                               % (name, res.returncode, res.stdout[-4000:], res.stderr[-2000:]))
        return time.monotonic() - start

    def containers(self, service):
        """Ids of the bench project's containers of a compose service (also one that is restarting)."""
        return containers(PROJECT, service)

    def container(self, service):
        ids = self.containers(service)
        if len(ids) != 1:
            raise RuntimeError('expected one %s container in project %s, found %d' % (service, PROJECT, len(ids)))
        return ids[0]

    def inspect(self, ids):
        """Only these fields: a whole `docker inspect` holds the containers' environment (secrets)."""
        rows = []
        text = output(['docker', 'inspect', '--format', INSPECT] + ids, 'docker inspect') if ids else ''
        for line in text.splitlines():
            cid, name, oom, restarts, started, memory, cpus, cmd = line.split('\t')
            rows.append(dict(id=cid[:12], name=name.lstrip('/'), oom_killed=oom == 'true', restart_count=int(restarts),
                             started_at=started, memory_bytes=int(memory), cpus=int(cpus) / 1e9, cmd=json.loads(cmd)))
        return sorted(rows, key=lambda r: r['name'])

    def memory(self, cid):
        """memory_peaks() of a container (cgroup v2 memory.peak, else v1 memory.max_usage_in_bytes)."""
        script = ('cat /proc/[0-9]*/status 2>/dev/null; echo cgroup $(cat /sys/fs/cgroup/memory.peak 2>/dev/null '
                  '|| cat /sys/fs/cgroup/memory/memory.max_usage_in_bytes 2>/dev/null)')
        res = subprocess.run(['docker', 'exec', cid, 'sh', '-c', script], capture_output=True, text=True, timeout=60,
                             check=False)
        return memory_peaks(res.stdout)

    def oom_events(self, since, until):
        """{container name: OOM kill events} of the bench project between two epoch times."""
        out = output(['docker', 'events', '--since', '%.3f' % since, '--until', '%.3f' % until,
                      '--filter', 'label=com.docker.compose.project=' + PROJECT, '--filter', 'event=oom',
                      '--format', '{{.Actor.Attributes.name}}'], 'docker events')
        return collections.Counter(out.split())

    def psql(self, sql):
        cmd = 'psql -X -q -At -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"'
        return output(['docker', 'exec', '-i', self.container('postgres'), 'sh', '-c', cmd], 'psql', stdin=sql).strip()

    def request(self, opener, method, url, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method,
                                     headers=dict({'Content-Type': 'application/json', 'Accept': 'application/json'},
                                                  **(headers or {})))
        with opener.open(req, timeout=60) as response:
            text = response.read()
        return json.loads(text) if text else None

    def rest(self, method, path, body=None):
        """n8n's internal REST API as the logged-in owner."""
        return self.request(self.opener, method, self.base + path, body)

    def api(self, method, path, body=None):
        """n8n's public API with the bench's API key."""
        return self.request(urllib.request.build_opener(), method, self.base + '/api/v1' + path, body,
                            {'X-N8N-API-KEY': self.api_key})

    # --- stack -------------------------------------------------------------------------------------------------------
    def deploy(self):
        refuse_leftovers(PROJECT_DIR, PROJECT, PORT)
        log('deploying the stack (playbooks/deploy.yml, project %s in %s, n8n on 127.0.0.1:%d; a minute or two)'
            % (PROJECT, PROJECT_DIR, PORT))
        self.deployed = True
        seconds = self.playbook('deploy.yml')
        log('deployed in %.0f s' % seconds)
        return seconds

    def open_session(self):
        """Log in as the owner and create an API key for the public API (workflow and execution scopes)."""
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.rest('POST', '/rest/login', dict(emailOrLdapLoginId=OWNER['email'], password=OWNER['password']))
        scopes = [s for s in self.rest('GET', '/rest/api-keys/scopes')['data']
                  if re.match(r'^(workflow|execution):', s)]
        body = dict(label='n8n_ops scale bench %d' % os.getpid(), scopes=scopes, expiresAt=int(time.time()) + 86400)
        key = self.rest('POST', '/rest/api-keys', body)['data']
        self.api_key, self.api_key_id = key['rawApiKey'], key['id']

    def scale(self, n, rnd):
        log('round %d: scaling to %d worker(s) (playbooks/scale_workers.yml)' % (rnd, n))
        seconds = self.playbook('scale_workers.yml', ['-e', 'workers=%d' % n])
        workers = self.inspect(self.containers('n8n-worker'))
        flag = '--concurrency=%d' % self.args.concurrency
        wrong = [w['name'] for w in workers if flag not in w['cmd']]
        if len(workers) != n or wrong:
            raise RuntimeError('after scaling to %d: %d workers running, without %s: %s'
                               % (n, len(workers), flag, wrong))
        log('%d worker(s) ready after %.0f s' % (n, seconds))
        return dict(round=rnd, workers=n, seconds=round(seconds, 1),
                    memory_bytes=sorted({w['memory_bytes'] for w in workers}),
                    cpus=sorted({w['cpus'] for w in workers}), warmup=self.warm_up(n, workers))

    def warm_up(self, n, workers):
        """Unmeasured: --warmup calls per worker of the latency-bound workflow (every node type either workflow uses),
        so workers that just started have loaded their nodes before a measured burst. {worker: executions taken}."""
        calls = n * self.args.warmup
        if not calls:
            return None
        marker = 'scale-warmup-%dw-%s' % (n, uuid.uuid4().hex[:8])
        with self.published(workflow_body(LATENCY, marker), 1) as workflow_id:
            fired = fire('%s/webhook/%s' % (self.base, marker), calls, self.args.parallel)
            self.wait_finished(workflow_id, fired['ok'])
            ids = {str(e['id']) for e in self.executions(workflow_id)}
            taken = {w['name']: self.executions_taken(w['id'], fired['first_call'], ids) for w in workers}
        spread = ', '.join('%s %d' % (name.rsplit('-', 1)[-1], count) for name, count in taken.items())
        log('  warm-up: %d calls, per worker %s' % (calls, spread))
        return taken

    def versions(self):
        main, redis = self.container('n8n'), self.container('redis')
        image = {svc: bb.command_output(['docker', 'inspect', '--format', '{{.Config.Image}}', self.container(svc)])
                 for svc in ('n8n', 'postgres', 'redis')}
        return dict(n8n=bb.command_output(['docker', 'exec', main, 'n8n', '--version']), n8n_image=image['n8n'],
                    postgresql_server=self.psql('SHOW server_version'), postgres_image=image['postgres'],
                    redis=bb.command_output(['docker', 'exec', redis, 'redis-server', '--version']),
                    redis_image=image['redis'], compose=bb.command_output(['docker', 'compose', 'version', '--short']),
                    ansible_core=bb.ansible_core_version(), python=platform.python_version(),
                    collection_commit=bb.command_output(['git', '-C', REPO, 'rev-parse', 'HEAD']))

    # --- one measurement -------------------------------------------------------------------------------------------
    def count_finished(self, workflow_id):
        out = self.psql("SELECT count(*) FILTER (WHERE status IN (%s)), count(*) FROM execution_entity "
                        "WHERE \"workflowId\" = '%s'" % (', '.join("'%s'" % s for s in FINISHED), workflow_id))
        finished, total = (int(x) for x in out.split('|'))
        return finished, total

    def wait_finished(self, workflow_id, expected):
        """Until expected executions of the workflow have finished (PostgreSQL, so the polling costs n8n main
        nothing); returns (epoch when seen, drained)."""
        deadline = time.monotonic() + self.args.drain_timeout
        said = time.monotonic()
        while True:
            finished, total = self.count_finished(workflow_id)
            if finished >= expected:
                return time.time(), True
            if time.monotonic() > deadline:
                log('drain timeout: %d of %d finished (%d recorded)' % (finished, expected, total))
                return time.time(), False
            if time.monotonic() - said >= 10:
                log('  %d of %d finished' % (finished, expected))
                said = time.monotonic()
            time.sleep(POLL_SECONDS)

    def executions(self, workflow_id):
        """Every execution of the workflow through the public API (following nextCursor)."""
        rows, cursor = [], None
        while True:
            query = 'workflowId=%s&limit=250' % workflow_id
            if cursor:
                query += '&cursor=' + urllib.parse.quote(cursor)
            page = self.api('GET', '/executions?' + query)
            rows += page.get('data') or []
            cursor = page.get('nextCursor')
            if not cursor:
                return rows

    def created_times(self, workflow_id):
        out = self.psql('SELECT id, extract(epoch FROM "createdAt") FROM execution_entity WHERE "workflowId" = \'%s\''
                        % workflow_id)
        return {i: float(t) for i, t in (line.split('|') for line in out.splitlines() if line)}

    def executions_taken(self, cid, since, ids):
        """How many of ids the container's log says it started (`Worker started execution <id>`) since then."""
        logs = subprocess.run(['docker', 'logs', '--since', '%.3f' % (since - 1), cid], capture_output=True, text=True,
                              check=False)
        return len(set(STARTED.findall(logs.stdout + logs.stderr)) & ids)

    def container_facts(self, rows, before, since, ooms, ids=None):
        """Per container: executions it started of ids (its log since the first call), peak RSS, OOM kills, restarts."""
        facts = []
        for w in rows:
            was = before.get(w['id'], {})
            new_oom = w['oom_killed'] and not was.get('oom_killed')
            fact = dict(name=w['name'], oom_killed=w['oom_killed'], oom_kills=max(ooms.get(w['name'], 0), int(new_oom)),
                        restart_count=w['restart_count'], restarts=w['restart_count'] - was.get('restart_count', 0),
                        started_at=w['started_at'], **self.memory(w['id']))
            if ids is not None:
                fact['executions'] = self.executions_taken(w['id'], since, ids)
            facts.append(fact)
        return facts

    def remove_workflow(self, workflow_id, attempts=30):
        """Unpublish (n8n refuses to delete a published workflow), then delete; its executions go with it. n8n
        answers 409 while the unpublishing is still under way (seen with the Wait node's workflow): retried."""
        base = '/workflows/%s' % workflow_id
        for method, path, tries in (('POST', base + '/deactivate', 1), ('DELETE', base, attempts)):
            for attempt in range(1, tries + 1):
                try:
                    self.api(method, path)
                    break
                except urllib.error.HTTPError as exc:
                    if exc.code == 409 and attempt < tries:
                        time.sleep(1)
                        continue
                    log('could not %s workflow %s: %s %s' % (method, workflow_id, exc, exc.read()[:300]))
                    break
                except (urllib.error.URLError, OSError) as exc:
                    log('could not %s workflow %s: %s' % (method, workflow_id, exc))
                    break

    @contextlib.contextmanager
    def published(self, body, settle):
        """A workflow created and published through the public API for the with-block (after settle seconds), then
        unpublished and deleted with its executions, also when the block fails."""
        workflow_id = self.api('POST', '/workflows', body)['id']
        if not re.match(r'^[A-Za-z0-9]+$', workflow_id):   # it goes into SQL and URLs
            raise RuntimeError('unexpected workflow id %r' % workflow_id)
        try:
            self.api('POST', '/workflows/%s/activate' % workflow_id)
            time.sleep(settle)
            yield workflow_id
        finally:
            self.remove_workflow(workflow_id)

    def measure(self, rnd, n, kind):
        a = self.args
        marker = 'scale-%s-%dw-r%d-%s' % (kind, n, rnd, uuid.uuid4().hex[:8])
        with self.published(workflow_body(kind, marker), a.settle) as workflow_id:
            worker_ids, main_id = self.containers('n8n-worker'), self.container('n8n')
            before = {w['id']: w for w in self.inspect(worker_ids + [main_id])}
            load = os.getloadavg()[0]
            log('round %d, %d worker(s), %s: firing %d calls from %d threads'
                % (rnd, n, kind, a.executions, a.parallel))
            fired = fire('%s/webhook/%s' % (self.base, marker), a.executions, a.parallel)
            log('  enqueued %d of %d in %.1f s: %.1f calls/s (statuses %s)'
                % (fired['ok'], fired['calls'], fired['seconds'], fired['per_second'], fired['statuses']))
            seen, drained = self.wait_finished(workflow_id, fired['ok'])
            executions = self.executions(workflow_id)
            ids = {str(e['id']) for e in executions}
            m = dict(round=rnd, workers=n, workflow=kind, concurrency=a.concurrency, workflow_id=workflow_id,
                     marker=marker, loadavg_1m_before=round(load, 2), drained=drained, enqueue=fired)
            m.update(execution_stats(executions, fired['first_call'], self.created_times(workflow_id), seen))
            ooms = self.oom_events(fired['first_call'] - 1, time.time())
            m['worker_containers'] = self.container_facts(self.inspect(self.containers('n8n-worker')), before,
                                                          fired['first_call'], ooms, ids)
            m['main'] = self.container_facts(self.inspect([main_id]), before, fired['first_call'], ooms)[0]
            m['not_on_a_worker'] = len(ids) - sum(w['executions'] for w in m['worker_containers'])
        log('  drained in %s s (%s exec/s; span first start to last stop %s s), statuses %s, per worker %s'
            % (m.get('drain_s'), m.get('throughput_per_s'), m.get('exec_span_s'), m['statuses'],
               ', '.join('%s %d (%.0f MB)' % (w['name'].rsplit('-', 1)[-1], w['executions'], w['peak_rss_mb'] or 0)
                         for w in m['worker_containers'])))
        return m

    # --- the run ---------------------------------------------------------------------------------------------------
    def run(self):
        a = self.args
        started = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        t0 = time.monotonic()
        deploy_seconds = self.deploy()
        self.open_session()
        versions = self.versions()
        log('n8n %s, PostgreSQL %s, %s' % (versions['n8n'], versions['postgresql_server'], versions['redis']))
        measurements, scalings = [], []
        for rnd in range(1, a.rounds + 1):
            # serpentine order (1 2 5, then 5 2 1, ...): drift spreads over the counts and a scale step is saved
            order = a.workers if rnd % 2 else a.workers[::-1]
            for n in order:
                scalings.append(self.scale(n, rnd))
                pair = {kind: self.measure(rnd, n, kind) for kind in WORKFLOWS}
                add_goal(pair[TRIVIAL], pair[LATENCY], n, a.concurrency)
                g = pair[LATENCY]['goal']
                if 'ratio' in g:
                    log('  latency-bound: %.1f exec/s of ideal %.1f = min(%g slots/s, ceiling %.1f): ratio %.2f %s'
                        % (pair[LATENCY]['throughput_per_s'], g['ideal_per_s'], g['slots_per_s'], g['ceiling_per_s'],
                           g['ratio'], g['verdict']))
                measurements += pair.values()
        result = dict(date=started.isoformat(), seconds=round(time.monotonic() - t0, 1),
                      parameters=dict(executions=a.executions, rounds=a.rounds, workers=a.workers,
                                      concurrency=a.concurrency, parallel=a.parallel, settle=a.settle, warmup=a.warmup,
                                      drain_timeout=a.drain_timeout, wait_seconds=WAIT_SECONDS, goal_share=GOAL_SHARE,
                                      worker_memory='%dm' % (scalings[0]['memory_bytes'][0] // 2 ** 20),
                                      worker_cpus=scalings[0]['cpus'][0], project=PROJECT, port=PORT,
                                      inventory='inventory/local'),
                      machine=bb.machine_info(), versions=versions, workflows=WORKFLOWS,
                      deploy_seconds=round(deploy_seconds, 1), scalings=scalings, runs=measurements,
                      summary=summarize(measurements, a.workers))
        print_report(result)
        out = a.out or os.path.join(BENCH, 'results', 'scale-%s.json' % started.strftime('%Y%m%dT%H%M%SZ'))
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, 'w', encoding='utf-8') as f:
            json.dump(result, f, indent=2)
            f.write('\n')
        print('\nresults: %s (python bench/report.py updates bench/README.md)' % os.path.relpath(out, REPO))

    def cleanup(self):
        if not self.deployed:
            return
        if self.args.keep:
            if self.api_key_id:
                try:
                    self.rest('DELETE', '/rest/api-keys/%s' % self.api_key_id)
                except (urllib.error.URLError, OSError):
                    pass
            log('kept the stack: %s (project %s, n8n on 127.0.0.1:%d, owner %s)'
                % (PROJECT_DIR, PROJECT, PORT, OWNER['email']))
            return
        tear_down(PROJECT_DIR, PROJECT)


def worker_counts(text):
    counts = [int(x) for x in text.split(',') if x.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError('a comma-separated list of worker counts >= 1, e.g. 1,2,5')
    return counts


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--rounds', type=int, default=2, help='interleaved rounds over every worker count')
    p.add_argument('--executions', type=int, default=200, help='webhook calls (executions) per measurement')
    p.add_argument('--workers', type=worker_counts, default=[1, 2, 5], help='worker counts, comma-separated')
    p.add_argument('--concurrency', type=int, default=10, help='n8n worker --concurrency')
    p.add_argument('--parallel', type=int, default=16, help='threads firing the webhook calls')
    p.add_argument('--settle', type=float, default=3.0, help='seconds between activating a workflow and firing')
    p.add_argument('--warmup', type=int, default=10,
                   help='unmeasured latency-bound calls per worker after each scaling (0: none)')
    p.add_argument('--drain-timeout', type=int, default=600, help='seconds to wait for the executions to finish')
    p.add_argument('--out', help='result file (default bench/results/scale-<UTC start time>.json)')
    p.add_argument('--keep', action='store_true',
                   help='keep the stack running (project %s in %s)' % (PROJECT, PROJECT_DIR))
    args = p.parse_args()
    if min(args.rounds, args.executions, args.concurrency, args.parallel) < 1 or args.warmup < 0:
        p.error('--rounds, --executions, --concurrency and --parallel must be at least 1, --warmup at least 0')
    bb.ensure_venv()
    bb.run_until_done(Scale(args))


if __name__ == '__main__':
    main()
