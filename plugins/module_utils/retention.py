# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""Grandfather-father-son retention for backup sets named ``YYYYMMDD_HHMMSS`` (pure, no I/O).

Like restic's ``--keep-daily/--keep-weekly/--keep-monthly``: for the last N
distinct days (ISO weeks, months) that have a good set, keep the newest good
set of each. The newest good set is always kept. Incomplete sets never count
towards a rule; they are deleted only when older than the newest good set
(a newer one may be a backup still running).
"""

from __future__ import annotations

import re
from datetime import datetime

NAME_RE = re.compile(r'^\d{8}_\d{6}$')
NAME_FORMAT = '%Y%m%d_%H%M%S'


def parse_name(name):
    """Return the set's datetime, or None when ``name`` is not a valid ``YYYYMMDD_HHMMSS``."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        return None
    try:
        return datetime.strptime(name, NAME_FORMAT)
    except ValueError:
        return None


def _normalize(sets):
    """Accept (name, good) pairs or dicts with name/good; return ({name: good}, ignored names)."""
    good_by_name = {}
    ignored = []
    for item in sets:
        if isinstance(item, dict):
            name, good = item.get('name'), item.get('good')
        else:
            name, good = item
        if parse_name(name) is None:
            ignored.append(name)
            continue
        good_by_name[name] = good_by_name.get(name, False) or bool(good)
    return good_by_name, ignored


def _check_count(label, value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError('%s must be an integer, got %r' % (label, value))
    if value < 0:
        raise ValueError('%s must be >= 0, got %d' % (label, value))


RULES = (
    ('daily', lambda d: d.strftime('%Y-%m-%d')),
    ('weekly', lambda d: '%04d-W%02d' % d.isocalendar()[:2]),
    ('monthly', lambda d: d.strftime('%Y-%m')),
)


def select(sets, keep_daily=7, keep_weekly=0, keep_monthly=0, prune_incomplete=True):
    """Decide which sets to keep.

    ``sets``: iterable of ``(name, good)`` or ``{'name': ..., 'good': ...}``.
    Returns a dict with ``keep`` and ``delete`` (names, oldest first),
    ``reasons`` ({name: why}), ``newest_good`` (name or None) and ``ignored``
    (names that are not ``YYYYMMDD_HHMMSS``; never kept or deleted).
    """
    counts = {'daily': keep_daily, 'weekly': keep_weekly, 'monthly': keep_monthly}
    for label, value in counts.items():
        _check_count('keep_' + label, value)

    good_by_name, ignored = _normalize(sets)
    names = sorted(good_by_name)
    good = [n for n in names if good_by_name[n]]
    newest_good = good[-1] if good else None

    reasons = {}
    if newest_good:
        reasons[newest_good] = ['newest good set']
    for label, bucket_of in RULES:
        remaining = counts[label]
        last_bucket = None
        for name in reversed(good):
            if remaining <= 0:
                break
            bucket = bucket_of(parse_name(name))
            if bucket == last_bucket:
                continue
            last_bucket = bucket
            remaining -= 1
            reasons.setdefault(name, []).append('%s %s' % (label, bucket))

    keep, delete, why = [], [], {}
    for name in names:
        if good_by_name[name]:
            if name in reasons:
                keep.append(name)
                why[name] = 'keep: ' + ', '.join(reasons[name])
            else:
                delete.append(name)
                why[name] = 'delete: not selected by any keep rule'
        elif newest_good is None:
            keep.append(name)
            why[name] = 'keep: incomplete, no good set exists yet'
        elif name > newest_good:
            keep.append(name)
            why[name] = 'keep: incomplete, newer than the newest good set (may be in progress)'
        elif prune_incomplete:
            delete.append(name)
            why[name] = 'delete: incomplete, older than the newest good set'
        else:
            keep.append(name)
            why[name] = 'keep: incomplete, prune_incomplete is off'
    for name in ignored:
        why[str(name)] = 'ignored: name is not YYYYMMDD_HHMMSS'
    return {
        'keep': keep,
        'delete': delete,
        'reasons': why,
        'newest_good': newest_good,
        'ignored': ignored,
    }
