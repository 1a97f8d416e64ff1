"""backup_sets.main() against a real directory tree."""

import json
import os
from unittest import mock

import pytest

from ansible_collections.n8n_ops.stack.plugins.modules import backup_sets

from module_args import patch_module_args

A = 'a' * 64
B = 'b' * 64


def make_set(root, name, instance=None, status='good', pinned=False):
    path = root / name
    path.mkdir()
    if status:
        manifest = {'status': status, 'files': {}}
        if instance:
            manifest['instance_id'] = instance
        (path / 'manifest.json').write_text(json.dumps(manifest))
    if pinned:
        (path / 'PINNED').write_text('pinned\n')
    return path


def run(capsys, root, check=False, **args):
    args = dict(args, root=str(root), _ansible_check_mode=check)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            backup_sets.main()
    return json.loads(capsys.readouterr().out)


def test_lists_instance_and_pin(tmp_path, capsys):
    make_set(tmp_path, '20261120_020000', A, pinned=True)
    make_set(tmp_path, '20261121_020000', status=None)
    r = run(capsys, tmp_path)
    assert [(s['name'], s['good'], s['instance_id'], s['pinned']) for s in r['sets']] == [
        ('20261120_020000', True, A, True), ('20261121_020000', False, None, False)]
    assert r['newest_good_by_instance'] == {A: '20261120_020000'} and not r['changed']


def test_new_instance_does_not_prune_previous_one(tmp_path, capsys):
    make_set(tmp_path, '20261122_020000', A)
    make_set(tmp_path, '20261122_030000', B)
    r = run(capsys, tmp_path, keep_daily=1, prune=True)
    assert r['delete'] == [] and not r['changed']
    assert sorted(os.listdir(tmp_path)) == ['20261122_020000', '20261122_030000']


def test_prunes_per_instance(tmp_path, capsys):
    for name in ('20261120_020000', '20261121_020000'):
        make_set(tmp_path, name, A)
    for name in ('20261122_020000', '20261123_020000'):
        make_set(tmp_path, name, B)
    r = run(capsys, tmp_path, keep_daily=0, keep_last=1, prune=True)
    assert r['changed'] and r['delete'] == ['20261120_020000', '20261122_020000']
    assert sorted(os.listdir(tmp_path)) == ['20261121_020000', '20261123_020000']


def test_prune_other_instances(tmp_path, capsys):
    make_set(tmp_path, '20261110_020000', A)
    make_set(tmp_path, '20261120_020000', B)
    r = run(capsys, tmp_path, keep_daily=0, prune=True, prune_other_instances=True, current_instance=B)
    assert r['delete'] == ['20261110_020000']
    assert os.listdir(tmp_path) == ['20261120_020000']


def test_prune_other_instances_warns_when_current_instance_has_no_set(tmp_path, capsys):
    make_set(tmp_path, '20261110_020000', A)
    # patched: once controller code is imported (other tests), ansible-core displays warnings instead of returning them
    with mock.patch.object(backup_sets.AnsibleModule, 'warn', autospec=True) as warn:
        r = run(capsys, tmp_path, keep_daily=0, prune_other_instances=True, current_instance=B)
    assert r['delete'] == ['20261110_020000']
    assert 'no good set of current_instance' in warn.call_args[0][1]


def test_prune_other_instances_needs_current_instance(tmp_path, capsys):
    make_set(tmp_path, '20261110_020000', A)
    r = run(capsys, tmp_path, prune=True, prune_other_instances=True)
    assert r['failed'] and 'current_instance' in r['msg']
    assert os.listdir(tmp_path) == ['20261110_020000']


def test_check_mode_deletes_and_pins_nothing(tmp_path, capsys):
    make_set(tmp_path, '20261120_020000', A)
    make_set(tmp_path, '20261121_020000', A)
    make_set(tmp_path, '20261122_020000', A)
    r = run(capsys, tmp_path, check=True, keep_daily=0, prune=True, pin=['20261120_020000'])
    assert r['changed'] and r['delete'] == ['20261121_020000']
    assert {s['name']: s['pinned'] for s in r['sets']}['20261120_020000'] is True
    assert r['reasons']['20261120_020000'] == 'keep: pinned'
    assert sorted(os.listdir(tmp_path)) == ['20261120_020000', '20261121_020000', '20261122_020000']
    assert not (tmp_path / '20261120_020000' / 'PINNED').exists()


def test_pin_protects_set_and_is_idempotent(tmp_path, capsys):
    make_set(tmp_path, '20261120_020000', A)
    make_set(tmp_path, '20261121_020000', status=None)
    make_set(tmp_path, '20261122_020000', A)
    args = dict(keep_daily=0, prune=True, pin=['20261120_020000', '20261121_020000'])
    r = run(capsys, tmp_path, **args)
    assert r['changed'] and r['delete'] == []
    pin_file = tmp_path / '20261120_020000' / 'PINNED'
    assert 'pinned' in pin_file.read_text() and (tmp_path / '20261121_020000' / 'PINNED').exists()
    assert not run(capsys, tmp_path, **args)['changed']


def test_unpin_then_prune(tmp_path, capsys):
    make_set(tmp_path, '20261120_020000', A, pinned=True)
    make_set(tmp_path, '20261122_020000', A)
    r = run(capsys, tmp_path, keep_daily=0, prune=True, unpin=['20261120_020000'])
    assert r['changed'] and r['delete'] == ['20261120_020000']
    assert os.listdir(tmp_path) == ['20261122_020000']
    assert not run(capsys, tmp_path, unpin=['20261122_020000'])['changed']


@pytest.mark.parametrize('names', [['../x'], ['20261120_020000/..'], ['/etc'], ['20261120'], [''], [None]])
def test_bad_set_names_rejected_before_anything_changes(tmp_path, capsys, names):
    make_set(tmp_path, '20261120_020000', A)
    r = run(capsys, tmp_path, pin=['20261120_020000'] + names)
    assert r['failed'] and 'not a set name' in r['msg']
    assert not (tmp_path / '20261120_020000' / 'PINNED').exists()


def test_unknown_set_lists_available(tmp_path, capsys):
    make_set(tmp_path, '20261120_020000', A)
    make_set(tmp_path, '20261121_020000', status=None)
    r = run(capsys, tmp_path, unpin=['20261122_020000'])
    assert r['failed'] and '20261122_020000' in r['msg']
    assert 'available sets: 20261120_020000, 20261121_020000' in r['msg']


def test_pin_and_unpin_same_set_rejected(tmp_path, capsys):
    make_set(tmp_path, '20261120_020000', A)
    r = run(capsys, tmp_path, pin=['20261120_020000'], unpin=['20261120_020000'])
    assert r['failed'] and 'both' in r['msg']


def test_invalid_keep_within_fails_before_pinning(tmp_path, capsys):
    make_set(tmp_path, '20261120_020000', A)
    r = run(capsys, tmp_path, keep_within='7days', pin=['20261120_020000'])
    assert r['failed'] and 'keep_within' in r['msg']
    assert not (tmp_path / '20261120_020000' / 'PINNED').exists()
