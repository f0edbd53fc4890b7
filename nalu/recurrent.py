"""Recurrent arithmetic (Trask et al. 2018, §4.2): cells whose update is an arithmetic unit, an
LSTM baseline, sequence models that read a whole sequence, and the recurrent arithmetic task.

Every module here broadcasts over a leading seed axis like the units do, so ``nalu.train`` can
stack S seeds of a sequence model and train them at once. Sequences travel as *flattened rows*:
a batch of N sequences of T steps with F features each is a tensor ``(..., N, T·F)``, the format
the trainer's data sources already produce; a model unflattens it with its known F, so one model
reads sequences of any length.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from .metrics import normalised_table, sequence_errors  # re-exported: they used to live here
from .models import make_unit
from .tasks import ArithmeticTask, Operation, Ranges
from .units import Linear, uniform_

__all__ = [
    "ArithmeticCell",
    "LSTMCell",
    "RecurrentModel",
    "recurrent_model",
    "RecurrentArithmeticTask",
    "unflatten_sequences",
    "normalised_table",
    "sequence_errors",
]


def _check_positive_int(name: str, value) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _cat_last(a: Tensor, b: Tensor) -> Tensor:
    """[a; b] along the last axis, broadcasting the leading axes (a seed axis on one side only)."""
    lead = torch.broadcast_shapes(a.shape[:-1], b.shape[:-1])
    return torch.cat([a.expand(*lead, a.shape[-1]), b.expand(*lead, b.shape[-1])], dim=-1)


def unflatten_sequences(x: Tensor, features: int) -> Tensor:
    """(..., N, T·F) → (..., N, T, F)."""
    _check_positive_int("features", features)
    if x.shape[-1] % features != 0:
        raise ValueError(f"the last axis ({x.shape[-1]}) is not a multiple of features={features}")
    return x.unflatten(-1, (x.shape[-1] // features, features))


def _loop(cell: nn.Module, seq: Tensor, every_step: bool) -> Tensor:
    """h_t, state = cell(x_t, state) for t = 1 … T; returns (..., N, T, hidden), or h_T only."""
    state = cell.initial_state(seq[..., 0, :])
    hs = []
    for t in range(seq.shape[-2]):
        h, state = cell(seq[..., t, :], state)
        if every_step:
            hs.append(h)
    return torch.stack(hs, dim=-2) if every_step else h


class ArithmeticCell(nn.Module):
    """A recurrent cell whose update is one arithmetic unit U. Trask's recurrent NAC / NALU:

        h_t = U([h_{t−1}; x_t]),   h_0 = 0,   U: (hidden + in) → hidden

    (the exact accumulator h_t = h_{t−1} + A x_t is the weight [I | A]). With ``accumulate=True``
    the identity recurrence is built in and U only sees the input:

        h_t = h_{t−1} + U(x_t),    U: in → hidden
    """

    def __init__(self, unit: str, in_dim: int, hidden_dim: int, accumulate: bool = False, **unit_kwargs):
        super().__init__()
        _check_positive_int("in_dim", in_dim)
        _check_positive_int("hidden_dim", hidden_dim)
        self.in_dim, self.hidden_dim, self.unit_name, self.accumulate = in_dim, hidden_dim, unit, accumulate
        unit_in = in_dim if accumulate else hidden_dim + in_dim
        self.unit = make_unit(unit, unit_in, hidden_dim, **unit_kwargs)

    def initial_state(self, x_t: Tensor) -> Tensor:
        return x_t.new_zeros(*x_t.shape[:-1], self.hidden_dim)

    def forward(self, x_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        h = state + self.unit(x_t) if self.accumulate else self.unit(_cat_last(state, x_t))
        return h, h

    def recurrence_matrix(self) -> Tensor:
        """M, the block of U's additive weight that maps h_{t−1} to h_t: (..., hidden, hidden); the
        identity with ``accumulate``. Its spectral radius decides what happens to long sequences."""
        w = self.unit.nac.W if hasattr(self.unit, "nac") else self.unit.W
        if self.accumulate:
            return torch.eye(self.hidden_dim).expand(*w.shape[:-2], -1, -1)
        return w[..., :, :self.hidden_dim]

    def run(self, seq: Tensor, every_step: bool = True) -> Tensor:
        """The states h_1 … h_T of sequences (..., N, T, F): (..., N, T, hidden), or only h_T
        (..., N, hidden). With ``accumulate`` there is no loop: h_t = Σ_{s≤t} U(x_s), U applied
        to all steps at once."""
        if self.accumulate:
            n, t = seq.shape[-3], seq.shape[-2]
            u = self.unit(seq.flatten(-3, -2)).unflatten(-2, (n, t))
            return u.cumsum(dim=-2) if every_step else u.sum(dim=-2)
        return _loop(self, seq, every_step)

    def extra_repr(self) -> str:
        return (f"unit={self.unit_name!r}, in_dim={self.in_dim}, hidden_dim={self.hidden_dim}, "
                f"accumulate={self.accumulate}")


class LSTMCell(nn.Module):
    """torch.nn.LSTM's cell, with weights that broadcast over a leading seed axis:

        [i; f; g; o] = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh
        c_t = σ(f) ⊙ c_{t−1} + σ(i) ⊙ tanh(g)
        h_t = σ(o) ⊙ tanh(c_t)

    Initialisation as torch.nn.LSTM: every weight and bias ~ U[−1/√H, 1/√H]. ``from_torch``
    copies a one-layer torch.nn.LSTM (the tests check that both give the same outputs).
    """

    def __init__(self, in_dim: int, hidden_dim: int):
        super().__init__()
        _check_positive_int("in_dim", in_dim)
        _check_positive_int("hidden_dim", hidden_dim)
        self.in_dim, self.hidden_dim = in_dim, hidden_dim
        bound = 1 / math.sqrt(hidden_dim)
        self.W_ih = nn.Parameter(uniform_(torch.empty(4 * hidden_dim, in_dim), -bound, bound))
        self.W_hh = nn.Parameter(uniform_(torch.empty(4 * hidden_dim, hidden_dim), -bound, bound))
        self.b_ih = nn.Parameter(uniform_(torch.empty(4 * hidden_dim), -bound, bound))
        self.b_hh = nn.Parameter(uniform_(torch.empty(4 * hidden_dim), -bound, bound))

    @classmethod
    def from_torch(cls, lstm: nn.LSTM) -> "LSTMCell":
        if lstm.num_layers != 1 or lstm.bidirectional or not lstm.bias or lstm.proj_size:
            raise ValueError(f"only a one-layer, unidirectional LSTM with biases can be copied, got {lstm!r}")
        cell = cls(lstm.input_size, lstm.hidden_size)
        with torch.no_grad():
            for name in ("W_ih", "W_hh", "b_ih", "b_hh"):
                kind, which = name.split("_")
                getattr(cell, name).copy_(getattr(lstm, f"{'weight' if kind == 'W' else 'bias'}_{which}_l0"))
        return cell

    def initial_state(self, x_t: Tensor) -> tuple[Tensor, Tensor]:
        h = x_t.new_zeros(*x_t.shape[:-1], self.hidden_dim)
        return h, h

    def input_projection(self, x: Tensor) -> Tensor:
        """W_ih x + b_ih + b_hh for rows x (..., N, in)."""
        return x @ self.W_ih.mT + (self.b_ih + self.b_hh).unsqueeze(-2)

    def _step(self, xw_t: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        h, c = state
        gates = xw_t + h @ self.W_hh.mT
        i, f, g, o = gates.chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)

    def forward(self, x_t: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        return self._step(self.input_projection(x_t), state)

    def run(self, seq: Tensor, every_step: bool = True, block: int = 64) -> Tensor:
        """The states h_1 … h_T of sequences (..., N, T, F): (..., N, T, hidden), or only h_T
        (..., N, hidden). The input projection of ``block`` steps at a time is one matrix
        product; only W_hh h_{t−1} runs step by step."""
        n, t = seq.shape[-3], seq.shape[-2]
        state = self.initial_state(seq[..., 0, :])
        hs = []
        for lo in range(0, t, block):
            k = min(block, t - lo)
            xw = self.input_projection(seq[..., lo:lo + k, :].flatten(-3, -2)).unflatten(-2, (n, k))
            for j in range(k):
                h, state = self._step(xw[..., j, :], state)
                if every_step:
                    hs.append(h)
        return torch.stack(hs, dim=-2) if every_step else h

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}, hidden_dim={self.hidden_dim}"


class RecurrentModel(nn.Module):
    """Runs ``cell`` over a sequence and reads the state out:  ŷ = s · R(h_T)  (or s · R(h_t) for
    every t), with a fixed output scale s (default 1).

    Input: flattened rows (..., N, T·F); output (..., N, out), or (..., N, T·out) with
    ``every_step``. The readout R is any module (an arithmetic unit, a linear layer); the cell
    needs ``run(seq, every_step) -> states`` (ArithmeticCell, LSTMCell).
    """

    def __init__(self, cell: nn.Module, readout: nn.Module, features: int, every_step: bool = False,
                 scale: float = 1.0):
        super().__init__()
        _check_positive_int("features", features)
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be a positive number, got {scale!r}")
        self.cell, self.readout, self.features = cell, readout, features
        self.every_step, self.scale = every_step, float(scale)

    def states(self, x: Tensor) -> Tensor:
        """The cell's states h_1 … h_T: (..., N, T, hidden)."""
        return self.cell.run(unflatten_sequences(x, self.features))

    def forward(self, x: Tensor) -> Tensor:
        if not self.every_step:
            y = self.readout(self.cell.run(unflatten_sequences(x, self.features), every_step=False))
        else:
            hs = self.states(x)
            n, t = hs.shape[-3], hs.shape[-2]
            y = self.readout(hs.flatten(-3, -2)).unflatten(-2, (n, t)).flatten(-2)
        return y if self.scale == 1.0 else self.scale * y


