"""n8n_ops.stack.pgbench against a real PostgreSQL 17 container."""

import os

import pytest

from docker_helpers import psql, remove_container, start_container, wait_postgres

pytestmark = pytest.mark.docker
PG = 'utest-pgbench-pg17'


@pytest.fixture(scope='module')
def pg():
    remove_container(PG)
    start_container(PG, 'local/postgres:17', '-e', 'POSTGRES_PASSWORD=unused', '-e', 'POSTGRES_DB=n8n')
    wait_postgres(PG)
    psql(PG, 'CREATE TABLE keep (id int); INSERT INTO keep VALUES (1)')
    yield PG
    remove_container(PG)


def test_builtin_run_gives_tps_and_percentiles(pg, run_module):
    r = run_module('pgbench', dict(container=pg, builtin='select-only', scale=1, clients=2, duration=2))
    assert not r.get('failed'), r.get('msg')
    assert r['tps'] > 0 and r['clients'] == 2 and r['scale'] == 1 and r['failed_transactions'] == 0
    assert r['logged_transactions'] > 0 and 0 < r['latency_p50_ms'] <= r['latency_p95_ms'] <= r['latency_p99_ms']
    assert any(c.startswith('docker exec %s pgbench' % pg) for c in r['commands'])


def test_custom_script_with_init_sql(pg, run_module):
    r = run_module('pgbench', dict(container=pg, database='bench_custom', init_sql='CREATE TABLE t (v text);',
                                   script="INSERT INTO t VALUES (repeat('x', 2000));", duration=1, drop=True))
    assert not r.get('failed'), r.get('msg')
    assert r['transactions'] > 0
    assert psql(pg, "SELECT count(*) FROM pg_database WHERE datname = 'bench_custom'", db='postgres') == '0'


def test_refuses_the_application_database(pg, run_module):
    r = run_module('pgbench', dict(container=pg, database='n8n', builtin='tpcb-like', duration=1))
    assert r['failed'] and 'protected database' in r['msg']
    assert psql(pg, 'SELECT count(*) FROM keep') == '1'


def test_a_failing_script_fails_the_task(pg, run_module):
    r = run_module('pgbench', dict(container=pg, script='SELECT * FROM missing_table;', duration=1))
    assert r['failed'] and 'missing_table' in r['msg']


def test_check_mode_runs_nothing(pg, run_module):
    r = run_module('pgbench', dict(container=pg, database='bench_check', builtin='tpcb-like', duration=1), check=True)
    assert r['changed'] and any('pgbench -i' in c for c in r['commands'])
    assert psql(pg, "SELECT count(*) FROM pg_database WHERE datname = 'bench_check'", db='postgres') == '0'


def test_n8n_workload_script(pg, run_module):
    """The pg_tuning role's n8n-shaped script: executions written, read, listed and pruned."""
    files = os.path.join(os.path.dirname(__file__), '..', '..', 'roles', 'pg_tuning', 'files')
    with open(os.path.join(files, 'n8n_workload_init.sql'), encoding='utf-8') as f:
        init_sql = f.read()
    with open(os.path.join(files, 'n8n_workload.sql'), encoding='utf-8') as f:
        script = f.read()
    r = run_module('pgbench', dict(container=pg, database='bench_n8n', init_sql=init_sql, script=script, clients=2,
                                   duration=3))
    assert not r.get('failed'), r.get('msg')
    assert r['transactions'] > 0 and r['failed_transactions'] == 0 and r['latency_p95_ms'] > 0
    rows = psql(pg, 'SELECT count(*), min(length(data)) FROM execution_data', db='bench_n8n').split('|')
    assert int(rows[0]) > 19000 and int(rows[1]) > 1000
