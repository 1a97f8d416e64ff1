import os

import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils import fileutil


def test_partial_path_is_hidden_sibling(tmp_path):
    assert fileutil.partial_path(str(tmp_path / 'n8n.dump')) == str(tmp_path / '.n8n.dump.partial')
    assert fileutil.is_partial_name('.n8n.dump.partial')
    assert not fileutil.is_partial_name('n8n.dump')


def test_sha256_file(tmp_path):
    f = tmp_path / 'a'
    f.write_bytes(b'abc')
    assert fileutil.sha256_file(str(f)) == 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'


def test_sha256_tree_changes_on_rename_and_content(tmp_path):
    d = tmp_path / 'd'
    (d / 'sub').mkdir(parents=True)
    (d / 'sub' / 'x').write_bytes(b'1')
    (d / 'y').write_bytes(b'2')
    first = fileutil.sha256_tree(str(d))
    assert fileutil.sha256_tree(str(d)) == first
    (d / 'y').rename(d / 'z')
    assert fileutil.sha256_tree(str(d)) != first
    assert fileutil.tree_size(str(d)) == 2


def test_walk_files_skips_symlinks(tmp_path):
    (tmp_path / 'real').write_bytes(b'1')
    os.symlink(tmp_path / 'real', tmp_path / 'link')
    assert [rel for rel, _abs in fileutil.walk_files(str(tmp_path))] == ['real']


def test_atomic_write_replaces_and_leaves_no_partial(tmp_path):
    dest = tmp_path / 'manifest.json'
    dest.write_bytes(b'old')
    fileutil.atomic_write_bytes(str(dest), b'new')
    assert dest.read_bytes() == b'new'
    assert os.listdir(tmp_path) == ['manifest.json']


def test_publish_refuses_existing_file(tmp_path):
    partial, dest = tmp_path / '.f.partial', tmp_path / 'f'
    partial.write_bytes(b'new')
    dest.write_bytes(b'old')
    with pytest.raises(FileExistsError):
        fileutil.publish(str(partial), str(dest))
    assert dest.read_bytes() == b'old'


def test_publish_file_moves(tmp_path):
    partial, dest = tmp_path / '.f.partial', tmp_path / 'f'
    partial.write_bytes(b'new')
    fileutil.publish(str(partial), str(dest))
    assert dest.read_bytes() == b'new' and not partial.exists()


def test_publish_refuses_existing_empty_dir(tmp_path):
    partial, dest = tmp_path / '.d.partial', tmp_path / 'd'
    partial.mkdir()
    dest.mkdir()
    with pytest.raises(FileExistsError):
        fileutil.publish(str(partial), str(dest))


def test_open_exclusive_mode_and_refuses_existing(tmp_path):
    path = tmp_path / 'x'
    with fileutil.open_exclusive(str(path)) as f:
        f.write(b'1')
        assert f.name == str(path)
    assert os.stat(path).st_mode & 0o777 == 0o600
    with pytest.raises(FileExistsError):
        fileutil.open_exclusive(str(path))


def test_remove_path_handles_missing_file_and_dir(tmp_path):
    (tmp_path / 'd').mkdir()
    (tmp_path / 'd' / 'f').write_bytes(b'1')
    fileutil.remove_path(str(tmp_path / 'd'))
    fileutil.remove_path(str(tmp_path / 'missing'))
    assert not (tmp_path / 'd').exists()
