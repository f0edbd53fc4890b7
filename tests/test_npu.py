"""The Neural Power Units of Heim, Pevný & Šmídl (2020): the NPU (with imaginary weights) and the
NaiveNPU (without the relevance gate) against NumPy implementations of the paper's equations, and
the speed layer's twin against the plain forward.

Two NumPy references are written here from the paper, independently of ``nalu.units``:
``paper_npu`` is its definition (eq. 7 with the relevance gate, def. 3), in real arithmetic, and
``complex_npu`` is what that definition is derived from, Re exp(W log x) with complex W and the
complex logarithm, in complex128.

Equality kinds (tests/tolerances.py): (a) exact: the same seed built twice; the NPU with W_im = 0
against the RealNPU (the same operations on the same numbers); training runs of the NPU and the
RealNPU on positive inputs (W_im's gradient is exactly zero there, so both runs are the same
computation). (b) float32 against float64 NumPy, the fast twin against the plain forward and a
stack against its members: bounds from float32 rounding, stated at each assertion.
"""

import math

import numpy as np
import pytest
import torch

import nalu
from nalu.fast import accelerate
from tolerances import U32, exp_log_rtol

EPS = 1e-7


# --- the paper's equations, in NumPy ----------------------------------------------------------

def paper_npu(x, w_re, w_im, g, eps=EPS):
    """Heim et al. def. 3 (NPU), float64: ĝ = min(max(g, 0), 1), r = ĝ|x| + 1 − ĝ, k_i = ĝ_i for x_i < 0
    (else 0), z = exp(W_re log r − π W_im k) ⊙ cos(W_im log r + π W_re k). g = 1 everywhere is the
    NaiveNPU (def. 2: r = |x|, k = [x < 0])."""
    x, w_re, w_im = (np.asarray(a, dtype=np.float64) for a in (x, w_re, w_im))
    g_hat = np.clip(np.asarray(g, dtype=np.float64), 0.0, 1.0)
    r = g_hat * np.abs(x) + (1.0 - g_hat)
    k = np.where(x < 0, g_hat, 0.0)
    log_r = np.log(r + eps)
    return np.exp(log_r @ w_re.T - np.pi * k @ w_im.T) * np.cos(log_r @ w_im.T + np.pi * k @ w_re.T)


def complex_npu(x, w_re, w_im, g, eps=EPS):
    """The same unit as complex arithmetic: Re exp((W_re + i W_im) · (log r + iπk)), complex128."""
    x = np.asarray(x, dtype=np.float64)
    g_hat = np.clip(np.asarray(g, dtype=np.float64), 0.0, 1.0)
    log_x = np.log(g_hat * np.abs(x) + 1.0 - g_hat + eps) + 1j * np.pi * np.where(x < 0, g_hat, 0.0)
    W = np.asarray(w_re, dtype=np.float64) + 1j * np.asarray(w_im, dtype=np.float64)
    return np.real(np.exp(log_x @ W.T))


def set_(param, values):
    with torch.no_grad():
        param.copy_(torch.as_tensor(values, dtype=param.dtype))


def weights(shape, seed, scale=0.8):
    return scale * np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


X = torch.tensor([[1.5, -2.0, 0.5], [-0.3, 3.0, -1.0], [2.0, 0.25, 1.2], [-4.0, -0.1, 0.8]])
G = [0.9, 0.4, 0.7]


def bound(x, w_re, w_im, g):
    """(b) float32 against float64 for one layer: the exponent W_re log r − π W_im k and the phase
    W_im log r + π W_re k each sum 2n terms, rounded by at most 2n·u·Σ|terms| (plus the rounding of
    log r, |log r|·u per term); z errs by that relative to exp(modulus) (the cos is 1-Lipschitz).
    Returns (rtol, atol): the exponent's relative bound, and the phase's bound times max exp(modulus)."""
    xn = np.asarray(x, dtype=np.float64)
    g_hat = np.clip(np.asarray(g, dtype=np.float64), 0, 1)
    log_r = np.abs(np.log(g_hat * np.abs(xn) + 1 - g_hat + EPS))
    k = np.pi * np.where(xn < 0, g_hat, 0.0)
    terms = log_r @ (np.abs(w_re) + np.abs(w_im)).T + k @ (np.abs(w_re) + np.abs(w_im)).T  # Σ|terms| per output
    n = 2 * xn.shape[-1]
    err = 4 * n * U32 * terms.max() + 8 * U32  # exponent / phase error (a few extra u for log, π and exp)
    modulus = np.exp(log_r @ np.abs(w_re).T + k @ np.abs(w_im).T).max()
    return err, err * modulus


