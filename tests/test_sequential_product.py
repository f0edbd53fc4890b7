"""The sequential product of digit images (Madsen & Johansen 2020, §4.2): NAC• (``NACMul``), the
small CNN, the recurrent product model, R_z, the test MSE by length and the reference threshold.

(a) Exact: the split is disjoint and holds no zero; the exact cell's output is torch.cumprod of the
    CNN's scalars (the same operation); clamping; two runs with the same seeds give the same bits;
    bad arguments raise ValueError.
(b) Tolerance-based (tests/tolerances.py): NACMul against its equation written out (same float32 ops
    in another order: a 2-term sum in the exponent), the unfold convolution against
    torch.nn.functional.conv2d (a 9-term sum: sum_rtol(9)), a stacked CNN against its seeds alone, an
    NMU cell with W = 1 against the running product, R_z and the threshold against their formulas in
    float64.
"""

import math

import numpy as np
import pytest
import torch

import nalu
from nalu import applied
from tolerances import U32, U64, sum_rtol


def test_nac_mul_follows_its_equation():
    x = torch.rand(5, 3) * 4 - 2
    for kind in nalu.NACMul.weights:
        unit = nalu.build(lambda: nalu.NACMul(3, 2, weight=kind), 1)
        if kind == "nac":
            w = torch.tanh(unit.W_hat) * torch.sigmoid(unit.M_hat)
        elif kind == "sigmoid":
            w = torch.sigmoid(unit.W_hat)
        else:
            w = unit.W_hat
        expected = torch.exp((torch.log(x.abs() + 1e-7).unsqueeze(-2) * w).sum(-1))
        torch.testing.assert_close(unit(x), expected, rtol=sum_rtol(3) * 20, atol=0)  # exponent ≤ 3·16 in size
    clamped = nalu.make_unit("nac_mul_nmu", 3, 2)
    with torch.no_grad():
        clamped.W_hat.fill_(1.7)
    clamped.clamp_weights_()
    assert torch.equal(clamped.W_hat, torch.ones(2, 3))
    assert nalu.make_unit("nac_mul", 3, 2).regularizer() is None
    assert torch.equal(clamped.regularizer(), torch.tensor(0.0))


def test_nac_mul_rejects_bad_arguments():
    with pytest.raises(ValueError, match="weight"):
        nalu.NACMul(2, 1, weight="tanh")
    with pytest.raises(ValueError, match="eps"):
        nalu.NACMul(2, 1, eps=0.0)


def test_split_is_disjoint_and_has_no_zero():
    split = applied.product_digit_split(nalu.rng_for(0, 11))
    xs = [split[k][0] for k in ("train", "valid", "test")]
    for k in split:
        assert split[k][1].min() >= 1 and split[k][1].max() <= 9
    rows = [{r.tobytes() for r in x} for x in xs]
    assert not (rows[0] & rows[2]) and not (rows[1] & rows[2]) and not (rows[0] & rows[1])
    with pytest.raises(ValueError, match="valid_fraction"):
        applied.product_digit_split(nalu.rng_for(0, 11), valid_fraction=1.0)


def test_cnn_convolution_matches_conv2d_and_stacks():
    cnn = nalu.build(lambda: applied.DigitCNN(channels=4, hidden=8), 0)
    x = torch.rand(6, 64)
    patches = x.unflatten(-1, (8, 8)).unfold(-2, 3, 1).unfold(-2, 3, 1).flatten(-2).flatten(-4, -2)
    ours = cnn.conv(patches).unflatten(-2, (6, 36))  # (6, 36, C)
    ref = torch.nn.functional.conv2d(x.view(6, 1, 8, 8), cnn.conv.W.view(4, 1, 3, 3), cnn.conv.b)
    torch.testing.assert_close(ours, ref.flatten(-2).mT, rtol=sum_rtol(9), atol=sum_rtol(9) * 10)
    models = [nalu.build(lambda: applied.DigitCNN(channels=4, hidden=8), s) for s in (0, 1)]
    stacked = nalu.stack_models(models)
    z = stacked(x)
    assert z.shape == (2, 6)
    for s, m in enumerate(models):
        torch.testing.assert_close(z[s], m(x), rtol=sum_rtol(72) * 10, atol=1e-6)
    with pytest.raises(ValueError, match="64"):
        cnn(torch.rand(3, 49))


