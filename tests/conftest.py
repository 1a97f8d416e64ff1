"""Put the directory holding ``ansible_collections/`` on sys.path so tests can import n8n_ops.stack."""

import os
import sys


def _collections_parent():
    link_root = os.environ.get('COLLECTION_LINK_ROOT')
    if link_root and os.path.isdir(os.path.join(link_root, 'ansible_collections', 'n8n_ops', 'stack')):
        return link_root
    # Running from .../ansible_collections/n8n_ops/stack: three levels above the collection root.
    # pytest may resolve symlinks in __file__, so the shell's logical cwd is tried too.
    for candidate in (os.path.dirname(os.path.abspath(__file__)), os.environ.get('PWD', '')):
        parts = candidate.split(os.sep)
        if 'ansible_collections' in parts:
            return os.sep.join(parts[:len(parts) - 1 - parts[::-1].index('ansible_collections')]) or os.sep
    return None


_parent = _collections_parent()
if _parent and _parent not in sys.path:
    sys.path.insert(0, _parent)
