"""module_utils/pg_scram.py: the SCRAM-SHA-256 verifier against PostgreSQL's and scramp's, and its matching."""

import base64

import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils.pg_scram import scram_sha256_verifier, scram_verifier_matches

# pg_authid.rolpassword of `CREATE ROLE t1 PASSWORD 'pencil'` in PostgreSQL 17.12 (password_encryption scram-sha-256)
PG_VERIFIER = ('SCRAM-SHA-256$4096:t0etDF044faY/5YKVlRR/A==$pRdi+ii5ru7ZijZcFM2VP341fQ0sd8i6ZYN+ZQ+fCBc='
               ':Jz8YdUnhEXUEPE6OkZTWs41zIxaWhNuayjkhjyH3mkY=')
SALT = b'0123456789abcdef'


def test_scram_verifier_is_what_postgresql_stores():
    assert scram_sha256_verifier('pencil', base64.b64decode('t0etDF044faY/5YKVlRR/A==')) == PG_VERIFIER


@pytest.mark.parametrize('password', ['pencil', 'a $b #c d', 'x' * 64])
def test_scram_verifier_agrees_with_scramp(password):
    scramp = pytest.importorskip('scramp')
    salt = bytes(range(16))
    salt_out, stored_key, server_key, iterations = scramp.ScramMechanism('SCRAM-SHA-256').make_auth_info(
        password, iteration_count=4096, salt=salt)
    assert scram_sha256_verifier(password, salt) == 'SCRAM-SHA-256$%d:%s$%s:%s' % (
        iterations, base64.b64encode(salt_out).decode(), base64.b64encode(stored_key).decode(),
        base64.b64encode(server_key).decode())


def test_scram_verifier_matches_postgresql_for_a_password_with_spaces_dollar_and_hash():
    stored = ('SCRAM-SHA-256$4096:obj7Wmdpkcx9/Hi6wESrAg==$WqkhxoVjtZ8xLKOy4q0eZy5p9Vi7XRxbVfWZpBGQJzM='
              ':I3ws0i8B+qgH/fd8BLUK/5O1WdoUuqs3fHC0NxyB5bc=')  # CREATE ROLE t3 PASSWORD 'a $b #c d'
    assert scram_verifier_matches(stored, 'a $b #c d')


@pytest.mark.parametrize('verifier, password, expected', [
    (PG_VERIFIER, 'pencil', True),
    (PG_VERIFIER, 'pencil ', False),
    (PG_VERIFIER, 'Pencil', False),
    ('md5' + '0' * 32, 'pencil', False),
    ('', 'pencil', False),
    (None, 'pencil', False),
    (PG_VERIFIER.replace('4096', '4097'), 'pencil', False),
])
def test_scram_verifier_matches_only_its_password(verifier, password, expected):
    assert scram_verifier_matches(verifier, password) is expected


@pytest.mark.parametrize('password', ['', 'tab\tword', 'pässword', None])
def test_scram_verifier_refuses_what_postgresql_would_saslprep(password):
    with pytest.raises(ValueError):
        scram_sha256_verifier(password, SALT)
