"""Tasks: the arithmetic problems of the papers and the two blog posts.

All randomness comes from a ``numpy.random.Generator`` passed in by the caller; nothing here
touches a global RNG. Inputs are float32; targets are computed in torch so that they broadcast
over a leading seed axis like the units do.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import torch
from torch import Tensor

from .fast import uniform_float32  # numpy's own float32 draws, in bulk

__all__ = [
    "Operation",
    "Interval",
    "Ranges",
    "Task",
    "ArithmeticTask",
    "static_arithmetic",
    "sum_split",
    "two_input",
    "ten_parameter_function",
    "signed_task",
    "IdentityTask",
    "Dataset",
    "MysteryConfig",
    "mystery_configuration",
    "solve_mystery",
    "solve_mystery_loop",
    "mystery_dataset",
    "rng_for",
]


def rng_for(seed: int, stream: int = 0) -> np.random.Generator:
    """An independent generator for (seed, stream): SFC64 seeded through a SeedSequence."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence([int(seed), int(stream)])))


_OPERATION_ALIASES = {
    "+": "add", "plus": "add", "addition": "add",
    "-": "sub", "−": "sub", "minus": "sub", "subtract": "sub", "subtraction": "sub",
    "*": "mul", "×": "mul", "·": "mul", "times": "mul", "multiply": "mul", "multiplication": "mul",
    "/": "div", "÷": "div", "divide": "div", "division": "div",
    "x^2": "square", "x²": "square", "x**2": "square",
    "sqrt(x)": "sqrt", "√x": "sqrt", "√": "sqrt",
}


class Operation(enum.Enum):
    """The arithmetic operations of Trask §4.1. Unary ones (square, sqrt) use only ``a``."""

    ADD = "add"
    SUB = "sub"
    MUL = "mul"
    DIV = "div"
    SQUARE = "square"
    SQRT = "sqrt"

    @classmethod
    def parse(cls, op: "Operation | str") -> "Operation":
        """An operation from itself, its name ('mul'), a word ('multiply') or a symbol ('×', '*', 'x²', '√x')."""
        if isinstance(op, Operation):
            return op
        if not isinstance(op, str):
            raise ValueError(f"an operation is a name or a symbol, got {op!r} ({type(op).__name__}); "
                             f"choose from {cls.choices()}")
        key = op.strip().lower()
        try:
            return cls(_OPERATION_ALIASES.get(key, key))
        except ValueError:
            raise ValueError(f"unknown operation {op!r}; choose from {cls.choices()}") from None

    @classmethod
    def choices(cls) -> str:
        """The accepted spellings, for error messages."""
        return ", ".join(f"{o.value!r} ({o.symbol})" for o in cls)

    @property
    def symbol(self) -> str:
        return {"add": "+", "sub": "−", "mul": "×", "div": "÷", "square": "x²", "sqrt": "√x"}[self.value]

    @property
    def unary(self) -> bool:
        return self in (Operation.SQUARE, Operation.SQRT)

    def __call__(self, a, b=None):
        """op(a, b) for numpy arrays, torch tensors or floats."""
        if self is Operation.ADD:
            return a + b
        if self is Operation.SUB:
            return a - b
        if self is Operation.MUL:
            return a * b
        if self is Operation.DIV:
            return a / b
        if self is Operation.SQUARE:
            return a * a
        return a**0.5


@dataclass(frozen=True)
class Interval:
    """The half-open interval [lo, hi)."""

    lo: float
    hi: float

    def __post_init__(self):
        if not (np.isfinite(self.lo) and np.isfinite(self.hi)) or not self.lo < self.hi:
            raise ValueError(f"an interval needs finite lo < hi, got lo={self.lo!r}, hi={self.hi!r}")

    @property
    def length(self) -> float:
        return self.hi - self.lo

    def __str__(self) -> str:
        return f"[{self.lo:g}, {self.hi:g}]"


