"""The speed layer computes what the plain units compute: every unit and option, forward and backward,
single and seed-stacked; and its float32 draws are numpy's own, bit for bit.

Equality kinds (tests/tolerances.py): (a) exact: the kept log against a recomputed one, numpy's
draws against ours (the same operations); (b) the fast kernels against the plain ones (another
product order or fused operation), with the bound stated at the assertion.
"""

import copy
from functools import partial

import numpy as np
import pandas as pd
import pytest
import torch

import nalu
from nalu.fast import (accelerate, is_accelerated, log_abs, matvec, matvecs, sign_factor_fast,
                       uniform_float32)
from nalu.units import sign_factor
from tolerances import exp_log_rtol

UNIT_VARIANTS = {
    "Linear": partial(nalu.Linear, 3, 2),
    "Linear bias=False": partial(nalu.Linear, 3, 2, bias=False),
    "NAC": partial(nalu.NAC, 3, 2),
    "NALU": partial(nalu.NALU, 3, 2),
    "NALU shared=False": partial(nalu.NALU, 3, 2, shared=False),
    "NALU gate=linear": partial(nalu.NALU, 3, 2, gate="linear"),
    "NALU shared=False gate=linear": partial(nalu.NALU, 3, 2, shared=False, gate="linear"),
    "NALU eps=1e-2": partial(nalu.NALU, 3, 2, eps=1e-2),
    "SignedNALU": partial(nalu.SignedNALU, 3, 2),
    "SignedNALU gate=input": partial(nalu.SignedNALU, 3, 2, gate="input"),
    "SignedNALU shared=True": partial(nalu.SignedNALU, 3, 2, shared=True),
    "SignedNALU decoupled_sign": partial(nalu.SignedNALU, 3, 2, decoupled_sign=True),
    "SignedNALU input gate, shared, decoupled": partial(nalu.SignedNALU, 3, 2, gate="input", shared=True,
                                                         decoupled_sign=True),
    "SignedNALU eps=1e-2": partial(nalu.SignedNALU, 3, 2, eps=1e-2),
    "INALU": partial(nalu.INALU, 3, 2),
    "INALU omega=0.5 eps=1e-2": partial(nalu.INALU, 3, 2, omega=0.5, eps=1e-2),
    "NAU": partial(nalu.NAU, 3, 2),
    "NMU": partial(nalu.NMU, 3, 2),
    "NAU bounds=forward": partial(nalu.NAU, 3, 2, bounds="forward"),
    "NAU bounds=none": partial(nalu.NAU, 3, 2, bounds="none"),
    "NMU bounds=forward": partial(nalu.NMU, 3, 2, bounds="forward"),
    "RealNPU": partial(nalu.RealNPU, 3, 2),
    "RealNPU eps=1e-2": partial(nalu.RealNPU, 3, 2, eps=1e-2),
    "MLP": partial(nalu.MLP, 3, 2, hidden=(4, 3), activation="tanh"),
    "VanillaNet": partial(nalu.VanillaNet, 3, 2),
    "two-layer NALU": partial(nalu.two_layer, "nalu", None, 3, 4, 2),
    "NAU then NMU": partial(nalu.two_layer, "nau", "nmu", 3, 4, 2),
    "two-layer SignedNALU decoupled": partial(nalu.two_layer, "signed_nalu_decoupled", None, 3, 4, 2),
}


def randomise_(model, seed):
    """Move every parameter away from its initial value (so zero-initialised gates and Ŝ matter too),
    with numpy's draws: the same weights on every CPU (torch's randn differs by kernel level)."""
    g = np.random.default_rng(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.from_numpy(0.3 * g.standard_normal(p.shape, dtype=np.float32)))


def inputs(shape, seed, positive=False):
    g = torch.Generator().manual_seed(seed)
    if positive:  # the static task's inputs: U[1, 2] (the fast sign factor's shortcut)
        return 1 + torch.rand(shape, generator=g)
    x = 4 * torch.rand(shape, generator=g) - 2  # signed, some near zero
    x[..., 0, 0] = 0.0  # an exact zero too
    return x


def forward_backward(model, x):
    for p in model.parameters():
        p.grad = None
    y = model(x)
    (y * torch.linspace(0.5, 1.5, y.shape[-1])).sum().backward()
    return y.detach().clone(), {n: p.grad.clone() for n, p in model.named_parameters()}


def assert_same_function(model, x, rtol=1e-5):
    y_plain, g_plain = forward_backward(model, x)
    twin = accelerate(model)
    y_fast, g_fast = forward_backward(twin, x)
    torch.testing.assert_close(y_fast, y_plain, rtol=rtol, atol=1e-5)
    assert g_fast.keys() == g_plain.keys()
    for name in g_plain:
        scale = g_plain[name].abs().max().item() + 1e-6
        torch.testing.assert_close(g_fast[name], g_plain[name], rtol=1e-4, atol=1e-5 * scale, msg=name)


@pytest.mark.parametrize("variant", list(UNIT_VARIANTS))
def test_fast_and_plain_agree_on_a_single_model(variant):
    model = nalu.build(UNIT_VARIANTS[variant], 0)
    randomise_(model, 1)
    assert_same_function(model, inputs((16, 3), 2))


