from ansible_collections.n8n_ops.stack.plugins.filter import worker_scaling as f

GOOD = dict(replicas=5, concurrency=10, graceful_timeout=30, cpus=None, memory="512m", extra_env={})

FILTERS = f.FilterModule().filters()
PLAN = dict(GOOD, limits={"postgres": "1g", "redis": "256m", "main": "1g"}, host_memory="8g", max_connections=80)


def test_plan_filter_passes_a_plan_within_both_budgets():
    p = FILTERS["worker_scaling_plan"](PLAN)
    assert p["errors"] == [] and p["memory"]["ok"] and p["connections"]["needed"] == 70


def test_plan_filter_refuses_with_both_budgets_messages():
    p = FILTERS["worker_scaling_plan"](dict(PLAN, replicas=12))
    assert len(p["errors"]) == 2 and "12 workers x 512MB" in p["errors"][0] and "140 connections above" in p["errors"][1]


def test_plan_filter_reports_input_errors_first():
    assert FILTERS["worker_scaling_plan"](dict(PLAN, replicas="five"))["errors"][0].startswith("worker_scaling_replicas")


def test_decide_filter_reads_the_queue_numbers():
    assert FILTERS["worker_scaling_decide"]({"waiting": "12", "active": "20"}, 2, 10, 1, 5)["target"] == 4
