"""Backup modules against real PostgreSQL/Redis containers, run through ansible-playbook."""

import hashlib
import json
import os
import shutil
import subprocess
import threading

import pytest

from docker_helpers import docker, psql, remove_container, start_container, wait_for, wait_postgres

PG17, PG15, REDIS, REDIS_RESTORE, REDIS_SPARE = (
    'utest-bk-pg17', 'utest-bk-pg15', 'utest-bk-redis', 'utest-bk-redis-restore', 'utest-bk-redis-spare')
REDIS_PASSWORD = 'utest-secret'


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def no_partials(directory):
    return [n for n in os.listdir(directory) if n.endswith('.partial')] == []


@pytest.fixture(scope='module')
def mount_dir(tmp_path_factory):
    return tmp_path_factory.mktemp('pgmount')


@pytest.fixture(scope='module')
def containers(mount_dir):
    pg_env = ['-e', 'POSTGRES_PASSWORD=x', '-e', 'POSTGRES_DB=n8n']
    start_container(PG17, 'local/postgres:17', *pg_env, '-v', '%s:/backup' % mount_dir)
    start_container(PG15, 'local/postgres:15', *pg_env)
    start_container(REDIS, 'local/redis:7', command=['redis-server', '--requirepass', REDIS_PASSWORD])
    try:
        for name in (PG17, PG15):
            wait_postgres(name)
            psql(name, "CREATE TABLE workflow AS SELECT g AS id, md5(g::text) AS name FROM generate_series(1, 5000) g;"
                       "CREATE TABLE execution AS SELECT g AS id, repeat(md5(g::text), 4) AS data "
                       "FROM generate_series(1, 20000) g;")
        yield
    finally:
        for name in (PG17, PG15, REDIS, REDIS_RESTORE, REDIS_SPARE):
            remove_container(name)


def row_counts(container, db):
    return psql(container, 'SELECT (SELECT count(*) FROM workflow), (SELECT count(*) FROM execution)', db=db)


def redis_cli(*args):
    return docker('exec', '-e', 'REDISCLI_AUTH=' + REDIS_PASSWORD, REDIS, 'redis-cli', *args).stdout.strip()


# ---------------------------------------------------------------- pg_dump

@pytest.mark.docker
def test_pg_dump_custom_restores_same_rows(containers, run_module, tmp_path):
    dest = tmp_path / 'n8n.dump'
    r = run_module('pg_dump', {'container': PG17, 'database': 'n8n', 'dest': str(dest)})
    assert r['changed'] and not r.get('failed'), r
    assert r['server_version'].startswith('17') and r['pg_dump_version'].startswith('17')
    assert r['sha256'] == sha256(dest) and r['bytes'] == dest.stat().st_size >= 1024
    assert r['toc_entries'] >= 4 and r['compression'] == 'zstd:1'
    assert oct(dest.stat().st_mode & 0o777) == '0o600'
    assert any('pg_restore --list' in c for c in r['commands'])
    assert no_partials(tmp_path)

    # restore from a file in the container with parallel jobs: a piped custom dump must still work for -j
    docker('cp', str(dest), '%s:/tmp/n8n.dump' % PG17)
    psql(PG17, 'CREATE DATABASE restored')
    docker('exec', PG17, 'pg_restore', '-U', 'postgres', '-j', '2', '-d', 'restored', '/tmp/n8n.dump')
    assert row_counts(PG17, 'restored') == row_counts(PG17, 'n8n') == '5000|20000'


@pytest.mark.docker
def test_pg_dump_refuses_existing_dest(containers, run_module, tmp_path):
    dest = tmp_path / 'n8n.dump'
    dest.write_bytes(b'precious')
    r = run_module('pg_dump', {'container': PG17, 'database': 'n8n', 'dest': str(dest)})
    assert r['failed'] and 'refusing to overwrite' in r['msg']
    assert dest.read_bytes() == b'precious'