@pytest.mark.parametrize("variant", list(UNIT_VARIANTS))
@pytest.mark.parametrize("shared_input", [False, True])
@pytest.mark.parametrize("positive", [False, True], ids=["signed inputs", "positive inputs"])
def test_fast_and_plain_agree_on_a_stacked_model(variant, shared_input, positive):
    model = nalu.stack_models([nalu.build(UNIT_VARIANTS[variant], s) for s in range(3)])
    randomise_(model, 4)
    # (b) the fast and plain forms round differently. On positive inputs the fast sign factor is
    # exactly 1 where the plain product rounds each factor |W| + 1 − |W|; two layers of exp(W log|x|)
    # amplify that rounding to about 1e-5 relative. On signed inputs (an exact 0 among them, whose
    # log is log ε) two stacked log paths of fan-in 3 and 4 may differ by exp_log_rtol((3, 4)) ≈ 1e-4.
    rtol = 3e-5 if positive else 1e-5
    if variant.startswith("two-layer") and not positive:
        rtol = exp_log_rtol((3, 4))
    assert_same_function(model, inputs((16, 3) if shared_input else (3, 16, 3), 5, positive), rtol=rtol)


def test_the_twin_shares_parameters_and_state_dict_keys():
    model = nalu.stack_models([nalu.build(UNIT_VARIANTS["two-layer NALU"], s) for s in range(2)])
    twin = accelerate(model)
    assert is_accelerated(twin) and not is_accelerated(model)
    assert list(twin.state_dict()) == list(model.state_dict())
    assert all(p is q for p, q in zip(twin.parameters(), model.parameters()))
    with torch.no_grad():  # an optimiser step on the model is seen by the twin
        model[0].G.add_(1.0)
    x = inputs((2, 5, 3), 6)
    torch.testing.assert_close(twin(x), model(x), rtol=1e-5, atol=1e-5)
    twin.load_state_dict(model.state_dict())
    torch.testing.assert_close(nalu.unstack_model(model, 1)(x[1]), accelerate(nalu.unstack_model(model, 1))(x[1]),
                               rtol=1e-5, atol=1e-5)


def test_the_trainer_gets_the_same_runs_fast_and_plain():
    task = nalu.two_input("mul", (1.0, 2.0), (2.0, 6.0))
    factory = partial(nalu.NALU, 2, 1, shared=False, gate="linear")
    runs = [nalu.train(factory, nalu.FreshSamples(task, batch_size=16, eval_size=64), [0, 1, 2], steps=30, lr=0.01,
                       eval_every=10, fast=fast, progress=False) for fast in (False, True)]
    np.testing.assert_allclose(runs[1].log.mse, runs[0].log.mse, rtol=1e-3)


def test_a_subclass_of_a_unit_runs_its_own_forward_not_the_parents_fast_one():
    class Doubled(nalu.NALU):
        def forward(self, x):
            return 2 * super().forward(x)

    model = Doubled(3, 2)
    x = inputs((5, 3), 7)
    torch.testing.assert_close(accelerate(model)(x), model(x))


def test_accelerate_rejects_a_non_module():
    with pytest.raises(TypeError, match="nn.Module"):
        accelerate(lambda x: x)


@pytest.mark.parametrize("in_dim, out_dim", [(1, 3), (2, 2), (100, 2), (2, 64)])
@pytest.mark.parametrize("w_shape, x_shape", [((3,), (3, 7)), ((3,), (7,)), ((), (7,))],
                         ids=["stacked", "stacked, shared x", "single"])
def test_matvec_is_x_times_w_transposed_in_value_and_gradient(in_dim, out_dim, w_shape, x_shape):
    g = torch.Generator().manual_seed(in_dim * 100 + out_dim)
    W = torch.randn(*w_shape, out_dim, in_dim, generator=g, requires_grad=True)
    x = torch.randn(*x_shape, in_dim, generator=g, requires_grad=True)
    weights = torch.randn(out_dim, generator=g)
    grads = []
    for f in (lambda: x @ W.mT, lambda: matvec(W, x)):
        y = f()
        (y * weights).sum().backward()
        grads.append((y.detach(), W.grad.clone(), x.grad.clone()))
        W.grad = x.grad = None
    for plain, fast in zip(*grads):
        torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-5)


def test_kernels_match_their_plain_forms():
    g = torch.Generator().manual_seed(0)
    W, G, x = torch.randn(3, 2, 5, generator=g), torch.randn(3, 4, 5, generator=g), torch.randn(3, 7, 5, generator=g)
    torch.testing.assert_close(matvec(W, x), x @ W.mT)
    a, b = matvecs(x, W, G)
    torch.testing.assert_close(a, x @ W.mT)
    torch.testing.assert_close(b, x @ G.mT)


