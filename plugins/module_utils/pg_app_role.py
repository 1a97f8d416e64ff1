# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""n8n's own PostgreSQL login role (pure): a least-privilege role instead of the superuser - its name check, its
password (derived from the stack's PostgreSQL password) and the plan that creates or corrects it.

No I/O here: the hardening role reads the role from pg_authid and runs the plan. The password reaches PostgreSQL
only as a SCRAM-SHA-256 verifier (pg_scram).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from ansible_collections.n8n_ops.stack.plugins.module_utils.pg_scram import scram_sha256_verifier, scram_verifier_matches

APP_ROLE_RE = re.compile(r'^[a-z_][a-z0-9_]{0,62}$')


def app_role_password(superuser_password, role):
    """The app role's password, derived from the stack's PostgreSQL password (HMAC-SHA256, keyed by it).

    Derived, not generated: .env (backed up with every set) stays the one place a secret is kept, so a restored
    .env gives the same app password; knowing the app password does not reveal the superuser's.
    """
    if not superuser_password:
        raise ValueError('the stack has no PostgreSQL password to derive the app role password from')
    digest = hmac.new(str(superuser_password).encode('utf-8'), ('n8n_ops app role ' + role).encode('utf-8'),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode('ascii').rstrip('=')


def app_role_name_problem(role, superuser):
    """Why role cannot be n8n's login role (a name PostgreSQL would need quoted, or the superuser's), else None."""
    if not APP_ROLE_RE.match(role or ''):
        return 'the app role name %r must be lower case letters, digits and _ (at most 63)' % (role,)
    if role == superuser:
        return 'the app role must not be the superuser %s: name another role' % superuser
    return None


def app_role_plan(role, superuser, current, password, salt):
    """What the app role needs: current is None (no such role) or {'super': bool, 'login': bool, 'verifier': str}.

    Returns {'action': 'create' | 'alter' | 'none', 'reasons': [...], 'verifier': str or ''}; the verifier (salted
    with salt) only when the password must be set. Raises ValueError for a role name PostgreSQL would need quoted,
    or the superuser's own name.
    """
    problem = app_role_name_problem(role, superuser)
    if problem:
        raise ValueError(problem)
    if current is None:
        return {'action': 'create', 'reasons': ['no role %s yet' % role],
                'verifier': scram_sha256_verifier(password, salt)}
    reasons = []
    if current.get('super'):
        reasons.append('%s is a superuser' % role)
    if not current.get('login'):
        reasons.append('%s cannot log in' % role)
    password_ok = scram_verifier_matches(current.get('verifier'), password)
    if not password_ok:
        reasons.append('the password of %s is not the derived one' % role)
    return {'action': 'alter' if reasons else 'none', 'reasons': reasons,
            'verifier': '' if password_ok else scram_sha256_verifier(password, salt)}