@pytest.mark.docker
def test_pg_dump_missing_database_fails_clean(containers, run_module, tmp_path):
    other = tmp_path / 'other.txt'
    other.write_text('keep me')
    r = run_module('pg_dump', {'container': PG17, 'database': 'nope', 'dest': str(tmp_path / 'nope.dump')})
    assert r['failed'] and 'database "nope" does not exist' in r['msg']
    assert sorted(os.listdir(tmp_path)) == ['other.txt']


@pytest.mark.docker
def test_pg_dump_below_min_bytes_fails_clean(containers, run_module, tmp_path):
    r = run_module('pg_dump', {'container': PG17, 'database': 'n8n', 'dest': str(tmp_path / 'n8n.dump'),
                               'min_bytes': 10 ** 9})
    assert r['failed'] and 'below min_bytes' in r['msg']
    assert os.listdir(tmp_path) == []


@pytest.mark.docker
def test_pg_dump_killed_midway_leaves_nothing(containers, run_module, tmp_path):
    # An exclusive lock makes pg_dump block deterministically; it is then killed with SIGKILL inside the container.
    locker = subprocess.Popen(['docker', 'exec', '-i', PG17, 'psql', '-X', '-U', 'postgres', '-d', 'n8n'],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    locker.stdin.write('BEGIN; LOCK TABLE execution IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60);\n')
    locker.stdin.flush()
    killed = []

    def kill_pg_dump():  # the dump itself (pg_dump -w ...), never the module's `pg_dump --version` probe
        killed.append(docker('exec', PG17, 'pkill', '-9', '-f', '^pg_dump -w ', check=False).returncode == 0)
        return killed[-1]

    killer = threading.Thread(target=wait_for, args=(kill_pg_dump,), kwargs={'timeout': 60, 'what': 'pg_dump'})
    try:
        wait_for(lambda: psql(PG17, "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' "
                                    "AND relation = 'execution'::regclass") == '1', what='the lock')
        killer.start()
        r = run_module('pg_dump', {'container': PG17, 'database': 'n8n', 'dest': str(tmp_path / 'killed.dump')})
        killer.join()
    finally:
        locker.kill()
        locker.wait()
        psql(PG17, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                   "WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()")
    assert killed[-1]
    assert r['failed'] and 'pg_dump failed (rc=137)' in r['msg'], r
    assert os.listdir(tmp_path) == []


@pytest.mark.docker
def test_pg_dump_check_mode_writes_nothing(containers, run_module, tmp_path):
    dest = tmp_path / 'n8n.dump'
    r = run_module('pg_dump', {'container': PG17, 'database': 'n8n', 'dest': str(dest)}, check=True)
    assert r['changed'] and not r.get('failed'), r
    assert any(c.startswith('docker exec %s pg_dump ' % PG17) and '-Fc' in c for c in r['commands'])
    assert os.listdir(tmp_path) == []


@pytest.mark.docker
def test_pg_dump_directory_format_parallel(containers, run_module, mount_dir):
    dest = mount_dir / 'n8n.dir'
    r = run_module('pg_dump', {'container': PG17, 'database': 'n8n', 'dest': str(dest), 'format': 'directory',
                               'jobs': 2, 'container_dest': '/backup', 'compression': 'gzip:1'})
    assert r['changed'] and not r.get('failed'), r
    assert (dest / 'toc.dat').is_file() and r['toc_entries'] >= 4
    assert no_partials(mount_dir)
    psql(PG17, 'CREATE DATABASE restored_dir')
    docker('exec', PG17, 'pg_restore', '-U', 'postgres', '-j', '2', '-d', 'restored_dir', '/backup/n8n.dir')
    assert row_counts(PG17, 'restored_dir') == '5000|20000'


@pytest.mark.docker
def test_pg_dump_directory_format_wrong_mount_fails(containers, run_module, tmp_path):
    r = run_module('pg_dump', {'container': PG17, 'database': 'n8n', 'dest': str(tmp_path / 'd'),
                               'format': 'directory', 'container_dest': '/tmp'})
    assert r['failed'] and 'not the parent of dest' in r['msg']
    assert os.listdir(tmp_path) == []


@pytest.mark.docker
def test_pg_dump_postgres15(containers, run_module, tmp_path):
    r = run_module('pg_dump', {'container': PG15, 'database': 'n8n', 'dest': str(tmp_path / 'a.dump')})
    assert r['failed'] and 'needs pg_dump 16' in r['msg'] and os.listdir(tmp_path) == []
    r = run_module('pg_dump', {'container': PG15, 'database': 'n8n', 'dest': str(tmp_path / 'b.dump'),
                               'compression': 'gzip:6'})
    assert r['changed'] and not r.get('failed'), r
    assert r['server_version'].startswith('15') and any('-Z 6' in c for c in r['commands'])


# ---------------------------------------------------------------- redis_snapshot

@pytest.mark.docker
def test_redis_snapshot_restores_keys(containers, run_module, tmp_path):
    redis_cli('SET', 'bull:jobs:1', 'payload-1')
    redis_cli('HSET', 'bull:meta', 'a', '1', 'b', '2')
    dest = tmp_path / 'redis.rdb'
    r = run_module('redis_snapshot', {'container': REDIS, 'password': REDIS_PASSWORD, 'dest': str(dest)})
    assert r['changed'] and not r.get('failed'), r
    assert dest.read_bytes()[:5] == b'REDIS' and r['sha256'] == sha256(dest) and r['bytes'] == dest.stat().st_size
    assert REDIS_PASSWORD not in json.dumps(r['commands'])
    assert no_partials(tmp_path)

    # restore into a fresh container
    readable = tmp_path / 'dump.rdb'
    shutil.copy(dest, readable)
    readable.chmod(0o644)
    docker('rm', '-fv', REDIS_RESTORE, check=False)
    docker('create', '--name', REDIS_RESTORE, 'local/redis:7', 'redis-server')
    docker('cp', str(readable), '%s:/data/dump.rdb' % REDIS_RESTORE)
    docker('start', REDIS_RESTORE)

    def loaded():
        return docker('exec', REDIS_RESTORE, 'redis-cli', 'GET', 'bull:jobs:1', check=False).stdout.strip() == 'payload-1'
    wait_for(loaded, timeout=20, what='restored redis')
    assert docker('exec', REDIS_RESTORE, 'redis-cli', 'HGET', 'bull:meta', 'b').stdout.strip() == '2'


# SIGUSR1 is how Redis itself cancels a background save: the child ends without marking the save as failed.
CANCEL_BGSAVE = ('for p in /proc/[0-9]*; do case "$(tr "\\0" " " < $p/cmdline 2>/dev/null)" in '
                 'redis-rdb-bgsave*) kill -USR1 ${p#/proc/};; esac; done')


def cancel_slow_bgsave():
    redis_cli('CONFIG', 'SET', 'rdb-key-save-delay', '0')
    docker('exec', REDIS, 'sh', '-c', CANCEL_BGSAVE)
    wait_for(lambda: 'rdb_bgsave_in_progress:0' in redis_cli('INFO', 'persistence'), what='bgsave to end')


@pytest.fixture
def slow_bgsave(containers):
    """Make a BGSAVE take far longer than any test (rdb-key-save-delay is in microseconds per key)."""
    for i in range(10):
        redis_cli('SET', 'slow:%d' % i, 'x')
    redis_cli('CONFIG', 'SET', 'rdb-key-save-delay', '1000000')
    yield
    cancel_slow_bgsave()


def bgsave_calls():
    stats = redis_cli('INFO', 'commandstats')
    line = next((x for x in stats.splitlines() if x.startswith('cmdstat_bgsave:')), 'calls=0,')
    return int(line.split('calls=')[1].split(',')[0])


@pytest.mark.docker
def test_redis_snapshot_waits_for_running_bgsave(slow_bgsave, run_module, tmp_path):
    assert redis_cli('BGSAVE') == 'Background saving started'
    calls = bgsave_calls()
    result = {}
    runner = threading.Thread(target=lambda: result.update(run_module('redis_snapshot', {
        'container': REDIS, 'password': REDIS_PASSWORD, 'dest': str(tmp_path / 'r')})))
    runner.start()
    # once the module's BGSAVE has been turned away, let the running save end
    wait_for(lambda: bgsave_calls() > calls, what='the module to issue BGSAVE')
    cancel_slow_bgsave()
    runner.join()
    assert result['changed'] and not result.get('failed'), result
    assert sum(c.endswith('redis-cli BGSAVE') for c in result['commands']) == 2


@pytest.mark.docker
def test_redis_snapshot_timeout_fails_clean(slow_bgsave, run_module, tmp_path):
    r = run_module('redis_snapshot', {'container': REDIS, 'password': REDIS_PASSWORD, 'dest': str(tmp_path / 'r'),
                                      'timeout': 1, 'poll_interval': 0.1})
    assert r['failed'] and 'timed out' in r['msg'], r
    assert os.listdir(tmp_path) == []


@pytest.mark.docker
def test_redis_snapshot_bgsave_error_fails(containers, run_module, tmp_path):
    # nothing can be created in /proc, so the background save fails (rdb_last_bgsave_status:err)
    start_container(REDIS_SPARE, 'local/redis:7', command=['redis-server', '--dir', '/proc'])
    wait_for(lambda: docker('exec', REDIS_SPARE, 'redis-cli', 'PING', check=False).stdout.strip() == 'PONG')
    r = run_module('redis_snapshot', {'container': REDIS_SPARE, 'dest': str(tmp_path / 'r.rdb')})
    assert r['failed'] and 'rdb_last_bgsave_status:err' in r['msg'], r
    assert os.listdir(tmp_path) == []


@pytest.mark.docker
def test_redis_snapshot_wrong_password_fails(containers, run_module, tmp_path):
    r = run_module('redis_snapshot', {'container': REDIS, 'password': 'wrong', 'dest': str(tmp_path / 'r.rdb')})
    assert r['failed'] and ('NOAUTH' in r['msg'] or 'WRONGPASS' in r['msg']), r
    assert os.listdir(tmp_path) == []


@pytest.mark.docker
def test_redis_snapshot_stopped_container_fails_clearly(containers, run_module, tmp_path):
    start_container(REDIS_SPARE, 'local/redis:7')
    docker('stop', '-t', '1', REDIS_SPARE)
    r = run_module('redis_snapshot', {'container': REDIS_SPARE, 'dest': str(tmp_path / 'r.rdb'), 'timeout': 10})
    assert r['failed'] and REDIS_SPARE in r['msg'] and 'not running' in r['msg'], r
    assert os.listdir(tmp_path) == []


@pytest.mark.docker
def test_redis_snapshot_check_mode(containers, run_module, tmp_path):
    r = run_module('redis_snapshot', {'container': REDIS, 'password': REDIS_PASSWORD, 'dest': str(tmp_path / 'r')},
                   check=True)
    assert r['changed'] and not r.get('failed') and any(c.endswith('redis-cli BGSAVE') for c in r['commands'])
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------- backup_manifest

def make_set(root, name, files):
    path = root / name
    for rel, data in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_bytes(data)
    return path


def test_manifest_finalize_then_verify_detects_changes(run_module, tmp_path):
    path = make_set(tmp_path, '20261123_020000', {'n8n.dump': b'x' * 2000, 'config/n8n.env': b'A=1\n'})
    meta = {'n8n_version': '2.41.1', 'postgres_version': '17.6', 'instance_id': 'abc'}
    r = run_module('backup_manifest', {'path': str(path), 'state': 'finalize', 'metadata': meta})
    assert r['changed'] and r['manifest']['status'] == 'good' and r['manifest']['set'] == '20261123_020000'
    assert r['manifest']['files']['config/n8n.env'] == {'sha256': sha256(path / 'config/n8n.env'), 'bytes': 4}
    assert json.loads((path / 'manifest.json').read_text())['n8n_version'] == '2.41.1'

    again = run_module('backup_manifest', {'path': str(path), 'state': 'finalize', 'metadata': meta})
    assert not again['changed'] and again['manifest']['created'] == r['manifest']['created']

    ok = run_module('backup_manifest', {'path': str(path), 'state': 'verify'})
    assert not ok.get('failed') and not ok['changed'] and ok['manifest']['files'] == r['manifest']['files']

    data = bytearray((path / 'n8n.dump').read_bytes())
    data[1000] ^= 0x01
    (path / 'n8n.dump').write_bytes(bytes(data))
    (path / 'config/n8n.env').unlink()
    (path / 'stray').write_bytes(b'')
    bad = run_module('backup_manifest', {'path': str(path), 'state': 'verify'})
    assert bad['failed']
    assert bad['mismatched'] == ['n8n.dump'] and bad['missing'] == ['config/n8n.env'] and bad['extra'] == ['stray']
    assert 'n8n.dump' in bad['msg']


def test_manifest_rejects_secret_metadata(run_module, tmp_path):
    path = make_set(tmp_path, '20261123_020000', {'a': b'1'})
    r = run_module('backup_manifest', {'path': str(path), 'state': 'finalize', 'metadata': {'db_password': 'x'}})
    assert r['failed'] and 'db_password' in r['msg']
    assert not (path / 'manifest.json').exists()


def test_manifest_refuses_set_with_partial_file(run_module, tmp_path):
    path = make_set(tmp_path, '20261123_020000', {'a': b'1', '.n8n.dump.partial': b'half'})
    r = run_module('backup_manifest', {'path': str(path), 'state': 'finalize'})
    assert r['failed'] and '.n8n.dump.partial' in r['msg']


# ---------------------------------------------------------------- backup_sets

def test_backup_sets_prune(run_module, tmp_path):
    good = ['20261101_020000', '20261120_020000', '20261121_020000', '20261121_140000', '20261122_020000']
    for name in good:
        make_set(tmp_path, name, {'manifest.json': json.dumps({'status': 'good', 'files': {}}).encode()})
    make_set(tmp_path, '20261121_080000', {'n8n.dump': b'failed run, no manifest'})
    make_set(tmp_path, '20261119_020000', {'manifest.json': b'{not json'})
    make_set(tmp_path, '20261123_020000', {'.n8n.dump.partial': b'running now'})
    make_set(tmp_path, 'lost+found', {'x': b''})
    make_set(tmp_path, '20261301_000000', {'x': b''})
    (tmp_path / '20261001_020000').write_text('a file, not a set')

    args = {'root': str(tmp_path), 'keep_daily': 2, 'prune': True}
    dry = run_module('backup_sets', args, check=True)
    assert dry['changed'] and dry['newest_good'] == '20261122_020000'
    assert dry['keep'] == ['20261121_140000', '20261122_020000', '20261123_020000']
    assert dry['delete'] == ['20261101_020000', '20261119_020000', '20261120_020000', '20261121_020000',
                             '20261121_080000']
    assert (tmp_path / '20261101_020000').is_dir()

    r = run_module('backup_sets', args)
    assert r['changed'] and r['delete'] == dry['delete']
    assert sorted(os.listdir(tmp_path)) == ['20261001_020000', '20261121_140000', '20261122_020000',
                                            '20261123_020000', '20261301_000000', 'lost+found']
    assert {s['name']: s['good'] for s in r['sets']}['20261123_020000'] is False

    again = run_module('backup_sets', args)
    assert not again['changed'] and again['delete'] == []


def test_backup_sets_report_only_by_default(run_module, tmp_path):
    for name in ('20261120_020000', '20261121_020000'):
        make_set(tmp_path, name, {'manifest.json': b'{"status": "good", "files": {}}'})
    r = run_module('backup_sets', {'root': str(tmp_path), 'keep_daily': 0})
    assert not r['changed'] and r['delete'] == ['20261120_020000'] and len(os.listdir(tmp_path)) == 2
