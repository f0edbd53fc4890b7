"""The paper's applied tasks (Trask et al. 2018, §4.3–4.4), at laptop scale.

* Digit sequences: sequences of 8×8 handwritten digits (scikit-learn's copy of the UCI digits,
  shipped with the library, no download); targets the count of each class and the sum of the
  digits. A small MLP encoder, trained as a classifier on the training images, turns each image
  into class probabilities; a recurrent model reads the sequence of probability vectors.
* Sequential product and sum (Madsen & Johansen 2020, §4.2): sequences of the digits 1–9; a small
  CNN maps each image to one scalar z_t, a recurrent arithmetic unit computes the running product
  (or sum) h_t = U([z_t; h_{t−1}]), trained end to end on short sequences (``SequentialProduct``,
  ``SequentialSum``, ``train_sequential``) and judged against a reference whose arithmetic is exact
  (``reference_threshold``).
* Number words: 0–999 written as English words, a token vocabulary, per-token targets (the value
  of the words read so far) and Trask's split sizes (169 training, 200 validation, 631 test).

All randomness comes from generators passed in by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from .models import build, clamp_weights_, make_unit, regularizer, stack_models
from .data import DATA_STREAM, EVAL_STREAM
from .tasks import Dataset, rng_for
from .recurrent import LSTMCell
from .units import MLP, Linear

__all__ = [
    "DigitSplit",
    "load_digit_split",
    "train_digit_encoder",
    "encode_digits",
    "digit_targets",
    "digit_sequence_set",
    "DigitSequences",
    "SEQUENCE_OPS",
    "PRODUCT_CELLS",
    "SUM_CELLS",
    "product_digit_split",
    "DigitCNN",
    "SequentialArithmetic",
    "SequentialProduct",
    "SequentialSum",
    "running_targets",
    "z_regularizer",
    "ProductRun",
    "train_sequential",
    "train_sequential_product",
    "sequence_test_mse",
    "reference_threshold",
    "ONES",
    "TENS",
    "VOCAB",
    "MAX_TOKENS",
    "number_to_words",
    "words_to_number",
    "prefix_values",
    "encode_numbers",
    "number_split",
    "words_dataset",
]

DIGIT_TARGETS = ("count", "sum")


# --- Digit sequences ----------------------------------------------------------------------------

@dataclass(frozen=True)
class DigitSplit:
    """Disjoint training and test images (pixels scaled to [0, 1], shape (n, 64)) and labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_digit_split(rng: np.random.Generator, test_fraction: float = 1 / 3) -> DigitSplit:
    """scikit-learn's 1,797 digits, shuffled by ``rng`` and split into disjoint train / test images."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    order = rng.permutation(len(y))
    n_test = int(round(len(y) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return DigitSplit(x[train], y[train], x[test], y[test])


def train_digit_encoder(x: np.ndarray, y: np.ndarray, seeds: Sequence[int], hidden: int = 32, steps: int = 300,
                        lr: float = 1e-2) -> nn.Module:
    """S classifiers p = softmax(MLP(x)), 64 → hidden → 10, one per seed, trained at once.

    Seed s starts from ``nalu.build(factory, s)``; the loss is Σ_s (mean cross-entropy of seed s),
    full batch, Adam. Returns the stacked MLP (logits), frozen.
    """
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed, got none")
    factory = partial(MLP, x.shape[1], 10, hidden=(hidden,))
    model = stack_models([build(factory, s) for s in seeds])
    xt, yt = torch.as_tensor(x), torch.as_tensor(y).repeat(len(seeds))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        logits = model(xt)  # (S, n, 10)
        ce = nn.functional.cross_entropy(logits.reshape(-1, 10), yt, reduction="none")
        loss = ce.view(len(seeds), -1).mean(dim=1).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model.requires_grad_(False)


@torch.no_grad()
def encode_digits(encoder: nn.Module, x: np.ndarray) -> Tensor:
    """Class probabilities p = softmax(encoder(x)) of every seed's encoder: (S, n, 10)."""
    return torch.softmax(encoder(torch.as_tensor(x)), dim=-1)


