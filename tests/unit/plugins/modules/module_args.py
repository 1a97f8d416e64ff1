"""patch_module_args for module unit tests, on every ansible-core the collection supports."""

import contextlib
import io
import json
from contextlib import contextmanager
from unittest import mock

import pytest

from ansible.module_utils.common import warnings as module_warnings

try:
    from ansible.module_utils import _internal as module_internals
except ImportError:  # ansible-core < 2.19
    module_internals = None

__all__ = ["patch_module_args", "run_main"]

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    from ansible.module_utils import basic

    @contextmanager
    def patch_module_args(args):
        with mock.patch.object(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': args}).encode()):
            yield


def run_main(main, args):
    """Run a module's main() as in a module process and return its JSON result."""
    out = io.StringIO()
    module_warnings._global_warnings.clear()
    on_target = (mock.patch.object(module_internals, 'is_controller', False)
                 if hasattr(module_internals, 'is_controller') else contextlib.nullcontext())
    with on_target, patch_module_args(args), contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main()
    return json.loads(out.getvalue())
