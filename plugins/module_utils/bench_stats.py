# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""Is a candidate worse than a baseline by more than a margin? A decision from a few benchmark runs (pure, stdlib).

The method: Welch's t-test on the logarithms of the runs' values, one-sided against the margin (a non-inferiority
test). With d the difference of the mean logs (candidate - baseline, i.e. the log of the ratio of geometric means)
and m the margin in logs (`floor`: tps 5 % lower is log(0.95), p95 latency 5 % higher is log(1.05)), the test of
"worse by more than the floor" gives p; the verdict is

- regressed: p < alpha - confident the candidate is worse by more than the floor (so the estimate is, too);
- ok: 1 - p < alpha - confident it is not worse by more than the floor (the test the other way round);
- inconclusive: neither - the runs cannot tell; more runs may.

The confidence interval of the change at 1 - 2 x alpha says the same: regressed when all of it is beyond the floor,
ok when none of it is.

Why this test and not another:

- Benchmark noise on a shared box is multiplicative (a cron job or a neighbour slows a run by a fraction), and a
  regression is a ratio ("15 % fewer tps"). On logs, the noise of fast and slow configurations is alike and a ratio is
  a difference of means.
- Rounds are few (3 to 10 runs per side). Rank and permutation tests (Mann-Whitney U, a permutation of the ratios)
  are exact but discrete: with 3 runs per side the smallest one-sided p they can give is 1/20 = 0.05, so split over
  several tests they can never be confident at 3 rounds, however large and clean the regression. The t-test uses
  the size of the differences: a 30 % drop with 2 % spread is certain in 3 rounds. A bootstrap needs more runs than
  that to be trusted.
- Welch's, not Student's: a change may make runs steadier or noisier; Welch does not assume equal variances, and
  with few runs its degrees of freedom shrink, so it is cautious - the safe side for a gate that reverts.
- Its failure mode is the right one: an outlier (a run during a cron job) inflates the variance, which widens the
  interval and moves the verdict towards inconclusive (keep, measure more), never towards a confident revert.
"""

from __future__ import annotations

import math

_TINY = 1e-300


def _betacf(a, b, x):
    """Continued fraction of the incomplete beta function (modified Lentz; Numerical Recipes' betacf)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + aa / c
            c = c if abs(c) > _TINY else _TINY
            delta = d * c
            h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def betainc(a, b, x):
    """Regularized incomplete beta function I_x(a, b), 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_sf(t, df):
    """P(T > t) for Student's t with df (> 0, need not be an integer) degrees of freedom."""
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return tail if t > 0 else 1.0 - tail


def t_ppf(q, df):
    """The t value below which a fraction q (0 < q < 1) of Student's t with df degrees of freedom lies."""
    if not 0.0 < q < 1.0:
        raise ValueError('q must be between 0 and 1, got %r' % (q,))
    if q == 0.5:
        return 0.0
    if q < 0.5:
        return -t_ppf(1.0 - q, df)
    lo, hi = 0.0, 1.0
    while t_sf(hi, df) > 1.0 - q:
        lo, hi = hi, hi * 2.0
        if hi > 1e12:
            return hi
    for _dummy in range(200):
        mid = (lo + hi) / 2.0
        if t_sf(mid, df) > 1.0 - q:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * max(1.0, hi):
            break
    return (lo + hi) / 2.0


def _mean_var(values):
    n = len(values)
    mean = sum(values) / n
    return mean, sum((v - mean) ** 2 for v in values) / (n - 1)


def welch(x, y):
    """(mean(y) - mean(x), its standard error, Welch-Satterthwaite degrees of freedom); at least 2 values each."""
    if len(x) < 2 or len(y) < 2:
        raise ValueError('the test needs at least 2 runs per side, got %d and %d' % (len(x), len(y)))
    mx, vx = _mean_var(x)
    my, vy = _mean_var(y)
    ax, ay = vx / len(x), vy / len(y)
    se2 = ax + ay
    if se2 <= 0.0:
        return my - mx, 0.0, float(len(x) + len(y) - 2)
    df = se2 ** 2 / ((ax ** 2 / (len(x) - 1) if ax else 0.0) + (ay ** 2 / (len(y) - 1) if ay else 0.0))
    return my - mx, math.sqrt(se2), df


def _logs(values):
    return [math.log(max(float(v), 1e-9)) for v in values]


def compare(baseline, candidate, floor, alpha, higher_is_better=True):
    """One measure of one workload: is the candidate worse than the baseline by more than `floor` (a fraction: 0.05
    = tps 5 % lower, or latency 5 % higher)? Each test at `alpha`. Returns baseline and candidate (geometric means),
    change (their ratio - 1), low and high (its interval at 1 - 2 x alpha), p (of "worse by more than the floor"),
    verdict (regressed, ok, inconclusive), improved (confident the candidate is better by more than the floor)."""
    if not 0.0 <= floor < 1.0:
        raise ValueError('the floor must be from 0 to below 1, got %r' % (floor,))
    if not 0.0 < alpha < 0.5:
        raise ValueError('alpha must be between 0 and 0.5, got %r' % (alpha,))
    d, se, df = welch(_logs(baseline), _logs(candidate))
    sign = -1.0 if higher_is_better else 1.0          # "worse" as a positive number
    margin = -math.log(1.0 - floor) if higher_is_better else math.log(1.0 + floor)
    better = math.log(1.0 + floor) if higher_is_better else -math.log(1.0 - floor)
    worse = sign * d
    if se == 0.0:
        p = 0.0 if worse > margin else (1.0 if worse < margin else 0.5)
        p_better = 0.0 if -worse > better else 1.0
        half = 0.0
    else:
        p = t_sf((worse - margin) / se, df)
        p_better = t_sf((-worse - better) / se, df)
        half = t_ppf(1.0 - alpha, df) * se
    verdict = 'regressed' if p < alpha else ('ok' if 1.0 - p < alpha else 'inconclusive')
    gb, gc = math.exp(sum(_logs(baseline)) / len(baseline)), math.exp(sum(_logs(candidate)) / len(candidate))
    return dict(baseline=round(gb, 3), candidate=round(gc, 3), change=round(math.exp(d) - 1.0, 4),
                low=round(math.exp(d - half) - 1.0, 4), high=round(math.exp(d + half) - 1.0, 4),
                p=float('%.3g' % p), df=round(df, 1), verdict=verdict, improved=p_better < alpha)
