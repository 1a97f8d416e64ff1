"""Alert on change and the retry of alerts not delivered (module_utils/health.py), run after run through the state
file's text as stack_health's keep_state() does it, against a receiver that is up or down."""

import json

import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils import health as h

NOW = 1_800_000_000.0
HOST = "box"
PATH = "/var/lib/n8n_ops/monitoring/state.json"
WORKER = "container:n8n-n8n-worker-1"


def check(name, status, message=None):
    return dict(name=name, status=status, message=message or "%s is %s" % (name, status), value=None)


class Receiver:
    """The alert URL: takes every POST while up, refuses the connection while down."""

    def __init__(self, up=True):
        self.up = up
        self.got = []
        self.attempts = 0

    def post(self, alerts, now):  # what stack_health.send_alerts() does, minus the HTTP
        for a in alerts:
            self.attempts += 1
            if self.up:
                self.got.append(h.alert_message(a, HOST, now))
                a["delivered"] = True
            else:
                a["delivered"] = False
                a["error"] = "<urlopen error [Errno 111] Connection refused>"
        return alerts


def run(text, checks, receiver, confirm=1, now=NOW, actions=()):
    """One module run (keep_state() with an alert URL, no remediation): state file text in, state file text out."""
    previous = h.read_state(text, PATH)
    state, alerts = h.transitions(previous["checks"], checks, confirm)
    warnings = []
    if alerts:
        state, warnings = h.after_delivery(state, receiver.post(alerts, now))
    return json.dumps(h.state_content(state, previous["actions"] + list(actions), now), indent=1), alerts, warnings


def owed(text, confirm=1):
    """The spool as the state file holds it: checks whose confirmed status the receiver has not been told of."""
    checks = json.loads(text)["checks"]
    return sorted(n for n, s in checks.items() if s["seen"] != s["alerted"] and s["streak"] >= confirm)


def changes(messages):
    return [(m["check"], m["from"], m["to"]) for m in messages]


# --- first run, no change, change ---------------------------------------------------------------------------------

def test_first_run_all_green_sends_nothing_and_records_every_check():
    receiver = Receiver()
    text, alerts, warnings = run(None, [check("redis", h.GREEN), check(WORKER, h.GREEN)], receiver)
    assert alerts == [] and warnings == [] and receiver.attempts == 0
    assert json.loads(text) == dict(checks={"redis": dict(alerted="green", streak=1, seen="green"),
                                            WORKER: dict(alerted="green", streak=1, seen="green")}, actions=[])


def test_first_run_with_a_red_item_alerts_it_once_confirmed():
    receiver = Receiver()
    dummy, alerts, dummy2 = run(None, [check("redis", h.RED)], receiver, confirm=1)
    assert changes(receiver.got) == [("redis", "green", "red")] and alerts[0]["delivered"]
    receiver = Receiver()
    text, alerts, dummy2 = run(None, [check("redis", h.RED)], receiver, confirm=2)
    assert alerts == [] and receiver.attempts == 0  # seen once: not yet confirmed, and nothing owed yet
    assert owed(text, confirm=2) == []
    dummy, alerts, dummy2 = run(text, [check("redis", h.RED)], receiver, confirm=2)
    assert changes(receiver.got) == [("redis", "green", "red")]


def test_no_change_sends_nothing():
    receiver = Receiver()
    text, dummy, dummy2 = run(None, [check("redis", h.GREEN)], receiver)
    for dummy3 in range(3):
        text, alerts, dummy2 = run(text, [check("redis", h.GREEN)], receiver)
        assert alerts == []
    assert receiver.attempts == 0 and json.loads(text)["checks"]["redis"] == dict(alerted="green", streak=4, seen="green")


def test_a_change_is_one_alert_for_that_item_only():
    receiver = Receiver()
    text, dummy, dummy2 = run(None, [check("redis", h.GREEN), check(WORKER, h.GREEN)], receiver)
    text, alerts, warnings = run(text, [check("redis", h.GREEN), check(WORKER, h.RED, "worker is exited")], receiver,
                                 now=NOW + 300)
    assert warnings == [] and [a["name"] for a in alerts] == [WORKER]
    assert receiver.got == [dict(text="[n8n_ops] box: %s GREEN -> RED: worker is exited" % WORKER, check=WORKER,
                                 host=HOST, message="worker is exited", to="red", time="2027-01-15T08:05:00Z",
                                 **{"from": "green"})]
    assert json.loads(text)["checks"][WORKER]["alerted"] == "red" and owed(text) == []


# --- delivery failure, retry --------------------------------------------------------------------------------------