def digit_targets(labels: np.ndarray, target: str) -> np.ndarray:
    """Targets of label sequences (..., T): ``count`` → (..., 10) how many of each digit;
    ``sum`` → (..., 1) the sum of the digits. float32."""
    if target not in DIGIT_TARGETS:
        raise ValueError(f"target must be one of {DIGIT_TARGETS}, got {target!r}")
    labels = np.asarray(labels)
    if target == "sum":
        return labels.sum(axis=-1, keepdims=True).astype(np.float32)
    return (labels[..., None] == np.arange(10)).sum(axis=-2).astype(np.float32)


def digit_sequence_set(features: Tensor, labels: np.ndarray, length: int, n: int, rng: np.random.Generator,
                       target: str) -> tuple[Tensor, Tensor]:
    """``n`` sequences of ``length`` images drawn with replacement (indices from ``rng``, shared by
    all seeds): x (S, n, T·F) from each seed's features (S, images, F), y (S, n, out)."""
    if not isinstance(length, int) or length < 1:
        raise ValueError(f"length must be a positive integer, got {length!r}")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    idx = rng.integers(0, features.shape[-2], size=(n, length))
    x = features[:, torch.from_numpy(idx)].flatten(-2)  # (S, n, T·F)
    y = torch.from_numpy(digit_targets(labels[idx], target)).expand(features.shape[0], -1, -1)
    return x, y


