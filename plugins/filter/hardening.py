"""Filters of the hardening role; the logic lives in module_utils/hardening.py."""

from ansible.errors import AnsibleFilterError
from ansible_collections.n8n_ops.stack.plugins.module_utils import hardening


def _lint(config):
    try:
        return hardening.lint_compose(config)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError('hardening_lint: not the output of docker compose config --format json (%s)' % exc,
                                 orig_exc=exc)


def _score(results):
    try:
        return hardening.score(results)
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError('hardening_audit_score: expected the results of stack_audit (%s)' % exc, orig_exc=exc)


def _daemon_log_config(current_text, max_size, max_file):
    try:
        config, note = hardening.daemon_log_config(current_text, max_size, max_file)
    except ValueError as exc:
        raise AnsibleFilterError('hardening_daemon_log_config: %s' % exc, orig_exc=exc)
    return {'config': config, 'note': note}


class FilterModule:
    def filters(self):
        return {
            "hardening_lint": _lint,
            "hardening_audit_score": _score,
            "hardening_daemon_log_config": _daemon_log_config,
        }