def test_an_alert_not_delivered_is_spooled_with_a_warning():
    receiver = Receiver()
    text, dummy, dummy2 = run(None, [check(WORKER, h.GREEN)], receiver)
    receiver.up = False
    text, alerts, warnings = run(text, [check(WORKER, h.RED)], receiver)
    assert receiver.attempts == 1 and receiver.got == []
    assert [(a["name"], a["delivered"]) for a in alerts] == [(WORKER, False)]  # the result's `alerts` says so
    assert warnings == ["alert for %s not delivered: <urlopen error [Errno 111] Connection refused>" % WORKER]
    assert json.loads(text)["checks"][WORKER] == dict(alerted="green", streak=1, seen="red")
    assert owed(text) == [WORKER]


def test_next_run_with_the_receiver_back_delivers_the_spooled_alert_once_and_empties_the_spool():
    receiver = Receiver()
    text, dummy, dummy2 = run(None, [check(WORKER, h.GREEN)], receiver)
    receiver.up = False
    text, dummy, dummy2 = run(text, [check(WORKER, h.RED, "exited (1)")], receiver, now=NOW + 300)
    receiver.up = True
    text, alerts, warnings = run(text, [check(WORKER, h.RED, "exited (1) 5 min ago")], receiver, now=NOW + 600)
    assert warnings == [] and [a["delivered"] for a in alerts] == [True]
    assert changes(receiver.got) == [(WORKER, "green", "red")]
    # the run's message and time: what the item says now, when the receiver got it
    assert receiver.got[0]["message"] == "exited (1) 5 min ago" and receiver.got[0]["time"] == "2027-01-15T08:10:00Z"
    assert owed(text) == [] and json.loads(text)["checks"][WORKER]["alerted"] == "red"
    for dummy3 in range(2):  # and never again while it stays red
        text, alerts, dummy2 = run(text, [check(WORKER, h.RED)], receiver)
        assert alerts == []
    assert len(receiver.got) == 1 and receiver.attempts == 2


def test_repeated_failures_try_once_a_run_and_deliver_exactly_once():
    receiver = Receiver()
    text, dummy, dummy2 = run(None, [check(WORKER, h.GREEN)], receiver)
    receiver.up = False
    sizes = []
    for n in range(1, 6):
        text, alerts, warnings = run(text, [check(WORKER, h.RED)], receiver)
        assert len(alerts) == 1 and len(warnings) == 1 and receiver.attempts == n  # one attempt a run, never more
        assert owed(text) == [WORKER]
        sizes.append(len(text))
    assert len(set(sizes)) == 1  # the spool does not grow with the failed runs: one entry per item
    receiver.up = True
    for dummy3 in range(3):
        text, dummy, dummy2 = run(text, [check(WORKER, h.RED)], receiver)
    assert changes(receiver.got) == [(WORKER, "green", "red")] and owed(text) == []


def test_a_spooled_alert_is_dropped_when_the_item_went_back_before_the_receiver_took_it():
    receiver = Receiver()
    text, dummy, dummy2 = run(None, [check(WORKER, h.GREEN)], receiver)
    receiver.up = False
    text, dummy, dummy2 = run(text, [check(WORKER, h.RED)], receiver)
    receiver.up = True
    text, alerts, dummy2 = run(text, [check(WORKER, h.GREEN)], receiver)
    assert alerts == [] and receiver.got == [] and owed(text) == []  # no red, so no back-to-green either
    assert json.loads(text)["checks"][WORKER] == dict(alerted="green", streak=1, seen="green")


def test_a_recovery_not_delivered_is_spooled_and_sent_once_the_receiver_is_back():
    receiver = Receiver()
    text, dummy, dummy2 = run(None, [check(WORKER, h.RED)], receiver)
    receiver.up = False
    text, dummy, warnings = run(text, [check(WORKER, h.GREEN)], receiver)
    assert len(warnings) == 1 and owed(text) == [WORKER] and json.loads(text)["checks"][WORKER]["alerted"] == "red"
    receiver.up = True
    text, dummy, dummy2 = run(text, [check(WORKER, h.GREEN)], receiver)
    text, dummy, dummy2 = run(text, [check(WORKER, h.GREEN)], receiver)
    assert changes(receiver.got) == [(WORKER, "green", "red"), (WORKER, "red", "green")]


def test_only_the_alerts_not_delivered_are_tried_again():
    class Flaky(Receiver):
        def post(self, alerts, now):
            for a in alerts:
                self.up = a["name"] != "redis"  # the receiver rejects one of them
                super().post([a], now)
            return alerts

    receiver = Flaky()
    text, dummy, dummy2 = run(None, [check("redis", h.GREEN), check(WORKER, h.GREEN)], receiver)
    text, alerts, warnings = run(text, [check("redis", h.RED), check(WORKER, h.RED)], receiver)
    assert [(a["name"], a["delivered"]) for a in alerts] == [("redis", False), (WORKER, True)]
    assert len(warnings) == 1 and warnings[0].startswith("alert for redis not delivered") and owed(text) == ["redis"]
    receiver = Receiver()
    text, alerts, dummy2 = run(text, [check("redis", h.RED), check(WORKER, h.RED)], receiver)
    assert changes(receiver.got) == [("redis", "green", "red")] and owed(text) == []


