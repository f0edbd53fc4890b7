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
# # Which unit learns which operation
#
# Every arithmetic unit in this book, on every operation, under one protocol. Madsen & Johansen
# {cite}`madsen2020nau` needed a cluster and a set of R scripts to run such a comparison for some of
# the units; here it runs in the book, through `nalu.benchmark`, on a CPU.
#
# **Units.** An MLP (one hidden layer of 64 ReLUs), a linear layer without bias, the NAC, the NALU with
# shared weights (the paper) and with separate weights (seed 000), our `SignedNALU` (chapter 8),
# iNALU {cite}`schlor2020inalu` (separate weights, input-independent gate, sign correction, clipped
# exponent, its saturation regulariser and elementwise gradient clipping at 0.1; its re-initialisation
# of stuck runs is left out), the NAU and NMU {cite}`madsen2020nau` (sparsity regulariser), the
# NAU → NMU stack, and the real Neural Power Unit {cite}`heim2020npu` (without its L1 penalty, whose pull
# on the weights keeps them further than $10^{-5}$ from the exact values the success criterion asks for).
#
# **Tasks.** (a) The static arithmetic task of Trask et al. {cite}`trask2018nalu` under Madsen &
# Johansen's protocol: 100 inputs, $a$ and $b$ sums of two overlapping subsets, target
# $a \circ b$ for $\circ \in \{+, -, \times, \div\}$, or $a^2$, $\sqrt a$; two-layer networks with a
# hidden size of 2; training inputs from $U[1, 2]$, extrapolation to $U[2, 6]$. (b) A single-layer task
# after the NALM benchmark {cite}`mistry2022nalm`: $y = x_1 \circ x_2$ with four pairs of
# interpolation → extrapolation ranges, three of which contain negative numbers.
#
# **Success.** Madsen & Johansen's criterion: the model taken at the logged step with the lowest
# interpolation error succeeds if its extrapolation MSE is below that of the exact solution with
# every first-layer weight perturbed by $\varepsilon = 10^{-5}$. We report success rates with Wilson
# 95% intervals, the median step at which successful seeds first met the criterion, and the sparsity
# error $\max_{ij}\min(|W_{ij}|, |1-|W_{ij}||)$ of the successful seeds' final weights.

# %% tags=["parameters"]
quick = True
device = "cpu"
results_dir = "../build/results"
cache_dir = "../.cache/benchmark"

# %%
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

import nalu
from nalu.grid import BENCHMARK_UNITS, SIGNED_RANGES, STATIC_OPS, GridProtocol, run_unit
from nalu.book import fmt_rate, mode_banner, rate_table, save_results, setup_plotting

setup_plotting()
N_SEEDS = 3 if quick else 25
STATIC = GridProtocol("static", steps=500 if quick else 5_000, n_seeds=N_SEEDS)
SIGNED = GridProtocol("signed", steps=2_000 if quick else 20_000, n_seeds=N_SEEDS)
mode_banner(quick, seeds_per_cell=N_SEEDS, static_steps=STATIC.steps, signed_steps=SIGNED.steps)

# %% [markdown]
# The units and how each is trained (Adam, learning rate $10^{-3}$, batch 128, fresh samples every
# step). Regularisers are switched on with Madsen & Johansen's linear warm-up, scaled to our run
# length: from 40% to 80% of the steps (theirs: from $10^6$ to $2 \cdot 10^6$ of $5 \cdot 10^6$).

# %%
pd.DataFrame([dict(unit=u.label, layers=u.first if u.second is None else f"{u.first} → {u.second}",
                   regulariser_scale=u.reg_scale or "—", grad_clip=u.grad_clip or "—") for u in BENCHMARK_UNITS])

# %% [markdown]
# ## Running the grid
#
# All cells of one unit and one task family train in a single stacked run (the trainer takes a
# task per seed), and each run is cached on disk under a hash of its configuration and of the
# package code, so an interrupted full build resumes where it stopped.

# %%
runs = []
for proto in (STATIC, SIGNED):
    for spec in BENCHMARK_UNITS:
        runs.append(run_unit(spec, proto, cache_dir=cache_dir, device=device, progress=not quick))
