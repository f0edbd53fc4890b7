"""Train S seeds of one model on one task at once.

The S models are stacked into one module (``models.stack_models``): every parameter gains a
leading seed axis and the units broadcast over it, so a step is a handful of batched products
instead of S small ones. The loss is the *sum over seeds* of each seed's own mean loss, so seed
s's gradient is exactly its own and Adam (elementwise) keeps the seeds independent: seed s
follows the trajectory of a plain single-seed loop on the same data.

``train_together`` trains several such stacks (``Learner``: a model and its optimiser settings) on
one stream of batches: each step's batch is drawn once, then every model takes its own step on it,
so each ends exactly where it would have alone.

A long run can be checkpointed (``Checkpoint``) and resumed bit for bit: parameters, Adam's
state, the data stream's generator state, the log and the divergence record are saved.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from tqdm import tqdm

from .data import DataSource, EvalSets, HasThresholds, Resumable, describe
from .fast import accelerate
from .models import build, clamp_weights_, concat_stacked, regularizer, stack_models, unstack_model

__all__ = ["Warmup", "Checkpoint", "CheckpointMismatch", "TrainingPaused", "TrainResult", "Learner",
           "TrainingOptions", "train", "merge_results",
           "train_together", "evaluate_mse", "as_float64", "code_version", "environment"]


@dataclass(frozen=True)
class Warmup:
    """Madsen & Johansen's regulariser schedule: λ_t = scale · clip((t − start) / (end − start), 0, 1)."""

    scale: float
    start: int
    end: int

    def __post_init__(self):
        if not isinstance(self.start, int) or not isinstance(self.end, int) or self.start < 0:
            raise ValueError(f"Warmup needs integer steps 0 <= start < end, got start={self.start!r}, end={self.end!r}")
        if self.end <= self.start:
            raise ValueError(f"Warmup needs end > start, got start={self.start!r}, end={self.end!r}")
        if not self.scale >= 0:
            raise ValueError(f"Warmup scale must be non-negative, got {self.scale!r}")

    def __call__(self, step: int) -> float:
        return self.scale * min(max((step - self.start) / (self.end - self.start), 0.0), 1.0)


@dataclass(frozen=True)
class Checkpoint:
    """Save the run to ``path`` every ``every_seconds`` (and/or ``every_steps``), resume from it.

    Saves happen at the first step after the interval where the data source can hand over its
    state (the start of a chunk of fresh samples, or of an epoch). ``stop_after_seconds`` pauses
    the run at such a step: it saves and raises ``TrainingPaused``; calling ``train`` again with
    the same arguments continues.

    A checkpoint records the run it belongs to (seeds, steps, model, optimiser settings, the data
    source and each seed's task) and where it ran (``environment()``: the package's code version,
    torch's version, the device and the CPU). Resuming with another run is an error that names the
    fields that differ; resuming in another environment is too, unless ``resume_elsewhere=True``
    (each stretch of the run then keeps its own environment in ``config["segments"]``).

    When the run ends the file holds its final state: calling ``train`` again with the same
    arguments returns the same result without training, and ``extend=True`` continues a shorter
    run (same arguments but ``steps``) to more steps — the first steps of a longer run are the
    shorter run, since nothing in the trainer depends on the total. Delete the file once the
    result is stored and no extension is wanted.
    """

    path: str | Path
    every_seconds: float | None = 300.0
    every_steps: int | None = None
    stop_after_seconds: float | None = None
    resume_elsewhere: bool = False
    extend: bool = False

    def __post_init__(self):
        if self.every_seconds is None and self.every_steps is None:
            raise ValueError("Checkpoint needs every_seconds or every_steps")
        if self.every_steps is not None and (not isinstance(self.every_steps, int) or self.every_steps < 1):
            raise ValueError(f"every_steps must be a positive integer or None, got {self.every_steps!r}")
        for name in ("every_seconds", "stop_after_seconds"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0):
                raise ValueError(f"{name} must be a number of seconds ≥ 0 (0: at every chance) or None, got {value!r}")
        if not isinstance(self.path, (str, Path)) or not str(self.path):
            raise ValueError(f"path must name the checkpoint's file (a str or Path), got {self.path!r}")


class CheckpointMismatch(ValueError):
    """A checkpoint belongs to another run (or was written in another environment)."""


class TrainingPaused(Exception):
    """``train`` stopped early on purpose (``Checkpoint.stop_after_seconds``); its state is saved."""

    def __init__(self, step: int, path: Path):
        super().__init__(f"training paused at step {step}; state saved to {path}")
        self.step, self.path = step, path