class Ranges:
    """A union of disjoint intervals, sampled uniformly (each in proportion to its length).

    With ``exclude_zero`` an exact 0 (which float32 sampling of a range around 0 does produce,
    about once in 2²⁴ draws) is redrawn: division tasks need it.
    """

    exclude_zero: bool = False

    def __init__(self, *intervals: Interval | tuple[float, float]):
        if not intervals:
            raise ValueError("Ranges needs at least one interval, got none")
        ivs = sorted((iv if isinstance(iv, Interval) else Interval(*iv) for iv in intervals), key=lambda i: i.lo)
        for left, right in zip(ivs, ivs[1:]):
            if right.lo < left.hi:
                raise ValueError(f"intervals must not overlap, got {left} and {right}")
        self.intervals = tuple(ivs)

    @classmethod
    def of(cls, spec: "Ranges | Interval | tuple[float, float] | Sequence[tuple[float, float]]") -> "Ranges":
        if isinstance(spec, Ranges):
            return spec
        if isinstance(spec, Interval):
            return cls(spec)
        def number(v) -> bool:
            return isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)

        def pair(v) -> bool:
            return isinstance(v, (tuple, list, np.ndarray)) and len(v) == 2 and all(number(x) for x in v)

        if pair(spec):
            return cls(Interval(float(spec[0]), float(spec[1])))
        if isinstance(spec, (tuple, list, np.ndarray)) and len(spec) and all(isinstance(v, Interval) or pair(v) for v in spec):
            return cls(*[v if isinstance(v, Interval) else Interval(float(v[0]), float(v[1])) for v in spec])
        raise ValueError(f"a range is (lo, hi), a list of (lo, hi) pairs or an Interval, got {spec!r}; "
                         "e.g. (1, 2) or [(-2, -1), (1, 2)]")

    def without_zero(self) -> "Ranges":
        """A copy whose samples are never exactly 0."""
        copy = Ranges(*self.intervals)
        copy.exclude_zero = True
        return copy

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator, out: np.ndarray | None = None) -> np.ndarray:
        """Uniform float32 samples: one uniform draw per element, mapped onto the intervals."""
        result = self._sample(shape, rng, out)
        while self.exclude_zero and not result.all():
            zeros = result == 0
            result[zeros] = self._sample((int(zeros.sum()),), rng, None)
        return result

    def _sample(self, shape: tuple[int, ...], rng: np.random.Generator, out: np.ndarray | None) -> np.ndarray:
        u = uniform_float32(rng, shape, out)
        total = sum(iv.length for iv in self.intervals)
        if len(self.intervals) == 1:
            iv = self.intervals[0]
            if iv.length != 1:  # u · 1 is u: skip a pass over the data
                u *= np.float32(iv.length)
            u += np.float32(iv.lo)
            return u
        t = u * np.float32(total)
        result = np.empty_like(t)
        start = 0.0
        for iv in self.intervals:
            in_this = (t >= start) & (t < start + iv.length)
            result[in_this] = (t[in_this] - start + iv.lo).astype(np.float32)
            start += iv.length
        result[t >= total] = self.intervals[-1].hi - 1e-6
        if out is not None:
            out[...] = result
            return out
        return result

    def __str__(self) -> str:
        return " ∪ ".join(str(iv) for iv in self.intervals)


class Task(abc.ABC):
    """A task: y = f(x) on named splits, each split a range the inputs are drawn from.

    Subclasses set ``in_dim``, ``out_dim`` and ``splits`` (name → ``Ranges``) and define ``targets``.
    """

    in_dim: int
    out_dim: int
    splits: dict[str, Ranges]

    def inputs(self, n: int | tuple[int, ...], split: str, rng: np.random.Generator) -> np.ndarray:
        """``n`` input rows (float32, shape (*n, in_dim)) from the split's range."""
        if split not in self.splits:
            raise ValueError(f"unknown split {split!r}; choose from {list(self.splits)}")
        shape = (n,) if isinstance(n, int) else tuple(n)
        if any(s < 1 for s in shape):
            raise ValueError(f"number of samples must be positive, got {n!r}")
        return self.splits[split].sample((*shape, self.in_dim), rng)

    @abc.abstractmethod
    def targets(self, x: Tensor) -> Tensor:
        """y = f(x), shape (..., n, out_dim)."""

    def sample(self, n: int, split: str, rng: np.random.Generator) -> tuple[Tensor, Tensor]:
        """``n`` fresh (x, y) pairs from the split."""
        x = torch.from_numpy(self.inputs(n, split, rng))
        return x, self.targets(x)


