#!/usr/bin/env python
"""Backup benchmark: n8n_ops.stack.pg_dump against `pg_dump | gzip` and a no-compression floor.

Starts a throw-away PostgreSQL container, fills an n8n-shaped database of --size-gb with server-side SQL,
then times dumps and restores (the backup role's among them, against `psql < dump.sql`), interleaved
(A B C A B C ...), prints medians and ratios and writes every sample to bench/results/backup-<UTC time>.json,
from which bench/report.py builds bench/README.md's tables.
See bench/README.md. Python stdlib, the docker CLI and this collection's venv only.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DB, RESTORE_DB, USER = 'n8n', 'n8n_restore', 'postgres'
MOUNT = '/bench'  # the work directory, bind-mounted into the container (pg_restore -j, directory format)
SERVER_SETTINGS = ['shared_buffers=512MB', 'maintenance_work_mem=256MB', 'work_mem=16MB', 'max_wal_size=4GB',
                   'checkpoint_timeout=30min']
TABLES = ['workflow_entity', 'credentials_entity', 'execution_entity', 'execution_data']
Target = collections.namedtuple('Target', 'key limit method what meaning')
TARGETS = [
    Target('dump_time_ours_over_seed', 0.5, 'ours', 'time / seed', 'ours >= 2x faster than pg_dump | gzip'),
    Target('dump_size_ours_over_seed', 1.0, 'ours', 'size / seed', 'ours no larger than pg_dump | gzip'),
    Target('dump_time_ours_over_floor', 1.25, 'ours', 'time / floor', 'ours <= 1.25x pg_dump -Fc -Z0 > /dev/null'),
    Target('restore_time_ours_session_over_psql', 0.6, 'ours-session', 'time / psql',
           "the backup role's restore <= 0.6x psql < dump.sql"),
]
# What roles/backup/tasks/restore_postgres.yml passes to its pg_restore session (its defaults), and the same with
# backup_restore_toast_compression=pglz (the server's default, and the role's restore before lz4).
RESTORE_PGOPTIONS = '-c synchronous_commit=off -c maintenance_work_mem=256MB -c default_toast_compression=lz4'
RESTORE_PGOPTIONS_PGLZ = '-c synchronous_commit=off -c maintenance_work_mem=256MB -c default_toast_compression=pglz'
RESTORE_BASELINE = 'psql'
# (restore method, baseline) pairs whose ratio shows what the role's session settings, --single-transaction and
# ANALYZE change against the same pg_restore invocation without them.
RESTORE_CHANGES = [('ours-session', 'pg_restore-stdin'), ('ours-session', 'ours-session-pglz'),
                   ('ours-session-pglz', 'pg_restore-stdin'), ('ours-j2', 'pg_restore-j2')]
RestoreMethod = collections.namedtuple('RestoreMethod', 'description command analyze')
DUMP_DESCRIPTIONS = {
    'ours': 'n8n_ops.stack.pg_dump module, defaults (custom format, zstd:1)',
    'seed': '`pg_dump | gzip` (what cron scripts do)',
    'floor': '`pg_dump -Fc -Z0 > /dev/null` (no compression, no file)',
}

# Schema as n8n's PostgreSQL migrations create it (columns that matter for size, plus its indexes).
SCHEMA_SQL = r'''
CREATE TABLE workflow_entity (
  id varchar(36) PRIMARY KEY, name varchar(128) NOT NULL, active boolean NOT NULL,
  nodes json NOT NULL, connections json NOT NULL, settings json, "staticData" json, "pinData" json,
  "versionId" char(36), "triggerCount" integer NOT NULL DEFAULT 0, meta json,
  "createdAt" timestamptz(3) NOT NULL DEFAULT now(), "updatedAt" timestamptz(3) NOT NULL DEFAULT now());
CREATE TABLE credentials_entity (
  id varchar(36) PRIMARY KEY, name varchar(128) NOT NULL, data text NOT NULL, type varchar(128) NOT NULL,
  "isManaged" boolean NOT NULL DEFAULT false,
  "createdAt" timestamptz(3) NOT NULL DEFAULT now(), "updatedAt" timestamptz(3) NOT NULL DEFAULT now());
CREATE TABLE execution_entity (
  id serial PRIMARY KEY, finished boolean NOT NULL, mode varchar NOT NULL, "retryOf" varchar,
  "retrySuccessId" varchar, "startedAt" timestamptz(3), "stoppedAt" timestamptz(3), "waitTill" timestamptz(3),
  status varchar NOT NULL, "workflowId" varchar(36) NOT NULL REFERENCES workflow_entity(id) ON DELETE CASCADE,
  "deletedAt" timestamptz(3), "createdAt" timestamptz(3) NOT NULL DEFAULT now());
CREATE INDEX "IDX_execution_entity_workflowId_id" ON execution_entity ("workflowId", id);
CREATE INDEX "IDX_execution_entity_stoppedAt_status_deletedAt" ON execution_entity ("stoppedAt", status, "deletedAt");
CREATE INDEX "IDX_execution_entity_waitTill_id" ON execution_entity ("waitTill", id);
CREATE TABLE execution_data (
  "executionId" integer PRIMARY KEY REFERENCES execution_entity(id) ON DELETE CASCADE,
  "workflowData" json NOT NULL, data text NOT NULL);
'''

# A random word per call, so payload texts look like API data rather than hex noise. Session-local (pg_temp):
# it is not part of the dumped database. Also the compact form of json_build_object's ' : ' / ', ' output,
# as n8n's JSON.stringify writes it (no generated value contains those separators).
HELPERS_SQL = r'''
CREATE FUNCTION pg_temp.w() RETURNS text LANGUAGE sql VOLATILE AS $$
  SELECT (ARRAY['order','customer','invoice','shipped','pending','refund','lead','contact','ticket','deal',
    'update','status','email','slack','sheet','row','api','webhook','sync','error','retry','payment',
    'subscription','trial','account','user','team','project','task','comment','alpha','beta','gamma',
    'berlin','paris','london','new','closed','open','urgent'])[1 + floor(random() * 40)::int] $$;
CREATE FUNCTION pg_temp.compact(j json) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT replace(replace(replace(j::text, ' : ', ':'), ', ', ','), E'\n ', '') $$;
'''

# 30 credentials and 40 workflows of 3-10 nodes (HTTP URLs, code snippets, credentials references).
# WORKFLOWS_SQL's psql variable :active is the SQL expression for workflow_entity.active (bench/rto_bench.py
# inserts inactive ones into a real n8n, which would otherwise try to activate them).
CREDENTIALS_SQL = r'''
INSERT INTO credentials_entity (id, name, data, type)
SELECT substr(md5('c' || g), 1, 16), 'Credential ' || g,
       encode(convert_to(repeat(md5(random()::text), 6), 'UTF8'), 'base64'),
       (ARRAY['httpBasicAuth','slackApi','googleSheetsOAuth2Api','postgres','openAiApi'])[1 + g % 5]
FROM generate_series(1, 30) g;
'''

WORKFLOWS_SQL = r'''
INSERT INTO workflow_entity (id, name, active, nodes, connections, settings, "versionId", "triggerCount", meta)
SELECT substr(md5('w' || g), 1, 16), 'Workflow ' || g || ' ' || pg_temp.w() || ' ' || pg_temp.w(), :active,
  pg_temp.compact((SELECT json_agg(json_build_object(
      'parameters', json_build_object(
        'url', 'https://api.example.com/v1/' || pg_temp.w() || '/' || md5(random()::text),
        'method', (ARRAY['GET','POST','PATCH'])[1 + n % 3],
        'options', json_build_object('timeout', 10000 * n, 'batching', json_build_object('batch', json_build_object('batchSize', 50))),
        'jsCode', (SELECT string_agg('const ' || pg_temp.w() || k || ' = $input.all().map(i => i.json.' || pg_temp.w()
                                     || ' ?? ' || (random() * 1000)::int || ');', E'\n') FROM generate_series(1, 5 + n * 3) k)),
      'id', gen_random_uuid(), 'name', 'Node ' || n,
      'type', 'n8n-nodes-base.' || (ARRAY['httpRequest','code','set','if','postgres','slack','googleSheets'])[1 + (g + n) % 7],
      'typeVersion', 1 + n % 4, 'position', json_build_array(220 * n, 300),
      'credentials', json_build_object('httpBasicAuth', json_build_object('id', substr(md5('c' || (1 + (g + n) % 30)), 1, 16),
                                                                          'name', 'Credential')))
    ORDER BY n) FROM generate_series(1, 3 + g % 8) n))::json,
  pg_temp.compact((SELECT json_object_agg('Node ' || n, json_build_object('main', json_build_array(json_build_array(
      json_build_object('node', 'Node ' || (n + 1), 'type', 'main', 'index', 0)))))
   FROM generate_series(1, 2 + g % 8) n))::json,
  '{"executionOrder":"v1","saveManualExecutions":true}', gen_random_uuid(), 1, '{"templateCredsSetupCompleted":true}'
FROM generate_series(1, 40) g;
'''

# One batch of executions :lo..:hi. execution_data.workflowData is a copy of the workflow (as n8n stores it);
# data is the run data: per node 1-41 output items (skewed small) with ids, uuids, e-mails, amounts, timestamps,
# word salad and a token; 10 % failed runs carry an error with a stack trace. "+ i * 0" / "+ n * 0" correlate a
# sub-select with its row so that PostgreSQL re-evaluates it per item instead of once.
BATCH_SQL = r'''
WITH e AS (
  INSERT INTO execution_entity (id, finished, mode, status, "workflowId", "createdAt", "startedAt", "stoppedAt")
  SELECT g, s = 'success', (ARRAY['trigger','webhook','manual','retry'])[1 + floor(random() ^ 2 * 4)::int], s,
         substr(md5('w' || (1 + floor(random() * 40)::int)), 1, 16), t, t + interval '15 ms', t + random() * interval '20 s'
  FROM (SELECT g, now() - random() * interval '30 days' AS t,
               CASE WHEN random() < 0.9 THEN 'success' ELSE 'error' END AS s
        FROM generate_series(:lo, :hi) g) x
  RETURNING id, "workflowId", status, "startedAt")
INSERT INTO execution_data ("executionId", "workflowData", data)
SELECT e.id,
  pg_temp.compact(json_build_object('id', w.id, 'name', w.name, 'active', w.active, 'nodes', w.nodes,
                                    'connections', w.connections, 'settings', w.settings, 'pinData', '{}'::json))::json,
  pg_temp.compact(json_build_object(
    'startData', '{}'::json,
    'resultData', json_build_object(
      'runData', (SELECT json_object_agg(nd->>'name', json_build_array(json_build_object(
          'hints', '[]'::json,
          'startTime', (extract(epoch FROM e."startedAt") * 1000)::bigint + n * 37,
          'executionIndex', n - 1,
          'source', CASE WHEN n = 1 THEN '[]'::json
                         ELSE json_build_array(json_build_object('previousNode', w.nodes->(n::int - 2)->>'name')) END,
          'executionTime', floor(random() * 900)::int,
          'executionStatus', 'success',
          'data', json_build_object('main', json_build_array((
            SELECT json_agg(json_build_object(
              'json', json_build_object(
                'id', floor(random() * 1e9)::bigint,
                'uuid', gen_random_uuid(),
                'email', substr(md5(random()::text), 1, 10) || '@example.com',
                'name', initcap(pg_temp.w()) || ' ' || initcap(pg_temp.w()),
                'status', pg_temp.w(),
                'amount', round((random() * 10000)::numeric, 2),
                'currency', (ARRAY['EUR','USD','GBP'])[1 + floor(random() * 3)::int],
                'createdAt', to_char(e."startedAt" - random() * interval '90 days', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                'tags', json_build_array(pg_temp.w(), pg_temp.w()),
                'message', (SELECT string_agg(pg_temp.w(), ' ') FROM generate_series(1, 3 + floor(random() * 40)::int + i * 0)),
                'token', md5(random()::text)),
              'pairedItem', json_build_object('item', i - 1)))
            FROM generate_series(1, 1 + floor(random() ^ 3 * 40)::int + n * 0) i))))))
        FROM json_array_elements(w.nodes) WITH ORDINALITY AS nodes(nd, n)),
      'lastNodeExecuted', w.nodes->(json_array_length(w.nodes) - 1)->>'name',
      'error', CASE WHEN e.status = 'error' THEN json_build_object(
                 'message', 'Request failed with status code 429', 'name', 'NodeApiError',
                 'timestamp', (extract(epoch FROM e."startedAt") * 1000)::bigint,
                 'stack', E'NodeApiError: Request failed with status code 429\n    at ExecuteContext.execute '
                          '(/usr/local/lib/node_modules/n8n/node_modules/n8n-nodes-base/dist/nodes/HttpRequest/V3/'
                          'HttpRequestV3.node.js:' || floor(random() * 2000)::int || ':27)') END),
    'executionData', json_build_object('contextData', '{}'::json, 'nodeExecutionStack', '[]'::json,
                                       'metadata', '{}'::json, 'waitingExecution', '{}'::json,
                                       'waitingExecutionSource', '{}'::json)))
FROM e JOIN workflow_entity w ON w.id = e."workflowId";
'''
BATCH = 2000  # executions per INSERT (~35 MB on disk, a few seconds)

CHECK_SQL = ('SELECT ' + ', '.join("(SELECT count(*) FROM %s)" % t for t in TABLES)
             + ', (SELECT sum(length(data)) FROM execution_data)'
             + ", (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public')")


class Bench:
    def __init__(self, args):
        self.args = args
        self.container = 'bench-pg-%d' % os.getpid()
        self.work = os.path.join(args.workdir, self.container)
        self.c = shlex.quote(self.container)

    # --- helpers -------------------------------------------------------------------------------------------
    def sh(self, cmd, stdout=subprocess.DEVNULL, env=None):
        """Run a bash command line (pipefail); returns (seconds, stdout). Raises on failure."""
        start = time.monotonic()
        res = subprocess.run(['bash', '-c', 'set -o pipefail; ' + cmd], stdout=stdout, stderr=subprocess.PIPE,
                             env=env, cwd=os.environ.get('COLLECTION_DIR', REPO), check=False)
        seconds = time.monotonic() - start
        if res.returncode != 0:
            out = res.stdout.decode(errors='replace')[-2000:] if res.stdout else ''
            raise RuntimeError('command failed (rc=%d): %s\n%s%s' % (res.returncode, cmd, out, res.stderr.decode()[-2000:]))
        return seconds, (res.stdout.decode() if res.stdout else '')

    def psql(self, sql, db=DB, variables=None):
        """Run SQL in the container; returns unaligned output."""
        var = ''.join(' -v %s=%s' % (k, shlex.quote(str(v))) for k, v in (variables or {}).items())
        cmd = 'docker exec -i %s psql -X -q -At -v ON_ERROR_STOP=1 -U %s -d %s%s' % (self.c, USER, db, var)
        res = subprocess.run(['bash', '-c', cmd], input=sql.encode(), capture_output=True, check=False)
        if res.returncode != 0:
            raise RuntimeError('psql failed: %s' % res.stderr.decode()[-2000:])
        return res.stdout.decode().strip()

    def path(self, name):
        return os.path.join(self.work, name)

    # --- setup ---------------------------------------------------------------------------------------------
    def start(self):
        os.makedirs(self.work)
        settings = ' '.join('-c ' + s for s in SERVER_SETTINGS)
        self.sh('docker run -d --name %s --shm-size 256m -e POSTGRES_PASSWORD=bench -v %s:%s %s postgres %s'
                % (self.c, shlex.quote(self.work), MOUNT, shlex.quote(self.args.image), settings))
        for dummy in range(240):  # the entrypoint's init server says "ready" first; the real one second
            logs = subprocess.run(['docker', 'logs', self.container], capture_output=True, text=True, check=False)
            if (logs.stdout + logs.stderr).count('ready to accept connections') >= 2:
                break
            time.sleep(0.5)
        else:
            raise RuntimeError('PostgreSQL did not start:\n' + logs.stderr[-2000:])
        self.psql('CREATE DATABASE %s' % DB, db='postgres')

    def generate(self):
        start = time.monotonic()
        self.psql(SCHEMA_SQL + HELPERS_SQL + CREDENTIALS_SQL + WORKFLOWS_SQL, variables={'active': 'g % 3 > 0'})
        self.fill(int(self.args.size_gb * 1024 ** 3), start)
        self.psql("SELECT setval('execution_entity_id_seq', (SELECT max(id) FROM execution_entity)); VACUUM (ANALYZE); CHECKPOINT")
        gen = dict(seconds=round(time.monotonic() - start, 1), db_bytes=int(self.psql("SELECT pg_database_size('%s')" % DB)),
                   executions=int(self.psql('SELECT count(*) FROM execution_entity')),
                   execution_data_bytes=int(self.psql("SELECT pg_total_relation_size('execution_data')")),
                   avg_data_chars=round(float(self.psql('SELECT avg(length(data)) FROM execution_data'))))
        print('Generated %s: %.0f MB (pg_database_size), %d executions, avg run data %d chars, in %.0f s (%.1f min)'
              % (DB, gen['db_bytes'] / 2 ** 20, gen['executions'], gen['avg_data_chars'], gen['seconds'], gen['seconds'] / 60),
              flush=True)
        return gen

    def fill(self, target, start, first_id=1):
        """BATCH_SQL batches from first_id, one session per core, until pg_database_size reaches target bytes."""
        lock, state = threading.Lock(), {'next': first_id, 'size': 0, 'error': None}

        def worker():
            while True:
                with lock:
                    if state['size'] >= target or state['error']:
                        return
                    lo = state['next']
                    state['next'] += BATCH
                try:
                    self.psql(HELPERS_SQL + BATCH_SQL, variables={'lo': lo, 'hi': lo + BATCH - 1})
                    size = int(self.psql("SELECT pg_database_size(current_database())"))
                except RuntimeError as e:
                    state['error'] = e
                    return
                with lock:
                    state['size'] = max(state['size'], size)
                    print('  %7d executions, %6.0f MB, %4.0f s' % (lo + BATCH - 1, size / 2 ** 20, time.monotonic() - start),
                          flush=True)

        threads = [threading.Thread(target=worker) for dummy in range(max(1, os.cpu_count() or 1))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        error = state['error']
        if error is not None:
            raise error

    # --- dumps: each returns (wall seconds, bytes, extra) ---------------------------------------------------
    def dump_module(self, name, extra_args, n):
        is_dir = 'format=directory' in extra_args
        dest = self.path('%s-%d.%s' % (name, n, 'dir' if is_dir else 'dump'))
        margs = 'container=%s database=%s login_user=%s dest=%s %s' % (self.container, DB, USER, dest, extra_args)
        if is_dir and 'container_dest' not in extra_args:
            margs += ' container_dest=' + MOUNT
        env = dict(os.environ, ANSIBLE_CALLBACK_RESULT_FORMAT='json', ANSIBLE_NOCOLOR='1')
        seconds, out = self.sh('ansible localhost -m n8n_ops.stack.pg_dump -a %s' % shlex.quote(margs.strip()),
                               stdout=subprocess.PIPE, env=env)
        result = json.loads(out.split('=>', 1)[1])
        return seconds, result['bytes'], {'module_seconds': result['seconds'], 'dest': dest}

    def dump_seed(self, n):
        dest = self.path('seed-%d.sql.gz' % n)
        seconds = self.sh('docker exec %s pg_dump -U %s %s | gzip > %s' % (self.c, USER, DB, shlex.quote(dest)))[0]
        return seconds, os.path.getsize(dest), {'dest': dest}

    def dump_floor(self, n):
        seconds = self.sh('docker exec %s pg_dump -Fc -Z0 -U %s %s > /dev/null' % (self.c, USER, DB))[0]
        return seconds, 0, {}

    # --- restores --------------------------------------------------------------------------------------------
    def restores(self, ours, seed, plain):
        """Restore methods in round order; RESTORE_BASELINE is what the others are compared with."""
        q = shlex.quote
        into = '-U %s -d %s' % (USER, RESTORE_DB)
        mounted = q(MOUNT + '/' + os.path.basename(ours))
        session = '-e PGOPTIONS=%s' % q(RESTORE_PGOPTIONS)
        session_pglz = '-e PGOPTIONS=%s' % q(RESTORE_PGOPTIONS_PGLZ)
        return {
            'pg_restore-stdin': RestoreMethod(
                '`pg_restore < ours-1.dump` (stdin, default session)',
                'docker exec -i %s pg_restore --exit-on-error %s < %s' % (self.c, into, q(ours)), False),
            'pg_restore-j2': RestoreMethod(
                '`pg_restore -j 2 /bench/ours-1.dump` (seekable file through the mount, default session)',
                'docker exec %s pg_restore --exit-on-error -j 2 %s %s' % (self.c, into, mounted), False),
            'seed-gunzip-psql': RestoreMethod(
                '`gunzip -c seed-1.sql.gz | psql`',
                'gunzip -c %s | docker exec -i %s psql -X -q -v ON_ERROR_STOP=1 %s > /dev/null' % (q(seed), self.c, into),
                False),
            'psql': RestoreMethod(
                '`psql < dump.sql` (plain `pg_dump` output; the baseline)',
                'docker exec -i %s psql -X -q -v ON_ERROR_STOP=1 %s < %s > /dev/null' % (self.c, into, q(plain)), False),
            'ours-session': RestoreMethod(
                "the backup role's restore: `pg_restore --single-transaction --no-owner < ours-1.dump` with PGOPTIONS,"
                ' then `ANALYZE`',
                'docker exec -i %s %s pg_restore --exit-on-error --no-owner --single-transaction %s < %s'
                % (session, self.c, into, q(ours)), True),
            'ours-session-pglz': RestoreMethod(
                'the same with `backup_restore_toast_compression=pglz` (the server default; the role before lz4)',
                'docker exec -i %s %s pg_restore --exit-on-error --no-owner --single-transaction %s < %s'
                % (session_pglz, self.c, into, q(ours)), True),
            'ours-j2': RestoreMethod(
                '`pg_restore -j 2 --no-owner /bench/ours-1.dump` with PGOPTIONS, then `ANALYZE`',
                'docker exec %s %s pg_restore --exit-on-error --no-owner -j 2 %s %s' % (session, self.c, into, mounted),
                True),
        }

    def fresh_restore_db(self):
        self.psql('DROP DATABASE IF EXISTS %s WITH (FORCE)' % RESTORE_DB, db='postgres')
        self.psql('CREATE DATABASE %s' % RESTORE_DB, db='postgres')
        self.psql('CHECKPOINT', db='postgres')

    def time_restore(self, method):
        """One restore into a fresh database (not timed); seconds include ANALYZE for methods that run it."""
        self.fresh_restore_db()
        seconds = self.sh(method.command)[0]
        if not method.analyze:
            return dict(seconds=round(seconds, 3))
        analyze = self.sh('docker exec %s psql -X -q -v ON_ERROR_STOP=1 -U %s -d %s -c ANALYZE'
                          % (self.c, USER, RESTORE_DB))[0]
        return dict(seconds=round(seconds + analyze, 3), restore_seconds=round(seconds, 3),
                    analyze_seconds=round(analyze, 3))

    # --- main ------------------------------------------------------------------------------------------------
    def run(self):
        started = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        self.start()
        gen = self.generate()
        source_check = self.psql(CHECK_SQL)
        dumps, keep = self.run_dumps()
        plain = self.path('plain.sql')
        plain_seconds = self.sh('docker exec %s pg_dump -U %s %s > %s' % (self.c, USER, DB, shlex.quote(plain)))[0]
        print('  plain dump.sql (once, for psql < dump.sql): %.1f s, %.0f MB' % (plain_seconds, os.path.getsize(plain) / 2 ** 20))
        restores, checks = self.run_restores(self.restores(keep['ours'], keep['seed'], plain), source_check)
        result = dict(
            date=started.isoformat(), parameters=self.parameters(), machine=machine_info(), versions=self.versions(),
            generation=gen, source_check=source_check, dumps=dumps,
            plain_dump=dict(seconds=round(plain_seconds, 3), bytes=os.path.getsize(plain)),
            restore_baseline=RESTORE_BASELINE, restores=restores, restore_matches_source=checks)
        result.update(compare(dumps, restores))
        print_report(result)
        out = write_result(result, started)
        print('\nresults: %s (python bench/report.py updates bench/README.md)' % os.path.relpath(out, REPO))

    def run_dumps(self):
        """Interleaved dump rounds; returns (dumps by name with all samples, round-1 files kept for the restores)."""
        a = self.args
        dumps = {'ours': lambda n: self.dump_module('ours', '', n), 'seed': self.dump_seed, 'floor': self.dump_floor}
        descriptions = dict(DUMP_DESCRIPTIONS)
        for i, v in enumerate(a.variant):
            dumps['ours[%s]' % v] = (lambda n, v=v, i=i: self.dump_module('variant%d' % i, v, n))
            descriptions['ours[%s]' % v] = 'n8n_ops.stack.pg_dump module, `%s`' % v
        samples = {k: [] for k in dumps}
        keep = {}
        for n in range(1, a.runs + 1):
            for name, fn in dumps.items():
                seconds, size, extra = fn(n)
                samples[name].append(dict(seconds=round(seconds, 3), bytes=size, **{k: v for k, v in extra.items() if k != 'dest'}))
                print('  dump round %d %-36s %7.1f s %8.1f MB' % (n, name, seconds, size / 2 ** 20), flush=True)
                if n == 1 and name in ('ours', 'seed'):
                    keep[name] = extra['dest']
                elif os.path.isdir(extra.get('dest', '')):
                    shutil.rmtree(extra['dest'])
                elif 'dest' in extra:
                    os.remove(extra['dest'])
        return {k: summarize(v, description=descriptions[k]) for k, v in samples.items()}, keep

    def run_restores(self, methods, source_check):
        """Interleaved restore rounds; after each method's first run the restored database must match the source."""
        samples = {k: [] for k in methods}
        checks, sizes = {}, {}
        for n in range(1, self.args.runs + 1):
            for name, method in methods.items():
                samples[name].append(self.time_restore(method))
                if n == 1:
                    restored = self.psql(CHECK_SQL, db=RESTORE_DB)
                    checks[name] = restored == source_check
                    sizes[name] = int(self.psql("SELECT pg_database_size('%s')" % RESTORE_DB))
                    if not checks[name]:
                        raise RuntimeError('restore %r differs from the source: %s vs %s' % (name, restored, source_check))
                print('  restore round %d %-32s %7.1f s' % (n, name, samples[name][-1]['seconds']), flush=True)
        restores = {k: summarize(v, description=methods[k].description, command=methods[k].command,
                                 restored_bytes=sizes[k]) for k, v in samples.items()}
        return restores, checks

    def parameters(self):
        a = self.args
        return dict(size_gb=a.size_gb, runs=a.runs, image=a.image, variants=a.variant, server_settings=SERVER_SETTINGS,
                    shm_size='256m', batch_executions=BATCH, restore_pgoptions=RESTORE_PGOPTIONS,
                    restore_pgoptions_pglz=RESTORE_PGOPTIONS_PGLZ)

    def versions(self):
        return dict(postgresql_server=self.psql('SHOW server_version'),
                    pg_dump=command_output(['docker', 'exec', self.container, 'pg_dump', '--version']),
                    ansible_core=ansible_core_version(),
                    python=platform.python_version(),
                    collection_commit=command_output(['git', '-C', REPO, 'rev-parse', 'HEAD']))

    def cleanup(self):
        if self.args.keep:
            print('kept container %s and %s' % (self.container, self.work))
            return
        subprocess.run(['docker', 'rm', '-fv', self.container], capture_output=True, check=False)
        shutil.rmtree(self.work, ignore_errors=True)


