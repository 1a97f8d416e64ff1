# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""Docker daemon log rotation (pure): the default log options in /etc/docker/daemon.json, for containers started
without their own.

No I/O here: the hardening role reads and writes the file.
"""

from __future__ import annotations

import json
import re

ROTATING_DRIVERS = ('json-file', 'local')  # the drivers that keep logs on the Docker host's disk


def daemon_log_config(current_text, max_size, max_file):
    """/etc/docker/daemon.json text (empty: no file) -> (the settings with log rotation, what was kept or why).

    Only ``log-driver``/``log-opts`` are touched; every other key stays. A driver that ships logs elsewhere
    (journald, syslog, fluentd...) is someone's decision: kept, and said. ``local`` rotates by itself (Docker's
    defaults 20m x 5) unless sizes are given: ours are set for it too. Raises ValueError for a file that is not a
    JSON object, so the role stops with nothing written.
    """
    if not re.match(r'^[1-9][0-9]*[kmg]$', str(max_size)):
        raise ValueError('log max-size %r is not a size such as 10m' % (max_size,))
    if int(max_file) < 1:
        raise ValueError('log max-file must be at least 1')
    text = (current_text or '').strip()
    try:
        config = json.loads(text) if text else {}
    except ValueError as exc:
        raise ValueError('daemon.json is not valid JSON (%s): fix it first, it was left as it is' % exc)
    if not isinstance(config, dict):
        raise ValueError('daemon.json is not a JSON object: fix it first, it was left as it is')
    driver = config.get('log-driver', 'json-file')
    if driver not in ROTATING_DRIVERS:
        return config, 'log-driver %s keeps no log on this host: left as it is' % driver
    opts = config.get('log-opts') or {}
    if not isinstance(opts, dict):
        raise ValueError('daemon.json log-opts is not an object: fix it first, it was left as it is')
    merged = dict(config)
    merged['log-driver'] = driver
    # daemon.json wants every log-opt as a string
    merged['log-opts'] = dict(opts, **{'max-size': str(max_size), 'max-file': str(int(max_file))})
    return merged, 'log-driver %s, max-size %s, max-file %s' % (driver, max_size, int(max_file))
