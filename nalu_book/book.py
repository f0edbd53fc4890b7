"""Small helpers the book's notebooks share: the mode banner, result files, formatting."""

from __future__ import annotations

import math
import platform
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch

__all__ = ["mode_banner", "save_results", "load_results", "fmt_rate", "rate_table", "bootstrap_ci", "setup_plotting"]


# settings named in words for the banner (others: their keyword with spaces for underscores)
_LABELS = {"lr": "learning rate", "eval_every": "evaluation every (steps)", "eval_size": "evaluation rows",
           "steps_mul": "steps (×)", "steps_div": "steps (÷)", "lstm_units": "LSTM units", "batch_size": "batch size"}


def _label(key: str) -> str:
    return _LABELS.get(key, key.replace("_", " "))


def mode_banner(quick: bool, **settings) -> "IPython.display.Markdown":
    """A chapter's header: sets the book's plotting style (``setup_plotting``) and returns the note
    at the top of the chapter, saying which mode produced it, with which settings."""
    from IPython.display import Markdown

    setup_plotting()

    mode = "quick" if quick else "full"
    items = "; ".join(f"{_label(k)}: {v:,}" if isinstance(v, int) and not isinstance(v, bool) else f"{_label(k)}: {v}"
                      for k, v in settings.items())
    extra = (" Quick mode is the continuous-integration check: few seeds and short training, so its "
             "intervals are wide. Run `make build` for the full reproduction.") if quick else ""
    return Markdown(
        f":::{{note}}\nThis page was executed in **{mode} mode** ({items}) with torch {torch.__version__} "
        f"on {platform.machine()} / Python {platform.python_version()}.{extra}\n:::"
    )


def save_results(results_dir: str | Path, chapter: str, results: dict, findings=None) -> Path:
    """Store a chapter's figures and findings for the conclusions (``nalu_book.results.save``: validated).
    ``findings`` is required: the chapter's ``Finding`` records, or ``[]`` for a chapter that checks no
    claim; leaving it out fails here, naming the chapter."""
    from nalu_book.results import save

    return save(results_dir, chapter, results, findings)


def load_results(results_dir: str | Path) -> dict[str, dict]:
    """Every chapter's figures (validated files, ``nalu_book.results.load_all``), by chapter name."""
    from nalu_book.results import load_all

    return {name: r.figures for name, r in load_all(results_dir).items()}


def fmt_rate(rate: dict, compact: bool = False) -> str:
    """'35% [18%, 57%] (7/20)' from ``metrics.success_rate``'s dict; ``compact``: '35% [18, 57]'
    (for a table that gives the seeds elsewhere)."""
    if compact:
        return f"{100 * rate['rate']:.0f}% [{100 * rate['lo']:.0f}, {100 * rate['hi']:.0f}]"
    return f"{100 * rate['rate']:.0f}% [{100 * rate['lo']:.0f}%, {100 * rate['hi']:.0f}%] ({rate['successes']}/{rate['n']})"


def rate_table(df: pd.DataFrame, by: list[str], col: str = "success") -> pd.DataFrame:
    """Success rate with Wilson 95% interval for each group of ``by``."""
    from nalu.metrics import success_rate

    rows = []
    for key, g in df.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        r = success_rate(g[col])
        rows.append({**dict(zip(by, key)), **r, "text": fmt_rate(r)})
    return pd.DataFrame(rows)


def bootstrap_ci(level: float = 95, n_boot: int = 200, seed: int = 0) -> Callable[[Sequence[float]], tuple[float, float]]:
    """An ``errorbar`` for seaborn's line plots: the percentile bootstrap interval of the mean.

    For values v_1 … v_n (one group, e.g. the seeds at one x), draw ``n_boot`` resamples of n indices
    with replacement, take each resample's mean, and return the (100 − level)/2 and (100 + level)/2
    percentiles of those means, as seaborn's ``errorbar=("ci", level)`` does. The resamples are drawn
    as one (n_boot, n) index array from ``default_rng(seed)`` rather than in a loop of n_boot calls,
    so a figure with thousands of groups takes a moment, not a minute. The values are sorted first and
    every group of n values uses the same indices, so the figure is the same on every run."""
    if not (isinstance(level, (int, float)) and 0 < level < 100):
        raise ValueError(f"level must be a percentage between 0 and 100 (e.g. 95), got {level!r}")
    if not isinstance(n_boot, int) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer (e.g. 200), got {n_boot!r}")
    tails = [(100 - level) / 2, (100 + level) / 2]

    def interval(values: Sequence[float]) -> tuple[float, float]:
        v = np.sort(np.asarray(values, dtype=float))  # sorted: the interval depends on the values, not their order
        idx = np.random.default_rng(seed).integers(0, len(v), size=(n_boot, len(v)))
        lo, hi = np.percentile(v[idx].mean(axis=1), tails)
        return float(lo), float(hi)

    return interval


