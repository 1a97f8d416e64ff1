#!/usr/bin/env python
"""RTO benchmark: from a host with no project directory and no volumes to n8n answering, restored by the backup role.

Deploys the stack on the local Docker engine (its own project, port and directories), fills it with an n8n-shaped
database of --size-gb (bench/backup_bench.py's generator, into n8n's real tables) and a real credential, takes a
backup set with playbooks/backup.yml, removes containers, volumes and the project directory, then times
playbooks/restore.yml and splits it into phases from the playbook's own task timings. Afterwards the rows, the
credential (decrypted by n8n) and n8n's readiness are checked. Writes bench/results/rto-<UTC start time>.json, from
which bench/report.py builds a table in bench/README.md. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import http.cookiejar
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
import backup_bench as bb  # noqa: E402  (the generator, venv re-exec and machine facts are shared)

REPO = os.path.dirname(BENCH)
GOAL_SECONDS = 300
PROJECT = 'n8n-rto'
MARKER = 'rto-bench'
OWNER = dict(email='rto-bench@example.com', password='Rto-bench-pass-1')
# First task of each phase of roles/backup/tasks/restore.yml, in order; a phase lasts until the next one starts.
PHASES = [
    ('checks', 'Check the inputs before anything changes'),
    ('start PostgreSQL and Redis', 'Render the project and start only PostgreSQL and Redis'),
    ('version checks', "Read the target's PostgreSQL server and pg_restore versions"),
    ('pg_restore (scratch database)', 'Restore the dump into the scratch database'),
    ('ANALYZE', 'Refresh the planner statistics of the restored database'),
    ('swap databases', 'Swap the restored database in'),
    ('Redis snapshot and data folder', "Create this restore's copy directory"),
    ('start the stack, n8n ready', 'Start the whole stack and wait for readiness'),
    ('clean-up, unlock', 'Clean up (the restore is complete'),
]
CHECK_SQL = ('SELECT (SELECT count(*) FROM execution_entity), (SELECT count(*) FROM execution_data),'
             ' (SELECT sum(length(data)) FROM execution_data), (SELECT count(*) FROM credentials_entity),'
             ' (SELECT count(*) FROM workflow_entity)')


def log(msg):
    print('[%s] %s' % (time.strftime('%H:%M:%S'), msg), flush=True)


class Rto(bb.Bench):
    """Runs against the deployed stack's postgres container instead of a throw-away one."""

    def __init__(self, args):
        super().__init__(args)
        self.root = args.workdir
        self.project_dir = os.path.join(self.root, 'project')
        self.backup_root = os.path.join(self.root, 'backups')
        self.container = '%s-postgres-1' % PROJECT
        self.c = shlex.quote(self.container)
        self.base = 'http://127.0.0.1:%d' % args.port
        self.vars_file = os.path.join(self.root, 'vars.json')

    def psql(self, sql, db='n8n', variables=None):
        var = ''.join(' -v %s=%s' % (k, shlex.quote(str(v))) for k, v in (variables or {}).items())
        cmd = 'docker exec -i %s psql -X -q -At -v ON_ERROR_STOP=1 -U n8n -d %s%s' % (self.c, db, var)
        res = subprocess.run(['bash', '-c', cmd], input=sql.encode(), capture_output=True, check=False)
        if res.returncode != 0:
            raise RuntimeError('psql failed: %s' % res.stderr.decode()[-2000:])
        return res.stdout.decode().strip()

    def playbook(self, name, callback='ansible.builtin.default'):
        """ansible-playbook playbooks/<name> against inventory/local; returns (seconds, stdout)."""
        env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK=callback, ANSIBLE_NOCOLOR='1')
        cmd = ['ansible-playbook', os.path.join(REPO, 'playbooks', name), '-i', os.path.join(REPO, 'inventory/local'),
               '-e', '@' + self.vars_file]
        start = time.monotonic()
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, check=False)
        seconds = time.monotonic() - start
        if res.returncode != 0:
            raise RuntimeError('%s failed (rc=%d):\n%s%s' % (name, res.returncode, res.stdout[-4000:], res.stderr[-2000:]))
        return seconds, res.stdout

    def rest(self):
        """An opener logged in as the owner."""
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        body = json.dumps(dict(emailOrLdapLoginId=OWNER['email'], password=OWNER['password'])).encode()
        opener.open(urllib.request.Request(self.base + '/rest/login', body, {'Content-Type': 'application/json'}),
                    timeout=30).read()
        return opener

    def remove_deployment(self):
        if os.path.isdir(self.project_dir):
            subprocess.run(['docker', 'compose', 'down', '--volumes', '--remove-orphans'], cwd=self.project_dir,
                           capture_output=True, check=False)
        shutil.rmtree(self.project_dir, ignore_errors=True)

    def cleanup(self):
        if self.args.keep:
            log('kept %s (project %s, backups %s)' % (self.root, self.project_dir, self.backup_root))
            return
        self.remove_deployment()
        shutil.rmtree(self.root, ignore_errors=True)

    def run(self):
        started = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        if os.path.exists(self.root):
            raise RuntimeError('%s exists: remove it (and its compose project %s) first' % (self.root, PROJECT))
        os.makedirs(self.root)
        with open(self.vars_file, 'w', encoding='utf-8') as f:
            json.dump(dict(stack_project_dir=self.project_dir, stack_project_name=PROJECT, stack_n8n_port=self.args.port,
                           stack_owner_email=OWNER['email'], stack_owner_password=OWNER['password'],
                           stack_executions_prune=False, backup_project_dir=self.project_dir,
                           backup_root=self.backup_root), f)

        log('deploying the stack (project %s, port %d)' % (PROJECT, self.args.port))
        deploy_seconds = self.playbook('deploy.yml')[0]

        log('a credential through n8n (encrypted with the instance key), then %.1f GB of executions' % self.args.size_gb)
        body = json.dumps(dict(name=MARKER, type='httpHeaderAuth', data=dict(name='X-' + MARKER, value='v-' + MARKER)))
        req = urllib.request.Request(self.base + '/rest/credentials', body.encode(), {'Content-Type': 'application/json'})
        credential_id = json.loads(self.rest().open(req, timeout=30).read())['data']['id']
        start = time.monotonic()
        self.psql(bb.HELPERS_SQL + bb.WORKFLOWS_SQL, variables={'active': 'false'})
        self.fill(int(self.args.size_gb * 1024 ** 3), start)
        self.psql("SELECT setval('execution_entity_id_seq', (SELECT max(id) FROM execution_entity)); VACUUM (ANALYZE)")
        generation = dict(seconds=round(time.monotonic() - start, 1), db_bytes=int(self.psql("SELECT pg_database_size('n8n')")),
                          executions=int(self.psql('SELECT count(*) FROM execution_entity')))
        before = self.psql(CHECK_SQL)

        log('backup set (playbooks/backup.yml)')
        backup_seconds = self.playbook('backup.yml')[0]
        sets = sorted(d for d in os.listdir(self.backup_root) if re.match(r'^\d{8}_\d{6}$', d))
        set_dir = os.path.join(self.backup_root, sets[-1])
        set_bytes = {f: os.path.getsize(os.path.join(set_dir, f)) for f in sorted(os.listdir(set_dir))}

        log('bare host: compose down --volumes, project directory removed (images stay)')
        self.remove_deployment()
        left = subprocess.run(['docker', 'volume', 'ls', '-q', '--filter', 'label=com.docker.compose.project=' + PROJECT],
                              capture_output=True, text=True, check=True).stdout.split()
        if left:
            raise RuntimeError('volumes left behind: %s' % left)

        log('restore (playbooks/restore.yml) - the timed part')
        restore_seconds, out = self.playbook('restore.yml', callback='ansible.posix.json')
        phases = split_phases(json.loads(out[out.index('{'):]), restore_seconds)
        ready = urllib.request.urlopen(self.base + '/healthz/readiness', timeout=10).status
        log('restored in %.1f s; checking rows, the credential and readiness' % restore_seconds)

        after = self.psql(CHECK_SQL)
        cred = json.loads(self.rest().open(self.base + '/rest/credentials/%s?includeData=true' % credential_id,
                                           timeout=30).read())['data']
        checks = dict(rows_match=after == before, credential_decrypts=cred['data'].get('name') == 'X-' + MARKER,
                      readiness_status=ready)
        if not (checks['rows_match'] and checks['credential_decrypts'] and ready == 200):
            raise RuntimeError('restore incomplete: %s (rows %s vs %s)' % (checks, after, before))

        result = dict(date=started.isoformat(), goal_seconds=GOAL_SECONDS,
                      parameters=dict(size_gb=self.args.size_gb, port=self.args.port, project=PROJECT,
                                      postgres_memory_limit=stack_default('postgres')),
                      machine=bb.machine_info(), versions=self.versions(), generation=generation,
                      deploy_seconds=round(deploy_seconds, 1), backup_seconds=round(backup_seconds, 1),
                      set_bytes=set_bytes, restore_seconds=round(restore_seconds, 1), phases=phases, checks=checks,
                      verdict='PASS' if restore_seconds <= GOAL_SECONDS else 'MISS')
        print_report(result)
        out = os.path.relpath(bb.write_result(result, started, 'rto'), REPO)
        print('\nresults: %s (python bench/report.py updates bench/README.md)' % out)

    def versions(self):
        return dict(postgresql_server=self.psql('SHOW server_version'), ansible_core=bb.ansible_core_version(),
                    n8n=subprocess.run(['docker', 'exec', '%s-n8n-1' % PROJECT, 'n8n', '--version'], capture_output=True,
                                       text=True, check=False).stdout.strip() or None,
                    collection_commit=bb.command_output(['git', '-C', REPO, 'rev-parse', 'HEAD']))


