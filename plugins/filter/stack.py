"""Filters used by the stack role; the logic lives in module_utils/stack_config.py."""

from ansible.errors import AnsibleFilterError
from ansible_collections.n8n_ops.stack.plugins.module_utils import queue_check, stack_config


def _resolve_secrets(existing_env_text, provided, volumes=None, env_path=".env"):
    try:
        return stack_config.resolve_secrets(stack_config.parse_dotenv(existing_env_text), provided,
                                            volumes=volumes, env_path=env_path)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def _secret_problems(existing_env_text, provided, volumes=None, env_path=".env"):
    """Why the secrets cannot be resolved (messages name variables and volumes, never values); [] when they can."""
    try:
        stack_config.resolve_secrets(stack_config.parse_dotenv(existing_env_text), provided, generate=lambda: "x",
                                     volumes=volumes, env_path=env_path)
    except ValueError as exc:
        return [str(exc)]
    return []


def _dotenv_quote(value, name="value"):
    try:
        return stack_config.dotenv_quote(value, name)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def _bull_counts(lines):
    try:
        return queue_check.bull_counts(lines)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def _distribution(ran, ids, state_lines, rss_lines, statuses, require_all_busy=True, expected_workers=None):
    """Who ran a burst: worker log mapping + 'state'/'rss' lines from check_queue -> queue_check.distribution()."""
    try:
        return queue_check.distribution(ran, ids, queue_check.worker_states(state_lines, rss_lines), statuses,
                                        require_all_busy, expected_workers)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {
            "dotenv_parse": stack_config.parse_dotenv,
            "stack_resolve_secrets": _resolve_secrets,
            "stack_input_errors": stack_config.input_errors,
            "stack_dotenv_quote": _dotenv_quote,
            "stack_secret_problems": _secret_problems,
            "stack_redis_quote": stack_config.redis_quote,
            "stack_compose_files": stack_config.compose_files,
            "worker_executions": stack_config.worker_executions,
            "bull_counts": _bull_counts,
            "bull_query": queue_check.bull_query,
            "queue_drained": queue_check.drained,
            "queue_distribution": _distribution,
            "queue_burst_size": queue_check.burst_size,
            "queue_summary": queue_check.summary,
            "worker_concurrency": queue_check.worker_concurrency,
            "queue_job_seconds": queue_check.job_seconds,
        }
