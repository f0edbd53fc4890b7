"""Train S seeds of one model on one task at once.

The S models are stacked into one module (``models.stack_models``): every parameter gains a
leading seed axis and the units broadcast over it, so a step is a handful of batched matrix
products instead of S small ones. The loss is the *sum over seeds* of each seed's own mean
loss, so seed s's gradient is exactly its own, and Adam (elementwise) keeps the seeds
independent: seed s follows the trajectory of a plain single-seed loop on the same data.

Two data regimes:

* ``FreshSamples``: new samples every step (Madsen & Johansen's protocol). Seed s draws its
  batches from its own generator ``rng_for(s, stream=2)``, so its data never depends on which
  other seeds share the run.
* ``FixedData``: a fixed data set per seed, epochs of (optionally shuffled) minibatches, as in
  the two blog posts.

Any other object with the same methods can serve as a data source (``nalu.applied.DigitSequences``
does): ``setup(seeds, device)``, ``steps_per_epoch()``, ``batch(step) -> (x, y)`` with a leading
seed axis, ``eval_sets() -> {split: (x, y)}``, ``perturbed_mse(eval_sets, eps) -> {split: array} |
None`` and ``close()``.
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from tqdm import tqdm

from .models import build, clamp_weights_, regularizer, stack_models, unstack_model
from .tasks import ArithmeticTask, Dataset, rng_for
from .units import matvec

__all__ = ["FreshSamples", "FixedData", "Warmup", "TrainResult", "train", "evaluate_mse", "keep_freed_memory"]

DATA_STREAM = 2  # the rng_for stream of training batches
EVAL_STREAM = 3  # the rng_for stream of the shared evaluation inputs


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep large freed blocks for reuse (once per process; Linux only).

    By default glibc may return large freed blocks to the system and take them back on the next
    step, and each page taken back costs a page fault: how many depends on glibc's adaptive
    thresholds, from a few to a few hundred per step at 100 seeds and batch 128 here. Raising the
    mmap threshold to 32 MB and the trim threshold to 256 MB lets the process reuse its own memory
    instead (the appendix "Reproducing at speed" counts the faults both ways). ``train`` calls this; set NALU_MALLOC_TUNING=0 to leave malloc alone. Returns
    whether the settings are in effect.
    """
    global _MALLOC_TUNED
    if _MALLOC_TUNED is None:
        _MALLOC_TUNED = False
        if sys.platform.startswith("linux") and os.environ.get("NALU_MALLOC_TUNING", "1") != "0":
            try:
                libc = ctypes.CDLL("libc.so.6")
                m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
                _MALLOC_TUNED = bool(libc.mallopt(m_mmap_threshold, 32 << 20)
                                     and libc.mallopt(m_trim_threshold, 256 << 20))
            except (OSError, AttributeError):  # not glibc
                pass
    return _MALLOC_TUNED


_MALLOC_TUNED: bool | None = None


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must name at least one seed, got none")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    if min(seeds) < 0:
        raise ValueError(f"seeds must be non-negative, got {min(seeds)}")
    return seeds


def _stacked_targets(tasks: list, x: Tensor) -> Tensor:
    """Targets of each seed's task for its slice of x (..., S, n, in), the seed axis third from the
    end; one batched product when all tasks are ArithmeticTasks with the same operation (only
    their masks differ)."""
    if all(isinstance(t, ArithmeticTask) for t in tasks) and len({t.op for t in tasks}) == 1:
        masks = torch.from_numpy(np.stack([np.stack([t.a_mask, t.b_mask]) for t in tasks])).to(x.device)
        ab = matvec(masks, x)  # (..., S, n, 2): the operands a and b
        return tasks[0].op(ab[..., 0], ab[..., 1]).unsqueeze(-1)
    return torch.stack([task.targets(x[..., s, :, :]) for s, task in enumerate(tasks)], dim=-3)


