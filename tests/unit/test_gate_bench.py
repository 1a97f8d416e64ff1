"""bench/gate_bench.py's judging and summary (pure functions), and bench/report.py's Gate benchmark section."""

import os
import sys

import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils import pg_tuning

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.join(REPO, 'bench'))
try:
    import gate_bench  # noqa: E402  pylint: disable=wrong-import-position
    import report  # noqa: E402  pylint: disable=wrong-import-position
finally:
    sys.path.pop(0)

WORKLOADS = ('n8n', 'select-only', 'tpcb-like')
JITTER = (1.0, 1.02, 0.98, 1.01, 0.99, 1.03)


def gate_runs(factor, rounds=3, tps=1000.0, p95=5.0):
    """Interleaved baseline/candidate pgbench records as the role collects them; the candidate's tps is the baseline's
    times factor (its p95 divided by it), with a little run-to-run jitter."""
    runs = []
    for i in range(rounds):
        for side, f in (('baseline', 1.0), ('candidate', factor)):
            for w in WORKLOADS:
                j = JITTER[(i * 2 + (side == 'candidate') + len(w)) % len(JITTER)]
                runs.append(dict(side=side, workload=w, tps=tps * f * j, latency_p95_ms=p95 / f * j))
    return runs


def gated_step(name, factor, rounds=3):
    runs = gate_runs(factor, rounds)
    g = pg_tuning.gate_step(runs, 0.05, 0.05, 3, 6)
    return dict(name=name, switch='reload' if 'stage 1' in name else 'restart', changes={'random_page_cost': 1.1},
                gate=g, kept=g['keep'], runs=runs)


def stock_report(factor1=1.0, factor2=1.01):
    return dict(bench=dict(rounds=3, max_rounds=6, duration=10, clients=4, scale=10, noise_floor=0.05, alpha=0.05,
                           workloads=list(WORKLOADS)),
                steps=[dict(name='stage 0 (container)', switch='recreate', kept=True, note='postgres recreated'),
                       gated_step('stage 1 (reload)', factor1), gated_step('stage 2 (restart)', factor2)])


def regression_report():
    r = stock_report()
    r['steps'] = r['steps'][:1] + [gated_step('stage 1 (reload)', 0.05)]
    return r


REVERTED_MSG = ('stage 1 (reload) made PostgreSQL slower and was reverted: select-only: tps fell 95.0 % (-95.3 % to '
                '-94.6 % at 99.2 % confidence, p = 1e-06 < 0.0042). Report: /tmp/x/report.md.')


def play_stdout(*messages, ignored=()):
    lines = ['TASK [x] ***']
    for m in ignored:
        lines += ['fatal: [localhost]: FAILED! => {"changed": false, "msg": "%s"}' % m, '...ignoring']
    for m in messages:
        lines.append('fatal: [localhost]: FAILED! => {"changed": false, "msg": "%s"}' % m)
    return '\n'.join(lines + ['PLAY RECAP ***', 'localhost : ok=10 failed=1']) + '\n'


def steps_of(rep):
    return [gate_bench.step_record(s) for s in rep['steps']]


# --- judging ---------------------------------------------------------------------------------------------------------
def test_schedule_interleaves_by_default_and_runs_blocks_on_request():
    assert gate_bench.schedule(5, 5) == ['stock', 'regression'] * 5
    assert gate_bench.schedule(3, 1) == ['stock', 'regression', 'stock', 'stock']
    assert gate_bench.schedule(2, 2, 'stock-first') == ['stock', 'stock', 'regression', 'regression']
    assert gate_bench.schedule(1, 2, 'regression-first') == ['regression', 'regression', 'stock']
    with pytest.raises(ValueError):
        gate_bench.schedule(1, 1, 'random')


def test_failure_messages_reads_the_json_results_and_skips_ignored_ones():
    out = play_stdout('stage 1 (reload) regressed: x', REVERTED_MSG, ignored=['best effort'])
    assert gate_bench.failure_messages(out) == ['stage 1 (reload) regressed: x', REVERTED_MSG]
    assert gate_bench.failure_messages('PLAY RECAP ***\nlocalhost : ok=3 failed=0\n') == []
    pretty = 'fatal: [localhost]: FAILED! => {\n    "changed": false,\n    "msg": "two\\nlines"\n}\n'
    assert gate_bench.failure_messages(pretty) == ['two\nlines']


