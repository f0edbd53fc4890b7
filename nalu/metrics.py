"""Metrics of the papers: MSE, Trask's normalised error, Madsen & Johansen's success criterion,
solved-at step and sparsity error, and Wilson intervals for success rates."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from .units import NAC, NAU, NMU, RealNPU

__all__ = [
    "mse",
    "normalised_error",
    "success_table",
    "sparsity_error",
    "weights_sparsity_error",
    "linear_floor",
    "effective_weights",
    "wilson_interval",
    "rates_overlap",
    "success_rate",
    "normalised_table",
    "sequence_errors",
    "Z_95",
]


def mse(pred: Tensor | np.ndarray, target: Tensor | np.ndarray) -> float:
    """mean((pred − target)²)."""
    pred, target = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape:
        raise ValueError(f"pred and target shapes differ: {pred.shape} vs {target.shape}")
    return float(np.mean((pred - target) ** 2))


def normalised_error(error, random_error):
    """Trask's normalised error: 100 · error / error of randomly initialised models (same architecture).

    0 is perfect, 100 is no better than an untrained model, above 100 is worse.
    """
    random_error = np.asarray(random_error, dtype=np.float64)
    if np.any(random_error <= 0):
        raise ValueError(f"random_error must be positive, got {random_error!r}")
    return 100.0 * np.asarray(error, dtype=np.float64) / random_error


def success_table(log: pd.DataFrame, threshold: pd.DataFrame, *, select_split: str = "interpolation",
                  test_split: str = "extrapolation") -> pd.DataFrame:
    """Madsen & Johansen's success criterion, one row per seed.

    The model is taken at the logged step with the lowest ``select_split`` MSE (NaN counts as
    worst); it succeeds if its ``test_split`` MSE is below the MSE of the ε-perturbed exact
    solution. ``solved_at`` is the first logged step whose ``test_split`` MSE is below that
    threshold (NaN if never).
    """
    for name, frame, columns in (("log", log, {"seed", "step", "split", "mse"}),
                                 ("threshold", threshold, {"seed", "split", "threshold"})):
        if frame is None and name == "threshold":
            continue
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"{name} must be a DataFrame (TrainResult.{name}), got {type(frame).__name__}")
        if missing := columns - set(frame.columns):
            swapped = (name == "log" and "threshold" in frame.columns) or (name == "threshold" and "mse" in frame.columns)
            hint = ("; the arguments look swapped: call success_table(result.log, result.threshold)" if swapped
                    else f"; pass TrainResult.{name}")
            raise ValueError(f"{name} lacks the columns {sorted(missing)}{hint}")
    if threshold is None:
        raise ValueError("threshold is None: success thresholds are only defined for tasks with a success criterion "
                         "(exact solutions perturbed by ε, e.g. arithmetic tasks of fresh samples); for other data "
                         "compare MSEs directly, or pass a DataFrame with columns seed, split, threshold")
    for split in (select_split, test_split):
        if split not in set(log["split"]):
            raise ValueError(f"split {split!r} is not in the log; it has {sorted(set(log['split']))}")
    wide = log.pivot_table(index=["seed", "step"], columns="split", values="mse", dropna=False).reset_index()
    thr = threshold[threshold["split"] == test_split].set_index("seed")["threshold"]
    out = []
    for seed, g in wide.groupby("seed"):
        sel = g[select_split].fillna(np.inf)
        best = g.loc[sel.idxmin()]
        t = float(thr.loc[seed])
        below = g[g[test_split] < t]
        test_mse = float(best[test_split])
        out.append(dict(seed=seed, best_step=int(best["step"]), select_mse=float(best[select_split]),
                        test_mse=test_mse, threshold=t,
                        success=bool(np.isfinite(test_mse) and test_mse < t),
                        solved_at=float(below["step"].min()) if len(below) else float("nan")))
    return pd.DataFrame(out)


Z_95 = 1.96
"""z of a 95% interval: the 97.5% quantile of the standard normal, 1.959964
(``statistics.NormalDist().inv_cdf(0.975)``), rounded to 1.96 as the papers and most tables do."""


def _is_count(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion p̂ = successes / n:

        (p̂ + z²/2n ± z √(p̂(1 − p̂)/n + z²/4n²)) / (1 + z²/n)

    z = 1.96 (the 97.5% normal quantile, rounded) gives the 95% interval.
    """
    if not _is_count(n) or n < 1:
        raise ValueError(f"n must be a positive integer (the number of trials), got {n!r}")
    if not _is_count(successes):
        raise ValueError(f"successes must be an integer count, got {successes!r}; pass the number of successes, "
                         "e.g. int(success.sum())")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, n={n}], got {successes!r}")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def rates_overlap(a: Mapping, b: Mapping, z: float = Z_95) -> bool:
    """Whether two success rates' Wilson intervals overlap, lo_a ≤ hi_b and lo_b ≤ hi_a (``a``, ``b``:
    mappings with ``successes`` and ``n``, e.g. ``success_rate``'s dicts; the intervals are recomputed)."""
    for name, r in (("a", a), ("b", b)):
        if not isinstance(r, Mapping) or not {"successes", "n"} <= set(r):
            raise ValueError(f"{name} must be a mapping with 'successes' and 'n' (e.g. success_rate's dict), got {r!r}")
    alo, ahi = wilson_interval(a["successes"], a["n"], z)
    blo, bhi = wilson_interval(b["successes"], b["n"], z)
    return bool(alo <= bhi and blo <= ahi)


