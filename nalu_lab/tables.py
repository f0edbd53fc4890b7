"""The successors' smaller tables as committed long runs, each a set of benchmark-grid jobs
(``nalu_lab.grid``) run one per core (on a local Ray instance, a Ray cluster given by ``--address``
or $RAY_ADDRESS, or a local process pool: ``--engine``), each kept when it finishes (committed with the results, so
a run continues across sessions) and checkpointed while it trains (``grid.running_checkpoint``: a
job longer than a session resumes), and written as one tidy table with its provenance
(``<name>.csv`` and ``<name>.json`` under ``results/tables/``).

* ``ten-parameter``: Madsen & Johansen's Table 1, t = (x₁ + x₂ + x₃ + x₄) · (x₁ + x₂), learnt by two
  layers 4 → 2 → 1. Their protocol (stable-nalu's ``lfs_batch_jobs/simple_mul.sh`` and the defaults
  of ``experiments/simple_function_static.py``): 2·10⁵ steps of Adam 1e-3, batches of 128 fresh
  samples from U[1, 2], extrapolation to U[2, 6], validation and test sets of 10,000, an evaluation
  every 1,000 steps, 100 seeds per model. Their regulariser's warm-up starts at 10⁶ steps, so in
  this task it never acts: every model trains on the MSE alone, as here.
* ``gating``: Madsen & Johansen's gating experiment (their appendix): the static task of 100 inputs,
  a NAC+ then a NALU with shared or separate weights, against an NAU then their gated NAU/NMU;
  batches of 128, Adam 1e-3, 100 seeds × 5·10⁶ steps in the paper, an evaluation every 1,000 steps.
* ``ranges``: Madsen & Johansen's sweep of the static × task over seven input ranges (their appendix;
  stable-nalu's ``lfs_batch_jobs/function_task_static_mul_range.sh``): the NAU → NMU of the static
  table with its protocol (λ̂ = 10 warmed up from step 10⁶ to 2·10⁶), 5·10⁶ steps, an evaluation
  every 1,000 steps; 50 seeds per range in their script, 25 here. One job per range.
* ``nalm``: the NALM benchmark's single-layer task (Mistry et al. 2022) on all nine of its ranges,
  every benchmark unit on its own protocol, 5·10⁴ steps, 25 seeds per cell.

    python -m nalu_lab.tables ten-parameter --seeds 100 --steps 200000
    python -m nalu_lab.tables gating --ops add --seeds 25 --steps 200000
    python -m nalu_lab.tables nalm --seeds 25 --steps 50000
    python -m nalu_lab.tables ranges --seeds 25 --steps 5000000 --ranges '[1.1,1.2]→[1.2,6]'
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Iterable, Iterator

try:
    import fcntl
except ImportError:  # Windows: no lock (run one invocation per table at a time there)
    fcntl = None

import pandas as pd
import torch

from nalu.training import code_version, environment

from .grid import (BENCHMARK_UNITS, MADSEN_RANGES, NALM_RANGES, REFERENCE_STEPS, GridProtocol, JobArchive, UnitSpec,
                   protocol_cells, run_grid, running_checkpoint, stored_job)
from . import named_twice
from .scale import Published
from .workers import ENGINES

__all__ = ["TEN_PARAMETER_PUBLISHED", "TEN_PARAMETER_UNITS", "TEN_PARAMETER_STEPS", "TEN_PARAMETER_SEEDS",
           "GATING_UNITS", "GATING_PUBLISHED", "GATING_PLAN_STEPS", "gating_jobs", "current_rows", "RANGE_UNIT", "RANGE_SEEDS", "RANGE_STEPS", "RANGE_PUBLISHED",
           "ten_parameter_protocol", "gating_protocol", "range_protocol", "range_jobs", "run_ranges", "nalm_protocol", "nalm_jobs", "job_archive", "finished_jobs",
           "job_progress",
           "run_ten_parameter", "run_gating", "run_nalm", "parse_ranges", "range_name_in", "has_run", "load_run", "invocations", "table_lock",
           "DEFAULT_DIR",
           "main"]

DEFAULT_DIR = Path("results/tables")
TEN_PARAMETER_STEPS = 200_000  # their --max-iterations for this task
TEN_PARAMETER_SEEDS = 100
NALM_SEEDS = 25
_NO_REG = "Adam 1e-3, batch 128, MSE only (their regulariser's warm-up begins at 10⁶ steps, after the run)"
TEN_PARAMETER_UNITS: tuple[UnitSpec, ...] = (
    UnitSpec("NAC•", "nac", "nac_mul", protocol=_NO_REG),
    UnitSpec("NALU", "nalu", protocol=_NO_REG),
    UnitSpec("NMU", "nau", "nmu", protocol=_NO_REG),
)
"""The table's three models, as in their jobs: a NAC then a NAC• (the NALU's multiplicative path);
two NALUs (gate and weights shared between the paths); an NAU then an NMU (the row they call NMU)."""

TEN_PARAMETER_PUBLISHED: tuple[Published, ...] = (
    Published("mul", "NAC•", 0.13, 0.08, 0.05, 5.5e4, 7.5e-6, table="Table 1"),
    Published("mul", "NALU", 0.26, 0.09, 0.08, 7.0e4, 9.2e-6, table="Table 1"),
    Published("mul", "NMU", 0.94, 0.03, 0.06, 1.4e4, 2.6e-8, table="Table 1"),
)
"""Their Table 1 (100 seeds each): success rate (+/−: its 95% interval), median solved-at step, mean
sparsity error of the successful seeds."""


GATING_SEEDS = 25
GATING_UNITS: tuple[UnitSpec, ...] = (
    UnitSpec("NALU (shared)", "nac", "nalu", protocol="Adam 1e-3, no regulariser"),
    UnitSpec("NALU (separate)", "nac", "nalu_separate", protocol="Adam 1e-3, no regulariser"),
    UnitSpec("Gated NAU/NMU", "nau", "gated_nau_nmu", reg_scale=10.0, reg_start=1_000_000, reg_end=2_000_000,
             reg_fixed=True, protocol="Adam 1e-3, λ̂ = 10 warmed up from step 10⁶ to 2·10⁶ (at every budget)"),
)
"""The gating experiment's models: a NAC+ then a NALU (gate and weights shared between its paths, or
a weight matrix per path), and an NAU then a gated NAU/NMU (``nalu.GatedNAUNMU``), their scripts'
``function_task_static_nalu.sh``."""

GATING_PLAN_STEPS = 3_000_000
"""The budget of the gating experiment's × run: past the latest of its published median solved-at steps
(2.9·10⁶), so the rule can judge each rate (their own run: 5·10⁶)."""

GATING_PUBLISHED: tuple[Published, ...] = (
    Published("mul", "Gated NAU/NMU", 0.62, 0.09, 0.10, 1.5e6, 5.0e-5, table="appendix, gating"),
    Published("mul", "NALU (separate)", 0.22, 0.09, 0.07, 2.8e6, 5.8e-2, table="appendix, gating"),
    Published("mul", "NALU (shared)", 0.24, 0.09, 0.07, 2.9e6, 1.0e-3, table="appendix, gating"),
    Published("add", "Gated NAU/NMU", 0.37, 0.10, 0.09, 1.9e4, 1.7e-1, table="appendix, gating"),
    Published("add", "NALU (separate)", 0.51, 0.10, 0.10, 1.4e5, 1.8e-1, table="appendix, gating"),
    Published("add", "NALU (shared)", 0.34, 0.10, 0.09, 1.8e5, 1.8e-1, table="appendix, gating"),
)
"""Their gating table (100 seeds × 5·10⁶ steps each)."""


RANGE_SEEDS = 25
RANGE_STEPS = 5_000_000  # their --max-iterations; no solved-at step is published, so the rule needs all of it
RANGE_UNIT = UnitSpec("NAU→NMU", "nau", "nmu", reg_scale=10.0, reg_start=1_000_000, reg_end=2_000_000, reg_fixed=True,
                      protocol="Adam 1e-3, λ̂ = 10 warmed up from step 10⁶ to 2·10⁶ (Madsen & Johansen's static task)")
"""The model of their range sweep: the static table's NAU then NMU (``--layer-type ReRegualizedLinearNAC
--nac-mul mnac``), with its regulariser schedule at every budget."""

RANGE_PUBLISHED: dict[str, Published] = {
    r: Published("mul", "NAU→NMU", rate, None, None, None, None, table="appendix, input ranges", seeds=50)
    for r, rate in zip(MADSEN_RANGES, (1.00, 0.78, 1.00, 0.84, 1.00, 0.00, 1.00))
}
"""The NMU's success rate on each range of their sweep (read from their figure; 50 seeds per range in
their job script, 5·10⁶ steps; no median solved-at step in text)."""


def _positive(**values) -> None:
    for name, v in values.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")


def ten_parameter_protocol(steps: int = TEN_PARAMETER_STEPS, n_seeds: int = TEN_PARAMETER_SEEDS) -> GridProtocol:
    """The grid protocol of the ten-parameter function: an evaluation every 1,000 steps (at most 200
    in all, at least 2), evaluation sets of 10,000."""
    _positive(steps=steps, n_seeds=n_seeds)
    return GridProtocol("ten_parameter", steps=steps, n_seeds=n_seeds, eval_size=10_000,
                        n_evals=min(max(steps // 1_000, 2), 200))


GATING_OPS = ("add", "mul")  # the operations of their gating experiment


def gating_protocol(ops: tuple[str, ...] = GATING_OPS, steps: int = 5_000_000,
                    n_seeds: int = GATING_SEEDS) -> GridProtocol:
    """The static task's cells ``ops`` (of + and ×), an evaluation every 1,000 steps (at most 5,000
    in all), evaluation sets of 10,000."""
    _positive(steps=steps, n_seeds=n_seeds)
    ops = tuple(ops)
    if not ops or not set(ops) <= set(GATING_OPS):
        raise ValueError(f"the gating experiment has the operations 'add' and 'mul', got {ops!r}")
    return GridProtocol("static", steps=steps, n_seeds=n_seeds, eval_size=10_000, ops=ops,
                        n_evals=min(max(steps // 1_000, 2), 5_000))


def _plain_spelling(name: str) -> str:
    """A range name as typed on a plain keyboard: '-' for '−', '->' for '→', '+-' or '+/-' for '±', no
    spaces and no 'U' ('U[1,2] -> U[2,6]' and '[1,2]→[2,6]' are the same range)."""
    name = name.replace(" ", "").replace("U", "").replace("→", "->").replace("±", "+-").replace("+/-", "+-")
    return name.replace("−", "-")


def range_name_in(spelling: str, known: Iterable[str]) -> str:
    """The name in ``known`` that ``spelling`` means: the name itself, the same range typed with ASCII
    ('[-2,2]->+-[2,6]', 'U[1,2] -> U[2,6]'), or its training range alone ('[1,2]'); a clear error otherwise."""
    known = list(known)
    if spelling in known:
        return spelling
    plain = _plain_spelling(str(spelling))
    for name in known:
        if plain in (_plain_spelling(name), _plain_spelling(name.split("→")[0])):
            return name
    raise ValueError(f"unknown range {spelling!r}; choose from {known} (ASCII '-', '->' and '+-' are read as "
                     "'−', '→' and '±'; a training range alone, e.g. '[1,2]', names its pair)")


def nalm_protocol(range_name: str, steps: int = REFERENCE_STEPS, n_seeds: int = NALM_SEEDS) -> GridProtocol:
    """One of the NALM benchmark's nine ranges (a key of ``NALM_RANGES``), every operation."""
    _positive(steps=steps, n_seeds=n_seeds)
    return GridProtocol("nalm", steps=steps, n_seeds=n_seeds, ranges=(range_name_in(range_name, NALM_RANGES),))