# --- results -----------------------------------------------------------------------------------------------------
def command_output(argv):
    """Stripped stdout of a read-only probe, or None when it fails (no git checkout, say)."""
    try:
        res = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError:
        return None
    return res.stdout.strip() if res.returncode == 0 else None


def proc_field(path, field):
    """A 'field: value' line of a /proc file, or None."""
    try:
        with open(path, encoding='utf-8') as f:
            for line in f:
                key, sep, value = line.partition(':')
                if sep and key.strip() == field:
                    return value.strip()
    except OSError:
        pass
    return None


def machine_info():
    """The machine without its name: CPU, cores, memory, kernel and Docker engine."""
    mem_kb = proc_field('/proc/meminfo', 'MemTotal')
    return dict(cpu_model=proc_field('/proc/cpuinfo', 'model name') or platform.processor() or None,
                cores=os.cpu_count(), memory_bytes=int(mem_kb.split()[0]) * 1024 if mem_kb else None,
                kernel=platform.release(), arch=platform.machine(),
                docker_engine=command_output(['docker', 'version', '--format', '{{.Server.Version}}']))


def summarize(rows, **info):
    """info plus median/min/max of every numeric sample field, plus the samples themselves."""
    out = dict(info)
    for key in rows[0]:
        values = [r[key] for r in rows]
        out[key] = dict(median=statistics.median(values), min=min(values), max=max(values))
    out['runs'] = rows
    return out


