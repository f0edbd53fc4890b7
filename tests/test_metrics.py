"""The papers' metrics against their formulas.

Equality kinds (tests/tolerances.py): (a) exact where a test says so (the same computation twice, or
counts); (b) elsewhere pytest.approx with the tolerance stated at the assertion.
"""

import math
import re

import numpy as np
import pandas as pd
import pytest
import torch

import nalu


def test_mse_and_normalised_error():
    assert nalu.mse([1.0, 2.0], [1.0, 4.0]) == 2.0
    assert nalu.normalised_error(5.0, 50.0) == pytest.approx(10.0)
    np.testing.assert_allclose(nalu.normalised_error([0.0, 100.0], [10.0, 50.0]), [0.0, 200.0])
    with pytest.raises(ValueError, match="random_error"):
        nalu.normalised_error(1.0, 0.0)
    with pytest.raises(ValueError, match=r"\(2,\)"):
        nalu.mse([1.0, 2.0], [1.0])


def test_wilson_interval_matches_the_formula():
    lo, hi = nalu.wilson_interval(7, 20)
    p, n, z = 0.35, 20, 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert (lo, hi) == pytest.approx((centre - half, centre + half))
    assert nalu.wilson_interval(0, 10)[0] == 0.0 and nalu.wilson_interval(0, 10)[1] > 0.2
    assert nalu.wilson_interval(10, 10)[1] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="11"):
        nalu.wilson_interval(11, 10)
    with pytest.raises(ValueError, match="n must"):
        nalu.wilson_interval(0, 0)


def test_success_table_selects_the_best_interpolation_step():
    rows = []
    #   seed 0: best interpolation at step 10, extrapolation there 0.5 < 1 → success, solved at 10
    #   seed 1: best interpolation at step 20, extrapolation there 3 > 1 → failure, though step 10 was below
    for seed, steps in {0: [(0, 9, 9), (10, 0.1, 0.5), (20, 0.2, 0.4)], 1: [(0, 9, 9), (10, 1, 0.9), (20, 0.5, 3)]}.items():
        for step, i, e in steps:
            rows += [(seed, step, "interpolation", i), (seed, step, "extrapolation", e)]
    log = pd.DataFrame(rows, columns=["seed", "step", "split", "mse"])
    thr = pd.DataFrame([(0, "extrapolation", 1.0), (1, "extrapolation", 1.0)], columns=["seed", "split", "threshold"])
    t = nalu.success_table(log, thr).set_index("seed")
    assert t.loc[0, "best_step"] == 10 and t.loc[0, "success"] and t.loc[0, "solved_at"] == 10
    assert t.loc[1, "best_step"] == 20 and not t.loc[1, "success"] and t.loc[1, "solved_at"] == 10
    rate = nalu.success_rate(t["success"])
    assert rate["successes"] == 1 and rate["n"] == 2


def test_success_table_treats_nan_as_failure():
    log = pd.DataFrame([(0, 0, "interpolation", float("nan")), (0, 0, "extrapolation", float("nan"))],
                       columns=["seed", "step", "split", "mse"])
    thr = pd.DataFrame([(0, "extrapolation", 1.0)], columns=["seed", "split", "threshold"])
    assert not nalu.success_table(log, thr)["success"].iloc[0]


def test_sparsity_error():
    nau = nalu.NAU(3, 1)
    with torch.no_grad():
        nau.W.copy_(torch.tensor([[1.0, 0.0, -0.9]]))
    assert nalu.sparsity_error(nau) == pytest.approx(0.1, abs=1e-6)
    stacked = nalu.stack_models([nau, nau])
    assert nalu.sparsity_error(stacked).shape == (2,)
    with pytest.raises(ValueError, match="MLP"):
        nalu.sparsity_error(nalu.MLP(2, 1))


def test_wilson_z_is_the_rounded_975_quantile_and_counts_must_be_integers():
    from statistics import NormalDist

    assert nalu.metrics.Z_95 == pytest.approx(NormalDist().inv_cdf(0.975), abs=5e-5)
    assert nalu.wilson_interval(np.int64(3), np.int64(10)) == nalu.wilson_interval(3, 10)
    for bad in (2.5, 3.0, "3", True):
        with pytest.raises(ValueError, match="successes must be an integer count"):
            nalu.wilson_interval(bad, 10)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        nalu.wilson_interval(3, 10.0)


def test_success_table_without_thresholds_says_why():
    log = pd.DataFrame([(0, 0, "interpolation", 1.0), (0, 0, "extrapolation", 1.0)],
                       columns=["seed", "step", "split", "mse"])
    with pytest.raises(ValueError, match="only defined for tasks with a success criterion"):
        nalu.success_table(log, None)


def test_sequence_metrics_live_in_metrics_and_recurrent_still_exports_them():
    assert nalu.recurrent.normalised_table is nalu.metrics.normalised_table
    assert nalu.recurrent.sequence_errors is nalu.metrics.sequence_errors


def test_rates_overlap_compares_the_two_wilson_intervals():
    # (a) exact: the intervals are the same computation as wilson_interval's
    from nalu.metrics import rates_overlap

    assert rates_overlap(dict(successes=20, n=20), dict(successes=15, n=20))
    assert not rates_overlap(dict(successes=20, n=20), dict(successes=2, n=20))
    lo, _ = nalu.wilson_interval(20, 20)
    _, hi = nalu.wilson_interval(2, 20)
    assert rates_overlap(dict(successes=20, n=20), dict(successes=2, n=20)) == (lo <= hi)
    assert rates_overlap(nalu.success_rate([True, False]), nalu.success_rate([False, False]))  # success_rate's dicts
    with pytest.raises(ValueError, match="successes"):
        rates_overlap(dict(rate=0.5), dict(successes=1, n=2))


