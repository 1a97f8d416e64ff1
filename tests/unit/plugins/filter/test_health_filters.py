import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.n8n_ops.stack.plugins.filter import health as f

FILTERS = f.FilterModule().filters()


def test_evaluate_filter_reads_a_templated_time():
    backup = {"result": "ok", "last_good_time": "1970-01-01T00:00:00+00:00"}
    r = FILTERS["health_evaluate"]({"backup": backup}, "93600", {"backup_max_age_h": 30})
    assert r["ok"] and r["checks"][0]["value"] == 26.0


def test_evaluate_filter_names_malformed_facts():
    with pytest.raises(AnsibleFilterError, match="incomplete or malformed facts"):
        FILTERS["health_evaluate"]({"postgres": {"reachable": True}}, 0)


def test_transitions_filter_returns_state_and_alerts():
    r = FILTERS["health_transitions"]([{"name": "redis", "status": "red", "message": "down"}])
    assert r["alerts"][0]["to"] == "red" and r["state"]["redis"]["alerted"] == "red"
