"""Filters used by the pg_tuning role; the logic lives in module_utils/pg_tuning.py."""

from ansible.errors import AnsibleFilterError
from ansible_collections.n8n_ops.stack.plugins.module_utils import pg_tuning


def _plan(inputs):
    """{'settings', 'computed', 'budget', 'errors'}: errors (every bad input or an unsafe plan, with the numbers)
    instead of an exception, so the role can refuse with one clear message before any change."""
    try:
        result = pg_tuning.plan(
            memory=inputs['memory'], cpus=inputs['cpus'], profile=inputs['profile'], storage=inputs['storage'],
            pg_major=inputs['pg_major'], max_connections=inputs.get('max_connections') or None,
            workers=inputs['workers'], concurrency=inputs['concurrency'], overrides=inputs.get('overrides') or {},
            known=inputs.get('known'), check_budget=inputs.get('check_budget', True),
            allow_synchronous_commit=inputs.get('allow_synchronous_commit', False),
            host_memory=inputs.get('host_memory'))
    except ValueError as exc:
        return dict(errors=str(exc).split('; '))
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError('pg_tuning_plan: incomplete inputs (%s)' % exc, orig_exc=exc)
    result['errors'] = []
    return result


def _inputs(probe, memory='', cpus=0):
    """The plan's resource inputs from the role's probe (docker inspect, nproc, worker commands)."""
    mem, ncpu, workers, concurrency = pg_tuning.container_resources(
        probe['host_config'], probe['visible_cpus'], probe['worker_cmds'], memory, cpus)
    return dict(memory=mem, cpus=ncpu, workers=workers, concurrency=concurrency)


def _conf_settings(settings, base=None):
    return pg_tuning.conf_settings(base, settings)


class FilterModule:
    def filters(self):
        return {
            "pg_tuning_plan": _plan,
            "pg_tuning_inputs": _inputs,
            "pg_tuning_conf_settings": _conf_settings,
            "pg_tuning_shm_size": pg_tuning.shm_size,
            "pg_tuning_adopt_base": pg_tuning.adopt_base,
            "pg_tuning_parse_memory": pg_tuning.parse_memory,
        }
