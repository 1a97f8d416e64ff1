"""What a Galaxy user does: build the collection, install the tarball offline, and from another, empty directory run
every playbook by its FQCN (ansible-playbook n8n_ops.stack.<name>). A playbook name with '-' is not a valid FQCN
('could not be found'), so every playbook in playbooks/ must have a name that is; the old dashed names of renamed
playbooks (a one-line import_playbook of the new name) stay in the checkout only and are left out of the build."""

import os
import re
import subprocess
import sys
import tarfile

import pytest

import yaml

REPO = os.path.realpath(os.path.join(os.path.dirname(__file__), '..', '..'))
PLAYBOOKS = os.path.join(REPO, 'playbooks')
SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin'
MAX_TARBALL = 2 * 1024 * 1024  # 0.5 MB today; a stray cache or result directory shows up here first
JUNK = re.compile(r'(^|/)(\.git|\.ansible|\.cache|\.pytest_cache|\.tox|__pycache__)(/|$)|\.pyc$|\.tar\.gz$'
                  r'|^(collections|tests/output|bench/results|\.ci)(/|$)')


def shim_target(name):
    """The new name a checkout-only shim imports (old name with '-' -> '_'), or None when the file is not one."""
    if '-' not in name:
        return None
    with open(os.path.join(PLAYBOOKS, name + '.yml'), encoding='utf-8') as f:
        plays = yaml.safe_load(f)
    target = name.replace('-', '_')
    if (isinstance(plays, list) and len(plays) == 1 and isinstance(plays[0], dict)
            and plays[0].get('ansible.builtin.import_playbook') == target + '.yml'
            and os.path.isfile(os.path.join(PLAYBOOKS, target + '.yml'))):
        return target
    return None


def all_playbooks():
    return sorted(f[:-4] for f in os.listdir(PLAYBOOKS) if f.endswith('.yml'))


def playbooks():
    """Every playbook in playbooks/ but the old-name shims: a new dashed playbook is kept, and fails below."""
    return [name for name in all_playbooks() if shim_target(name) is None]


def shims():
    return [name for name in all_playbooks() if shim_target(name) is not None]


def community_paths():
    """Where the community collections are besides the venv's sys.path (scripts/install-toolchain.sh's .pth):
    scripts/common.sh's $N8N_OPS_CACHE/collections and `ansible-galaxy collection install -r requirements.yml`'s."""
    cache = os.environ.get('N8N_OPS_CACHE') or os.path.join(os.environ['HOME'], '.cache', 'n8n_ops')
    return [p for p in (os.path.join(cache, 'collections'), os.path.join(os.environ['HOME'], '.ansible', 'collections'))
            if os.path.isdir(p)]


def user_env(collections=None):
    """A Galaxy user's shell: the venv's bin on PATH; no ANSIBLE_CONFIG, no PYTHONPATH, not the checkout's link."""
    env = {'HOME': os.environ['HOME'], 'PATH': os.path.dirname(sys.executable) + ':' + SYSTEM_PATH,
           'LANG': 'C.UTF-8', 'ANSIBLE_NOCOLOR': '1'}
    if collections:
        env['ANSIBLE_COLLECTIONS_PATH'] = ':'.join([collections] + community_paths())
    return env


def run(argv, cwd, collections=None):
    return subprocess.run(argv, cwd=cwd, env=user_env(collections), capture_output=True, text=True, check=False)


