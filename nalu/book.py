"""Small helpers the book's notebooks share: the mode banner, result files, formatting."""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import pandas as pd
import torch

__all__ = ["mode_banner", "save_results", "load_results", "fmt_rate", "rate_table", "setup_plotting"]


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
    """Store a chapter's figures and findings for the conclusions (``nalu.results.save``: validated;
    a chapter without its own ``findings`` gets them from its figures, and a missing figure fails here)."""
    from .results import save

    return save(results_dir, chapter, results, findings)


def load_results(results_dir: str | Path) -> dict[str, dict]:
    """Every chapter's figures (validated files, ``nalu.results.load_all``), by chapter name."""
    from .results import load_all

    return {name: r.figures for name, r in load_all(results_dir).items()}


def fmt_rate(rate: dict, compact: bool = False) -> str:
    """'35% [18%, 57%] (7/20)' from ``metrics.success_rate``'s dict; ``compact``: '35% [18, 57]'
    (for a table that gives the seeds elsewhere)."""
    if compact:
        return f"{100 * rate['rate']:.0f}% [{100 * rate['lo']:.0f}, {100 * rate['hi']:.0f}]"
    return f"{100 * rate['rate']:.0f}% [{100 * rate['lo']:.0f}%, {100 * rate['hi']:.0f}%] ({rate['successes']}/{rate['n']})"


def rate_table(df: pd.DataFrame, by: list[str], col: str = "success") -> pd.DataFrame:
    """Success rate with Wilson 95% interval for each group of ``by``."""
    from .metrics import success_rate

    rows = []
    for key, g in df.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        r = success_rate(g[col])
        rows.append({**dict(zip(by, key)), **r, "text": fmt_rate(r)})
    return pd.DataFrame(rows)


def setup_plotting() -> None:
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "figure.figsize": (8, 4.5)})


# --- formatting helpers for the sentences chapters generate from their results ---

from .verdicts import MAX_WIDTH, MIN_SEEDS  # noqa: E402  (the three-level rule's numbers, one place)


def underpowered(rate: dict) -> bool:
    """True when a rate from ``metrics.success_rate`` cannot decide a claim: n < MIN_SEEDS or hi − lo > MAX_WIDTH."""
    return rate["n"] < MIN_SEEDS or rate["hi"] - rate["lo"] > MAX_WIDTH


def provisional(quick: bool) -> str:
    """The clause a generated sentence carries in the quick build ('' in the full build)."""
    return " *(Quick build: few seeds and short training, so this is provisional.)*" if quick else ""


def mean_range(v) -> str:
    """'m [lo, hi]': the mean of ``v`` with its smallest and largest value (e.g. over seeds)."""
    v = np.asarray(v, dtype=float)
    return f"{np.mean(v):.3g} [{np.min(v):.2g}, {np.max(v):.2g}]"


def median_range(v) -> str:
    """'m [lo, hi]': the median of ``v`` with its smallest and largest value (e.g. over seeds)."""
    v = np.asarray(v, dtype=float)
    return f"{np.median(v):.3g} [{np.min(v):.2g}, {np.max(v):.2g}]"


__all__ += ["MIN_SEEDS", "MAX_WIDTH", "underpowered", "provisional", "mean_range", "median_range"]