class FreshSamples:
    """Fresh batches every step from ``task_for_seed(seed)`` (or one task shared by all seeds).

    Evaluation uses ``eval_size`` inputs per split drawn once from ``eval_seed`` and shared by
    all seeds; targets are each seed's own (tasks may differ per seed, e.g. the subset offset).

    Batches are drawn ``chunk_steps`` steps at a time (default: as many as fit in about 64 MB),
    and with ``prefetch`` the next chunk is drawn on a background thread while the current one
    trains. Neither changes the data: seed s's stream comes from its own generator in order.

    A chunk is stored step-major (``layout="step"``), so that each step's batch (S, batch, in)
    is one contiguous block, which the model reads several times per step. ``layout="seed"``
    stores it seed-major, which makes each step's batch S scattered pieces: the same numbers,
    markedly slower to train on (the appendix "Reproducing at speed" measures both).
    """

    def __init__(self, task_for_seed, batch_size: int = 128, eval_size: int = 10_000,
                 eval_seed: int = 0, chunk_steps: int | None = None, prefetch: bool = True,
                 layout: str = "step"):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if not isinstance(eval_size, int) or eval_size < 1:
            raise ValueError(f"eval_size must be a positive integer, got {eval_size!r}")
        if chunk_steps is not None and (not isinstance(chunk_steps, int) or chunk_steps < 1):
            raise ValueError(f"chunk_steps must be a positive integer or None, got {chunk_steps!r}")
        if layout not in ("step", "seed"):
            raise ValueError(f"layout must be 'step' or 'seed', got {layout!r}")
        self.task_for_seed = task_for_seed if callable(task_for_seed) and not hasattr(task_for_seed, "targets") \
            else (lambda seed, _t=task_for_seed: _t)
        self.batch_size, self.eval_size, self.eval_seed = batch_size, eval_size, eval_seed
        self.chunk_steps, self.prefetch, self.layout = chunk_steps, prefetch, layout

    def setup(self, seeds: list[int], device: torch.device) -> None:
        self.tasks = [self.task_for_seed(s) for s in seeds]
        self.rngs = [rng_for(s, DATA_STREAM) for s in seeds]
        self.device = device
        self.in_dim = self.tasks[0].in_dim
        self.split_names = list(self.tasks[0].splits)
        per_step = len(seeds) * self.batch_size * self.in_dim
        self.k_steps = self.chunk_steps or max(1, min(64, (16 * 2**20) // per_step))
        outer = (self.k_steps, len(seeds)) if self.layout == "step" else (len(seeds), self.k_steps)
        shape = outer + (self.batch_size, self.in_dim)
        self._bufs = [np.empty(shape, np.float32) for _ in range(2 if self.prefetch else 1)]
        self._next_buf = 0
        self._pool = ThreadPoolExecutor(max_workers=1) if self.prefetch else None
        self._pending = self._submit()
        self._chunk = None

    def _draw_chunk(self, buf: np.ndarray) -> tuple[Tensor, Tensor]:
        steps_first = buf if self.layout == "step" else buf.swapaxes(0, 1)  # (k_steps, S, batch, in)
        for s, (task, rng) in enumerate(zip(self.tasks, self.rngs)):
            # seed s's next k_steps batches, in the order of its own stream
            task.splits["interpolation"].sample(steps_first[:, s].shape, rng, out=steps_first[:, s])
        x = torch.from_numpy(steps_first).to(self.device)
        return x, _stacked_targets(self.tasks, x)

    def _submit(self):
        buf = self._bufs[self._next_buf]
        self._next_buf = (self._next_buf + 1) % len(self._bufs)
        if self._pool is None:
            return buf
        return self._pool.submit(self._draw_chunk, buf)

    def steps_per_epoch(self) -> int:
        return 1

    def batch(self, step: int) -> tuple[Tensor, Tensor]:
        k = step % self.k_steps
        if k == 0 or self._chunk is None:
            pending = self._pending
            self._chunk = pending.result() if self._pool is not None else self._draw_chunk(pending)
            self._pending = self._submit()
        x, y = self._chunk
        return x[k], y[k]

    def close(self) -> None:
        if getattr(self, "_pool", None) is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def eval_sets(self) -> dict[str, tuple[Tensor, Tensor]]:
        out = {}
        for stream, split in enumerate(self.split_names):
            rng = rng_for(self.eval_seed, EVAL_STREAM + 10 * stream)
            x = torch.from_numpy(self.tasks[0].inputs(self.eval_size, split, rng)).to(self.device)
            y = torch.stack([task.targets(x) for task in self.tasks])
            out[split] = (x, y)
        return out

    def perturbed_mse(self, eval_sets: dict, eps: float) -> dict[str, np.ndarray] | None:
        """Each seed's success threshold on each evaluation split (tasks that define one)."""
        if not all(hasattr(t, "success_threshold") for t in self.tasks):
            return None
        return {split: np.array([t.success_threshold(x, eps) for t in self.tasks])
                for split, (x, _) in eval_sets.items()}


class FixedData:
    """A fixed data set per seed (``data_for_seed(seed) -> Dataset``, or one shared Dataset).

    An epoch visits every training row once in minibatches of ``batch_size`` (None: full batch);
    with ``shuffle`` the order is a fresh permutation per seed and epoch, else the stored order
    (seed 000's DataLoader does not shuffle). The last, smaller minibatch is kept.
    """

    def __init__(self, data_for_seed, batch_size: int | None = None, shuffle: bool = True):
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
        self.data_for_seed = data_for_seed if callable(data_for_seed) else (lambda seed, _d=data_for_seed: _d)
        self.batch_size, self.shuffle = batch_size, shuffle

    def setup(self, seeds: list[int], device: torch.device) -> None:
        data: list[Dataset] = [self.data_for_seed(s) for s in seeds]
        self.x = torch.stack([torch.as_tensor(d.x_train, dtype=torch.float32) for d in data]).to(device)
        self.y = torch.stack([torch.as_tensor(d.y_train, dtype=torch.float32) for d in data]).to(device)
        self.n = self.x.shape[1]
        self.bs = self.n if self.batch_size is None else min(self.batch_size, self.n)
        self.rngs = [rng_for(s, DATA_STREAM) for s in seeds]
        self.split_names = list(data[0].evals)
        self._evals = {
            name: (torch.stack([torch.as_tensor(d.evals[name][0], dtype=torch.float32) for d in data]).to(device),
                   torch.stack([torch.as_tensor(d.evals[name][1], dtype=torch.float32) for d in data]).to(device))
            for name in self.split_names
        }
        self.device = device
        self._order = None

    def steps_per_epoch(self) -> int:
        return math.ceil(self.n / self.bs)

    def batch(self, step: int) -> tuple[Tensor, Tensor]:
        k = step % self.steps_per_epoch()
        lo, hi = k * self.bs, min((k + 1) * self.bs, self.n)
        if not self.shuffle:
            return self.x[:, lo:hi], self.y[:, lo:hi]
        if k == 0:
            order = np.stack([rng.permutation(self.n) for rng in self.rngs])
            self._order = torch.from_numpy(order).to(self.device)
        idx = self._order[:, lo:hi].unsqueeze(-1)
        x = torch.gather(self.x, 1, idx.expand(-1, -1, self.x.shape[-1]))
        y = torch.gather(self.y, 1, idx.expand(-1, -1, self.y.shape[-1]))
        return x, y

    def eval_sets(self) -> dict[str, tuple[Tensor, Tensor]]:
        return self._evals

    def perturbed_mse(self, eval_sets: dict, eps: float) -> None:
        return None

    def close(self) -> None:
        return None


@dataclass(frozen=True)
class Warmup:
    """Madsen & Johansen's regulariser schedule: λ_t = scale · clip((t − start) / (end − start), 0, 1)."""

    scale: float
    start: int = 0
    end: int = 1

    def __post_init__(self):
        if self.end <= self.start:
            raise ValueError(f"Warmup needs end > start, got start={self.start!r}, end={self.end!r}")
        if self.scale < 0:
            raise ValueError(f"Warmup scale must be non-negative, got {self.scale!r}")

    def __call__(self, step: int) -> float:
        return self.scale * min(max((step - self.start) / (self.end - self.start), 0.0), 1.0)


@dataclass
class TrainResult:
    """What ``train`` returns.

    ``log``: one row per seed × logged step × split, columns seed, step, split, mse.
    ``diverged_at``: seed → first step whose loss was NaN/inf (absent if it never diverged).
    ``threshold``: seed → split → MSE of the ε-perturbed exact solution (tasks that define it).
    """

    seeds: list[int]
    model: nn.Module
    log: pd.DataFrame
    diverged_at: dict[int, int]
    threshold: pd.DataFrame | None
    steps: int
    config: dict = field(default_factory=dict)

    @property
    def final_weights(self) -> dict[str, np.ndarray]:
        """Every parameter, stacked over seeds (axis 0 follows ``seeds``)."""
        return {name: p.detach().cpu().numpy() for name, p in self.model.named_parameters()}

    def model_for(self, seed: int) -> nn.Module:
        if seed not in self.seeds:
            raise ValueError(f"seed {seed!r} was not trained; trained seeds are {self.seeds}")
        return unstack_model(self.model, self.seeds.index(seed))


@torch.no_grad()
def evaluate_mse(model: nn.Module, x: Tensor, y: Tensor, chunk: int = 2048) -> Tensor:
    """Per-seed MSE of a stacked model on (x, y); x is (N, in) shared or (S, N, in). Float64 sums."""
    n = x.shape[-2]
    total = torch.zeros(y.shape[0], dtype=torch.float64, device=y.device)
    for lo in range(0, n, chunk):
        pred = model(x[..., lo:lo + chunk, :])
        err = (pred.double() - y[:, lo:lo + chunk].double()) ** 2
        total += err.sum(dim=(-2, -1))
    return total / (n * y.shape[-1])


def train(
    model_factory: Callable[[], nn.Module],
    data: FreshSamples | FixedData,
    seeds: Sequence[int],
    steps: int | None = None,
    *,
    epochs: int | None = None,
    lr: float = 1e-3,
    optimizer: str = "adam",
    reg: Warmup | None = None,
    grad_clip: float | None = None,
    eval_every: int = 1000,
    eps: float = 1e-5,
    device: str | torch.device = "cpu",
    threads: int | None = 1,
    progress: bool = True,
    desc: str | None = None,
) -> TrainResult:
    """Train ``model_factory`` for every seed at once; seed s starts from ``build(model_factory, s)``.

    Give ``steps`` (optimiser steps) or ``epochs`` (FixedData). ``eval_every`` counts steps (or,
    with ``epochs``, epochs). Evaluation happens at step 0, every ``eval_every`` and at the end.
    ``reg`` adds λ_t · R(model) to each seed's loss; ``grad_clip`` clips gradients elementwise
    (per seed, never coupling seeds). A seed whose loss becomes NaN/inf is frozen and recorded
    in ``diverged_at``; the others carry on.

    ``threads`` sets torch's intra-op threads for the run (restored afterwards; None leaves them
    alone). The default of 1 leaves the second core to the thread that draws the next batches;
    more threads only pay off for large models, and on a busy machine OpenMP's waiting makes small
    operations many times slower. On Linux the first call also tunes malloc for the process
    (``keep_freed_memory``).
    """
    seeds = _check_seeds(seeds)
    if (steps is None) == (epochs is None):
        raise ValueError(f"give exactly one of steps or epochs, got steps={steps!r}, epochs={epochs!r}")
    if steps is not None and (not isinstance(steps, int) or steps < 0):
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    if epochs is not None and (not isinstance(epochs, int) or epochs < 0):
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    if not isinstance(eval_every, int) or eval_every < 1:
        raise ValueError(f"eval_every must be a positive integer, got {eval_every!r}")
    if grad_clip is not None and not grad_clip > 0:
        raise ValueError(f"grad_clip must be positive, got {grad_clip!r}")
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
    keep_freed_memory()
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _train(model_factory, data, seeds, steps, epochs, lr, optimizer, reg, grad_clip, eval_every, eps,
                      device, progress, desc)
    finally:
        torch.set_num_threads(previous_threads)


def _train(model_factory, data, seeds, steps, epochs, lr, optimizer, reg, grad_clip, eval_every, eps, device,
           progress, desc) -> TrainResult:
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} requested but CUDA is not available")

    model = stack_models([build(model_factory, s) for s in seeds]).to(device)
    data.setup(seeds, device)
    per_epoch = data.steps_per_epoch()
    total_steps = steps if steps is not None else epochs * per_epoch
    log_every = eval_every if steps is not None else eval_every * per_epoch

    params = list(model.parameters())
    if optimizer == "adam":
        # the fused kernel does the same elementwise update, ~4x faster than foreach on small tensors
        opt = torch.optim.Adam(params, lr=lr, fused=True)
    elif optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=lr, foreach=True)
    else:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose 'adam' or 'sgd'")

    evals = data.eval_sets()
    n_seeds = len(seeds)
    alive = torch.ones(n_seeds, dtype=torch.bool, device=device)
    frozen: list[Tensor] | None = None
    diverged_at: dict[int, int] = {}
    rows: list[tuple[int, int, str, float]] = []

    def log(step: int) -> None:
        for split, (x, y) in evals.items():
            mse = evaluate_mse(model, x, y).cpu().numpy()
            rows.extend((seeds[s], step, split, float(mse[s])) for s in range(n_seeds))

    log(0)
    bar = tqdm(total=total_steps, desc=desc, disable=not progress, mininterval=1.0)
    try:
        for step in range(total_steps):
            x, y = data.batch(step)
            loss_per_seed = ((model(x) - y) ** 2).mean(dim=(-2, -1))
            if reg is not None:
                lam = reg(step)
                if lam > 0:
                    r = regularizer(model)
                    if r is not None:
                        loss_per_seed = loss_per_seed + lam * r
            finite = torch.isfinite(loss_per_seed)
            newly_dead = None if bool(finite.all()) else alive & ~finite
            if newly_dead is not None and bool(newly_dead.any()):
                if frozen is None:
                    frozen = [p.detach().clone() for p in params]
                with torch.no_grad():
                    for p, f in zip(params, frozen):
                        f[newly_dead] = p[newly_dead]
                for s in newly_dead.nonzero().flatten().tolist():
                    diverged_at[seeds[s]] = step
                alive = alive & finite
            for p in params:  # what opt.zero_grad(set_to_none=True) does, without its overhead
                p.grad = None
            (loss_per_seed if frozen is None else torch.where(alive, loss_per_seed, 0.0)).sum().backward()
            if frozen is not None or grad_clip is not None:
                with torch.no_grad():
                    for p in params:
                        if p.grad is None:
                            continue
                        if frozen is not None:
                            p.grad[~alive] = 0.0
                        if grad_clip is not None:
                            p.grad.clamp_(-grad_clip, grad_clip)
            opt.step()
            clamp_weights_(model)
            if frozen is not None:
                with torch.no_grad():
                    for p, f in zip(params, frozen):
                        p[~alive] = f[~alive]
            if (step + 1) % log_every == 0 or step + 1 == total_steps:
                log(step + 1)
            bar.update(1)
    finally:
        data.close()
        bar.close()

    frame = pd.DataFrame(rows, columns=["seed", "step", "split", "mse"])
    if steps is None:
        frame["epoch"] = frame["step"] // per_epoch
    thresholds = data.perturbed_mse(evals, eps)
    threshold = None
    if thresholds is not None:
        threshold = pd.DataFrame(
            [(seeds[s], split, float(v[s])) for split, v in thresholds.items() for s in range(n_seeds)],
            columns=["seed", "split", "threshold"],
        )
    config = dict(lr=lr, optimizer=optimizer, steps=total_steps, epochs=epochs, eval_every=eval_every,
                  reg=reg, grad_clip=grad_clip, device=str(device), n_seeds=n_seeds)
    return TrainResult(seeds, model.cpu(), frame, diverged_at, threshold, total_steps, config)
