# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version,-kernelspec
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
# ---

# %% [markdown]
# # The static table at the paper's scale
#
# The benchmark chapter trains every unit for a few thousand steps, so that the whole grid can be
# re-executed in one build. That is far too short to test the central table of
# {cite:t}`madsen2020nau`: their NMU solves multiplication at a median of $1.4 \cdot 10^6$ steps,
# and every model is trained for $5 \cdot 10^6$. A budget hundreds of times below the published
# median solved-at step cannot confirm or contradict a success rate; it can only be
# *underpowered*.
#
# This chapter therefore reads a separate, long run: the headline cells of the static task
# trained with each unit's own protocol from its paper, by `nalu_lab.scale` (see the end of the
# chapter for how to re-run or extend it), on fewer seeds than the paper's 100 and, for some
# cells, fewer steps than its $5 \cdot 10^6$: the note below says what each cell ran, and the
# verdicts take the budget into account. The run takes hours of CPU time; it is
# checkpointed and was spread over several stretches and machines, and the book re-reads its
# stored results rather than recomputing them. Cells still running are shown with the step they
# have reached, and no verdict is drawn from them.

# %% tags=["parameters"]
quick = True  # this chapter reads stored results: quick and full mode show the same data
device = "cpu"
results_dir = "../build/results"
paper_dir = "../results/paper-scale"

# %% tags=["hide-input"]
import json
import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

import nalu
from nalu_book import results as R
from nalu_lab import scale
from nalu_book.book import fmt_number, fmt_rate, power_of_ten, save_results, sci, setup_plotting

setup_plotting()
paper = Path(paper_dir)
finished = scale.load_static(paper / "static.csv") if (paper / "static.csv").exists() else None
running = pd.read_csv(paper / "interim.csv") if (paper / "interim.csv").exists() else None
provenance = json.loads((paper / "provenance.json").read_text()) if (paper / "provenance.json").exists() else {}
n_done = 0 if finished is None else len(finished)
n_running = 0 if running is None else len(running)
stored = (f"{n_done} seed-runs that reached their budget, and {n_running} in blocks still running (shown with "
          f"the step they have reached, without a verdict)" if n_running else
          f"{n_done} seed-runs, every one at its budget")
ran = ("" if finished is None else "; ".join(
    f"{unit} on {op}: {g['seed'].nunique()} seeds × {int(steps):,} steps"
    for (unit, op, steps), g in finished.groupby(["unit", "op", "steps"], sort=False)))
Markdown(f":::{{note}}\nThis chapter reads the stored results of the long runs, so the quick and the full build "
         f"show the same data. Stored: {stored}. What each finished cell ran: {ran or 'none yet'} "
         f"(the paper: 100 seeds × {scale.PaperProtocol().steps:,} steps per cell).\n:::")

# %% [markdown]
# ## The protocol, per unit
#
# Every unit gets the protocol its paper prescribes. The task is the NALU paper's static task as
# Madsen & Johansen fixed it: 100 inputs, $a$ and $b$ sum two overlapping subsets of 25, fresh
# batches of 128 from $U[1, 2]$ at every step, a fixed validation set of $10^4$ samples from
# $U[1, 2]$ and a test set of $10^4$ from $U[2, 6]$. The model kept is the one at the step with the
# lowest validation error, and it *succeeds* if its test error is below that of the exact solution
# with every weight perturbed by $\varepsilon = 10^{-5}$. The regulariser weight is
# $\lambda_t = \hat\lambda \cdot \mathrm{clip}((t - t_0) / (t_1 - t_0), 0, 1)$.

# %% tags=["hide-input"]
proto = scale.PaperProtocol()
LAYER = {"nau": "NAU", "nmu": "NMU", "nalu": "NALU", "nac": "NAC", "nac_mul": "NAC•", "linear": "linear"}
protocol_table = pd.DataFrame([
    {"unit": u.label, "layers (100 → 2 → 1)": f"{LAYER[u.first]} → {LAYER[u.second]}",
     "λ̂": f"{u.reg_scale:g}" if u.reg_scale else "–",
     "warm-up t₀ → t₁": f"{fmt_number(u.reg_start, 1)} → {fmt_number(u.reg_end, 1)}" if u.reg_scale else "–"}
    for u in scale.PAPER_UNITS.values()
]).set_index("unit")
display(Markdown(f"All units: Adam with learning rate {proto.lr:g}, batches of {proto.batch_size}, evaluation "
                 f"every {proto.eval_every:,} steps, {proto.steps:,} steps in the paper."))
