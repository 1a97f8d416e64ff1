import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils import queue_check as q

WORKERS = [dict(name="w-1", healthy=True, peak_rss_kb=200000), dict(name="w-2", healthy=True, peak_rss_kb=210000)]
IDS = ["1", "2", "3", "4"]
OK = {i: "success" for i in IDS}


def test_bull_counts_in_command_order():
    assert q.bull_counts(["3", "2", "0", "1"]) == dict(waiting=3, active=2, delayed=0, failed=1)


def test_bull_counts_refuses_an_error_answer():
    with pytest.raises(ValueError, match="expected 4 integers"):
        q.bull_counts(["NOAUTH Authentication required."])


def test_drained_ignores_failed_jobs_but_not_delayed_ones():
    assert q.drained(dict(waiting=0, active=0, delayed=0, failed=3))
    assert not q.drained(dict(waiting=0, active=0, delayed=1, failed=0))


def test_a_shared_burst_is_proven():
    d = q.distribution({"w-1": ["1", "2", "99"], "w-2": ["3", "4"]}, IDS, WORKERS, OK)
    assert d["problems"] == [] and [w["executions"] for w in d["workers"]] == [2, 2]


def test_an_idle_healthy_worker_fails_the_proof():
    d = q.distribution({"w-1": IDS}, IDS, WORKERS, OK)
    assert d["problems"] == ["healthy workers took no execution of 4: w-2"]


def test_an_unhealthy_worker_fails_the_proof():
    workers = [WORKERS[0], dict(WORKERS[1], healthy=False)]
    assert q.distribution({"w-1": IDS}, IDS, workers, OK)["problems"] == ["workers not healthy: w-2"]


def test_the_worker_count_must_be_the_plans():
    d = q.distribution({"w-1": ["1", "2"], "w-2": ["3", "4"]}, IDS, WORKERS, OK, expected_workers=3)
    assert d["problems"] == ["2 workers ran, the plan has 3"]
    assert q.distribution({"w-1": ["1", "2"], "w-2": ["3", "4"]}, IDS, WORKERS, OK, expected_workers=2)["problems"] == []


def test_idle_workers_allowed_when_not_required():
    assert q.distribution({"w-1": IDS}, IDS, WORKERS, OK, require_all_busy=False)["problems"] == []


def test_executions_on_main_failed_or_unfinished_are_named():
    d = q.distribution({"w-1": ["1", "2"], "w-2": ["3"]}, IDS, WORKERS, dict(OK, **{"2": "crashed", "3": "running"}))
    assert d["on_main"] == ["4"] and d["failed"] == {"2": "crashed"} and d["not_finished"] == ["3"]
    assert len(d["problems"]) == 3


def test_oom_killed_worker_is_a_problem():
    workers = [WORKERS[0], dict(WORKERS[1], oom_killed=True)]
    assert "OOM" in q.distribution({"w-1": ["1", "2"], "w-2": ["3", "4"]}, IDS, workers, OK)["problems"][0]


def test_worker_states_from_check_queue_lines():
    states = q.worker_states(["state w-1 healthy false 0", "state w-2 starting true 2"], ["rss w-1 201234"])
    assert states == [dict(name="w-1", healthy=True, oom_killed=False, restarts=0, peak_rss_kb=201234),
                      dict(name="w-2", healthy=False, oom_killed=True, restarts=2, peak_rss_kb=None)]


@pytest.mark.parametrize("replicas,concurrency,size", [(1, 10, 2), (2, 10, 12), (3, 5, 13), (5, 10, 45)])
def test_burst_is_more_than_all_but_one_worker_can_hold(replicas, concurrency, size):
    assert q.burst_size(replicas, concurrency) == size > (replicas - 1) * concurrency


def test_jobs_outlast_the_enqueueing_of_the_burst():
    assert q.job_seconds(45) == 7 and q.job_seconds(12) == 4


def test_summary_line_per_worker():
    d = q.distribution({"w-1": ["1", "2"], "w-2": ["3", "4"]}, IDS, [WORKERS[0], dict(WORKERS[1], restarts=1)], OK)
    assert q.summary(d) == ["w-1: 2 executions, 195 MB peak RSS", "w-2: 2 executions, 205 MB peak RSS, 1 restarts"]


def test_worker_concurrency_from_command_lines():
    assert q.worker_concurrency(['["worker","--concurrency=5"]', '["worker","--concurrency=8"]']) == 8
    assert q.worker_concurrency(['["worker"]']) == 10 and q.worker_concurrency([]) == 10


def test_bull_query_is_the_commands_bull_counts_reads():
    assert q.bull_query().splitlines() == list(q.BULL_COMMANDS) and len(q.BULL_COMMANDS) == len(q.BULL_KEYS)
