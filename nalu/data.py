"""Where training batches come from: the ``DataSource`` protocol and its two general sources.

* ``FreshSamples``: new samples every step (Madsen & Johansen's protocol). Seed s draws its
  batches from its own generator ``rng_for(s, DATA_STREAM)``, so its data never depends on which
  other seeds share the run.
* ``FixedData``: a fixed data set per seed, epochs of (optionally shuffled) minibatches, as in
  the two blog posts.

``nalu.applied.DigitSequences`` is a third source. A source that can also report its state
(``Resumable``) lets a run be checkpointed and resumed bit for bit.
"""

from __future__ import annotations

import enum
import hashlib
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor

from .tasks import ArithmeticTask, Dataset, rng_for

__all__ = ["DataSource", "HasThresholds", "Resumable", "FreshSamples", "FixedData", "DATA_STREAM", "EVAL_STREAM",
           "describe"]

DATA_STREAM = 2  # the rng_for stream of training batches
EVAL_STREAM = 3  # the rng_for stream of the shared evaluation inputs

EvalSets = dict[str, tuple[Tensor, Tensor]]


@runtime_checkable
class DataSource(Protocol):
    """What ``train`` needs: batches with a leading seed axis and named evaluation sets.

    A source that holds resources (a thread, files) may also define ``close()``; ``train`` calls
    it at the end of the run."""

    def setup(self, seeds: list[int], device: torch.device) -> None: ...

    def steps_per_epoch(self) -> int: ...

    def batch(self, step: int) -> tuple[Tensor, Tensor]:
        """(x, y) of shape (S, batch, in) and (S, batch, out) for optimiser step ``step``."""
        ...

    def eval_sets(self) -> EvalSets:
        """{split: (x, y)}; x is (N, in) shared by all seeds or (S, N, in), y is (S, N, out)."""
        ...


@runtime_checkable
class HasThresholds(Protocol):
    """A source whose task defines Madsen & Johansen's success threshold."""

    def success_thresholds(self, eval_sets: EvalSets, eps: float) -> dict[str, np.ndarray]:
        """Each seed's threshold (MSE of the ε-perturbed exact solution) on each split."""
        ...


@runtime_checkable
class Resumable(Protocol):
    """A source that can hand over its state at a step and start again from it."""

    def can_checkpoint(self, step: int) -> bool: ...

    def state_dict(self, step: int) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any], step: int) -> None:
        """Called after ``setup``: continue as if steps 0 … step−1 had been drawn."""
        ...


def describe(obj: Any) -> Any:
    """A JSON-able description of a configuration object (a task, its ranges, masks, a data source's
    options): what a checkpoint records to recognise the run it belongs to. Arrays become lists,
    enums their value, objects their class name and attributes (private ones left out)."""
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Tensor):
        return obj.detach().cpu().tolist()
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): describe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [describe(v) for v in obj]
    if hasattr(obj, "__dict__"):
        fields = {k: describe(v) for k, v in vars(obj).items()
                  if not k.startswith("_") and (isinstance(v, enum.Enum) or not callable(v))}
        return {"class": type(obj).__name__, **fields}
    return repr(obj)


