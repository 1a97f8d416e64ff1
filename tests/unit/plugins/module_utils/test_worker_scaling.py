import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils import worker_scaling as w

LIMITS = {"postgres": "1g", "redis": "256m", "main": "1g", "worker": "512m"}
GOOD = dict(replicas=5, concurrency=10, graceful_timeout=30, cpus=None, memory="512m", extra_env={})


def test_good_input_has_no_errors():
    assert w.input_errors(GOOD) == []


@pytest.mark.parametrize("changes, message", [
    ({"replicas": 0}, "worker_scaling_replicas must be an integer from 1 to 50, got 0"),
    ({"replicas": "five"}, "worker_scaling_replicas must be an integer from 1 to 50, got 'five'"),
    ({"replicas": True}, "worker_scaling_replicas must be an integer"),
    ({"memory": "512X"}, "worker_scaling_memory must be a size like 1g, 768m or 2GB, got '512X'"),
    ({"concurrency": 0}, "worker_scaling_concurrency must be an integer from 1 to 1000"),
    ({"cpus": -1}, "worker_scaling_cpus must be empty or a number of CPUs above 0"),
    ({"graceful_timeout": 0}, "worker_scaling_graceful_timeout must be seconds from 1 to 3600"),
    ({"extra_env": {"EXECUTIONS_CONCURRENCY": "5"}},
     "EXECUTIONS_CONCURRENCY is not an n8n setting (n8n ignores it): use worker_scaling_concurrency (n8n worker --concurrency=N)"),
])
def test_each_bad_input_is_named(changes, message):
    assert any(e.startswith(message) for e in w.input_errors(dict(GOOD, **changes))), w.input_errors(dict(GOOD, **changes))


def test_memory_budget_names_every_number():
    b = w.memory_budget(LIMITS, 5, "4g")
    assert b["total_kb"] == (1024 + 256 + 1024 + 5 * 512) * 1024 and not b["ok"]
    assert b["message"] == ("postgres 1GB + redis 256MB + main 1GB + 5 workers x 512MB = 4864MB is above 80 % of the "
                            "memory the Docker host sees (3.2 GB of 4.0 GB)")


def test_memory_budget_fits_a_larger_host():
    assert w.memory_budget(LIMITS, 5, "8g")["ok"]


def test_connection_budget_counts_pools_and_headroom():
    c = w.connection_budget(10, 2, 40)
    assert c["needed"] == 42 and not c["ok"]
    assert c["message"] == ("(10 workers + 1 main) x pool 2 + 20 (ours) = 42 connections above max_connections 40; "
                            "raise it first: ansible-playbook playbooks/tune_postgres.yml -e pg_tuning_workers=10 "
                            "(or -e pg_tuning_max_connections=42), then scale again")
    assert w.connection_budget(4, 2, 40)["ok"] and "raise it" not in w.connection_budget(4, 2, 40)["message"]


def test_max_replicas_fills_the_budget():
    assert w.max_replicas(LIMITS, "8g") == 8    # 6.4 GB allowed - 2.25 GB = 4.15 GB / 512 MB
    assert w.max_replicas(LIMITS, "2g") == 0


# --- the autoscaler ---------------------------------------------------------------------------------------------------

def decide(waiting, active, replicas, since=1000, **kw):
    return w.decide(waiting, active, replicas, 10, kw.pop("lo", 1), kw.pop("hi", 5), since, **kw)


def test_scales_up_by_the_workers_the_queue_fills():
    assert decide(25, 20, 2) == dict(target=5, action="up", reason="25 jobs waiting, 20 active in 20 slots")
    assert decide(5, 20, 2)["target"] == 3


def test_never_above_max_or_below_min():
    assert decide(500, 50, 5)["action"] == "none"
    assert decide(0, 0, 1)["action"] == "none"
    assert decide(0, 0, 8)["target"] == 5 and decide(0, 0, 0)["target"] == 1


def test_scales_down_one_at_a_time_when_idle():
    assert decide(0, 3, 4) == dict(target=3, action="down", reason="nothing waiting, 3 active fit 3 workers at 50 %")


def test_hysteresis_keeps_replicas_between_the_thresholds():
    # nothing waits, but 16 active jobs would fill 2 workers above half: no scale down
    assert decide(0, 16, 3)["action"] == "none"


def test_cool_down_blocks_any_change():
    assert decide(50, 30, 3, since=60)["action"] == "none"
    assert "cool-down" in decide(0, 0, 3, since=60)["reason"]


def test_flapping_queue_does_not_flap_replicas():
    """A bursty queue (a burst, then empty, every minute) moves the count once per cool-down, not every minute."""
    replicas, since, changes = 2, 1000, 0
    for minute in range(20):
        waiting, active = (30, 20) if minute % 2 == 0 else (0, 2)
        d = w.decide(waiting, active, replicas, 10, 1, 5, since, cooldown_s=300)
        if d["target"] != replicas:
            replicas, since, changes = d["target"], 0, changes + 1
        since += 60
    assert changes <= 4


def test_sizing_table_rows():
    rows = w.sizing_table(["4g", "8g"], LIMITS, 10)
    assert rows == [dict(host="4g", workers=1, slots=10, max_connections=24),
                    dict(host="8g", workers=8, slots=80, max_connections=38)]


def test_node_heap_is_three_quarters_of_the_worker_limit():
    assert w.node_heap_mb("512m") == 384 and w.node_heap_mb("1g", 0.5) == 512 and w.node_heap_mb("64m") == 64


def test_shares_outside_zero_to_one_are_refused():
    errors = w.input_errors(dict(GOOD, heap_share=1.5, share=0))
    assert any(e.startswith("worker_scaling_heap_share") for e in errors)
    assert any(e.startswith("worker_scaling_memory_share") for e in errors)


@pytest.mark.parametrize("low,high,ok", [(1, 0, True), (2, 3, True), (3, 3, True), (3, 2, False), (0, 3, False),
                                         (1, 51, False)])
def test_autoscaler_bounds_are_checked_together(low, high, ok):
    errors = w.input_errors(dict(GOOD, min_replicas=low, max_replicas=high))
    assert (errors == []) is ok
