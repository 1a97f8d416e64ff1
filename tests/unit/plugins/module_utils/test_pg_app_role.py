"""module_utils/pg_app_role.py: n8n's own PostgreSQL role - its derived password, its name check and its plan."""

import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils.pg_app_role import app_role_password, app_role_plan
from ansible_collections.n8n_ops.stack.plugins.module_utils.pg_scram import scram_sha256_verifier, scram_verifier_matches

SALT = b'0123456789abcdef'


def test_app_role_password_is_derived_stable_and_per_role():
    one = app_role_password('s3cret $ # x', 'n8n_app')
    assert one == app_role_password('s3cret $ # x', 'n8n_app')
    assert one != app_role_password('s3cret $ # x', 'n8n_app2')
    assert one != app_role_password('s3cret $ # y', 'n8n_app')
    assert len(one) == 43 and 's3cret' not in one
    assert scram_verifier_matches(scram_sha256_verifier(one, SALT), one)


def test_app_role_password_needs_the_superuser_password():
    with pytest.raises(ValueError, match='no PostgreSQL password'):
        app_role_password('', 'n8n_app')


def test_app_role_plan_creates_a_missing_role_with_a_verifier():
    plan = app_role_plan('n8n_app', 'n8n', None, 'pw-1', SALT)
    assert plan['action'] == 'create' and scram_verifier_matches(plan['verifier'], 'pw-1')


def test_app_role_plan_leaves_a_right_role_alone():
    current = {'super': False, 'login': True, 'verifier': scram_sha256_verifier('pw-1', SALT)}
    assert app_role_plan('n8n_app', 'n8n', current, 'pw-1', SALT) == {'action': 'none', 'reasons': [], 'verifier': ''}


def test_app_role_plan_demotes_a_superuser_without_touching_a_right_password():
    current = {'super': True, 'login': True, 'verifier': scram_sha256_verifier('pw-1', SALT)}
    plan = app_role_plan('n8n_app', 'n8n', current, 'pw-1', SALT)
    assert plan['action'] == 'alter' and plan['reasons'] == ['n8n_app is a superuser'] and plan['verifier'] == ''


@pytest.mark.parametrize('verifier', ['-', 'md5' + '0' * 32, scram_sha256_verifier('old', SALT)])
def test_app_role_plan_sets_the_derived_password_when_the_stored_one_differs(verifier):
    current = {'super': False, 'login': False, 'verifier': verifier}
    plan = app_role_plan('n8n_app', 'n8n', current, 'pw-1', SALT)
    assert plan['action'] == 'alter' and len(plan['reasons']) == 2
    assert scram_verifier_matches(plan['verifier'], 'pw-1')


@pytest.mark.parametrize('role, message', [
    ('n8n', 'must not be the superuser'),
    ('N8n_app', 'lower case'),
    ('app-role', 'lower case'),
    ('a' * 64, 'lower case'),
    ('', 'lower case'),
])
def test_app_role_plan_refuses_names_it_cannot_use(role, message):
    with pytest.raises(ValueError, match=message):
        app_role_plan(role, 'n8n', None, 'pw-1', SALT)
