"""bench/README.md's Results section is generated from the committed bench/results/*.json: never out of date."""

import os
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def test_bench_readme_tables_match_the_committed_results():
    r = subprocess.run([sys.executable, os.path.join(REPO, 'bench', 'report.py'), '--check'],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def _health_result(rounds=10, module_p95=1.9, playbook_green=10):
    """A minimal health_bench.py result (bench/results/health-*.json) with the fields report.py reads."""
    def spread(median, p95):
        return dict(median=median, p95=p95, min=median * 0.9, max=p95)
    return dict(
        date='2026-11-26T17:50:00+00:00',
        parameters=dict(rounds=rounds, workers=2, project='n8nhealthbench', breakdown_repeats=3),
        machine=dict(cpu_model='AMD EPYC', cores=2, memory_bytes=24 * 2 ** 30, kernel='6.1', docker_engine='20.10'),
        versions=dict(compose='2.0', n8n='2.41.1', n8n_image='local/n8n:2.41.1', postgresql_server='17.12 (Debian)',
                      postgres_image='local/postgres:17', ansible_core='2.21.5', collection_commit='0123456789abcdef',
                      measured_files_uncommitted=[]),
        load=dict(start=dict(loadavg=[2.5, 2, 2]), end=dict(loadavg=[2.0, 2, 2]), busy=True),
        breakdown=[dict(command='docker exec n8nhealthbench-n8n-worker-1 node -e x', seconds=dict(median=0.5)),
                   dict(command='docker compose ps -aq', seconds=dict(median=0.2))],
        summary=dict(rounds=rounds, module_seconds=spread(1.8, module_p95), module_wall=spread(5.0, 6.0),
                     playbook=spread(7.0, 8.0), baseline=spread(0.5, 0.7),
                     goal=dict(seconds=3.0, value=module_p95, verdict='PASS' if module_p95 <= 3.0 else 'MISS'),
                     green_rounds=dict(module=rounds, playbook=playbook_green, baseline=rounds),
                     red_items=dict(module=[], playbook=[] if playbook_green == rounds else ['disk docker data root']),
                     docker_calls=dict(median=9),
                     postgres=dict(samples=3, statements=1, calls=1, total_exec_ms=dict(median=4.9),
                                   others_in_window=dict(median=27), control_window_calls=dict(median=30))))


def _render_health(result):
    sys.path.insert(0, os.path.join(REPO, 'bench'))
    try:
        import report  # pylint: disable=import-outside-toplevel
    finally:
        sys.path.pop(0)
    return '\n'.join(report.render_health('health-20261126T175000Z.json', result))


def test_bench_health_table_ratios_goal_and_postgres():
    text = _render_health(_health_result())
    assert text.startswith('### Health check: one `stack_health` run on a healthy stack (2 workers), 10 rounds')
    assert '**PASS** (p95 1.90 s)' in text
    # median / baseline median of the same run
    assert "| `module`: the module's own `seconds` | 1.80 | 1.90 | 1.62-1.90 | 3.60 |" in text
    assert '| `playbook`: `ansible-playbook playbooks/health.yml` wall | 7.00 | 8.00 | 6.30-8.00 | 14.00 |' in text
    assert 'PostgreSQL 1 statement, 1 call, 4.90 ms' in text and 'docker CLI calls 9' in text
    assert 'playbook green in all 10 rounds' in text and 'otherwise busy' in text
    assert '`docker exec n8n-worker-1 node` 0.50 s' in text


def test_bench_health_table_says_miss_red_rounds_and_smoke():
    text = _render_health(_health_result(rounds=2, module_p95=3.4, playbook_green=1))
    assert text.startswith('### Smoke run of the health check benchmark (2 rounds), not representative')
    assert '**MISS** (p95 3.40 s)' in text
    assert 'playbook **NOT green in 1 of 2 rounds** (red: disk docker data root)' in text
