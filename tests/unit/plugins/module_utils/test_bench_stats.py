import math

import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils import bench_stats as s


# Student's t quantiles from the usual tables
@pytest.mark.parametrize("q, df, value", [(0.975, 1, 12.706), (0.975, 2, 4.303), (0.95, 4, 2.132), (0.995, 10, 3.169),
                                          (0.999, 3, 10.215), (0.975, 1000, 1.962), (0.9, 30, 1.310)])
def test_t_quantiles_match_the_tables(q, df, value):
    assert s.t_ppf(q, df) == pytest.approx(value, abs=1e-3)
    assert s.t_sf(value, df) == pytest.approx(1 - q, rel=1e-3)


def test_t_distribution_is_symmetric_and_takes_fractional_degrees_of_freedom():
    assert s.t_sf(0.0, 3) == pytest.approx(0.5)
    assert s.t_sf(-2.0, 5) == pytest.approx(1 - s.t_sf(2.0, 5))
    assert s.t_ppf(0.05, 4) == pytest.approx(-s.t_ppf(0.95, 4))
    assert s.t_sf(2.0, 3.5) < s.t_sf(2.0, 3) and s.t_sf(2.0, 3.5) > s.t_sf(2.0, 4)
    assert s.t_sf(math.inf, 3) == 0.0 and s.t_sf(-math.inf, 3) == 1.0


def test_t_ppf_refuses_a_probability_outside_0_1():
    with pytest.raises(ValueError, match="between 0 and 1"):
        s.t_ppf(1.0, 3)


def test_betainc_edges_and_a_known_value():
    assert s.betainc(2, 3, 0) == 0 and s.betainc(2, 3, 1) == 1
    assert s.betainc(1, 1, 0.3) == pytest.approx(0.3)  # uniform
    assert s.betainc(2, 2, 0.5) == pytest.approx(0.5)


def test_welch_difference_error_and_degrees_of_freedom():
    d, se, df = s.welch([1.0, 2.0, 3.0], [2.0, 4.0, 6.0])
    assert d == pytest.approx(2.0) and se == pytest.approx(math.sqrt(1 / 3 + 4 / 3))
    assert df == pytest.approx((5 / 3) ** 2 / ((1 / 3) ** 2 / 2 + (4 / 3) ** 2 / 2))
    with pytest.raises(ValueError, match="at least 2 runs per side"):
        s.welch([1.0], [1.0, 2.0])


def test_compare_a_clear_drop_is_regressed_with_its_interval():
    r = s.compare([1000, 1010, 995], [700, 690, 705], floor=0.05, alpha=0.01)
    assert r["verdict"] == "regressed" and r["p"] < 0.01 and r["low"] < r["change"] < r["high"] < -0.05
    assert r["change"] == pytest.approx(698.3 / 1001.6 - 1, abs=1e-3)


def test_compare_latency_is_worse_when_higher():
    assert s.compare([5.0, 5.1, 5.05], [7.5, 7.6, 7.4], 0.05, 0.01, higher_is_better=False)["verdict"] == "regressed"
    assert s.compare([5.0, 5.1, 5.05], [3.5, 3.6, 3.4], 0.05, 0.01, higher_is_better=False)["verdict"] == "ok"


def test_compare_steady_runs_within_the_floor_are_ok_noisy_ones_inconclusive():
    ok = s.compare([1000, 1001, 999, 1000], [990, 991, 989, 990], 0.05, 0.01)
    assert ok["verdict"] == "ok" and ok["p"] > 0.99 and not ok["improved"]
    assert s.compare([2752, 2751, 2384], [2815, 2341, 2331], 0.05, 0.01)["verdict"] == "inconclusive"


def test_compare_runs_without_spread():
    assert s.compare([100, 100], [50, 50], 0.05, 0.01)["verdict"] == "regressed"
    same = s.compare([100, 100], [100, 100], 0.05, 0.01)
    assert same["verdict"] == "ok" and same["low"] == same["high"] == same["change"] == 0


def test_compare_improved_only_when_confidently_better_beyond_the_floor():
    assert s.compare([300, 302, 301], [360, 362, 361], 0.05, 0.01)["improved"]
    assert not s.compare([300, 302, 301], [306, 308, 307], 0.05, 0.01)["improved"]


@pytest.mark.parametrize("floor, alpha, match", [(1.0, 0.05, "floor"), (-0.1, 0.05, "floor"), (0.05, 0.0, "alpha"),
                                                 (0.05, 0.5, "alpha")])
def test_compare_refuses_bad_parameters(floor, alpha, match):
    with pytest.raises(ValueError, match=match):
        s.compare([1, 2], [1, 2], floor, alpha)