protocol_table

# %% [markdown]
# ## Our results beside the published table
#
# For each cell with finished seeds: the success rate with its Wilson 95% interval, the median
# step at which the seeds that succeeded first reached the threshold, and the mean sparsity error
# of the successful seeds (how far the weights are from exact 0 and ±1; Madsen & Johansen's
# $\max_{ij} \min(|W_{ij}|, |1 - |W_{ij}||)$). The verdict follows the book's three-level rule
# (stated on the conclusions page): *consistent* when the published rate lies inside our interval
# and the comparison has the power to tell, *contradicted* when it lies outside, *underpowered*
# otherwise (too few seeds, too wide an interval, or a budget below the published median
# solved-at step).

# %% tags=["hide-input"]
published = {(p.op, p.unit): p for p in scale.MADSEN_STATIC + scale.MADSEN_APPENDIX}
OPS = {"add": "+", "sub": "−", "mul": "×", "div": "÷"}
OPS_ALL = OPS | {"square": "x²", "sqrt": "√x"}


def cell_rows(table: pd.DataFrame) -> list[dict]:
    """One row per finished cell (op × unit × budget), judged by the same findings the conclusions use."""
    rows = []
    for (op, unit, steps), g in table.groupby(["op", "unit", "steps"], sort=False):
        pub = published.get((op, unit))
        rate = nalu.success_rate(g["success"])
        solved = g.loc[g["success"], "solved_at"]
        findings = R.madsen_static_findings(g, [pub], "10") if pub is not None else []
        verdict = findings[0].verdict() if findings else None
        rows.append(dict(
            op=OPS_ALL[op], unit=unit, seeds=rate["n"], steps=int(steps), rate=rate,
            ours=fmt_rate(rate, compact=True),
            published="–" if pub is None else f"{pub.success:.0%}" + (
                f" (+{pub.plus:.0%}/−{pub.minus:.0%})" if pub.plus is not None else f" ({pub.table})"),
            median_solved=float(solved.median()) if len(solved) else math.nan,
            published_solved=None if pub is None else pub.solved_at,
            sparsity=float(g.loc[g["success"], "sparsity_error"].mean()) if len(solved) else math.nan,
            published_sparsity=None if pub is None else pub.sparsity,
            verdict=None if verdict is None else verdict.level, reason=None if verdict is None else verdict.reason,
            finding=findings[0] if findings else None))
    return rows


# the static table's units; the NMU's ablation variants are judged in the chapter on the smaller tables
cells = (cell_rows(finished[finished.unit.isin(list(scale.PAPER_UNITS))]) if finished is not None and len(finished)
         else [])
if cells:
    view = pd.DataFrame([{
        "op": c["op"], "unit": c["unit"], "seeds × steps": f"{c['seeds']} × {power_of_ten(c['steps'])}",
        "success (ours)": c["ours"],
        "success (M&J)": c["published"], "median solved at (ours / M&J)": f"{sci(c['median_solved'])} / {sci(c['published_solved'])}",
        "sparsity error (ours / M&J)": f"{sci(c['sparsity'])} / {sci(c['published_sparsity'])}",
        "verdict": c["verdict"] or "–"} for c in cells]).set_index(["op", "unit"])
    display(view)
else:
    display(Markdown("No cell has finished seeds yet."))

# %% tags=["hide-input"]
def describe(c: dict) -> str:
    rate = c["rate"]
    solved = ("" if math.isnan(c["median_solved"]) else
              f", with a median solved-at step of {c['median_solved']:,.0f}"
              + (f" (published: {c['published_solved']:,.0f})" if c["published_solved"] else ""))
    return (f"- **{c['unit']} on {c['op']}** ({c['steps']:,} steps): {rate['successes']} of {rate['n']} seeds "
            f"succeeded, {fmt_rate(rate)}{solved}; Madsen & Johansen report {c['published']}. "
            f"Verdict: **{c['verdict']}** — {c['reason']}.")


