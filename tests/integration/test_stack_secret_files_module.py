"""stack_secret_files with owners read from the real local images: the uid lookup, its cache, idempotence."""

import json
import os
import subprocess

import pytest

pytestmark = pytest.mark.docker

IMAGES = {'postgres': 'local/postgres:17', 'redis': 'local/redis:7'}


def uid_gid_in(image, user):
    out = subprocess.run(['docker', 'run', '--rm', '--entrypoint=sh', image, '-c', 'id -u %s; id -g %s' % (user, user)],
                         capture_output=True, text=True, check=True).stdout.split()
    return [int(out[0]), int(out[1])]


def args(root, secret):
    return {
        'root': str(root),
        'owners': [{'name': name, 'image': image, 'user': name} for name, image in IMAGES.items()],
        'directories': [{'path': 'secrets'}] + [{'path': 'secrets/' + name, 'owner': name} for name in IMAGES],
        'files': [{'path': 'secrets/%s/password' % name, 'owner': name, 'content': secret} for name in IMAGES],
    }


def test_owners_come_from_the_images_once_then_from_the_cache(run_module, tmp_path):
    expected = {name: uid_gid_in(image, name) for name, image in IMAGES.items()}
    assert expected['postgres'] != [0, 0]

    (tmp_path / 'secrets').mkdir(mode=0o700)
    (tmp_path / 'secrets/.owners.json').write_text('{"sha256:0ld": [1, 1]}')  # the format before this module
    first = run_module('stack_secret_files', args(tmp_path, 'pw $1 #x'))
    assert first.get('failed') is not True, first
    assert first['owners'] == expected
    assert sum(cmd[:2] == ['docker', 'run'] for cmd in first['commands']) == 2
    for name in IMAGES:
        st = os.stat(tmp_path / 'secrets' / name / 'password')
        assert [st.st_uid, st.st_gid] == expected[name] and st.st_mode & 0o777 == 0o400
        assert (tmp_path / 'secrets' / name / 'password').read_text() == 'pw $1 #x'
    cache = json.loads((tmp_path / 'secrets/.owners.json').read_text())
    assert sorted(cache.values()) == sorted(expected.values())  # the old entry is gone
    assert all(key.endswith(':postgres') or key.endswith(':redis') for key in cache)
    assert os.stat(tmp_path / 'secrets/.owners.json').st_mode & 0o777 == 0o600

    second = run_module('stack_secret_files', args(tmp_path, 'pw $1 #x'))
    assert second['changed'] is False
    assert second['owners'] == expected
    assert [cmd[:3] for cmd in second['commands']] == [['docker', 'image', 'inspect']]  # no docker run


def test_an_unknown_user_fails_with_the_image_named(run_module, tmp_path):
    bad = args(tmp_path, 'x')
    bad['owners'][0]['user'] = 'nosuchuser'
    result = run_module('stack_secret_files', bad)
    assert result['failed'] is True
    assert 'nosuchuser' in result['msg'] and IMAGES['postgres'] in result['msg']
    assert not (tmp_path / 'secrets').exists()
