"""The three-level rule: cases where a wrong rule would give the wrong level."""

import math

import numpy as np
import pytest

from nalu import verdicts as V
from nalu.metrics import wilson_interval


def test_three_of_three_failures_never_reproduce_fourteen_percent():
    v = V.rate_verdict(0, 3, 0.14)
    assert v.level == V.UNDERPOWERED and "3 seeds" in v.reason


def test_zero_of_twentyfive_contradicts_ninetyeight_percent():
    v = V.rate_verdict(0, 25, 0.98, budget=2e6, published_solved_at=1.4e6)
    assert v.level == V.CONTRADICTED


def test_twentyfour_of_twentyfive_is_consistent_with_ninetyeight_percent():
    v = V.rate_verdict(24, 25, 0.98, budget=2e6, published_solved_at=1.4e6)
    assert v.level == V.CONSISTENT
    assert (v.lo, v.hi) == wilson_interval(24, 25)


def test_a_budget_below_the_published_solved_at_step_decides_nothing():
    for k in (0, 24):
        v = V.rate_verdict(k, 25, 0.98, budget=5_000, published_solved_at=1.4e6)
        assert v.level == V.UNDERPOWERED and "solved-at" in v.reason


def test_failure_claims_need_the_published_training_length():
    assert V.rate_verdict(0, 25, 0.0, budget=5_000, published_steps=5e6).level == V.UNDERPOWERED
    assert V.rate_verdict(0, 25, 0.0, budget=5e6, published_steps=5e6).level == V.CONSISTENT
    # no budget bar published at all: the seeds decide
    assert V.rate_verdict(0, 25, 0.0).level == V.CONSISTENT


def test_a_low_rate_from_a_shorter_budget_contradicts_only_below_half_the_published_rate():
    """At a budget past the published median solved-at step but short of their training, half of their
    successes may still be unsolved: 4/25 (Wilson [6%, 35%]) cannot contradict 51% (half: 25.5%) at
    2·10⁵ of 5·10⁶ steps, but can at the full length; 0/25 ([0%, 13%]) contradicts it either way."""
    short = dict(budget=2e5, published_solved_at=1.4e5, published_steps=5e6)
    v = V.rate_verdict(4, 25, 0.51, **short)
    assert v.level == V.UNDERPOWERED and "as little as 26%" in v.reason
    assert V.rate_verdict(4, 25, 0.51, budget=5e6, published_solved_at=1.4e5, published_steps=5e6).level == V.CONTRADICTED
    assert V.rate_verdict(0, 25, 0.51, **short).level == V.CONTRADICTED
    # a rate above the published one: more training cannot lower it, so the short budget still contradicts
    assert V.rate_verdict(25, 25, 0.07, budget=3.3e6, published_solved_at=3.3e6, published_steps=5e6).level == V.CONTRADICTED
    # inside the interval: consistent as before
    assert V.rate_verdict(24, 25, 0.98, budget=3e6, published_solved_at=1.4e6, published_steps=5e6).level == V.CONSISTENT
    assert V.truncation_problem(0.35, 0.51, 2e5, 1.4e5, None) is None  # no training length published: no clause


def test_a_contradiction_needs_our_interval_to_miss_the_interval_of_the_published_rate_too():
    """24/25 (Wilson [80%, 99%]) misses a published 100% but not the [87%, 100%] that 25/25 seeds give it:
    two estimates that overlap do not disagree. 16/100 ([10%, 24%]) against 26% (+9/−8: [18%, 35%]) likewise;
    against 26% (+1/−1) it contradicts. The clause never makes a verdict consistent."""
    v = V.rate_verdict(24, 25, 1.0, published_interval=wilson_interval(25, 25))
    assert v.level == V.UNDERPOWERED and "their own seeds" in v.reason
    assert V.rate_verdict(24, 25, 1.0).level == V.CONTRADICTED
    assert V.rate_verdict(16, 100, 0.26, published_interval=(0.18, 0.35)).level == V.UNDERPOWERED
    assert V.rate_verdict(16, 100, 0.26, published_interval=(0.25, 0.27)).level == V.CONTRADICTED
    assert V.rate_verdict(0, 25, 0.98, published_interval=(0.93, 0.99)).level == V.CONTRADICTED
    assert V.rate_verdict(25, 25, 1.0, published_interval=(0.87, 1.0)).level == V.CONSISTENT
    for bad in ((0.9, 1.2), (0.5, 0.4)):  # refused whatever the verdict would be
        with pytest.raises(ValueError, match="published_interval"):
            V.rate_verdict(25, 25, 1.0, published_interval=bad)


