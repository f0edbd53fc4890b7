"""Each unit's forward pass equals its equation computed by hand, and exact weights solve their tasks."""

import math

import numpy as np
import pytest
import torch

import nalu

torch.set_default_dtype(torch.float32)


def set_(param, values):
    with torch.no_grad():
        param.copy_(torch.as_tensor(values, dtype=param.dtype))


@pytest.fixture
def x():
    return torch.tensor([[1.5, -2.0, 2.5], [0.5, 3.0, -1.0]])


def test_nac_forward_is_tanh_times_sigmoid_then_matmul(x):
    nac = nalu.NAC(3, 2)
    W = np.tanh(nac.W_hat.detach().numpy()) / (1 + np.exp(-nac.M_hat.detach().numpy()))
    expected = x.numpy() @ W.T
    np.testing.assert_allclose(nac(x).detach().numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shared", [True, False])
def test_nalu_forward_equals_equation(x, shared):
    unit = nalu.NALU(3, 2, shared=shared, eps=1e-7)
    W_a = unit.nac.W.detach().numpy()
    W_m = W_a if shared else unit.nac_log.W.detach().numpy()
    G = unit.G.detach().numpy()
    xn = x.numpy().astype(np.float64)
    a = xn @ W_a.T
    m = np.exp(np.log(np.abs(xn) + 1e-7) @ W_m.T)
    g = 1 / (1 + np.exp(-(xn @ G.T)))
    np.testing.assert_allclose(unit(x).detach().numpy(), g * a + (1 - g) * m, rtol=1e-5, atol=1e-6)


def exact_nac_(nac, W):
    """Latent weights that saturate tanh ⊙ σ at W ∈ {−1, 0, 1} (to float32 precision)."""
    W = torch.as_tensor(W, dtype=torch.float32)
    set_(nac.W_hat, 20 * W)
    set_(nac.M_hat, torch.where(W == 0, -20.0, 20.0))


def test_nac_with_exact_weights_adds_and_subtracts():
    nac = nalu.NAC(3, 2)
    exact_nac_(nac, [[1, 1, 0], [1, -1, 0]])
    x = torch.tensor([[3.0, 4.0, 100.0], [-7.5, 2.0, 1.0]])
    np.testing.assert_allclose(nac(x).detach().numpy(), [[7.0, -1.0], [-5.5, -9.5]], rtol=1e-5)


def gate_to_log_path_(unit):
    set_(unit.G, torch.full_like(unit.G, 0.0))  # replaced below by a strongly negative logit
    # G x must be very negative for every input: choose G = −50 on a positive input column
    G = torch.zeros_like(unit.G)
    G[:, 0] = -50.0
    set_(unit.G, G)


def test_nalu_with_exact_weights_multiplies_positive_inputs():
    unit = nalu.NALU(3, 1)
    exact_nac_(unit.nac, [[1, 1, 0]])
    gate_to_log_path_(unit)
    x = torch.tensor([[1.5, 2.0, 2.5], [3.0, 0.5, 9.0]])
    np.testing.assert_allclose(unit(x).detach().numpy().ravel(), [3.0, 1.5], rtol=1e-4)


def test_plain_nalu_gets_the_sign_wrong_and_signed_nalu_gets_it_right():
    x = torch.tensor([[1.5, -2.0, 2.5]])
    plain = nalu.NALU(3, 1)
    exact_nac_(plain.nac, [[1, 1, 0]])
    gate_to_log_path_(plain)
    assert plain(x).item() == pytest.approx(3.0, rel=1e-4)  # the sign is lost: +3, not −3

    signed = nalu.SignedNALU(3, 1)
    exact_nac_(signed.nac_log, [[1, 1, 0]])
    set_(signed.g_hat, [-30.0])
    assert signed(x).item() == pytest.approx(-3.0, rel=1e-4)
    # and a quotient: x1 / x2 = −0.75
    exact_nac_(signed.nac_log, [[1, -1, 0]])
    assert signed(x).item() == pytest.approx(-0.75, rel=1e-4)


def test_signed_nalu_forward_equals_equation(x):
    unit = nalu.SignedNALU(3, 2)
    set_(unit.g_hat, [0.3, -1.2])
    W_a, W_m = unit.nac.W.detach().numpy(), unit.nac_log.W.detach().numpy()
    xn = x.numpy().astype(np.float64)
    a = xn @ W_a.T
    s = np.prod(np.sign(xn)[:, None, :] * np.abs(W_m)[None] + 1 - np.abs(W_m)[None], axis=-1)
    m = np.exp(np.log(np.abs(xn) + 1e-7) @ W_m.T) * s
    g = 1 / (1 + np.exp(-np.array([0.3, -1.2])))
    np.testing.assert_allclose(unit(x).detach().numpy(), g * a + (1 - g) * m, rtol=1e-5, atol=1e-6)


def test_inalu_forward_equals_equation_and_clips_the_exponent():
    unit = nalu.INALU(2, 1, omega=3.0)
    exact_nac_(unit.nac_mul, [[1, 1]])
    set_(unit.g_hat, [-40.0])
    x = torch.tensor([[1.5, -2.0], [10.0, 10.0]])
    y = unit(x).detach().numpy().ravel()
    assert y[0] == pytest.approx(-3.0, rel=1e-4)
    assert y[1] == pytest.approx(math.exp(3.0), rel=1e-4)  # log(100) > ω = 3 is clipped
    assert unit.regularizer().shape == ()


def test_nau_forward_clamp_and_regularizer():
    nau = nalu.NAU(3, 1)
    set_(nau.W, [[0.2, -1.7, 1.0]])
    x = torch.tensor([[1.0, 2.0, 3.0]])
    assert nau(x).item() == pytest.approx(0.2 - 3.4 + 3.0)
    nau.clamp_weights_()
    np.testing.assert_allclose(nau.W.detach().numpy(), [[0.2, -1.0, 1.0]])
    assert nau.regularizer().item() == pytest.approx((0.2 + 0 + 0) / 3, rel=1e-6)


def test_nmu_forward_equals_equation_and_multiplies_negatives():
    nmu = nalu.NMU(3, 1)
    set_(nmu.W, [[0.3, 0.9, 0.5]])
    x = torch.tensor([[1.5, -2.0, 2.5]])
    expected = np.prod([0.3 * 1.5 + 0.7, 0.9 * -2.0 + 0.1, 0.5 * 2.5 + 0.5])
    assert nmu(x).item() == pytest.approx(expected, rel=1e-6)
    set_(nmu.W, [[1.0, 1.0, 0.0]])
    assert nmu(x).item() == pytest.approx(-3.0)
    set_(nmu.W, [[1.4, -0.2, 0.5]])
    nmu.clamp_weights_()
    np.testing.assert_allclose(nmu.W.detach().numpy(), [[1.0, 0.0, 0.5]])


def test_realnpu_forward_equals_equation_and_multiplies_negatives():
    npu = nalu.RealNPU(3, 1, eps=1e-7)
    set_(npu.W, [[0.7, -0.4, 1.1]])
    set_(npu.g_hat, [0.2, 0.9, 0.6])
    x = torch.tensor([[1.5, -2.0, 2.5]])
    g = np.array([0.2, 0.9, 0.6])
    W = np.array([0.7, -0.4, 1.1])
    xn = np.array([1.5, -2.0, 2.5])
    r = g * np.abs(xn) + 1 - g
    k = g * (xn < 0)
    expected = np.exp(np.log(r + 1e-7) @ W) * np.cos(np.pi * (k @ W))
    assert npu(x).item() == pytest.approx(expected, rel=1e-5)
    # exact solution of x1 * x2: W = [1, 1, 0], gate open on the used inputs
    set_(npu.W, [[1.0, 1.0, 0.0]])
    set_(npu.g_hat, [1.0, 1.0, 0.0])
    assert npu(x).item() == pytest.approx(-3.0, rel=1e-5)
    # and the quotient x1 / x2
    set_(npu.W, [[1.0, -1.0, 0.0]])
    assert npu(x).item() == pytest.approx(-0.75, rel=1e-5)


def test_mlp_and_vanilla_forward():
    mlp = nalu.MLP(2, 1, hidden=(4, 3), activation="tanh")
    x = torch.randn(5, 2, generator=torch.Generator().manual_seed(0))
    h = x
    for layer in mlp.layers[:-1]:
        h = torch.tanh(h @ layer.W.T + layer.b)
    expected = h @ mlp.layers[-1].W.T + mlp.layers[-1].b
    torch.testing.assert_close(mlp(x), expected)
    van = nalu.VanillaNet(2, 3)
    torch.testing.assert_close(van(x), torch.relu(x @ van.fc.W.T + van.fc.b))


def test_stacked_forward_equals_each_model():
    factory = lambda: nalu.two_layer("nalu", None, 4, 2, 1)
    models = [nalu.build(factory, s) for s in range(3)]
    stacked = nalu.stack_models(models)
    x = torch.rand(3, 5, 4, generator=torch.Generator().manual_seed(1)) + 0.5
    y = stacked(x)
    for s, m in enumerate(models):
        torch.testing.assert_close(y[s], m(x[s]))
    shared = torch.rand(5, 4, generator=torch.Generator().manual_seed(2))
    for s, m in enumerate(models):
        torch.testing.assert_close(stacked(shared)[s], m(shared))
    torch.testing.assert_close(nalu.unstack_model(stacked, 1)(shared), models[1](shared))


@pytest.mark.parametrize("name", sorted(nalu.UNITS))
def test_every_unit_stacks_and_builds_deterministically(name):
    factory = lambda: nalu.make_unit(name, 3, 2)
    a, b = nalu.build(factory, 5), nalu.build(factory, 5)
    c = nalu.build(factory, 6)
    pa, pb, pc = [torch.cat([p.flatten() for p in m.parameters()]) for m in (a, b, c)]
    assert torch.equal(pa, pb)
    assert not torch.equal(pa, pc) or name in ()
    stacked = nalu.stack_models([a, c])
    x = torch.rand(2, 4, 3) + 0.1
    torch.testing.assert_close(stacked(x)[1], c(x[1]))


def test_build_does_not_touch_the_global_rng():
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    nalu.build(lambda: nalu.NALU(10, 3), seed=7)
    assert torch.equal(torch.rand(3), before)


@pytest.mark.parametrize(
    "call",
    [
        lambda: nalu.NAC(0, 1),
        lambda: nalu.NALU(3, -1),
        lambda: nalu.NALU(3, 1, eps=0.0),
        lambda: nalu.SignedNALU(3, 1, gate="sometimes"),
        lambda: nalu.INALU(3, 1, omega=-1.0),
        lambda: nalu.MLP(3, 1, activation="swishy"),
        lambda: nalu.MLP(3, 1, hidden=(0,)),
        lambda: nalu.make_unit("nalu2", 3, 1),
        lambda: nalu.build(lambda: nalu.NAC(2, 1), seed=-1),
        lambda: nalu.stack_models([]),
    ],
)
def test_bad_unit_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_value_error_names_the_bad_value():
    with pytest.raises(ValueError, match="swishy"):
        nalu.MLP(3, 1, activation="swishy")
    with pytest.raises(ValueError, match="nalu2"):
        nalu.make_unit("nalu2", 3, 1)


def test_log_abs_matches_torch_and_has_the_right_gradient():
    x = torch.tensor([[-2.5, 0.3, 4.0], [1e-3, -7.0, 0.0]], requires_grad=True)
    y = nalu.units.log_abs(x, 1e-7)
    ref = torch.log(x.detach().abs() + 1e-7)
    torch.testing.assert_close(y.detach(), ref, rtol=1e-6, atol=1e-6)
    y.sum().backward()
    xd = x.detach()
    torch.testing.assert_close(x.grad, torch.sign(xd) / (xd.abs() + 1e-7))
    xd64 = torch.tensor([[-2.5, 0.3, 4.0]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: nalu.units.log_abs(t, 1e-7), (xd64,))
