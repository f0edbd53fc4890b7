"""The unit × operation grid of the benchmark chapter: every unit on every operation, each unit on
its own paper's protocol, cells run in parallel on every core and cached on disk.

A *cell* is (unit, task family, operation, input range). A job is one unit on a set of cells of
one family (``GridProtocol``); its seeds train together in one stacked model (the trainer takes a
task per seed), and jobs of the same protocol train up to six units side by side on one stream of
batches (``run_units``, ``nalu.train_together``). ``run_grid`` runs them in a process pool, one
single-threaded worker per core. Results are cached per unit, configuration and package code
(``cache_dir/<hash>.json``), so an interrupted or repeated build only computes what is missing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from torch import nn

from nalu.data import FreshSamples
from nalu.metrics import sparsity_error, success_table
from nalu.models import Stack, make_unit
from nalu.tasks import ArithmeticTask, rng_for, static_arithmetic, ten_parameter_function, two_input
from nalu.training import Checkpoint, Learner, TrainResult, Warmup, code_version, train, train_together
from nalu.units import MLP

from . import named_twice
from .workers import run_each

__all__ = ["UnitSpec", "GridProtocol", "JobArchive", "stored_job", "BENCHMARK_UNITS", "SIGNED_RANGES", "NALM_RANGES",
           "MADSEN_RANGES", "protocol_cells",
           "TWO_LAYER_FAMILIES", "STATIC_OPS", "SIGNED_OPS", "REFERENCE_STEPS", "run_unit", "run_units", "run_grid", "running_checkpoint", "split_by_op", "CACHE_VERSION"]

CACHE_VERSION = 2
REFERENCE_STEPS = 50_000  # the NALM benchmark's budget, at which the schedules below hold as published

STATIC_OPS = ("add", "sub", "mul", "div", "square", "sqrt")
SIGNED_OPS = ("add", "sub", "mul", "div")
# the single-layer benchmark of Mistry et al. (2022, the NALM benchmark): its nine pairs of
# interpolation → extrapolation ranges
NALM_RANGES: dict[str, tuple] = {
    "[−20,−10]→[−40,−20]": ((-20.0, -10.0), (-40.0, -20.0)),
    "[−2,−1]→[−6,−2]": ((-2.0, -1.0), (-6.0, -2.0)),
    "[−1.2,−1.1]→[−6.1,−1.2]": ((-1.2, -1.1), (-6.1, -1.2)),
    "[−0.2,−0.1]→[−2,−0.2]": ((-0.2, -0.1), (-2.0, -0.2)),
    "[−2,2]→±[2,6]": ((-2.0, 2.0), [(-6.0, -2.0), (2.0, 6.0)]),
    "[0.1,0.2]→[0.2,2]": ((0.1, 0.2), (0.2, 2.0)),
    "[1,2]→[2,6]": ((1.0, 2.0), (2.0, 6.0)),
    "[1.1,1.2]→[1.2,6]": ((1.1, 1.2), (1.2, 6.0)),
    "[10,20]→[20,40]": ((10.0, 20.0), (20.0, 40.0)),
}
# the four of them the benchmark chapter trains in every build
SIGNED_RANGES: dict[str, tuple] = {r: NALM_RANGES[r] for r in
                                   ("[1,2]→[2,6]", "[−2,2]→±[2,6]", "[−2,−1]→[−6,−2]", "[0.1,0.2]→[0.2,2]")}
# Madsen & Johansen's sweep of the static × task over its input range (their appendix; the job script
# function_task_static_mul_range.sh of their code): seven interpolation → extrapolation pairs, six of
# them the NALM benchmark's
MADSEN_RANGES: dict[str, tuple] = {
    "[−2,−1]→[−6,−2]": NALM_RANGES["[−2,−1]→[−6,−2]"],
    "[−2,2]→±[2,6]": NALM_RANGES["[−2,2]→±[2,6]"],
    "[0,1]→[1,5]": ((0.0, 1.0), (1.0, 5.0)),
    "[0.1,0.2]→[0.2,2]": NALM_RANGES["[0.1,0.2]→[0.2,2]"],
    "[1,2]→[2,6]": NALM_RANGES["[1,2]→[2,6]"],
    "[1.1,1.2]→[1.2,6]": NALM_RANGES["[1.1,1.2]→[1.2,6]"],
    "[10,20]→[20,40]": NALM_RANGES["[10,20]→[20,40]"],
}
TWO_LAYER_FAMILIES = ("static", "static_ranges", "ten_parameter")  # hidden size 2; the other families are one layer


@dataclass(frozen=True)
class UnitSpec:
    """A benchmark unit and its own paper's protocol: first/second layer names (or an MLP), Adam
    learning rate, regulariser λ_t = Warmup(reg_scale, reg_start, reg_end) with the steps given at a
    budget of ``REFERENCE_STEPS`` and scaled linearly to the run's budget (or, ``reg_fixed``, the same
    steps at every budget), elementwise gradient clip; ``protocol`` says where the numbers come from."""

    label: str
    first: str
    second: str | None = None
    lr: float = 1e-3
    reg_scale: float = 0.0
    reg_start: int = 0
    reg_end: int = 1
    grad_clip: float | None = None
    protocol: str = "Adam 1e-3, no regulariser"
    reg_fixed: bool = False  # True: reg_start and reg_end are steps of every run, not scaled to its budget

    def factory(self, in_dim: int, hidden: int, out_dim: int, two_layers: bool) -> Callable[[], nn.Module]:
        if self.first == "mlp":
            return partial(MLP, in_dim, out_dim, hidden=(64,), activation="relu")
        if two_layers or self.second is not None:
            second = self.second or self.first
            return lambda: Stack(make_unit(self.first, in_dim, hidden), make_unit(second, hidden, out_dim))
        return partial(make_unit, self.first, in_dim, out_dim)

    def reg(self, steps: int) -> Warmup | None:
        """The regulariser schedule at a budget of ``steps``: start and end scaled by steps / REFERENCE_STEPS
        (as given when ``reg_fixed``)."""
        if self.reg_scale <= 0:
            return None
        if self.reg_fixed:
            return Warmup(self.reg_scale, self.reg_start, self.reg_end)
        start = int(round(self.reg_start * steps / REFERENCE_STEPS))
        end = max(int(round(self.reg_end * steps / REFERENCE_STEPS)), start + 1)
        return Warmup(self.reg_scale, start, end)


_NMU_PROTOCOL = "λ̂ = 10, warm-up 2·10⁴ → 3.5·10⁴ of 5·10⁴ steps (NALM benchmark; Madsen: 10⁶ → 2·10⁶ of 5·10⁶)"
BENCHMARK_UNITS: tuple[UnitSpec, ...] = (
    UnitSpec("MLP (ReLU)", "mlp"),
    UnitSpec("Linear", "linear"),
    UnitSpec("NAC", "nac"),
    UnitSpec("NALU (shared)", "nalu"),
    UnitSpec("NALU (separate)", "nalu_separate"),
    UnitSpec("SignedNALU", "signed_nalu"),
    UnitSpec("iNALU", "inalu", reg_scale=1.0, reg_start=20_000, reg_end=35_000, grad_clip=0.1,
             protocol="saturation regulariser, gradient clipping 0.1 (Schlör et al.); no re-initialisation "
                      "of stuck runs"),
    UnitSpec("NAU", "nau", reg_scale=0.01, reg_start=5_000, reg_end=50_000,
             protocol="λ̂ = 0.01, warm-up 5·10³ → 5·10⁴ steps (Madsen & Johansen)"),
    UnitSpec("NMU", "nmu", reg_scale=10.0, reg_start=20_000, reg_end=35_000, protocol=_NMU_PROTOCOL),
    UnitSpec("NAU→NMU", "nau", "nmu", reg_scale=10.0, reg_start=20_000, reg_end=35_000, protocol=_NMU_PROTOCOL),
    UnitSpec("RealNPU", "realnpu", lr=5e-3, reg_scale=1e-5, reg_start=0, reg_end=20_000,
             protocol="Adam 5e-3, L1 penalty β ramped linearly to 1e-5 over 2·10⁴ steps (NALM benchmark: "
                      "grown geometrically from 1e-7 to 1e-5)"),
    UnitSpec("NPU", "npu", lr=5e-3, reg_scale=1e-5, reg_start=0, reg_end=20_000,
             protocol="as the RealNPU (Adam 5e-3, L1 penalty ramped to 1e-5 over 2·10⁴ steps), imaginary weights "
                      "from 0 (Heim et al.)"),
)


@dataclass(frozen=True)
class GridProtocol:
    """One task family's run: steps, seeds per cell, batch, evaluation; optionally a subset of cells."""

    family: str  # "static", "static_ranges" (its × on Madsen & Johansen's ranges), "signed", "nalm" or "ten_parameter"
    steps: int
    n_seeds: int
    batch_size: int = 128
    eval_size: int = 2000
    n_evals: int = 25
    ops: tuple[str, ...] | None = None  # a subset of the family's operations (None: all)
    ranges: tuple[str, ...] | None = None  # a subset of the signed family's ranges (None: all)

    def __post_init__(self):
        for name, chosen in (("ops", self.ops), ("ranges", self.ranges)):
            if chosen is not None and (twice := named_twice(chosen)):
                raise ValueError(f"{name} {tuple(chosen)!r} names {', '.join(twice)} more than once (a second name "
                                 "would make another job of the same cells); name each once")


