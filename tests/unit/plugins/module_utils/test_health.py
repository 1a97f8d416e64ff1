import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils import health as h

T = dict(h.THRESHOLDS)
NOW = 1_800_000_000.0
C = dict(name="n8n-n8n-1", state="running", health="healthy", restarts=0, oom_killed=False)


def names(checks, status=h.RED):
    return [c["name"] for c in checks if c["status"] == status]


def test_healthy_container_is_green():
    assert h.container_checks([C], T)[0]["status"] == h.GREEN


@pytest.mark.parametrize("change,text", [
    (dict(state="exited"), "is exited"), (dict(paused=True), "is paused"), (dict(health="unhealthy"), "health unhealthy"),
    (dict(oom_killed=True), "OOM-killed"), (dict(restarts=2), "restarted 2 times")])
def test_each_container_problem_is_named(change, text):
    c = h.container_checks([dict(C, **change)], T)[0]
    assert c["status"] == h.RED and text in c["message"]


def test_readiness_checks_the_body_not_only_the_status():
    ok, starting = h.http_checks([dict(name="main readiness", status=200, body='{"status":"ok"}', expect='"ok"'),
                                  dict(name="worker", status=200, body="n8n is starting up", expect='"ok"')])
    assert ok["status"] == h.GREEN and starting["status"] == h.RED and "starting up" in starting["message"]


def test_redis_down_and_memory_above_threshold():
    assert h.redis_checks(dict(ping=False, error="connection refused"), T)[0]["status"] == h.RED
    checks = h.redis_checks(dict(ping=True, used_memory=220 * 2 ** 20, limit=256 * 2 ** 20), T)
    assert names(checks) == ["redis_memory"] and "220 MB of its 256 MB" in checks[1]["message"]


PG = dict(reachable=True, db_size=300 * 2 ** 20, connections=20, max_connections=100, blks_hit=990000,
          blks_read=10000, longest_query_s=1, oldest_xact_s=2)


def test_healthy_postgres_is_all_green():
    assert names(h.postgres_checks(PG, T)) == []


@pytest.mark.parametrize("change,name", [
    (dict(connections=85), "postgres_connections"), (dict(blks_hit=80000, blks_read=20000), "postgres_cache_hit"),
    (dict(longest_query_s=900), "postgres_longest_query"), (dict(oldest_xact_s=3600), "postgres_oldest_transaction")])
def test_each_postgres_threshold(change, name):
    assert names(h.postgres_checks(dict(PG, **change), T)) == [name]


def test_cache_hit_not_judged_on_a_cold_server():
    assert names(h.postgres_checks(dict(PG, blks_hit=10, blks_read=90), T)) == []


def test_unreachable_postgres_is_one_red_item():
    checks = h.postgres_checks(dict(reachable=False, error="could not connect"), T)
    assert len(checks) == 1 and checks[0]["status"] == h.RED and "could not connect" in checks[0]["message"]


def test_disk_free_below_threshold():
    checks = h.disk_checks({"docker": dict(path="/var/lib/docker", free=5 * 2 ** 30, total=100 * 2 ** 30)}, T)
    assert checks[0]["status"] == h.RED and "5.0 GB free of 100.0 GB" in checks[0]["message"]


def iso(epoch):
    from datetime import datetime, timezone
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat()


def test_backup_missing_failed_stale_and_fresh():
    assert h.backup_check(None, NOW, T)["status"] == h.RED
    failed = h.backup_check(dict(result="failed", time=iso(NOW - 60), task="Dump PostgreSQL",
                                 last_good_set="s1", last_good_time=iso(NOW - 7200)), NOW, T)
    assert failed["status"] == h.RED and 'failed at "Dump PostgreSQL"; the last good set s1 is 2.0 h old' in failed["message"]
    assert h.backup_check(dict(result="ok", last_good_set="s1", last_good_time=iso(NOW - 30 * 3600)), NOW, T)["status"] == h.RED
    fresh = h.backup_check(dict(result="ok", last_good_set="s2", last_good_time=iso(NOW - 3600)[:-6]), NOW, T)
    assert fresh["status"] == h.GREEN and fresh["value"] == 1.0


def test_restarts_are_red_only_while_recent():
    c = dict(name="w", state="running", health="healthy", restarts=3)
    assert "restarted 3 times, the last 20 s ago" in h.container_checks([dict(c, started_s_ago=20)], T)[0]["message"]
    assert h.container_checks([dict(c, started_s_ago=2 * 3600)], T)[0]["status"] == h.GREEN
    assert h.container_checks([c], T)[0]["status"] == h.RED  # start time unknown: still red


W = dict(name="n8n-n8n-worker-1", state="running", command=["worker", "--concurrency=10"], concurrency=10)


def test_queue_moving_is_green_even_with_waiting_jobs():
    assert h.stuck_queue(dict(waiting=5, active=10, oldest_wait_s=3), [W], T)["status"] == h.GREEN


