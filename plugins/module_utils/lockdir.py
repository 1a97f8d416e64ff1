# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""A directory lock with an owner record, for backup and restore runs.

The lock is a directory (``mkdir`` is atomic) holding ``owner.json``. Every
change to it (take, break, release) happens under an exclusive ``flock`` on
the sibling file ``<lock>.guard``, so two runs can never both decide that a
stale lock is theirs to break. A broken lock is renamed, not deleted, and kept
for a week for forensics.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import socket
import stat
import time
from datetime import datetime, timezone

from ansible_collections.n8n_ops.stack.plugins.module_utils import fileutil

OWNER_FILE = 'owner.json'
GUARD_SUFFIX = '.guard'
BROKEN_INFIX = '.broken-'
BROKEN_KEEP_SECONDS = 7 * 86400
GUARD_TIMEOUT = 60
HELD_PREFIX = 'Another backup or restore is running:'
_STAMP = '%Y%m%dT%H%M%SZ'


class LockError(Exception):
    pass


class LockHeld(LockError):
    def __init__(self, msg, owner):
        super().__init__(msg)
        self.owner = owner


def iso_utc(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec='seconds')


def build_owner(token, purpose, pid, host, now):
    return dict(token=token, purpose=purpose, pid=pid, host=host, started=iso_utc(now), started_epoch=now)


def parse_owner(data):
    """The owner record from owner.json bytes, or None when it is not a usable record (owner unknown)."""
    try:
        raw = json.loads(data)
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    token, epoch, pid = raw.get('token'), raw.get('started_epoch'), raw.get('pid')
    if not isinstance(token, str) or not token:
        return None
    if isinstance(epoch, bool) or not isinstance(epoch, (int, float)):
        return None
    # pid 0 or negative would make os.kill() signal a whole process group: treat as not recorded
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        pid = None
    text = {k: raw.get(k) if isinstance(raw.get(k), str) else None for k in ('purpose', 'host', 'started')}
    return dict(token=token, purpose=text['purpose'], pid=pid, host=text['host'],
                started=text['started'] or iso_utc(epoch), started_epoch=epoch)


def lock_age(owner, mtime, now):
    """Seconds since the lock was taken: from the owner record, else from the directory's mtime."""
    return now - (owner['started_epoch'] if owner else mtime)


def is_stale(owner, mtime, now, stale_hours, this_host, pid_alive):
    """(stale, reason). Stale when older than stale_hours, or taken on this host by a process that is gone."""
    age = lock_age(owner, mtime, now)
    if age > stale_hours * 3600:
        return True, 'older than %g h (age %s)' % (stale_hours, format_age(age))
    if owner and owner['pid'] and owner['host'] == this_host and not pid_alive(owner['pid']):
        return True, 'process %d on %s is gone' % (owner['pid'], this_host)
    return False, None


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return True


