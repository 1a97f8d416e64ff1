"""Host and container facts of a tuned stack (pytest-testinfra against the Docker-in-Docker test host)."""

import json

CONF = '/opt/n8n/postgres/postgresql.conf'


def postgres(host):
    cid = host.check_output('docker compose --project-directory /opt/n8n ps -q postgres')
    return json.loads(host.check_output('docker inspect %s' % cid))[0]


def test_conf_file_is_root_owned_and_world_readable_not_writable(host):
    f = host.file(CONF)
    assert f.is_file and f.user == 'root' and f.mode == 0o644
    assert host.file('/opt/n8n/postgres').mode == 0o755
    assert "shared_buffers = '256MB'" in f.content_string


def test_snapshots_and_overlay_are_not_world_readable(host):
    assert host.file('/opt/n8n/pg_tuning').mode == 0o750
    assert host.file('/opt/n8n/compose.d/40-pg_tuning.yml').mode == 0o640


def test_conf_directory_is_mounted_read_only(host):
    mounts = {m['Destination']: m for m in postgres(host)['Mounts']}
    m = mounts['/etc/n8n_ops/postgres']
    assert m['Source'] == '/opt/n8n/postgres' and m['RW'] is False


def test_postgres_reads_the_tuned_file(host):
    assert postgres(host)['Config']['Cmd'] == ['postgres', '-c', 'config_file=/etc/n8n_ops/postgres/postgresql.conf']


def test_shm_is_sized_to_shared_buffers_and_memory_limit_kept(host):
    hc = postgres(host)['HostConfig']
    assert hc['ShmSize'] == 256 * 1024 ** 2
    assert hc['Memory'] == 1024 ** 3


def test_cron_jobs_are_not_left_paused(host):
    # the benchmark gate pauses the health check and autoscaler jobs with this marker and removes it when done
    assert not host.file('/etc/n8n_ops/cron-pause').exists