def test_a_wide_interval_cannot_be_consistent_but_can_contradict():
    # 10/20: Wilson width ≈ 0.40 > 0.35
    lo, hi = wilson_interval(10, 20)
    assert hi - lo > V.MAX_WIDTH
    assert V.rate_verdict(10, 20, 0.5).level == V.UNDERPOWERED
    assert V.rate_verdict(10, 20, 0.98).level == V.CONTRADICTED


def test_a_claimed_range_is_met_by_any_overlap():
    assert V.rate_verdict(20, 20, (0.9, 1.0)).level == V.CONSISTENT
    assert V.rate_verdict(5, 25, (0.9, 1.0)).level == V.CONTRADICTED


def test_bad_rates_and_budgets_are_refused_with_a_message():
    with pytest.raises(ValueError, match="fraction"):
        V.rate_verdict(3, 25, 14)
    with pytest.raises(ValueError, match="budget"):
        V.rate_verdict(3, 25, 0.14, published_solved_at=1.5e6)
    with pytest.raises(ValueError, match="successes"):
        V.rate_verdict(3.5, 25, 0.14)


def test_median_interval_is_the_order_statistic_interval():
    x = np.arange(1, 21, dtype=float)  # n = 20: ranks 6 and 15 (coverage 95.9%)
    med, lo, hi = V.median_interval(x[::-1])
    assert (med, lo, hi) == (10.5, 6.0, 15.0)
    med, lo, hi = V.median_interval([1.0, 2.0, 3.0])
    assert lo == -math.inf and hi == math.inf


def test_median_verdicts():
    rng = np.random.default_rng(0)
    tight = 0.005 * np.exp(rng.normal(0, 0.2, size=25))  # errors around 0.005
    assert V.median_verdict(tight, 0.005).level == V.CONSISTENT
    assert V.median_verdict(tight, 4.55).level == V.CONTRADICTED
    assert V.median_verdict(tight[:5], 0.005).level == V.UNDERPOWERED
    spread = np.logspace(-6, 2, 25)  # eight decades of spread: the interval is too wide to agree
    assert V.median_verdict(spread, 0.01).level == V.UNDERPOWERED
    # ... unless it lies inside a claimed range ("0.0" to one decimal is [0, 0.05])
    small = np.logspace(-6, -3, 25)
    assert V.median_verdict(small, (0.0, 0.05)).level == V.CONSISTENT
    assert V.median_verdict(tight, 0.005, budget=5_000, published_steps=20_000).level == V.UNDERPOWERED


def test_checks():
    assert V.check_verdict(True, 25).level == V.CONSISTENT
    assert V.check_verdict(False, 25).level == V.CONTRADICTED
    assert V.check_verdict(True, 4).level == V.UNDERPOWERED
    assert V.check_verdict(False, None, exact=True).level == V.CONTRADICTED
    with pytest.raises(ValueError, match="seeds"):
        V.check_verdict(True, None)


def test_rule_text_states_the_numbers():
    text = V.rule_text()
    assert str(V.MIN_SEEDS) in text and f"{V.MAX_WIDTH:.2f}" in text


def _misses(rate, n, low, high):
    lo, hi = wilson_interval(round(rate * n), n)
    return hi < low or lo > high


def test_seeds_to_exclude_finds_the_first_count_whose_interval_misses_the_range():
    """Exact for a rate of 0 (the upper bound z²/(n + z²) falls with n); for other rates the count at which
    the interval first misses, up to the rounding of rate · n."""
    n = V.seeds_to_exclude(0.0, 0.14, 1.0)
    assert _misses(0.0, n, 0.14, 1.0) and not _misses(0.0, n - 1, 0.14, 1.0)
    m = V.seeds_to_exclude(0.16, 0.18, 0.35)
    assert _misses(0.16, m, 0.18, 0.35) and m > 1000  # a 2-point gap takes thousands of seeds
    assert V.seeds_to_exclude(0.96, 0.87, 1.0) is None  # inside their interval: no count separates them
    assert V.seeds_to_exclude(0.5, 0.49, 0.51, max_seeds=100) is None
    with pytest.raises(ValueError, match="fractions"):
        V.seeds_to_exclude(16, 0.18, 0.35)


