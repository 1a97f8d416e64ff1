"""Helpers for the integration tests: run a module through ansible-playbook, manage utest- containers."""

import json
import os
import shutil
import subprocess
import uuid

import pytest

import yaml


def pytest_configure(config):
    config.addinivalue_line('markers', 'docker: needs a running Docker engine and the local/* images')


def _docker_ok():
    if not shutil.which('docker'):
        return False
    return subprocess.run(['docker', 'info'], capture_output=True, check=False).returncode == 0


def pytest_collection_modifyitems(config, items):
    if _docker_ok():
        return
    skip = pytest.mark.skip(reason='docker engine not available')
    for item in items:
        if 'docker' in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope='session')
def run_module(tmp_path_factory):
    """run_module(name, args, check=False) -> the task result dict of n8n_ops.stack.<name>."""
    if not os.environ.get('ANSIBLE_COLLECTIONS_PATH'):
        pytest.skip('ANSIBLE_COLLECTIONS_PATH not set: source scripts/common.sh && activate_venv')
    workdir = tmp_path_factory.mktemp('playbooks')

    def run(name, args, check=False):
        play = [{
            'hosts': 'localhost',
            'connection': 'local',
            'gather_facts': False,
            'vars': {'ansible_python_interpreter': '{{ ansible_playbook_python }}'},
            'tasks': [{'name': name, 'n8n_ops.stack.%s' % name: args}],
        }]
        playbook = workdir / ('%s-%s.yml' % (name, uuid.uuid4().hex[:8]))
        playbook.write_text(yaml.safe_dump(play))
        env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_LOCALHOST_WARNING='false',
                   ANSIBLE_INVENTORY_UNPARSED_WARNING='false')
        cmd = ['ansible-playbook', str(playbook)] + (['--check'] if check else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        try:
            out = json.loads(proc.stdout[proc.stdout.index('{'):])
            return out['plays'][0]['tasks'][0]['hosts']['localhost']
        except (ValueError, KeyError, IndexError) as e:
            raise AssertionError('cannot parse ansible-playbook output (rc=%s): %s\n%s\n%s'
                                 % (proc.returncode, e, proc.stdout[-3000:], proc.stderr[-3000:])) from e

    return run
