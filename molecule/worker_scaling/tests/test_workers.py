"""Container facts of the scaled workers (pytest-testinfra against the Docker-in-Docker test host)."""

import json

import pytest

OVERLAY = '/opt/n8n/compose.d/30-worker_scaling.yml'


def workers(host):
    ids = host.check_output('docker compose --project-directory /opt/n8n ps -q n8n-worker').split()
    return [json.loads(host.check_output('docker inspect %s' % i))[0] for i in ids]


def env(container):
    return dict(e.split('=', 1) for e in container['Config']['Env'])


def test_one_worker_after_converge(host):
    assert len(workers(host)) == 1


def test_worker_command_line_carries_the_concurrency(host):
    for w in workers(host):
        assert w['Config']['Cmd'] == ['worker', '--concurrency=5']


@pytest.mark.parametrize('field,value', [('Memory', 512 * 1024 ** 2), ('NanoCpus', 10 ** 9)])
def test_worker_limits(host, field, value):
    for w in workers(host):
        assert w['HostConfig'][field] == value


def test_graceful_shutdown_is_shorter_than_docker_stop_timeout(host):
    for w in workers(host):
        assert env(w)['N8N_GRACEFUL_SHUTDOWN_TIMEOUT'] == '30'
        assert w['Config']['StopTimeout'] == 45


def test_node_heap_below_the_memory_limit_and_health_endpoint_on(host):
    for w in workers(host):
        assert env(w)['NODE_OPTIONS'] == '--max-old-space-size=384'
        assert env(w)['QUEUE_HEALTH_CHECK_ACTIVE'] == 'true'
        assert 'EXECUTIONS_CONCURRENCY' not in env(w)


def test_restart_policy_replaces_crashed_workers(host):
    for w in workers(host):
        assert w['HostConfig']['RestartPolicy']['Name'] == 'unless-stopped'


def test_overlay_is_not_world_readable(host):
    f = host.file(OVERLAY)
    assert f.user == 'root' and f.mode == 0o640
