from ansible_collections.n8n_ops.stack.plugins.filter import worker_scaling as f

GOOD = dict(replicas=5, concurrency=10, graceful_timeout=30, cpus=None, memory="512m", extra_env={})

FILTERS = f.FilterModule().filters()
PLAN = dict(GOOD, limits={"limits": {"postgres": "1g", "redis": "256m", "main": "1g"}, "errors": []}, host_memory="8g", max_connections=40)


def test_plan_filter_passes_a_plan_within_both_budgets():
    p = FILTERS["worker_scaling_plan"](PLAN)
    assert p["errors"] == [] and p["memory"]["ok"] and p["connections"]["needed"] == (5 + 1) * 2 + 20


def test_plan_filter_refuses_with_both_budgets_messages():
    p = FILTERS["worker_scaling_plan"](dict(PLAN, replicas=12))
    assert len(p["errors"]) == 2 and "12 workers x 512MB" in p["errors"][0] and "46 connections above" in p["errors"][1]
    assert "-e pg_tuning_workers=12 (or -e pg_tuning_max_connections=46)" in p["errors"][1]


def test_plan_filter_budgets_connections_for_the_autoscalers_ceiling():
    p = FILTERS["worker_scaling_plan"](dict(PLAN, replicas=2, max_replicas=12))
    assert p["connections"]["needed"] == 46 and not p["connections"]["ok"]


def test_plan_filter_counts_the_pool_size():
    assert FILTERS["worker_scaling_plan"](dict(PLAN, pool_size="4"))["connections"]["needed"] == (5 + 1) * 4 + 20


def test_plan_filter_reports_input_errors_first():
    assert FILTERS["worker_scaling_plan"](dict(PLAN, replicas="five"))["errors"][0].startswith("worker_scaling_replicas")


def test_decide_filter_reads_the_queue_numbers():
    assert FILTERS["worker_scaling_decide"]({"waiting": "12", "active": "20"}, 2, 10, 1, 5)["target"] == 4


def test_plan_filter_reads_numbers_templated_into_strings():
    p = FILTERS["worker_scaling_plan"](dict(PLAN, replicas="3", concurrency="10", cpus="1.0", share="0.8"))
    assert p["errors"] == [] and p["connections"]["needed"] == 28 and p["heap_mb"] == 384


def test_plan_filter_names_a_container_without_limit():
    limits = FILTERS["worker_scaling_limits"](["postgres 1073741824", "redis 0", "n8n 1073741824"])
    p = FILTERS["worker_scaling_plan"](dict(PLAN, limits=limits))
    assert p["errors"] == [limits["errors"][0]] and "redis container has no memory limit" in p["errors"][0]


def test_limits_filter_maps_services_and_names_missing_ones():
    found = FILTERS["worker_scaling_limits"](["postgres 1073741824", "n8n-worker 536870912", "n8n 1073741824"])
    assert found["limits"] == {"postgres": 1073741824, "main": 1073741824}
    assert found["errors"] == ["the redis service is not running: start the stack first"]


def test_max_filter_is_the_budget_unless_asked_for_fewer():
    found = {"limits": {"postgres": "1g", "redis": "256m", "main": "1g"}, "errors": []}
    assert FILTERS["worker_scaling_max"](found, "512m", "8g") == 8
    assert FILTERS["worker_scaling_max"](found, "512m", str(8 * 1024 ** 3), 0.8, 3) == 3


def test_decide_filter_reads_a_templated_cool_down():
    d = FILTERS["worker_scaling_decide"]({"waiting": 0, "active": 0}, 3, 5, 1, 3, "12.7", 20)
    assert d["action"] == "none" and "cool-down" in d["reason"]
    assert FILTERS["worker_scaling_decide"]({"waiting": 0, "active": 0}, 3, 5, 1, 3, "", 20)["target"] == 2


def test_plan_filter_refuses_a_bad_pool_size_naming_it():
    p = FILTERS["worker_scaling_plan"](dict(PLAN, pool_size="abc"))
    assert p["errors"] == ["stack_db_pool_size must be an integer from 1 to 100 (DB_POSTGRESDB_POOL_SIZE), got 'abc'"]
    assert FILTERS["worker_scaling_plan"](dict(PLAN, pool_size="0"))["errors"][0].startswith("stack_db_pool_size must be")