class ArithmeticTask(Task):
    """y = op(a, b) with a = Σ_i A_i x_i and b = Σ_i B_i x_i for fixed 0/1 masks A, B.

    The static task of Trask §4.1, the TensorFlow blog post's sum-split task and the two-input
    tasks are all instances; they differ in the masks and the input ranges. Splits are named
    ``interpolation`` (training range) and ``extrapolation``.
    """

    def __init__(self, op: Operation | str, a_mask: np.ndarray, b_mask: np.ndarray,
                 interpolation, extrapolation, name: str = "arithmetic"):
        self.op = Operation.parse(op)
        a_mask = np.asarray(a_mask, dtype=np.float32)
        b_mask = np.asarray(b_mask, dtype=np.float32)
        if a_mask.ndim != 1 or a_mask.shape != b_mask.shape:
            raise ValueError(f"masks must be 1-d and of equal length, got {a_mask.shape} and {b_mask.shape}")
        for name, mask in (("a_mask", a_mask), ("b_mask", b_mask)):
            if not np.isin(mask, (0.0, 1.0)).all():
                bad = int(np.flatnonzero(~np.isin(mask, (0.0, 1.0)))[0])
                raise ValueError(f"{name} must hold only 0 and 1 (which inputs belong to the operand), got "
                                 f"{mask[bad]!r} at index {bad}; pass a 0/1 mask")
            if not mask.any() and (name == "a_mask" or not self.op.unary):
                raise ValueError(f"{name} selects no input (all zeros); give the operand at least one input")
        if a_mask.shape[0] < 2 and not self.op.unary:
            raise ValueError(f"in_dim must be at least 2, got {a_mask.shape[0]}")
        self.a_mask, self.b_mask = a_mask, b_mask
        self.in_dim, self.out_dim = a_mask.shape[0], 1
        self.splits = {"interpolation": Ranges.of(interpolation), "extrapolation": Ranges.of(extrapolation)}
        if self.op is Operation.SQRT:  # √a of a negative operand is NaN: every seed would "diverge at step 0"
            for split, ranges in self.splits.items():
                if ranges.intervals[0].lo < 0:
                    raise ValueError(f"√x needs non-negative inputs, but the {split} range {ranges} reaches below 0; "
                                     "pass a range within [0, ∞)")
        if self.op is Operation.DIV:  # a divisor of exactly 0 would make the target infinite
            self.splits = {k: r.without_zero() for k, r in self.splits.items()}
        self.name = name

    def operands(self, x: Tensor, eps: float = 0.0) -> tuple[Tensor, Tensor]:
        """a = x·A_ε, b = x·B_ε with every 1 of a mask moved to 1 − ε and every 0 to ε
        (Madsen & Johansen's perturbation); ε = 0 gives the exact operands."""
        a_w = torch.as_tensor(self.a_mask, device=x.device).to(x.dtype)
        b_w = torch.as_tensor(self.b_mask, device=x.device).to(x.dtype)
        if eps:
            a_w, b_w = a_w * (1 - 2 * eps) + eps, b_w * (1 - 2 * eps) + eps
        return x @ a_w, x @ b_w

    def targets(self, x: Tensor) -> Tensor:
        """op(a, b), shape (..., n, 1)."""
        a, b = self.operands(x)
        return self.op(a, b).unsqueeze(-1)

    def perturbed_targets(self, x: Tensor, eps: float = 1e-5) -> Tensor:
        """The ε-perturbed exact solution (in float64): op applied to the perturbed operands.

        Where that perturbation cancels out exactly (addition when every input belongs to one
        operand, e.g. y = x₁ + x₂, where a_ε + b_ε = a + b), both operands are shrunk instead:
        op((1 − ε) a, (1 − ε) b).
        """
        xd = x.double()
        cancels = self.op is Operation.ADD and bool(np.all(self.a_mask + self.b_mask == 1))
        if cancels:
            a, b = self.operands(xd)
            y = self.op((1 - eps) * a, (1 - eps) * b)
        else:
            y = self.op(*self.operands(xd, eps))
        return y.unsqueeze(-1).to(x.dtype)

    def success_threshold(self, x: Tensor, eps: float = 1e-5) -> float:
        """MSE of the ε-perturbed exact solution on inputs x: Madsen & Johansen's success bar."""
        xd = x.double()
        return float(((self.perturbed_targets(xd, eps) - self.targets(xd)) ** 2).mean())

    def __repr__(self) -> str:
        return (f"{self.name}(op={self.op.value}, in_dim={self.in_dim}, "
                f"interpolation={self.splits['interpolation']}, extrapolation={self.splits['extrapolation']})")


