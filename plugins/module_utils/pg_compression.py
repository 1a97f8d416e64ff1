# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""pg_dump -Z values (pure): shared by the pg_dump module and the backup role's input checks."""

from __future__ import annotations

import re

COMPRESSION_RE = re.compile(r'^(?:(?P<none>none)|(?P<method>gzip|lz4|zstd)(?::(?P<level>\d+))?|(?P<legacy>\d))\Z')
LEVELS = {'gzip': (1, 9), 'lz4': (1, 12), 'zstd': (1, 22)}


def parse_compression(value):
    """Validate a -Z value; returns (method, level or None). A bare digit is a gzip level (0 = none)."""
    m = COMPRESSION_RE.match(value or '')
    if not m:
        raise ValueError(
            "compression must be none, gzip, lz4, zstd, METHOD:LEVEL or a gzip level 0-9, got %r" % value)
    if m.group('none'):
        return 'none', None
    if m.group('legacy') is not None:
        level = int(m.group('legacy'))
        return ('none', None) if level == 0 else ('gzip', level)
    method, level = m.group('method'), m.group('level')
    if level is None:
        return method, None
    low, high = LEVELS[method]
    if not low <= int(level) <= high:
        raise ValueError('%s level must be %d-%d, got %s' % (method, low, high, level))
    return method, int(level)
