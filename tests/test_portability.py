"""Results that must not depend on the CPU they run on: torch's kernel level (ATEN_CPU_CAPABILITY,
which must be set before torch is imported, hence the subprocesses) and the thread count."""

import json
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch

import nalu

HELPERS = Path(__file__).parent / "helpers"
LEVELS = ("default", "avx2")  # torch's generic kernels (what a non-x86 or old CPU gets) and AVX2's


def run_helper(script: str, level: str, *args: str) -> str:
    env = dict(os.environ, ATEN_CPU_CAPABILITY=level)
    return subprocess.run([sys.executable, str(HELPERS / script), *args], env=env, check=True, capture_output=True,
                          text=True).stdout


def test_a_seeds_initial_weights_are_the_same_bits_at_every_kernel_level():
    # (a) exact: the same draws mapped by the same float64 arithmetic (nalu.units.uniform_); with
    # torch's own uniform_ about half of the values differed by an ulp between these two levels
    weights = [np.array(json.loads(run_helper("initial_weights.py", level))) for level in LEVELS]
    np.testing.assert_array_equal(weights[0], weights[1])


def test_uniform_is_torchs_vectorised_uniform_bit_for_bit():
    # (a) exact where torch's kernel maps in float64 (AVX2 and AVX-512); the generic kernel does not
    if torch.backends.cpu.get_cpu_capability() not in ("AVX2", "AVX512"):
        pytest.skip("torch runs its generic kernels here; the other tests cover this CPU")
    for shape, lo, hi in [((3, 1000), -0.37, 0.52), ((7,), 0.25, 0.75), ((200, 300), -0.1, 0.1)]:
        torch.manual_seed(5)
        want = torch.empty(shape).uniform_(lo, hi)
        after = torch.rand(3)
        torch.manual_seed(5)
        got = nalu.units.uniform_(torch.empty(shape), lo, hi)
        assert torch.equal(got, want)
        assert torch.equal(torch.rand(3), after)  # and the generator is left where torch's leaves it


def test_the_floor_error_is_measured_not_the_rounding_of_the_forward_pass():
    # (b) a model at the float32 floor (exact NAU weights nudged by ~1e-7): its MSE is ~1e-11, the
    # size of a float32 forward pass's own rounding (75 · 2⁻²⁴ ≈ 4e-6 per output, squared). evaluate_mse
    # runs the weights in float64, so it agrees with numpy's float64 MSE up to float64 rounding
    # (2·100·2⁻⁵³ relative on outputs ≈ 75, i.e. ~2e-12 absolute against errors ~5e-6: rtol 1e-5).
    task = nalu.static_arithmetic("add", None, offset=10)
    x = task.inputs(10_000, "interpolation", nalu.rng_for(0, 3))
    y = task.targets(torch.from_numpy(x))
    exact = np.stack([task.a_mask, task.b_mask])
    w1 = exact + 1e-7 * np.random.default_rng(1).standard_normal(exact.shape).astype(np.float32)
    model = nalu.two_layer("nau", "nau", 100, 2, 1)
    with torch.no_grad():
        model[0].W.copy_(torch.from_numpy(w1))
        model[1].W.fill_(1.0)
    want = np.mean((x.astype(np.float64) @ w1.astype(np.float64).T @ np.ones(2) - y.numpy()[:, 0]) ** 2)
    got = nalu.evaluate_mse(nalu.stack_models([model]), torch.from_numpy(x), y[None])
    np.testing.assert_allclose(got.numpy(), [want], rtol=1e-5)


def test_model_selection_is_the_same_at_two_thread_counts_and_two_kernel_levels():
    # (b) the validation MSEs of twelve candidate "steps" at the float32 floor, for 25 seeds, in four
    # configurations: float64 evaluation makes them agree to float64 rounding (rtol 1e-9, see above),
    # so the step each seed selects (the lowest MSE) is the same in all four
    runs = {(level, threads): json.loads(run_helper("selection_mse.py", level, threads))
            for level in LEVELS for threads in ("1", "2")}
    mse = {k: np.array([step["float64"] for step in v]) for k, v in runs.items()}
    first = mse[(LEVELS[0], "1")]
    assert np.median(first) < 1e-9  # the floor, where float32 rounding would decide
    for key, m in mse.items():
        np.testing.assert_allclose(m, first, rtol=1e-9, err_msg=str(key))
        np.testing.assert_array_equal(m.argmin(axis=0), first.argmin(axis=0), err_msg=str(key))