@pytest.mark.parametrize("model, unit_cell, running, h0", [
    (applied.SequentialProduct, "nmu", torch.cumprod, 1.0), (applied.SequentialSum, "nau", torch.cumsum, 0.0)])
def test_exact_cell_and_a_unit_with_unit_weights_compute_the_running_result(model, unit_cell, running, h0):
    x = torch.rand(4, 3 * 64)
    exact = nalu.build(lambda: model("exact"), 0)
    z, y, inputs = exact.run(x)
    assert inputs is None and torch.equal(y, running(z, dim=-1))
    unit = nalu.build(lambda: model(unit_cell), 0)
    with torch.no_grad():
        unit.unit.W.fill_(1.0)
    z, y, inputs = unit.run(x)
    # (b) the unit rounds to float32 at every step (the NMU's w·z + 1 − w at the scale of 1); torch's
    # cumprod and cumsum accumulate in a wider type: a few float32 ulps of a 3-term result
    torch.testing.assert_close(y, running(z, dim=-1), rtol=4 * U32, atol=sum_rtol(3) * (1 + z.abs().sum(-1).max().item()))
    assert inputs.shape == (4, 3, 2)
    assert torch.equal(inputs[:, 0, 1], torch.full((4,), h0))  # h_0: the identity of the operation
    assert model("lstm", lstm_hidden=4)(x).shape == (4, 3)


def test_cells_are_checked_per_operation():
    with pytest.raises(ValueError, match="cell"):
        applied.SequentialProduct("gru")
    with pytest.raises(ValueError, match="cell must be one of .* for op='sum'"):
        applied.SequentialSum("nmu")  # a product cell is not a sum cell
    with pytest.raises(ValueError, match="op must be one of"):
        applied.SequentialArithmetic("nau", op="difference")


def test_z_regularizer_formula():
    w = torch.tensor([[0.25, 1.0]], dtype=torch.float64)
    inputs = torch.tensor([[[3.0, 1.0], [5.0, 2.0]]], dtype=torch.float64)  # (N=1, T=2, in=2)
    expected = ((1 - 0.25) * (1 - 4.0) ** 2 + (1 - 1.0) * (1 - 1.5) ** 2) / 2
    assert math.isclose(applied.z_regularizer(w, inputs).item(), expected, rel_tol=8 * U64)


def test_reference_threshold_formula_and_errors():
    from scipy.stats import t

    mse = np.array([[1.0, 10.0], [2.0, 30.0], [4.0, 20.0]])
    expected = mse.mean(0) + t.ppf(0.99, 2) * mse.std(0, ddof=1) / math.sqrt(3)
    np.testing.assert_allclose(applied.reference_threshold(mse), expected, rtol=16 * U64)
    with pytest.raises(ValueError, match="2 seeds"):
        applied.reference_threshold(np.ones((1, 3)))
    with pytest.raises(ValueError, match="finite"):
        applied.reference_threshold(np.array([[1.0], [np.inf]]))
    with pytest.raises(ValueError, match="alpha"):
        applied.reference_threshold(mse, alpha=0.7)


def _tiny_split():
    split = applied.product_digit_split(nalu.rng_for(0, 11))
    return {k: (x[:130], y[:130]) for k, (x, y) in split.items()}