def ident(method):
    return method.replace('-', '_')


def time_ratio_pairs(dumps, restores):
    """(ratio key, 'dumps' or 'restores', method, baseline) for every time ratio of a run."""
    pairs = []
    for k in [k for k in dumps if k == 'ours' or k.startswith('ours[')]:
        pairs += [('dump_time_%s_over_seed' % k, 'dumps', k, 'seed'), ('dump_time_%s_over_floor' % k, 'dumps', k, 'floor')]
    pairs += [('restore_time_%s_over_psql' % ident(k), 'restores', k, RESTORE_BASELINE)
              for k in restores if k != RESTORE_BASELINE]
    pairs += [('restore_time_%s_over_%s' % (ident(a), ident(b)), 'restores', a, b) for a, b in RESTORE_CHANGES]
    return pairs


def compare(dumps, restores):
    """Ratios of medians, medians of per-round ratios (robust against load drifting between rounds), targets."""
    kinds = dict(dumps=dumps, restores=restores)
    ratios, per_round = {}, {}
    for key, kind, a, b in time_ratio_pairs(dumps, restores):
        rows = kinds[kind]
        ratios[key] = round(rows[a]['seconds']['median'] / rows[b]['seconds']['median'], 4)
        per_round[key] = round(statistics.median(
            x['seconds'] / y['seconds'] for x, y in zip(rows[a]['runs'], rows[b]['runs'])), 4)
    for k in [k for k in dumps if k == 'ours' or k.startswith('ours[')]:
        ratios['dump_size_%s_over_seed' % k] = round(dumps[k]['bytes']['median'] / dumps['seed']['bytes']['median'], 4)
    ratios['dump_module_seconds_over_floor'] = round(
        dumps['ours']['module_seconds']['median'] / dumps['floor']['seconds']['median'], 4)
    targets = {t.key: dict(method=t.method, what=t.what, meaning=t.meaning, ratio=ratios[t.key], limit=t.limit,
                           verdict='PASS' if ratios[t.key] <= t.limit else 'MISS') for t in TARGETS}
    return dict(ratios=ratios, per_round_ratios=per_round, targets=targets)