if cells:
    display(Markdown("\n".join(describe(c) for c in cells if c["verdict"] is not None)))

# %% [markdown]
# ## When the seeds solve the task
#
# The fraction of seeds whose test error has fallen below their threshold, against the training
# step, with Madsen & Johansen's median solved-at step marked. Cells still running are drawn up to
# the step they have reached (dashed). This counts a seed from the first step its test error is
# below the threshold, whether or not the final, validation-selected model still is.

# %% tags=["hide-input"]
def solved_curves() -> list[tuple[str, str, np.ndarray, np.ndarray, int, bool]]:
    curves = []
    if finished is not None:
        for (op, unit, steps), g in finished.groupby(["op", "unit", "steps"], sort=False):
            first = np.sort(g["solved_at"].dropna().to_numpy())
            curves.append((op, unit, first, np.arange(1, len(first) + 1) / len(g), int(steps), False))
    if running is not None and len(running):
        for (op, unit, steps), g in running.groupby(["op", "unit", "steps"], sort=False):
            first = np.sort(g["solved_at_so_far"].dropna().to_numpy())
            curves.append((op, unit, first, np.arange(1, len(first) + 1) / len(g), int(g["step_reached"].min()), True))
    return curves


curves = solved_curves()
if curves:
    keys = sorted({(op, unit) for op, unit, *_ in curves}, key=lambda k: (list(OPS_ALL).index(k[0]), k[1]))
    ncols = min(2, len(keys))
    nrows = math.ceil(len(keys) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(9, 3.4 * nrows), sharey=True, squeeze=False)
    for ax in axes.flat[len(keys):]:
        ax.remove()
    for ax, (op, unit) in zip(axes.flat, keys):
        for c_op, c_unit, first, frac, end, is_running in curves:
            if (c_op, c_unit) != (op, unit):
                continue
            xs = np.concatenate([[0], first, [end]])
            ys = np.concatenate([[0], frac, [frac[-1] if len(frac) else 0]])
            ax.step(xs, ys, where="post", ls="--" if is_running else "-",
                    label=f"running (at {fmt_number(end, 2)})" if is_running else f"{fmt_number(end, 1)} steps")
        pub = published.get((op, unit))
        if pub is not None and pub.solved_at:
            ax.axvline(pub.solved_at, color="0.4", lw=1, ls=":", label="M&J median")
        ax.set_title(f"{unit}, {OPS_ALL[op]}")
        ax.set_xlabel("step")
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
        ax.legend(fontsize=9, loc="lower right")
    for row in axes:
        row[0].set_ylabel("fraction of seeds solved")
    fig.tight_layout()
    plt.show()
else:
    display(Markdown("No stored run yet."))

# %% [markdown]
# ## Cells still running
#
# A long cell is trained in blocks of seeds and checkpointed every few minutes; a block that has not
# reached its budget contributes no success verdict yet.

# %% tags=["hide-input"]
if running is not None and len(running):
    progress = (running.groupby(["op", "unit", "steps"])
                .agg(seeds=("seed", "size"), step_reached=("step_reached", "min"),
                     solved_so_far=("solved_at_so_far", lambda s: int(s.notna().sum())))
                .reset_index())
    progress["op"] = progress["op"].map(OPS_ALL)
    display(progress.rename(columns={"steps": "budget"}).set_index(["op", "unit"]))
else:
    display(Markdown("Every stored block has reached its budget."))

# %% [markdown]
# ## What it costs
#
# Every block records, in its checkpoints, each stretch it ran between two resumptions: the machine,
# the steps and the wall time. That gives the training speed in seed-steps per second (one seed
# trained for one step). The machines were shared with other work at times, which only ever slows
# a stretch down, so the table shows, per cell and machine, the total and the fastest stretch of at
# least a minute; the projection of the whole table uses the fastest.

