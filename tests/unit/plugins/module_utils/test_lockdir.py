import json
import os
import stat
import subprocess
import sys

import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils import lockdir

NOW = 1_800_000_000.0
HOUR = 3600.0


def owner(age_hours=1.0, pid=4242, host='here', purpose='backup'):
    return lockdir.build_owner('t0k3n', purpose, pid, host, NOW - age_hours * HOUR)


def never_called(pid):
    raise AssertionError('pid_alive must not be called')


def dead(pid):
    return False


def alive(pid):
    return True


def dead_pid():
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    return proc.pid


# --- owner records

def test_build_owner_fields():
    o = lockdir.build_owner('abc', 'restore', 17, 'h1', NOW)
    assert o == dict(token='abc', purpose='restore', pid=17, host='h1', started='2027-01-15T08:00:00+00:00',
                     started_epoch=NOW)


def test_parse_owner_roundtrip():
    o = owner()
    assert lockdir.parse_owner(json.dumps(o).encode()) == o


@pytest.mark.parametrize('data', [b'', b'not json', b'[]', b'{}', b'{"token": "", "started_epoch": 1}',
                                  b'{"token": "x"}', b'{"token": "x", "started_epoch": "yesterday"}',
                                  b'{"token": "x", "started_epoch": true}', b'{"token": 5, "started_epoch": 1}'])
def test_parse_owner_unusable_is_unknown(data):
    assert lockdir.parse_owner(data) is None


@pytest.mark.parametrize('pid', [0, -1, True, '123', 1.5])
def test_parse_owner_drops_unusable_pid(pid):
    o = lockdir.parse_owner(json.dumps(dict(token='x', started_epoch=NOW, pid=pid)).encode())
    assert o['pid'] is None and o['started'] == lockdir.iso_utc(NOW)


# --- staleness rules

def test_fresh_lock_is_held():
    assert lockdir.is_stale(owner(1), 0, NOW, 12, 'here', alive) == (False, None)


def test_older_than_stale_hours_is_stale():
    stale, reason = lockdir.is_stale(owner(13), 0, NOW, 12, 'here', never_called)
    assert stale and reason == 'older than 12 h (age 13.0 h)'


def test_age_exactly_stale_hours_is_held():
    assert lockdir.is_stale(owner(12), 0, NOW, 12, 'elsewhere', never_called) == (False, None)


def test_fractional_stale_hours():
    assert lockdir.is_stale(owner(0.6), 0, NOW, 0.5, 'elsewhere', never_called)[0]
    assert not lockdir.is_stale(owner(0.4), 0, NOW, 0.5, 'elsewhere', never_called)[0]


def test_owner_age_wins_over_mtime():
    # the directory's mtime changes when owner.json is rewritten; the record's start time is what counts
    assert lockdir.is_stale(owner(13), NOW, NOW, 12, 'elsewhere', never_called)[0]
    assert not lockdir.is_stale(owner(1), NOW - 20 * HOUR, NOW, 12, 'elsewhere', never_called)[0]


def test_dead_pid_on_this_host_is_stale():
    stale, reason = lockdir.is_stale(owner(1, pid=4242), 0, NOW, 12, 'here', dead)
    assert stale and reason == 'process 4242 on here is gone'


def test_live_pid_on_this_host_is_held():
    assert lockdir.is_stale(owner(1, pid=4242), 0, NOW, 12, 'here', alive) == (False, None)


def test_dead_pid_on_other_host_is_held():
    assert lockdir.is_stale(owner(1, host='there'), 0, NOW, 12, 'here', never_called) == (False, None)


def test_no_pid_only_age_counts():
    assert lockdir.is_stale(owner(1, pid=None), 0, NOW, 12, 'here', never_called) == (False, None)


def test_unknown_owner_uses_mtime():
    assert lockdir.is_stale(None, NOW - 1 * HOUR, NOW, 12, 'here', never_called) == (False, None)
    stale, reason = lockdir.is_stale(None, NOW - 30 * HOUR, NOW, 12, 'here', never_called)
    assert stale and 'age 30.0 h' in reason


def test_pid_alive():
    assert lockdir.pid_alive(os.getpid())
    assert not lockdir.pid_alive(dead_pid())


def test_pid_alive_permission_error_means_alive(monkeypatch):
    def kill(pid, sig):
        raise PermissionError(1, 'Operation not permitted')
    monkeypatch.setattr(lockdir.os, 'kill', kill)
    assert lockdir.pid_alive(1)


# --- messages

@pytest.mark.parametrize('seconds, text', [(-5, '0 min'), (59, '0 min'), (3599, '59 min'), (5400, '1.5 h')])
def test_format_age(seconds, text):
    assert lockdir.format_age(seconds) == text


def test_held_message_names_the_holder():
    msg = lockdir.held_message('/b/.lock', owner(2.5, pid=4242, host='h1', purpose='restore'), 0, NOW, 12)
    assert msg.startswith('Another backup or restore is running: lock /b/.lock is held by restore ')
    for part in ('pid 4242', 'host h1', 'started 2027-01-15T05:30:00+00:00', 'age 2.5 h', 'Nothing was written.',
                 'Locks older than 12 h (or whose process on this host is gone) are broken automatically',
                 'remove /b/.lock'):
        assert part in msg


def test_held_message_unknown_owner():
    msg = lockdir.held_message('/b/.lock', None, NOW - 600, NOW, 0.5)
    assert msg.startswith(lockdir.HELD_PREFIX + ' lock /b/.lock is held by an unknown owner')
    for part in ('pid unknown', 'host unknown', 'started 2027-01-15T07:50:00+00:00', 'age 10 min',
                 'Nothing was written.', 'Locks older than 0.5 h'):
        assert part in msg


def test_foreign_warning():
    assert 'pid 4242' in lockdir.foreign_warning('/b/.lock', owner())
    assert 'no readable owner.json' in lockdir.foreign_warning('/b/.lock', None)


# --- files

def test_broken_name_and_prune(tmp_path):
    lock = str(tmp_path / '.lock')
    old = lockdir.broken_name(lock, NOW - 8 * 86400)
    recent = lockdir.broken_name(lock, NOW - 6 * 86400)
    assert os.path.basename(old).startswith('.lock.broken-20270107T080000Z-')
    for d in (old, recent, str(tmp_path / '.lock.broken-notastamp'), str(tmp_path / 'other.broken-20200101T000000Z-ab')):
        os.mkdir(d)
    with open(os.path.join(old, 'owner.json'), 'w') as f:
        f.write('{}')
    assert lockdir.prune_broken(lock, NOW) == [old]
    assert sorted(os.listdir(tmp_path)) == sorted([os.path.basename(recent), '.lock.broken-notastamp',
                                                   'other.broken-20200101T000000Z-ab'])


def test_guard_file_is_private_and_kept(tmp_path):
    lock = str(tmp_path / '.lock')
    with lockdir.guard(lock):
        pass
    assert stat.S_IMODE(os.stat(lock + '.guard').st_mode) == 0o600


def test_guard_times_out_while_held(tmp_path):
    lock = str(tmp_path / '.lock')
    with lockdir.guard(lock):
        with pytest.raises(lockdir.LockError, match='timed out'):
            with lockdir.guard(lock, timeout=0.1):
                pass


def test_read_lock_refuses_a_file(tmp_path):
    (tmp_path / '.lock').write_text('')
    with pytest.raises(lockdir.LockError, match='not a directory'):
        lockdir.read_lock(str(tmp_path / '.lock'))
