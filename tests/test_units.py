"""Each unit's forward pass equals its equation computed by hand, and exact weights solve their tasks.

Equality kinds (tests/tolerances.py): (a) exact: the same seed built twice, parameters copied, the
RNG state restored; (b) a unit against its equation computed by hand: float32 rounding of a few
operations, rtol ≈ 1e-5 unless stated.
"""

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


# --- every variant option changes the output ------------------------------------------------------

def with_same_weights(base_factory, variant_factory, seed=0):
    """Both units built from one seed, the variant's parameters that the base also has copied from it;
    parameters only the variant has keep their own (random or documented) initial values."""
    base, variant = nalu.build(base_factory, seed), nalu.build(variant_factory, seed)
    own = dict(base.named_parameters())
    with torch.no_grad():
        for name, p in variant.named_parameters():
            if name in own and own[name].shape == p.shape:
                p.copy_(own[name])
    return base, variant


X_OPTIONS = torch.tensor([[1.5, -2.0, 0.5], [3.0, 0.25, -1.0], [1e-4, 4.0, 2.0], [0.0, -0.3, 7.0]])

OPTIONS = {  # option: (base, variant) for the same shapes
    "NALU shared=False": (lambda: nalu.NALU(3, 2), lambda: nalu.NALU(3, 2, shared=False)),
    "NALU gate='linear'": (lambda: nalu.NALU(3, 2), lambda: nalu.NALU(3, 2, gate="linear")),
    "NALU shared=False, gate='linear'": (lambda: nalu.NALU(3, 2, shared=False),
                                         lambda: nalu.NALU(3, 2, shared=False, gate="linear")),
    "NALU eps": (lambda: nalu.NALU(3, 2), lambda: nalu.NALU(3, 2, eps=1e-2)),
    "SignedNALU gate='input'": (lambda: nalu.SignedNALU(3, 2), lambda: nalu.SignedNALU(3, 2, gate="input")),
    "SignedNALU shared=True": (lambda: nalu.SignedNALU(3, 2), lambda: nalu.SignedNALU(3, 2, shared=True)),
    "SignedNALU decoupled_sign=True": (lambda: nalu.SignedNALU(3, 2),
                                       lambda: nalu.SignedNALU(3, 2, decoupled_sign=True)),
    "SignedNALU eps": (lambda: nalu.SignedNALU(3, 2), lambda: nalu.SignedNALU(3, 2, eps=1e-2)),
    "INALU omega": (lambda: nalu.INALU(3, 2), lambda: nalu.INALU(3, 2, omega=0.1)),
    "INALU eps": (lambda: nalu.INALU(3, 2), lambda: nalu.INALU(3, 2, eps=1e-2)),
    "RealNPU eps": (lambda: nalu.RealNPU(3, 2), lambda: nalu.RealNPU(3, 2, eps=1e-2)),
    "Linear bias=False": (lambda: nalu.Linear(3, 2), lambda: nalu.Linear(3, 2, bias=False)),
    "MLP activation": (lambda: nalu.MLP(3, 2, activation="relu"), lambda: nalu.MLP(3, 2, activation="tanh")),
}


@pytest.mark.parametrize("option", list(OPTIONS))
def test_every_variant_option_changes_the_forward_output(option):
    base, variant = with_same_weights(*OPTIONS[option])
    if option == "INALU omega":  # make the exponent exceed the small ω on some rows
        exact_nac_(base.nac_mul, [[1, 1, 0], [0, 1, 1]])
        exact_nac_(variant.nac_mul, [[1, 1, 0], [0, 1, 1]])
    with torch.no_grad():
        y_base, y_variant = base(X_OPTIONS), variant(X_OPTIONS)
    assert y_base.shape == y_variant.shape
    assert torch.isfinite(y_base).all() and torch.isfinite(y_variant).all()
    assert not torch.allclose(y_base, y_variant, rtol=1e-3, atol=1e-4), option


def test_inalu_t_changes_the_regulariser_not_the_output():
    base, variant = with_same_weights(lambda: nalu.INALU(3, 2), lambda: nalu.INALU(3, 2, t=2.0))
    torch.testing.assert_close(base(X_OPTIONS), variant(X_OPTIONS))
    assert not torch.allclose(base.regularizer(), variant.regularizer())