def print_report(r):
    mb = 2 ** 20
    p = r['parameters']
    print('\n== %s: %.0f MB n8n database (generated in %.0f s), %d rounds interleaved, medians (min-max)'
          % (p['image'], r['generation']['db_bytes'] / mb, r['generation']['seconds'], p['runs']))
    print('%-40s %22s %22s' % ('dump', 'wall s', 'size MB'))
    for k, v in r['dumps'].items():
        s, b = v['seconds'], v['bytes']
        size = '%8.1f (%.1f-%.1f)' % (b['median'] / mb, b['min'] / mb, b['max'] / mb) if b['max'] else '-'
        print('%-40s %8.1f (%.1f-%.1f) %22s' % (k, s['median'], s['min'], s['max'], size))
        if 'module_seconds' in v:
            m = v['module_seconds']
            print('%-40s %8.1f (%.1f-%.1f)' % ('  module-reported seconds', m['median'], m['min'], m['max']))
    print('%-40s %8.1f %13s %8.1f' % ('plain pg_dump > dump.sql (once)', r['plain_dump']['seconds'], '',
                                      r['plain_dump']['bytes'] / mb))
    print('%-40s %22s %18s %12s' % ('restore (fresh database each run)', 'wall s', 'rows match source', 'restored MB'))
    for k, v in r['restores'].items():
        s = v['seconds']
        print('%-40s %8.1f (%.1f-%.1f) %18s %12.0f' % (k, s['median'], s['min'], s['max'],
                                                       'yes' if r['restore_matches_source'].get(k) else 'NO',
                                                       v['restored_bytes'] / mb))
        if 'analyze_seconds' in v:
            a = v['analyze_seconds']
            print('%-40s %8.1f (%.1f-%.1f)' % ('  of which ANALYZE', a['median'], a['min'], a['max']))
    print('\nratios (same run)%s %13s %14s' % (' ' * 36, 'of medians', 'per-round med'))
    for k, v in r['ratios'].items():
        per_round = r['per_round_ratios'].get(k)
        print('  %-52s %13.2f %14s' % (k, v, '' if per_round is None else '%.2f' % per_round))
    print('\ntargets (informational):')
    for k, t in r['targets'].items():
        print('  %-4s %-36s %5.2f <= %.2f  (%s)' % (t['verdict'], k, t['ratio'], t['limit'], t['meaning']))