def _fingerprint_of_arrays(arrays) -> str:
    digest = hashlib.sha1()
    for a in arrays:
        a = np.ascontiguousarray(np.asarray(a))
        digest.update(str((a.dtype, a.shape)).encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def per_seed_targets(tasks: list, x: Tensor) -> Tensor:
    """Each seed's task's own ``targets`` on its slice of x (..., S, n, in): the plain form."""
    return torch.stack([task.targets(x[..., s, :, :]) for s, task in enumerate(tasks)], dim=-3)


def operand_masks(tasks: list[ArithmeticTask]) -> np.ndarray:
    """The masks [A B] of each seed's task, stacked: (S, 2, in)."""
    return np.stack([np.stack([t.a_mask, t.b_mask]) for t in tasks])


def operand_product(x: Tensor, masks: np.ndarray) -> Tensor:
    """Each seed's operands [a b] = x·[A B]ᵀ, (..., S, n, in) → (..., S, n, 2); masks (S, 2, in)."""
    return x @ torch.from_numpy(masks).to(x.device).mT


def operands(x: Tensor, masks: np.ndarray) -> Tensor:
    """``operand_product``, faster when every operand is a single input (0/1 masks with one 1 per
    row, as in the two-input tasks): the product is then exactly that input, read out by index
    (the same numbers, bit for bit)."""
    if np.isin(masks, (0, 1)).all() and (masks.sum(axis=-1) == 1).all():
        idx = torch.from_numpy(masks.argmax(axis=-1)).to(x.device)  # (S, 2): which input is a, which is b
        if bool((idx == idx[0]).all()):
            a, b = idx[0].tolist()
            return x.narrow(-1, a, 2) if b == a + 1 else x.index_select(-1, idx[0])
        return torch.gather(x, -1, idx.unsqueeze(-2).expand(*x.shape[:-1], 2))
    return operand_product(x, masks)


def stacked_targets(tasks: list, x: Tensor) -> Tensor:
    """Targets of each seed's task for its slice of x (..., S, n, in), the seed axis third from
    the end. ArithmeticTasks differ only in their masks and operation: one product x·[A B]ᵀ for
    every seed, then each operation on the operands of its own seeds."""
    if not all(isinstance(t, ArithmeticTask) for t in tasks):
        return per_seed_targets(tasks, x)
    ab = operands(x, operand_masks(tasks))  # (..., S, n, 2): the operands a and b
    ops = [t.op for t in tasks]
    if len(set(ops)) == 1:
        return ops[0](ab[..., 0], ab[..., 1]).unsqueeze(-1)
    y = torch.empty(ab.shape[:-1] + (1,), dtype=ab.dtype, device=ab.device)
    for op in dict.fromkeys(ops):  # each operation once, on its seeds' operands
        seeds = torch.tensor([s for s, o in enumerate(ops) if o is op], device=x.device)
        a_b = ab.index_select(-3, seeds)
        y.index_copy_(y.dim() - 3, seeds, op(a_b[..., 0], a_b[..., 1]).unsqueeze(-1))
    return y


class FreshSamples:
    """Fresh batches every step from ``task_for_seed(seed)`` (or one task shared by all seeds).

    Evaluation uses ``eval_size`` inputs per split drawn once from ``eval_seed`` and shared by
    all seeds; targets are each seed's own (tasks may differ per seed, e.g. the subset offset).

    Batches are drawn ``chunk_steps`` steps at a time (default: as many as fit in about 64 MB),
    the next chunk on a background thread while the current one trains. Neither changes the
    data: seed s's stream comes from its own generator, in order.

    Two knobs exist only so the speed appendix can measure what they buy: ``prefetch=False``
    draws each chunk on the training thread, and ``layout="seed"`` stores a chunk seed-major
    (each step's batch is then S scattered pieces; the same numbers, slower to read).

    There are no epochs (every step is new data): train it for ``steps``, not ``epochs``.
    """

    has_epochs = False

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
        if hasattr(task_for_seed, "targets"):  # one task for every seed
            task_for_seed = (lambda seed, _t=task_for_seed: _t)
        elif not callable(task_for_seed):
            raise TypeError(f"FreshSamples needs a task or a function seed -> task, got {task_for_seed!r}")
        self.task_for_seed = task_for_seed
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
        self._bufs = [np.empty(outer + (self.batch_size, self.in_dim), np.float32)
                      for _ in range(2 if self.prefetch else 1)]
        self._pool = ThreadPoolExecutor(max_workers=1) if self.prefetch else None
        self._start_drawing(0)

    def _start_drawing(self, step: int) -> None:
        self._next_buf, self._chunk, self._chunk_start = 0, None, None
        self._states: dict[int, list] = {}
        self._next_chunk = step
        self._pending = self._submit()

    def _draw_chunk(self, buf: np.ndarray) -> tuple[Tensor, Tensor]:
        steps_first = buf if self.layout == "step" else buf.swapaxes(0, 1)  # (k_steps, S, batch, in)
        for s, (task, rng) in enumerate(zip(self.tasks, self.rngs)):
            # seed s's next k_steps batches, in the order of its own stream
            task.splits["interpolation"].sample(steps_first[:, s].shape, rng, out=steps_first[:, s])
        x = torch.from_numpy(steps_first).to(self.device)
        return x, stacked_targets(self.tasks, x)

    def _submit(self):
        # the generators' state before this chunk is drawn: what a checkpoint at its first step needs
        # (the current chunk's is kept too, for a run's final state, which may end inside a chunk)
        current = {start: s for start, s in self._states.items() if start == self._next_chunk - self.k_steps}
        self._states = current | {self._next_chunk: [rng.bit_generator.state for rng in self.rngs]}
        self._next_chunk += self.k_steps
        buf = self._bufs[self._next_buf]
        self._next_buf = (self._next_buf + 1) % len(self._bufs)
        return buf if self._pool is None else self._pool.submit(self._draw_chunk, buf)

    def steps_per_epoch(self) -> int:
        return 1

    def batch(self, step: int) -> tuple[Tensor, Tensor]:
        start = step - step % self.k_steps
        if start != self._chunk_start:
            if start != self._next_chunk - self.k_steps:
                raise ValueError(f"FreshSamples draws its stream in order; step {step} is out of order")
            pending = self._pending
            self._chunk = pending.result() if self._pool is not None else self._draw_chunk(pending)
            self._chunk_start = start
            self._pending = self._submit()
        x, y = self._chunk
        return x[step - start], y[step - start]

    def can_checkpoint(self, step: int) -> bool:
        return step % self.k_steps == 0 and step in self._states

    def state_dict(self, step: int) -> dict[str, Any]:
        """The stream's state at ``step``: at the start of a chunk (``can_checkpoint``), or inside the
        chunk being trained on (a run's final state): the generators before that chunk, and where it starts."""
        start = step - step % self.k_steps
        if start not in self._states:
            raise ValueError(f"FreshSamples can only be checkpointed at the start of a chunk or inside the current "
                             f"one, not step {step}")
        return dict(k_steps=self.k_steps, rng_states=self._states[start], chunk_start=start)

    def load_state_dict(self, state: dict[str, Any], step: int) -> None:
        if state["k_steps"] != self.k_steps:
            raise ValueError(f"checkpoint drew {state['k_steps']} steps per chunk, this run {self.k_steps}: "
                             "pass the same chunk_steps")
        self._wait()
        for rng, s in zip(self.rngs, state["rng_states"]):
            rng.bit_generator.state = s
        self._start_drawing(state.get("chunk_start", step))  # older checkpoints: always a chunk's first step

    def _wait(self) -> None:
        if self._pool is not None and not isinstance(self._pending, np.ndarray):
            self._pending.result()

    def close(self) -> None:
        if getattr(self, "_pool", None) is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def eval_sets(self) -> EvalSets:
        out = {}
        for stream, split in enumerate(self.split_names):
            rng = rng_for(self.eval_seed, EVAL_STREAM + 10 * stream)
            x = torch.from_numpy(self.tasks[0].inputs(self.eval_size, split, rng)).to(self.device)
            y = torch.stack([task.targets(x) for task in self.tasks])
            if not bool(torch.isfinite(y).all()):
                seed = int((~torch.isfinite(y)).flatten(1).any(dim=1).nonzero()[0])
                raise ValueError(f"the task of seed index {seed} gives NaN or infinite targets on its {split} split "
                                 f"({self.tasks[seed]!r}); choose ranges on which its operation is finite")
            out[split] = (x, y)
        return out

    def describe(self) -> dict:
        """What defines this source's data (each seed's task, batch and evaluation sizes); after ``setup``."""
        return dict(source="FreshSamples", batch_size=self.batch_size, eval_size=self.eval_size,
                    eval_seed=self.eval_seed, tasks=[describe(t) for t in self.tasks])

    def success_thresholds(self, eval_sets: EvalSets, eps: float) -> dict[str, np.ndarray]:
        if not all(hasattr(t, "success_threshold") for t in self.tasks):
            return {}  # a task without a success criterion (identity, recurrent sums): no thresholds
        return {split: np.array([t.success_threshold(x, eps) for t in self.tasks])
                for split, (x, _) in eval_sets.items()}


class FixedData:
    """A fixed data set per seed (``data_for_seed(seed) -> Dataset``, or one shared Dataset).

    An epoch visits every training row once in minibatches of ``batch_size`` (None: full batch);
    with ``shuffle`` the order is a fresh permutation per seed and epoch, else the stored order
    (the PyTorch blog post's DataLoader does not shuffle). The last, smaller minibatch is kept.
    A full batch is the training set itself, the same tensor every step, whatever ``shuffle`` says:
    permuting it would only change the order in which the mean loss is summed.
    """

    has_epochs = True

    def __init__(self, data_for_seed, batch_size: int | None = None, shuffle: bool = True):
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
        if isinstance(data_for_seed, Dataset):
            data_for_seed = (lambda seed, _d=data_for_seed: _d)
        elif not callable(data_for_seed):
            raise TypeError(f"FixedData needs a Dataset or a function seed -> Dataset, got {data_for_seed!r}")
        self.data_for_seed = data_for_seed
        self.batch_size, self.shuffle = batch_size, shuffle

    def setup(self, seeds: list[int], device: torch.device) -> None:
        data: list[Dataset] = [self.data_for_seed(s) for s in seeds]
        for s, d in zip(seeds, data):
            if not isinstance(d, Dataset):
                raise TypeError(f"FixedData's function gave {type(d).__name__} for seed {s}; it must return a "
                                "nalu.Dataset(x_train, y_train, evals)")
        self._fingerprints = [_fingerprint_of_arrays([d.x_train, d.y_train, *(a for pair in d.evals.values()
                                                                               for a in pair)]) for d in data]
        self._split_names = [sorted(d.evals) for d in data]

        def stacked(arrays) -> Tensor:
            return torch.stack([torch.as_tensor(a, dtype=torch.float32) for a in arrays]).to(device)

        self.x, self.y = stacked(d.x_train for d in data), stacked(d.y_train for d in data)
        self.n = self.x.shape[1]
        self.bs = self.n if self.batch_size is None else min(self.batch_size, self.n)
        self.rngs = [rng_for(s, DATA_STREAM) for s in seeds]
        self._evals = {name: (stacked(d.evals[name][0] for d in data), stacked(d.evals[name][1] for d in data))
                       for name in data[0].evals}
        self.device = device
        self._order: Tensor | None = None
        self._epoch_of_last_batch: int | None = None

    def steps_per_epoch(self) -> int:
        return math.ceil(self.n / self.bs)

    def batch(self, step: int) -> tuple[Tensor, Tensor]:
        if self.bs == self.n:
            return self.x, self.y
        k = step % self.steps_per_epoch()
        self._epoch_of_last_batch = step // self.steps_per_epoch()
        lo, hi = k * self.bs, min((k + 1) * self.bs, self.n)
        if not self.shuffle:
            return self.x[:, lo:hi], self.y[:, lo:hi]
        if k == 0:
            self._new_order()
        return self._rows(self.x, lo, hi), self._rows(self.y, lo, hi)

    def _new_order(self) -> None:
        """This epoch's order of every seed's rows (the generators' state before it is kept for a
        run that ends inside the epoch)."""
        self._epoch_states = [rng.bit_generator.state for rng in self.rngs]
        order = np.stack([rng.permutation(self.n) for rng in self.rngs])
        self._order = torch.from_numpy(order).to(self.device)
        self._offsets = torch.arange(len(self.rngs), device=self.device).unsqueeze(-1) * self.n

    def _rows(self, t: Tensor, lo: int, hi: int) -> Tensor:
        """Seed s's rows order[s, lo:hi] of t (S, n, d): t[s, order[s, lo:hi]] for every s, as one
        index_select over the flattened (S·n, d) rows (the same values as torch.gather along the
        row axis, several times faster on the CPU)."""
        S, n, d = t.shape
        flat = (self._order[:, lo:hi] + self._offsets).reshape(-1)
        return t.reshape(S * n, d).index_select(0, flat).view(S, hi - lo, d)

    def can_checkpoint(self, step: int) -> bool:
        return step % self.steps_per_epoch() == 0

    def state_dict(self, step: int) -> dict[str, Any]:
        """The generators at ``step``: at the start of an epoch (``can_checkpoint``), or, inside the
        epoch being trained on (a run's final state), before that epoch's order was drawn."""
        if self.can_checkpoint(step) or not self.shuffle:  # (without shuffling the generators are never used)
            return dict(rng_states=[rng.bit_generator.state for rng in self.rngs])
        if self._order is None or step // self.steps_per_epoch() != self._epoch_of_last_batch:
            raise ValueError(f"FixedData can only be checkpointed at the start of an epoch or inside the current "
                             f"one, not step {step}")
        return dict(rng_states=self._epoch_states, inside_epoch=True)

    def load_state_dict(self, state: dict[str, Any], step: int) -> None:
        for rng, s in zip(self.rngs, state["rng_states"]):
            rng.bit_generator.state = s
        if state.get("inside_epoch"):
            self._new_order()  # the order of the epoch the run stopped in
            self._epoch_of_last_batch = step // self.steps_per_epoch()

    def eval_sets(self) -> EvalSets:
        return self._evals

    def describe(self) -> dict:
        """What defines this source's data (a digest of each seed's arrays, the batching); after ``setup``."""
        return dict(source="FixedData", batch_size=self.batch_size, shuffle=self.shuffle,
                    datasets_sha1=self._fingerprints, splits=self._split_names)