def range_protocol(range_name: str, steps: int = RANGE_STEPS, n_seeds: int = RANGE_SEEDS) -> GridProtocol:
    """One range of the sweep (a key of ``MADSEN_RANGES``): the static × task, an evaluation every 1,000
    steps (at most 5,000 in all, at least 2), evaluation sets of 10,000."""
    _positive(steps=steps, n_seeds=n_seeds)
    return GridProtocol("static_ranges", steps=steps, n_seeds=n_seeds, eval_size=10_000,
                        ranges=(range_name_in(range_name, MADSEN_RANGES),),
                        n_evals=min(max(steps // 1_000, 2), 5_000))


def _run(name: str, jobs: list[tuple[UnitSpec, GridProtocol]], out_dir: str | Path, command: str, protocol: dict,
         workers: int | None, device: str, engine: str = "ray", address: str | None = None) -> pd.DataFrame:
    """Run ``jobs`` (each kept when it finishes in ``out_dir/jobs/name``, a ``JobArchive``: commit it, and a
    later session or machine continues the run), write ``name``.csv and ``name``.json, return the table.
    ``job_codes`` lists the code versions that produced the jobs."""
    out_dir = Path(out_dir)
    archive = job_archive(name, out_dir.resolve())  # a worker's working directory need not be this process's
    from_cache = sum(stored_job(spec, proto, archive) is not None for spec, proto in jobs)
    t0 = time.time()
    tables = run_grid(jobs, cache_dir=archive, device=device, workers=workers, side_by_side=1, engine=engine,
                      address=address)
    codes = sorted({stored_job(spec, proto, archive)["code"] for spec, proto in jobs})
    table = pd.concat(tables, ignore_index=True).rename(columns={"replicate": "seed"})
    specs = list(dict.fromkeys(spec for spec, _ in jobs))
    with table_lock(name, out_dir):  # read, merge and write as one step: another run of this table may finish now
        kept, earlier = _kept_from_earlier_runs(name, out_dir, table)
        table = pd.concat([kept, table], ignore_index=True) if len(kept) else table
        provenance = dict(protocol=protocol,
                          units={s.label: dict(first=s.first, second=s.second, lr=s.lr, protocol=s.protocol)
                                 for s in specs},
                          environment=environment(device), code=code_version(), job_codes=codes, command=command,
                          # the invocation that wrote the table; jobs it read from the cache cost it nothing
                          wall_seconds=round(time.time() - t0, 1), jobs=len(jobs), jobs_from_cache=from_cache,
                          workers=min(workers or os.cpu_count() or 1, len(jobs)),
                          earlier=earlier)
        _replace(out_dir / f"{name}.csv", table.to_csv(index=False))
        _replace(out_dir / f"{name}.json", json.dumps(provenance, indent=1, ensure_ascii=False) + "\n")
    return table


@contextlib.contextmanager
def table_lock(name: str, out_dir: str | Path = DEFAULT_DIR) -> Iterator[None]:
    """Hold table ``name``'s lock (``out_dir/.name.lock``, an exclusive ``flock``) for the block: two
    invocations of one table finishing together (two ranges, one per core) would otherwise each merge
    the rows read before the other wrote, and keep only their own. Released when the block ends, or
    when the process dies. (No lock where ``fcntl`` is missing, on Windows.)"""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / f".{name}.lock", "w") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename, so a reader never sees half of it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


CELL_COLUMNS = ["unit", "family", "op", "range"]  # what names a cell of a table's rows (with its seeds)


def _cells_not_in(rows: pd.DataFrame, newer: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``rows`` whose cells (``CELL_COLUMNS``) ``newer`` does not hold."""
    fresh = set(newer[CELL_COLUMNS].itertuples(index=False, name=None))
    return rows[[cell not in fresh for cell in rows[CELL_COLUMNS].itertuples(index=False, name=None)]]


def _kept_from_earlier_runs(name: str, out_dir: Path, table: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    """The rows of the committed run ``name`` whose cells this run did not train (e.g. the gating
    experiment's + at one budget when × is run at another), and the provenance of the runs they came
    from; a cell this run trained replaces the earlier one."""
    if not has_run(name, out_dir):
        return pd.DataFrame(), []
    before, meta = load_run(name, out_dir)
    kept = _cells_not_in(before, table)
    if kept.empty:
        return kept, []
    return kept, invocations(meta)


def invocations(meta: dict) -> list[dict]:
    """The invocations that assembled a stored table, newest first: the one that wrote it (its
    provenance ``meta`` less ``earlier``), then those whose rows it kept (``meta["earlier"]``)."""
    return [{k: v for k, v in meta.items() if k != "earlier"}, *meta.get("earlier", [])]


def run_ten_parameter(out_dir: str | Path = DEFAULT_DIR, *, steps: int = TEN_PARAMETER_STEPS,
                      n_seeds: int = TEN_PARAMETER_SEEDS, workers: int | None = None, device: str = "cpu",
                      engine: str = "ray", address: str | None = None) -> pd.DataFrame:
    """Train every model of ``TEN_PARAMETER_UNITS`` on the ten-parameter function (one job per model,
    ``workers`` processes, default every core); writes ``ten_parameter.csv`` / ``.json``."""
    proto = ten_parameter_protocol(steps, n_seeds)
    return _run("ten_parameter", [(spec, proto) for spec in TEN_PARAMETER_UNITS], out_dir,
                f"python -m nalu_lab.tables ten-parameter --seeds {n_seeds} --steps {steps}",
                dict(steps=steps, seeds=n_seeds, batch=proto.batch_size, eval_size=proto.eval_size,
                     eval_every=steps // proto.n_evals), workers, device, engine, address)


def gating_jobs(ops: tuple[str, ...] = GATING_OPS, steps: int = 5_000_000,
                n_seeds: int = GATING_SEEDS) -> list[tuple[UnitSpec, GridProtocol]]:
    """The gating experiment's jobs on ``ops``: one per model of ``GATING_UNITS``."""
    proto = gating_protocol(ops, steps, n_seeds)
    return [(spec, proto) for spec in GATING_UNITS]


def run_gating(out_dir: str | Path = DEFAULT_DIR, *, ops: tuple[str, ...] = GATING_OPS, steps: int = 5_000_000,
               n_seeds: int = GATING_SEEDS, workers: int | None = None, device: str = "cpu", engine: str = "ray",
               address: str | None = None) -> pd.DataFrame:
    """Every model of ``GATING_UNITS`` on the static task's ``ops`` (one job per model); writes
    ``gating.csv`` / ``.json``."""
    proto = gating_protocol(ops, steps, n_seeds)
    return _run("gating", gating_jobs(ops, steps, n_seeds), out_dir,
                f"python -m nalu_lab.tables gating --ops {','.join(proto.ops)} --seeds {n_seeds} --steps {steps}",
                dict(steps=steps, seeds=n_seeds, ops=list(proto.ops), batch=proto.batch_size, eval_size=proto.eval_size,
                     eval_every=steps // proto.n_evals), workers, device, engine, address)


def nalm_jobs(ranges: tuple[str, ...] | None = None, *, steps: int = REFERENCE_STEPS, n_seeds: int = NALM_SEEDS,
              units: tuple[UnitSpec, ...] = BENCHMARK_UNITS) -> list[tuple[UnitSpec, GridProtocol]]:
    """The NALM run's jobs on ``ranges`` (keys of ``NALM_RANGES``, default all nine): one per unit and
    range, in range order."""
    ranges = tuple(NALM_RANGES) if ranges is None else tuple(ranges)
    return [(spec, nalm_protocol(r, steps, n_seeds)) for r in ranges for spec in units]


def range_jobs(ranges: tuple[str, ...] | None = None, *, steps: int = RANGE_STEPS,
               n_seeds: int = RANGE_SEEDS) -> list[tuple[UnitSpec, GridProtocol]]:
    """The range sweep's jobs: one per range of ``ranges`` (keys of ``MADSEN_RANGES``, default all seven)."""
    ranges = tuple(MADSEN_RANGES) if ranges is None else tuple(ranges)
    return [(RANGE_UNIT, range_protocol(r, steps, n_seeds)) for r in ranges]


def run_ranges(out_dir: str | Path = DEFAULT_DIR, *, steps: int = RANGE_STEPS, n_seeds: int = RANGE_SEEDS,
               ranges: tuple[str, ...] | None = None, workers: int | None = None, device: str = "cpu",
               engine: str = "ray", address: str | None = None) -> pd.DataFrame:
    """The NAU → NMU on the static × task of each range (default: all seven), one job per range; writes
    ``ranges.csv`` / ``.json`` (a range run before and not now keeps its rows)."""
    ranges = tuple(MADSEN_RANGES) if ranges is None else tuple(ranges)
    return _run_ranges("ranges", range_jobs(ranges, steps=steps, n_seeds=n_seeds), ranges, tuple(MADSEN_RANGES),
                       out_dir, workers, device, engine, address)


def _run_ranges(name: str, jobs: list[tuple[UnitSpec, GridProtocol]], ranges: tuple[str, ...],
                all_ranges: tuple[str, ...], out_dir: str | Path, workers: int | None, device: str, engine: str,
                address: str | None) -> pd.DataFrame:
    """``_run`` for a run whose jobs go range by range (the NALM benchmark, the range sweep): the command
    names the ranges only when they are not all of ``all_ranges``; the protocol records them."""
    if not jobs:
        raise ValueError(f"nothing to run: ranges={ranges!r} (name at least one of {list(all_ranges)}, or pass None "
                         "for all of them; a run of units needs at least one unit)")
    proto = jobs[0][1]
    chosen = "" if ranges == all_ranges else " --ranges '" + ",".join(ranges) + "'"
    command = f"python -m nalu_lab.tables {name} --seeds {proto.n_seeds} --steps {proto.steps}{chosen}"
    return _run(name, jobs, out_dir, command,
                dict(steps=proto.steps, seeds=proto.n_seeds, batch=proto.batch_size, eval_size=proto.eval_size,
                     eval_every=proto.steps // proto.n_evals, ranges=list(ranges)), workers, device, engine, address)


def job_archive(name: str, out_dir: str | Path = DEFAULT_DIR) -> JobArchive:
    """Where the run ``name`` keeps its finished jobs (pass it as ``run_grid``'s ``cache_dir`` to read them)."""
    return JobArchive(Path(out_dir) / "jobs" / name)


def finished_jobs(name: str, jobs: list[tuple[UnitSpec, GridProtocol]], out_dir: str | Path = DEFAULT_DIR
                  ) -> tuple[pd.DataFrame, list[tuple[UnitSpec, GridProtocol]]]:
    """The rows of the jobs of run ``name`` that are finished (kept in its archive; columns as
    ``run_unit``'s, ``replicate`` renamed ``seed``, plus ``code``: the code version of the job) and
    the jobs that are not."""
    archive = job_archive(name, out_dir)
    frames, missing = [], []
    for spec, proto in jobs:
        job = stored_job(spec, proto, archive)
        if job is None:
            missing.append((spec, proto))
        else:
            frames.append(pd.DataFrame(job["rows"]).assign(code=job["code"]))
    rows = pd.concat(frames, ignore_index=True).rename(columns={"replicate": "seed"}) if frames else pd.DataFrame()
    return rows, missing


def job_progress(name: str, jobs: list[tuple[UnitSpec, GridProtocol]], out_dir: str | Path = DEFAULT_DIR
                 ) -> pd.DataFrame:
    """Per job of run ``name``: its unit, operations and ranges, ``status`` ("finished", "running": a
    checkpoint of it is kept, or "left"), the step it reached, its budget and the seed-steps left."""
    archive = job_archive(name, out_dir)
    rows = []
    for spec, proto in jobs:
        finished = stored_job(spec, proto, archive) is not None
        running = running_checkpoint(spec, proto, archive).path
        step = proto.steps if finished else int(torch.load(running, weights_only=False)["step"]) if running.exists() else 0
        cells = protocol_cells(proto)
        rows.append(dict(unit=spec.label, ops=",".join(dict.fromkeys(op for op, _ in cells)),
                         ranges=",".join(dict.fromkeys(r for _, r in cells)),
                         status="finished" if finished else "running" if running.exists() else "left",
                         step_reached=step, steps=proto.steps,
                         seed_steps_left=len(cells) * proto.n_seeds * (proto.steps - step)))
    return pd.DataFrame(rows)


def run_nalm(out_dir: str | Path = DEFAULT_DIR, *, steps: int = REFERENCE_STEPS, n_seeds: int = NALM_SEEDS,
             units: tuple[UnitSpec, ...] = BENCHMARK_UNITS, ranges: tuple[str, ...] | None = None,
             workers: int | None = None, device: str = "cpu", engine: str = "ray",
             address: str | None = None) -> pd.DataFrame:
    """Every unit of ``units`` on every operation of the NALM benchmark's ranges (default: all nine),
    one job per unit and range; writes ``nalm.csv`` / ``.json``."""
    ranges = tuple(NALM_RANGES) if ranges is None else tuple(ranges)
    return _run_ranges("nalm", nalm_jobs(ranges, steps=steps, n_seeds=n_seeds, units=units), ranges,
                       tuple(NALM_RANGES), out_dir, workers, device, engine, address)


def current_rows(name: str, jobs: list[tuple[UnitSpec, GridProtocol]], out_dir: str | Path = DEFAULT_DIR
                 ) -> pd.DataFrame:
    """The committed table of run ``name`` (empty if none), with the cells of every finished job of
    ``jobs`` in its place: a job kept in the archive counts before the invocation that started it has
    rewritten the table (e.g. one model of a run interrupted by the end of a session)."""
    finished, _ = finished_jobs(name, jobs, out_dir)
    finished = finished.drop(columns="code") if len(finished) else finished
    if not has_run(name, out_dir):
        return finished
    committed = load_run(name, out_dir)[0]
    if finished.empty:
        return committed
    return pd.concat([_cells_not_in(committed, finished), finished], ignore_index=True)


def has_run(name: str, out_dir: str | Path = DEFAULT_DIR) -> bool:
    """Whether the committed run ``name`` (its table and its provenance) is under ``out_dir``."""
    return all((Path(out_dir) / f"{name}.{ext}").exists() for ext in ("csv", "json"))


def load_run(name: str, out_dir: str | Path = DEFAULT_DIR) -> tuple[pd.DataFrame, dict]:
    """A committed run (``"ten_parameter"``, ``"gating"``, ``"ranges"`` or ``"nalm"``): its table (a row per unit × cell × seed)
    and its provenance."""
    out_dir = Path(out_dir)
    csv, meta = out_dir / f"{name}.csv", out_dir / f"{name}.json"
    for f in (csv, meta):
        if not f.exists():
            raise FileNotFoundError(f"{f} is missing; run `python -m nalu_lab.tables {name.replace('_', '-')}` "
                                    "to produce it")
    return pd.read_csv(csv), json.loads(meta.read_text())


def parse_ranges(spec: str, known: Iterable[str]) -> tuple[str, ...]:
    """'[1,2]→[2,6],[10,20]→[20,40]' → the names of ``known`` it lists (range names hold commas, so the
    list is cut where a known name ends); a clear error naming what is not one."""
    known, names, piece = list(known), [], ""
    for part in spec.split(","):
        piece = f"{piece},{part}" if piece else part
        try:
            names.append(range_name_in(piece.strip(), known))
            piece = ""
        except ValueError:
            continue
    if piece.strip() or not names:
        raise ValueError(f"ranges {spec!r}: {piece.strip() or 'none given'!r} is not a range; write names from "
                         f"{known}, separated by commas")
    if (twice := named_twice(names)):
        raise ValueError(f"ranges {spec!r} name {', '.join(twice)} more than once; name each range once")
    return tuple(names)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m nalu_lab.tables", description=__doc__.split("\n\n")[0])
    p.add_argument("table", choices=("ten-parameter", "gating", "nalm", "ranges"))
    p.add_argument("--ops", default="add,mul", help="the gating experiment's operations (add, mul)")
    p.add_argument("--seeds", type=int, default=None, help="seeds per model and cell (default: the table's)")
    p.add_argument("--steps", type=int, default=None, help="training steps (default: the table's)")
    p.add_argument("--ranges", default=None, help="the NALM run's or the range sweep's ranges, comma-separated, e.g. '[1,2]→[2,6]' "
                   "or '[1,2]' (its training range) or '[-2,2]->+-[2,6]' (default: all)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    p.add_argument("--engine", choices=ENGINES, default="ray",
                   help="ray: a local instance or the cluster at --address; processes: a local pool; inline: this "
                        "process (each way, one intra-op thread per job)")
    p.add_argument("--address", default=None, help="a Ray cluster's address (default: $RAY_ADDRESS or a local instance)")
    p.add_argument("--out", default=str(DEFAULT_DIR))
    a = p.parse_args(argv)
    for flag in ("seeds", "steps", "workers"):
        if getattr(a, flag) is not None and getattr(a, flag) < 1:
            p.error(f"--{flag} must be a positive integer, got {getattr(a, flag)}; leave it out for the table's default")
    ranges = None
    if a.ranges is not None:
        if a.table not in ("nalm", "ranges"):
            p.error(f"--ranges applies to the nalm and ranges tables, not {a.table!r}")
        try:
            ranges = parse_ranges(a.ranges, MADSEN_RANGES if a.table == "ranges" else NALM_RANGES)
        except ValueError as e:
            p.error(str(e))

    def chosen(value: int | None, default: int) -> int:
        return default if value is None else value

    if a.table == "ten-parameter":
        table = run_ten_parameter(a.out, steps=chosen(a.steps, TEN_PARAMETER_STEPS),
                                  n_seeds=chosen(a.seeds, TEN_PARAMETER_SEEDS), workers=a.workers, engine=a.engine,
                                  address=a.address)
    elif a.table == "gating":
        ops = tuple(a.ops.split(","))
        if not ops or not set(ops) <= set(GATING_OPS) or len(set(ops)) < len(ops):  # gating_protocol's checks
            p.error(f"--ops takes add, mul or add,mul; got {a.ops!r}")
        table = run_gating(a.out, ops=ops, steps=chosen(a.steps, 5_000_000), n_seeds=chosen(a.seeds, GATING_SEEDS),
                           workers=a.workers, engine=a.engine, address=a.address)
    elif a.table == "ranges":
        table = run_ranges(a.out, steps=chosen(a.steps, RANGE_STEPS), n_seeds=chosen(a.seeds, RANGE_SEEDS),
                           workers=a.workers, ranges=ranges, engine=a.engine, address=a.address)
    else:
        table = run_nalm(a.out, steps=chosen(a.steps, REFERENCE_STEPS), n_seeds=chosen(a.seeds, NALM_SEEDS),
                         workers=a.workers, ranges=ranges, engine=a.engine, address=a.address)
    print(table.groupby(["unit", "op"])[["success"]].agg(["sum", "count"]).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