def test_snapshots_stock_and_steps():
    assert gate_bench.new_snapshot(['20261201T000000Z'], ['20261201T000000Z', '20261201T010000Z']) == '20261201T010000Z'
    assert gate_bench.new_snapshot(['a'], ['a']) is None
    assert gate_bench.is_stock(dict(shared_buffers='128MB', conf_present=False, overlay_present=False))
    assert not gate_bench.is_stock(dict(shared_buffers='256MB', conf_present=False, overlay_present=False))
    assert not gate_bench.is_stock(dict(shared_buffers='128MB', conf_present=False, overlay_present=True))
    assert not gate_bench.is_stock(dict(shared_buffers=None, conf_present=False, overlay_present=False))
    steps = steps_of(stock_report())
    assert gate_bench.find_step(steps, 'stage 1')['name'] == 'stage 1 (reload)'
    assert gate_bench.find_step(steps, 'stage 3') is None


def test_step_record_keeps_verdicts_estimates_intervals_rounds_and_samples():
    s = steps_of(stock_report())
    assert s[0] == dict(name='stage 0 (container)', kept=True, switch='recreate', note='postgres recreated')
    st1 = s[1]
    assert st1['kept'] and st1['verdict'] in ('ok', 'inconclusive') and st1['rounds'] == 3 and st1['max_rounds'] == 6
    tps = st1['workloads']['select-only']['tps']
    assert set(tps) >= {'change', 'low', 'high', 'p', 'verdict'} and tps['low'] <= tps['change'] <= tps['high']
    assert len(st1['samples']['n8n']['baseline']['tps']) == 3 and len(st1['samples']['n8n']['candidate']['latency_p95_ms']) == 3
    assert gate_bench.rounds_used(s) == {'stage 1 (reload)': 3, 'stage 2 (restart)': 3}


def test_a_stock_run_succeeds_with_rc_0_and_every_stage_kept():
    steps = steps_of(stock_report())
    assert gate_bench.judge_stock(0, steps, True) == dict(success=True, reasons=[])
    failed = gate_bench.judge_stock(2, steps, True)
    assert not failed['success'] and failed['reasons'] == ['rc 2']
    reverted = steps_of(stock_report(factor2=0.5))
    verdict = gate_bench.judge_stock(2, reverted, True)
    assert not verdict['success'] and 'not kept: stage 2 (restart)' in verdict['reasons']
    assert not gate_bench.judge_stock(0, [], False)['success']


def test_a_regression_run_succeeds_when_failed_reverted_not_kept_and_settings_back():
    steps = steps_of(regression_report())
    messages = gate_bench.failure_messages(play_stdout('stage 1 (reload) regressed: x', REVERTED_MSG))
    on = {'enable_indexscan': 'on', 'enable_bitmapscan': 'on'}
    verdict = gate_bench.judge_regression(2, steps, messages, on, dict(on))
    assert verdict == dict(success=True, reasons=[], message=REVERTED_MSG)
    size = gate_bench.regression_size(gate_bench.find_step(steps, 'stage 1'))
    assert size['size'] >= 0.30 and set(size['workloads']) == set(WORKLOADS)
    assert all(v['tps_change'] < -0.9 and v['p95_change'] > 1 for v in size['workloads'].values())
    worst = gate_bench.worst_estimate(steps)
    assert worst['step'] == 'stage 1 (reload)' and worst['measure'] == 'tps' and worst['change'] < -0.9


@pytest.mark.parametrize('rc, messages, after, kept, why', [
    (0, [], None, True, 'rc 0: the play kept the regression'),
    (2, ['PostgreSQL tuning failed in stage 1 (reload) and was rolled back'], None, False, 'does not say stage 1'),
    (2, [REVERTED_MSG.replace('stage 1 (reload)', 'stage 2 (restart)')], None, False, 'does not say stage 1'),
    (2, [REVERTED_MSG], {'enable_indexscan': 'off', 'enable_bitmapscan': 'on'}, False, 'enable_indexscan = off (before: on)'),
    (2, [REVERTED_MSG], None, True, 'stage 1 kept in report.json'),
    (None, [REVERTED_MSG], None, False, 'no rc (timed out)'),
])
def test_a_regression_run_fails_on_each_missing_condition(rc, messages, after, kept, why):
    steps = steps_of(regression_report())
    steps[1]['kept'] = kept
    on = {'enable_indexscan': 'on', 'enable_bitmapscan': 'on'}
    verdict = gate_bench.judge_regression(rc, steps, messages, on, after or dict(on))
    assert not verdict['success'] and any(why in r for r in verdict['reasons']), verdict['reasons']