@dataclass(frozen=True)
class Learner:
    """One model of ``train_together``: its factory and its own optimiser settings (as in ``train``)."""

    model_factory: Callable[[], nn.Module]
    lr: float = 1e-3
    reg: Warmup | None = None
    grad_clip: float | None = None


@dataclass(frozen=True)
class TrainingOptions:
    """How ``train`` / ``train_together`` run the loop (every argument but the models, data and seeds).

    ``steps`` or ``epochs``: the length; ``optimizer``: "adam" or "sgd"; ``eval_every``: steps
    (or epochs) between evaluations; ``threshold_eps``: the perturbation ε of the exact solution
    whose MSE is a seed's success threshold (``data.success_thresholds``; not the units' ε in
    log(|x| + ε)); ``device``; ``threads``: torch's intra-op threads during the call; ``fast``:
    run the units through ``nalu.fast``; ``keep_best``: the split whose best step is kept;
    ``checkpoint``, ``observe``, ``progress``, ``desc``: as in ``train``."""

    steps: int | None = None
    epochs: int | None = None
    optimizer: str = "adam"
    eval_every: int = 1000
    threshold_eps: float = 1e-5
    device: torch.device = torch.device("cpu")
    threads: int | None = 1
    fast: bool = True
    keep_best: str | None = None
    checkpoint: Checkpoint | None = None
    observe: Callable[[int, nn.Module], None] | None = None
    progress: bool = True
    desc: str | None = None


@dataclass
class TrainResult:
    """What ``train`` returns.

    ``log``: one row per seed × logged step × split, columns seed, step, split, mse.
    ``diverged_at``: seed → first step whose loss was NaN/inf (absent if it never diverged).
    ``threshold``: seed × split → MSE of the ε-perturbed exact solution (tasks that define it).
    ``best_model``: with ``keep_best=split``, each seed's parameters at its lowest MSE on that split.
    """

    seeds: list[int]
    model: nn.Module
    log: pd.DataFrame
    diverged_at: dict[int, int]
    threshold: pd.DataFrame | None
    steps: int
    config: dict = field(default_factory=dict)
    best_model: nn.Module | None = None

    @property
    def final_weights(self) -> dict[str, np.ndarray]:
        """Every parameter, stacked over seeds (axis 0 follows ``seeds``)."""
        return {name: p.detach().cpu().numpy() for name, p in self.model.named_parameters()}

    def model_for(self, seed: int) -> nn.Module:
        if seed not in self.seeds:
            raise ValueError(f"seed {seed!r} was not trained; trained seeds are {self.seeds}")
        return unstack_model(self.model, self.seeds.index(seed))


def merge_results(parts: Sequence[TrainResult]) -> TrainResult:
    """One result for the seeds of several runs of the same model and budget, trained apart (e.g. a
    run kept in blocks of seeds): seeds, logs, divergences and thresholds joined, the stacked models
    concatenated along the seed axis (``models.concat_stacked``). Seed s's model, log and verdict are
    those of the block that trained it, bit for bit."""
    parts = list(parts)
    if not parts or not all(isinstance(p, TrainResult) for p in parts):
        raise TypeError(f"merge_results needs one or more TrainResults, got {[type(p).__name__ for p in parts]}")
    if len({p.steps for p in parts}) != 1:
        raise ValueError(f"the runs trained for different budgets {[p.steps for p in parts]}: merge runs of one budget")
    seeds = [s for p in parts for s in p.seeds]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"the runs share seeds ({sorted({s for s in seeds if seeds.count(s) > 1})}): "
                         "a seed would be counted twice; merge runs of distinct seeds")
    best = [p.best_model for p in parts]
    if any(b is None for b in best) and any(b is not None for b in best):
        raise ValueError("some runs kept a best model and some did not: train every block with the same keep_best")
    thresholds = [p.threshold for p in parts]
    return TrainResult(seeds=seeds, model=concat_stacked([p.model for p in parts]),
                       log=pd.concat([p.log for p in parts], ignore_index=True),
                       diverged_at={s: step for p in parts for s, step in p.diverged_at.items()},
                       threshold=None if any(t is None for t in thresholds) else pd.concat(thresholds, ignore_index=True),
                       steps=parts[0].steps, config=dict(parts[0].config, merged_from=[p.config for p in parts]),
                       best_model=None if best[0] is None else concat_stacked(best))


EVAL_ROWS_PER_PASS = 65_536  # seeds × rows evaluated in one pass by evaluate_mse