def test_an_underpowered_verdict_says_what_would_decide_it_and_a_decided_one_says_nothing():
    short = V.rate_verdict(0, 10, 0.14, budget=4_000, published_solved_at=1.5e6, published_steps=5e6)
    assert short.needs == "at least 20 seeds and a budget of 1,500,000 steps (the published median solved-at step)"
    cut = V.rate_verdict(4, 25, 0.51, budget=200_000, published_solved_at=1.4e5, published_steps=5e6)
    m = int(cut.needs.split("about ")[1].split(" seeds")[0].replace(",", ""))
    assert cut.needs.startswith("their training length, 5,000,000 steps, or about ") and _misses(0.16, m, 0.255, 1.0)
    inside = V.rate_verdict(24, 25, 1.0, budget=3e6, published_solved_at=1.9e6, published_steps=5e6,
                            published_interval=wilson_interval(25, 25))
    assert inside.level == V.UNDERPOWERED and inside.needs == (
        "their training length, 5,000,000 steps (no number of our seeds: our rate of 96% lies inside [50%, 100%], "
        "the values their figure allows)")
    full = V.rate_verdict(24, 25, 1.0, budget=5e6, published_solved_at=1.9e6, published_steps=5e6,
                          published_interval=wilson_interval(25, 25))
    assert full.needs.startswith("no number of our seeds: our rate of 96% lies inside [87%, 100%]")
    apart = V.rate_verdict(16, 100, 0.26, budget=2e5, published_solved_at=7e4, published_steps=2e5,
                           published_interval=(0.18, 0.35))
    assert apart.level == V.UNDERPOWERED and apart.needs.endswith("seeds at our rate of 16% (an interval outside [18%, 35%])")
    wide = V.rate_verdict(10, 20, 0.5)
    k = int(wide.needs.split("about ")[1].split(" seeds")[0])
    lo, hi = wilson_interval(round(0.5 * k), k)
    assert wide.level == V.UNDERPOWERED and hi - lo <= V.MAX_WIDTH
    assert V.median_verdict([1.0] * 10, 1.0, budget=10, published_steps=100).needs == \
        "at least 20 seeds and a budget of 100 steps (the published training length)"
    assert V.check_verdict(True, None, exact=True, budget=10, published_steps=100).needs == \
        "a budget of 100 steps (the published training length)"
    for decided in (V.rate_verdict(24, 25, 0.98, budget=2e6, published_solved_at=1.4e6),
                    V.rate_verdict(0, 25, 0.98, budget=2e6, published_solved_at=1.4e6)):
        assert decided.level != V.UNDERPOWERED and decided.needs == ""


def test_a_contradiction_names_the_stricter_clauses_it_passed():
    v = V.rate_verdict(6, 100, 0.34, budget=200_000, published_solved_at=1.8e5, published_steps=5e6,
                       published_interval=(0.25, 0.44))
    assert v.level == V.CONTRADICTED and v.reason == (
        "published 34% outside our [3%, 12%]; our interval is also outside [25%, 44%], the interval their own seeds "
        "give it and below 17%, the least their run cut short at our budget could show")
    assert V.rate_verdict(0, 25, 0.98, budget=2e6, published_solved_at=1.4e6).reason == "published 98% outside our [0%, 13%]"


def test_a_published_rate_inside_a_too_wide_interval_needs_seeds_for_the_width():
    v = V.rate_verdict(9, 25, 0.31, budget=3e6, published_solved_at=2.8e6, published_steps=5e6,
                       published_interval=(0.23, 0.41))
    k = int(v.needs.split("about ")[1].split(" seeds")[0])
    lo, hi = wilson_interval(round(0.36 * k), k)
    assert v.level == V.UNDERPOWERED and "width" in v.reason and hi - lo <= V.MAX_WIDTH and k > 25


def test_numbers_in_verdicts_are_written_as_the_papers_write_them():
    # three significant digits, Python's 'g' choice between the plain and the power-of-ten form
    assert V.fmt_number(1_974_000) == "1.97·10⁶" and V.fmt_number(1e6) == "10⁶" and V.fmt_number(-1e-7) == "−10⁻⁷"
    assert V.fmt_number(0.005) == "0.005" and V.fmt_number(2.5e-7) == "2.5·10⁻⁷" and V.fmt_number(123.456) == "123"
    assert V.fmt_number(-0.005) == "−0.005" and V.fmt_number(-1.234e-5) == "−1.23·10⁻⁵"
    assert V.fmt_number(math.inf) == "∞" and V.fmt_number(-math.inf) == "−∞" and V.fmt_number(1.5e-5, 2) == "1.5·10⁻⁵"
    # whole numbers below 10⁴ stay plain, rounded to their digits ('g' alone would write 5e+02 and 4.31e+03)
    assert V.fmt_number(523.7, 1) == "500" and V.fmt_number(218.0, 2) == "220" and V.fmt_number(4310.2) == "4310"
    assert V.fmt_number(-9996.0) == "−10⁴" and V.fmt_number(12_345.0, 2) == "1.2·10⁴"
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match=f"digits must be a positive integer .*got {bad!r}"):
            V.fmt_number(1.0, bad)
    v = V.median_verdict([1.8e6, 1.9e6, 2.0e6, 2.1e6] * 6, 1.9e6)
    assert v.reason == "published 1.9·10⁶ inside our [1.9·10⁶, 2·10⁶]", v.reason