def success_rate(success: pd.Series | np.ndarray) -> dict:
    """Rate and Wilson 95% interval of a boolean vector (0/1 accepted; anything else is an error, so
    that a missing result, NaN, is not counted as a success)."""
    raw = np.asarray(success)
    if raw.dtype != bool:
        ok = (np.isin(raw, (0, 1)) if raw.dtype.kind in "iuf" else
              np.array([isinstance(v, (bool, np.bool_, int, np.integer)) and v in (0, 1) for v in raw.flat]))
        bad = np.flatnonzero(~ok)
        if bad.size:
            value = raw.flat[bad[0]]
            raise ValueError(f"success must hold booleans (or 0/1), got {getattr(value, 'item', lambda: value)()!r} "
                             f"at index {bad[0]}; "
                             "drop or decide the runs without a result before counting")
    s = raw.astype(bool)
    lo, hi = wilson_interval(int(s.sum()), len(s))
    return dict(successes=int(s.sum()), n=len(s), rate=float(s.mean()), lo=lo, hi=hi)


def effective_weights(model: nn.Module) -> list[Tensor]:
    """The weights the sparsity error looks at: W of each NAC/RealNPU (NALU: its NACs), and of each NAU/NMU
    the weights its forward pass uses (``weight()``: W clamped to its range for ``bounds="forward"``)."""
    out = []
    for m in model.modules():
        if isinstance(m, (NAU, NMU)):
            out.append(m.weight())
        elif isinstance(m, (NAC, RealNPU)):
            out.append(m.W)
    return out