def setup_plotting() -> None:
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "figure.figsize": (8, 4.5)})


# --- formatting helpers for the sentences chapters generate from their results ---

from nalu.verdicts import MAX_WIDTH, MIN_SEEDS, fmt_number, superscript  # noqa: E402  (the three-level rule's numbers and notation, one place)


def underpowered(rate: dict) -> bool:
    """True when a rate from ``metrics.success_rate`` cannot decide a claim: n < MIN_SEEDS or hi − lo > MAX_WIDTH."""
    return rate["n"] < MIN_SEEDS or rate["hi"] - rate["lo"] > MAX_WIDTH


def provisional(quick: bool) -> str:
    """The clause a generated sentence carries in the quick build ('' in the full build)."""
    return " *(Quick build: few seeds and short training, so this is provisional.)*" if quick else ""


def mean_range(v) -> str:
    """'m [lo, hi]': the mean of ``v`` with its smallest and largest value (e.g. over seeds)."""
    v = np.asarray(v, dtype=float)
    return f"{fmt_number(np.mean(v))} [{fmt_number(np.min(v), 2)}, {fmt_number(np.max(v), 2)}]"


def median_range(v) -> str:
    """'m [lo, hi]': the median of ``v`` with its smallest and largest value (e.g. over seeds)."""
    v = np.asarray(v, dtype=float)
    return f"{fmt_number(np.median(v))} [{fmt_number(np.min(v), 2)}, {fmt_number(np.max(v), 2)}]"


def compare_rates(r1, r2, first: str, second: str, *, above: str = "", below: str = "") -> str:
    """A sentence part comparing two success rates (``metrics.success_rate``'s dicts, or rows of
    ``rate_table``) by their Wilson 95% intervals:

    * underpowered (``underpowered``: too few seeds or too wide an interval) if either is;
    * '``first`` … is above / below ``second`` …, the 95% intervals apart' when lo₁ > hi₂ / hi₁ < lo₂,
      followed by ``above`` / ``below`` (what the difference means, e.g. ': the signs make it harder');
    * otherwise 'the 95% intervals overlap, no difference shown'."""
    a, b = f"{first} {fmt_rate(r1)}", f"{second} {fmt_rate(r2)}"
    if underpowered(r1) or underpowered(r2):
        return f"{a} against {b}: underpowered, too few seeds or too wide an interval to tell them apart"
    if r1["lo"] > r2["hi"]:
        return f"{a} is above {b}, the 95% intervals apart{above}"
    if r1["hi"] < r2["lo"]:
        return f"{a} is below {b}, the 95% intervals apart{below}"
    return f"{a} and {b}: the 95% intervals overlap, no difference shown"


def power_of_ten(n: float) -> str:
    """A step count as a power of ten: 3000000 -> '3·10⁶', 1000000 -> '10⁶', 1500000 -> '1.5·10⁶'."""
    if not n > 0:
        raise ValueError(f"power_of_ten needs a positive number, got {n!r}")
    e = int(math.floor(math.log10(n)))
    m = f"{n / 10 ** e:.2g}"
    return ("" if m == "1" else f"{m}·") + "10" + superscript(e)


def number_format(digits: int = 3) -> Callable[[float], str]:
    """A table cell formatter (for ``Styler.format``) writing numbers as ``fmt_number`` does, to ``digits``
    significant digits: 1.25e-2 -> '0.0125', 2.104e5 -> '2.1·10⁵' at 2 digits."""
    fmt_number(1.0, digits)  # a bad ``digits`` is refused here, at the call, not at the first cell
    return lambda v: fmt_number(v, digits)


def sci(v) -> str:
    """Two significant digits in the papers' notation: 14000 -> '1.4·10⁴', 4000 -> '4.0·10³', 1.2e-5 ->
    '1.2·10⁻⁵', plainly from 0.010 to 990 (0.16, 3.5, 140), the minus sign −; '–' for a missing value
    (None or NaN)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if v == 0 or math.isinf(v):
        return fmt_number(v)
    sign = "−" if v < 0 else ""
    mantissa, exponent = f"{abs(v):.1e}".split("e")  # rounded to two significant digits first: 999.6 is 1.0·10³
    if -2 <= int(exponent) <= 2:
        return sign + f"{float(mantissa) * 10 ** int(exponent):.{max(0, 1 - int(exponent))}f}"
    return sign + f"{mantissa}·10{superscript(int(exponent))}"


__all__ += ["power_of_ten", "sci", "MIN_SEEDS", "MAX_WIDTH", "underpowered", "provisional", "mean_range", "median_range",
            "compare_rates"]
