# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""Pure helpers for Redis ``INFO`` output and BGSAVE completion (no I/O)."""

from __future__ import annotations

DONE = 'done'
IN_PROGRESS = 'in_progress'
FAILED = 'failed'
WAITING = 'waiting'


def _value(raw):
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        return raw


def parse_info(text):
    """Parse ``INFO`` output (``key:value`` lines, ``# Section`` headers) into a dict.

    Integer and float values are converted; everything else stays a string.
    """
    info = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#') or ':' not in line:
            continue
        key, raw = line.split(':', 1)
        info[key] = _value(raw)
    return info


def snapshot_state(lastsave_before, lastsave_now, info, saves_before=None):
    """Where a BGSAVE issued after reading ``lastsave_before`` stands.

    Returns ``done`` when no save is running, the last one succeeded and it is
    newer than the one seen before (LASTSAVE advanced, or the ``rdb_saves``
    counter grew: LASTSAVE has one-second resolution, so a save finishing in
    the same second as the previous one does not advance it). ``failed`` when
    the last background save reported an error, ``in_progress`` while one runs,
    ``waiting`` otherwise.
    """
    if info.get('rdb_bgsave_in_progress', 0) != 0:
        return IN_PROGRESS
    if info.get('rdb_last_bgsave_status') == 'err':
        return FAILED
    if info.get('rdb_last_bgsave_status') != 'ok':
        return WAITING
    if lastsave_now > lastsave_before:
        return DONE
    saves_now = info.get('rdb_saves')
    if saves_before is not None and isinstance(saves_now, int) and saves_now > saves_before:
        return DONE
    return WAITING


def snapshot_done(lastsave_before, lastsave_now, info, saves_before=None):
    """True once the requested snapshot is complete and good (see snapshot_state)."""
    return snapshot_state(lastsave_before, lastsave_now, info, saves_before) == DONE


def parse_config_get(text):
    """Parse redis-cli ``CONFIG GET`` output (alternating name/value lines) into a dict."""
    lines = text.splitlines()
    return dict(zip(lines[0::2], lines[1::2]))
