# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""Checksums and crash-safe file publishing for backup artifacts.

A backup file is first written as ``.<name>.partial`` next to its final path,
flushed to disk, verified, and only then moved to its final name, so a reader
never sees a half-written file under the final name.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil

CHUNK = 1024 * 1024
PARTIAL_SUFFIX = '.partial'


def new_dest_error(dest):
    """Why dest cannot receive a new file (parent missing, already there), or None."""
    parent = os.path.dirname(dest)
    if not os.path.isdir(parent):
        return 'parent directory of dest does not exist: %s' % parent
    if os.path.lexists(dest):
        return 'dest already exists, refusing to overwrite it: %s' % dest
    return None


def partial_path(dest):
    """Return the temporary name used while ``dest`` is being written."""
    dest = os.path.abspath(dest)
    return os.path.join(os.path.dirname(dest), '.%s%s' % (os.path.basename(dest), PARTIAL_SUFFIX))


def is_partial_name(name):
    return name.startswith('.') and name.endswith(PARTIAL_SUFFIX)


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


def walk_files(root):
    """Yield (relpath, abspath) for every regular file under ``root``, sorted, not following symlinks."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            abspath = os.path.join(dirpath, name)
            if os.path.isfile(abspath) and not os.path.islink(abspath):
                yield os.path.relpath(abspath, root).replace(os.sep, '/'), abspath


def sha256_tree(path):
    """sha256 of a file, or of a directory tree.

    For a directory the digest covers each regular file's relative path and
    content hash, so renaming, adding or removing a file changes it.
    """
    if not os.path.isdir(path):
        return sha256_file(path)
    digest = hashlib.sha256()
    for relpath, abspath in walk_files(path):
        digest.update(('%s\0%s\n' % (relpath, sha256_file(abspath))).encode('utf-8'))
    return digest.hexdigest()


def tree_size(path):
    if not os.path.isdir(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(abspath) for _relpath, abspath in walk_files(path))


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path):
    """fsync every file and directory below ``path`` (files written by another process)."""
    if not os.path.isdir(path):
        with open(path, 'rb') as f:
            os.fsync(f.fileno())
        return
    for dirpath, _dirnames, filenames in os.walk(path):
        for name in filenames:
            with open(os.path.join(dirpath, name), 'rb') as f:
                os.fsync(f.fileno())
        fsync_dir(dirpath)


def open_exclusive(path, mode=0o600):
    """Create ``path`` (which must not exist) for binary writing, readable by the owner only by default."""
    return open(path, 'xb', opener=lambda p, flags: os.open(p, flags, mode))


def remove_path(path):
    """Remove a file or directory tree if it exists; never raises for a missing path."""
    if os.path.islink(path) or os.path.isfile(path):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    elif os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)


def publish(partial, dest, overwrite=False):
    """Move a finished ``partial`` to ``dest`` atomically and make the rename durable.

    Without ``overwrite`` an existing ``dest`` is never replaced: for a file a
    hard link gives an atomic no-replace rename; a directory rename fails by
    itself on a non-empty target, and an empty one is refused up front.
    """
    parent = os.path.dirname(os.path.abspath(dest))
    if overwrite:
        os.replace(partial, dest)
    elif os.path.isdir(partial):
        if os.path.lexists(dest):
            raise FileExistsError(errno.EEXIST, 'destination exists', dest)
        os.rename(partial, dest)
    else:
        try:
            os.link(partial, dest)
        except FileExistsError:
            raise
        except OSError:
            # file systems without hard links: check-then-replace is the best available
            if os.path.lexists(dest):
                raise FileExistsError(errno.EEXIST, 'destination exists', dest)
            os.replace(partial, dest)
        else:
            os.unlink(partial)
    fsync_dir(parent)


def atomic_write_bytes(dest, data, mode=0o644):
    """Write ``data`` to ``dest`` via a fsynced partial file and os.replace."""
    tmp = partial_path(dest)
    remove_path(tmp)
    try:
        with open_exclusive(tmp, mode) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        publish(tmp, dest, overwrite=True)
    except BaseException:
        remove_path(tmp)
        raise