def _all_cells(family: str) -> list[tuple[str, str]]:
    if family == "static":
        return [(op, "[1,2]→[2,6]") for op in STATIC_OPS]
    if family == "signed":
        return [(op, r) for r in SIGNED_RANGES for op in SIGNED_OPS]
    if family == "nalm":
        return [(op, r) for r in NALM_RANGES for op in SIGNED_OPS]
    if family == "static_ranges":
        return [("mul", r) for r in MADSEN_RANGES]
    if family == "ten_parameter":
        return [("mul", "[1,2]→[2,6]")]
    raise ValueError(f"unknown task family {family!r}; choose 'static', 'static_ranges', 'signed', 'nalm' or "
                     "'ten_parameter'")


def protocol_cells(proto: GridProtocol) -> list[tuple[str, str]]:
    """The (operation, range) cells a protocol trains: its family's, narrowed to ``ops`` and ``ranges``."""
    cells = _all_cells(proto.family)
    for name, chosen, known in (("ops", proto.ops, {c[0] for c in cells}), ("ranges", proto.ranges, {c[1] for c in cells})):
        if chosen is not None and not set(chosen) <= known:
            raise ValueError(f"unknown {name} {sorted(set(chosen) - known)!r}; choose from {sorted(known)}")
    return [c for c in cells if (proto.ops is None or c[0] in proto.ops) and
            (proto.ranges is None or c[1] in proto.ranges)]


