# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""Retention for backup sets named ``YYYYMMDD_HHMMSS``, per n8n instance (pure, no I/O).

Like restic's ``--keep-last/--keep-within/--keep-daily/--keep-weekly/--keep-monthly``
with ``--group-by``: good sets are grouped by the instance id of their manifest
and every rule applies to each group on its own, so the backups of one instance
can never push out those of another. The newest good set of every instance is
kept (with ``prune_other_instances`` only that of ``current_instance``). Pinned
sets are never deleted. Incomplete sets never count towards a rule; they are
deleted only when older than the newest good set (a newer one may be a backup
still running).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

NAME_RE = re.compile(r'^\d{8}_\d{6}$')
NAME_FORMAT = '%Y%m%d_%H%M%S'
UNKNOWN = 'unknown'

DURATION_RE = re.compile(r'(?:[0-9]+[ywmdh])+')
DURATION_PART_RE = re.compile(r'([0-9]+)([ywmdh])')
UNIT_HOURS = {'y': 365 * 24, 'm': 30 * 24, 'w': 7 * 24, 'd': 24, 'h': 1}


def parse_name(name):
    """Return the set's datetime, or None when ``name`` is not a valid ``YYYYMMDD_HHMMSS``."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        return None
    try:
        return datetime.strptime(name, NAME_FORMAT)
    except ValueError:
        return None


def parse_duration(text):
    """Parse ``36h``, ``7d``, ``2w``, ``3m`` (30 days), ``1y`` (365 days) or combinations like ``1d12h``."""
    parts = DURATION_PART_RE.findall(text) if isinstance(text, str) and DURATION_RE.fullmatch(text) else []
    if not parts or len(parts) != len(set(unit for _count, unit in parts)):
        raise ValueError('invalid duration %r, expected numbers with units y, m (30 days), w, d, h, each unit once, '
                         'like 36h, 7d or 1d12h' % (text,))
    hours = sum(int(n) * UNIT_HOURS[unit] for n, unit in parts)
    try:
        return timedelta(hours=hours)
    except OverflowError:
        raise ValueError('duration %r is too large' % text)


def _normalize(sets):
    """Accept (name, good) pairs or dicts; return ({name: {good, instance, pinned}}, ignored names)."""
    by_name = {}
    ignored = []
    for item in sets:
        if isinstance(item, dict):
            name, good = item.get('name'), item.get('good')
            instance, pinned = item.get('instance_id') or None, item.get('pinned')
        else:
            name, good = item
            instance, pinned = None, False
        if parse_name(name) is None:
            ignored.append(name)
            continue
        if instance is not None and not isinstance(instance, str):
            raise ValueError('instance_id of set %s must be a string or None, got %r' % (name, instance))
        entry = by_name.setdefault(name, {'good': False, 'instance': None, 'pinned': False})
        entry['good'] = entry['good'] or bool(good)
        entry['instance'] = entry['instance'] or instance
        entry['pinned'] = entry['pinned'] or bool(pinned)
    return by_name, ignored


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


def _group_reasons(good, keep_last, keep_within, within, counts):
    """{name: [reasons]} for the good sets of one instance (``good`` sorted oldest first)."""
    reasons = {}
    newest_first = good[::-1]
    for name in newest_first[:keep_last]:
        reasons.setdefault(name, []).append('last %d' % keep_last)
    if within is not None:
        try:
            cutoff = parse_name(good[-1]) - within
        except OverflowError:
            cutoff = datetime.min
        for name in good:
            if parse_name(name) >= cutoff:
                reasons.setdefault(name, []).append('within %s of %s' % (keep_within, good[-1]))
    for label, bucket_of in RULES:
        remaining = counts[label]
        last_bucket = None
        for name in newest_first:
            if remaining <= 0:
                break
            bucket = bucket_of(parse_name(name))
            if bucket == last_bucket:
                continue
            last_bucket = bucket
            remaining -= 1
            reasons.setdefault(name, []).append('%s %s' % (label, bucket))
    return reasons


def select(sets, keep_daily=7, keep_weekly=0, keep_monthly=0, keep_last=0, keep_within='',
           prune_incomplete=True, prune_other_instances=False, current_instance=None):
    """Decide which sets to keep.

    ``sets``: iterable of ``(name, good)`` or dicts with ``name``, ``good`` and
    optionally ``instance_id`` (str or None) and ``pinned`` (bool).
    Returns a dict with ``keep`` and ``delete`` (names, oldest first),
    ``reasons`` ({name: why}), ``newest_good`` (newest good set of any instance,
    or None), ``newest_good_by_instance`` ({instance id or 'unknown': name}) and
    ``ignored`` (names that are not ``YYYYMMDD_HHMMSS``; never kept or deleted).
    """
    counts = {'daily': keep_daily, 'weekly': keep_weekly, 'monthly': keep_monthly}
    for label, value in counts.items():
        _check_count('keep_' + label, value)
    _check_count('keep_last', keep_last)
    if not isinstance(keep_within, str):
        raise ValueError('keep_within must be a string like 7d, got %r' % (keep_within,))
    try:
        within = parse_duration(keep_within) if keep_within else None
    except ValueError as e:
        raise ValueError('keep_within: %s' % e)
    if current_instance is not None and not isinstance(current_instance, str):
        raise ValueError('current_instance must be a string, got %r' % (current_instance,))
    if prune_other_instances and not current_instance:
        raise ValueError('prune_other_instances needs current_instance')

    by_name, ignored = _normalize(sets)
    names = sorted(by_name)
    groups = {}
    for name in names:
        if by_name[name]['good']:
            groups.setdefault(by_name[name]['instance'], []).append(name)
    good_names = [n for n in names if by_name[n]['good']]
    newest_good = good_names[-1] if good_names else None

    reasons = {}
    for instance, good in groups.items():
        for name, why in _group_reasons(good, keep_last, keep_within, within, counts).items():
            reasons.setdefault(name, []).extend(why)
        if not prune_other_instances or instance == current_instance:
            label = instance[:12] if instance else UNKNOWN
            reasons.setdefault(good[-1], []).insert(0, 'newest good set of instance %s' % label)

    keep, delete, why = [], [], {}
    for name in names:
        entry = by_name[name]
        if entry['pinned']:
            keep.append(name)
            why[name] = 'keep: ' + ', '.join(['pinned'] + reasons.get(name, []))
        elif entry['good']:
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
        'newest_good_by_instance': {instance or UNKNOWN: good[-1] for instance, good in groups.items()},
        'ignored': ignored,
    }
