"""Filters for worker scaling; the logic lives in module_utils/worker_scaling.py."""

from ansible.errors import AnsibleFilterError
from ansible_collections.n8n_ops.stack.plugins.module_utils import worker_scaling


def _number(value, kind):
    """Numbers templated into strings ("3", "0.8") back to numbers; anything else unchanged, so the checks name it."""
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            return value
    return value


def _plan(inputs):
    """{'errors', 'memory', 'connections'}: every bad input, then the memory and connection budgets with their
    messages, so a role can refuse with one clear message before any change."""
    inputs = dict(inputs)
    for key in ('replicas', 'concurrency', 'graceful_timeout', 'max_connections', 'min_replicas', 'max_replicas',
                'pool_size'):
        if key in inputs:
            inputs[key] = _number(inputs[key], int)
    for key in ('cpus', 'heap_share', 'share'):
        if key in inputs:
            inputs[key] = _number(inputs[key], float)
    try:
        errors = worker_scaling.input_errors(inputs)
        if errors:
            return dict(errors=errors)
        found = inputs['limits']
        if found.get('errors'):
            return dict(errors=found['errors'])
        limits = dict(found['limits'], worker=inputs['memory'])
        memory = worker_scaling.memory_budget(limits, inputs['replicas'], inputs['host_memory'],
                                              inputs.get('share', worker_scaling.BUDGET_SHARE))
        # for the most workers this plan may run: the count asked for, or the autoscaler's ceiling when higher
        connections = worker_scaling.connection_budget(max(inputs['replicas'], inputs.get('max_replicas') or 0),
                                                       inputs.get('pool_size', worker_scaling.pg_tuning.DB_POOL_SIZE),
                                                       inputs['max_connections'])
    except KeyError as exc:
        raise AnsibleFilterError('worker_scaling_plan: incomplete inputs (missing %s)' % exc, orig_exc=exc)
    except ValueError as exc:
        return dict(errors=[str(exc)])
    errors = [b['message'] for b in (memory, connections) if not b['ok']]
    return dict(errors=errors, memory=memory, connections=connections,
                heap_mb=worker_scaling.node_heap_mb(inputs['memory'], inputs.get('heap_share', 0.75)))


def _decide(queue, replicas, concurrency, min_replicas, max_replicas, since_change_s=None, cooldown_s=300):
    since = None if since_change_s in (None, '') else int(float(since_change_s))
    return worker_scaling.decide(int(queue['waiting']), int(queue['active']), int(replicas), int(concurrency),
                                 int(min_replicas), int(max_replicas), since, int(cooldown_s))


def _max(found, memory, host_memory, share=worker_scaling.BUDGET_SHARE, wanted=0):
    """The autoscaler's ceiling: `wanted` (0: none) capped by what the memory budget allows. found: the
    worker_scaling_limits result."""
    if found.get('errors'):
        raise AnsibleFilterError('; '.join(found['errors']))
    host = int(host_memory) if str(host_memory).isdigit() else host_memory
    budget = worker_scaling.max_replicas(dict(found['limits'], worker=memory), host, float(share))
    return min(int(wanted), budget) if int(wanted) > 0 else budget


class FilterModule:
    def filters(self):
        return {
            "worker_scaling_plan": _plan,
            "worker_scaling_decide": _decide,
            "worker_scaling_limits": worker_scaling.stack_limits,
            "worker_scaling_max": _max,
        }
