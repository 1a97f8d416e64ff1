"""Filters for the stack's health check; the logic lives in module_utils/health.py."""

from ansible.errors import AnsibleFilterError
from ansible_collections.n8n_ops.stack.plugins.module_utils import health


def _evaluate(facts, now, thresholds=None):
    try:
        return health.evaluate(facts, float(now), thresholds)
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError('health_evaluate: incomplete or malformed facts (%s)' % exc, orig_exc=exc)


def _transitions(checks, previous=None, confirm=1):
    state, alerts = health.transitions(previous or {}, checks, int(confirm))
    return dict(state=state, alerts=alerts)


class FilterModule:
    def filters(self):
        return {
            "health_evaluate": _evaluate,
            "health_transitions": _transitions,
            "health_textfile": health.textfile,
            "health_table": health.table,
        }