def static_arithmetic(op: Operation | str, rng: np.random.Generator | None = None, *, offset: int | None = None,
                      in_dim: int = 100, subset_ratio: float = 0.25, overlap_ratio: float = 0.5,
                      interpolation=(1.0, 2.0), extrapolation=(2.0, 6.0)) -> ArithmeticTask:
    """Trask §4.1 with Madsen & Johansen's protocol: a and b sum two contiguous, overlapping subsets.

    subset size s = ⌊in_dim · subset_ratio⌋, overlap ⌊s · overlap_ratio⌋; a = x[o : o+s],
    b starts ``overlap`` before a ends. The offset o is drawn from ``rng`` (one per seed) unless
    given.
    """
    if not isinstance(in_dim, int) or in_dim < 2:
        raise ValueError(f"in_dim must be an integer >= 2, got {in_dim!r}")
    if not 0 < subset_ratio <= 1:
        raise ValueError(f"subset_ratio must be in (0, 1], got {subset_ratio!r}")
    if not 0 <= overlap_ratio < 1:
        raise ValueError(f"overlap_ratio must be in [0, 1), got {overlap_ratio!r}")
    subset = int(np.floor(in_dim * subset_ratio))
    if subset < 1:
        raise ValueError(f"subset_ratio={subset_ratio!r} leaves an empty subset of in_dim={in_dim}")
    overlap = int(np.floor(subset * overlap_ratio))
    span = 2 * subset - overlap
    if span > in_dim:
        raise ValueError(f"subsets do not fit: span {span} > in_dim {in_dim} "
                         f"(subset_ratio={subset_ratio!r}, overlap_ratio={overlap_ratio!r})")
    if offset is None:
        if rng is None:
            raise ValueError("static_arithmetic needs rng to draw the offset, or an explicit offset")
        offset = int(rng.integers(0, in_dim - span + 1))
    if not 0 <= offset <= in_dim - span:
        raise ValueError(f"offset must be in [0, {in_dim - span}], got {offset!r}")
    a_mask = np.zeros(in_dim, np.float32)
    b_mask = np.zeros(in_dim, np.float32)
    a_mask[offset:offset + subset] = 1
    b_mask[offset + subset - overlap:offset + span] = 1
    task = ArithmeticTask(op, a_mask, b_mask, interpolation, extrapolation, name="static_arithmetic")
    task.offset = offset
    return task


def sum_split(op: Operation | str = "add", in_dim: int = 10, split_at: int = 4,
              interpolation=(0.0, 10.0), extrapolation=(0.0, 100.0)) -> ArithmeticTask:
    """The TensorFlow blog post's task: a = Σ x[:split_at], b = Σ x[split_at:]; train U[0, 10), test U[0, 100)."""
    if not isinstance(in_dim, int) or in_dim < 2:
        raise ValueError(f"in_dim must be an integer >= 2, got {in_dim!r}")
    if not isinstance(split_at, int) or not 0 < split_at < in_dim:
        raise ValueError(f"split_at must be in [1, {in_dim - 1}], got {split_at!r}")
    a_mask = (np.arange(in_dim) < split_at).astype(np.float32)
    return ArithmeticTask(op, a_mask, 1 - a_mask, interpolation, extrapolation, name="sum_split")


def two_input(op: Operation | str, interpolation, extrapolation) -> ArithmeticTask:
    """A single-layer task after the NALM benchmark (Mistry et al. 2022): y = x₁ op x₂."""
    return ArithmeticTask(op, np.array([1, 0]), np.array([0, 1]), interpolation, extrapolation, name="two_input")


