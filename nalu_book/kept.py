"""A chapter's run kept with the book.

A chapter whose full-mode training does not fit the build's time trains it once and keeps what the
training returns (models, logs, tables) beside its settings, the code that produced it and the CPU
it took; later full builds read it back instead of training again. The key is the chapter's name
and its settings only, as for the grid's job archive: a change of any setting trains afresh, a
change of code does not (the code that trained the run is recorded and shown in the chapter).
With ``kept_dir=None`` (quick mode) the run is always computed and nothing is kept.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from functools import partial
from typing import Any, Callable, Sequence

import torch

from nalu.training import code_version, environment

__all__ = ["KeptRun", "KeptBlocks", "kept_run", "kept_blocks", "run_key", "blocks_provenance"]


@dataclass(frozen=True)
class KeptRun:
    """What ``compute`` returned (``value``) and how it was made (``meta``: name, settings, code,
    torch, CPU, cpu_seconds, created) and whether this call read it back (``read_back``)."""

    value: Any
    meta: dict
    read_back: bool

    def provenance(self) -> str:
        """One sentence for the chapter: when, by which code and at what CPU cost the run was trained."""
        m = self.meta
        made = f"code version {m['code']} (torch {m['torch']}, {m['cpu']}), {m['cpu_seconds']:,.0f} seconds of CPU"
        if self.read_back:
            now = code_version()
            since = "" if now == m["code"] else f" The library's code has changed since (now version {now})."
            return (f"These runs were trained on {m['created']} by {made}, and kept with the book; this build read "
                    f"them back (a change of any setting above trains them afresh).{since}")
        return f"These runs were trained in this build: {made}."


def run_key(name: str, settings: dict) -> str:
    """The run's key: a digest of its name and settings (JSON, keys sorted)."""
    blob = json.dumps(dict(name=name, settings=settings), sort_keys=True, ensure_ascii=False)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def kept_run(name: str, settings: dict, compute: Callable[[], Any], kept_dir: str | Path | None) -> KeptRun:
    """``compute()``, kept under ``kept_dir`` as ``name-<key>.pt`` (torch.save) and ``.json`` (meta);
    read back when a run of ``name`` with these ``settings`` is there. ``settings`` must name
    everything the result depends on and be JSON-serialisable; ``kept_dir=None`` computes without keeping."""
    if not isinstance(name, str) or not name or "/" in name:
        raise ValueError(f"name must be a non-empty string without '/', got {name!r}")
    try:
        key = run_key(name, settings)
    except TypeError as e:
        raise ValueError(f"settings must be JSON-serialisable (numbers, strings, lists, dicts): {e}") from None
    stem = None if kept_dir is None else Path(kept_dir) / f"{name}-{key}"
    if stem is not None and stem.with_suffix(".pt").exists() and stem.with_suffix(".json").exists():
        meta = json.loads(stem.with_suffix(".json").read_text())
        return KeptRun(torch.load(stem.with_suffix(".pt"), weights_only=False), meta, read_back=True)
    t0 = time.process_time()
    value = compute()
    env = environment("cpu")
    meta = dict(name=name, key=key, settings=settings, code=env["code"], torch=env["torch"], cpu=env["cpu"],
                cpu_seconds=round(time.process_time() - t0, 1), created=_dt.date.today().isoformat())
    if stem is not None:
        stem.parent.mkdir(parents=True, exist_ok=True)
        torch.save(value, stem.with_suffix(".pt"))
        stem.with_suffix(".json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
    return KeptRun(value, meta, read_back=False)


def blocks_provenance(blocks: list[list[int]], runs: list[KeptRun]) -> str:
    """The provenance of a run kept in blocks of seeds, one sentence per block ("For seeds 0–19, these
    runs were …"); a single block's sentence as it is."""
    if len(blocks) != len(runs):
        raise ValueError(f"{len(blocks)} blocks of seeds but {len(runs)} kept runs: pass one run per block")
    if len(runs) == 1:
        return runs[0].provenance()
    return " ".join(f"For seeds {b[0]}–{b[-1]}, {r.provenance()[0].lower()}{r.provenance()[1:]}"
                    for b, r in zip(blocks, runs))


@dataclass(frozen=True)
class KeptBlocks:
    """A run kept in blocks of seeds: the blocks, in order, and each block's ``KeptRun``."""

    blocks: list[list[int]]
    runs: list[KeptRun]

    @property
    def values(self) -> list[Any]:
        """What each block's computation returned, block by block."""
        return [r.value for r in self.runs]

    @property
    def read_back(self) -> bool:
        """Whether every block was read back (none trained in this build)."""
        return all(r.read_back for r in self.runs)

    @property
    def cpu_seconds(self) -> float:
        """The CPU time that trained the blocks, wherever and whenever each was trained."""
        return sum(r.meta["cpu_seconds"] for r in self.runs)

    def provenance(self) -> str:
        return blocks_provenance(self.blocks, self.runs)


def kept_blocks(name: str, settings: dict, seeds: Sequence[int], block_size: int,
                compute: Callable[[list[int]], Any], kept_dir: str | Path | None) -> KeptBlocks:
    """``compute(block)`` for the seeds cut into blocks of ``block_size``, each block kept as
    ``kept_run(name, settings + {"seeds": block}, …)``: a block already kept is read back, so more
    seeds add blocks without training the earlier ones again."""
    if "seeds" in settings:
        raise ValueError("settings must not contain 'seeds': kept_blocks adds each block's seeds itself; pass the "
                         "seeds as the seeds argument")
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise ValueError(f"block_size must be a positive integer, got {block_size!r}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    blocks = [seeds[k:k + block_size] for k in range(0, len(seeds), block_size)]
    return KeptBlocks(blocks, [kept_run(name, dict(settings, seeds=block), partial(compute, block), kept_dir)
                               for block in blocks])
