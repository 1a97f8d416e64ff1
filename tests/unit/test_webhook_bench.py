"""bench/webhook_bench.py's verdicts and bound (pure functions), and bench/report.py's Webhook answers section."""

import os
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.join(REPO, 'bench'))
try:
    import report  # noqa: E402  pylint: disable=wrong-import-position
    import webhook_bench as wb  # noqa: E402  pylint: disable=wrong-import-position
finally:
    sys.path.pop(0)


@pytest.mark.parametrize('trials', [100, 2000, 10000])
def test_no_failure_bound_is_the_closed_form(trials):
    assert wb.upper_bound_95(0, trials) == pytest.approx(1 - 0.05 ** (1 / trials), rel=1e-6)
    assert wb.upper_bound_95(0, trials) == pytest.approx(3 / trials, rel=0.02)   # the rule of three


def test_bound_grows_with_failures_and_stays_above_the_seen_rate():
    bounds = [wb.upper_bound_95(k, 2000) for k in (0, 1, 2, 10)]
    assert bounds == sorted(bounds)
    assert bounds[2] > 2 / 2000
    assert wb.upper_bound_95(2, 2000) == pytest.approx(0.003144, abs=2e-6)   # Clopper-Pearson tables: 0.3144 %
    assert wb.upper_bound_95(5, 5) == 1.0 and wb.upper_bound_95(0, 0) is None


def _call(status, seconds=0.5, tag='t-1'):
    return dict(tag=tag, start=0.0, seconds=seconds, status=status, execution='7')


def test_only_an_answer_with_its_own_tag_counts_and_a_timeout_is_lost():
    v = wb.verdict([_call('ok'), _call('ok', 1.5), _call('timeout', 60), _call('http 500'),
                    _call('wrong answer: {}')])
    assert (v['calls'], v['answered'], v['lost'], v['other']) == (5, 2, 1, 2)
    assert v['latency_ms']['max'] == 1500.0


def _result(calls=5000, rounds=2, lost_zero=2):
    run = dict(round=1, keep_finished_jobs=0, calls=calls, answered=calls - lost_zero, lost=lost_zero, other=0,
               calls_per_s=18.0, latency_ms=dict(median=900.0, p95=1800.0, max=2500.0),
               not_answered=[dict(tag='x', status='timeout', seconds=60.0, execution_found=True, execution='798',
                                  execution_status='success',
                                  main_log=['Enqueued execution 798 (job 798)',
                                            'Execution 798 (job 798) finished'])] * lost_zero)
    kept = dict(run, keep_finished_jobs=1000, answered=calls, lost=0, not_answered=[])
    runs = [run, kept] * rounds
    return dict(date='2026-12-08T02:27:00+00:00',
                parameters=dict(calls=calls, rounds=rounds, variants=[0, 1000], workers=4, concurrency=10,
                                parallel=20, timeout=60, stack_default=1000),
                machine=dict(cpu_model='Xeon', cores=2, memory_bytes=24 * 2 ** 30, kernel='6.1', docker_engine='20.10'),
                versions=dict(compose='2.0', n8n='2.41.1', postgresql_server='17.12 (Debian)', redis='v=7.0.15',
                              ansible_core='2.21.5', collection_commit='0123456789abcdef'),
                runs=runs, summary=wb.summarize(runs, [0, 1000]))


def test_webhook_table_counts_losses_per_variant_and_traces_them():
    text = '\n'.join(report.render_webhook('webhook-x.json', _result()))
    assert '### Webhook answers: 10000 `lastNode` calls per variant (2 rounds)' in text
    assert "| 0 (n8n's default) | 10000 | 9996 | 4 |" in text
    assert "| 1000 (the stack's default) | 10000 | 10000 | 0 | 0.030 % |" in text
    assert "4 success; main logged the worker's \"finished\" message for 4 of them" in text


def test_webhook_table_heads_a_small_run_as_a_smoke_run():
    text = '\n'.join(report.render_webhook('webhook-x.json', _result(calls=300, rounds=1)))
    assert text.startswith('### Smoke run of the webhook answer benchmark (300 calls per variant)')
