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


def flat(side, workload, *tps):
    return [{"side": side, "workload": workload, "tps": x, "latency_p95_ms": 3.0 * 2500 / x} for x in tps]


def test_gate_filter_reads_role_variables_given_as_strings_and_says_whether_to_add_rounds():
    # issue 18's numbers: noise, not a regression - kept, inconclusive, one more round wanted
    runs = flat("baseline", "tpcb-like", 2752, 2751, 2384) + flat("candidate", "tpcb-like", 2815, 2341, 2331)
    g = FILTERS["pg_tuning_gate"](runs, "0.05", "0.05", "3", "6")
    assert g["keep"] and g["verdict"] == "inconclusive" and g["more_rounds"] and g["max_rounds"] == 6
    assert not FILTERS["pg_tuning_gate"](runs, 0.05, 0.05, 3, 3)["more_rounds"]


def test_gate_filter_refuses_a_bad_alpha():
    runs = flat("baseline", "n8n", 100, 101) + flat("candidate", "n8n", 100, 101)
    with pytest.raises(AnsibleFilterError, match="pg_tuning_gate: alpha must be between 0 and 0.5"):
        FILTERS["pg_tuning_gate"](runs, 0.05, 0.9)


def test_chart_draws_inconclusive_and_regressed_steps():
    pytest.importorskip("matplotlib")
    noisy = t.gate_runs(flat("baseline", "n8n", 2752, 2751, 2384) + flat("candidate", "n8n", 2815, 2341, 2331))
    bad = t.gate_runs(flat("baseline", "n8n", 1000, 1010, 1005) + flat("candidate", "n8n", 700, 690, 695))
    png = base64.b64decode(FILTERS["pg_tuning_chart"]({"steps": [{"name": "a", "gate": noisy}, {"name": "b", "gate": bad}]}))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