# %% tags=["hide-input"]
blocks = provenance.get("blocks", []) + provenance.get("running", [])
segments = pd.DataFrame([
    dict(unit=b["block"]["unit"], op=b["block"]["op"], seeds=len(b["block"]["seeds"]), node=s.get("node"),
         cpu=s.get("cpu"), cores=s.get("cores"), steps=s["to_step"] - s["from_step"], seconds=s["seconds"],
         from_step=s["from_step"], to_step=s["to_step"])
    for b in blocks for s in b["segments"] if s.get("seconds")
])
# a block extended to a larger budget carries the shorter block's stretches too: count each stretch once
segments = segments.drop_duplicates(["unit", "op", "seeds", "from_step", "to_step", "seconds"]) if len(segments) \
    else segments
if len(segments):
    segments["cores"] = segments["cores"].fillna(0).astype(int)
    segments["rate"] = segments["steps"] * segments["seeds"] / segments["seconds"]
    keys = ["unit", "op", "seeds", "cpu", "cores"]
    speeds = segments.groupby(keys)[["steps", "seconds"]].sum().reset_index()
    fastest = segments[segments["seconds"] >= 60].groupby(keys)["rate"].max().rename("seed-steps/s")
    speeds = speeds.join(fastest, on=keys)
    speeds["seed-steps/s"] = speeds["seed-steps/s"].fillna(speeds["steps"] * speeds["seeds"] / speeds["seconds"])
    speeds["seed-steps/s"] = speeds["seed-steps/s"].round(0)
    speeds["hours"] = (speeds.pop("seconds") / 3600).round(2)
    display(speeds.assign(op=speeds["op"].map(OPS_ALL))
            .rename(columns={"steps": "steps run", "seed-steps/s": "seed-steps/s (fastest stretch)"})
            .set_index(["unit", "op"]))
else:
    display(Markdown("No timed segment stored yet."))

# %% [markdown]
# Each block ran on one core with one thread, beside other blocks on the machine's other cores, so
# a rate is what one core delivers while the whole machine is busy. The projection below assumes
# blocks of 25 seeds spread over every core (they are independent) at the same rate per core.
# The GPU figure was measured once, on a lent machine, with the same protocol and 25 seeds per
# process, run eagerly; it is a lower bound for a GPU, which could train far more seeds at once.

# %% tags=["hide-input"]
gpu_path = paper / "gpu_probe.json"
gpu = json.loads(gpu_path.read_text()) if gpu_path.exists() else None
TABLE_OPS, TABLE_SEEDS = 6, 100  # Madsen & Johansen's static table: +, −, ×, ÷, x², √x; 100 seeds each
SEED_STEPS = TABLE_OPS * TABLE_SEEDS * proto.steps  # per unit


def projection_rows() -> list[dict]:
    """Wall time of the whole table per machine type, from that machine's measured rates per core.
    A unit not timed on a machine is costed at the NAU's rate there, scaled by the unit's cost
    relative to the NAU on a machine where both were timed (NAC+ and Linear: the NAU's rate)."""
    timed = speeds[speeds["cores"] > 0].groupby(["cpu", "cores", "unit"])["seed-steps/s"].max()
    rows = []
    for (cpu, cores), per_unit in timed.groupby(level=["cpu", "cores"]):
        per_unit = per_unit.droplevel(["cpu", "cores"])
        nau = per_unit.get("NAU", per_unit.max())
        rates, proxied = {}, []
        for u in scale.PAPER_UNITS:
            if u in per_unit.index:
                rates[u] = per_unit[u]
                continue
            elsewhere = [timed[m][u] / timed[m]["NAU"] for m in {k[:2] for k in timed.index}
                         if u in timed[m].index and "NAU" in timed[m].index]
            rates[u] = nau * (max(elsewhere) if elsewhere else 1.0)
            proxied.append(u)
        core_hours = sum(SEED_STEPS / r for r in rates.values()) / 3600
        rows.append({"machine": f"{cpu} ({cores} cores)", "core-hours": round(core_hours),
                     "days on one machine": round(core_hours / cores / 24, 1),
                     "days on ten (Ray cluster)": round(core_hours / (10 * cores) / 24, 2),
                     "units not timed there (costed from the NAU)": ", ".join(proxied) or "–"})
    if gpu:
        rate = float(np.mean([c["seed_steps_per_s"] for c in gpu["cells"]]))
        days = len(scale.PAPER_UNITS) * SEED_STEPS / rate / 86400
        rows.append({"machine": f"{gpu['gpu']} (one GPU, 25 seeds per run)", "core-hours": None,
                     "days on one machine": round(days, 1), "days on ten (Ray cluster)": round(days / 10, 2),
                     "units not timed there (costed from the NAU)": "all but NAU→NMU and NALU, at their mean"})
    return rows