def ansible_core_version():
    m = re.search(r'\[core ([^\]]+)\]', command_output(['ansible', '--version']) or '')
    return m.group(1) if m else None


def run_until_done(bench):
    """bench.run(), then bench.cleanup() also on errors and SIGTERM."""
    signal.signal(signal.SIGTERM, lambda *args: sys.exit(143))
    try:
        bench.run()
    finally:
        bench.cleanup()


def write_result(result, started, kind='backup'):
    """bench/results/<kind>-<UTC start time>.json (committed; bench/report.py turns it into README tables)."""
    directory = os.path.join(REPO, 'bench', 'results')
    os.makedirs(directory, exist_ok=True)
    out = os.path.join(directory, '%s-%s.json' % (kind, started.strftime('%Y%m%dT%H%M%SZ')))
    with open(out, 'w', encoding='utf-8') as f:
        json.dump(result, f, indent=2)
        f.write('\n')
    return out


def ensure_venv():
    """Re-run under the collection's venv (scripts/common.sh activate_venv) unless already there."""
    if os.environ.get('COLLECTION_DIR') and shutil.which('ansible'):
        return
    if os.environ.get('BACKUP_BENCH_REEXEC'):
        sys.exit('activate_venv did not provide ansible')
    os.environ['BACKUP_BENCH_REEXEC'] = '1'
    script = 'source "$1/scripts/common.sh" && activate_venv && shift && exec python "$@"'
    os.execvp('bash', ['bash', '-c', script, 'bash', REPO, os.path.abspath(sys.argv[0])] + sys.argv[1:])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--size-gb', type=float, default=1.0, help='minimum pg_database_size of the generated database')
    p.add_argument('--runs', type=int, default=3, help='interleaved rounds')
    p.add_argument('--image', default='local/postgres:17')
    p.add_argument('--keep', action='store_true', help='keep the container and the dump files')
    p.add_argument('--variant', action='append', default=[], metavar='MODULE_ARGS',
                   help='extra module run, e.g. "compression=lz4" or "format=directory jobs=2" (repeatable)')
    p.add_argument('--workdir', default='/tmp/bench', help='dumps go to WORKDIR/<container>/')
    args = p.parse_args()
    ensure_venv()
    run_until_done(Bench(args))


if __name__ == '__main__':
    main()
