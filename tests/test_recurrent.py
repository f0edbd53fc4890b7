"""Recurrent cells, sequence models and the applied tasks' data (nalu.recurrent, nalu.applied).

Equality kinds (tests/tolerances.py): (a) exact: integer counts, token encodings and weights read
back unchanged; (b) tolerances stated at each float comparison of two computations (another cell
implementation, torch's LSTM against ours).
"""

from functools import partial

import numpy as np
import pandas as pd
import pytest
import torch

import nalu
from nalu import applied, recurrent


def set_(param, values):
    with torch.no_grad():
        param.copy_(torch.as_tensor(values, dtype=param.dtype))


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


# --- cells ----------------------------------------------------------------------------------------

def test_arithmetic_cell_is_unit_of_state_and_input():
    cell = recurrent.ArithmeticCell("nac", in_dim=3, hidden_dim=2)
    h = torch.tensor([[0.5, -1.0]])
    x = torch.tensor([[1.0, 2.0, -3.0]])
    W = (np.tanh(cell.unit.W_hat.detach().numpy()) * sigmoid(cell.unit.M_hat.detach().numpy()))
    expected = np.concatenate([h.numpy(), x.numpy()], axis=1) @ W.T
    out, state = cell(x, h)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    assert out is state


def test_nalu_cell_equation_by_hand():
    cell = recurrent.ArithmeticCell("nalu", in_dim=2, hidden_dim=1)
    h, x = torch.tensor([[2.0]]), torch.tensor([[3.0, 0.5]])
    z = np.array([[2.0, 3.0, 0.5]])
    W, G = cell.unit.nac.W.detach().numpy(), cell.unit.G.detach().numpy()
    g = sigmoid(z @ G.T)
    y = g * (z @ W.T) + (1 - g) * np.exp(np.log(np.abs(z) + 1e-7) @ W.T)
    np.testing.assert_allclose(cell(x, h)[0].detach().numpy(), y, rtol=1e-5)


def test_accumulating_cell_adds_unit_of_input_and_runs_without_loop():
    cell = recurrent.ArithmeticCell("nau", in_dim=3, hidden_dim=2, accumulate=True)
    seq = torch.randn(4, 6, 3)
    W = cell.unit.W.detach()
    expected = torch.cumsum(seq @ W.T, dim=1)
    np.testing.assert_allclose(cell.run(seq).detach().numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)
    h1, _ = cell(seq[:, 1], expected[:, 0])
    np.testing.assert_allclose(h1.detach().numpy(), expected[:, 1].numpy(), rtol=1e-5, atol=1e-5)


def test_exact_nau_cell_accumulates_a_thousand_steps_exactly():
    """Weights [I | A] for the cell and [1, 1] for the readout solve the recurrent + task at any length."""
    base = nalu.static_arithmetic("add", in_dim=4, offset=0, subset_ratio=0.5, overlap_ratio=0.5,
                                  interpolation=(0.0, 1.0))
    task = recurrent.RecurrentArithmeticTask(base, 10, (1000,))
    model = recurrent.recurrent_model("nau", features=4, hidden=2, out_dim=1)
    set_(model.cell.unit.W, np.concatenate([np.eye(2), np.stack([base.a_mask, base.b_mask])], axis=1))
    set_(model.readout.W, [[1.0, 1.0]])
    x = torch.from_numpy(task.inputs(5, "length 1000", nalu.rng_for(0))).double()
    model = model.double()
    np.testing.assert_allclose(model(x).detach().numpy(), task.targets(x).numpy(), rtol=1e-10)


