"""The README's commands work as typed from a clone: ansible.cfg makes the checkout n8n_ops.stack (committed link
collections/ansible_collections/n8n_ops/stack), with only the venv's bin on PATH and no ANSIBLE_* variables."""

import os
import re
import subprocess
import sys

import pytest

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