def test_log_abs_matches_torch_and_has_the_right_gradient():
    x = torch.tensor([[-2.5, 0.3, 4.0], [1e-3, -7.0, 0.0]], requires_grad=True)
    y = log_abs(x, 1e-7)
    assert torch.equal(y.detach(), torch.log(x.detach().abs() + 1e-7))  # the plain form's numbers, bit for bit
    big = torch.rand(7, 129, 33) * 20 - 10  # a size that vectorised kernels split into blocks and a tail
    assert torch.equal(log_abs(big, 1e-5), torch.log(big.abs() + 1e-5))
    y.sum().backward()
    xd = x.detach()
    torch.testing.assert_close(x.grad, torch.sign(xd) / (xd.abs() + 1e-7))
    xd64 = torch.tensor([[-2.5, 0.3, 4.0]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: log_abs(t, 1e-7), (xd64,))


@pytest.mark.parametrize("positive", [False, True], ids=["signed inputs", "positive inputs"])
def test_fast_sign_factor_is_the_plain_one_in_value_and_gradient(positive):
    x = inputs((4, 16, 5), 7, positive)
    w_fast = (torch.rand(4, 3, 5, generator=torch.Generator().manual_seed(8)) * 2 - 1).requires_grad_()
    w_plain = w_fast.detach().clone().requires_grad_()
    s_fast, s_plain = sign_factor_fast(x, w_fast), sign_factor(x, w_plain)
    torch.testing.assert_close(s_fast.expand_as(s_plain), s_plain, rtol=1e-6, atol=1e-6)
    (s_fast * torch.linspace(0.5, 1.5, 3)).sum().backward()
    (s_plain * torch.linspace(0.5, 1.5, 3)).sum().backward()
    assert w_fast.grad is not None  # W stays in the graph, so Adam sees a zero gradient, as in the plain run
    torch.testing.assert_close(w_fast.grad, w_plain.grad, rtol=1e-5, atol=1e-6)
    if positive:
        assert torch.equal(w_fast.grad, torch.zeros_like(w_fast))


@pytest.mark.parametrize("bitgen", [np.random.SFC64, np.random.PCG64, np.random.PCG64DXSM, np.random.MT19937,
                                    np.random.Philox])
@pytest.mark.parametrize("sizes", [[(3, 4)], [(5,), (2, 3)], [(7,), (4,)], [(1,), (1,), (6, 2)]])
def test_fast_uniform_draws_are_numpys_own(bitgen, sizes):
    """Same numbers as rng.random(dtype=float32), call after call, whatever the parity of the sizes."""
    fast, ref = np.random.Generator(bitgen(11)), np.random.Generator(bitgen(11))
    for shape in sizes:
        np.testing.assert_array_equal(uniform_float32(fast, shape), ref.random(shape, dtype=np.float32))
    out = np.empty((4, 6), np.float32)[:, ::2]  # not contiguous: the fallback path
    np.testing.assert_array_equal(uniform_float32(fast, out.shape, out), ref.random((4, 3), np.float32))
    np.testing.assert_array_equal(fast.random(9), ref.random(9))  # and the generators are left in step


def test_task_sampling_uses_the_fast_draws_and_equals_numpys():
    r = nalu.Ranges((1.0, 3.0))
    x = r.sample((6, 4), nalu.rng_for(0, 1))
    ref = nalu.rng_for(0, 1).random((6, 4), dtype=np.float32) * np.float32(2.0) + np.float32(1.0)
    np.testing.assert_array_equal(x, ref)


def test_a_full_batch_nalu_trains_alike_fast_and_plain():
    x = np.random.default_rng(0).uniform(0.1, 2, (64, 4)).astype(np.float32)
    y = np.random.default_rng(1).uniform(0, 4, (64, 1)).astype(np.float32)
    data = nalu.Dataset(x, y, {"train": (x, y)})

    def weights(steps, fast):
        return nalu.train(lambda: nalu.two_layer("nalu", None, 4, 2, 1), nalu.FixedData(data, batch_size=None),
                          [0, 1], steps=steps, lr=0.05, eval_every=steps, fast=fast, progress=False).final_weights

    # (b) over a few steps (at lr 0.05 this NALU's training amplifies float rounding, so longer runs
    # drift apart): the fast and plain units round differently, within the units' rtol of 1e-5
    fast, plain = weights(2, True), weights(2, False)
    for name in fast:
        np.testing.assert_allclose(fast[name], plain[name], rtol=1e-5, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("case", ["one zero input", "one NaN input", "one negative input", "no rows"])
def test_fast_sign_factor_takes_the_plain_path_unless_every_input_is_positive(case):
    """The shortcut is taken only when all inputs are > 0: a zero, a NaN or a negative input anywhere
    (here in the last seed's last row) gives the plain factors; an empty batch too."""
    x = inputs((3, 8, 4), 9, True)
    if case == "no rows":
        x = x[:, :0]
    else:
        x[-1, -1, -1] = {"one zero input": 0.0, "one NaN input": float("nan"), "one negative input": -0.5}[case]
    w = torch.rand(3, 2, 4, generator=torch.Generator().manual_seed(4)) * 2 - 1
    fast, plain = sign_factor_fast(x, w), sign_factor(x, w)
    assert fast.shape == plain.shape  # the plain path's (seeds, rows, out), not the shortcut's (seeds, 1, out)
    torch.testing.assert_close(fast, plain, equal_nan=True)
