"""The README's commands work as typed from a clone: ansible.cfg makes the checkout n8n_ops.stack (committed link
collections/ansible_collections/n8n_ops/stack), with only the venv's bin on PATH and no ANSIBLE_* variables."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

import yaml

REPO = os.path.realpath(os.path.join(os.path.dirname(__file__), '..', '..'))
SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin'  # docker and the shell; no ansible lives there on the test machines


def clean_env():
    """What a user's shell has: HOME and a PATH with the venv's bin first. No ANSIBLE_*, no PYTHONPATH."""
    return {'HOME': os.environ['HOME'], 'PATH': os.path.dirname(sys.executable) + ':' + SYSTEM_PATH, 'LANG': 'C.UTF-8'}


def run(*argv):
    return subprocess.run(list(argv), cwd=REPO, env=clean_env(), capture_output=True, text=True, check=False)


def readme_playbooks():
    with open(os.path.join(REPO, 'README.md'), encoding='utf-8') as f:
        return sorted(set(re.findall(r'\bplaybooks/[\w-]+\.yml\b', f.read())))


def test_the_readme_shows_playbooks():
    assert 'playbooks/deploy.yml' in readme_playbooks()


def test_the_collection_link_points_at_the_checkout():
    link = os.path.join(REPO, 'collections', 'ansible_collections', 'n8n_ops', 'stack')
    assert os.path.islink(link) and os.path.realpath(link) == REPO


@pytest.mark.parametrize('playbook', readme_playbooks())
def test_readme_playbook_resolves_from_the_repo_root(playbook):
    res = run('ansible-playbook', playbook, '-i', 'inventory/wsl2', '--syntax-check')
    assert res.returncode == 0, res.stdout + res.stderr


def old_playbook_names():
    """Playbooks renamed for FQCNs ('-' -> '_') keep their old path in a checkout (not in the built collection)."""
    return sorted(f for f in os.listdir(os.path.join(REPO, 'playbooks')) if '-' in f and f.endswith('.yml'))


def test_old_playbook_names_are_kept():
    assert 'tune-postgres.yml' in old_playbook_names()


@pytest.mark.parametrize('old', old_playbook_names())
def test_old_playbook_name_runs_the_new_one_from_the_repo_root(old):
    """Nothing but an import of the new name: `ansible-playbook playbooks/<old-name>.yml` runs the same tasks."""
    new = old.replace('-', '_')
    with open(os.path.join(REPO, 'playbooks', old), encoding='utf-8') as f:
        plays = yaml.safe_load(f)
    assert [list(p) for p in plays] == [['name', 'ansible.builtin.import_playbook']], plays
    assert plays[0]['ansible.builtin.import_playbook'] == new
    listed = [run('ansible-playbook', 'playbooks/' + name, '-i', 'inventory/wsl2', '--list-tasks')
              for name in (old, new)]
    assert all(res.returncode == 0 for res in listed), [res.stdout + res.stderr for res in listed]
    tasks = [res.stdout[res.stdout.index('play #1'):] for res in listed]
    assert tasks[0] == tasks[1], tasks


@pytest.mark.parametrize('name', ['n8n_ops.stack.pg_dump', 'community.docker.docker_compose_v2',
                                  'community.postgresql.postgresql_query', 'ansible.posix.synchronize'])
def test_modules_resolve_from_the_repo_root(name):
    res = run('ansible-doc', '-t', 'module', '--json', name)  # a module it cannot find is only a warning
    assert res.returncode == 0 and name in res.stdout, res.stdout[-500:] + res.stderr


def test_roles_run_from_the_repo_root():
    """A dynamic include_role (resolved only at run time) reaches the role: its own input check answers."""
    res = run('ansible-playbook', 'playbooks/backup.yml', '-i', 'inventory/local', '--check',
              '-e', 'backup_root=relative/backups')
    assert res.returncode != 0
    assert 'Invalid n8n_ops.stack.backup input (nothing was changed)' in res.stdout, res.stdout + res.stderr


CHECKOUT_STACK = dict(stack_project_dir='/var/tmp/n8n-ops-checkout/project', stack_project_name='n8n-checkout',
                      stack_n8n_port=15679, stack_owner_email='checkout@example.com',
                      stack_owner_password='Checkout-test-1',
                      # n8n's first start runs every migration; on a 2-core box beside the Molecule lanes that took
                      # over the default 300 s once (a safety net, not a measurement)
                      stack_ready_timeout=900)


@pytest.fixture(scope='module')
def deployed_from_checkout():
    """The README's deploy command, as typed from the repo root, onto the local engine (own project and port)."""
    extra = json.dumps(CHECKOUT_STACK)
    res = run('ansible-playbook', 'playbooks/deploy.yml', '-i', 'inventory/local', '-e', extra)
    try:
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
        yield extra
    finally:
        project = CHECKOUT_STACK['stack_project_dir']
        if os.path.isdir(project):
            subprocess.run(['docker', 'compose', 'down', '--volumes'], cwd=project, capture_output=True, check=False)
        shutil.rmtree(os.path.dirname(project), ignore_errors=True)


def test_tune_postgres_check_runs_from_the_repo_root(deployed_from_checkout):
    """The issue's command: ansible-playbook playbooks/tune_postgres.yml -i inventory/local --check."""
    res = run('ansible-playbook', 'playbooks/tune_postgres.yml', '-i', 'inventory/local', '--check', '--diff',
              '-e', deployed_from_checkout)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "+shared_buffers = '256MB'" in res.stdout
    assert not os.path.exists(os.path.join(CHECKOUT_STACK['stack_project_dir'], 'postgres', 'postgresql.conf'))
