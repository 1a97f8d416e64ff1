# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""PostgreSQL's SCRAM-SHA-256 password verifier (pure): the stored form of a password (pg_authid.rolpassword),
computed here so the password itself never travels in SQL, and whether a stored verifier is the one for a password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

SCRAM_ITERATIONS = 4096  # PostgreSQL's default (scram_iterations)


def _b64(raw):
    return base64.b64encode(raw).decode('ascii')


def scram_sha256_verifier(password, salt, iterations=SCRAM_ITERATIONS):
    """PostgreSQL's stored form of a SCRAM-SHA-256 password (pg_authid.rolpassword), computed here so the password
    itself never travels in SQL (a server logging statements would keep it). ASCII passwords only: PostgreSQL's
    SASLprep leaves them as they are.

    Not scramp (PyPI, RFC 7677): this runs in the controller's Python, and a collection installed from Galaxy brings
    no Python packages; RFC 5802's stored form is PBKDF2 and two HMACs from hashlib. The unit tests check it against
    a verifier PostgreSQL 17 stored and against scramp's make_auth_info."""
    if not isinstance(password, str) or not password or not all(32 <= ord(ch) < 127 for ch in password):
        raise ValueError('the password must be non-empty printable ASCII')
    salted = hashlib.pbkdf2_hmac('sha256', password.encode('ascii'), salt, iterations)
    stored_key = hashlib.sha256(hmac.new(salted, b'Client Key', hashlib.sha256).digest()).digest()
    server_key = hmac.new(salted, b'Server Key', hashlib.sha256).digest()
    return 'SCRAM-SHA-256$%d:%s$%s:%s' % (iterations, _b64(salt), _b64(stored_key), _b64(server_key))


def scram_verifier_matches(verifier, password):
    """True when a stored SCRAM-SHA-256 verifier is the one for password (any other form: False)."""
    match = re.match(r'^SCRAM-SHA-256\$([0-9]+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$',
                     verifier or '')
    if not match:
        return False
    try:
        expected = scram_sha256_verifier(password, base64.b64decode(match.group(2)), int(match.group(1)))
    except ValueError:
        return False
    return hmac.compare_digest(expected, verifier)
