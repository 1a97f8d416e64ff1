# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""Can this backup set be restored onto this target? Checked before a restore drops anything (pure, no I/O).

Used through the filter ``n8n_ops.stack.backup_restore_compat_errors``. The set is described by its manifest
(``postgres_version``, ``n8n_version``, ``pg_dump_format``, ``pg_dump_compression`` as written by the backup role),
the target by the versions it will run (``postgres_version``, optional ``pg_restore_version``, ``n8n_version``).
"""

from __future__ import annotations

import re

# 'v2.41.1', '2.41.10', '2.0.0-rc.1', '17.6', '15.14 (Debian 15.14-0+deb12u1)', '17beta1', 'n8n@2.41.1'
_VERSION_RE = re.compile(
    r"^\s*(?:postgresql\s+|n8n@)?v?"
    r"(?P<release>[0-9]+(?:\.[0-9]+)*)"
    r"(?:-?(?P<pre>[A-Za-z][0-9A-Za-z.-]*)|-(?P<pre_num>[0-9][0-9A-Za-z.-]*))?"
    r"(?:\+[0-9A-Za-z.-]*)?"
    r"(?=\s|\(|\Z)",
    re.IGNORECASE | re.ASCII)


def _pre_key(parts):
    # semver: numeric identifiers sort numerically and before alphanumeric ones; fewer identifiers sort first
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p.lower()) for p in parts)


class VersionTuple(tuple):
    """The release numbers of a version, e.g. (2, 41, 1), that orders a pre-release before its release.

    Compares like a tuple of ints with missing trailing components taken as 0 ((17, 6) == (17, 6, 0)), except that
    a pre-release ('2.0.0-rc.1', attribute ``pre`` = ('rc', '1')) is lower than the same release.
    """

    def __new__(cls, release, pre=()):
        obj = super().__new__(cls, release)
        obj.pre = tuple(pre)
        return obj

    def _key(self, length):
        release = tuple(self) + (0,) * (length - len(self))
        return release, (0, _pre_key(self.pre)) if self.pre else (1, ())

    def _pair(self, other):
        if not isinstance(other, VersionTuple):
            if not isinstance(other, tuple):
                return None
            other = VersionTuple(other)
        length = max(len(self), len(other))
        return self._key(length), other._key(length)

    def __eq__(self, other):
        pair = self._pair(other)
        return NotImplemented if pair is None else pair[0] == pair[1]

    def __ne__(self, other):
        pair = self._pair(other)
        return NotImplemented if pair is None else pair[0] != pair[1]

    def __lt__(self, other):
        pair = self._pair(other)
        return NotImplemented if pair is None else pair[0] < pair[1]

    def __le__(self, other):
        pair = self._pair(other)
        return NotImplemented if pair is None else pair[0] <= pair[1]

    def __gt__(self, other):
        pair = self._pair(other)
        return NotImplemented if pair is None else pair[0] > pair[1]

    def __ge__(self, other):
        pair = self._pair(other)
        return NotImplemented if pair is None else pair[0] >= pair[1]

    def __hash__(self):
        release = list(self)
        while release and release[-1] == 0:
            release.pop()
        return hash((tuple(release), _pre_key(self.pre)))

    def __repr__(self):
        return "VersionTuple(%r%s)" % (tuple(self), ", pre=%r" % (self.pre,) if self.pre else "")


def version_tuple(text):
    """Parse a version string into a VersionTuple of its release numbers, e.g. '2.41.1' -> (2, 41, 1).

    Tolerates a leading 'v' (or 'n8n@'), PostgreSQL's '15.14 (Debian 15.14-0+deb12u1)' form, semver build
    metadata ('+build') and pre-release suffixes ('-rc.1', PostgreSQL's '17beta1'), which sort before the release:
    version_tuple('2.41.10') > version_tuple('2.41.9') and version_tuple('2.0.0-rc.1') < version_tuple('2.0.0').
    Numbers (17.6 as a float from YAML) are read as their text. Raises ValueError for anything else.
    """
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise ValueError("not a version: %r" % (text,))
    match = _VERSION_RE.match(str(text))
    if not match:
        raise ValueError("not a version: %r" % (text,))
    release = tuple(int(part) for part in match.group("release").split("."))
    pre = match.group("pre") or match.group("pre_num") or ""
    return VersionTuple(release, re.findall(r"[0-9]+|[A-Za-z]+", pre))


def pg_major(text):
    """PostgreSQL major version: 17 for '17.6', 9.6 as (9, 6) before 10. Raises ValueError."""
    version = version_tuple(text)
    if version[0] >= 10 or len(version) < 2:
        return (version[0],)
    return (version[0], version[1])


def _major_text(major):
    return ".".join(str(n) for n in major)


def compression_method(value):
    """'zstd:1' -> 'zstd', 'gzip:6' / '6' -> 'gzip', 'none' / '0' -> 'none'; None if unknown or missing."""
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip().lower()
    if text.isdigit():
        return "none" if int(text) == 0 else "gzip"
    method = text.split(":", 1)[0]
    return method if method in ("none", "gzip", "lz4", "zstd") else None


def _missing(value):
    return value is None or (isinstance(value, str) and not value.strip())


def _parse(value, what, errors):
    try:
        return version_tuple(value)
    except ValueError:
        errors.append("%s %r is not a version number (such as 2.41.1 or 17.6): cannot check compatibility; "
                      "give a pinned version" % (what, value))
        return None


def _postgres_errors(manifest, target, errors):
    set_pg = manifest.get("postgres_version")
    if _missing(set_pg):
        errors.append("the backup set's manifest does not record postgres_version: cannot check that the target "
                      "PostgreSQL can restore it")
        set_major = None
    else:
        set_major = pg_major(set_pg) if _parse(set_pg, "the backup set's postgres_version", errors) else None

    target_pg = target.get("postgres_version")
    if _missing(target_pg):
        errors.append("the target's PostgreSQL version is unknown: cannot check that it can restore the backup set")
        return
    if _parse(target_pg, "the target's postgres_version", errors) is None:
        return
    target_major = pg_major(target_pg)

    restore_pg = target.get("pg_restore_version")
    restore_given = not _missing(restore_pg)
    if not restore_given:
        restore_pg, restore_major = target_pg, target_major
    elif _parse(restore_pg, "the target's pg_restore_version", errors) is None:
        restore_major = None
    else:
        restore_major = pg_major(restore_pg)

    if set_major is not None:
        if target_major < set_major:
            errors.append(
                "the backup set was dumped from PostgreSQL %s but the target server runs PostgreSQL %s: an older "
                "PostgreSQL cannot reliably restore an archive from a newer pg_dump; restore onto a PostgreSQL %s or "
                "newer server (same or newer major)" % (set_pg, target_pg, _major_text(set_major)))
        elif restore_major is not None and restore_given and restore_major < set_major:
            errors.append(
                "the backup set was dumped with pg_dump from PostgreSQL %s but the target's pg_restore is from "
                "PostgreSQL %s: pg_restore cannot reliably read archives from a newer pg_dump; use a pg_restore of "
                "PostgreSQL %s or newer" % (set_pg, restore_pg, _major_text(set_major)))

    method = compression_method(manifest.get("pg_dump_compression"))
    if method in ("zstd", "lz4") and restore_major is not None and restore_major < (16,):
        errors.append(
            "the backup set (PostgreSQL %s) is compressed with %s (pg_dump_compression %r) but the target's pg_restore "
            "is from PostgreSQL %s, which reads only gzip-compressed archives (%s needs PostgreSQL 16 or newer); "
            "restore onto a PostgreSQL 16 or newer target" % (
                set_pg if not _missing(set_pg) else "unknown", method, manifest.get("pg_dump_compression"),
                restore_pg, method))


def _n8n_errors(manifest, target, errors):
    set_n8n = manifest.get("n8n_version")
    if _missing(set_n8n):
        errors.append("the backup set's manifest does not record n8n_version: cannot check that the target n8n can "
                      "run the restored database")
        return
    set_version = _parse(set_n8n, "the backup set's n8n_version", errors)

    target_n8n = target.get("n8n_version")
    if _missing(target_n8n):
        return  # the target's n8n version is unknown: nothing to compare
    target_version = _parse(target_n8n, "the target's n8n_version", errors)
    if set_version is None or target_version is None:
        return
    if target_version < set_version:
        errors.append(
            "the backup set was taken with n8n %s but the target will run n8n %s: an older n8n cannot run a database "
            "migrated by a newer n8n; deploy n8n %s or newer first, then restore" % (set_n8n, target_n8n, set_n8n))


def compat_errors(manifest, target):
    """Reasons the backup set described by `manifest` cannot be restored onto `target`; [] when it can.

    manifest: the set's manifest (postgres_version, n8n_version, pg_dump_format, pg_dump_compression).
    target: postgres_version (the target server's), pg_restore_version (optional, defaults to the server's) and
    n8n_version (the n8n the target will run; '' when unknown skips the n8n comparison). A newer target n8n is fine:
    it migrates the database on start.
    """
    if not isinstance(manifest, dict):
        return ["the backup set's manifest is not a mapping (got %s): cannot check compatibility"
                % type(manifest).__name__]
    if not isinstance(target, dict):
        return ["the restore target description is not a mapping (got %s): cannot check compatibility"
                % type(target).__name__]
    errors = []
    _postgres_errors(manifest, target, errors)
    _n8n_errors(manifest, target, errors)
    return errors
