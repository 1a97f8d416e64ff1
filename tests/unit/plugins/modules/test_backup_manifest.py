import pytest

from ansible_collections.n8n_ops.stack.plugins.modules import backup_manifest


@pytest.mark.parametrize('key', ['password', 'db_password', 'REDIS_PASSWORD', 'encryption_key', 'Encryption_Key'])
def test_secret_keys_rejected(key):
    assert 'secret' in backup_manifest.check_metadata({key: 'x'})


@pytest.mark.parametrize('key', ['files', 'status', 'set', 'created', 'manifest_version'])
def test_reserved_keys_rejected(key):
    assert 'reserved' in backup_manifest.check_metadata({key: 'x'})


def test_normal_metadata_accepted():
    assert backup_manifest.check_metadata({'instance_id': 'a', 'n8n_version': '2.41.1', 'encryption_key_id': 'k1'}) is None


def test_compare_reports_each_kind():
    expected = {'a': {'sha256': '1', 'bytes': 1}, 'b': {'sha256': '2', 'bytes': 1}, 'c': {'sha256': '3', 'bytes': 1}}
    actual = {'a': {'sha256': '1', 'bytes': 1}, 'b': {'sha256': 'X', 'bytes': 1}, 'd': {'sha256': '4', 'bytes': 1}}
    assert backup_manifest.compare(expected, actual) == (['b'], ['c'], ['d'])


def test_scan_excludes_manifest(tmp_path):
    (tmp_path / 'manifest.json').write_text('{}')
    (tmp_path / 'sub').mkdir()
    (tmp_path / 'sub' / 'f').write_bytes(b'abc')
    files = backup_manifest.scan(str(tmp_path))
    assert list(files) == ['sub/f'] and files['sub/f']['bytes'] == 3