def test_mlp_hidden_sizes_set_the_layers():
    mlp = nalu.MLP(3, 2, hidden=(5, 4))
    assert [(l.in_dim, l.out_dim) for l in mlp.layers] == [(3, 5), (5, 4), (4, 2)]


def test_nalu_linear_gate_forward_equals_equation(x):
    unit = nalu.NALU(3, 2, shared=False, gate="linear")
    W_a, W_m, G = (w.detach().numpy().astype(np.float64) for w in (unit.nac.W, unit.nac_log.W, unit.G))
    xn = x.numpy().astype(np.float64)
    a, m, g = xn @ W_a.T, np.exp(np.log(np.abs(xn) + 1e-7) @ W_m.T), xn @ G.T
    np.testing.assert_allclose(unit(x).detach().numpy(), g * a + (1 - g) * m, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(unit.gate(x).detach().numpy(), g, rtol=1e-5, atol=1e-6)  # g leaves [0, 1]


def test_linear_gate_is_the_unbounded_g_and_the_sigmoid_gate_stays_in_0_1():
    lin, sig = with_same_weights(lambda: nalu.NALU(3, 2, gate="linear"), lambda: nalu.NALU(3, 2))
    set_(lin.G, [[5.0, 0.0, 0.0], [0.0, -5.0, 0.0]])
    set_(sig.G, [[5.0, 0.0, 0.0], [0.0, -5.0, 0.0]])
    with torch.no_grad():
        g_lin, g_sig = lin.gate(X_OPTIONS), sig.gate(X_OPTIONS)
    torch.testing.assert_close(g_lin, X_OPTIONS[:, :2] * torch.tensor([5.0, -5.0]))
    assert (g_sig >= 0).all() and (g_sig <= 1).all()
    assert (g_lin > 1).any() and (g_lin < 0).any()


def test_decoupled_sign_factor_uses_its_own_weights():
    unit = nalu.SignedNALU(2, 1, decoupled_sign=True)
    exact_nac_(unit.nac_log, [[1, -1]])  # W_m = (1, −1): a quotient
    set_(unit.g_hat, [-30.0])
    x = torch.tensor([[1.5, -2.0]])
    set_(unit.S_hat, [[30.0, 30.0]])  # S = 1: both signs count
    assert unit(x).item() == pytest.approx(-0.75, rel=1e-4)
    set_(unit.S_hat, [[30.0, -30.0]])  # S = (1, 0): the sign of x₂ is ignored
    assert unit(x).item() == pytest.approx(0.75, rel=1e-4)


def test_decoupled_sign_starts_from_the_tied_units_weights():
    tied = nalu.build(lambda: nalu.SignedNALU(2, 1), 3)
    dec = nalu.build(lambda: nalu.SignedNALU(2, 1, decoupled_sign=True), 3)
    for name, p in tied.named_parameters():
        assert torch.equal(p, dec.get_parameter(name)), name
    assert torch.equal(dec.S_hat, torch.zeros(1, 2))


def test_one_minus_a_saturated_gate_keeps_its_precision():
    """With g = σ(13.2) ≈ 0.999998, float32 1 − g is off by 3%; σ(−13.2) is exact to float32 rounding."""
    logit = torch.tensor(13.2)
    exact = 1 / (1 + math.exp(logit.double().item()))  # 1 − σ(13.2) = σ(−13.2), in float64
    naive = (1 - torch.sigmoid(logit)).item()
    assert abs(naive - exact) / exact > 0.02  # the naive form loses percent-level precision
    assert torch.sigmoid(-logit).item() == pytest.approx(exact, rel=1e-6)
    # in a unit: W = (1, 1), x = (1000, −1000): a = 0, m = |x₁ x₂| = 10⁶, g = σ(13.2): y = (1 − g) m
    unit = nalu.NALU(2, 1)
    exact_nac_(unit.nac, [[1, 1]])
    set_(unit.G, [[0.0132, 0.0]])
    logit64 = unit.G[0, 0].item() * 1000.0
    expected = 1e6 / (1 + math.exp(logit64))
    assert unit(torch.tensor([[1000.0, -1000.0]])).item() == pytest.approx(expected, rel=1e-5)
    for u in (nalu.SignedNALU(2, 1), nalu.INALU(2, 1)):
        set_(u.g_hat, [13.2])
        s = exact
        nac_add = u.nac if isinstance(u, nalu.SignedNALU) else u.nac_add
        nac_mul = u.nac_log if isinstance(u, nalu.SignedNALU) else u.nac_mul
        exact_nac_(nac_add, [[0, 0]])
        exact_nac_(nac_mul, [[1, 1]])
        y = u(torch.tensor([[100.0, 1e3]])).item()  # a = 0, m = 1e5: y = (1 − g) m
        assert y == pytest.approx(s * 1e5, rel=1e-5), type(u).__name__


def test_initialisations_follow_the_reference_code():
    big = nalu.NAU(300, 300)  # r = √3 · √(2/600) = 0.1
    r = math.sqrt(3) * math.sqrt(2 / 600)
    assert big.W.abs().max().item() <= r and big.W.abs().max().item() > 0.95 * r
    small = nalu.NAU(2, 1)  # √(6/3) > 0.5: capped at 0.5
    assert small.W.abs().max().item() <= 0.5
    assert nalu.NAU(2000, 2000).W.abs().max().item() > 0.95 * math.sqrt(6 / 4000)
    w = nalu.NMU(200, 200).W
    assert 0.25 <= w.min().item() < 0.26 and 0.74 < w.max().item() <= 0.75


def test_the_nalus_gate_flips_with_the_inputs_sign():
    # g(−x) = σ(−G x) = 1 − σ(G x) = 1 − g(x): an identity of the sigmoid, so a test rather than a
    # finding of chapter 14. (b) float32: σ rounds to ~1 ulp of 1, so 1 − g agrees within 2·2⁻²⁴.
    unit = nalu.build(lambda: nalu.NALU(4, 3), 0)
    x = torch.rand(50, 4) * 4 - 2
    torch.testing.assert_close(unit.gate(-x), 1 - unit.gate(x), rtol=0, atol=2 * 2.0**-24)


def test_the_log_paths_gradient_is_m_times_the_log_of_the_input():
    # ∂m_j/∂W_ji = m_j · log(|x_i| + ε) for m = exp(W log(|x| + ε)), through W = tanh(Ŵ)σ(M̂):
    # chain rule by hand against autograd. (b) float32: each side is a few roundings of
    # quantities of one scale, so rtol 1e-5 (about 2⁷ ulps) bounds their gap.
    unit = nalu.build(lambda: nalu.NALU(3, 2), 1)
    x = torch.rand(1, 3) * 2 + 0.1
    log_x = torch.log(x.abs() + unit.eps)
    m = torch.exp(log_x @ unit.nac.W.mT)  # (1, 2)
    m.sum().backward()
    t, s = torch.tanh(unit.nac.W_hat), torch.sigmoid(unit.nac.M_hat)
    dm_dw = m.detach().T * log_x  # (2, 3): Σ_j m_j log x_i, one term per output j
    torch.testing.assert_close(unit.nac.W_hat.grad, dm_dw * (1 - t**2) * s, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(unit.nac.M_hat.grad, dm_dw * t * s * (1 - s), rtol=1e-5, atol=1e-7)



def test_the_nalus_log_path_is_the_one_its_forward_uses(x):
    # (b) the path against its equation in float64, rtol 1e-5; (a) exact: the forward of a unit whose
    # gate is pinned to the log path (gate='linear', G = 0: g = 0, 1 − g = 1) is the same computation
    for unit in (nalu.NALU(3, 2), nalu.NALU(3, 2, shared=False), nalu.SignedNALU(3, 2)):
        W_m = unit.log_path_weight().detach().numpy().astype(np.float64)
        m = np.exp(np.log(np.abs(x.numpy().astype(np.float64)) + unit.eps) @ W_m.T)
        np.testing.assert_allclose(unit.log_path(x).detach().numpy(), m, rtol=1e-5)
    pinned = nalu.NALU(3, 2, gate="linear")
    set_(pinned.G, torch.zeros(2, 3))
    with torch.no_grad():
        assert torch.equal(pinned(x), pinned.log_path(x))
    signed = nalu.SignedNALU(3, 2)
    set_(signed.g_hat, [-200.0, -200.0])  # σ(−200) = 0 and σ(200) = 1 exactly in float32
    with torch.no_grad():
        assert torch.equal(signed(x), signed.log_path(x) * nalu.units.sign_factor(x, signed.sign_weight()))


def test_nau_options_change_the_init_and_the_clamp_and_bad_values_are_refused():
    # exact: the same draws with the same seed; the clamp is a copy of values or nothing
    torch.manual_seed(0)
    default = nalu.NAU(6, 4)
    torch.manual_seed(0)
    xavier = nalu.NAU(6, 4, init="xavier", bounds="none")
    r_madsen, r_xavier = min(0.5, math.sqrt(3.0) * math.sqrt(2.0 / 10)), math.sqrt(6.0 / 10)
    # one uniform draw each: the Xavier weights are the default's scaled by r_xavier / r_madsen
    # (float32: W = −r + 2r·u cancels near 0, so the error is absolute, a few ulps of r ≈ 0.77:
    # 4 · 2⁻²⁴ · 0.77 · 2 ≈ 4e-7; allowed 1e-6)
    assert torch.allclose(xavier.W, default.W * (r_xavier / r_madsen), rtol=0, atol=1e-6)
    assert xavier.W.abs().max() > r_madsen  # the variant changes the output: weights beyond the default's range
    with torch.no_grad():
        default.W.fill_(2.0)
        xavier.W.fill_(2.0)
    default.clamp_weights_()
    xavier.clamp_weights_()
    assert torch.equal(default.W, torch.ones(4, 6)) and torch.equal(xavier.W, torch.full((4, 6), 2.0))
    with pytest.raises(ValueError, match="init must be one of"):
        nalu.NAU(2, 1, init="glorot")
    with pytest.raises(ValueError, match="bounds must be one of 'clip', 'forward', 'none'; got 'no'"):
        nalu.NAU(2, 1, bounds="no")


@pytest.mark.parametrize("make, lo", [(lambda: nalu.NAU(3, 2, bounds="forward"), -1.0),
                                      (lambda: nalu.NMU(3, 2, bounds="forward"), 0.0)])
def test_forward_bounds_clamp_the_weights_in_the_forward_pass_and_leave_the_parameter_free(make, lo):
    """Madsen & Johansen's ablation "no W-clamp" (their ``--oob-mode regualized``): the parameter is
    never clipped, the forward pass multiplies by min(max(W, lo), 1). Exact: the clipped twin computes
    the same float operations on the same (clamped) values."""
    free, clipped = make(), make()
    clipped.bounds = "clip"
    w = torch.tensor([[1.7, -2.5, 0.25], [0.5, 3.0, -0.75]])
    with torch.no_grad():
        free.W.copy_(w)
        clipped.W.copy_(w.clamp(lo, 1.0))
    x = torch.tensor([[1.5, -0.5, 2.0], [3.0, 1.25, -1.0]])
    free.clamp_weights_()
    assert torch.equal(free.W, w)  # the parameter stays where the optimiser put it
    assert torch.equal(free(x), clipped(x))  # ... and the forward pass sees it clamped
    out_of_range = w.clone()
    out_of_range.clamp_(lo, 1.0)
    assert not torch.equal(out_of_range, w)  # the case is one where the clamp matters
    (free(x).sum()).backward()
    outside = (w < lo) | (w > 1)
    assert torch.equal(free.W.grad[outside], torch.zeros(int(outside.sum())))  # no gradient through the clamp


def test_free_weights_use_the_reference_regulariser_which_is_zero_only_at_the_ends_of_the_range():
    """Inside the range both forms are min(|W|, 1 − |W|), bit for bit; outside it the clipped form would go
    negative (a reward for leaving the range) and the reference code's min(|W|, |1 − |W||) (NAU) or
    min(|W|, |1 − W|) (NMU) does not. Exact: abs of a non-negative float is the float itself."""
    inside = torch.tensor([[0.0, 0.3, 1.0], [0.5, 0.9, 0.1]])
    outside = torch.tensor([[1.5, -0.2, 2.0]])
    for cls, outside_values in ((nalu.NAU, torch.tensor([0.5, 0.2, 1.0])), (nalu.NMU, torch.tensor([0.5, 0.2, 1.0]))):
        free, clipped = cls(3, 2, bounds="forward"), cls(3, 2)
        with torch.no_grad():
            free.W.copy_(inside)
            clipped.W.copy_(inside)
        assert torch.equal(free.regularizer(), clipped.regularizer())
        one = cls(3, 1, bounds="forward")
        with torch.no_grad():
            one.W.copy_(outside)
        # float32: three values of at most 2 ulps error each, mean over 3: atol 1e-6
        assert torch.allclose(one.regularizer(), outside_values.mean(), rtol=0, atol=1e-6)
    nmu = nalu.NMU(3, 1, bounds="forward")
    with torch.no_grad():
        nmu.W.copy_(torch.tensor([[-0.8, 0.0, 0.0]]))  # NMU: min(|W|, |1 − W|) at −0.8 is 0.8 (the NAU's form: 0.2)
    assert torch.allclose(nmu.regularizer(), torch.tensor(0.8 / 3), rtol=0, atol=1e-7)


def test_units_pickled_before_bounds_existed_load_with_their_old_meaning():
    import pickle
    for cls, old, expected in ((nalu.NAU, {"clamp": False}, "none"), (nalu.NAU, {"clamp": True}, "clip"),
                               (nalu.NMU, {}, "clip")):
        unit = cls(2, 1)
        del unit.__dict__["bounds"]
        unit.__dict__.update(old)
        back = pickle.loads(pickle.dumps(unit))
        assert back.bounds == expected and "clamp" not in back.__dict__
        back(torch.ones(1, 2))  # the forward pass runs


def test_the_gated_nau_nmu_mixes_an_nau_and_an_nmu_by_its_gate_and_keeps_their_regularisers_and_clamps():
    """y = σ(Gx) ⊙ W_a x + σ(−Gx) ⊙ ∏_i (W_m,i x_i + 1 − W_m,i), on hand-set weights (exact: small sums
    of float64 values, computed in the same order as the unit)."""
    unit = nalu.GatedNAUNMU(2, 1).double()
    x = torch.tensor([[2.0, 3.0], [0.5, -1.0]], dtype=torch.float64)
    with torch.no_grad():
        unit.nau.W.copy_(torch.tensor([[1.0, -1.0]], dtype=torch.float64))
        unit.nmu.W.copy_(torch.tensor([[1.0, 0.5]], dtype=torch.float64))
        unit.G.copy_(torch.tensor([[0.3, -0.2]], dtype=torch.float64))
    g = torch.sigmoid(x @ torch.tensor([0.3, -0.2], dtype=torch.float64))
    a = x[:, 0] - x[:, 1]
    m = x[:, 0] * (0.5 * x[:, 1] + 0.5)
    torch.testing.assert_close(unit(x).squeeze(-1), g * a + (1 - g) * m, rtol=4 * 2**-53, atol=0)
    with torch.no_grad():  # the gate decides: fully open it gives the NAU's sum, fully closed the NMU's product
        unit.G.copy_(torch.tensor([[1e3, 1e3]]))
        assert torch.equal(unit(x[:1]).squeeze(), a[0])
        unit.G.copy_(torch.tensor([[-1e3, -1e3]]))
        assert torch.equal(unit(x[:1]).squeeze(), m[0])
    model = nalu.Stack(unit)
    torch.testing.assert_close(nalu.regularizer(model), unit.nau.regularizer() + unit.nmu.regularizer())
    with torch.no_grad():
        unit.nau.W.fill_(2.0)
        unit.nmu.W.fill_(-0.5)
    nalu.clamp_weights_(model)
    assert unit.nau.W.max() == 1.0 and unit.nmu.W.min() == 0.0
    with pytest.raises(ValueError):
        nalu.GatedNAUNMU(0, 1)
