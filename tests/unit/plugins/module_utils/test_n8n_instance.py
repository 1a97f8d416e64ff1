import hashlib

import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils.n8n_instance import instance_id, key_second_half


def test_even_length_hashes_second_half():
    assert key_second_half('abcdef') == 'def'
    assert instance_id('abcdef') == hashlib.sha256(b'def').hexdigest()


def test_odd_length_rounds_half_up_like_math_round():
    # Math.round(5 / 2) == 3, whereas Python's round(2.5) == 2
    assert key_second_half('abcde') == 'de'


def test_utf16_code_units_and_lone_surrogate():
    # '\U0001F600' is two UTF-16 code units: 'ab' + it has JS length 4 and slice(2) keeps the pair,
    # 'a' + it has length 3, Math.round(1.5) == 2 and slice(2) starts at the low surrogate
    assert key_second_half('ab\U0001F600') == '\U0001F600'
    key = 'a\U0001F600'
    assert key_second_half(key) == '\ufffd'
    assert instance_id(key) == hashlib.sha256('\ufffd'.encode('utf-8')).hexdigest()


def test_known_value():
    # sha256('c'): key 'abc' has length 3, Math.round(1.5) == 2
    assert instance_id('abc') == '2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6'


@pytest.mark.parametrize('key, expected', [
    # computed with Node: createHash('sha256').update(k.slice(Math.round(k.length / 2))).digest('hex')
    ('abcde', '959a45d44e6fcf58361ed004681556fe50129f2109e817dec098c00c9e5d2578'),
    ('a\U0001F600', '83d544ccc223c057d2bf80d3f2a32982c32c3c0db8e2674820da5064783fb097'),
    ('n8n-enc-key-\u00c4\u00d6\u20ac', 'ef055a2afdf8cc7a37d0a11b9931e1be9baf9f10f8f56b59f86601b198b1e323'),
    # InstanceSettings.derivedInstanceId of n8n-core 2.41.1 itself
    ('utest-Key-\u00c4\u00d6\u20ac-12345', '0a5c4821ffc81dfd9100dc3dab62d254db4477b3786ea4c2150dcba8dbb4f13c'),
])
def test_matches_node(key, expected):
    assert instance_id(key) == expected


@pytest.mark.parametrize('bad', ['', None, 42])
def test_rejects_empty_or_non_string(bad):
    with pytest.raises(ValueError):
        instance_id(bad)
