"""n8n_ops.stack.db_report against real PostgreSQL 15 containers: an n8n-shaped execution_entity loses the index
its hottest query needs, and the report (against a baseline taken before) says so.

The tests share the containers and run in file order: the first finds pg_stat_statements preloaded but not created.
"""

import json
import os

import pytest

from docker_helpers import docker, psql, remove_container, start_container, wait_postgres

pytestmark = pytest.mark.docker
PG, PLAIN, STOPPED = 'utest-dbreport-pg15', 'utest-dbreport-plain', 'utest-dbreport-stopped'
IMAGE = 'local/postgres:15'
ENV = ('-e', 'POSTGRES_PASSWORD=unused', '-e', 'POSTGRES_DB=n8n')
SCHEMA = '''
CREATE TABLE execution_entity (id serial PRIMARY KEY, "workflowId" varchar(36) NOT NULL, status varchar NOT NULL,
  "finishedAt" timestamptz, "startedAt" timestamptz, "deletedAt" timestamptz, "waitTill" timestamptz);
INSERT INTO execution_entity ("workflowId", status, "startedAt", "finishedAt")
SELECT (g % 200)::text, CASE WHEN g % 50 = 0 THEN 'waiting' WHEN g % 12 = 0 THEN 'error' ELSE 'success' END,
       now() - g * interval '1 minute', now() - g * interval '1 minute' + interval '2 s'
FROM generate_series(1, 200000) g;
CREATE INDEX idx_execution_workflow ON execution_entity ("workflowId");
CREATE INDEX idx_execution_status ON execution_entity (status);
CREATE INDEX idx_execution_status_finished ON execution_entity (status, "finishedAt");
CREATE INDEX idx_execution_id ON execution_entity (id);
ANALYZE execution_entity;
'''
# Each CREATE INDEX counts as a sequential scan of 200 000 rows: on a table this young that is a 6 % seq-scan share
# (PgHero's missing-index rule flags >= 5 %), where a used instance's counters are its queries'. So the counters are
# reset once the schema session has ended (PostgreSQL >= 15 flushes a session's counters when it ends or idles), and
# ANALYZE puts n_live_tup back.
FRESH_COUNTERS = 'SELECT pg_stat_reset();\nANALYZE execution_entity;\n'
# n8n's execution list filtered by workflow, as pg_stat_statements normalizes it: one queryid for every workflowId
QUERY = ('SELECT count(*) FROM "execution_entity" "ExecutionEntity" WHERE "ExecutionEntity"."workflowId" = \'%d\' '
         'AND "ExecutionEntity"."status" IN (\'success\', \'error\')')
RUNS = 60


@pytest.fixture(scope='module')
def pg():
    for name in (PG, PLAIN, STOPPED):
        remove_container(name)
    try:
        start_container(PG, IMAGE, *ENV, command=['postgres', '-c', 'shared_preload_libraries=pg_stat_statements'])
        start_container(PLAIN, IMAGE, *ENV)
        docker('create', '--name', STOPPED, *ENV, IMAGE)
        wait_postgres(PG)
        wait_postgres(PLAIN)
        for name in (PG, PLAIN):
            docker('exec', '-i', name, 'psql', '-X', '-q', '-U', 'postgres', '-d', 'n8n', '-v', 'ON_ERROR_STOP=1',
                   input=SCHEMA)
            docker('exec', '-i', name, 'psql', '-X', '-q', '-o', '/dev/null', '-U', 'postgres', '-d', 'n8n',
                   '-v', 'ON_ERROR_STOP=1', input=FRESH_COUNTERS)
        yield PG
    finally:
        for name in (PG, PLAIN, STOPPED):
            remove_container(name)


def run_workload(container):
    script = ''.join('%s;\n' % (QUERY % (n % 200)) for n in range(RUNS))
    docker('exec', '-i', container, 'psql', '-X', '-q', '-o', '/dev/null', '-U', 'postgres', '-d', 'n8n',
           '-v', 'ON_ERROR_STOP=1', input=script)


def workload_statement(report, key='top_by_total_time'):
    found = [s for s in report[key] if '"workflowId"' in s['query'] and s['query'].startswith('SELECT count(*)')]
    assert len(found) == 1, [s['query'] for s in report[key]]
    return found[0]


def no_partials(directory):
    return [n for n in os.listdir(directory) if n.endswith('.partial')] == []


def test_check_mode_would_create_the_extension_and_writes_nothing(pg, run_module, tmp_path):
    r = run_module('db_report', dict(container=pg, output_dir=str(tmp_path / 'out')), check=True)
    assert not r.get('failed'), r.get('msg')
    assert r['changed'] and 'would be created' in r['report']['notices'][0]
    assert not (tmp_path / 'out').exists() and r['files'] == []
    assert psql(pg, "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'") == '0'