projection = projection_rows() if len(segments) else []
if projection:
    display(Markdown(
        f"Madsen & Johansen's whole static table for the {len(scale.PAPER_UNITS)} units above ({TABLE_OPS} "
        f"operations × {TABLE_SEEDS} seeds × {proto.steps:,} steps) is "
        f"{fmt_number(len(scale.PAPER_UNITS) * SEED_STEPS, 2)} seed-steps. Its projected wall time, per machine:"))
    display(pd.DataFrame(projection).set_index("machine"))

# %% [markdown]
# ## What is finished, running and left
#
# Every cell of Madsen & Johansen's tables that the book's conclusions cite, with the budget that
# can decide it (at least the published median solved-at step, or their full 5·10⁶ steps where
# none is published) and 25 seeds. The core-hours left use each unit's fastest measured rate on
# one core above (a unit not timed yet is costed at the rate of the unit it is built from). The
# NMU's ablation (their appendix; judged in the chapter on their smaller experiments) is among them. The
# NAC+'s published 0% on ×, ÷, x² and √x is not: a NAC+ stack is a linear map, and the
# static-task chapter shows that no linear map can pass the success criterion on those operations,
# so those rates hold by construction and are not findings.

# %% tags=["hide-input"]
plan = scale.plan_status(paper)
unit_rate = speeds.groupby("unit")["seed-steps/s"].max() if len(segments) else pd.Series(dtype=float)
COSTED_LIKE = {"NAC•": "NALU", "NAC+": "Linear",  # the unit whose measured rate stands in, if untimed
               **{u: "NAU→NMU" for u in scale.ABLATION_UNITS}}


def core_hours_left(row) -> float:
    unit = row.unit if row.unit in unit_rate.index else COSTED_LIKE.get(row.unit)
    return row.seed_steps_left / unit_rate[unit] / 3600 if unit in unit_rate.index else math.nan


plan["core-hours left"] = plan.apply(core_hours_left, axis=1).round(1)
plan_view = plan.assign(op=plan.op.map(OPS_ALL), budget=plan.budget.map(power_of_ten),
                        reached=[f"{r:,}" for r in plan.step_reached])
display(plan_view[["op", "unit", "claim", "budget", "status", "reached", "core-hours left"]]
        .rename(columns={"claim": "published in", "reached": "step reached"}).set_index(["op", "unit"]))
left = plan[plan.status != "finished"]
display(Markdown(
    f"{int((plan.status == 'finished').sum())} of {len(plan)} planned cells are finished, "
    f"{int((plan.status == 'running').sum())} running and {len(left) - int((plan.status == 'running').sum())} "
    f"not started; what is left is about {left['core-hours left'].sum():,.0f} core-hours on this machine type "
    f"({left['core-hours left'].sum() / 24:,.1f} days of one core)."))

# %% [markdown]
# ## Re-running or extending the run
#
# `make paper` runs the cells at the paper's protocol on every core of the machine through a local
# Ray instance (each worker single-threaded); `make paper RAY_ADDRESS=host:port` sends the same
# blocks to a Ray cluster, and `CELLS`, `SEEDS` and `STEPS` choose a subset, e.g.
# `make paper CELLS='NAU:add,NAU:sub' SEEDS=0-99 STEPS=1000000`. Interrupted blocks resume from
# their last checkpoint when the same command is run again.

# %% tags=["hide-input"]
_ = save_results(results_dir, "10_paper_scale", {
    "cells": [dict(op=c["op"], unit=c["unit"], steps=c["steps"], successes=c["rate"]["successes"], n=c["rate"]["n"],
                   verdict=c["verdict"]) for c in cells],
    "projection": projection,
}, findings=[c["finding"] for c in cells if c["finding"] is not None])
