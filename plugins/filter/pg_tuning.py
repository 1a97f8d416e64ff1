"""Filters used by the pg_tuning role; the logic lives in module_utils/pg_tuning.py."""

import base64
import io

from ansible.errors import AnsibleFilterError
from ansible_collections.n8n_ops.stack.plugins.module_utils import pg_tuning


def _plan(inputs):
    """{'settings', 'computed', 'budget', 'errors'}: errors (every bad input or an unsafe plan, with the numbers)
    instead of an exception, so the role can refuse with one clear message before any change."""
    try:
        result = pg_tuning.plan(
            memory=inputs['memory'], cpus=inputs['cpus'], profile=inputs['profile'], storage=inputs['storage'],
            pg_major=inputs['pg_major'], max_connections=inputs.get('max_connections') or None,
            workers=max(int(inputs['workers']), int(inputs.get('plan_workers') or 0)),
            pool_size=int(inputs.get('pool_size') or pg_tuning.DB_POOL_SIZE), overrides=inputs.get('overrides') or {},
            known=inputs.get('known'), check_budget=inputs.get('check_budget', True),
            allow_synchronous_commit=inputs.get('allow_synchronous_commit', False),
            host_memory=inputs.get('host_memory'))
    except ValueError as exc:
        return dict(errors=str(exc).split('; '))
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError('pg_tuning_plan: incomplete inputs (%s)' % exc, orig_exc=exc)
    result['errors'] = []
    return result


def _inputs(probe, memory='', cpus=0):
    """The plan's resource inputs from the role's probe (docker inspect, nproc, worker commands)."""
    mem, ncpu, workers, concurrency = pg_tuning.container_resources(
        probe['host_config'], probe['visible_cpus'], probe['worker_cmds'], memory, cpus)
    return dict(memory=mem, cpus=ncpu, workers=workers, concurrency=concurrency)


def _conf_settings(settings, base=None):
    return pg_tuning.conf_settings(base, settings)


def _gate(runs, floor=pg_tuning.NOISE_FLOOR, alpha=pg_tuning.ALPHA, min_rounds=None, max_rounds=None):
    """The step's verdict from its runs so far, with 'more_rounds' (run another round: something is inconclusive
    and the rounds are below max_rounds)."""
    try:
        return pg_tuning.gate_step(runs, float(floor), float(alpha), min_rounds, max_rounds)
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
        raise AnsibleFilterError('pg_tuning_gate: %s' % exc, orig_exc=exc)


def _chart(report):
    """The report's gated steps as a PNG (base64): per workload, tps and p95 latency before/after each step (after:
    with the interval of the test, red when regressed, orange when inconclusive), before with the baseline's spread.
    '' when matplotlib is not installed on the controller (the report says so)."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        from matplotlib import pyplot
    except ImportError:
        return ''
    steps = [s for s in report.get('steps', []) if s.get('gate')]
    if not steps:
        return ''
    workloads = sorted({w for s in steps for w in s['gate']['workloads']})
    fig, axes = pyplot.subplots(2, len(workloads), figsize=(4.2 * len(workloads), 6.4), squeeze=False)
    for col, workload in enumerate(workloads):
        for row, (key, label) in enumerate((('tps', 'tps (higher is better)'), ('latency_p95_ms', 'p95 ms (lower is better)'))):
            ax = axes[row][col]
            names, before, after, band, interval, colors = [], [], [], [], [[], []], []
            for s in steps:
                r = s['gate']['workloads'].get(workload, {}).get(key)
                if not r:
                    continue
                names.append(s['name'])
                before.append(r['baseline'])
                after.append(r['candidate'])
                band.append(r['baseline'] * r['noise'])
                # the change's interval, drawn around the after bar (clamped: matplotlib refuses negative errors)
                interval[0].append(max(r['candidate'] - r['baseline'] * (1 + r.get('low', r['change'])), 0))
                interval[1].append(max(r['baseline'] * (1 + r.get('high', r['change'])) - r['candidate'], 0))
                colors.append({'regressed': '#c0392b', 'inconclusive': '#e67e22'}.get(
                    r.get('verdict', 'regressed' if r['regressed'] else 'ok'), '#27ae60'))
            x = list(range(len(names)))
            ax.bar([i - 0.2 for i in x], before, 0.4, yerr=band, capsize=4, color='#95a5a6', label='before (spread)')
            ax.bar([i + 0.2 for i in x], after, 0.4, yerr=interval, capsize=4, color=colors,
                   label='after (interval; red: regressed, orange: inconclusive)')
            ax.set_xticks(x)
            ax.set_xticklabels(names, fontsize=7, rotation=15)
            ax.set_title('%s: %s' % (workload, label), fontsize=9)
            if row == 0 and col == 0:
                ax.legend(fontsize=7)
    fig.suptitle(report.get('title', 'PostgreSQL tuning'), fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format='png', dpi=90)
    pyplot.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


class FilterModule:
    def filters(self):
        return {
            "pg_tuning_plan": _plan,
            "pg_tuning_inputs": _inputs,
            "pg_tuning_conf_settings": _conf_settings,
            "pg_tuning_shm_size": pg_tuning.shm_size,
            "pg_tuning_adopt_base": pg_tuning.adopt_base,
            "pg_tuning_parse_memory": pg_tuning.parse_memory,
            "pg_tuning_stages": pg_tuning.stages,
            "pg_tuning_gate": _gate,
            "pg_tuning_bench_records": pg_tuning.bench_records,
            "pg_tuning_improves": pg_tuning.improves,
            "pg_tuning_neighbours": pg_tuning.neighbours,
            "pg_tuning_changed": pg_tuning.changed_settings,
            "pg_tuning_summary": pg_tuning.report_summary,
            "pg_tuning_chart": _chart,
            "pg_tuning_rollback_problem": pg_tuning.rollback_connections_problem,
        }
