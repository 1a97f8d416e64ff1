import json

import pytest

from ansible_collections.n8n_ops.stack.plugins.modules import pg_tuning_report

from module_args import patch_module_args

REPORT = {'title': 'T', 'steps': [{'name': 'stage 0 (container)', 'kept': True}], 'settings': {'jit': 'off'}}
PNG = 'iVBORw0KGgo='  # the PNG signature, base64


def run(capsys, check=False, **args):
    with patch_module_args(dict(args, _ansible_check_mode=check)):
        with pytest.raises(SystemExit):
            pg_tuning_report.main()
    return json.loads(capsys.readouterr().out)


def test_writes_json_markdown_and_png(tmp_path, capsys):
    r = run(capsys, dest=str(tmp_path), report=REPORT, chart=PNG)
    assert r['changed'] and r['summary'] == ['stage 0 (container): kept']
    assert sorted(p.name for p in tmp_path.iterdir()) == ['report.json', 'report.md', 'report.png']
    assert json.loads((tmp_path / 'report.json').read_text()) == REPORT
    assert (tmp_path / 'report.md').read_text().startswith('# T\n')
    assert (tmp_path / 'report.png').read_bytes() == b'\x89PNG\r\n\x1a\n'
    assert oct((tmp_path / 'report.md').stat().st_mode & 0o777) == '0o640'


def test_check_mode_writes_nothing(tmp_path, capsys):
    r = run(capsys, check=True, dest=str(tmp_path), report=REPORT)
    assert r['files'] == [str(tmp_path / 'report.json'), str(tmp_path / 'report.md')] and not list(tmp_path.iterdir())


def test_bad_chart_fails_and_writes_nothing(tmp_path, capsys):
    r = run(capsys, dest=str(tmp_path), report=REPORT, chart='not base64!')
    assert r['failed'] and 'not base64' in r['msg'] and not list(tmp_path.iterdir())


def test_missing_directory_fails(tmp_path, capsys):
    r = run(capsys, dest=str(tmp_path / 'nope'), report=REPORT)
    assert r['failed'] and 'is not a directory' in r['msg']