results = pd.concat(runs, ignore_index=True)
unit_order = [u.label for u in BENCHMARK_UNITS]
print(f"{len(results):,} trained models: {results.unit.nunique()} units × "
      f"{results.groupby(['family', 'op', 'range']).ngroups} cells × {N_SEEDS} seeds")

# %% [markdown]
# ## The static arithmetic task
#
# Each square shows the success rate over seeds with its 95% interval.

# %%
def heatmap(df: pd.DataFrame, columns: list[str], title: str, ax=None):
    table = rate_table(df, ["unit", *columns])
    table["cell"] = table[columns].astype(str).agg(" ".join, axis=1) if len(columns) > 1 else table[columns[0]]
    rates = table.pivot(index="unit", columns="cell", values="rate").reindex(unit_order)
    labels = table.assign(label=lambda t: [f"{100 * r:.0f}%\n[{100 * lo:.0f}, {100 * hi:.0f}]"
                                           for r, lo, hi in zip(t.rate, t.lo, t.hi)])
    labels = labels.pivot(index="unit", columns="cell", values="label").reindex(unit_order)
    cols = list(dict.fromkeys(table["cell"]))
    ax = ax or plt.subplots(figsize=(1.3 * len(cols) + 3, 6))[1]
    sns.heatmap(rates[cols], annot=labels[cols], fmt="", vmin=0, vmax=1, cmap="viridis", cbar=False,
                annot_kws={"fontsize": 7}, ax=ax)
    ax.set(title=title, xlabel="", ylabel="")
    return table

static = results[results.family == "static"]
fig, ax = plt.subplots(figsize=(10, 6.5))
static_rates = heatmap(static, ["op"], f"Static task: success rate over {N_SEEDS} seeds ({STATIC.steps:,} steps)", ax)
plt.show()