def recurrent_model(cell: str, features: int, hidden: int, out_dim: int = 1, readout: str | None = None,
                    every_step: bool = False, scale: float = 1.0, **cell_kwargs) -> RecurrentModel:
    """A sequence model by names: ``cell`` is "lstm" or a unit of ``nalu.UNITS`` (nac, nalu, nau, ...);
    ``readout`` is a unit name, "affine" (y = W h + b) or None: the cell's own unit (Trask's
    recurrent NAC / NALU), or "affine" after an LSTM. ``accumulate=True`` (arithmetic cells)
    builds the identity recurrence in; ``scale`` multiplies the output."""
    if cell == "lstm":
        if cell_kwargs:
            raise ValueError(f"the LSTM cell takes no extra arguments, got {sorted(cell_kwargs)}")
        rnn: nn.Module = LSTMCell(features, hidden)
    else:
        rnn = ArithmeticCell(cell, features, hidden, **cell_kwargs)
    readout = readout or ("affine" if cell == "lstm" else cell)
    head = Linear(hidden, out_dim, bias=True) if readout == "affine" else make_unit(readout, hidden, out_dim)
    return RecurrentModel(rnn, head, features, every_step=every_step, scale=scale)


class RecurrentArithmeticTask:
    """Trask §4.2, the recurrent task: a sequence x_1 … x_T of F-dimensional inputs and

        a = Σ_t A·x_t,   b = Σ_t B·x_t,   y = op(a, b)

    with the masks A, B, the operation and the value range of a static ``ArithmeticTask``. Rows
    are flattened sequences (T·F), so ``nalu.FreshSamples`` trains on it: split
    ``interpolation`` has the training length, split ``length T`` has length T (same values).
    """

    def __init__(self, task: ArithmeticTask, train_length: int = 10, test_lengths=(100, 1000)):
        _check_positive_int("train_length", train_length)
        for t in test_lengths:
            _check_positive_int("test length", t)
        if task.op.unary:
            raise ValueError(f"the recurrent task needs a binary operation, got {task.op.value!r}")
        self.op: Operation = task.op
        self.a_mask, self.b_mask = task.a_mask, task.b_mask
        self.features = task.in_dim
        self.value_range: Ranges = task.splits["interpolation"]
        self.lengths = {"interpolation": int(train_length), **{f"length {int(t)}": int(t) for t in test_lengths}}
        self.splits = {name: self.value_range for name in self.lengths}
        self.in_dim, self.out_dim = int(train_length) * self.features, 1
        self.name = f"recurrent_{task.name}"

    def inputs(self, n: int, split: str, rng: np.random.Generator) -> np.ndarray:
        """``n`` flattened sequences (float32, (n, T·F)) of the split's length."""
        if split not in self.lengths:
            raise ValueError(f"unknown split {split!r}; choose from {list(self.lengths)}")
        _check_positive_int("n", n)
        return self.value_range.sample((n, self.lengths[split] * self.features), rng)

    def operands(self, x: Tensor) -> tuple[Tensor, Tensor]:
        s = unflatten_sequences(x, self.features).sum(dim=-2)  # Σ_t x_t
        a_w = torch.as_tensor(self.a_mask, device=x.device, dtype=x.dtype)
        b_w = torch.as_tensor(self.b_mask, device=x.device, dtype=x.dtype)
        return s @ a_w, s @ b_w

    def targets(self, x: Tensor) -> Tensor:
        """op(a, b), shape (..., n, 1)."""
        a, b = self.operands(x)
        return self.op(a, b).unsqueeze(-1)

    def __repr__(self) -> str:
        return (f"{self.name}(op={self.op.value}, features={self.features}, lengths={list(self.lengths.values())}, "
                f"values={self.value_range})")
