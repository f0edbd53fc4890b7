"""The benchmark grid: every unit on every operation under one protocol, cached on disk.

A *cell* is (unit, task family, operation, input range). All cells of one unit and one task
family train together in one ``nalu.train`` call (the trainer takes a task per seed), so a
unit's whole row of the heat map costs one stacked run. Results are cached per configuration
(``cache_dir/<hash>.json``), so an interrupted or repeated build only computes what is missing.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from torch import nn

from .metrics import sparsity_error, success_table
from .models import Stack, make_unit
from .tasks import ArithmeticTask, rng_for, static_arithmetic, two_input
from .data import FreshSamples
from .training import Warmup, train
from .units import MLP

__all__ = ["UnitSpec", "Protocol", "BENCHMARK_UNITS", "SIGNED_RANGES", "STATIC_OPS", "SIGNED_OPS", "run_unit", "CACHE_VERSION"]

CACHE_VERSION = 1

STATIC_OPS = ("add", "sub", "mul", "div", "square", "sqrt")
SIGNED_OPS = ("add", "sub", "mul", "div")
# the single-layer ranges after the NALM benchmark (Mistry et al. 2022): interpolation → extrapolation
SIGNED_RANGES: dict[str, tuple] = {
    "[1,2]→[2,6]": ((1.0, 2.0), (2.0, 6.0)),
    "[−2,2]→±[2,6]": ((-2.0, 2.0), [(-6.0, -2.0), (2.0, 6.0)]),
    "[−2,−1]→[−6,−2]": ((-2.0, -1.0), (-6.0, -2.0)),
    "[0.1,0.2]→[0.2,2]": ((0.1, 0.2), (0.2, 2.0)),
}


@dataclass(frozen=True)
class UnitSpec:
    """How a benchmark unit is built and trained: first/second layer names (or an MLP),
    regulariser scale (Madsen's warm-up, scaled to the run's length), elementwise gradient clip."""

    label: str
    first: str
    second: str | None = None
    reg_scale: float = 0.0
    grad_clip: float | None = None

    def factory(self, in_dim: int, hidden: int, out_dim: int, two_layers: bool) -> Callable[[], nn.Module]:
        if self.first == "mlp":
            return partial(MLP, in_dim, out_dim, hidden=(64,), activation="relu")
        if two_layers or self.second is not None:
            second = self.second or self.first
            return lambda: Stack(make_unit(self.first, in_dim, hidden), make_unit(second, hidden, out_dim))
        return partial(make_unit, self.first, in_dim, out_dim)


BENCHMARK_UNITS: tuple[UnitSpec, ...] = (
    UnitSpec("MLP (ReLU)", "mlp"),
    UnitSpec("Linear", "linear"),
    UnitSpec("NAC", "nac"),
    UnitSpec("NALU (shared)", "nalu"),
    UnitSpec("NALU (separate)", "nalu_separate"),
    UnitSpec("SignedNALU", "signed_nalu"),
    UnitSpec("iNALU", "inalu", reg_scale=1.0, grad_clip=0.1),
    UnitSpec("NAU", "nau", reg_scale=10.0),
    UnitSpec("NMU", "nmu", reg_scale=10.0),
    UnitSpec("NAU→NMU", "nau", "nmu", reg_scale=10.0),
    UnitSpec("RealNPU", "realnpu"),  # no L1 penalty: its pull on W keeps it off the exact values the ε criterion needs
)


@dataclass(frozen=True)
class Protocol:
    family: str  # "static" or "signed"
    steps: int
    n_seeds: int
    lr: float = 1e-3
    batch_size: int = 128
    eval_size: int = 2000
    n_evals: int = 25
    reg_start: float = 0.4  # regulariser warm-up from 40% to 80% of the run (Madsen: 1e6 to 2e6 of 5e6)
    reg_end: float = 0.8
    ops: tuple[str, ...] | None = None  # a subset of the family's operations (None: all)
    ranges: tuple[str, ...] | None = None  # a subset of the signed family's ranges (None: all)


def _cells(proto: Protocol) -> list[tuple[str, str]]:
    if proto.family == "static":
        cells = [(op, "[1,2]→[2,6]") for op in STATIC_OPS]
    elif proto.family == "signed":
        cells = [(op, r) for r in SIGNED_RANGES for op in SIGNED_OPS]
    else:
        raise ValueError(f"unknown task family {proto.family!r}; choose 'static' or 'signed'")
    for name, chosen, known in (("ops", proto.ops, {c[0] for c in cells}), ("ranges", proto.ranges, {c[1] for c in cells})):
        if chosen is not None and not set(chosen) <= known:
            raise ValueError(f"unknown {name} {sorted(set(chosen) - known)!r}; choose from {sorted(known)}")
    return [c for c in cells if (proto.ops is None or c[0] in proto.ops) and
            (proto.ranges is None or c[1] in proto.ranges)]


def _task(family: str, op: str, range_name: str, seed: int) -> ArithmeticTask:
    if family == "static":
        return static_arithmetic(op, rng_for(seed, 1))
    interp, extrap = SIGNED_RANGES[range_name]
    return two_input(op, interp, extrap)


@functools.lru_cache(maxsize=None)
def _code_fingerprint() -> str:
    """Hash of the package code a cached result depends on, so that changing it invalidates the cache
    (read once per process: the code that runs is the code that was imported)."""
    here = Path(__file__).parent
    digest = hashlib.sha1()
    for name in ("units.py", "models.py", "tasks.py", "data.py", "training.py", "metrics.py", "benchmark.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


def _key(spec: UnitSpec, proto: Protocol) -> str:
    blob = json.dumps(dict(v=CACHE_VERSION, code=_code_fingerprint(), spec=asdict(spec), proto=asdict(proto)),
                      sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def run_unit(spec: UnitSpec, proto: Protocol, cache_dir: str | Path | None = None, device: str = "cpu",
             progress: bool = False) -> pd.DataFrame:
    """Train ``spec`` on every cell of ``proto.family`` with ``proto.n_seeds`` seeds per cell.

    Returns one row per (cell, seed): op, range, replicate, success, solved_at, test_mse,
    threshold, sparsity (final weights), diverged. Cached under ``cache_dir`` when given.
    """
    path = Path(cache_dir) / f"{_key(spec, proto)}.json" if cache_dir is not None else None
    if path is not None and path.exists():
        return pd.DataFrame(json.loads(path.read_text())["rows"])
    cells = _cells(proto)
    # seed = cell index * 1000 + replicate: every (cell, replicate) is its own seed
    seeds = [c * 1000 + r for c in range(len(cells)) for r in range(proto.n_seeds)]
    tasks = {s: _task(proto.family, *cells[s // 1000], seed=s) for s in seeds}
    in_dim = next(iter(tasks.values())).in_dim
    two_layers = proto.family == "static"
    factory = spec.factory(in_dim, 2, 1, two_layers)
    reg = None
    if spec.reg_scale > 0:
        reg = Warmup(spec.reg_scale, int(proto.reg_start * proto.steps), max(int(proto.reg_end * proto.steps),
                                                                               int(proto.reg_start * proto.steps) + 1))
    eval_every = max(1, proto.steps // proto.n_evals)
    result = train(factory, FreshSamples(tasks.__getitem__, proto.batch_size, eval_size=proto.eval_size), seeds,
                   steps=proto.steps, lr=proto.lr, reg=reg, grad_clip=spec.grad_clip, eval_every=eval_every,
                   device=device, progress=progress, desc=f"{spec.label} / {proto.family}")
    table = success_table(result.log, result.threshold).set_index("seed")
    try:
        sparsity = dict(zip(seeds, np.atleast_1d(sparsity_error(result.model))))
    except ValueError:  # MLP and Linear have no arithmetic-unit weights
        sparsity = {}
    rows = []
    for s in seeds:
        op, range_name = cells[s // 1000]
        t = table.loc[s]
        rows.append(dict(unit=spec.label, family=proto.family, op=op, range=range_name, replicate=s % 1000,
                         success=bool(t.success), solved_at=float(t.solved_at), test_mse=float(t.test_mse),
                         threshold=float(t.threshold), best_step=int(t.best_step),
                         sparsity=float(sparsity.get(s, np.nan)), diverged=s in result.diverged_at,
                         steps=proto.steps))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(dict(spec=asdict(spec), proto=asdict(proto), rows=rows)))
    return pd.DataFrame(rows)