def test_a_confirmed_change_not_delivered_is_tried_again_without_waiting_for_confirmation_again():
    receiver = Receiver()
    text, dummy, dummy2 = run(None, [check(WORKER, h.GREEN)], receiver, confirm=2)
    text, dummy, dummy2 = run(text, [check(WORKER, h.RED)], receiver, confirm=2)
    assert receiver.attempts == 0  # seen once
    receiver.up = False
    text, dummy, dummy2 = run(text, [check(WORKER, h.RED)], receiver, confirm=2)
    assert receiver.attempts == 1 and owed(text, confirm=2) == [WORKER]
    receiver.up = True
    text, dummy, dummy2 = run(text, [check(WORKER, h.RED)], receiver, confirm=2)
    assert changes(receiver.got) == [(WORKER, "green", "red")]


def test_a_spooled_alert_of_a_vanished_item_waits_for_it():
    receiver = Receiver(up=False)
    text, dummy, dummy2 = run(None, [check("container:w-3", h.RED)], receiver)
    receiver.up = True
    text, alerts, dummy2 = run(text, [check("redis", h.GREEN)], receiver)  # w-3 scaled away
    assert alerts == [] and owed(text) == ["container:w-3"]
    text, dummy, dummy2 = run(text, [check("redis", h.GREEN), check("container:w-3", h.RED)], receiver)
    assert changes(receiver.got) == [("container:w-3", "green", "red")]


def test_after_delivery_leaves_the_given_state_alone():
    state, alerts = h.transitions({}, [check("redis", h.RED)])
    before = json.dumps(state, sort_keys=True)
    new, warnings = h.after_delivery(state, [dict(alerts[0], delivered=False, error="HTTP Error 500")])
    assert json.dumps(state, sort_keys=True) == before and new["redis"]["alerted"] == "green"
    assert warnings == ["alert for redis not delivered: HTTP Error 500"]
    assert h.after_delivery(state, [dict(alerts[0], delivered=True)]) == (state, [])


# --- what the alert says, what the state file holds -----------------------------------------------------------------

def test_alert_message_fields():
    msg = h.alert_message(dict(name="queue", message="5 waiting", to="red", **{"from": "green"}), "box", 0.0)
    assert msg == {"text": "[n8n_ops] box: queue GREEN -> RED: 5 waiting", "check": "queue", "from": "green",
                   "to": "red", "message": "5 waiting", "host": "box", "time": "1970-01-01T00:00:00Z"}
    json.dumps(msg)


def test_state_content_keeps_a_week_of_actions_at_most_200_newest_first_kept_in_order():
    old = dict(worker="w", action="restart", time=NOW - h.ACTIONS_KEEP_S)
    recent = [dict(worker="w", action="restart", time=NOW - 3600 + i) for i in range(250)]
    content = h.state_content({"redis": {}}, [old] + recent + [dict(worker="w", action="none")], NOW)
    assert content["checks"] == {"redis": {}}
    assert len(content["actions"]) == h.ACTIONS_KEEP == 200
    assert content["actions"][-1] == recent[-1]  # the newest kept, in their order; an action without time is gone
    assert old not in content["actions"]
    assert h.state_content({}, [dict(time=NOW - h.ACTIONS_KEEP_S + 1)], NOW)["actions"] == [dict(time=NOW - h.ACTIONS_KEEP_S + 1)]


def test_the_state_file_carries_the_remediation_history_across_runs():
    receiver = Receiver()
    action = dict(worker="w", action="restart", rc=0, time=NOW, reason="stuck")
    text, dummy, dummy2 = run(None, [check("queue", h.RED)], receiver, actions=[action])
    text, dummy, dummy2 = run(text, [check("queue", h.GREEN)], receiver, now=NOW + 60)
    assert json.loads(text)["actions"] == [action]
    text, dummy, dummy2 = run(text, [check("queue", h.GREEN)], receiver, now=NOW + h.ACTIONS_KEEP_S)
    assert json.loads(text)["actions"] == []


def test_read_state_first_run_and_older_files():
    assert h.read_state(None, PATH) == dict(checks={}, actions=[])
    expected = dict(checks={"redis": {"alerted": "red"}}, actions=[])
    assert h.read_state('{"checks": {"redis": {"alerted": "red"}}}', PATH) == expected
    assert h.read_state('{"checks": null, "actions": null}', PATH) == dict(checks={}, actions=[])


@pytest.mark.parametrize("text", ["{", "", "[]", "null", '{"checks": ["redis"]}', '{"actions": {"time": 1}}'])
def test_read_state_refuses_what_it_did_not_write(text):
    with pytest.raises(ValueError, match="cannot read the state file %s .*move it away" % PATH):
        h.read_state(text, PATH)