@torch.no_grad()
def evaluate_mse(model: nn.Module, x: Tensor, y: Tensor, chunk: int | None = None) -> Tensor:
    """Per-seed MSE = mean over rows and outputs of (model(x) − y)², computed in float64.

    The model's weights are evaluated with float64 arithmetic (a float64 copy of a float32 model),
    so the figure does not depend on the CPU's kernels, the thread count or the chunking: a float32
    forward pass rounds each output by ~1e-7 relative, which is larger than the whole error of a
    model at the float32 floor (MSE ~1e-10) and used to decide which step was "best".
    x is (N, in) shared by every seed or (S, N, in); y is (S, N, out).
    ``chunk`` rows per pass (default: 65,536 / S, so that one pass's activations over every seed
    stay a few MB: larger passes are slower, not faster, on the CPU)."""
    if chunk is None:
        chunk = max(1, EVAL_ROWS_PER_PASS // y.shape[0])
    elif not isinstance(chunk, int) or isinstance(chunk, bool) or chunk < 1:
        raise ValueError(f"chunk must be a positive number of rows or None (automatic), got {chunk!r}")
    model = as_float64(model)
    n = x.shape[-2]
    total = torch.zeros(y.shape[0], dtype=torch.float64, device=y.device)
    for lo in range(0, n, chunk):
        err = (model(x[..., lo:lo + chunk, :].double()) - y[:, lo:lo + chunk].double()) ** 2
        total += err.sum(dim=(-2, -1))
    return total / (n * y.shape[-1])


def as_float64(model: nn.Module) -> nn.Module:
    """``model`` itself if every floating parameter and buffer is float64, else a float64 copy."""
    tensors = [*model.parameters(), *model.buffers()]
    if all(t.dtype == torch.float64 for t in tensors if t.is_floating_point()):
        return model
    return _clone_module(model).double()


class DivergenceGuard:
    """Freeze a seed whose loss turns NaN/inf at its last finite parameters; the others go on.

    Nothing is done (and nothing copied) until a seed first diverges."""

    def __init__(self, seeds: list[int], params: list[nn.Parameter]):
        self.seeds, self.params = seeds, params
        self.alive = torch.ones(len(seeds), dtype=torch.bool, device=params[0].device)
        self.frozen: list[Tensor] | None = None
        self.diverged_at: dict[int, int] = {}

    def loss_to_minimise(self, step: int, loss_per_seed: Tensor) -> Tensor:
        """Record newly diverged seeds; the summed loss of the live ones."""
        finite = torch.isfinite(loss_per_seed)
        if not bool(finite.all()):
            newly = self.alive & ~finite
            if bool(newly.any()):
                if self.frozen is None:
                    self.frozen = [p.detach().clone() for p in self.params]
                with torch.no_grad():
                    for p, f in zip(self.params, self.frozen):
                        f[newly] = p[newly]
                self.diverged_at.update({self.seeds[s]: step for s in newly.nonzero().flatten().tolist()})
                self.alive = self.alive & finite
        return loss_per_seed.sum() if self.frozen is None else torch.where(self.alive, loss_per_seed, 0.0).sum()

    @torch.no_grad()
    def zero_dead_grads(self) -> None:
        if self.frozen is not None:
            for p in self.params:
                if p.grad is not None:
                    p.grad[~self.alive] = 0.0

    @torch.no_grad()
    def restore_dead(self) -> None:
        if self.frozen is not None:
            for p, f in zip(self.params, self.frozen):
                p[~self.alive] = f[~self.alive]

    def state_dict(self) -> dict:
        return dict(alive=self.alive.clone(), frozen=self.frozen, diverged_at=dict(self.diverged_at))

    def load_state_dict(self, state: dict) -> None:
        self.alive, self.frozen, self.diverged_at = state["alive"], state["frozen"], dict(state["diverged_at"])


class BestKeeper:
    """Each seed's parameters at its lowest MSE on one evaluation split (Madsen's model selection)."""

    def __init__(self, split: str, model: nn.Module):
        self.split = split
        self.model = stack_like = _clone_module(model)
        self.best = torch.full((next(stack_like.parameters()).shape[0],), float("inf"), dtype=torch.float64)

    @torch.no_grad()
    def update(self, model: nn.Module, mse_by_split: dict[str, np.ndarray]) -> None:
        mse = torch.from_numpy(np.nan_to_num(mse_by_split[self.split], nan=np.inf))
        better = mse < self.best
        if bool(better.any()):
            self.best = torch.where(better, mse, self.best)
            for keep, p in zip(self.model.parameters(), model.parameters()):
                keep[better.to(keep.device)] = p[better.to(p.device)]

    def state_dict(self) -> dict:
        return dict(best=self.best, params=self.model.state_dict())

    def load_state_dict(self, state: dict) -> None:
        self.best = state["best"]
        self.model.load_state_dict(state["params"])


def _clone_module(model: nn.Module) -> nn.Module:
    import copy
    clone = copy.deepcopy(model)
    for p in clone.parameters():
        p.requires_grad_(False)
    return clone


def train(
    model_factory: Callable[[], nn.Module],
    data: DataSource,
    seeds: Sequence[int],
    steps: int | None = None,
    *,
    epochs: int | None = None,
    lr: float = 1e-3,
    optimizer: str = "adam",
    reg: Warmup | None = None,
    grad_clip: float | None = None,
    eval_every: int = 1000,
    threshold_eps: float = 1e-5,
    device: str | torch.device = "cpu",
    threads: int | None = 1,
    fast: bool = True,
    keep_best: str | None = None,
    checkpoint: Checkpoint | None = None,
    observe: Callable[[int, nn.Module], None] | None = None,
    progress: bool = True,
    desc: str | None = None,
) -> TrainResult:
    """Train ``model_factory`` for every seed at once; seed s starts from ``build(model_factory, s)``.

    Give ``steps`` (optimiser steps) or ``epochs`` (FixedData). ``eval_every`` counts steps (or,
    with ``epochs``, epochs); evaluation happens at step 0, every ``eval_every`` and at the end.
    ``reg`` adds λ_t · R(model) to each seed's loss; ``grad_clip`` clips gradients elementwise
    (per seed, never coupling seeds). A seed whose loss becomes NaN/inf is frozen and recorded in
    ``diverged_at``. ``fast`` runs the units through ``nalu.fast`` (same results up to float
    rounding). ``threads``: torch's intra-op threads during this call (restored afterwards; None
    leaves them alone; 1 suits these small models and leaves a core to the batch-drawing thread).
    ``observe(step, model)`` is called before each step's update with the stacked model (all seeds),
    to record something about it (e.g. its weights); it must not change the model.
    ``threshold_eps``: the ε of a seed's success threshold (the MSE of the exact solution with its
    weights perturbed by ε, where the task defines one). The loop's options are recorded as one
    frozen ``TrainingOptions``.
    """
    seeds = _check_arguments(model_factory, data, seeds, steps, epochs, lr, optimizer, reg, grad_clip,
                             eval_every, threads, keep_best, checkpoint)
    if observe is not None and not callable(observe):
        raise TypeError(f"observe must be a function (step, model) -> None, got {type(observe).__name__}")
    options = TrainingOptions(steps, epochs, optimizer, eval_every, threshold_eps, _device(device), threads, fast,
                              keep_best, checkpoint, observe, progress, desc)
    return _set_up_and_train([Learner(model_factory, lr, reg, grad_clip)], data, seeds, options)[0]


def train_together(
    learners: Sequence[Learner],
    data: DataSource,
    seeds: Sequence[int],
    steps: int | None = None,
    *,
    epochs: int | None = None,
    optimizer: str = "adam",
    eval_every: int = 1000,
    threshold_eps: float = 1e-5,
    device: str | torch.device = "cpu",
    threads: int | None = 1,
    fast: bool = True,
    keep_best: str | None = None,
    progress: bool = True,
    desc: str | None = None,
) -> list[TrainResult]:
    """``train`` for several models on one data stream: each step's batch is drawn once and every
    learner takes its step on it. Learner i's result is exactly ``train(learner.model_factory, data,
    seeds, lr=learner.lr, reg=learner.reg, grad_clip=learner.grad_clip, ...)`` with the same data
    source and arguments; only the drawing of the batches (and their evaluation sets) is shared.
    No checkpoints or observers here: those belong to one model's run (``train``)."""
    learners = list(learners)
    if not learners or not all(isinstance(learner, Learner) for learner in learners):
        raise TypeError(f"learners must be a non-empty sequence of nalu.Learner(model_factory, lr, reg, grad_clip), "
                        f"got {learners!r}")
    for learner in learners:
        seeds_checked = _check_arguments(learner.model_factory, data, seeds, steps, epochs, learner.lr, optimizer,
                                         learner.reg, learner.grad_clip, eval_every, threads, keep_best, None)
    options = TrainingOptions(steps, epochs, optimizer, eval_every, threshold_eps, _device(device), threads, fast,
                              keep_best, None, None, progress, desc)
    return _set_up_and_train(learners, data, seeds_checked, options)


def _set_up_and_train(learners: list[Learner], data: DataSource, seeds: list[int],
                      options: TrainingOptions) -> list[TrainResult]:
    """The device, torch's threads and the data source around ``_train`` (threads restored, data closed)."""
    device = options.device
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} requested but CUDA is not available; pass device='cpu'")
    previous_threads = torch.get_num_threads()
    if options.threads is not None:
        torch.set_num_threads(options.threads)
    try:
        data.setup(seeds, device)
        return _train(learners, data, seeds, options)
    finally:
        if hasattr(data, "close"):
            data.close()
        torch.set_num_threads(previous_threads)


