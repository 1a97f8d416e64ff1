import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils import pgbench

# Real output of pgbench 17.12 (TPC-B, scale 2, 2 clients, 3 s) and of --log lines.
TPCB = """pgbench (17.12 (Debian 17.12-0+deb13u1))
starting vacuum...end.
transaction type: <builtin: TPC-B (sort of)>
scaling factor: 2
query mode: simple
number of clients: 2
number of threads: 1
maximum number of tries: 1
duration: 3 s
number of transactions actually processed: 3538
number of failed transactions: 0 (0.000%)
latency average = 1.690 ms
initial connection time = 12.316 ms
tps = 1183.546760 (without initial connection time)
"""
LOG = """1 1 6268 0 1795680535 72762
0 1 6511 0 1795680535 72973
1 2 1929 0 1795680535 74791
0 2 failed 0 1795680535 75000
"""


def test_summary_numbers():
    s = pgbench.parse_summary(TPCB)
    assert s == dict(transaction_type='<builtin: TPC-B (sort of)>', scale=2, clients=2, threads=1, duration_s=3,
                     transactions=3538, failed_transactions=0, latency_avg_ms=1.69, initial_connection_ms=12.316, tps=1183.54676)


def test_summary_without_tps_is_an_error_with_the_last_lines():
    with pytest.raises(ValueError, match='no tps line.*connection to server .* failed'):
        pgbench.parse_summary('pgbench: error: connection to server on socket failed: FATAL: database "x" does not exist')


def test_stddev_line_is_read_when_printed():
    assert pgbench.parse_summary(TPCB + 'latency stddev = 0.412 ms\n')['latency_stddev_ms'] == 0.412


def test_log_latencies_in_ms_and_failures():
    latencies, failed = pgbench.parse_log(LOG)
    assert latencies == [6.268, 6.511, 1.929] and failed == 1


@pytest.mark.parametrize('p, expected', [(50, 5), (95, 10), (99, 10), (0, 1), (100, 10), (90, 9)])
def test_nearest_rank_percentile(p, expected):
    assert pgbench.percentile(list(range(1, 11)), p) == expected


def test_latency_stats():
    s = pgbench.latency_stats([1.0, 2.0, 3.0, 4.0])
    assert s == dict(count=4, avg_ms=2.5, stddev_ms=1.118, p50_ms=2.0, p95_ms=4.0, p99_ms=4.0, max_ms=4.0)
    assert pgbench.latency_stats([])['p95_ms'] is None


def test_result_combines_summary_and_log():
    r = pgbench.result(TPCB, LOG)
    assert r['tps'] == 1183.54676 and r['logged_transactions'] == 3 and r['failed_transactions'] == 1
    assert r['latency_p50_ms'] == 6.268 and r['latency_max_ms'] == 6.511