# --- the NPU ----------------------------------------------------------------------------------

def test_npu_forward_is_the_papers_equation_and_its_complex_form():
    npu = nalu.NPU(3, 2, eps=EPS)
    w_re, w_im = weights((2, 3), 1), weights((2, 3), 2)
    set_(npu.W, w_re), set_(npu.W_im, w_im), set_(npu.g_hat, G)
    y = npu(X).detach().numpy()
    expected = paper_npu(X.numpy(), w_re, w_im, G)
    # the two references agree to float64 rounding: the paper's formula is the complex power's real part
    np.testing.assert_allclose(complex_npu(X.numpy(), w_re, w_im, G), expected, rtol=1e-12, atol=1e-12)
    rtol, atol = bound(X.numpy(), w_re, w_im, G)
    np.testing.assert_allclose(y, expected, rtol=rtol, atol=atol)


def test_npu_exact_weights_multiply_divide_and_take_roots_of_signed_inputs():
    npu = nalu.NPU(3, 3)
    x = torch.tensor([[1.5, -2.0, 2.5], [-3.0, -0.5, 7.0]])
    # rows: x1·x2, x1 / x2, √|x3| (gate closed on the unused inputs: r_i = 1, k_i = 0)
    set_(npu.W, [[1.0, 1.0, 0.0], [1.0, -1.0, 0.0], [0.0, 0.0, 0.5]])
    set_(npu.W_im, np.zeros((3, 3)))
    set_(npu.g_hat, [1.0, 1.0, 1.0])
    y = npu(x).detach().numpy()
    want = np.array([[-3.0, -0.75], [1.5, 6.0]])
    # (b) exp(log|a| + log|b|) and the cos of a multiple of π, each a few float32 roundings: 1e-5 relative
    np.testing.assert_allclose(y[:, :2], want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y[:, 2], np.sqrt([2.5, 7.0]), rtol=1e-5)


def test_npu_with_zero_imaginary_weights_is_the_realnpu_bit_for_bit():
    # NPU's W_im is created last and draws nothing: a seed gives the RealNPU's W and ĝ, and with W_im = 0
    # the modulus and phase add exact zeros, so the output is the RealNPU's, bit for bit (a)
    npu, real = nalu.build(lambda: nalu.NPU(3, 2), 7), nalu.build(lambda: nalu.RealNPU(3, 2), 7)
    assert torch.equal(npu.W, real.W) and torch.equal(npu.g_hat, real.g_hat)
    assert torch.equal(npu.W_im, torch.zeros(2, 3))
    set_(npu.g_hat, G), set_(real.g_hat, G)
    assert torch.equal(npu(X), real(X))


def test_npu_gradients_are_the_complex_derivatives():
    # z_j = Re exp(Σ_i W_ji L_i) with L = log r + iπk:  ∂z_j/∂W_re,ji = Re(e_j L_i),  ∂z_j/∂W_im,ji = −Im(e_j L_i)
    npu = nalu.NPU(3, 2)
    w_re, w_im = weights((2, 3), 3, 0.5), weights((2, 3), 4, 0.5)
    set_(npu.W, w_re), set_(npu.W_im, w_im), set_(npu.g_hat, G)
    npu(X).sum().backward()
    xn = X.numpy().astype(np.float64)
    g = np.asarray(G)
    L = np.log(g * np.abs(xn) + 1 - g + EPS) + 1j * np.pi * np.where(xn < 0, g, 0.0)  # (batch, in)
    e = np.exp(L @ (w_re + 1j * w_im).astype(np.complex128).T)  # (batch, out)
    d_re = np.real(e[:, :, None] * L[:, None, :]).sum(0)
    d_im = -np.imag(e[:, :, None] * L[:, None, :]).sum(0)
    # (b) a float32 backward pass: each gradient a sum over 4 rows of products of float32 values, 1e-5 relative
    scale = np.abs(e).max() * np.abs(L).max()
    np.testing.assert_allclose(npu.W.grad.numpy(), d_re, rtol=1e-4, atol=1e-5 * scale)
    np.testing.assert_allclose(npu.W_im.grad.numpy(), d_im, rtol=1e-4, atol=1e-5 * scale)


def test_npu_imaginary_weights_get_no_gradient_on_positive_inputs_from_zero():
    # with k = 0 (no negative input) and W_im = 0 the phase is 0, so ∂z/∂W_im = −sin(0)·exp(·)·log r = 0 exactly
    npu = nalu.NPU(2, 3)
    x = torch.tensor([[0.5, 1.9], [0.1, 1.2]])
    npu(x).sum().backward()
    assert torch.equal(npu.W_im.grad, torch.zeros(3, 2))
    assert bool((npu.W.grad != 0).any())


