"""patch_module_args for module unit tests, on every ansible-core the collection supports."""

import json
from contextlib import contextmanager
from unittest import mock

__all__ = ["patch_module_args"]

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    from ansible.module_utils import basic

    @contextmanager
    def patch_module_args(args):
        with mock.patch.object(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': args}).encode()):
            yield
