"""The paper's applied tasks (Trask et al. 2018, §4.3–4.4), at laptop scale.

* Digit sequences: sequences of 8×8 handwritten digits (scikit-learn's copy of the UCI digits,
  shipped with the library, no download); targets the count of each class and the sum of the
  digits. A small MLP encoder, trained as a classifier on the training images, turns each image
  into class probabilities; a recurrent model reads the sequence of probability vectors.
* Number words: 0–999 written as English words, a token vocabulary, per-token targets (the value
  of the words read so far) and Trask's split sizes (169 training, 200 validation, 631 test).

All randomness comes from generators passed in by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from .models import build, stack_models
from .data import DATA_STREAM, EVAL_STREAM
from .tasks import Dataset, rng_for
from .units import MLP

__all__ = [
    "DigitSplit",
    "load_digit_split",
    "train_digit_encoder",
    "encode_digits",
    "digit_targets",
    "digit_sequence_set",
    "DigitSequences",
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