def test_worst_estimate_compares_tps_and_p95_on_one_scale():
    steps = [dict(name='stage 1 (reload)', workloads={
        'a': dict(tps=dict(change=-0.10), latency_p95_ms=dict(change=0.05)),
        'b': dict(tps=dict(change=0.02), latency_p95_ms=dict(change=0.25))})]
    assert gate_bench.worst_estimate(steps) == dict(step='stage 1 (reload)', workload='b', measure='latency_p95_ms',
                                                    change=0.25)
    assert gate_bench.worst_estimate([dict(name='stage 0 (container)', kept=True)]) is None
    assert gate_bench.estimate_text(dict(workload='b', measure='latency_p95_ms', change=0.25)) == 'b p95 +25.0 %'


# --- summary ---------------------------------------------------------------------------------------------------------
def stock_run(n, success=True, seconds=800.0):
    steps = steps_of(stock_report() if success else stock_report(factor2=0.5))
    rec = dict(run=n, kind='stock', rc=0 if success else 2, seconds=seconds, steps=steps,
               rounds=gate_bench.rounds_used(steps), worst=gate_bench.worst_estimate(steps), gate_bench=stock_report()['bench'])
    if n > 1:
        rec['rollback'] = dict(snapshot='20261201T000000Z', rc=0, seconds=100.0)
    rec.update(gate_bench.judge_stock(rec['rc'], steps, True))
    return rec


def regression_run(n, reverted=True, seconds=500.0):
    steps = steps_of(regression_report())
    on = {'enable_indexscan': 'on', 'enable_bitmapscan': 'on'}
    after = dict(on) if reverted else dict(on, enable_indexscan='off')
    rec = dict(run=n, kind='regression', rc=2, seconds=seconds, steps=steps, rounds=gate_bench.rounds_used(steps),
               worst=gate_bench.worst_estimate(steps), rollback=dict(snapshot='20261201T000000Z', rc=0, seconds=90.0),
               regression=gate_bench.regression_size(gate_bench.find_step(steps, 'stage 1')))
    rec.update(gate_bench.judge_regression(2, steps, [REVERTED_MSG], on, after))
    return rec


def all_runs(failing_stock=(), failing_regression=(), n=5):
    runs = []
    for i, kind in enumerate(gate_bench.schedule(n, n), 1):
        runs.append(stock_run(i, i not in failing_stock) if kind == 'stock' else regression_run(i, i not in failing_regression))
    return runs


def test_summary_passes_the_bar_with_5_of_5_each():
    s = gate_bench.summarize(all_runs(), 5, 5)
    assert (s['stock']['succeeded'], s['regression']['reverted']) == (5, 5)
    assert s['regression']['all_at_least'] and s['regression']['smallest_size'] >= 0.9
    assert s['bar'] == dict(runs=5, min_regression=0.30, met=True, verdict='PASS', why_na=None)
    assert s['stock']['seconds'] == dict(median=800.0, min=800.0, max=800.0)
    assert set(s['regression']['tps_change']) == set(WORKLOADS)


def test_summary_misses_on_one_failure_and_says_na_for_quick_or_short_runs():
    assert gate_bench.summarize(all_runs(failing_stock=(3,)), 5, 5)['bar']['verdict'] == 'MISS'
    assert gate_bench.summarize(all_runs(failing_regression=(4,)), 5, 5)['bar']['verdict'] == 'MISS'
    short = gate_bench.summarize(all_runs(n=1), 1, 1, quick=True)['bar']
    assert short['verdict'] == 'n/a' and short['why_na'] == 'quick: a smoke test' and short['met']
    assert gate_bench.summarize(all_runs(n=2), 2, 2)['bar']['why_na'] == 'fewer than 5 runs of a kind'
    runs = all_runs()
    runs[1]['regression']['size'] = 0.2
    s = gate_bench.summarize(runs, 5, 5)
    assert s['regression']['reverted'] == 5 and not s['regression']['all_at_least'] and s['bar']['verdict'] == 'MISS'


