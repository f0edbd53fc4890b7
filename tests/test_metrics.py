import math

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
