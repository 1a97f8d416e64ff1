"""backup_lock main() against real directories in tmp_path."""

import contextlib
import io
import json
import multiprocessing
import os
import subprocess
import sys
import time
from unittest import mock

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common import warnings as module_warnings

try:
    from ansible.module_utils import _internal as module_internals
except ImportError:  # ansible-core < 2.19
    module_internals = None
try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19, as on the backup hosts
    @contextlib.contextmanager
    def patch_module_args(args):
        with mock.patch.object(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': args}).encode()):
            yield

from ansible_collections.n8n_ops.stack.plugins.module_utils import lockdir
from ansible_collections.n8n_ops.stack.plugins.modules import backup_lock


def run(lock, check_mode=False, **args):
    args = dict(args, path=str(lock), _ansible_check_mode=check_mode)
    out = io.StringIO()
    # run as in a module process: no warnings yet, and warnings go into the result even when a test
    # elsewhere has loaded controller code (ansible-core 2.19+ then sends them to the display instead)
    module_warnings._global_warnings.clear()
    on_target = (mock.patch.object(module_internals, 'is_controller', False)
                 if hasattr(module_internals, 'is_controller') else contextlib.nullcontext())
    with on_target, patch_module_args(args), contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        backup_lock.main()
    return json.loads(out.getvalue())


def warnings(result):
    """Warning texts; ansible-core 2.19+ returns structured warnings to the controller."""
    return [w if isinstance(w, str) else w['event']['msg'] for w in result.get('warnings', [])]


def snapshot(lock):
    """Everything next to and inside the lock, with file contents and the lock's mtime."""
    files = {}
    for dirpath, _dirs, names in os.walk(lock.parent):
        for name in names:
            with open(os.path.join(dirpath, name), 'rb') as f:
                files[os.path.relpath(os.path.join(dirpath, name), lock.parent)] = f.read()
    return sorted(os.listdir(lock.parent)), files, os.stat(lock).st_mtime if lock.exists() else None


def age_lock(lock, hours):
    """Pretend the lock was taken ``hours`` ago: owner record and directory mtime."""
    then = time.time() - hours * 3600
    owner_file = lock / 'owner.json'
    if owner_file.exists():
        owner = json.loads(owner_file.read_text())
        owner.update(started_epoch=then, started=lockdir.iso_utc(then))
        owner_file.write_text(json.dumps(owner))
    os.utime(lock, (then, then))


def broken_dirs(lock):
    return sorted(p for p in lock.parent.iterdir() if p.name.startswith('.lock.broken-'))


def dead_pid():
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    return proc.pid


@pytest.fixture
def lock(tmp_path):
    return tmp_path / '.lock'


def test_take_hold_release(lock):
    taken = run(lock, purpose='backup', pid=os.getpid())
    assert taken['changed'] and not taken.get('failed')
    assert len(taken['token']) == 32 and taken['broke_stale'] is None
    assert taken['owner']['pid'] == os.getpid() and taken['owner']['purpose'] == 'backup'
    assert json.loads((lock / 'owner.json').read_text()) == taken['owner']
    assert oct(lock.stat().st_mode & 0o777) == '0o700'

    before = snapshot(lock)
    second = run(lock, purpose='restore')
    assert second['failed'] and not second['changed']
    assert second['msg'].startswith('Another backup or restore is running: lock %s is held by backup (pid %d, host '
                                    % (lock, os.getpid()))
    assert 'Nothing was written.' in second['msg'] and 'older than 12 h' in second['msg']
    assert second['owner'] == taken['owner']
    assert snapshot(lock) == before

    wrong = run(lock, state='absent', token='0' * 32)
    assert not wrong['changed'] and wrong['owner'] == taken['owner']
    assert any('belongs to another run' in w for w in warnings(wrong))
    assert snapshot(lock) == before

    released = run(lock, state='absent', token=taken['token'])
    assert released['changed'] and not warnings(released)
    assert not lock.exists()

    again = run(lock, state='absent', token=taken['token'])
    assert not again['changed'] and not warnings(again)


def test_stale_by_age_is_broken(lock):
    old = run(lock, stale_hours=2)
    age_lock(lock, 3)
    new = run(lock, stale_hours=2)
    assert new['changed'] and new['token'] != old['token']
    assert new['broke_stale']['owner']['token'] == old['token']
    assert new['broke_stale']['reason'].startswith('older than 2 h (age 3.0 h')
    moved = new['broke_stale']['moved_to']
    assert broken_dirs(lock) == [lock.parent / os.path.basename(moved)]
    assert json.loads((lock.parent / moved / 'owner.json').read_text())['token'] == old['token']
    assert json.loads((lock / 'owner.json').read_text())['token'] == new['token']


def test_stale_by_dead_pid_is_broken(lock):
    pid = dead_pid()
    old = run(lock, purpose='restore', pid=pid)
    new = run(lock)
    assert new['changed'] and new['broke_stale']['owner']['token'] == old['token']
    assert new['broke_stale']['reason'] == 'process %d on %s is gone' % (pid, old['owner']['host'])


def test_bare_directory_is_held_until_stale(lock):
    lock.mkdir()
    held = run(lock)
    assert held['failed'] and held['owner'] is None
    assert held['msg'].startswith('Another backup or restore is running: lock %s is held by an unknown owner' % lock)
    assert os.listdir(lock) == [] and broken_dirs(lock) == []

    release = run(lock, state='absent', token='x')
    assert not release['changed'] and any('no readable owner.json' in w for w in warnings(release))
    assert lock.is_dir()

    age_lock(lock, 13)
    taken = run(lock)
    assert taken['changed'] and taken['broke_stale']['owner'] is None
    assert taken['broke_stale']['reason'].startswith('older than 12 h')


def test_check_mode_changes_nothing(lock):
    would = run(lock, check_mode=True)
    assert would['changed'] and would['token'] is None and would['owner']['token'] is None
    assert os.listdir(lock.parent) == []

    taken = run(lock)
    before = snapshot(lock)
    assert run(lock, check_mode=True)['failed']
    release = run(lock, check_mode=True, state='absent', token=taken['token'])
    assert release['changed'] and snapshot(lock) == before

    age_lock(lock, 13)
    before = snapshot(lock)
    would_break = run(lock, check_mode=True)
    assert would_break['changed'] and would_break['token'] is None
    assert would_break['broke_stale']['owner']['token'] == taken['token']
    assert would_break['broke_stale']['moved_to'] is None
    assert snapshot(lock) == before


def test_old_broken_locks_are_pruned(lock):
    now = time.time()
    old, recent = lockdir.broken_name(str(lock), now - 8 * 86400), lockdir.broken_name(str(lock), now - 86400)
    os.mkdir(old)
    os.mkdir(recent)
    taken = run(lock)
    assert taken['removed_broken'] == [old]
    assert broken_dirs(lock) == [lock.parent / os.path.basename(recent)]


@pytest.mark.parametrize('args, msg', [
    (dict(stale_hours=0), 'stale_hours must be > 0'),
    (dict(pid=0), 'pid must be > 0'),
    (dict(state='absent'), 'state is absent but all of the following are missing: token'),
])
def test_invalid_options(lock, args, msg):
    result = run(lock, **args)
    assert result['failed'] and msg in result['msg']
    assert os.listdir(lock.parent) == []


def test_missing_parent(tmp_path):
    assert 'parent directory of the lock does not exist' in run(tmp_path / 'nope' / '.lock')['msg']
    assert not run(tmp_path / 'nope' / '.lock', state='absent', token='x')['changed']


def _race(lock, barrier, results):
    barrier.wait()
    try:
        results.put(run(lock, pid=os.getppid()))
    except BaseException as e:  # report instead of hanging the parent
        results.put({'error': repr(e)})


def test_racing_runs_break_a_stale_lock_once(lock):
    old = run(lock)
    age_lock(lock, 13)
    ctx = multiprocessing.get_context('fork')
    n = 8
    barrier, results = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(lock, barrier, results)) for i in range(n)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=60) for i in range(n)]
    for p in procs:
        p.join(timeout=60)

    winners = [r for r in outcomes if r.get('changed')]
    losers = [r for r in outcomes if r.get('failed')]
    assert len(winners) == 1 and len(losers) == n - 1, outcomes
    assert winners[0]['broke_stale']['owner']['token'] == old['token']
    assert all(r['msg'].startswith(lockdir.HELD_PREFIX) and r['owner'] == winners[0]['owner'] for r in losers)
    assert len(broken_dirs(lock)) == 1
    assert json.loads((lock / 'owner.json').read_text())['token'] == winners[0]['token']