def test_sparsity_error_is_the_formula_over_the_given_weights():
    # (a) exact: sparsity_error is weights_sparsity_error over effective_weights (the same computation)
    from nalu.metrics import weights_sparsity_error

    model = nalu.stack_models([nalu.build(lambda: nalu.NALU(3, 2, shared=False), s) for s in range(3)])
    with torch.no_grad():
        ws = nalu.effective_weights(model)
        assert np.array_equal(nalu.sparsity_error(model), weights_sparsity_error(ws))
        by_hand = np.max([np.minimum(np.abs(w.numpy()), np.abs(1 - np.abs(w.numpy()))).max(axis=(-2, -1))
                          for w in ws], axis=0)
        assert np.array_equal(weights_sparsity_error(ws), by_hand)
    with pytest.raises(ValueError, match="empty"):
        weights_sparsity_error([])


def test_linear_floor_is_zero_for_a_linear_target_and_a_lower_bound_for_any_linear_map():
    rng = np.random.default_rng(0)
    x = rng.uniform(1, 2, size=(500, 6))
    w_true = rng.normal(size=(2, 6, 1))
    linear = np.einsum("ni,sio->sno", x, w_true)
    # an exact linear target: only float64 rounding is left, relative to the targets' mean square
    # (≈ 1e-31 here; least squares on a well-conditioned 500 × 6 system loses a few digits at most)
    assert (nalu.linear_floor(x, linear) <= 1e-20 * np.mean(linear ** 2)).all()
    product = (x[:, 0] * x[:, 1])[None, :, None].repeat(2, axis=0)
    floor = nalu.linear_floor(torch.from_numpy(x), torch.from_numpy(product))
    assert floor.shape == (2,) and (floor > 1e-4).all()  # x₀x₁ is not linear in x on [1, 2]⁶
    # no linear map does better than the floor (the same float64 arithmetic, so a relative 1e-12 margin)
    for _ in range(20):
        w = rng.normal(size=(6, 1)) * 0.3
        assert np.mean((x @ w - product[0]) ** 2) >= floor[0] * (1 - 1e-12)
    # per-seed inputs give per-seed floors
    xs = np.stack([x, x[::-1]])
    own = np.einsum("sni,sio->sno", xs, w_true)
    assert (nalu.linear_floor(xs, own) <= 1e-20 * np.mean(own ** 2)).all()
    assert nalu.linear_floor(xs, linear)[1] > 1e-3  # seed 1's rows paired with another seed's targets


@pytest.mark.parametrize("x, y", [(np.ones((5, 3)), np.ones((5, 1))), (np.ones((4, 3)), np.ones((2, 5, 1))),
                                  (np.ones((3, 5, 3)), np.ones((2, 5, 1)))])
def test_linear_floor_rejects_shapes_it_cannot_pair(x, y):
    with pytest.raises(ValueError, match=r"linear_floor needs x of shape \(N, in\)"):
        nalu.linear_floor(x, y)


@pytest.mark.parametrize("op, linear", [("add", True), ("sub", True), ("mul", False), ("div", False),
                                        ("square", False), ("sqrt", False)])
def test_no_linear_map_passes_the_static_criterion_on_the_nonlinear_operations(op, linear):
    # Chapter 6's argument, on the static task at its real size: on + and − an exact linear map exists
    # (the floor is the float32 rounding of the targets, MSE ≈ 3e-11, against thresholds of ≈ 1.6e-5 on +
    # and ≈ 1.4e-8 on −); on ×, ÷, x², √x even the least-squares map for the seed's own test rows misses
    # the threshold by orders of magnitude.
    data = nalu.FreshSamples(lambda s: nalu.static_arithmetic(op, nalu.rng_for(s, 1)), batch_size=8,
                             eval_size=2_000)
    seeds = [0, 1, 2]
    data.setup(seeds, torch.device("cpu"))
    evals = data.eval_sets()
    floor = nalu.linear_floor(*evals["extrapolation"])
    threshold = data.success_thresholds(evals, 1e-5)["extrapolation"]
    if linear:
        assert (floor < 1e-2 * threshold).all()
    else:
        assert (floor > 1e3 * threshold).all()


def test_sparsity_error_judges_the_weights_the_forward_pass_uses():
    """An NMU or NAU whose parameter is free (bounds="forward") multiplies by W clamped to its range, so a
    parameter at 1.3 is a weight of exactly 1 (error 0), where the parameter itself would count 0.3.
    Exact: clamping and min/abs of these floats involve no rounding."""
    for cls in (nalu.NMU, nalu.NAU):
        free, clipped = cls(2, 1, bounds="forward"), cls(2, 1)
        with torch.no_grad():
            free.W.copy_(torch.tensor([[1.3, 0.0]]))
            clipped.W.copy_(torch.tensor([[1.3, 0.0]]))  # not clipped yet: the trainer clips after a step
        assert float(nalu.sparsity_error(free)) == 0.0
        assert float(nalu.sparsity_error(clipped)) == pytest.approx(0.3, abs=1e-6)


def test_success_rate_counts_booleans_or_0_1_and_refuses_anything_else():
    """A NaN (a run without a result) would be True under a plain cast to bool: it is an error instead."""
    assert nalu.success_rate(np.array([True, False, True]))["successes"] == 2
    assert nalu.success_rate([1, 0, 0, 1]) == nalu.success_rate([True, False, False, True])
    for bad, shown in (([1.0, np.nan], "nan at index 1"), ([0, 2], "2 at index 1"), (["yes"], "'yes' at index 0"),
                       ([True, None], "None at index 1")):
        with pytest.raises(ValueError, match=f"success must hold booleans \\(or 0/1\\), got {re.escape(shown)}"):
            nalu.success_rate(bad)