def ten_parameter_function(interpolation=(1.0, 2.0), extrapolation=(2.0, 6.0)) -> ArithmeticTask:
    """Madsen & Johansen's introductory task (their Table 1): t = (x₁ + x₂ + x₃ + x₄) · (x₁ + x₂).

    Four inputs, a = x₁ + x₂ + x₃ + x₄ and b = x₁ + x₂; learnt by two layers 4 → 2 → 1, that is
    4·2 + 2·1 = 10 weights. Trained on U[1, 2], tested on U[2, 6] by default.
    """
    return ArithmeticTask("mul", np.array([1, 1, 1, 1]), np.array([1, 1, 0, 0]), interpolation, extrapolation,
                          name="ten_parameter_function")


def signed_task(op: Operation | str = "mul") -> ArithmeticTask:
    """The sign caveat's task: y = x₁ op x₂, x ∈ [−2, 2], extrapolating to [−6, −2] ∪ [2, 6]."""
    return two_input(op, (-2.0, 2.0), [(-6.0, -2.0), (2.0, 6.0)])


class IdentityTask(Task):
    """Trask's Figure 1: y = x, trained on [−5, 5], tested on [−20, 20]."""

    def __init__(self, in_dim: int = 1, interpolation=(-5.0, 5.0), extrapolation=(-20.0, 20.0)):
        if not isinstance(in_dim, int) or in_dim < 1:
            raise ValueError(f"in_dim must be a positive integer, got {in_dim!r}")
        self.in_dim = self.out_dim = in_dim
        self.splits = {"interpolation": Ranges.of(interpolation), "extrapolation": Ranges.of(extrapolation)}

    def targets(self, x: Tensor) -> Tensor:
        return x.clone()


@dataclass
class Dataset:
    """A fixed data set: training rows and named evaluation splits (numpy float32)."""

    x_train: np.ndarray
    y_train: np.ndarray
    evals: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def __post_init__(self):
        _check_rows("x_train", self.x_train)
        _check_rows("y_train", self.y_train)
        if len(self.x_train) != len(self.y_train):
            raise ValueError(f"x_train and y_train differ in length: {len(self.x_train)} vs {len(self.y_train)}")
        if not isinstance(self.evals, dict) or not self.evals:
            raise ValueError("a Dataset needs at least one evaluation split, e.g. evals={'train': (x_train, y_train), "
                             "'test': (x_test, y_test)}; without one the run would log nothing")
        for split, pair in self.evals.items():
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise ValueError(f"evals[{split!r}] must be a pair (x, y), got {type(pair).__name__}")
            x, y = pair
            _check_rows(f"evals[{split!r}] x", x, np.shape(self.x_train)[1])
            _check_rows(f"evals[{split!r}] y", y, np.shape(self.y_train)[1])
            if len(x) != len(y):
                raise ValueError(f"evals[{split!r}]: x and y differ in length: {len(x)} vs {len(y)}")


def _check_rows(name: str, a, width: int | None = None) -> None:
    """A 2-D array (rows, columns) of finite numbers, with ``width`` columns if given."""
    shape = np.shape(a)
    if len(shape) != 2:
        hint = " (for one output, pass y.reshape(-1, 1))" if len(shape) == 1 else ""
        raise ValueError(f"{name} must be 2-D (rows, columns), got shape {shape}{hint}")
    if width is not None and shape[1] != width:
        raise ValueError(f"{name} has {shape[1]} columns, the training set {width}")
    finite = np.isfinite(np.asarray(a, dtype=np.float64))
    if not finite.all():
        row = int(np.argwhere(~finite)[0][0])
        raise ValueError(f"{name} holds {int((~finite).sum())} NaN or infinite values (first in row {row}); "
                         "the data must be finite (drop or fix those rows)")


# --- The PyTorch blog post's mystery arithmetic problem -------------------------------------------

_MYSTERY_DEFAULT_OPS = (Operation.ADD, Operation.SUB, Operation.MUL)


@dataclass(frozen=True)
class MysteryConfig:
    """Output k computes ``ops[k]`` of inputs ``i[k]`` and ``j[k]`` (i ≠ j)."""

    in_dim: int
    i: np.ndarray
    j: np.ndarray
    ops: tuple[Operation, ...]

    @property
    def out_dim(self) -> int:
        return len(self.ops)

    def as_tuples(self) -> list[tuple[int, int, Operation]]:
        return [(int(a), int(b), o) for a, b, o in zip(self.i, self.j, self.ops)]