@pytest.mark.parametrize("workers,cause", [
    ([], "no worker is running"),
    ([dict(W, command=["start"])], "without the `worker` command"),
    ([dict(W, paused=True)], "stopped consuming (paused)"),
    ([dict(W, stopped_process=True)], "its n8n process is stopped"),
    ([dict(W, redis_ok=False)], "cannot reach Redis"),
    ([dict(W, redis_ok=True, queue_clients=0)], "Redis holds no queue connection from it"),
    ([W], "do not take jobs"),
])
def test_stuck_queue_names_the_cause(workers, cause):
    c = h.stuck_queue(dict(waiting=4, active=0, oldest_wait_s=600), workers, T)
    assert c["status"] == h.RED and cause in c["message"] and "4 executions waiting" in c["message"]


@pytest.mark.parametrize("workers,suspects", [
    ([], []),
    ([dict(W, command=["start"])], []),
    ([dict(W, paused=True), dict(W, name="w2")], ["n8n-n8n-worker-1"]),
    ([dict(W, stopped_process=True)], ["n8n-n8n-worker-1"]),
    ([W, dict(W, name="w2")], ["n8n-n8n-worker-1", "w2"]),
    # healthy-looking workers: only the one Redis holds no connection from (the other takes jobs when it can)
    ([dict(W, redis_ok=True, queue_clients=0), dict(W, name="w2", redis_ok=True, queue_clients=4)], ["n8n-n8n-worker-1"]),
    ([dict(W, queue_clients=0, started_s_ago=5)], []),
])
def test_stuck_queue_suspects_only_workers_a_restart_can_help(workers, suspects):
    assert h.stuck_queue(dict(waiting=4, active=0, oldest_wait_s=600), workers, T)["suspects"] == suspects


def test_a_worker_that_just_started_is_not_restarted():
    c = h.stuck_queue(dict(waiting=4, active=0, oldest_wait_s=600), [dict(W, started_s_ago=5)], T)
    assert c["status"] == h.RED and "started less than 120 s ago" in c["message"] and c["suspects"] == []
    booting = h.stuck_queue(dict(waiting=4, active=0, stalled=2), [dict(W, started_s_ago=5, redis_ok=False)], T)
    assert booting["suspects"] == [] and "may not consume yet" in booting["message"]
    old = h.stuck_queue(dict(waiting=4, active=0, oldest_wait_s=600), [dict(W, started_s_ago=500)], T)
    assert old["suspects"] == ["n8n-n8n-worker-1"]


def test_remediation_restarts_suspects_within_the_hourly_limit():
    red = [dict(h.stuck_queue(dict(waiting=4, active=0, oldest_wait_s=600), [dict(W, stopped_process=True)], T))]
    assert h.remediation(red, [], NOW, 2) == (["n8n-n8n-worker-1"], [])
    history = [dict(worker="n8n-n8n-worker-1", action="restart", time=NOW - 600)] * 2
    restart, skipped = h.remediation(red, history, NOW, 2)
    assert restart == [] and "restarted 2 times in the last hour (limit 2)" in skipped[0]["reason"]
    old = [dict(worker="n8n-n8n-worker-1", action="restart", time=NOW - 3700)] * 2
    assert h.remediation(red, old, NOW, 2)[0] == ["n8n-n8n-worker-1"]


def test_remediation_does_nothing_while_the_queue_is_green():
    green = [h.stuck_queue(dict(waiting=0, active=0), [dict(W, stopped_process=True)], T)]
    assert h.remediation(green, [], NOW, 2) == ([], [])


def test_alert_text_names_host_check_and_change():
    text = h.alert_text(dict(name="queue", message="5 waiting", **{"from": "green", "to": "red"}), "box")
    assert text == "[n8n_ops] box: queue GREEN -> RED: 5 waiting"


def test_jobs_held_by_no_live_worker_are_a_stuck_queue_even_with_nothing_waiting():
    c = h.stuck_queue(dict(waiting=0, active=4, stalled=4), [dict(W, stopped_process=True)], T)
    assert c["status"] == h.RED and c["value"] == 4
    assert c["message"].startswith("4 executions taken from the queue but held by no live worker")
    assert "its n8n process is stopped" in c["message"] and c["suspects"] == ["n8n-n8n-worker-1"]


def test_lockless_picks_active_jobs_without_a_lock():
    assert h.lockless(["7", "8", "9"], ["1", "0", "0"]) == ["8", "9"]
    assert h.lockless(["7"], []) == []


def test_stuck_queue_with_every_slot_busy_says_so():
    c = h.stuck_queue(dict(waiting=4, active=10, oldest_wait_s=600), [W], T)
    assert "every worker slot is busy" in c["message"]