# %%
def summary(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    rows = []
    for key, g in df.groupby(by, sort=False):
        ok = g[g.success]
        rows.append({**dict(zip(by, key)), "success": fmt_rate(nalu.success_rate(g.success)),
                     "median solved at": ok.solved_at.median() if len(ok) else np.nan,
                     "sparsity (successes)": ok.sparsity.median() if len(ok) else np.nan,
                     "diverged": int(g.diverged.sum())})
    return pd.DataFrame(rows)

def wide(table: pd.DataFrame, value: str, columns) -> pd.DataFrame:
    """One row per unit, one column per cell (cells in the order they were run)."""
    order = (list(dict.fromkeys(map(tuple, table[columns].values.tolist()))) if isinstance(columns, list)
             else list(dict.fromkeys(table[columns])))
    return table.pivot(index="unit", columns=columns, values=value).reindex(unit_order)[order]


static_summary = summary(static, ["op", "unit"])
wide(static_summary, "success", "op")

# %% [markdown]
# For the successful seeds, the median step at which the criterion was first met, and the median
# sparsity error of their final weights ("—": no successful seed; diverged seeds are counted as
# failures and listed in the cached results).

# %%
pd.concat({"median solved at": wide(static_summary, "median solved at", "op"),
           "sparsity error": wide(static_summary, "sparsity (successes)", "op")}, axis=1).style.format(
    "{:.3g}", na_rep="—")

# %% [markdown]
# ## The single-layer signed task
#
# The same units, one layer, two inputs, on four pairs of ranges. The second and third pairs contain
# negative inputs, the fourth small positive ones (where division blows up).

# %%
signed = results[results.family == "signed"]
fig, axes = plt.subplots(1, len(SIGNED_RANGES), figsize=(17, 6.5))
signed_rates = []
for ax, r in zip(axes, SIGNED_RANGES):
    signed_rates.append(heatmap(signed[signed.range == r], ["op"], r, ax).assign(range=r))
    if ax is not axes[0]:
        ax.tick_params(labelleft=False)
fig.suptitle(f"Single-layer task: success rate over {N_SEEDS} seeds ({SIGNED.steps:,} steps)")
fig.tight_layout()
plt.show()
signed_rates = pd.concat(signed_rates, ignore_index=True)

# %%
signed_summary = summary(signed, ["range", "op", "unit"])
wide(signed_summary, "success", ["range", "op"])

# %%
pd.concat({"median solved at": wide(signed_summary, "median solved at", ["range", "op"]),
           "sparsity error": wide(signed_summary, "sparsity (successes)", ["range", "op"])}, axis=1).style.format(
    "{:.3g}", na_rep="—")

# %% [markdown]
# ## Side by side with the published numbers
#
# Madsen & Johansen {cite}`madsen2020nau` ran the static task (with the same subset geometry and
# ranges) for $5 \cdot 10^6$ steps over 100 seeds; Heim et al. {cite}`heim2020npu` report mean
# extrapolation errors on multiplication. The published figures are typed from the papers; ours are
# computed above.

# %%
def ours(unit: str, op: str) -> dict:
    g = static[(static.unit == unit) & (static.op == op)]
    return nalu.success_rate(g.success)

published = [  # (operation, their unit name, our unit, published success rate), Madsen & Johansen 2020
    ("mul", "NMU", "NMU", 0.98), ("mul", "NAC• (NAC in log space)", None, 0.31), ("mul", "NALU", "NALU (shared)", 0.0),
    ("add", "NAU", "NAU", 1.0), ("add", "NALU", "NALU (shared)", 0.14),
    ("sub", "NAU", "NAU", 1.0), ("sub", "NALU", "NALU (shared)", 0.14),
    ("div", "every unit", None, 0.0),
]
rows = []
for op, theirs, unit, pub in published:
    if unit is None and op == "div":
        best = static_rates[static_rates.op == "div"].sort_values("rate").iloc[-1]
        r = nalu.success_rate(static[(static.op == "div") & (static.unit == best.unit)].success)
        unit = f"best of ours: {best.unit}"
    elif unit is None:
        rows.append(dict(op=op, published_unit=theirs, published=f"{100 * pub:.0f}%", ours_unit="(not in our set)",
                         ours="—", agrees="—"))
        continue
    else:
        r = ours(unit, op)
    agrees = r["lo"] <= pub <= r["hi"]
    rows.append(dict(op=op, published_unit=theirs, published=f"{100 * pub:.0f}%", ours_unit=unit,
                     ours=fmt_rate(r), agrees="yes" if agrees else "no"))
comparison = pd.DataFrame(rows)
comparison.style.hide(axis="index")

# %% [markdown]
# "Agrees" means the published rate lies inside our 95% interval. Where it does not, the usual
# reason is the step budget: we train for a small fraction of the $5 \cdot 10^6$ steps of the paper
# (section below), so units that need long training to leave a saddle, or whose regulariser only
# switches on late, succeed less often here; our seeds' subset offsets and inits are also new draws.

# %%
heim = {"NMU": 0.005, "RealNPU": 0.066, "NALU (shared)": 4.55}  # Heim et al. 2020, mean error on ×
sign_mul = signed[(signed.op == "mul") & (signed.range == "[1,2]→[2,6]")]
ours_err = sign_mul.groupby("unit").test_mse.median()
heim_table = pd.DataFrame({"Heim et al. 2020 (mean error)": pd.Series(heim),
                           "ours: median extrapolation MSE, × on [1,2]→[2,6]": ours_err.reindex(list(heim))})
heim_table["same order"] = ""
same_order = list(pd.Series(heim).sort_values().index) == list(ours_err.reindex(list(heim)).sort_values().index)
heim_table.iloc[0, -1] = "yes" if same_order else "no"
heim_table

# %% [markdown]
# Heim et al.'s errors come from their own task and error measure, so only the ordering of the
# units can be compared, not the values.
#
# ## Would more steps change the verdict?
#
# We rerun a few cells with four times the steps (quick mode: twice) and compare.

# %%
factor = 2 if quick else 4
checks = [("NMU", "mul"), ("NALU (shared)", "mul"), ("NAU", "add"), ("NAC", "sub")]
longer_rows = []
for unit, op in checks:
    spec = next(u for u in BENCHMARK_UNITS if u.label == unit)
    long = run_unit(spec, replace(STATIC, steps=factor * STATIC.steps, ops=(op,)), cache_dir=cache_dir,
                    device=device, progress=not quick)
    short = static[(static.unit == unit) & (static.op == op)]
    a, b = nalu.success_rate(short.success), nalu.success_rate(long.success)
    overlap = not (a["hi"] < b["lo"] or b["hi"] < a["lo"])
    longer_rows.append(dict(unit=unit, op=op, **{f"{STATIC.steps:,} steps": fmt_rate(a),
                                                 f"{factor * STATIC.steps:,} steps": fmt_rate(b)},
                            intervals_overlap="yes" if overlap else "no"))
longer = pd.DataFrame(longer_rows)
longer.style.hide(axis="index")

# %% [markdown]
# ## Does a signed-product fix earn its place?
#
# The test case of chapters 7 and 8: single-layer multiplication with inputs in $[-2, 2]$,
# extrapolating to $[-6, -2] \cup [2, 6]$.

# %%
signed_mul = signed_rates[(signed_rates.op == "mul") & (signed_rates.range == "[−2,2]→±[2,6]")].set_index("unit")
fixes = ["SignedNALU", "iNALU", "NMU", "NAU→NMU", "RealNPU"]
best_fix = signed_mul.loc[fixes, "rate"].idxmax()
plain = signed_mul.loc["NALU (shared)"]
print(f"plain NALU: {plain.text}")
for f in fixes:
    print(f"{f:>12}: {signed_mul.loc[f].text}")
fix_ok = bool(signed_mul.loc[best_fix, "rate"] >= 0.9 and plain.rate <= 0.1)
print(f"best fix: {best_fix}; criterion (a fix ≥ 90%, plain NALU ≤ 10%) met: {fix_ok}")

# %% [markdown]
# The NMU is the fix that earns its place; our `SignedNALU` does not, and chapter 8 shows why with
# gate, weight and loss-surface evidence: its sign factor is tied to $|W_m|$, so a multiplicative
# weight that starts negative is rewarded for growing in the wrong direction and is trapped below
# zero; only seeds whose multiplicative weights start positive can succeed. Giving the sign factor
# weights of its own removes the trap in chapter 8's experiment, but does not reach the strict
# criterion within our budget, so we leave the package's unit as it is and report it as it is.
#
# ## Which unit to use
#
# For each operation and input regime, the unit with the highest success rate here (ties broken by
# the lower end of the interval). This is the table to act on; read the intervals before trusting
# a difference between two units.

# %%
def winners(rates: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    rows = []
    for key, g in rates.groupby(by, sort=False):
        g = g.sort_values(["rate", "lo"], ascending=False)
        top = g.iloc[0]
        runner = g.iloc[1] if len(g) > 1 else None
        rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))), "use": top.unit,
                     "success": top.text, "runner-up": f"{runner.unit}: {runner.text}" if runner is not None else "—"})
    return pd.DataFrame(rows)

advice = pd.concat([winners(static_rates, ["op"]).assign(task="static (two layers, [1,2]→[2,6])"),
                    winners(signed_rates, ["range", "op"]).assign(task=lambda d: "one layer, " + d.range)],
                   ignore_index=True)[["task", "op", "use", "success", "runner-up"]]
advice.style.hide(axis="index")

# %%
save_results(results_dir, "09_benchmark", {
    "n_seeds": N_SEEDS, "static_steps": STATIC.steps, "signed_steps": SIGNED.steps,
    "static_rates": {f"{r.unit}|{r.op}": [r.rate, r.lo, r.hi] for r in static_rates.itertuples()},
    "signed_rates": {f"{r.unit}|{r.op}|{r.range}": [r.rate, r.lo, r.hi] for r in signed_rates.itertuples()},
    "published_agreement": {f"{r.op}|{r.published_unit}": r.agrees for r in comparison.itertuples()},
    "heim_same_order": same_order,
    "signed_fix_best": best_fix, "signed_fix_criterion_met": fix_ok,
    "longer_runs_overlap": {f"{r.unit}|{r.op}": r.intervals_overlap for r in longer.itertuples()},
})
