"""scale_workers.yml without -e must not change what the stack deployed: worker_scaling's defaults are the stack's
(count, concurrency, memory limit) and add no CPU limit the stack does not set."""
import pathlib

import yaml
from ansible.template import Templar, trust_as_template

ROOT = pathlib.Path(__file__).resolve().parents[2]


def defaults(role):
    return yaml.safe_load((ROOT / 'roles' / role / 'defaults' / 'main.yml').read_text())


def resolved(names, extra):
    ws = defaults('worker_scaling')
    templar = Templar(loader=None, variables=dict(ws, **extra))
    return {name: templar.template(trust_as_template(ws[name])) for name in names}


def test_worker_defaults_are_the_stacks():
    stack = defaults('stack')
    got = resolved(['worker_scaling_replicas', 'worker_scaling_concurrency', 'worker_scaling_memory'], stack)
    want = [str(stack['stack_worker_replicas']), str(stack['stack_worker_concurrency']),
            stack['stack_memory_limits']['worker']]
    assert [str(v) for v in got.values()] == want
    assert float(defaults('worker_scaling')['worker_scaling_cpus']) == 0


def test_an_inventory_value_of_the_stack_is_followed():
    got = resolved(['worker_scaling_replicas', 'worker_scaling_memory'],
                   dict(stack_worker_replicas=4, stack_memory_limits=dict(worker='1g')))
    assert [str(v) for v in got.values()] == ['4', '1g']


def test_without_the_stacks_variables_the_stacks_defaults_apply():
    stack = defaults('stack')
    got = resolved(['worker_scaling_replicas', 'worker_scaling_concurrency', 'worker_scaling_memory'], {})
    want = [str(stack['stack_worker_replicas']), str(stack['stack_worker_concurrency']),
            stack['stack_memory_limits']['worker']]
    assert [str(v) for v in got.values()] == want
