"""Host and container facts of the monitoring role (pytest-testinfra against the Docker-in-Docker test host)."""

import json

import pytest


def main_container(host):
    cid = host.check_output('docker compose --project-directory /opt/n8n ps -q n8n')
    return json.loads(host.check_output('docker inspect %s' % cid))[0]


def test_main_serves_metrics_with_queue_gauges(host):
    env = dict(e.split('=', 1) for e in main_container(host)['Config']['Env'])
    assert env['N8N_METRICS'] == 'true' and env['N8N_METRICS_INCLUDE_QUEUE_METRICS'] == 'true'
    body = host.check_output('python3 -c "import urllib.request as u; '
                             'print(u.urlopen(\\"http://127.0.0.1:5678/metrics\\").read().decode())"')
    assert 'n8n_scaling_mode_queue_jobs_waiting' in body


def test_metrics_port_is_published_on_loopback_only(host):
    bindings = main_container(host)['HostConfig']['PortBindings']['5678/tcp']
    assert [b['HostIp'] for b in bindings] == ['127.0.0.1']


def test_postgres_preloads_pg_stat_statements(host):
    out = host.check_output("cd /opt/n8n && docker compose exec -T postgres "
                            "sh -c 'psql -At -U \"$POSTGRES_USER\" -d \"$POSTGRES_DB\" -c \"SHOW shared_preload_libraries\"'")
    assert 'pg_stat_statements' in out


def test_cron_runs_the_check_every_five_minutes(host):
    cron = host.file('/etc/cron.d/n8n-health')
    assert cron.exists and cron.user == 'root'
    assert '*/5 * * * * root /usr/local/sbin/n8n-health' in cron.content_string


@pytest.mark.parametrize('path,mode', [
    ('/usr/local/sbin/n8n-health', 0o750),
    ('/usr/local/lib/n8n_ops/n8n-cron-lib.sh', 0o644),  # the cron wrappers' shared start, sourced by n8n-health
    ('/etc/n8n_ops', 0o700),
    ('/etc/n8n_ops/health-vars.yml', 0o600),   # holds the alert URL
    ('/var/lib/n8n_ops/monitoring', 0o700),
    ('/var/lib/n8n_ops/monitoring/state.json', 0o600),
    ('/var/lib/n8n_ops/monitoring/n8n_ops.prom', 0o644),  # node_exporter reads it
    ('/opt/n8n/compose.d/50-monitoring.yml', 0o640),
])
def test_modes(host, path, mode):
    f = host.file(path)
    assert f.exists and f.mode == mode and f.user == 'root'


def test_the_alert_url_is_in_the_job_settings_only(host):
    assert 'http://127.0.0.1:18080/hook' in host.file('/etc/n8n_ops/health-vars.yml').content_string
    assert '18080' not in host.file('/usr/local/sbin/n8n-health').content_string
    assert '18080' not in host.file('/etc/cron.d/n8n-health').content_string
