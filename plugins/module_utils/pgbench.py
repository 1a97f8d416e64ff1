# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""pgbench output (pure): the summary pgbench prints and its per-transaction --log lines, into numbers."""

from __future__ import annotations

import math
import re

BUILTINS = ('tpcb-like', 'simple-update', 'select-only')
# The summary lines pgbench (14-18) prints, as (key, regex, type).
_SUMMARY = [
    ('transaction_type', r'^transaction type: (.+)$', str),
    ('scale', r'^scaling factor: (\d+)$', int),
    ('clients', r'^number of clients: (\d+)$', int),
    ('threads', r'^number of threads: (\d+)$', int),
    ('duration_s', r'^duration: (\d+) s$', int),
    ('transactions', r'^number of transactions actually processed: (\d+)', int),
    ('failed_transactions', r'^number of failed transactions: (\d+)', int),
    ('latency_avg_ms', r'^latency average = ([\d.]+) ms$', float),
    ('latency_stddev_ms', r'^latency stddev = ([\d.]+) ms$', float),
    ('initial_connection_ms', r'^initial connection time = ([\d.]+) ms$', float),
    ('tps', r'^tps = ([\d.]+) \(without initial connection time\)$', float),
]


def parse_summary(text):
    """Numbers of a pgbench run's summary; raises ValueError when it has no tps (the run did not complete)."""
    out = {}
    for line in (text or '').splitlines():
        line = line.strip()
        for key, pattern, kind in _SUMMARY:
            m = re.match(pattern, line)
            if m:
                out[key] = kind(m.group(1))
    if 'tps' not in out:
        raise ValueError('pgbench printed no tps line (the run did not complete): %s' % ' | '.join(
            (text or '').strip().splitlines()[-5:]))
    out.setdefault('failed_transactions', 0)
    return out


def parse_log(text):
    """(latencies in ms, failed count) from --log lines: client transaction latency_us script epoch epoch_us ...
    A failed or skipped transaction has a word instead of the latency."""
    latencies, failed = [], 0
    for line in (text or '').splitlines():
        fields = line.split()
        if len(fields) < 6:
            continue
        if fields[2].isdigit():
            latencies.append(int(fields[2]) / 1000.0)
        else:
            failed += 1
    return latencies, failed


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list (p in 0..100); None for no values."""
    if not sorted_values:
        return None
    rank = max(1, int(math.ceil(p / 100.0 * len(sorted_values))))
    return sorted_values[rank - 1]


def latency_stats(latencies):
    """avg, stddev, p50, p95, p99, max in ms (3 decimals) of per-transaction latencies."""
    if not latencies:
        return dict(count=0, avg_ms=None, stddev_ms=None, p50_ms=None, p95_ms=None, p99_ms=None, max_ms=None)
    values = sorted(latencies)
    n = len(values)
    avg = sum(values) / n
    stddev = math.sqrt(sum((v - avg) ** 2 for v in values) / n)
    return dict(count=n, avg_ms=round(avg, 3), stddev_ms=round(stddev, 3),
                p50_ms=round(percentile(values, 50), 3), p95_ms=round(percentile(values, 95), 3),
                p99_ms=round(percentile(values, 99), 3), max_ms=round(values[-1], 3))


def result(summary_text, log_text):
    """One run: the summary's numbers plus latency statistics from the log (which also counts failures)."""
    out = parse_summary(summary_text)
    latencies, failed = parse_log(log_text)
    out.update({'latency_%s' % k if k != 'count' else 'logged_transactions': v
                for k, v in latency_stats(latencies).items()})
    out['failed_transactions'] = max(out['failed_transactions'], failed)
    return out
