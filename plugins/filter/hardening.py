"""Filters of the hardening role; the logic lives in module_utils: compose_lint.py, cis_controls.py,
docker_log_rotation.py, pg_app_role.py and pg_scram.py."""

import os

from ansible.errors import AnsibleFilterError
from ansible_collections.n8n_ops.stack.plugins.module_utils import (
    cis_controls, compose_lint, docker_log_rotation, pg_app_role, pg_scram,
)


def _lint(config):
    try:
        return compose_lint.lint_compose(config)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError('hardening_lint: not the output of docker compose config --format json (%s)' % exc,
                                 orig_exc=exc)


def _score(results):
    try:
        return cis_controls.score(results)
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError('hardening_audit_score: expected the results of stack_audit (%s)' % exc, orig_exc=exc)


def _daemon_log_config(current_text, max_size, max_file):
    try:
        config, note = docker_log_rotation.daemon_log_config(current_text, max_size, max_file)
    except ValueError as exc:
        raise AnsibleFilterError('hardening_daemon_log_config: %s' % exc, orig_exc=exc)
    return {'config': config, 'note': note}


def _app_role_plan(current_line, role, superuser, superuser_password):
    """psql's line for the role ('' when missing: "t t SCRAM-..." = rolsuper, rolcanlogin, rolpassword) -> the plan,
    with the derived password (for n8n's secret file; keep the result under no_log)."""
    fields = (current_line or '').split()
    if fields and len(fields) != 3:
        raise AnsibleFilterError('hardening_app_role_plan: unexpected pg_authid row (%d fields)' % len(fields))
    current = {'super': fields[0] == 't', 'login': fields[1] == 't', 'verifier': fields[2]} if fields else None
    try:
        password = pg_app_role.app_role_password(superuser_password, role)
        plan = pg_app_role.app_role_plan(role, superuser, current, password, os.urandom(16))
    except ValueError as exc:
        raise AnsibleFilterError('hardening_app_role_plan: %s' % exc, orig_exc=exc)
    return dict(plan, password=password)


class FilterModule:
    def filters(self):
        return {
            "hardening_lint": _lint,
            "hardening_audit_score": _score,
            "hardening_settings_problems": cis_controls.settings_problems,
            "hardening_daemon_log_config": _daemon_log_config,
            "hardening_app_role_plan": _app_role_plan,
            "hardening_app_role_name_problem": pg_app_role.app_role_name_problem,
            "hardening_scram_matches": pg_scram.scram_verifier_matches,
        }