def test_evaluate_collects_red_items_and_thresholds_override():
    facts = dict(containers=[C], postgres=dict(PG, connections=50), queue=dict(waiting=0, active=0), workers=[W])
    assert h.evaluate(facts, NOW)["ok"]
    r = h.evaluate(facts, NOW, dict(connections_pct=40))
    assert r["red"] == ["postgres_connections"] and not r["ok"]


def check(status, name="redis"):
    return dict(name=name, status=status, message="m")


def test_alerts_only_on_state_change():
    state, alerts = h.transitions({}, [check(h.GREEN)])
    assert alerts == []
    state, alerts = h.transitions(state, [check(h.RED)])
    assert [(a["from"], a["to"]) for a in alerts] == [("green", "red")]
    state, alerts = h.transitions(state, [check(h.RED)])
    assert alerts == []
    state, alerts = h.transitions(state, [check(h.GREEN)])
    assert [(a["from"], a["to"]) for a in alerts] == [("red", "green")]


def test_flapping_item_does_not_alert_with_confirmation():
    state, sent = {}, []
    for status in [h.GREEN, h.RED, h.GREEN, h.RED, h.GREEN, h.RED, h.RED]:
        state, alerts = h.transitions(state, [check(status)], confirm=2)
        sent += alerts
    assert [(a["from"], a["to"]) for a in sent] == [("green", "red")]


def test_a_vanished_check_is_kept_not_alerted():
    state, dummy = h.transitions({}, [check(h.RED, "container:w-3")])
    state, alerts = h.transitions(state, [check(h.GREEN)])
    assert "container:w-3" in state and [a["name"] for a in alerts] == []


def test_textfile_format():
    text = h.textfile([check(h.GREEN), check(h.RED, 'disk:"backup"')],
                      {"queue_waiting": [({}, 3)], "worker_peak_rss_bytes": [({"worker": "w-1"}, 4.5e8)]})
    lines = text.splitlines()
    assert lines[:2] == ["# HELP n8n_ops_check_ok 1 when the health check is green, 0 when red.",
                         "# TYPE n8n_ops_check_ok gauge"]
    assert 'n8n_ops_check_ok{check="redis"} 1' in lines and 'n8n_ops_check_ok{check="disk:\\"backup\\""} 0' in lines
    assert "n8n_ops_queue_waiting 3" in lines and 'n8n_ops_worker_peak_rss_bytes{worker="w-1"} 450000000.0' in lines
    assert text.endswith("\n")


def test_table_puts_red_first():
    r = h.evaluate(dict(containers=[C, dict(C, name="n8n-redis-1", state="exited")]), NOW)
    assert h.table(r).splitlines()[0].startswith("RED    container:n8n-redis-1")


def test_redis_replies_in_command_order():
    out = ["PONG", "# Memory", "used_memory:1048576", "used_memory_human:1.00M", "", "3", "1", "0", "2", "17"]
    info, queue, oldest = h.redis_replies(out)
    assert info["used_memory"] == "1048576" and oldest == "17"
    assert queue == dict(waiting=3, active=1, delayed=0, failed=2)


def test_redis_queue_clients_counts_bull_connections_per_address():
    lines = ["id=3 addr=172.18.0.5:53422 laddr=172.18.0.3:6379 fd=8 name=bull:am9icw== age=9 flags=b cmd=brpoplpush",
             "id=4 addr=172.18.0.5:53430 laddr=172.18.0.3:6379 fd=9 name= age=9 idle=1 flags=N cmd=evalsha",
             "id=5 addr=172.18.0.6:41000 laddr=172.18.0.3:6379 fd=10 name= age=0 flags=P cmd=subscribe",
             "id=6 addr=[::1]:41002 fd=11 name=bull:am9icw== cmd=ping", ""]
    assert h.redis_queue_clients(lines) == {"172.18.0.5": 1, "172.18.0.6": 0, "::1": 1}
    assert h.redis_queue_clients([]) == {} and h.redis_queue_clients(None) == {}


def test_redis_replies_empty_queue_and_no_answer():
    assert h.redis_replies(["PONG", "used_memory:1", "0", "0", "0", "0", ""])[2] == ""
    assert h.redis_replies(["NOAUTH Authentication required."]) is None and h.redis_replies([]) is None


def test_no_backup_yet_on_a_fresh_stack_is_green_and_says_so():
    fresh = h.backup_check(None, NOW, T, data_age_s=3 * 3600)
    assert fresh["status"] == h.GREEN and fresh["message"].startswith("no backup yet: the stack's data is 3.0 h old")
    assert h.backup_check(None, NOW, T, data_age_s=30 * 3600)["status"] == h.RED
    assert h.backup_check(None, NOW, T, data_age_s=None)["status"] == h.RED


def test_evaluate_passes_the_data_age_to_the_backup_check():
    red = h.evaluate(dict(backup=None, data_age_s=600), NOW, T)["red"]
    assert "backup" not in red
    assert "backup" in h.evaluate(dict(backup=None), NOW, T)["red"]
