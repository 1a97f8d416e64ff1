"""The health textfile and the shipped alert rules pass promtool (installed by scripts/install-toolchain.sh)."""

import pathlib
import shutil
import subprocess

import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils import health

FILES = pathlib.Path(__file__).resolve().parents[2] / 'roles' / 'monitoring' / 'files'
PROMTOOL = shutil.which('promtool')
needs_promtool = pytest.mark.skipif(not PROMTOOL, reason='promtool not installed (scripts/install-toolchain.sh)')


def promtool(*args, stdin=None):
    return subprocess.run([PROMTOOL] + list(args), input=stdin, capture_output=True, text=True, check=False,
                          cwd=FILES)


@needs_promtool
def test_textfile_passes_promtool_check_metrics():
    checks = [dict(name='container:n8n-n8n-worker-1', status=health.RED, message='m'),
              dict(name='disk:docker data root', status=health.GREEN, message='m'),
              dict(name='http:main "/healthz"\\', status=health.GREEN, message='m')]
    text = health.textfile(checks, {'queue_waiting': [({}, 3)], 'queue_oldest_wait_seconds': [({}, 12.5)],
                                    'container_restarts': [({'container': 'a'}, 0), ({'container': 'b'}, 2)],
                                    'last_run_timestamp_seconds': [({}, 1764170000.25)]})
    result = promtool('check', 'metrics', stdin=text)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_a_broken_textfile_fails_promtool():  # the check above can fail
    result = promtool('check', 'metrics', stdin='n8n_ops_check_ok{check="x" 1\n')
    assert result.returncode != 0


@needs_promtool
def test_alert_rules_are_valid_and_fire_on_their_series():
    checked = promtool('check', 'rules', 'n8n_ops.rules.yml')
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool('test', 'rules', 'n8n_ops.rules.test.yml')
    assert tested.returncode == 0, tested.stdout + tested.stderr
