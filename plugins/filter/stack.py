"""Filters used by the stack role; the logic lives in module_utils/stack_config.py."""

from ansible.errors import AnsibleFilterError
from ansible_collections.n8n_ops.stack.plugins.module_utils import stack_config


def _resolve_secrets(existing_env_text, provided):
    try:
        return stack_config.resolve_secrets(stack_config.parse_dotenv(existing_env_text), provided)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {
            "dotenv_parse": stack_config.parse_dotenv,
            "stack_resolve_secrets": _resolve_secrets,
            "stack_input_errors": stack_config.input_errors,
            "stack_compose_files": stack_config.compose_files,
            "worker_executions": stack_config.worker_executions,
        }
