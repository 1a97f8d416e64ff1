# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""n8n's instance id, derived from the encryption key (pure).

n8n-core ``InstanceSettings.generateInstanceId``::

    createHash('sha256')
      .update(encryptionKey.slice(Math.round(encryptionKey.length / 2)))
      .digest('hex')

JavaScript string length and slice count UTF-16 code units, Math.round
rounds halves up, and hash.update(string) encodes UTF-8 (a lone surrogate
left by the slice becomes U+FFFD). All of that is reproduced here, so the id
matches for any key, not only ASCII ones. Checked against n8n-core 2.41.1.

Since n8n 2.x this derived value only seeds the id: at start-up n8n uses
N8N_INSTANCE_ID if set, else the active ``instance.id`` row of the
``deployment_key`` table, which it inserts from the derived value the first
time. The two agree unless N8N_INSTANCE_ID was set or the key was changed
after that row was seeded.
"""

from __future__ import annotations

import hashlib
import re

_LONE_SURROGATE = re.compile('[\ud800-\udfff]')


def key_second_half(encryption_key):
    """The part of the key n8n hashes: ``key.slice(Math.round(key.length / 2))``."""
    units = encryption_key.encode('utf-16-le', errors='surrogatepass')
    length = len(units) // 2
    start = (length + 1) // 2
    tail = units[start * 2:].decode('utf-16-le', errors='surrogatepass')
    return _LONE_SURROGATE.sub('\ufffd', tail)


def instance_id(encryption_key):
    """Return the 64-hex-digit instance id n8n derives from ``encryption_key``."""
    if not isinstance(encryption_key, str) or not encryption_key:
        raise ValueError('encryption_key must be a non-empty string')
    return hashlib.sha256(key_second_half(encryption_key).encode('utf-8')).hexdigest()
