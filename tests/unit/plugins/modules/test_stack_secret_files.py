"""stack_secret_files main() against real directories in tmp_path (fixed owners; image owners: integration)."""

import json
import os
import stat

import pytest

from ansible_collections.n8n_ops.stack.plugins.modules import stack_secret_files
from module_args import run_main

ME = [os.geteuid(), os.getegid()]
OTHER = [1000, 1000] if os.geteuid() == 0 else ME


def run(root, check_mode=False, **args):
    return run_main(stack_secret_files.main, dict(args, root=str(root), _ansible_check_mode=check_mode))


def layout(secret='s3cr$t #1'):
    return dict(
        owners=[{'name': 'svc', 'uid': OTHER[0], 'gid': OTHER[1]}],
        directories=[{'path': 'secrets'}, {'path': 'secrets/svc', 'owner': 'svc'}],
        files=[{'path': '.env', 'mode': '0600', 'content': 'KEY=%r\n' % secret},
               {'path': 'secrets/svc/password', 'owner': 'svc', 'content': secret}],
    )


def mode_owner(path):
    st = os.lstat(path)
    return stat.S_IMODE(st.st_mode), [st.st_uid, st.st_gid]


def test_writes_every_file_with_its_mode_and_owner_then_changes_nothing(tmp_path):
    first = run(tmp_path, **layout())
    assert first['changed'] is True
    assert first['changed_paths'] == ['secrets', 'secrets/svc', '.env', 'secrets/svc/password']
    assert (tmp_path / 'secrets/svc/password').read_text() == 's3cr$t #1'
    assert mode_owner(tmp_path / 'secrets/svc/password') == (0o400, OTHER)
    assert mode_owner(tmp_path / 'secrets/svc') == (0o700, OTHER)
    assert mode_owner(tmp_path / 'secrets') == (0o700, ME)
    assert mode_owner(tmp_path / '.env') == (0o600, ME)
    assert first['commands'] == []  # fixed owners need no docker
    second = run(tmp_path, **layout())
    assert second['changed'] is False and second['changed_paths'] == []


def test_never_returns_a_secret(tmp_path):
    result = run(tmp_path, **layout('do-not-print-me'))
    assert 'do-not-print-me' not in json.dumps(result)


def test_a_new_value_replaces_the_file_atomically_and_leaves_no_temporary_file(tmp_path):
    run(tmp_path, **layout('old'))
    inode = os.stat(tmp_path / 'secrets/svc/password').st_ino
    result = run(tmp_path, **layout('new'))
    assert result['changed_paths'] == ['.env', 'secrets/svc/password']
    assert (tmp_path / 'secrets/svc/password').read_text() == 'new'
    assert os.stat(tmp_path / 'secrets/svc/password').st_ino != inode  # renamed over, not rewritten in place
    assert sorted(os.listdir(tmp_path / 'secrets/svc')) == ['password']


def test_a_loosened_mode_is_put_back(tmp_path):
    run(tmp_path, **layout())
    os.chmod(tmp_path / 'secrets/svc/password', 0o644)
    os.chmod(tmp_path / 'secrets/svc', 0o755)
    result = run(tmp_path, **layout())
    assert result['changed_paths'] == ['secrets/svc', 'secrets/svc/password']
    assert mode_owner(tmp_path / 'secrets/svc/password')[0] == 0o400
    assert mode_owner(tmp_path / 'secrets/svc')[0] == 0o700


def test_check_mode_reports_and_writes_nothing(tmp_path):
    result = run(tmp_path, check_mode=True, **layout())
    assert result['changed'] is True and 'secrets/svc/password' in result['changed_paths']
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('bad, message', [
    ({'files': [{'path': '../escape', 'content': 'x'}]}, 'must be relative and stay inside'),
    ({'files': [{'path': '/etc/passwd', 'content': 'x'}]}, 'must be relative and stay inside'),
    ({'files': [{'path': 'a', 'content': 'x', 'owner': 'nobody'}]}, "names owner 'nobody', which is not in owners"),
    ({'files': [{'path': 'a', 'content': 'x', 'mode': 'rw'}]}, 'is not an octal mode'),
    ({'owners': [{'name': 'x', 'uid': 1}]}, 'needs either uid and gid, or image and user'),
    ({'owners': [{'name': 'x', 'uid': 1, 'gid': 1, 'image': 'i', 'user': 'u'}]}, 'needs either uid and gid'),
])
def test_bad_input_fails_before_any_change(tmp_path, bad, message):
    result = run(tmp_path, **bad)
    assert result['failed'] is True and message in result['msg']
    assert os.listdir(tmp_path) == []


def test_a_missing_root_fails(tmp_path):
    result = run(tmp_path / 'absent', **layout())
    assert result['failed'] is True and 'is not a directory' in result['msg']


def test_a_file_in_a_missing_directory_fails_before_any_change(tmp_path):
    (tmp_path / '.env').write_text('old')
    result = run(tmp_path, files=[{'path': '.env', 'content': 'new'}, {'path': 'nodir/x', 'content': 'secret'}])
    assert result['failed'] is True and 'the directory of nodir/x does not exist' in result['msg']
    assert (tmp_path / '.env').read_text() == 'old'


def test_a_file_where_a_directory_belongs_fails(tmp_path):
    (tmp_path / 'secrets').write_text('not a dir')
    result = run(tmp_path, **layout())
    assert result['failed'] is True and 'is not a directory' in result['msg']