@pytest.fixture(scope='module')
def galaxy(tmp_path_factory):
    """Build into one temporary directory, install from the tarball with no network, and an empty working directory
    with a user's inventory (the play's group, on this machine)."""
    top = tmp_path_factory.mktemp('galaxy')
    build = run(['ansible-galaxy', 'collection', 'build', REPO, '--output-path', str(top / 'dist')], cwd=str(top))
    assert build.returncode == 0, build.stdout + build.stderr
    tarballs = [p for p in (top / 'dist').iterdir() if p.name.endswith('.tar.gz')]
    assert len(tarballs) == 1, tarballs
    collections = top / 'collections'
    # --no-deps: the dependencies in galaxy.yml would be resolved from Galaxy; they come from the venv's collections
    install = run(['ansible-galaxy', 'collection', 'install', '--offline', '--no-deps', '-p', str(collections),
                   str(tarballs[0])], cwd=str(top))
    assert install.returncode == 0, install.stdout + install.stderr
    installed = collections / 'ansible_collections' / 'n8n_ops' / 'stack'
    assert (installed / 'MANIFEST.json').is_file(), install.stdout + install.stderr
    elsewhere = top / 'elsewhere'
    elsewhere.mkdir()
    (elsewhere / 'inventory.yml').write_text(yaml.safe_dump({'n8n_hosts': {'hosts': {'localhost': {
        'ansible_connection': 'local', 'ansible_python_interpreter': '{{ ansible_playbook_python }}'}}}}))
    return {'tarball': tarballs[0], 'collections': str(collections), 'installed': str(installed),
            'cwd': str(elsewhere)}


def playbook(galaxy, *argv):
    return run(['ansible-playbook'] + list(argv), cwd=galaxy['cwd'], collections=galaxy['collections'])


def test_the_playbooks_are_found():
    assert 'deploy' in playbooks() and 'tune_postgres' in playbooks()


def test_the_tarball_is_small_and_clean(galaxy):
    size = os.path.getsize(galaxy['tarball'])
    with tarfile.open(galaxy['tarball']) as tar:
        members = tar.getmembers()
    junk = [m.name for m in members if JUNK.search(m.name)]
    assert not junk, junk
    assert size < MAX_TARBALL, '%d bytes, largest: %s' % (size, sorted((m.size, m.name) for m in members)[-10:])


def test_the_installed_playbooks_are_the_checkouts_but_the_old_names(galaxy):
    installed = sorted(f[:-4] for f in os.listdir(os.path.join(galaxy['installed'], 'playbooks'))
                       if f.endswith('.yml'))
    assert installed == playbooks()


@pytest.mark.parametrize('name', playbooks())
def test_playbook_runs_by_fqcn_from_an_installed_collection(galaxy, name):
    res = playbook(galaxy, 'n8n_ops.stack.' + name, '-i', 'inventory.yml', '--syntax-check')
    assert res.returncode == 0, ("n8n_ops.stack.%s: %s%s(a playbook name must be a valid FQCN part: "
                                 "letters, digits and '_', no '-')" % (name, res.stdout, res.stderr))


def test_tune_postgres_lists_its_tasks_from_the_installed_copy(galaxy):
    """The issue's playbook, by FQCN."""
    res = playbook(galaxy, 'n8n_ops.stack.tune_postgres', '-i', 'inventory.yml', '--list-tasks')
    assert res.returncode == 0, res.stdout + res.stderr
    # the installed copy, not a checkout found some other way
    assert 'playbook: %s/playbooks/tune_postgres.yml' % galaxy['installed'] in res.stdout, res.stdout
    assert 'play #1 (n8n_hosts): Tune PostgreSQL' in res.stdout, res.stdout


def test_a_role_resolves_at_run_time_from_the_installed_collection(galaxy):
    """A dynamic include_role (resolved only at run time) reaches the installed role: its own input check answers."""
    res = playbook(galaxy, 'n8n_ops.stack.backup', '-i', 'inventory.yml', '--check', '-e', 'backup_root=relative/x')
    assert res.returncode != 0
    assert 'Invalid n8n_ops.stack.backup input (nothing was changed)' in res.stdout, res.stdout + res.stderr


@pytest.mark.parametrize('name', shims())
def test_an_old_dashed_name_is_not_a_fqcn(galaxy, name):
    """Why the shims exist only in the checkout: even installed, n8n_ops.stack.<old-name> could not be run."""
    res = playbook(galaxy, 'n8n_ops.stack.' + name, '-i', 'inventory.yml', '--syntax-check')
    assert res.returncode != 0 and 'could not be found' in res.stdout + res.stderr, res.stdout + res.stderr