def test_lstm_cell_equals_torch_lstm():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4, batch_first=True)
    cell = recurrent.LSTMCell.from_torch(lstm)
    seq = torch.randn(5, 7, 3)
    expected, _ = lstm(seq)
    np.testing.assert_allclose(cell.run(seq).detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_lstm_cell_one_step_by_hand():
    cell = recurrent.LSTMCell(2, 3)
    x, h, c = torch.randn(4, 2), torch.randn(4, 3), torch.randn(4, 3)
    p = {k: getattr(cell, k).detach().numpy() for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    z = x.numpy() @ p["W_ih"].T + p["b_ih"] + h.numpy() @ p["W_hh"].T + p["b_hh"]
    i, f, g, o = np.split(z, 4, axis=1)
    c_new = sigmoid(f) * c.numpy() + sigmoid(i) * np.tanh(g)
    h_new = sigmoid(o) * np.tanh(c_new)
    out, (h2, c2) = cell(x, (h, c))
    np.testing.assert_allclose(out.detach().numpy(), h_new, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c2.detach().numpy(), c_new, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell, kwargs", [("lstm", {}), ("nac", {}), ("nalu", {}), ("nau", {"accumulate": True})])
@pytest.mark.parametrize("every_step", [False, True])
def test_stacked_sequence_model_equals_each_seed(cell, kwargs, every_step):
    factory = partial(recurrent.recurrent_model, cell, 3, 4, 2, every_step=every_step, **kwargs)
    models = [nalu.build(factory, s) for s in (0, 1)]
    stacked = nalu.stack_models(models)
    x = torch.rand(6, 5 * 3) + 0.1
    out = stacked(x)
    assert out.shape == (2, 6, 2 * 5 if every_step else 2)
    for s, m in enumerate(models):
        np.testing.assert_allclose(out[s].detach().numpy(), m(x).detach().numpy(), rtol=1e-5, atol=1e-6)
    per_seed = stacked(x.expand(2, -1, -1))  # (S, N, T·F) as well as a shared (N, T·F)
    np.testing.assert_allclose(per_seed.detach().numpy(), out.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_sequence_model_trains_with_nalu_train():
    task = recurrent.RecurrentArithmeticTask(nalu.sum_split(in_dim=4, split_at=2, interpolation=(0.0, 1.0)), 5, (20,))
    factory = partial(recurrent.recurrent_model, "nau", 4, 2, 1, accumulate=True)
    result = nalu.train(factory, nalu.FreshSamples(task, batch_size=16, eval_size=32), [0, 1], steps=30, lr=0.05,
                        eval_every=60, progress=False)
    assert set(result.log.split) == {"interpolation", "length 20"}
    table = recurrent.normalised_table(result.log)
    assert (table.normalised < 100).all()


# --- the recurrent task and the metrics --------------------------------------------------------------

def test_recurrent_task_targets_are_sums_over_time_and_features():
    base = nalu.static_arithmetic("mul", in_dim=5, offset=1, subset_ratio=0.4, overlap_ratio=0.5)
    task = recurrent.RecurrentArithmeticTask(base, 3, (7,))
    rng = nalu.rng_for(1)
    x = task.inputs(4, "length 7", rng)
    assert x.shape == (4, 35) and x.dtype == np.float32
    seq = x.reshape(4, 7, 5).astype(np.float64)
    a = (seq * base.a_mask).sum(axis=(1, 2))
    b = (seq * base.b_mask).sum(axis=(1, 2))
    np.testing.assert_allclose(task.targets(torch.from_numpy(x)).squeeze(-1).numpy(), a * b, rtol=1e-5)
    assert task.inputs(2, "interpolation", rng).shape == (2, 15) and task.in_dim == 15


def test_normalised_table_divides_by_step_zero():
    log = pd.DataFrame({"seed": [0, 0, 0, 0], "step": [0, 0, 10, 10], "split": ["a", "b", "a", "b"],
                        "mse": [4.0, 2.0, 1.0, 0.02]})
    t = recurrent.normalised_table(log).set_index("split")
    assert t.loc["a", "normalised"] == pytest.approx(25.0) and t.loc["b", "normalised"] == pytest.approx(1.0)


def test_sequence_errors_per_seed():
    class Const(torch.nn.Module):
        def forward(self, x):
            return torch.stack([torch.zeros(x.shape[-2], 1), torch.ones(x.shape[-2], 1)])

    y = torch.full((10, 1), 2.0)
    e = recurrent.sequence_errors(Const(), torch.zeros(10, 3), y, chunk=3)
    np.testing.assert_allclose(e["mae"], [2.0, 1.0])
    np.testing.assert_allclose(e["mse"], [4.0, 1.0])
    np.testing.assert_allclose(e["relative"], [1.0, 0.5])


def test_recurrent_value_errors():
    with pytest.raises(ValueError, match="in_dim"):
        recurrent.ArithmeticCell("nac", 0, 2)
    with pytest.raises(ValueError, match="hidden_dim"):
        recurrent.LSTMCell(3, -1)
    with pytest.raises(ValueError, match="'foo'"):
        recurrent.recurrent_model("foo", 3, 2)
    with pytest.raises(ValueError, match="not a multiple of features=4"):
        recurrent.unflatten_sequences(torch.zeros(2, 10), 4)
    with pytest.raises(ValueError, match="scale"):
        recurrent.recurrent_model("lstm", 3, 2, scale=-1.0)
    with pytest.raises(ValueError, match="one-layer"):
        recurrent.LSTMCell.from_torch(torch.nn.LSTM(3, 4, num_layers=2))
    with pytest.raises(ValueError, match="train_length"):
        recurrent.RecurrentArithmeticTask(nalu.sum_split(), 0)
    with pytest.raises(ValueError, match="'square'"):
        recurrent.RecurrentArithmeticTask(nalu.ArithmeticTask("square", [1, 0], [0, 1], (0, 1), (0, 2)))
    task = recurrent.RecurrentArithmeticTask(nalu.sum_split(), 10, (100,))
    with pytest.raises(ValueError, match="'length 5'"):
        task.inputs(3, "length 5", nalu.rng_for(0))


# --- digit sequences -------------------------------------------------------------------------------

def test_digit_targets_are_counts_and_sums():
    labels = np.random.default_rng(0).integers(0, 10, size=(6, 13))
    counts = applied.digit_targets(labels, "count")
    np.testing.assert_array_equal(counts, np.stack([np.bincount(r, minlength=10) for r in labels]))
    np.testing.assert_array_equal(applied.digit_targets(labels, "sum")[:, 0], labels.sum(axis=1))
    with pytest.raises(ValueError, match="'product'"):
        applied.digit_targets(labels, "product")


def test_digit_split_is_disjoint_and_complete():
    pytest.importorskip("sklearn")
    split = applied.load_digit_split(nalu.rng_for(0), test_fraction=0.25)
    assert len(split.x_train) + len(split.x_test) == 1797 and split.x_train.shape[1] == 64
    train_rows = {r.tobytes() for r in split.x_train}
    assert sum(r.tobytes() in train_rows for r in split.x_test) < 5  # only exact duplicate images can match
    assert 0 <= split.x_train.min() and split.x_train.max() <= 1
    with pytest.raises(ValueError, match="1.5"):
        applied.load_digit_split(nalu.rng_for(0), 1.5)


def one_hot_features(labels, seeds=2):
    return torch.nn.functional.one_hot(torch.as_tensor(labels), 10).float().expand(seeds, -1, -1)


def test_digit_sequences_targets_match_features():
    """With one-hot features, the sum over time of the inputs is exactly the count target."""
    rng = np.random.default_rng(1)
    train, test = rng.integers(0, 10, 50), rng.integers(0, 10, 30)
    for target in ("count", "sum"):
        data = applied.DigitSequences(one_hot_features(train), train, one_hot_features(test), test, target,
                                      length=7, batch_size=5, eval_size=9)
        data.setup([0, 1], torch.device("cpu"))
        x, y = data.batch(0)
        assert x.shape == (2, 5, 70)
        counts = x.view(2, 5, 7, 10).sum(dim=2)
        expected = counts if target == "count" else (counts * torch.arange(10.0)).sum(-1, keepdim=True)
        np.testing.assert_allclose(y.numpy(), expected.numpy())
        xe, ye = data.eval_sets()["test"]
        assert xe.shape == (2, 9, 70) and ye.shape[:2] == (2, 9)
    with pytest.raises(ValueError, match="seeds"):
        data.setup([0, 1, 2], torch.device("cpu"))


def test_digit_sequence_set_uses_given_images():
    labels = np.arange(10)
    x, y = applied.digit_sequence_set(one_hot_features(labels, 1), labels, 100, 4, nalu.rng_for(0), "count")
    np.testing.assert_allclose(x.view(1, 4, 100, 10).sum(2).numpy(), y.numpy())
    with pytest.raises(ValueError, match="length"):
        applied.digit_sequence_set(one_hot_features(labels, 1), labels, 0, 4, nalu.rng_for(0), "count")


def test_digit_encoder_trains_all_seeds():
    rng = np.random.default_rng(0)
    x = rng.random((40, 64), dtype=np.float32)
    y = rng.integers(0, 10, 40)
    enc = applied.train_digit_encoder(x, y, seeds=[0, 1], hidden=8, steps=3)
    p = applied.encode_digits(enc, x)
    assert p.shape == (2, 40, 10)
    np.testing.assert_allclose(p.sum(-1).numpy(), 1.0, rtol=1e-5)


# --- number words ------------------------------------------------------------------------------------

KNOWN = {0: "zero", 7: "seven", 13: "thirteen", 20: "twenty", 21: "twenty one", 100: "one hundred",
         101: "one hundred and one", 115: "one hundred and fifteen", 340: "three hundred and forty",
         999: "nine hundred and ninety nine"}


@pytest.mark.parametrize("n, words", KNOWN.items())
def test_known_number_words(n, words):
    assert applied.number_to_words(n) == words
    assert applied.words_to_number(words) == n


def test_words_round_trip_and_prefix_values_for_all_numbers():
    texts = [applied.number_to_words(n) for n in range(1000)]
    assert len(set(texts)) == 1000
    for n, text in enumerate(texts):
        assert applied.words_to_number(text) == n
        assert applied.prefix_values(text)[-1] == n
        assert 1 <= len(text.split()) <= applied.MAX_TOKENS
        assert set(text.split()) <= set(applied.VOCAB)
    assert applied.prefix_values("seven hundred and thirty four") == [7, 700, 700, 730, 734]


def test_encode_numbers_left_pads_one_hot_tokens():
    x, y = applied.encode_numbers([5, 734])
    x = x.reshape(2, applied.MAX_TOKENS, len(applied.VOCAB))
    np.testing.assert_array_equal(x.sum(-1), 1)
    tokens = [[applied.VOCAB[i] for i in row] for row in x.argmax(-1)]
    assert tokens[0] == ["<pad>"] * 4 + ["five"]
    assert tokens[1] == ["seven", "hundred", "and", "thirty", "four"]
    np.testing.assert_array_equal(y, [[0, 0, 0, 0, 5], [7, 700, 700, 730, 734]])


def test_number_split_holds_unseen_numbers_and_every_token_in_training():
    split = applied.number_split(nalu.rng_for(3))
    assert [len(split[k]) for k in ("train", "valid", "test")] == [169, 200, 631]
    everything = np.concatenate(list(split.values()))
    assert sorted(everything) == list(range(1000))  # disjoint and complete
    assert not set(split["test"]) & set(split["train"]) and not set(split["valid"]) & set(split["train"])
    train_tokens = {w for n in split["train"] for w in applied.number_to_words(n).split()}
    assert train_tokens == set(applied.VOCAB) - {"<pad>"}
    assert set(range(20)) <= set(split["train"])
    data = applied.words_dataset(split)
    assert data.x_train.shape == (169, applied.MAX_TOKENS * len(applied.VOCAB))
    np.testing.assert_array_equal(data.evals["test"][1][:, -1], split["test"])


@pytest.mark.parametrize("bad", [-1, 1000, 3.5, True, "7"])
def test_number_to_words_rejects(bad):
    with pytest.raises(ValueError, match="numbers must be integers"):
        applied.number_to_words(bad)


@pytest.mark.parametrize("bad", ["", "one thousand", "hundred", "one hundred and", "twenty eleven", "one two",
                                 "one hundred twenty", "zero hundred", "one hundred and zero", "and five"])
def test_words_to_number_rejects(bad):
    with pytest.raises(ValueError, match="not a number in words"):
        applied.words_to_number(bad)


def test_word_value_errors():
    with pytest.raises(ValueError, match="max_tokens"):
        applied.encode_numbers([1], max_tokens=3)
    with pytest.raises(ValueError, match="n_train"):
        applied.number_split(nalu.rng_for(0), n_train=10)
    with pytest.raises(ValueError, match="n_valid"):
        applied.number_split(nalu.rng_for(0), n_train=169, n_valid=900)
    with pytest.raises(ValueError, match="'eleventy'"):
        applied.prefix_values("eleventy one")


def test_recurrence_matrix_is_the_state_block():
    cell = recurrent.ArithmeticCell("nau", 3, 2)
    np.testing.assert_array_equal(cell.recurrence_matrix().detach().numpy(), cell.unit.W[:, :2].detach().numpy())
    nalu_cell = recurrent.ArithmeticCell("nalu", 3, 2)
    np.testing.assert_array_equal(nalu_cell.recurrence_matrix().detach().numpy(),
                                  nalu_cell.unit.nac.W[:, :2].detach().numpy())
    acc = nalu.stack_models([recurrent.ArithmeticCell("nac", 3, 2, accumulate=True) for _ in range(3)])
    np.testing.assert_array_equal(acc.recurrence_matrix().numpy(), np.broadcast_to(np.eye(2), (3, 2, 2)))


def test_sequence_errors_count_overflow_as_infinite():
    class Overflow(torch.nn.Module):
        def forward(self, x):
            return torch.full((1, x.shape[-2], 1), float("nan"))

    e = recurrent.sequence_errors(Overflow(), torch.zeros(4, 2), torch.ones(4, 1))
    assert np.isinf(e["mae"]).all() and np.isinf(e["relative"]).all()


def test_lstm_blocks_and_final_state_agree():
    cell = recurrent.LSTMCell(3, 4)
    seq = torch.randn(2, 11, 3)
    all_states = cell.run(seq, block=64)
    np.testing.assert_allclose(cell.run(seq, block=4).detach().numpy(), all_states.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(cell.run(seq, every_step=False, block=3).detach().numpy(),
                               all_states[:, -1].detach().numpy(), rtol=1e-5, atol=1e-6)