def format_age(seconds):
    seconds = max(0, seconds)
    if seconds < 3600:
        return '%d min' % (seconds // 60)
    return '%.1f h' % (seconds / 3600)


def held_message(path, owner, mtime, now, stale_hours):
    age = format_age(lock_age(owner, mtime, now))
    if owner:
        holder = '%s (pid %s, host %s, started %s, age %s)' % (
            owner['purpose'] or 'unknown purpose', owner['pid'] or 'not recorded', owner['host'] or 'unknown',
            owner['started'], age)
    else:
        holder = ('an unknown owner (no readable %s, e.g. a lock from an older version; pid unknown, host unknown, '
                  'started %s, age %s)' % (OWNER_FILE, iso_utc(mtime), age))
    return ('%s lock %s is held by %s. Nothing was written. Locks older than %g h (or whose process on this host is '
            'gone) are broken automatically; if no backup or restore runs, remove %s.'
            % (HELD_PREFIX, path, holder, stale_hours, path))


def foreign_warning(path, owner):
    if owner is None:
        return 'lock %s has no readable %s, so it is not ours to release; left in place' % (path, OWNER_FILE)
    return ('lock %s belongs to another run (%s, pid %s, host %s, started %s); left in place'
            % (path, owner['purpose'], owner['pid'], owner['host'], owner['started']))


def broken_name(path, now):
    return '%s%s%s-%s' % (path, BROKEN_INFIX, time.strftime(_STAMP, time.gmtime(now)), secrets.token_hex(4))


def prune_broken(path, now, keep=BROKEN_KEEP_SECONDS):
    """Remove ``<path>.broken-<stamp>-<hex>`` siblings whose stamp is older than ``keep``; returns their paths."""
    parent, base = os.path.split(path)
    pattern = re.compile(re.escape(base + BROKEN_INFIX) + r'(\d{8}T\d{6}Z)-[0-9a-f]+$')
    removed = []
    for name in sorted(os.listdir(parent)):
        m = pattern.match(name)
        if not m:
            continue
        stamp = datetime.strptime(m.group(1), _STAMP).replace(tzinfo=timezone.utc).timestamp()
        if now - stamp > keep:
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
            if not os.path.lexists(os.path.join(parent, name)):
                removed.append(os.path.join(parent, name))
    return removed


@contextlib.contextmanager
def guard(path, timeout=GUARD_TIMEOUT):
    """Hold an exclusive flock on ``<path>.guard`` for the duration of the block.

    The guard file is never removed: unlinking it would let a waiter lock the
    old inode while a newcomer locks a new one.
    """
    fd = os.open(path + GUARD_SUFFIX, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LockError('timed out after %ds waiting for %s%s' % (timeout, path, GUARD_SUFFIX))
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the flock


def read_lock(path):
    """(owner or None, mtime) of an existing lock directory."""
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise LockError('%s exists but is not a directory' % path)
    try:
        with open(os.path.join(path, OWNER_FILE), 'rb') as f:
            owner = parse_owner(f.read())
    except OSError:
        owner = None
    return owner, st.st_mtime


def take(path, owner):
    os.mkdir(path, 0o700)
    try:
        data = (json.dumps(owner, indent=2, sort_keys=True) + '\n').encode('utf-8')
        fileutil.atomic_write_bytes(os.path.join(path, OWNER_FILE), data, mode=0o600)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise


def acquire(path, stale_hours, purpose, pid, check_mode=False, now=None, host=None):
    """Take the lock, breaking a stale one. Raises LockHeld when it is held. Check mode changes nothing."""
    now = time.time() if now is None else now
    host = host or socket.gethostname()
    owner = build_owner(None if check_mode else secrets.token_hex(16), purpose, pid, host, now)
    result = dict(changed=True, token=owner['token'], owner=owner, broke_stale=None, removed_broken=[])
    # check mode only reads, and must not create the guard file
    with contextlib.nullcontext() if check_mode else guard(path):
        if os.path.lexists(path):
            held, mtime = read_lock(path)
            stale, reason = is_stale(held, mtime, now, stale_hours, host, pid_alive)
            if not stale:
                raise LockHeld(held_message(path, held, mtime, now, stale_hours), held)
            result['broke_stale'] = dict(owner=held, reason=reason, moved_to=None)
            if not check_mode:
                result['broke_stale']['moved_to'] = broken_name(path, now)
                os.rename(path, result['broke_stale']['moved_to'])
        if not check_mode:
            take(path, owner)
            result['removed_broken'] = prune_broken(path, now)
    return result


def release(path, token, check_mode=False):
    """(result, warning or None). Removes the lock only when its owner record carries ``token``."""
    with contextlib.nullcontext() if check_mode else guard(path):
        if not os.path.lexists(path):
            return dict(changed=False, owner=None), None
        owner, _mtime = read_lock(path)
        if owner is None or owner['token'] != token:
            return dict(changed=False, owner=owner), foreign_warning(path, owner)
        if not check_mode:
            shutil.rmtree(path)
        return dict(changed=True, owner=owner), None