def _device(device: str | torch.device) -> torch.device:
    if isinstance(device, torch.device):
        return device
    try:
        return torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}; pass 'cpu', 'cuda' or 'cuda:N' (an NVIDIA GPU), "
                         "or 'mps' (Apple)") from None


def _check_shapes(model: nn.Module, evals: EvalSets) -> None:
    """The model's output width is the targets' (a wider output would broadcast against them)."""
    if not evals:
        raise ValueError("the data source has no evaluation splits, so the run would log nothing; give the data "
                         "at least one (e.g. Dataset(..., evals={'train': (x_train, y_train)}))")
    split, (x, y) = next(iter(evals.items()))
    with torch.no_grad():
        out = model(x[..., :1, :])
    if out.shape[-1] != y.shape[-1]:
        raise ValueError(f"the model gives {out.shape[-1]} outputs but the task's targets have {y.shape[-1]} "
                         f"(split {split!r}); build the model with {y.shape[-1]} output(s)")


class _Learning:
    """One stacked model in training: its parameters, optimiser, divergence guard, best copy, log."""

    def __init__(self, learner: Learner, seeds, optimizer, device, fast, keep_best, evals):
        self.model = model = stack_models([build(learner.model_factory, s) for s in seeds]).to(device)
        self.params = params = list(model.parameters())
        if optimizer != "adam":
            self.opt = torch.optim.SGD(params, lr=learner.lr, foreach=True)
        else:  # torch's fused kernel where it has one
            self.opt = torch.optim.Adam(params, lr=learner.lr, fused=device.type in ("cpu", "cuda"))
        self.run = accelerate(model) if fast else model
        self.reg, self.grad_clip, self.seeds = learner.reg, learner.grad_clip, seeds
        if keep_best is not None and keep_best not in evals:
            raise ValueError(f"keep_best={keep_best!r} is not an evaluation split; the data has {sorted(evals)}")
        self.guard = DivergenceGuard(seeds, params)
        self.best = BestKeeper(keep_best, model) if keep_best is not None else None
        self.float64 = as_float64(model)  # the plain equations in float64, for evaluation (evaluate_mse)
        self.rows: list[tuple[int, int, str, float]] = []

    def step(self, step: int, x: Tensor, y: Tensor) -> None:
        """One optimiser step of every seed on its batch (x, y)."""
        loss_per_seed = ((self.run(x) - y) ** 2).mean(dim=(-2, -1))
        lam = self.reg(step) if self.reg is not None else 0.0
        if lam > 0 and (r := regularizer(self.model)) is not None:
            loss_per_seed = loss_per_seed + lam * r
        for p in self.params:  # opt.zero_grad(set_to_none=True), without its overhead
            p.grad = None
        self.guard.loss_to_minimise(step, loss_per_seed).backward()
        self.guard.zero_dead_grads()
        if self.grad_clip is not None:
            for p in self.params:
                if p.grad is not None:
                    p.grad.clamp_(-self.grad_clip, self.grad_clip)
        self.opt.step()
        clamp_weights_(self.model)
        self.guard.restore_dead()

    def evaluate(self, step: int, evals: EvalSets) -> None:
        with torch.no_grad():
            for p64, p in zip(self.float64.parameters(), self.model.parameters()):
                p64.copy_(p)
        mse = {split: evaluate_mse(self.float64, x, y).cpu().numpy() for split, (x, y) in evals.items()}
        n = len(self.seeds)
        self.rows.extend((self.seeds[s], step, split, float(m[s])) for split, m in mse.items() for s in range(n))
        if self.best is not None:
            self.best.update(self.model, mse)


