"""module_utils/docker_log_rotation.py: the daemon.json log rotation merge and what it refuses."""

import json

import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils.docker_log_rotation import daemon_log_config


def test_daemon_log_config_without_a_file_sets_json_file_rotation():
    config, note = daemon_log_config('', '10m', 3)
    assert config == {'log-driver': 'json-file', 'log-opts': {'max-size': '10m', 'max-file': '3'}}
    assert note == 'log-driver json-file, max-size 10m, max-file 3'


def test_daemon_log_config_keeps_every_other_setting_and_log_opt():
    current = json.dumps({'storage-driver': 'overlay2', 'log-opts': {'max-size': '100m', 'labels': 'app'}})
    config, _note = daemon_log_config(current, '10m', 3)
    assert config['storage-driver'] == 'overlay2'
    assert config['log-opts'] == {'max-size': '10m', 'max-file': '3', 'labels': 'app'}


def test_daemon_log_config_is_stable_on_its_own_output():
    config, _note = daemon_log_config('{"live-restore": true}', '10m', 3)
    assert daemon_log_config(json.dumps(config), '10m', 3)[0] == config


def test_daemon_log_config_sets_sizes_for_the_local_driver_too():
    config, _note = daemon_log_config('{"log-driver": "local"}', '20m', 5)
    assert config == {'log-driver': 'local', 'log-opts': {'max-size': '20m', 'max-file': '5'}}


def test_daemon_log_config_leaves_a_driver_that_ships_logs_elsewhere():
    current = '{"log-driver": "journald"}'
    config, note = daemon_log_config(current, '10m', 3)
    assert config == {'log-driver': 'journald'}
    assert 'journald keeps no log on this host' in note


@pytest.mark.parametrize('text, message', [
    ('{"log-driver": ', 'not valid JSON'),
    ('[]', 'not a JSON object'),
    ('{"log-opts": "max-size=10m"}', 'log-opts is not an object'),
])
def test_daemon_log_config_refuses_a_file_it_cannot_merge(text, message):
    with pytest.raises(ValueError, match=message):
        daemon_log_config(text, '10m', 3)


@pytest.mark.parametrize('size, files', [('10', 3), ('10mb', 3), ('0m', 3), ('10m', 0)])
def test_daemon_log_config_refuses_bad_sizes(size, files):
    with pytest.raises(ValueError):
        daemon_log_config('', size, files)