def mystery_configuration(in_dim: int, out_dim: int, rng: np.random.Generator,
                          ops: Iterable[Operation | str] = _MYSTERY_DEFAULT_OPS) -> MysteryConfig:
    """Draw a configuration: each output gets two distinct inputs and one operation from ``ops``."""
    if not isinstance(in_dim, int) or in_dim < 2:
        raise ValueError(f"in_dim must be an integer >= 2, got {in_dim!r}")
    if not isinstance(out_dim, int) or out_dim < 1:
        raise ValueError(f"out_dim must be a positive integer, got {out_dim!r}")
    ops = tuple(Operation.parse(o) for o in ops)
    if not ops:
        raise ValueError("ops must name at least one operation, got none")
    for o in ops:
        if o.unary:
            raise ValueError(f"the mystery problem uses binary operations only, got {o.value!r}")
    pairs = np.array([rng.choice(in_dim, size=2, replace=False) for _ in range(out_dim)])
    chosen = rng.integers(0, len(ops), size=out_dim)
    return MysteryConfig(in_dim, pairs[:, 0].copy(), pairs[:, 1].copy(), tuple(ops[c] for c in chosen))


def _check_mystery_input(x: np.ndarray, config: MysteryConfig) -> None:
    if x.ndim != 2 or x.shape[1] != config.in_dim:
        raise ValueError(f"x must have shape (rows, {config.in_dim}), got {x.shape}")


def solve_mystery(x: np.ndarray, config: MysteryConfig) -> np.ndarray:
    """Vectorised solution: column k is ops[k](x[:, i[k]], x[:, j[k]])."""
    x = np.asarray(x)
    _check_mystery_input(x, config)
    # one pass over x for every column any output uses, then small gathers from that copy
    cols, where = np.unique(np.concatenate([config.i, config.j]), return_inverse=True)
    used = x[:, cols]
    a, b = used[:, where[:config.out_dim]], used[:, where[config.out_dim:]]
    y = np.empty(a.shape, dtype=np.result_type(x.dtype, np.float64) if x.dtype.kind != "f" else x.dtype)
    codes = np.array([o.value for o in config.ops])
    with np.errstate(divide="ignore", invalid="ignore"):
        for op in set(config.ops):
            cols = codes == op.value
            y[:, cols] = op(a[:, cols], b[:, cols])
    return y


def solve_mystery_loop(x: np.ndarray, config: MysteryConfig) -> np.ndarray:
    """Reference: the row-by-row, output-by-output loop of the PyTorch blog post (re-implemented)."""
    x = np.asarray(x)
    _check_mystery_input(x, config)
    rows = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for row in x:
            rows.append([op(row[i], row[j]) for i, j, op in config.as_tuples()])
    return np.array(rows, dtype=x.dtype if x.dtype.kind == "f" else np.float64).reshape(len(x), config.out_dim)


def mystery_dataset(seed: int, in_dim: int = 100, out_dim: int = 10, n_train: int = 1000, n_test: int = 1000,
                    train_range=(-10.0, 10.0), test_ranges: dict | None = None,
                    ops: Iterable[Operation | str] = _MYSTERY_DEFAULT_OPS) -> tuple[Dataset, MysteryConfig]:
    """The PyTorch blog post's data: a configuration, training rows from U[−10, 10] and test sets.

    ``test_ranges`` maps split names to ranges; by default both the range the blog post's text
    intended ([−50, 50]) and the one its code used ([−10, 10]).
    """
    rng = rng_for(seed, stream=1)
    config = mystery_configuration(in_dim, out_dim, rng, ops)
    test_ranges = test_ranges or {"test [-10, 10]": (-10.0, 10.0), "test [-50, 50]": (-50.0, 50.0)}
    x_train = Ranges.of(train_range).sample((n_train, in_dim), rng)
    evals = {"train": (x_train, solve_mystery(x_train, config).astype(np.float32))}
    for name, r in test_ranges.items():
        x = Ranges.of(r).sample((n_test, in_dim), rng)
        evals[name] = (x, solve_mystery(x, config).astype(np.float32))
    return Dataset(x_train, evals["train"][1], evals), config