def _train(learners: list[Learner], data: DataSource, seeds: list[int], o: TrainingOptions) -> list[TrainResult]:
    """Every learner on the same batches: each step draws one batch and steps each model on it."""
    per_epoch = data.steps_per_epoch()
    total_steps = o.steps if o.steps is not None else o.epochs * per_epoch
    log_every = o.eval_every if o.steps is not None else o.eval_every * per_epoch
    evals = data.eval_sets()
    runs = [_Learning(learner, seeds, o.optimizer, o.device, o.fast, o.keep_best, evals) for learner in learners]
    for run in runs:
        _check_shapes(run.model, evals)
    configs = [dict(seeds=seeds, lr=learner.lr, optimizer=o.optimizer, steps=total_steps, epochs=o.epochs,
                    eval_every=o.eval_every,
                    reg=None if learner.reg is None else (learner.reg.scale, learner.reg.start, learner.reg.end),
                    grad_clip=learner.grad_clip, device=str(o.device), keep_best=o.keep_best, model=repr(run.model))
               for learner, run in zip(learners, runs)]
    saver = _Saver(o.checkpoint, configs[0], data, o.device) if o.checkpoint is not None else None  # one learner
    start = saver.resume(runs[0], data) if saver is not None else 0

    if start == 0:
        for run in runs:
            run.evaluate(0, evals)
    bar = tqdm(total=total_steps, initial=start, desc=o.desc, disable=not o.progress, mininterval=1.0)
    for step in range(start, total_steps):
        if saver is not None and saver.due(step, data):
            saver.save(step, runs[0], data)
        if o.observe is not None:
            o.observe(step, runs[0].model)
        x, y = data.batch(step)
        for run in runs:
            run.step(step, x, y)
        if (step + 1) % log_every == 0 or step + 1 == total_steps:
            for run in runs:
                run.evaluate(step + 1, evals)
        bar.update(1)
    bar.close()
    if saver is not None:
        configs[0]["segments"] = saver.finish(total_steps, runs[0], data)
    return [_result(run, data, seeds, evals, o, total_steps, per_epoch, config) for run, config in zip(runs, configs)]


