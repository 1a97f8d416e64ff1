import base64

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.n8n_ops.stack.plugins.filter import pg_tuning as f
from ansible_collections.n8n_ops.stack.plugins.module_utils import pg_tuning as t

FILTERS = f.FilterModule().filters()


def test_chart_is_a_png_with_one_panel_per_workload_and_measure():
    pytest.importorskip("matplotlib")
    g = t.gate({"tpcb": [{"tps": 100, "latency_p95_ms": 5}] * 2, "n8n": [{"tps": 50, "latency_p95_ms": 9}] * 2},
               {"tpcb": [{"tps": 90, "latency_p95_ms": 6}] * 2, "n8n": [{"tps": 55, "latency_p95_ms": 8}] * 2})
    png = base64.b64decode(FILTERS["pg_tuning_chart"]({"steps": [{"name": "stage 1", "gate": g}]}))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10000


def test_chart_of_a_report_without_gated_steps_is_empty():
    assert FILTERS["pg_tuning_chart"]({"steps": [{"name": "stage 0"}]}) == ""


def test_gate_filter_names_the_problem():
    with pytest.raises(AnsibleFilterError, match="pg_tuning_gate: the noise needs at least 2 baseline runs"):
        FILTERS["pg_tuning_gate"]([{"side": "baseline", "workload": "n8n", "tps": 1, "latency_p95_ms": 1},
                                   {"side": "candidate", "workload": "n8n", "tps": 1, "latency_p95_ms": 1}])