def _task(family: str, op: str, range_name: str, seed: int) -> ArithmeticTask:
    if family == "static":
        return static_arithmetic(op, rng_for(seed, 1))
    if family == "ten_parameter":
        return ten_parameter_function()
    if family == "static_ranges":
        interp, extrap = MADSEN_RANGES[range_name]
        return static_arithmetic(op, rng_for(seed, 1), interpolation=interp, extrapolation=extrap)
    interp, extrap = NALM_RANGES[range_name]
    return two_input(op, interp, extrap)


@functools.lru_cache(maxsize=None)
def _code_fingerprint() -> str:
    """Hash of the code a cached result depends on (the library's version and this module), so that
    changing it invalidates the cache (read once per process: the code that runs is the code imported)."""
    digest = hashlib.sha1(code_version().encode())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class JobArchive:
    """A store of finished jobs that outlives code changes, for long runs committed with the book:
    each job's file is keyed by its unit spec and protocol only and records the code version that
    produced it (``code``), so a run spread over sessions keeps what it finished. (A plain
    ``cache_dir`` is keyed by the code as well: any change to it recomputes.)"""

    path: Path

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))


def _key(spec: UnitSpec, proto: GridProtocol, with_code: bool = True) -> str:
    blob = json.dumps(dict(v=CACHE_VERSION, code=_code_fingerprint() if with_code else None, spec=asdict(spec),
                           proto=asdict(proto)), sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def run_unit(spec: UnitSpec, proto: GridProtocol, cache_dir: str | Path | None = None, device: str = "cpu",
             progress: bool = False) -> pd.DataFrame:
    """Train ``spec`` on every cell of ``proto.family`` with ``proto.n_seeds`` seeds per cell.

    Returns one row per (cell, seed): op, range, replicate, success, solved_at, test_mse,
    threshold, sparsity (final weights), diverged. Cached under ``cache_dir`` when given.
    """
    return run_units([spec], proto, cache_dir, device, progress)[0]


CHECKPOINT_SECONDS = 300.0  # how often a job kept in a JobArchive saves its state


def running_checkpoint(spec: UnitSpec, proto: GridProtocol, archive: JobArchive,
                       stop_after_seconds: float | None = None) -> Checkpoint:
    """Where a job of a ``JobArchive`` keeps its state while it trains (``running/<key>.pt``, removed
    when the job is stored): a later run of the same job, in this session or another, continues it.
    Like the archive's finished jobs it outlives code changes (each stretch records its environment)."""
    return Checkpoint(archive.path / "running" / f"{_key(spec, proto, with_code=False)}.pt",
                      every_seconds=CHECKPOINT_SECONDS, stop_after_seconds=stop_after_seconds,
                      resume_elsewhere=True)


def run_units(specs: Sequence[UnitSpec], proto: GridProtocol, cache_dir: str | Path | None = None,
              device: str = "cpu", progress: bool = False, stop_after_seconds: float | None = None
              ) -> list[pd.DataFrame]:
    """``run_unit`` for each of ``specs`` on the same cells, the units side by side on one data stream
    (``nalu.train_together``): every unit's seeds see the batches they would see alone, drawn once for
    all the units. Same rows as one ``run_unit`` per spec; each is cached on its own.

    A single job kept in a ``JobArchive`` trains with a checkpoint (``running_checkpoint``), so a long
    job spans sessions; ``stop_after_seconds`` pauses it there (``nalu.TrainingPaused``)."""
    out = [_cached(spec, proto, cache_dir) for spec in specs]
    todo = [i for i, r in enumerate(out) if r is None]
    if not todo:
        return out
    every = _all_cells(proto.family)
    cells = dict(enumerate(every))
    chosen = set(protocol_cells(proto))
    # seed = cell index (in the whole family) * 1000 + replicate: every (cell, replicate) is its own
    # seed, the same whichever subset of cells a job runs
    seeds = [c * 1000 + r for c, cell in cells.items() if cell in chosen for r in range(proto.n_seeds)]
    tasks = {s: _task(proto.family, *cells[s // 1000], seed=s) for s in seeds}
    in_dim = next(iter(tasks.values())).in_dim
    two_layers = proto.family in TWO_LAYER_FAMILIES
    learners = [Learner(specs[i].factory(in_dim, 2, 1, two_layers), lr=specs[i].lr, reg=specs[i].reg(proto.steps),
                        grad_clip=specs[i].grad_clip) for i in todo]
    data = FreshSamples(tasks.__getitem__, proto.batch_size, eval_size=proto.eval_size)
    eval_every = max(1, proto.steps // proto.n_evals)
    desc = f"{' + '.join(specs[i].label for i in todo)} / {proto.family}"
    checkpoint = (running_checkpoint(specs[todo[0]], proto, cache_dir, stop_after_seconds)
                  if len(todo) == 1 and isinstance(cache_dir, JobArchive) else None)
    if checkpoint is not None:  # one job: the same training as train_together's, resumable
        (learner,) = learners
        results = [train(learner.model_factory, data, seeds, steps=proto.steps, lr=learner.lr, reg=learner.reg,
                         grad_clip=learner.grad_clip, eval_every=eval_every, device=device, checkpoint=checkpoint,
                         progress=progress, desc=desc)]
    else:
        results = train_together(learners, data, seeds, steps=proto.steps, eval_every=eval_every, device=device,
                                 progress=progress, desc=desc)
    for i, result in zip(todo, results):
        rows = _rows(specs[i], proto, cells, seeds, result)
        path = _path(specs[i], proto, cache_dir)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(dict(spec=asdict(specs[i]), proto=asdict(proto), code=code_version(), rows=rows),
                                       ensure_ascii=False))
        out[i] = pd.DataFrame(rows)
    if checkpoint is not None:
        Path(checkpoint.path).unlink(missing_ok=True)  # the job is stored; its running state is no longer needed
    return out


def _rows(spec: UnitSpec, proto: GridProtocol, cells: dict, seeds: list[int], result: TrainResult) -> list[dict]:
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
    return rows


def split_by_op(proto: GridProtocol) -> list[GridProtocol]:
    """One protocol per operation of ``proto`` (same seeds per cell): finer jobs for ``run_grid``."""
    ops = list(dict.fromkeys(op for op, _ in protocol_cells(proto)))
    return [replace(proto, ops=(op,)) for op in ops]


def _path(spec: UnitSpec, proto: GridProtocol, cache_dir: "str | Path | JobArchive | None") -> Path | None:
    if cache_dir is None:
        return None
    if isinstance(cache_dir, JobArchive):
        return cache_dir.path / f"{_key(spec, proto, with_code=False)}.json"
    return Path(cache_dir) / f"{_key(spec, proto)}.json"


def stored_job(spec: UnitSpec, proto: GridProtocol, cache_dir: "str | Path | JobArchive | None") -> dict | None:
    """The stored file of a finished job (spec, proto, code, rows), or None."""
    path = _path(spec, proto, cache_dir)
    if path is not None and path.exists():
        return json.loads(path.read_text())
    return None


def _cached(spec: UnitSpec, proto: GridProtocol, cache_dir) -> pd.DataFrame | None:
    job = stored_job(spec, proto, cache_dir)
    return None if job is None else pd.DataFrame(job["rows"])


def run_grid(jobs: Sequence[tuple[UnitSpec, GridProtocol]], cache_dir: str | Path | None = None,
             device: str = "cpu", workers: int | None = None, side_by_side: int = 6, engine: str = "processes",
             address: str | None = None) -> list[pd.DataFrame]:
    """``run_unit`` for every (spec, protocol) job on ``engine`` (``workers.run_each``): "processes", a
    local pool of ``workers`` processes (default: every core, ``os.cpu_count()``), each single-threaded
    (with one worker, or on a GPU, this process); "ray", Ray tasks on the cluster at ``address`` (or
    $RAY_ADDRESS) or a local instance; "inline", this process. Cached jobs are read, not rerun. Same
    rows, in the order of ``jobs``, as running them one by one.

    Jobs with the same protocol run up to ``side_by_side`` units at a time on one data stream
    (``run_units``: the batches drawn once for them all; 1 runs every job alone)."""
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive integer or None (every core), got {workers!r}")
    if not isinstance(side_by_side, int) or side_by_side < 1:
        raise ValueError(f"side_by_side must be a positive integer (1: every job alone), got {side_by_side!r}")
    if (twice := [spec.label for spec, _ in named_twice(jobs)]):
        raise ValueError(f"jobs list {twice} more than once with one protocol (the same job twice would train the "
                         "same seeds into one checkpoint); list each job once")
    out: list[pd.DataFrame | None] = [_cached(spec, proto, cache_dir) for spec, proto in jobs]
    groups = _side_by_side([i for i, r in enumerate(out) if r is None], jobs, side_by_side)
    args = [([jobs[i][0] for i in group], jobs[group[0]][1], cache_dir, device) for group in groups]
    n = min(workers or os.cpu_count() or 1, max(len(groups), 1))
    if engine == "processes" and (n <= 1 or device != "cpu"):
        engine = "inline"
    for k, rows in run_each(run_units, args, engine=engine, workers=n, address=address, gpu=device.startswith("cuda")):
        for i, r in zip(groups[k], rows):
            out[i] = r
    return out


def _side_by_side(todo: list[int], jobs: Sequence[tuple[UnitSpec, GridProtocol]], at_most: int) -> list[list[int]]:
    """The jobs ``todo`` in groups of one protocol, at most ``at_most`` each: a protocol's k jobs dealt
    in turn to ⌈k / at_most⌉ groups (so that neighbours in ``jobs``, often of like cost, part)."""
    by_proto: dict[GridProtocol, list[int]] = {}
    for i in todo:
        by_proto.setdefault(jobs[i][1], []).append(i)
    groups = []
    for members in by_proto.values():
        n_groups = -(-len(members) // at_most)
        groups += [members[g::n_groups] for g in range(n_groups)]
    return groups
