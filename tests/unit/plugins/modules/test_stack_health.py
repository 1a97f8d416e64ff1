"""stack_health's alert I/O (keep_state, send_alerts, load_state) around health.py's decisions: a real state file,
open_url replaced by a receiver that is up, refuses the connection, or answers with no valid HTTP."""

import json
import urllib.error
from http.client import BadStatusLine

import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils import health as h
from ansible_collections.n8n_ops.stack.plugins.modules import stack_health

NOW = 1_800_000_000.0
WORKER = "container:n8n-n8n-worker-1"


class FakeModule:
    def __init__(self, state_file, alert_url="http://127.0.0.1:18080/hook"):
        self.params = dict(state_file=str(state_file), alert_url=alert_url, alert_confirm=1, remediate=False,
                           remediate_max_per_hour=2, timeout=5)
        self.warnings = []

    def warn(self, msg):
        self.warnings.append(msg)


class Receiver:
    def __init__(self):
        self.fail = None  # an exception to raise instead of taking the POST
        self.posts = []

    def open_url(self, url, data=None, method=None, timeout=None, headers=None):
        if self.fail:
            raise self.fail
        assert method == "POST" and headers == {"Content-Type": "application/json"}
        self.posts.append((url, json.loads(data)))


@pytest.fixture(name="receiver")
def fixture_receiver(monkeypatch):
    r = Receiver()
    monkeypatch.setattr(stack_health, "open_url", r.open_url)
    monkeypatch.setattr(stack_health.socket, "gethostname", lambda: "box")
    return r


def health_run(module, status, now=NOW):
    result = dict(checks=[dict(name=WORKER, status=status, message="worker is %s" % status, value=None)])
    return stack_health.keep_state(module, None, result, {}, now)


def state(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_receiver_down_spools_then_one_delivery_then_none(tmp_path, receiver):
    path = tmp_path / "state.json"
    module = FakeModule(path)
    health_run(module, h.GREEN)
    assert receiver.posts == [] and state(path)["checks"][WORKER]["alerted"] == "green"
    receiver.fail = urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))
    alerts, dummy = health_run(module, h.RED)
    assert [(a["delivered"], a["error"]) for a in alerts] == [(False, "<urlopen error [Errno 111] Connection refused>")]
    assert module.warnings == ["alert for %s not delivered: <urlopen error [Errno 111] Connection refused>" % WORKER]
    assert state(path)["checks"][WORKER] == dict(alerted="green", streak=1, seen="red")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    receiver.fail = None
    alerts, dummy = health_run(module, h.RED, now=NOW + 300)
    assert [a["delivered"] for a in alerts] == [True]
    assert receiver.posts == [("http://127.0.0.1:18080/hook", h.alert_message(
        dict(name=WORKER, message="worker is red", to="red", **{"from": "green"}), "box", NOW + 300))]
    assert state(path)["checks"][WORKER]["alerted"] == "red"
    health_run(module, h.RED, now=NOW + 600)
    assert len(receiver.posts) == 1 and len(module.warnings) == 1


@pytest.mark.parametrize("error", [BadStatusLine("hello there"), urllib.error.HTTPError("u", 502, "Bad Gateway", {}, None),
                                   TimeoutError("timed out")])
def test_a_receiver_answering_badly_is_not_delivered_and_the_state_is_still_written(tmp_path, receiver, error):
    path = tmp_path / "state.json"
    module = FakeModule(path)
    health_run(module, h.GREEN)
    receiver.fail = error
    alerts, dummy = health_run(module, h.RED)  # a BadStatusLine used to escape: traceback, no state written
    assert alerts[0]["delivered"] is False and alerts[0]["error"]
    assert state(path)["checks"][WORKER] == dict(alerted="green", streak=1, seen="red")


def test_without_an_alert_url_nothing_is_sent_or_spooled(tmp_path, receiver):
    path = tmp_path / "state.json"
    module = FakeModule(path, alert_url="")
    health_run(module, h.GREEN)
    alerts, dummy = health_run(module, h.RED)
    assert [a["name"] for a in alerts] == [WORKER] and "delivered" not in alerts[0]
    assert receiver.posts == [] and state(path)["checks"][WORKER]["alerted"] == "red"


def test_a_state_file_it_cannot_use_fails_with_the_way_out(tmp_path):
    path = tmp_path / "state.json"
    assert stack_health.load_state(str(path)) == dict(checks={}, actions=[])
    path.write_bytes(b"\xff\xfe not json")
    with pytest.raises(ValueError, match="move it away to start afresh"):
        stack_health.load_state(str(path))