class DigitSequences:
    """A ``nalu.train`` data source: every step, seed s draws ``batch_size`` fresh sequences of
    ``length`` training images from its own generator ``rng_for(seed, 2)`` and reads them through
    its own encoder's features (S, images, F). Evaluation: ``eval_size`` sequences of the same
    length from the *test* images (indices from ``rng_for(eval_seed, 3)``, shared by all seeds)."""

    has_epochs = False  # fresh sequences every step: train for steps

    def __init__(self, train_features: Tensor, train_labels: np.ndarray, test_features: Tensor,
                 test_labels: np.ndarray, target: str, length: int = 10, batch_size: int = 64,
                 eval_size: int = 500, eval_seed: int = 0):
        if target not in DIGIT_TARGETS:
            raise ValueError(f"target must be one of {DIGIT_TARGETS}, got {target!r}")
        for name, v in (("length", length), ("batch_size", batch_size), ("eval_size", eval_size)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if train_features.shape[0] != test_features.shape[0]:
            raise ValueError(f"train and test features have {train_features.shape[0]} and "
                             f"{test_features.shape[0]} seeds")
        self.train_features, self.train_labels = train_features, np.asarray(train_labels)
        self.test_features, self.test_labels = test_features, np.asarray(test_labels)
        self.target, self.length, self.batch_size = target, length, batch_size
        self.eval_size, self.eval_seed = eval_size, eval_seed

    def setup(self, seeds: list[int], device: torch.device) -> None:
        if len(seeds) != self.train_features.shape[0]:
            raise ValueError(f"features are given for {self.train_features.shape[0]} seeds, "
                             f"training {len(seeds)}")
        self.rngs = [rng_for(s, DATA_STREAM) for s in seeds]
        self.device = device
        self._seed_index = torch.arange(len(seeds))[:, None, None]

    def steps_per_epoch(self) -> int:
        return 1

    def batch(self, step: int) -> tuple[Tensor, Tensor]:
        n = self.train_features.shape[-2]
        idx = np.stack([rng.integers(0, n, size=(self.batch_size, self.length)) for rng in self.rngs])
        x = self.train_features[self._seed_index, torch.from_numpy(idx)].flatten(-2)
        y = torch.from_numpy(digit_targets(self.train_labels[idx], self.target))
        return x.to(self.device), y.to(self.device)

    def eval_sets(self) -> dict[str, tuple[Tensor, Tensor]]:
        rng = rng_for(self.eval_seed, EVAL_STREAM)
        x, y = digit_sequence_set(self.test_features, self.test_labels, self.length, self.eval_size, rng,
                                  self.target)
        return {"test": (x.to(self.device), y.to(self.device))}


# --- Sequential product (Madsen & Johansen 2020, §4.2) ------------------------------------------

SEQUENCE_OPS = ("product", "sum")
PRODUCT_CELLS = ("exact", "nmu", "nac_mul", "nac_mul_sigma", "nac_mul_nmu", "nalu", "lstm")
SUM_CELLS = ("exact", "nau", "nac", "nalu", "lstm")
_CELLS = {"product": PRODUCT_CELLS, "sum": SUM_CELLS}


def _check_op(op: str) -> None:
    if op not in SEQUENCE_OPS:
        raise ValueError(f"op must be one of {SEQUENCE_OPS}, got {op!r}")


def product_digit_split(rng: np.random.Generator, test_fraction: float = 1 / 3,
                        valid_fraction: float = 0.2) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The digits 1–9 of ``load_digit_split(rng, test_fraction)``: ``train`` and ``test`` images
    and labels, with the last ``valid_fraction`` of the training images held out as ``valid``
    (the images that choose the best epoch). Three disjoint sets of (x (n, 64), y (n,))."""
    if not 0 < valid_fraction < 1:
        raise ValueError(f"valid_fraction must be in (0, 1), got {valid_fraction!r}")
    split = load_digit_split(rng, test_fraction)
    keep_train, keep_test = split.y_train > 0, split.y_test > 0
    x, y = split.x_train[keep_train], split.y_train[keep_train]
    n_valid = int(round(len(y) * valid_fraction))
    return {"train": (x[:-n_valid], y[:-n_valid]), "valid": (x[-n_valid:], y[-n_valid:]),
            "test": (split.x_test[keep_test], split.y_test[keep_test])}


class DigitCNN(nn.Module):
    """A small CNN from an 8×8 image (64 pixels) to one scalar:

        a = relu(K ∗ x + b)                (C filters of 3×3, valid: 6×6×C)
        p = maxpool_2×2(a)                 (3×3×C)
        z = w₂ᵀ relu(W₁ p + b₁) + b₂       (softmax=False: a free scalar, the paper's CNN)
          | Σ_k k · softmax(W₂ relu(W₁ p + b₁) + b₂)_k,  k = 1…9   (softmax=True: z ∈ [1, 9])

    Every weight broadcasts over a leading seed axis (``nalu.stack_models``): x (..., N, 64) → z (..., N).
    """

    def __init__(self, channels: int = 8, hidden: int = 32, softmax: bool = False):
        super().__init__()
        for name, v in (("channels", channels), ("hidden", hidden)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        self.channels, self.hidden, self.softmax = channels, hidden, bool(softmax)
        self.conv = Linear(9, channels)  # one 3×3 patch → C filter responses
        self.fc = Linear(9 * channels, hidden)
        self.out = Linear(hidden, 9 if softmax else 1)

    def forward(self, x: Tensor) -> Tensor:
        """z = w₂ᵀ relu(W₁ maxpool(relu(K ∗ x + b)) + b₁) + b₂"""
        if x.shape[-1] != 64:
            raise ValueError(f"DigitCNN reads 8×8 images flattened to 64 pixels, got {x.shape[-1]} values per row")
        n = x.shape[-2]
        patches = x.unflatten(-1, (8, 8)).unfold(-2, 3, 1).unfold(-2, 3, 1)  # (..., N, 6, 6, 3, 3)
        a = torch.relu(self.conv(patches.flatten(-2).flatten(-4, -2)))  # (..., N·36, C)
        p = a.unflatten(-2, (n, 3, 2, 3, 2)).amax(dim=(-4, -2))  # 2×2 max-pool: (..., N, 3, 3, C)
        logits = self.out(torch.relu(self.fc(p.flatten(-3))))
        if not self.softmax:
            return logits.squeeze(-1)
        return torch.softmax(logits, dim=-1) @ torch.arange(1, 10, dtype=logits.dtype, device=logits.device)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, hidden={self.hidden}, softmax={self.softmax}"


def z_regularizer(w: Tensor, inputs: Tensor) -> Tensor:
    """R_z = mean_ij (1 − W_ij) (1 − z̄_i)²  (Madsen & Johansen 2020, §4.2), z̄_i the mean of the unit's
    input i over the batch and the steps: w (..., out, in), inputs (..., N, T, in) → one value per model."""
    z_bar = inputs.mean(dim=(-3, -2)).unsqueeze(-2)  # (..., 1, in)
    return ((1 - w) * (1 - z_bar) ** 2).mean(dim=(-2, -1))


class SequentialArithmetic(nn.Module):
    """The running product or sum of a sequence of digit images (Madsen & Johansen 2020, §4.2):

        z_t = CNN(image_t)
        h_t = U([z_t; h_{t−1}])            (cell a unit name, e.g. nmu or nau: the unit learns the operation)
            | h_{t−1} · z_t                (op="product", cell="exact": the reference, only the CNN learns)
            | h_{t−1} + z_t                (op="sum", cell="exact")
            | r(LSTM(z_t, state))          (cell="lstm": ``lstm_hidden`` units, affine readout r)
        ŷ_t = h_t                          (one output per step: the product or sum so far)

    h_0 is the operation's identity (1 for the product, 0 for the sum), except for the NALU and the
    LSTM (h_0 = 0, as the reference code). Input: flattened rows (..., N, T·64); output (..., N, T).
    Cells: ``PRODUCT_CELLS`` for op="product", ``SUM_CELLS`` for op="sum".
    """

    op: str = "product"  # what a model kept before the sum existed computes

    def __init__(self, cell: str, op: str = "product", channels: int = 8, hidden: int = 32, lstm_hidden: int = 16,
                 softmax: bool = False):
        super().__init__()
        _check_op(op)
        if cell not in _CELLS[op]:
            raise ValueError(f"cell must be one of {_CELLS[op]} for op={op!r}, got {cell!r}")
        self.cell, self.op = cell, op
        self.cnn = DigitCNN(channels, hidden, softmax)
        self.unit = make_unit(cell, 2, 1) if cell not in ("exact", "lstm") else None
        self.lstm = LSTMCell(1, lstm_hidden) if cell == "lstm" else None
        self.readout = Linear(lstm_hidden, 1) if cell == "lstm" else None
        self.h0 = 1.0 if op == "product" and cell not in ("nalu", "lstm") else 0.0

    def recur(self, z: Tensor) -> tuple[Tensor, Tensor | None]:
        """ŷ (..., N, T) from the scalars z (..., N, T), and the unit's inputs [z_t; h_{t−1}]
        (..., N, T, 2) (None for the exact reference and the LSTM)."""
        if self.cell == "exact":
            return (torch.cumprod(z, dim=-1) if self.op == "product" else torch.cumsum(z, dim=-1)), None
        if self.cell == "lstm":
            n, t = z.shape[-2], z.shape[-1]
            hs = self.lstm.run(z.unsqueeze(-1))  # (..., N, T, H)
            return self.readout(hs.flatten(-3, -2)).unflatten(-2, (n, t)).squeeze(-1), None
        h = torch.full_like(z[..., :1], self.h0)
        ys, inputs = [], []
        for t in range(z.shape[-1]):
            u = torch.cat([z[..., t:t + 1], h], dim=-1)  # (..., N, 2)
            h = self.unit(u)  # (..., N, 1)
            ys.append(h)
            inputs.append(u)
        return torch.cat(ys, dim=-1), torch.stack(inputs, dim=-2)

    def run(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """(z, ŷ, unit inputs) for flattened image sequences x (..., N, T·64)."""
        images = x.unflatten(-1, (-1, 64))  # (..., N, T, 64)
        n, t = images.shape[-3], images.shape[-2]
        z = self.cnn(images.flatten(-3, -2)).unflatten(-1, (n, t))
        return (z, *self.recur(z))

    def forward(self, x: Tensor) -> Tensor:
        """ŷ_t = h_t for every step: (..., N, T)."""
        return self.run(x)[1]

    def extra_repr(self) -> str:
        return f"cell={self.cell!r}, op={self.op!r}, h0={self.h0}"


class SequentialProduct(SequentialArithmetic):
    """``SequentialArithmetic`` with op="product": h_t = U([z_t; h_{t−1}]) ≈ h_{t−1} · z_t."""

    def __init__(self, cell: str, channels: int = 8, hidden: int = 32, lstm_hidden: int = 16, softmax: bool = False):
        super().__init__(cell, "product", channels, hidden, lstm_hidden, softmax)


class SequentialSum(SequentialArithmetic):
    """``SequentialArithmetic`` with op="sum": h_t = U([z_t; h_{t−1}]) ≈ h_{t−1} + z_t."""

    def __init__(self, cell: str, channels: int = 8, hidden: int = 32, lstm_hidden: int = 16, softmax: bool = False):
        super().__init__(cell, "sum", channels, hidden, lstm_hidden, softmax)


def running_targets(digits: np.ndarray, op: str) -> np.ndarray:
    """y_t = ∏_{s≤t} d_s (op="product") or Σ_{s≤t} d_s (op="sum") along the last axis, in float64."""
    _check_op(op)
    d = np.asarray(digits, dtype=np.float64)
    return np.cumprod(d, axis=-1) if op == "product" else np.cumsum(d, axis=-1)


@dataclass
class ProductRun:
    """What ``train_sequential`` returns for S seeds (product or sum): the model at each seed's best epoch
    (stacked), the best epoch and its validation MSE, the validation curve (epochs, S) and the
    number of optimiser steps taken."""

    model: SequentialArithmetic
    best_epoch: np.ndarray
    valid_mse: np.ndarray
    curve: np.ndarray
    steps: int
    seeds: list[int]


def _sequence_mse(model: SequentialArithmetic, z_images: Tensor, idx: np.ndarray, labels: np.ndarray) -> Tensor:
    """Squared errors (S, n, T) in float64 of sequences idx (n, T) of images whose scalars are z_images (S, images)."""
    y, _ = model.recur(z_images[:, torch.from_numpy(idx)])
    return (y - torch.from_numpy(running_targets(labels[idx], model.op))) ** 2


@torch.no_grad()
def _scalars64(model: SequentialArithmetic, x: np.ndarray) -> tuple[SequentialArithmetic, Tensor]:
    from .training import as_float64

    m = as_float64(model)
    return m, m.cnn(torch.as_tensor(x, dtype=torch.float64))


@torch.no_grad()
def digit_readings(model: SequentialArithmetic, x: np.ndarray) -> Tensor:
    """The CNN's scalar z = CNN(image) for each image of ``x`` (N, 64), in float64: (N,) for one model,
    (S, N) for S stacked seeds. Rounded, it is the digit the model reads; the chapter counts how often it is the label."""
    return _scalars64(model, x)[1]


@torch.no_grad()
def sequence_test_mse(model: SequentialArithmetic, x: np.ndarray, y: np.ndarray, max_length: int = 20,
                      n: int = 1000, seed: int = 0) -> np.ndarray:
    """Test MSE by sequence length, (S, max_length), in float64: ``n`` sequences of ``max_length``
    images drawn with replacement (``rng_for(seed, EVAL_STREAM)``, shared by every seed and model);
    the MSE at length T is the mean over the sequences and over steps 1…T of (ŷ_t − y_t)², y_t the
    running product or sum of the digits (``running_targets``, the model's ``op``),
    the sequences of length T being the first T images of each (the reference code's measure:
    every step of a cumulative target counts)."""
    for name, v in (("max_length", max_length), ("n", n)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    idx = rng_for(seed, EVAL_STREAM).integers(0, len(y), size=(n, max_length))
    m, z = _scalars64(model, x)
    err = _sequence_mse(m, z, idx, np.asarray(y))  # (S, n, T)
    by_step = err.mean(dim=-2)  # (S, T)
    return (by_step.cumsum(dim=-1) / torch.arange(1, max_length + 1, dtype=torch.float64)).numpy()


def reference_threshold(mse: np.ndarray, alpha: float = 0.01) -> np.ndarray:
    """The success threshold of Madsen & Johansen (§4.2): the one-sided (1 − α) upper confidence
    bound of the reference models' mean MSE, mean + t_{1−α, n−1} · sd / √n (Student t, sd with
    n − 1), per column of ``mse`` (n reference seeds × lengths)."""
    mse = np.asarray(mse, dtype=np.float64)
    if mse.ndim != 2 or mse.shape[0] < 2:
        raise ValueError(f"mse must be (seeds, lengths) with at least 2 seeds, got shape {mse.shape}")
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5), got {alpha!r}")
    if not np.isfinite(mse).all():
        raise ValueError("the reference MSEs must be finite; a reference seed that diverged has no threshold")
    from scipy.stats import t as student_t

    n = mse.shape[0]
    return mse.mean(axis=0) + student_t.ppf(1 - alpha, n - 1) * mse.std(axis=0, ddof=1) / np.sqrt(n)


def train_sequential_product(cell: str, split: dict[str, tuple[np.ndarray, np.ndarray]], seeds: Sequence[int],
                             epochs: int, **kwargs) -> ProductRun:
    """``train_sequential("product", ...)``: the running product, trained by default on pairs of images."""
    return train_sequential("product", cell, split, seeds, epochs, **kwargs)


def train_sequential(op: str, cell: str, split: dict[str, tuple[np.ndarray, np.ndarray]], seeds: Sequence[int],
                     epochs: int, lr: float = 1e-3, batch_size: int = 64, length: int = 2,
                     sparsity: Callable[[int], float] | None = None, rz: float = 0.0,
                     n_valid: int = 1000, eval_every: int = 1, **model_kwargs) -> ProductRun:
    """Trains ``SequentialArithmetic(cell, op)`` for S seeds at once, end to end, on the running
    product (op="product") or sum (op="sum") of ``length`` images.

    Each epoch seed s shuffles the training images with its own generator ``rng_for(s, 2)`` and cuts
    them into sequences of ``length``; batches of ``batch_size`` sequences, Adam(lr). Loss of seed s:
    mean over sequences and steps of (ŷ_t − y_t)² + sparsity(step) · R + rz · R_z, R the unit's own
    regulariser, R_z ``z_regularizer`` on the unit's inputs. Weights are clamped after each step.
    Every ``eval_every`` epochs the validation MSE (``n_valid`` sequences of ``length`` validation
    images, float64) is measured; each seed keeps its parameters of the best epoch. A seed whose
    loss is not finite stops learning (its gradients are zeroed) and keeps its best epoch.
    """
    for name, v in (("epochs", epochs), ("batch_size", batch_size), ("length", length), ("n_valid", n_valid),
                    ("eval_every", eval_every)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    if not rz >= 0:
        raise ValueError(f"rz must be non-negative, got {rz!r}")
    if missing := {"train", "valid"} - set(split):
        raise ValueError(f"split needs 'train' and 'valid' images (product_digit_split), missing {sorted(missing)}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed, got none")
    _check_op(op)
    model = stack_models([build(partial(SequentialArithmetic, cell, op, **model_kwargs), s) for s in seeds])
    if rz > 0 and model.unit is None:
        raise ValueError(f"rz applies to an arithmetic unit's inputs; cell {cell!r} has none, pass rz=0")
    x_train, y_train = torch.as_tensor(split["train"][0]), np.asarray(split["train"][1])
    x_valid, y_valid = split["valid"]
    valid_idx = rng_for(0, EVAL_STREAM).integers(0, len(y_valid), size=(n_valid, length))
    rngs = [rng_for(s, DATA_STREAM) for s in seeds]
    per_epoch = len(y_train) // length
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    params = list(model.parameters())
    best = {k: v.detach().clone() for k, v in model.named_parameters()}
    best_mse = np.full(len(seeds), np.inf)
    best_epoch = np.zeros(len(seeds), dtype=np.int64)
    curve, step = [], 0

    def evaluate(epoch: int) -> None:
        m, z = _scalars64(model, x_valid)
        mse = _sequence_mse(m, z, valid_idx, y_valid).mean(dim=(-2, -1)).numpy()
        mse = np.where(np.isfinite(mse), mse, np.inf)
        curve.append(mse)
        better = mse < best_mse
        if better.any():
            mask = torch.from_numpy(better)
            for k, v in model.named_parameters():
                best[k][mask] = v.detach()[mask]
            best_mse[better], best_epoch[better] = mse[better], epoch

    evaluate(0)
    for epoch in range(1, epochs + 1):
        order = np.stack([rng.permutation(len(y_train))[:per_epoch * length].reshape(per_epoch, length)
                          for rng in rngs])  # (S, sequences, T)
        for lo in range(0, per_epoch, batch_size):
            idx = order[:, lo:lo + batch_size]
            x = x_train[torch.from_numpy(idx)].flatten(-2)  # (S, B, T·64)
            target = torch.from_numpy(running_targets(y_train[idx], op).astype(np.float32))
            _, y, inputs = model.run(x)
            loss = ((y - target) ** 2).mean(dim=(-2, -1))  # (S,)
            if sparsity is not None and (r := regularizer(model.unit) if model.unit is not None else None) is not None:
                loss = loss + sparsity(step) * r
            if rz > 0:
                loss = loss + rz * z_regularizer(model.unit.W, inputs)
            alive = torch.isfinite(loss)
            opt.zero_grad(set_to_none=True)
            torch.where(alive, loss, torch.zeros_like(loss)).sum().backward()
            for p in params:
                if p.grad is not None:
                    g = torch.nan_to_num(p.grad, nan=0.0, posinf=0.0, neginf=0.0)
                    p.grad = g * alive.view(-1, *([1] * (g.dim() - 1))).to(g.dtype)
            opt.step()
            clamp_weights_(model)
            step += 1
        if epoch % eval_every == 0 or epoch == epochs:
            evaluate(epoch)
    with torch.no_grad():
        for k, v in model.named_parameters():
            v.copy_(best[k])
    return ProductRun(model.requires_grad_(False), best_epoch, best_mse, np.stack(curve), step, seeds)


# --- Number words -------------------------------------------------------------------------------

ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
        "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
VOCAB = ("<pad>",) + ONES + TENS + ("hundred", "and")
MAX_TOKENS = 5  # "nine hundred and ninety nine"
_VALUE = {w: i for i, w in enumerate(ONES)} | {w: 20 + 10 * i for i, w in enumerate(TENS)}
_INDEX = {w: i for i, w in enumerate(VOCAB)}


def _check_number(n) -> int:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or not 0 <= n <= 999:
        raise ValueError(f"numbers must be integers in [0, 999], got {n!r}")
    return int(n)


def number_to_words(n: int) -> str:
    """British English, lower case, no hyphens: 0 "zero", 21 "twenty one", 100 "one hundred",
    101 "one hundred and one", 999 "nine hundred and ninety nine"."""
    n = _check_number(n)
    hundreds, rest = divmod(n, 100)
    if rest < 20:
        tail = [ONES[rest]] if rest or not hundreds else []
    else:
        tens, ones = divmod(rest, 10)
        tail = [TENS[tens - 2]] + ([ONES[ones]] if ones else [])
    if not hundreds:
        return " ".join(tail)
    return " ".join([ONES[hundreds], "hundred"] + (["and"] + tail if tail else []))


def words_to_number(text: str) -> int:
    """The reference parser: the value of a number written as ``number_to_words`` writes it.

    Reads the grammar [unit "hundred" ["and" rest]] | rest, with rest = a word below twenty, or a
    tens word optionally followed by a unit word; anything else raises ValueError.
    """
    words = text.split()
    bad = [w for w in words if w not in _VALUE and w not in ("hundred", "and")]
    if not words or bad:
        raise ValueError(f"not a number in words: {text!r}")
    value = 0
    if "hundred" in words:
        if len(words) < 2 or words[1] != "hundred" or words[0] not in ONES[1:10]:
            raise ValueError(f"not a number in words: {text!r}")
        value, words = 100 * _VALUE[words[0]], words[2:]
        if words:
            if words[0] != "and" or len(words) == 1:
                raise ValueError(f"not a number in words: {text!r}")
            words = words[1:]
    if words:
        first = words[0]
        if first in TENS and len(words) <= 2 and (len(words) == 1 or words[1] in ONES[1:10]):
            value += sum(_VALUE[w] for w in words)
        elif first in ONES and len(words) == 1 and (first != "zero" or value == 0):
            value += _VALUE[first]
        else:
            raise ValueError(f"not a number in words: {text!r}")
    return value


def prefix_values(text: str) -> list[int]:
    """The value of the words read so far, after each word: a number word adds its value,
    "hundred" multiplies by 100, "and" changes nothing. "three hundred and twenty one" →
    [3, 300, 300, 320, 321]."""
    value, out = 0, []
    for w in text.split():
        if w == "hundred":
            value *= 100
        elif w != "and":
            if w not in _VALUE:
                raise ValueError(f"unknown word {w!r} in {text!r}")
            value += _VALUE[w]
        out.append(value)
    return out


def encode_numbers(numbers: Sequence[int], max_tokens: int = MAX_TOKENS) -> tuple[np.ndarray, np.ndarray]:
    """One-hot token sequences, left-padded with <pad> to ``max_tokens``: x (n, T·V) float32, and
    per-step targets y (n, T): 0 on padding, then the prefix values (the last column is the number)."""
    if not isinstance(max_tokens, int) or max_tokens < MAX_TOKENS:
        raise ValueError(f"max_tokens must be an integer >= {MAX_TOKENS}, got {max_tokens!r}")
    numbers = [_check_number(n) for n in numbers]
    x = np.zeros((len(numbers), max_tokens, len(VOCAB)), np.float32)
    y = np.zeros((len(numbers), max_tokens), np.float32)
    for row, n in enumerate(numbers):
        words = number_to_words(n).split()
        pad = max_tokens - len(words)
        x[row, np.arange(pad), _INDEX["<pad>"]] = 1
        x[row, pad + np.arange(len(words)), [_INDEX[w] for w in words]] = 1
        y[row, pad:] = prefix_values(" ".join(words))
    return x.reshape(len(numbers), -1), y


def number_split(rng: np.random.Generator, n_train: int = 169, n_valid: int = 200) -> dict[str, np.ndarray]:
    """Trask's split sizes over 0–999: ``n_train`` training numbers, ``n_valid`` validation, the
    rest (631 by default) test; disjoint, so every validation and test number is unseen.

    The training set holds 0–19 (every word below twenty), then for each tens word and for
    "hundred" one random number that uses it, then random numbers up to ``n_train``: every token
    of the vocabulary occurs in training.
    """
    if not isinstance(n_train, int) or not 29 <= n_train <= 999:
        raise ValueError(f"n_train must be an integer in [29, 999], got {n_train!r}")
    if not isinstance(n_valid, int) or not 1 <= n_valid <= 999 - n_train:
        raise ValueError(f"n_valid must be an integer in [1, {999 - n_train}], got {n_valid!r}")
    train = list(range(20))
    for i, word in enumerate(TENS):
        train.append(int(100 * rng.integers(0, 10) + 20 + 10 * i + rng.integers(0, 10)))
    train.append(int(100 * rng.integers(1, 10) + rng.integers(1, 100)))  # "hundred" and "and"
    train = list(dict.fromkeys(train))
    rest = rng.permutation(np.setdiff1d(np.arange(1000), train))
    k = n_train - len(train)
    train = np.sort(np.concatenate([train, rest[:k]]))
    return {"train": train, "valid": np.sort(rest[k:k + n_valid]), "test": np.sort(rest[k + n_valid:])}


def words_dataset(split: dict[str, np.ndarray]) -> Dataset:
    """A ``nalu.Dataset`` for ``nalu.FixedData``: training rows and evaluation splits
    ``train``/``valid``/``test``, x one-hot tokens (n, T·V), y per-step prefix values (n, T)."""
    evals = {name: encode_numbers(split[name]) for name in ("train", "valid", "test")}
    return Dataset(*evals["train"], evals)