def test_dropped_index_is_a_missing_index_and_a_regression(pg, run_module, tmp_path):
    baseline, out = tmp_path / 'kept' / 'baseline.json', tmp_path / 'report'  # both directories made
    run_workload(pg)
    r = run_module('db_report', dict(container=pg, save_baseline=str(baseline), reset_stats=True, top=20))
    assert not r.get('failed'), r.get('msg')
    assert r['changed'] and r['report']['pg_stat_statements']['created']
    before = workload_statement(r['report'])
    assert before['calls'] == RUNS and r['report']['missing_index_candidates'] == []
    assert json.loads(baseline.read_text())['top_by_total_time'] == r['report']['top_by_total_time']

    psql(pg, 'DROP INDEX idx_execution_workflow')
    run_workload(pg)
    r = run_module('db_report', dict(container=pg, baseline=str(baseline), output_dir=str(out), top=20,
                                     explain=[QUERY % 7]))
    assert r['failed'] and 'regressions against the baseline' in r['msg']  # fail_on_regression defaults to true
    report = r['report']
    after = workload_statement(report)
    print('\nmean time of the workload query: %.3f ms with the index, %.3f ms without (%d calls each)'
          % (before['mean_ms'], after['mean_ms'], after['calls']))
    assert after['queryid'] == before['queryid'] and after['calls'] == RUNS

    candidate = [c for c in report['missing_index_candidates'] if c['table'] == 'execution_entity']
    assert candidate and candidate[0]['columns'] == ['workflowId'] and candidate[0]['indexed_columns'] == ['status']
    print('missing index candidate: %s' % candidate[0])
    regression = [g for g in r['regressions'] if g['kind'] == 'statement' and g['name'] == before['queryid']]
    assert regression and '%.2f ms -> %.2f ms' % (before['mean_ms'], after['mean_ms']) in regression[0]['message']
    assert ('seq_scan', 'execution_entity') in [(g['kind'], g['name']) for g in r['regressions']]
    print('regressions: %s' % json.dumps(r['regressions'], indent=1))

    dupes = dict((d['name'], d['covered_by']) for d in report['duplicate_indexes'])
    assert dupes == {'idx_execution_status': 'idx_execution_status_finished',
                     'idx_execution_id': 'execution_entity_pkey'}
    plan = report['explain'][0]['plan']
    assert 'Seq Scan on execution_entity' in plan and 'Buffers: shared' in plan
    assert [b['table'] for b in report['bloat']] == ['execution_entity'] and report['bloat'][0]['bloat_ratio'] < 0.2

    assert sorted(os.listdir(out)) == ['db-report.json', 'db-report.md'] and no_partials(out)
    assert json.loads((out / 'db-report.json').read_text())['regressions'] == r['regressions']
    md = (out / 'db-report.md').read_text()
    assert md == r['markdown'] and '## Missing index candidates' in md and 'Seq Scan' in md

    again = run_module('db_report', dict(container=pg, baseline=str(baseline), fail_on_regression=False))
    assert not again.get('failed') and again['regressions'] and not again['changed']


def test_explain_of_a_delete_is_refused(pg, run_module):
    r = run_module('db_report', dict(container=pg, explain=['DELETE FROM execution_entity']))
    assert r['failed'] and 'refusing to explain' in r['msg'] and 'not DELETE' in r['msg'] and r['queries'] == []
    assert psql(pg, 'SELECT count(*) FROM execution_entity') == '200000'


def test_without_the_preload_every_other_section_is_there(pg, run_module):
    r = run_module('db_report', dict(container=PLAIN))
    assert not r.get('failed'), r.get('msg')
    report = r['report']
    assert not report['pg_stat_statements']['available'] and not r['changed']
    assert "shared_preload_libraries = 'pg_stat_statements'" in report['notices'][0]
    assert 'restart' in report['notices'][0] and report['notices'][0] in r['markdown']
    assert report['top_by_total_time'] == [] and report['duplicate_indexes'] and report['bloat']
    assert psql(PLAIN, "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'") == '0'


@pytest.mark.parametrize('args,message', [
    (dict(container=STOPPED), 'is not running'),
    (dict(container='utest-dbreport-missing'), 'no container utest-dbreport-missing'),
    (dict(container=PG, baseline='/nonexistent/db-report.json'), 'does not exist'),
    (dict(container=PG, thresholds=dict(mean_time_percent=10)), 'Unknown thresholds mean_time_percent'),
])
def test_clear_failures(pg, run_module, args, message):
    r = run_module('db_report', args)
    assert r['failed'] and message in r['msg']