def test_training_is_reproducible_and_test_mse_is_by_length():
    split = _tiny_split()
    kw = dict(epochs=2, lr=1e-2, rz=1.0, sparsity=nalu.Warmup(10.0, 0, 2), n_valid=50, channels=2, hidden=4)
    a = applied.train_sequential_product("nmu", split, [0, 1], **kw)
    b = applied.train_sequential_product("nmu", split, [0, 1], **kw)
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(pa, pb)
    assert a.steps == 2 * math.ceil(65 / 64) and a.curve.shape == (3, 2)
    assert np.array_equal(a.valid_mse, a.curve[a.best_epoch, [0, 1]])  # the kept epoch is the best one
    mse = applied.sequence_test_mse(a.model, *split["test"], max_length=5, n=40)
    assert mse.shape == (2, 5) and np.isfinite(mse).all()
    # length T averages steps 1…T: the per-step errors are recovered from the running means
    per_step = mse * np.arange(1, 6) - np.concatenate([np.zeros((2, 1)), mse[:, :-1] * np.arange(1, 5)], axis=1)
    assert (per_step > -1e-9 * np.abs(mse).max()).all()


def test_training_rejects_bad_arguments():
    split = _tiny_split()
    with pytest.raises(ValueError, match="epochs"):
        applied.train_sequential_product("nmu", split, [0], epochs=0)
    with pytest.raises(ValueError, match="rz"):
        applied.train_sequential_product("lstm", split, [0], epochs=1, rz=1.0)
    with pytest.raises(ValueError, match="valid"):
        applied.train_sequential_product("nmu", {"train": split["train"]}, [0], epochs=1)
    with pytest.raises(ValueError, match="seeds"):
        applied.train_sequential_product("nmu", split, [], epochs=1)


def test_digit_readings_are_the_cnns_scalars_per_seed():
    split = _tiny_split()
    model = nalu.build(lambda: applied.SequentialProduct("exact", channels=2, hidden=4), 0)
    x = split["test"][0][:7]
    z = applied.digit_readings(model, x)
    assert z.shape == (7,) and z.dtype == torch.float64  # one model; a stacked one gives (S, N)
    # the same CNN in float32 reads the same scalars up to float32 rounding of a few-layer network
    z32 = model.cnn(torch.as_tensor(x, dtype=torch.float32)).double()
    assert torch.allclose(z, z32.reshape(z.shape), rtol=1e-4, atol=1e-4)  # float32: ~1e-7 per op, few hundred ops


def test_running_targets_product_and_sum():
    d = np.array([[2, 3, 4], [1, 9, 9]])
    assert np.array_equal(applied.running_targets(d, "product"), [[2, 6, 24], [1, 9, 81]])
    assert np.array_equal(applied.running_targets(d, "sum"), [[2, 5, 9], [1, 10, 19]])
    with pytest.raises(ValueError, match="op"):
        applied.running_targets(d, "mean")


def test_sum_training_learns_against_running_sums_and_test_mse_uses_them():
    split = _tiny_split()
    run = applied.train_sequential("sum", "nau", split, [0, 1], epochs=2, lr=1e-2, length=4, n_valid=30,
                                   sparsity=nalu.Warmup(0.01, 0, 2), channels=2, hidden=4)
    assert run.model.op == "sum" and run.steps == 2 * math.ceil((130 // 4) / 64)
    # the exact reference whose CNN reads every digit right has zero sum error at every length
    x, y = split["test"]
    model = nalu.build(lambda: applied.SequentialSum("exact", channels=2, hidden=4), 0)
    with torch.no_grad():  # a CNN that outputs the label: replace the readings by the labels themselves
        z = torch.from_numpy(y.astype(np.float64)).unsqueeze(0)
    idx = nalu.rng_for(0, 3).integers(0, len(y), size=(5, 6))
    err = applied._sequence_mse(nalu.as_float64(model), z, idx, y)
    assert torch.equal(err, torch.zeros_like(err))
    with pytest.raises(ValueError, match="op"):
        applied.train_sequential("ratio", "nau", split, [0], epochs=1)