def stack_default(service):
    """The stack role's default memory limit of a service (inventory/local does not change it)."""
    text = open(os.path.join(REPO, 'roles/stack/defaults/main.yml'), encoding='utf-8').read()
    m = re.search(r'^\s+%s:\s*(\S+)' % service, text[text.index('stack_memory_limits:'):], re.M)
    return m.group(1) if m else None


def parse_time(stamp):
    return datetime.datetime.fromisoformat(stamp.replace('Z', '+00:00'))


def split_phases(report, total):
    """[{phase, seconds}] from ansible.posix.json task timings: a phase runs from its first task's start to the
    next phase's; what precedes the first task (and follows the last) is ansible start-up and shut-down."""
    tasks = []
    for play in report.get('plays', []):
        for t in play.get('tasks', []):
            d = t['task'].get('duration') or {}
            if d.get('start') and d.get('end'):
                # role tasks are named "<role> : <name>"
                tasks.append((t['task']['name'].split(' : ', 1)[-1], parse_time(d['start']), parse_time(d['end'])))
    if not tasks:
        raise RuntimeError('the json callback reported no task timings')
    starts = []
    for phase, first_task in PHASES:
        hit = next((s for name, s, dummy in tasks if name.startswith(first_task)), None)
        if hit is not None:
            starts.append((phase, hit))
    starts.sort(key=lambda p: p[1])
    end = max(e for dummy, dummy2, e in tasks)
    phases = [dict(phase=p, seconds=round(((starts[i + 1][1] if i + 1 < len(starts) else end) - s).total_seconds(), 1))
              for i, (p, s) in enumerate(starts)]
    inside = (end - min(s for dummy, s, dummy2 in tasks)).total_seconds()
    phases.append(dict(phase='ansible start-up and shut-down', seconds=round(total - inside, 1)))
    return phases


def print_report(r):
    print('\n== RTO: %.0f MB n8n database, bare host (no project directory, no volumes; images present)'
          % (r['generation']['db_bytes'] / 2 ** 20))
    for p in r['phases']:
        print('  %-40s %7.1f s' % (p['phase'], p['seconds']))
    print('  %-40s %7.1f s  %s (goal <= %d s)'
          % ('total (playbooks/restore.yml)', r['restore_seconds'], r['verdict'], r['goal_seconds']))
    print('  checks: %s' % r['checks'])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--size-gb', type=float, default=1.0, help='minimum pg_database_size of n8n before the backup')
    p.add_argument('--port', type=int, default=15678, help="the bench stack's n8n port on 127.0.0.1")
    p.add_argument('--workdir', default='/var/tmp/n8n-rto-bench', help='project directory, backups and variables go here')
    p.add_argument('--keep', action='store_true', help='keep the restored stack and the backup set')
    args = p.parse_args()
    bb.ensure_venv()
    bb.run_until_done(Rto(args))


if __name__ == '__main__':
    main()