@torch.no_grad()
def sparsity_error(model: nn.Module) -> np.ndarray:
    """Madsen & Johansen: max_ij min(|W_ij|, |1 − |W_ij||), per stacked seed (a scalar array for one model),
    over the arithmetic units' weights (``effective_weights``)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"sparsity_error takes a model (an nn.Module), got {type(model).__name__}; for weight "
                        "matrices pass them to weights_sparsity_error")
    ws = effective_weights(model)
    if not ws:
        raise ValueError(f"{type(model).__name__} has no arithmetic-unit weights")
    return weights_sparsity_error(ws)


def weights_sparsity_error(weights: Sequence[Tensor]) -> np.ndarray:
    """max_ij min(|W_ij|, |1 − |W_ij||) over every matrix of ``weights`` (each (..., out, in)), per stacked seed."""
    if not weights:
        raise ValueError("weights is empty: pass the weight matrices to judge, e.g. nalu.effective_weights(model)")
    errs = [torch.minimum(w.abs(), (1 - w.abs()).abs()).amax(dim=(-2, -1)) for w in weights]  # Madsen & Johansen
    return torch.stack(errs).amax(dim=0).cpu().numpy()


def linear_floor(x: Tensor | np.ndarray, y: Tensor | np.ndarray) -> np.ndarray:
    """The lowest MSE any bias-free linear map of the input reaches on the rows (x, y), per seed:
    min_W mean((x W − y)²), by least squares in float64. x is (N, in), shared by the seeds, or
    (S, N, in); y is (S, N, out). A model that is such a map (a stack of NAC+ layers, a bias-free
    Linear) cannot do better on these rows, however long it trains."""
    x = np.asarray(x.detach().cpu() if isinstance(x, Tensor) else x, dtype=np.float64)
    y = np.asarray(y.detach().cpu() if isinstance(y, Tensor) else y, dtype=np.float64)
    if y.ndim != 3 or x.ndim not in (2, 3) or x.shape[-2] != y.shape[-2] or (x.ndim == 3 and len(x) != len(y)):
        raise ValueError(f"linear_floor needs x of shape (N, in) or (S, N, in) and y of shape (S, N, out) with the "
                         f"same N (and S), got x {x.shape} and y {y.shape}")
    xs = np.broadcast_to(x, (len(y),) + x.shape[-2:]) if x.ndim == 2 else x
    floors = []
    for xi, yi in zip(xs, y):
        w = np.linalg.lstsq(xi, yi, rcond=None)[0]  # argmin_W ‖x W − y‖²
        floors.append(float(np.mean((xi @ w - yi) ** 2)))
    return np.array(floors)


# --- sequence metrics (the recurrent tasks) ------------------------------------------------------

def normalised_table(log: pd.DataFrame) -> pd.DataFrame:
    """Trask's normalised error per seed and split from a ``nalu.train`` log: 100 · MSE at the last
    step / MSE at step 0 (the same model, randomly initialised). Columns seed, split, mse,
    random_mse, normalised."""
    first = log[log.step == log.step.min()].set_index(["seed", "split"])["mse"]
    last = log[log.step == log.step.max()].set_index(["seed", "split"])["mse"]
    out = pd.DataFrame({"mse": last, "random_mse": first.reindex(last.index)}).reset_index()
    out["normalised"] = 100.0 * out["mse"] / out["random_mse"]
    return out


@torch.no_grad()
def sequence_errors(model: nn.Module, x: Tensor, y: Tensor, chunk: int = 256) -> dict[str, np.ndarray]:
    """Per-seed errors of a stacked model on sequences x (N, T·F) or (S, N, T·F), targets y (N, out)
    or (S, N, out): ``mae`` mean |ŷ − y|, ``mse``, and ``relative`` = Σ|ŷ − y| / Σ|y|. Float64 sums;
    a non-finite prediction (an overflowing state) counts as an infinite error."""
    n = x.shape[-2]
    abs_sum = sq_sum = None
    for lo in range(0, n, chunk):
        err = model(x[..., lo:lo + chunk, :]).double() - y[..., lo:lo + chunk, :].double()
        err = torch.where(torch.isfinite(err), err, torch.inf)
        a, s = err.abs().sum(dim=(-2, -1)), (err ** 2).sum(dim=(-2, -1))
        abs_sum = a if abs_sum is None else abs_sum + a
        sq_sum = s if sq_sum is None else sq_sum + s
    count = n * y.shape[-1]
    scale = y.double().abs().sum(dim=(-2, -1))
    return {"mae": (abs_sum / count).cpu().numpy(), "mse": (sq_sum / count).cpu().numpy(),
            "relative": (abs_sum / scale).cpu().numpy()}