def test_npu_trains_as_the_realnpu_on_positive_inputs():
    # consequence on a positive-input task (Heim et al.'s simple task trains on U(0.1, 2)): W_im stays 0 and the
    # NPU's run is the RealNPU's, bit for bit, when both run the same (plain) kernels (a)
    task = nalu.two_input("mul", (0.1, 2.0), (2.0, 4.0))
    runs = {name: nalu.train(lambda name=name: nalu.Stack(nalu.make_unit(name, 2, 3), nalu.NAU(3, 1)),
                             nalu.FreshSamples(task, batch_size=16, eval_size=32), [0, 1], steps=40, lr=5e-3,
                             eval_every=20, fast=False, progress=False)
            for name in ("npu", "realnpu")}
    npu, real = runs["npu"].final_weights, runs["realnpu"].final_weights
    assert not npu["0.W_im"].any()
    for name in ("0.W", "0.g_hat", "1.W"):
        np.testing.assert_array_equal(npu[name], real[name], err_msg=name)


def test_npu_clamps_its_gate_and_regularises_all_three_weights():
    npu = nalu.NPU(3, 2)
    set_(npu.W, [[0.5, -1.0, 0.0], [2.0, 0.0, 0.5]])
    set_(npu.W_im, [[0.0, 0.3, 0.0], [-0.3, 0.0, 0.0]])
    set_(npu.g_hat, [1.4, -0.2, 0.5])
    npu.clamp_weights_()
    np.testing.assert_array_equal(npu.g_hat.detach().numpy(), np.float32([1.0, 0.0, 0.5]))
    # R = mean|W| + mean|W_im| + mean ĝ = 4/6 + 0.6/6 + 0.5 (b: a few float32 roundings)
    assert npu.regularizer().item() == pytest.approx(4 / 6 + 0.6 / 6 + 0.5, rel=1e-6)


# --- the NaiveNPU -----------------------------------------------------------------------------

def test_naive_npu_is_the_npu_with_the_gate_fully_open():
    naive = nalu.NaiveNPU(3, 2, eps=EPS)
    w_re, w_im = weights((2, 3), 5), weights((2, 3), 6)
    set_(naive.W, w_re), set_(naive.W_im, w_im)
    y = naive(X).detach().numpy()
    ones = np.ones(3)
    expected = paper_npu(X.numpy(), w_re, w_im, ones)  # def. 2: r = |x|, k = [x < 0]
    rtol, atol = bound(X.numpy(), w_re, w_im, ones)
    np.testing.assert_allclose(y, expected, rtol=rtol, atol=atol)
    # and it is Re exp(W log x) with numpy's own complex logarithm of x (log|x| + iπ for x < 0); ε = 1e-7 moves
    # log|x| by at most ε/min|x| = 1e-6 here, times Σ|W| ≤ 3 · max|W| in the exponent
    W = w_re.astype(np.float64) + 1j * w_im.astype(np.float64)
    exact = np.real(np.exp(np.log(X.numpy().astype(np.complex128)) @ W.T))
    shift = 3 * np.abs(W).max() * EPS / np.abs(X.numpy()).min()
    np.testing.assert_allclose(y, exact, rtol=rtol + shift, atol=atol * (1 + shift) + shift * np.abs(exact).max())