def _result(run: _Learning, data, seeds, evals, o: TrainingOptions, total_steps, per_epoch, config) -> TrainResult:
    frame = pd.DataFrame(run.rows, columns=["seed", "step", "split", "mse"])
    if o.steps is None:
        frame["epoch"] = frame["step"] // per_epoch
    threshold = None
    if isinstance(data, HasThresholds):
        by_split = data.success_thresholds(evals, o.threshold_eps)
        if by_split:  # empty for a task without a success criterion
            threshold = pd.DataFrame([(seeds[s], split, float(v[s])) for split, v in by_split.items()
                                      for s in range(len(seeds))], columns=["seed", "split", "threshold"])
    config = {k: v for k, v in config.items() if k not in ("seeds", "model")} | dict(n_seeds=len(seeds))
    return TrainResult(seeds, run.model.cpu(), frame, run.guard.diverged_at, threshold, total_steps, config,
                       best_model=None if run.best is None else run.best.model.cpu())


class _Saver:
    """Checkpoints of one run: when to save, what to save, and resuming from the last one."""

    def __init__(self, checkpoint: Checkpoint, config: dict, data, device: torch.device):
        self.ck, self.path = checkpoint, Path(checkpoint.path)
        source = data.describe() if hasattr(data, "describe") else dict(source=type(data).__name__)
        self.run_fields = json.loads(json.dumps(config | dict(data=source), sort_keys=True, default=str))
        self.environment = environment(device)
        self.started = self.last_time = time.monotonic()
        self.last_step = self.first_step = 0
        self.segments: list[dict] = []  # where and how fast each stretch of the run went

    def resume(self, run: _Learning, data) -> int:
        if not self.path.exists():
            return 0
        state = torch.load(self.path, weights_only=False)
        if "run" not in state:
            raise CheckpointMismatch(f"checkpoint {self.path} was written by an older nalu that did not record its "
                                     "run's configuration, so it cannot be checked; delete it to start afresh")
        saved_steps, steps = state["run"]["steps"], self.run_fields["steps"]
        if self.ck.extend and saved_steps < steps:
            self._check_extension(state, saved_steps)
            compare = {**state["run"], "steps": steps}
        else:
            compare = state["run"]
        if differ := _differences(compare, self.run_fields):
            hint = " (pass Checkpoint(..., extend=True) to continue a shorter run to more steps)" \
                if _differing_keys(compare, self.run_fields) == ["steps"] and saved_steps < steps else ""
            raise CheckpointMismatch(f"checkpoint {self.path} belongs to a different run: {differ}; pass the same "
                                     "arguments to continue it, or delete it (or pass another path) to start "
                                     f"afresh{hint}")
        moved = _differences(state["environment"], self.environment)
        if moved and not self.ck.resume_elsewhere:
            raise CheckpointMismatch(f"checkpoint {self.path} was written in another environment: {moved}; pass "
                                     "Checkpoint(..., resume_elsewhere=True) to continue it here (each stretch of the "
                                     "run keeps its environment in the result's segments)")
        run.model.load_state_dict(state["model"])
        run.opt.load_state_dict(state["optimizer"])
        data.load_state_dict(state["data"], state["step"])
        run.guard.load_state_dict(state["guard"])
        if run.best is not None:
            run.best.load_state_dict(state["best"])
        run.rows.extend(_unpack_rows(state["rows"]))
        self.segments = state["segments"]
        self.last_step = self.first_step = state["step"]
        return state["step"]

    def _check_extension(self, state: dict, saved_steps: int) -> None:
        """A finished shorter run evaluated at its last step; a longer run evaluates there only if
        that step is on its evaluation schedule."""
        if state["run"]["epochs"] is not None:
            raise CheckpointMismatch(f"checkpoint {self.path} counts epochs; extend=True continues runs given in "
                                     "steps (pass more steps=..., not epochs)")
        every = state["run"]["eval_every"]
        if state["step"] == saved_steps and saved_steps % every != 0:
            raise CheckpointMismatch(f"checkpoint {self.path} ended at step {saved_steps:,}, which is not a multiple "
                                     f"of its evaluation interval ({every:,}): its final evaluation would not be one "
                                     "of the longer run's; extend only runs whose length is a multiple of eval_every")

    def due(self, step: int, data: Resumable) -> bool:
        if step == self.last_step or not data.can_checkpoint(step):
            return False
        now = time.monotonic()
        if self.ck.stop_after_seconds is not None and now - self.started >= self.ck.stop_after_seconds:
            return True
        return ((self.ck.every_seconds is not None and now - self.last_time >= self.ck.every_seconds)
                or (self.ck.every_steps is not None and step - self.last_step >= self.ck.every_steps))

    def _state(self, step: int, run: _Learning, data) -> dict:
        return dict(run=self.run_fields, environment=self.environment, step=step, model=run.model.state_dict(),
                    optimizer=run.opt.state_dict(), data=data.state_dict(step), guard=run.guard.state_dict(),
                    rows=_pack_rows(run.rows), best=None if run.best is None else run.best.state_dict(),
                    segments=self._segments_until(step))

    def _write(self, state: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.path)  # a crash mid-save leaves the previous checkpoint intact

    def save(self, step: int, run: _Learning, data) -> None:
        self._write(self._state(step, run, data))
        self.last_time, self.last_step = time.monotonic(), step
        if self.ck.stop_after_seconds is not None and self.last_time - self.started >= self.ck.stop_after_seconds:
            raise TrainingPaused(step, self.path)

    def _segments_until(self, step: int) -> list[dict]:
        here = dict(self.environment, node=platform.node(), cores=os.cpu_count(), threads=torch.get_num_threads(),
                    from_step=self.first_step, to_step=step, seconds=round(time.monotonic() - self.started, 1),
                    run_steps=self.run_fields["steps"])
        return self.segments + [here]

    def finish(self, step: int, run: _Learning, data) -> list[dict]:
        """Save the final state (a later call returns the result, ``extend`` continues it); return the
        run's segments (environment, steps, seconds of each stretch between resumptions)."""
        if step == self.first_step:  # resumed a finished run: nothing trained now
            return self.segments
        state = self._state(step, run, data)
        self._write(state)
        return state["segments"]


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flatten(item, f"{prefix}.{key}" if prefix else key).items()}
    if isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
        return {k: v for i, item in enumerate(value) for k, v in _flatten(item, f"{prefix}[{i}]").items()}
    return {prefix: value}