# --- report.py ---------------------------------------------------------------------------------------------------------
def gate_result(runs, n=5, quick=False, complete=True, date='2026-12-01T10:00:00+00:00'):
    p = dict(stock_runs=n, regression_runs=n, order='interleaved', regression_overrides=dict(gate_bench.REGRESSION_OVERRIDES),
             regression_stage='stage 1', quick=quick, command=gate_bench.README_COMMAND)
    return dict(date=date, quick=quick, complete=complete, parameters=p,
                machine=dict(cpu_model='AMD EPYC', cores=2, memory_bytes=24 * 2 ** 30, kernel='6.1', docker_engine='20.10'),
                versions=dict(compose='2.0', n8n='2.41.1', n8n_image='local/n8n:2.41.1', postgresql_server='17.12 (Debian)',
                              postgres_image='local/postgres:17', ansible_core='2.21.5', collection_commit='0123456789abcdef',
                              measured_files_uncommitted=[]),
                postgres_memory_limit_bytes=2 ** 30, stock_snapshot='20261201T100500Z',
                load=dict(start=dict(loadavg=[2.5, 2, 2], other_containers_running=3),
                          end=dict(loadavg=[0.5, 1, 1], other_containers_running=0), busy=True),
                runs=runs, summary=gate_bench.summarize(runs, n, n, quick))


def test_report_says_no_committed_run_yet_and_never_shows_quick_or_incomplete_runs():
    assert 'No committed run yet' in report.render_gate([])
    quick = gate_result(all_runs(n=1), n=1, quick=True)
    partial = gate_result(all_runs()[:3], complete=False)
    text = report.render_gate([('gate-20261201T100000Z.json', quick), ('gate-20261201T110000Z.json', partial)])
    assert text.startswith('### Gate benchmark\n') and 'No committed run yet' in text


def test_report_renders_the_newest_complete_run_with_a_row_per_run():
    old = gate_result(all_runs(failing_stock=(1,)), date='2026-11-30T10:00:00+00:00')
    new = gate_result(all_runs())
    text = report.render_gate([('gate-20261130T100000Z.json', old), ('gate-20261201T100000Z.json', new),
                               ('gate-20261202T100000Z.json', gate_result(all_runs(n=1), n=1, quick=True))])
    assert text.startswith('### Gate benchmark: 5 runs from stock, 5 with an injected regression '
                           '(`enable_bitmapscan=off`, `enable_indexscan=off`), interleaved, 2026-12-01 10:00 UTC')
    assert '`results/gate-20261201T100000Z.json`: `python bench/gate_bench.py`' in text
    assert '**From stock: 5 of 5 succeeded**' in text and '**Injected regression: 5 of 5 reverted**' in text
    assert "every run's largest tps fall >= 30 %: yes" in text and '**PASS**' in text
    assert 'per workload over the runs: n8n -95.2 %; select-only -95.2 %; tpcb-like -95.2 %;' in text
    assert '| run | kind | rc | result | seconds | stage 0 (container) | stage 1 (reload) | stage 2 (restart) | rounds |' in text
    rows = [line for line in text.splitlines() if line.startswith('| ') and line[2].isdigit()]
    assert len(rows) == 10
    assert rows[0].startswith('| 1 | stock | 0 | success | 800 | kept | kept, ') and '| 3, 3 |' in rows[0]
    assert rows[1].startswith('| 2 | regression | 2 | reverted | 500 | kept | **reverted**, regressed | - | 3 |')
    assert '3 rounds (one more while a verdict is open, up to 6) of 10 s' in text
    assert '`-e pg_tuning_rollback=20261201T100500Z`, the first run\'s snapshot: 9 rollbacks, median 90 s' in text


def test_report_heads_partial_runs_and_names_failures():
    runs = all_runs(failing_regression=(2,), n=2)
    text = report.render_gate([('gate-20261201T100000Z.json', gate_result(runs, n=2))])
    assert text.startswith("### Partial gate benchmark (2 runs from stock, 2 with an injected regression): fewer than "
                           "the bar's 5 of each")
    assert '`python bench/gate_bench.py --stock-runs 2 --regression-runs 2`' in text
    assert '**Injected regression: 1 of 2 reverted**' in text and '**n/a** (fewer than 5 runs of a kind)' in text
    assert '**NOT reverted**: not back after the run: enable_indexscan = off (before: on)' in text