def test_naive_npu_starts_from_the_npus_real_weights_and_has_no_gate():
    naive, npu = nalu.build(lambda: nalu.NaiveNPU(4, 3), 11), nalu.build(lambda: nalu.NPU(4, 3), 11)
    assert torch.equal(naive.W, npu.W) and not naive.W_im.any()
    assert {n for n, _ in naive.named_parameters()} == {"W", "W_im"}
    set_(naive.W, [[1.0, 1.0, 0.0, 0.0], [1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    x = torch.tensor([[-2.0, 3.0, 0.0, -1.5]])  # an exact zero among the unused inputs: 0^0 = exp(0 · log ε) = 1
    # (b) a few float32 roundings of exp(log|a| ± log|b|), 1e-5 relative
    np.testing.assert_allclose(naive(x).detach().numpy(), [[-6.0, -2.0 / 3.0, -1.5]], rtol=1e-5)
    R = naive.regularizer().item()
    assert R == pytest.approx(5 / 12, rel=1e-6)  # mean |W| + mean |W_im| = 5/12 + 0


# --- both: stacking, registry, the fast twin, bad input ----------------------------------------

@pytest.mark.parametrize("name", ["npu", "naive_npu"])
def test_registry_and_stacked_seeds(name):
    unit = nalu.make_unit(name, 3, 2)
    assert type(unit) is {"npu": nalu.NPU, "naive_npu": nalu.NaiveNPU}[name]
    models = [nalu.build(lambda: nalu.make_unit(name, 3, 2), s) for s in range(3)]
    for i, m in enumerate(models):
        set_(m.W_im, weights((2, 3), 20 + i, 0.3))
    stacked = nalu.stack_models(models)
    # (b) a batched product against three single ones: another kernel, rounding as exp_log_rtol for fan-in 3
    # (doubled for the phase, which rounds as the exponent does)
    rtol = 2 * exp_log_rtol((3,))
    y = stacked(X)
    for i, m in enumerate(models):
        torch.testing.assert_close(y[i], m(X), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("factory", [
    lambda: nalu.Stack(nalu.NPU(3, 4), nalu.NAU(4, 2)),
    lambda: nalu.Stack(nalu.NaiveNPU(3, 4), nalu.NAU(4, 2)),
    lambda: nalu.Stack(nalu.RealNPU(3, 4), nalu.NAU(4, 2)),
    lambda: nalu.two_layer("npu", None, 3, 4, 2),
], ids=["NPU→NAU", "NaiveNPU→NAU", "RealNPU→NAU", "NPU→NPU"])
def test_fast_twin_equals_plain_forward_and_backward(factory):
    # The trainer runs ``accelerate(model)``. The NPU and NaiveNPU have no fast forward (the RealNPU's, which
    # ignores W_im, must not be used for its subclass NPU); the NAU and the RealNPU do. Stacked seeds.
    model = nalu.stack_models([nalu.build(factory, s) for s in range(3)])
    g = np.random.default_rng(9)
    with torch.no_grad():
        for p in model.parameters():  # move every weight (W_im too) away from its start
            p.add_(torch.from_numpy(0.3 * g.standard_normal(p.shape).astype(np.float32)))
        for m in model.modules():
            if hasattr(m, "g_hat"):
                m.g_hat.clamp_(0, 1)
    x = torch.from_numpy(g.uniform(-2, 2, (3, 16, 3)).astype(np.float32))
    outs = []
    for run in (model, accelerate(model)):
        for p in model.parameters():
            p.grad = None
        y = run(x)
        y.sum().backward()
        outs.append((y.detach().clone(), [p.grad.clone() for p in model.parameters()]))
    (y_plain, g_plain), (y_fast, g_fast) = outs
    # (b) the fast NAU (and RealNPU) compute (W xᵀ)ᵀ instead of x Wᵀ: another summation order; two layers of
    # exp(W log r) of fan-in 3 then a sum of 4 terms, as exp_log_rtol((3, 4)) bounds
    rtol = exp_log_rtol((3, 4))
    torch.testing.assert_close(y_fast, y_plain, rtol=rtol, atol=rtol * y_plain.abs().max().item())
    for a, b in zip(g_fast, g_plain):
        torch.testing.assert_close(a, b, rtol=rtol, atol=rtol * b.abs().max().item() + 1e-6)


@pytest.mark.parametrize("cls", [nalu.NPU, nalu.NaiveNPU])
def test_bad_arguments_raise_value_errors_naming_them(cls):
    with pytest.raises(ValueError, match="in_dim"):
        cls(0, 2)
    with pytest.raises(ValueError, match="out_dim"):
        cls(2, 1.5)
    with pytest.raises(ValueError, match="eps"):
        cls(2, 2, eps=0.0)
    with pytest.raises(ValueError, match="unknown unit 'npu_complex'"):
        nalu.make_unit("npu_complex", 2, 2)


def test_complex_power_is_the_real_part_of_a_complex_power():
    log_r = torch.tensor([[0.3, -1.2]])
    k = torch.tensor([[0.0, 1.0]])
    w_re, w_im = torch.tensor([[0.5, 2.0]]), torch.tensor([[-0.25, 0.4]])
    L = np.array([0.3, -1.2]) + 1j * math.pi * np.array([0.0, 1.0])
    want = np.real(np.exp(L @ (np.array([0.5, 2.0]) + 1j * np.array([-0.25, 0.4]))))
    # (b) four float32 products and sums, then exp and cos: 1e-5 relative of exp(modulus) (here ~ 0.13)
    assert nalu.complex_power(log_r, k, w_re, w_im).item() == pytest.approx(want, rel=1e-5, abs=1e-6)