def _differing_keys(saved: dict, now: dict) -> list[str]:
    """The flattened names of the fields that differ between two records."""
    a, b = _flatten(saved), _flatten(now)
    return sorted(k for k in a.keys() | b.keys() if a.get(k, "<absent>") != b.get(k, "<absent>"))


def _differences(saved: dict, now: dict, most: int = 6) -> str:
    """'field: saved → now; ...' for the fields that differ ('' if none)."""
    a, b = _flatten(saved), _flatten(now)
    keys = _differing_keys(saved, now)

    def short(v) -> str:
        text = repr(v)
        return text if len(text) <= 60 else text[:57] + "..."

    parts = [f"{k}: {short(a.get(k, '<absent>'))} in the checkpoint, {short(b.get(k, '<absent>'))} now"
             for k in keys[:most]]
    if len(keys) > most:
        parts.append(f"and {len(keys) - most} more")
    return "; ".join(parts)


def code_version() -> str:
    """The package's code version: a digest of its source files (sha1 over nalu/*.py, 16 hex digits)."""
    here = Path(__file__).parent
    digest = hashlib.sha1()
    for path in sorted(here.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def environment(device: str | torch.device = "cpu") -> dict[str, str]:
    """Where a run runs: the package's code version, torch's version, the device and the CPU."""
    device = torch.device(device)
    info = dict(code=code_version(), torch=torch.__version__, device=str(device), cpu=cpu_model())
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def cpu_model() -> str:
    """The processor's model name (from /proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        if names:
            return names[0]
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _pack_rows(rows: list[tuple[int, int, str, float]]) -> dict[str, np.ndarray | list[str]]:
    """The log as four arrays (a long run's log as tuples would make every checkpoint large)."""
    splits = sorted({r[2] for r in rows})
    code = {s: i for i, s in enumerate(splits)}
    return dict(seed=np.array([r[0] for r in rows], np.int64), step=np.array([r[1] for r in rows], np.int64),
                split=np.array([code[r[2]] for r in rows], np.int8), mse=np.array([r[3] for r in rows], np.float64),
                splits=splits)


def _unpack_rows(packed: dict) -> list[tuple[int, int, str, float]]:
    names = packed["splits"]
    return [(int(a), int(b), names[c], float(d))
            for a, b, c, d in zip(packed["seed"], packed["step"], packed["split"], packed["mse"])]


def _check_arguments(model_factory, data, seeds, steps, epochs, lr, optimizer, reg, grad_clip, eval_every, threads,
                     keep_best, checkpoint) -> list[int]:
    if isinstance(model_factory, nn.Module) or not callable(model_factory):
        raise TypeError(f"model_factory must be a function that builds a fresh model (e.g. "
                        f"functools.partial(nalu.NMU, 10, 1) or lambda: nalu.NMU(10, 1)), got {model_factory!r}")
    if not isinstance(data, DataSource):
        raise TypeError(f"data must be a data source such as nalu.FreshSamples(task) or nalu.FixedData(dataset), "
                        f"got {type(data).__name__}")
    if isinstance(seeds, (int, np.integer)):
        raise TypeError(f"seeds must be a sequence of seeds, e.g. range({seeds}), got the int {seeds}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed, got none")
    if not all(isinstance(s, (int, np.integer)) and s >= 0 for s in seeds):
        raise ValueError(f"seeds must be non-negative integers, got {seeds}")
    seeds = [int(s) for s in seeds]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    if (steps is None) == (epochs is None):
        raise ValueError(f"give exactly one of steps or epochs, got steps={steps!r}, epochs={epochs!r}")
    for name, value in (("steps", steps), ("epochs", epochs)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}"
                             + ("; with 0 nothing would be trained (evaluate_mse evaluates a model as it is)"
                                if value == 0 else ""))
    if epochs is not None and not getattr(data, "has_epochs", True):
        raise ValueError(f"{type(data).__name__} draws fresh batches every step and has no epochs, so epochs={epochs!r} "
                         f"would mean {epochs!r} steps; pass steps=... instead")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"unknown optimizer {optimizer!r}; choose 'adam' or 'sgd'")
    if reg is not None and not isinstance(reg, Warmup):
        raise TypeError(f"reg must be a nalu.Warmup(scale, start, end) schedule or None, got {reg!r}; "
                        f"for a constant λ = {reg!r} from step 1 on pass Warmup({reg!r}, 0, 1)")
    if grad_clip is not None and not (isinstance(grad_clip, (int, float)) and grad_clip > 0):
        raise ValueError(f"grad_clip must be a positive number or None, got {grad_clip!r}")
    if not isinstance(eval_every, int) or eval_every < 1:
        raise ValueError(f"eval_every must be a positive integer, got {eval_every!r}")
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
    if keep_best is not None and not isinstance(keep_best, str):
        raise ValueError(f"keep_best must name an evaluation split (e.g. 'interpolation') or be None, got {keep_best!r}")
    if checkpoint is not None:
        if not isinstance(checkpoint, Checkpoint):
            raise TypeError(f"checkpoint must be a nalu.Checkpoint(path, ...), got {checkpoint!r}")
        if not isinstance(data, Resumable):
            raise ValueError(f"{type(data).__name__} cannot be checkpointed (it has no state_dict); "
                             "use FreshSamples or FixedData, or pass checkpoint=None")
    return seeds
