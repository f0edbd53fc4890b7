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
# # Madsen & Johansen's small experiments
#
# Before their large tables, {cite:t}`madsen2020nau` open with a function small enough to see
# whole:
#
# $$
# t = (x_1 + x_2) \cdot (x_1 + x_2 + x_3 + x_4)
# $$
#
# of four inputs. Two layers $4 \to 2 \to 1$ represent it exactly: the first layer forms the two sums (weights 0 and
# 1), the second multiplies them (weights 1). That is ten weights in all, and the question is only
# whether a unit *finds* them. Their Table 1 reports, over 100 seeds each, how often a NAC followed
# by a NAC$_\bullet$, a two-layer NALU and their NAU followed by an NMU succeed, how soon, and how
# close the weights end to exact 0s and 1s.
#
# This chapter reads a stored run of that experiment at their own scale (every seed, every step),
# made by the book's long-run tools (the end of the chapter says how to re-run it).

# %% tags=["parameters"]
quick = True  # this chapter reads stored results: quick and full mode show the same data
device = "cpu"
results_dir = "../build/results"
tables_dir = "../results/tables"
paper_dir = "../results/paper-scale"

# %% tags=["hide-input"]
import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

import nalu
from nalu_book.book import fmt_rate, power_of_ten, save_results, sci, setup_plotting
from nalu_book.results import MADSEN_MEASURE, Finding, madsen_rate_finding
from nalu_lab import scale, tables

setup_plotting()
runs, provenance = tables.load_run("ten_parameter", tables_dir)
P = provenance["protocol"]
PUBLISHED = {p.unit: p for p in tables.TEN_PARAMETER_PUBLISHED}
UNITS = [s.label for s in tables.TEN_PARAMETER_UNITS]
Markdown(f":::{{note}}\nThis chapter reads a stored run, so the quick and the full build show the same data: "
         f"{P['seeds']} seeds per model × {P['steps']:,} steps, trained on {provenance['environment']['cpu']} "
         f"({provenance['wall_seconds'] / 60:.0f} minutes of wall time in {provenance['workers']} "
         f"{'process' if provenance['workers'] == 1 else 'processes'}).\n:::")

# %% [markdown]
# ## The protocol
#
# We follow the job script and the defaults of their code for this table: Adam with learning rate
# $10^{-3}$, batches of 128 fresh samples from $U[1, 2]$ at every step, a validation set of $10^4$
# samples from $U[1, 2]$ and a test set of $10^4$ from $U[2, 6]$, an evaluation every 1,000 steps,
# $2 \cdot 10^5$ steps. Their sparsity regulariser's warm-up would begin at step $10^6$, after this
# run has ended, so every model learns from the squared error alone. As everywhere in the book, the
# model kept is the one at the evaluation with the lowest validation error; it *succeeds* if its test
# error is below that of the exact solution with its first layer's weights perturbed by
# $\varepsilon = 10^{-5}$. A seed is *solved at* the first evaluation where its test error is below
# that bar.

# %% tags=["hide-input"]
LAYERS = {"nac": "NAC", "nac_mul": "NAC•", "nalu": "NALU", "nau": "NAU", "nmu": "NMU"}
pd.DataFrame([{"model": s.label, "layers (4 → 2 → 1)": f"{LAYERS[s.first]} → {LAYERS[s.second or s.first]}",
               "training": s.protocol} for s in tables.TEN_PARAMETER_UNITS]).set_index("model").style

# %% [markdown]
# ## Our table beside theirs
#
# Success rate with its Wilson 95% interval, the median step at which the successful seeds were
# solved, and their mean sparsity error, $\max_{ij} \min(|W_{ij}|, 1 - |W_{ij}|)$ over both layers.
# Each rate is judged by the book's three-level rule (see the conclusions).

# %% tags=["hide-input"]
STEPS = int(runs.steps.max())


def judged_row(g: pd.DataFrame, p, claim: str, label: str, training_steps: int) -> dict:
    """One model's stored seeds ``g`` against its published row ``p`` (trained ``training_steps`` in the
    paper): the rate, the median solved-at step and mean sparsity error of the successful seeds, and
    the finding that judges ``claim``."""
    ok = g[g.success]
    return dict(op=p.op, unit=p.unit, label=label, steps=int(g.steps.max()), rate=nalu.success_rate(g.success),
                finding=madsen_rate_finding(int(g.success.sum()), len(g), int(g.steps.max()), p, "18", claim,
                                            training_steps), published=p,
                median_solved=float(ok.solved_at.median()) if len(ok) else math.nan,
                sparsity=float(ok.sparsity.mean()) if len(ok) else math.nan)


rows = [judged_row(runs[runs.unit == u], PUBLISHED[u],
                   f"on the ten-parameter function, {u} succeeds in {100 * PUBLISHED[u].success:.0f}% of seeds", u,
                   tables.TEN_PARAMETER_STEPS)
        for u in UNITS]
pd.DataFrame([{
    "model": r["unit"], "success (ours)": fmt_rate(r["rate"], compact=True),
    "success (M&J)": f"{r['published'].success:.0%} (+{r['published'].plus:.0%}/−{r['published'].minus:.0%})",
    "median solved at (ours / M&J)": f"{sci(r['median_solved'])} / {sci(r['published'].solved_at)}",
    "sparsity error (ours / M&J)": f"{sci(r['sparsity'])} / {sci(r['published'].sparsity)}",
    "verdict": r["finding"].verdict().level} for r in rows]).set_index("model")

# %% tags=["hide-input"]
def sentence(r: dict) -> str:
    v = r["finding"].verdict()
    theirs = r["published"].solved_at
    solved = ("" if math.isnan(r["median_solved"]) else
              f", solved at a median of {r['median_solved']:,.0f} steps (theirs: "
              + ("not published" if theirs is None else f"{theirs:,.0f}") + ")")
    return (f"- **{r['label']}**: {fmt_rate(r['rate'])}{solved}; they report {r['published'].success:.0%}. "
            f"Verdict: **{v.level}** — {v.reason}.")


Markdown("\n".join(sentence(r) for r in rows))

# %% [markdown]
# ## How soon the seeds solve it
#
# The fraction of each model's seeds solved by a given step (counted from the first evaluation whose
# test error is below the bar, whether or not the finally selected model still is), with their
# published median solved-at step marked on each curve's colour.

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(7, 3.6))
for i, r in enumerate(rows):
    g = runs[runs.unit == r["unit"]]
    first = np.sort(g.solved_at.dropna().to_numpy())
    colour = f"C{i}"
    ax.step(np.r_[0, first, STEPS], np.r_[0, np.arange(1, len(first) + 1), len(first)] / len(g), where="post",
            color=colour, label=r["unit"])
    ax.axvline(r["published"].solved_at, color=colour, ls=":", lw=1.2)
ax.set_xlim(0, STEPS)
ax.set_ylim(0, 1.02)
ax.set_xlabel("training step")
ax.set_ylabel("fraction of seeds solved")
ax.set_title(f"Ten-parameter function, {P['seeds']} seeds per model (dotted: their median solved at)", fontsize=10)
ax.legend(loc="lower right", frameon=False)
plt.show()

# %% [markdown]
# Their text draws one conclusion from the table: the NMU succeeds more often *and* converges faster
# than the NAC$_\bullet$ and the NALU. We check both halves together: the NMU's success interval lies
# above both others' intervals, and the NMU's median solved-at step is below both others'.

# %% tags=["hide-input"]
by = {r["unit"]: r for r in rows}
nmu, others = by["NMU"], [by[u] for u in UNITS if u != "NMU"]
more_often = all(nmu["rate"]["lo"] > o["rate"]["hi"] for o in others)
faster = all(not math.isnan(nmu["median_solved"]) and (math.isnan(o["median_solved"]) or nmu["median_solved"] < o["median_solved"])
             for o in others)
ordering = Finding("18", "Madsen & Johansen 2020, §1",
                   "on the ten-parameter function the NMU succeeds more often and converges faster than NAC• and NALU",
                   MADSEN_MEASURE, "check", test="NMU's Wilson interval above both others' and its median solved-at "
                   "step below both others'", passed=more_often and faster, n=min(r["rate"]["n"] for r in rows),
                   budget=STEPS)
Markdown(f"The NMU's interval is {'above' if more_often else 'not above'} both others', and its median solved-at step "
         f"is {'below' if faster else 'not below'} both others': the claim is **{ordering.verdict().level}**.")

# %% [markdown]
# ## The gating experiment
#
# Their appendix asks what goes wrong in the NALU's gate. The static task of the benchmark chapter
# (100 inputs, two overlapping subsets of 25) is learnt by a NAC+ first layer and a NALU second
# layer, the NALU's two paths either sharing one weight matrix (as in the NALU paper) or each with
# its own; against it, an NAU first layer and a *gated NAU/NMU*, the NALU's sigmoid gate choosing
# between an NAU and an NMU ($y = \sigma(Gx) \odot \mathrm{NAU}(x) + \sigma(-Gx) \odot
# \mathrm{NMU}(x)$, `nalu.GatedNAUNMU`). Their finding: which path the gate settles on is close to a
# coin toss, whatever the task, so no variant succeeds reliably, on $+$ least of all the gated one.
# They trained 100 seeds for $5 \cdot 10^6$ steps; the gated unit's sparsity regulariser
# ($\hat\lambda = 10$) warms up from step $10^6$ to $2 \cdot 10^6$, at every budget.

# %% tags=["hide-input"]
GATING_MUL = tables.gating_jobs(("mul",), tables.GATING_PLAN_STEPS)  # the × run, at a budget past their solved-at steps
gating = tables.current_rows("gating", GATING_MUL, tables_dir)  # the committed table and any × model finished since
gating_provenance = tables.load_run("gating", tables_dir)[1] if tables.has_run("gating", tables_dir) else None
HAVE_GATING = len(gating) > 0
GATING_PUBLISHED = {(p.op, p.unit): p for p in tables.GATING_PUBLISHED}
SYMBOL = {"add": "+", "mul": "×"}


gating_rows = ([judged_row(g, GATING_PUBLISHED[(op, unit)], f"in the gating experiment, {unit} succeeds on "
                           f"{SYMBOL[op]} in {100 * GATING_PUBLISHED[(op, unit)].success:.0f}% of seeds",
                           f"{unit} on {SYMBOL[op]}", scale.PaperProtocol.steps)
                for (op, unit), g in gating.groupby(["op", "unit"], sort=False)] if HAVE_GATING else [])
if not gating_rows:
    display(Markdown("The stored run of this experiment is not in this build yet, so none of its claims is judged here."))
gating_table = pd.DataFrame([{
    "op": SYMBOL[r["op"]], "model": r["unit"], "seeds × steps": f"{r['rate']['n']} × {r['steps']:,}",
    "success (ours)": fmt_rate(r["rate"], compact=True),
    "success (M&J)": f"{r['published'].success:.0%} (+{r['published'].plus:.0%}/−{r['published'].minus:.0%})",
    "median solved at (ours / M&J)": f"{sci(r['median_solved'])} / {sci(r['published'].solved_at)}",
    "verdict": r["finding"].verdict().level} for r in gating_rows])
gating_table.set_index(["op", "model"]) if gating_rows else None

# %% tags=["hide-input"]
missing = [k for k in GATING_PUBLISHED if not any((r["op"], r["unit"]) == k for r in gating_rows)]
gating_progress = tables.job_progress("gating", GATING_MUL, tables_dir).set_index("unit")


def not_yet(op: str, unit: str) -> str:
    g = gating_progress.loc[unit] if op == "mul" and unit in gating_progress.index else None
    state = (f"running, at step {g.step_reached:,} of {g.steps:,}" if g is not None and g.status == "running"
             else "not started")
    return f"{unit} on {SYMBOL[op]} ({state}; their median solved-at step {power_of_ten(GATING_PUBLISHED[(op, unit)].solved_at)})"


Markdown("" if not gating_rows else "\n".join(sentence(r) for r in gating_rows)
         + (f"\n\nNot in the stored run yet, so not judged: {'; '.join(not_yet(op, u) for op, u in missing)}. "
            f"The run on × trains each model for {tables.GATING_PLAN_STEPS:,} steps, past the latest of those steps."
            if missing else ""))

# %% [markdown]
# ## The NMU's ablation
#
# Their appendix takes the NMU of the static table apart. The NMU's weights are meant to end at
# exactly 0 or 1, and two devices push them there: the sparsity regulariser
# $\mathcal{R}_{bias} = \operatorname{mean}_{ij} \min(|W_{ij}|, |1 - W_{ij}|)$ (its weight rising
# linearly from 0 at step $10^6$ to $\hat\lambda = 10$ at $2 \cdot 10^6$), and clipping $W$ to
# $[0, 1]$ after every step. Their ablation removes one, the other and both, on the static task's $\times$ (the two-layer
# NAU → NMU, the same protocol as the paper-scale chapter), and reports that every variant still
# succeeds in every seed, the regulariser mostly making the solution sparse and without it the
# solution coming later.
#
# What "no W-clamp" means is fixed by their code, not their table: the parameter is never clipped,
# but the forward pass multiplies by $W$ clamped to $[0, 1]$ (and the NAU's by $W$ clamped to
# $[-1, 1]$), and the out-of-bounds penalty their code offers is switched off. So a weight can
# wander outside the range, where it stops receiving gradient, but the unit never uses a weight
# outside it. We build the variants the same way (`bounds="forward"` on both layers). Without
# clipping, the regulariser is their code's form, which is zero at 0 and 1 and positive outside;
# with clipping the two forms agree.

# %% tags=["hide-input"]
paper = Path(paper_dir)
static = (scale.load_static(paper / "static.csv") if (paper / "static.csv").exists() else pd.DataFrame())
interim_runs = pd.read_csv(paper / "interim.csv") if (paper / "interim.csv").exists() else pd.DataFrame()
ABLATION_PUBLISHED = {p.unit: p for p in scale.MADSEN_ABLATION}
BOUNDS = {"clip": "clipped to its range after each step", "forward": "free; clamped in the forward pass"}


def ablation_protocol(label: str) -> dict:
    unit = scale.ALL_UNITS[label]
    model = unit.factory(scale.PaperProtocol(in_dim=4))()
    return {"model": label, "R_bias (λ̂, warm-up)": (f"{unit.reg_scale:g}, {power_of_ten(unit.reg_start)} → "
                                                    f"{power_of_ten(unit.reg_end)}" if unit.reg() else "none"),
            "W": BOUNDS[model[1].bounds]}


pd.DataFrame([ablation_protocol(u) for u in ["NAU→NMU", *scale.ABLATION_UNITS]]).set_index("model").style

# %% tags=["hide-input"]
def cell(unit: str, op: str = "mul") -> pd.DataFrame:
    """A paper-scale cell's seeds at its largest finished budget (empty if none finished)."""
    g = static[(static.unit == unit) & (static.op == op)] if len(static) else static
    return g[g.steps == g.steps.max()].rename(columns={"sparsity_error": "sparsity"}) if len(g) else g


def solved_at_finding(g: pd.DataFrame, p) -> Finding:
    """Their median solved-at step against ours: every seed's first step below its bar, ∞ if never."""
    values = [float(v) if np.isfinite(v) else math.inf for v in g.solved_at.fillna(math.inf)]
    return Finding("18", f"Madsen & Johansen 2020, {p.table}", f"{p.unit} on × is solved at a median step of "
                   f"{power_of_ten(p.solved_at)}", "first step whose test error is below the success bar",
                   "median", test="published median inside our 95% interval of the median", values=values,
                   published=p.solved_at, budget=int(g.steps.max()))


ablation_rows, ablation_solved = [], []
for label, p in ABLATION_PUBLISHED.items():
    g = cell(label)
    if len(g):
        ablation_rows.append(judged_row(g, p, f"{p.unit} succeeds on × in {100 * p.success:.0f}% of seeds", label,
                                        scale.PaperProtocol.steps))
        ablation_solved.append(solved_at_finding(g, p))
reference = cell("NAU→NMU")
NMU_ROW = scale.Published("mul", "NAU→NMU", 1.00, None, None, 1.4e6, 4.4e-7, table="appendix, ablation")
view = ([judged_row(reference, NMU_ROW, "reference", "NAU→NMU", scale.PaperProtocol.steps)] if len(reference)
        else []) + ablation_rows
if view:
    display(pd.DataFrame([{
        "model": r["label"], "seeds × steps": f"{r['rate']['n']} × {power_of_ten(r['steps'])}",
        "success (ours)": fmt_rate(r["rate"], compact=True), "success (M&J)": f"{r['published'].success:.0%}",
        "median solved at (ours / M&J)": f"{sci(r['median_solved'])} / {sci(r['published'].solved_at)}",
        "sparsity error (ours / M&J)": f"{sci(r['sparsity'])} / {sci(r['published'].sparsity)}",
        "verdict (rate)": "judged in the paper-scale chapter" if r["label"] == "NAU→NMU" else r["finding"].verdict().level}
        for r in view]).set_index("model"))

# %% tags=["hide-input"]
def steps(v: float) -> str:
    return f"{v:,.0f}" if math.isfinite(v) else "∞ (not yet solved)"


def ablation_status() -> str:
    """What of the ablation is finished, running (step reached, seeds solved so far) or not started."""
    done = {r["label"] for r in ablation_rows}
    lines = []
    for r, f in zip(ablation_rows, ablation_solved):
        v = f.verdict()
        med, lo, hi = nalu.verdicts.median_interval(f.values)
        lines.append(f"- **{r['label']}**: {fmt_rate(r['rate'])}, against their 100%: **{r['finding'].verdict().level}** "
                     f"— {r['finding'].verdict().reason}. Median solved-at step {steps(med)} [{steps(lo)}, {steps(hi)}], "
                     f"theirs {r['published'].solved_at:,.0f}: **{v.level}** — {v.reason}.")
    for label, p in ABLATION_PUBLISHED.items():
        if label in done:
            continue
        live = interim_runs[interim_runs.unit == label] if len(interim_runs) else interim_runs
        if len(live):
            solved = int(live.solved_at_so_far.notna().sum())
            lines.append(f"- **{label}**: running, at step {int(live.step_reached.max()):,} of "
                         f"{int(live.steps.max()):,}; {solved} of {len(live)} seeds have been below their bar so far "
                         "(no verdict until the run ends and each seed's model is selected).")
        else:
            lines.append(f"- **{label}**: not started.")
    return "\n".join(lines)


Markdown(ablation_status())

# %% [markdown]
# ## The NALM benchmark's nine ranges
#
# Mistry et al.'s single-layer benchmark {cite}`mistry2022nalm`: $y = x_1 \circ x_2$ for
# $\circ \in \{+, -, \times, \div\}$, one layer, trained on one of nine interpolation ranges and tested
# on the extrapolation range beside it; 50,000 steps, 25 seeds per unit and cell, each unit with its
# own paper's protocol (the table of protocols is in the chapter "Which unit learns which
# operation", whose one-layer task is four of these ranges). Success is Madsen & Johansen's
# criterion, as everywhere in the book. The run is long, so the page shows the ranges whose every
# job has finished and names the others.

# %% tags=["hide-input"]
from nalu_lab.grid import BENCHMARK_UNITS, NALM_RANGES, SIGNED_OPS

nalm_all = tables.nalm_jobs()
nalm, nalm_missing = tables.finished_jobs("nalm", nalm_all, tables_dir)
left_ranges = list(dict.fromkeys(proto.ranges[0] for _, proto in nalm_missing))
done_ranges = [r for r in NALM_RANGES if r not in left_ranges]
nalm = nalm[nalm.range.isin(done_ranges)] if len(nalm) else nalm
NALM_UNITS = [u.label for u in BENCHMARK_UNITS]
OP_SYMBOL = {"add": "+", "sub": "−", "mul": "×", "div": "÷"}
Markdown(f"{len(done_ranges)} of the {len(NALM_RANGES)} ranges are finished "
         f"({len(nalm_all) - len(nalm_missing)} of {len(nalm_all)} unit × range jobs; {len(nalm):,} trained models)"
         + (". Not yet run in full: " + ", ".join(f"U{r.split('→')[0]}" for r in left_ranges) + "." if left_ranges else "."))

# %% tags=["hide-input"]
def nalm_maps(df: pd.DataFrame):
    """Success rate per unit (rows) and interpolation range (columns), one panel per operation."""
    import seaborn as sns

    cols = [r for r in NALM_RANGES if r in set(df.range)]
    short = {r: r.split("→")[0] for r in cols}
    fig, axes = plt.subplots(len(SIGNED_OPS), 1, figsize=(4.6, 4.3 * len(SIGNED_OPS)), constrained_layout=True)
    for ax, op in zip(axes, SIGNED_OPS):
        rate = (df[df.op == op].groupby(["unit", "range"]).success.mean().unstack("range")
                .reindex(index=NALM_UNITS, columns=cols).rename(columns=short))
        sns.heatmap(rate, annot=(100 * rate).round().astype("Int64").astype(str), fmt="", vmin=0, vmax=1,
                    cmap="viridis", cbar=False, annot_kws={"fontsize": 7}, ax=ax)
        ax.set(title=f"x₁ {OP_SYMBOL[op]} x₂: success (%), {P_NALM['seeds']} seeds", xlabel="training range", ylabel="")
        ax.tick_params(labelsize=7)
        ax.tick_params(axis="x", rotation=60)
    plt.show()


P_NALM = dict(seeds=int(nalm.groupby(["unit", "op", "range"]).size().max()) if len(nalm) else 0,
              steps=int(nalm.steps.max()) if len(nalm) else 0)
if len(nalm):
    nalm_maps(nalm)

# %% [markdown]
# The ranges as the benchmark pairs them, and for each unit, operation and range the success rate
# with its 95% interval, the median step at which the successful seeds first met the criterion and
# their median sparsity error (open the cell's output).

# %% tags=["hide-input"]
pd.DataFrame([dict(training=f"U{a}", extrapolation=f"U{b}") for a, b in (r.split("→") for r in NALM_RANGES)],
             index=pd.Index(range(1, len(NALM_RANGES) + 1), name="range")).assign(
    finished=["yes" if r in done_ranges else "not yet" for r in NALM_RANGES])

# %% tags=["hide-input", "hide-output"]
def nalm_detail(df: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (unit, op, r), g in df.groupby(["unit", "op", "range"], sort=False):
        ok = g[g.success]
        out.append(dict(unit=unit, op=OP_SYMBOL[op], range=r.split("→")[0],
                        success=fmt_rate(nalu.success_rate(g.success), compact=True),
                        **{"median solved at": sci(ok.solved_at.median()) if len(ok) else "—",
                           "median sparsity": sci(ok.sparsity.median()) if len(ok) and ok.sparsity.notna().any() else "—"}))
    return pd.DataFrame(out)


if len(nalm):
    with pd.option_context("display.max_rows", None):  # every row: the table is there to be looked up
        display(nalm_detail(nalm).set_index(["unit", "op", "range"]))

# %% tags=["hide-input"]
def nalm_best(df: pd.DataFrame) -> str:
    """For each operation: the ranges where some unit succeeds in at least 90% of seeds, and the best unit."""
    lines = []
    for op in SIGNED_OPS:
        rate = df[df.op == op].groupby(["range", "unit"]).success.mean()
        best = rate.groupby(level="range").max()
        solved = [r for r in NALM_RANGES if r in best.index and best[r] >= 0.9]
        units = rate[rate >= 0.9].reset_index().unit.value_counts()
        lines.append(f"- **{OP_SYMBOL[op]}**: some unit succeeds in at least 90% of seeds on {len(solved)} of the "
                     f"{best.size} finished ranges"
                     + (f"; on most of them ({units.iloc[0]}): {', '.join(units[units == units.iloc[0]].index)}"
                        if len(units) else "")
                     + ".")
    return "\n".join(lines)


Markdown(nalm_best(nalm) if len(nalm) else "No range of the run has finished yet.")

# %% [markdown]
# ## The NMU over input ranges
#
# Madsen & Johansen's appendix also asks how the NMU's success on the static $\times$ task depends on
# the range its inputs come from: seven training ranges, each tested on an extrapolation range beside
# it (six of the pairs are the NALM benchmark's above). Their job script trains the static table's
# NAU → NMU with its own protocol (the sparsity regulariser warmed up from step $10^6$ to
# $2 \cdot 10^6$, $\hat\lambda = 10$) for $5 \cdot 10^6$ steps, 50 seeds per range, and their
# figure gives the success rate per range. They print no solved-at step for it, so the book's rule
# needs their whole budget: we train 25 seeds per range for $5 \cdot 10^6$ steps, one job per range,
# each kept when it finishes. A range is judged only once its job has finished.

# %% tags=["hide-input"]
RANGE_JOBS = tables.range_jobs()
range_runs, _ = tables.finished_jobs("ranges", RANGE_JOBS, tables_dir)
range_progress = tables.job_progress("ranges", RANGE_JOBS, tables_dir).set_index("ranges")
range_rows = {r: judged_row(g, tables.RANGE_PUBLISHED[r], f"on the static × task trained on U{r.split('→')[0]}, the "
                            f"NMU succeeds in {100 * tables.RANGE_PUBLISHED[r].success:.0f}% of seeds",
                            f"U{r.split('→')[0]}", tables.RANGE_STEPS)
              for r, g in range_runs.groupby("range", sort=False)} if len(range_runs) else {}


def range_state(r: str) -> str:
    g = range_progress.loc[r]
    return "not started" if g.status == "left" else f"running: step {g.step_reached:,} of {g.steps:,}"


pd.DataFrame([{
    "training": f"U{r.split('→')[0]}", "extrapolation": f"U{r.split('→')[1]}",
    "success (M&J, 50 seeds)": f"{p.success:.0%}",
    "success (ours)": fmt_rate(range_rows[r]["rate"], compact=True) if r in range_rows else range_state(r),
    "median solved at (ours)": ("—" if r not in range_rows else "no seed solved it"
                                if math.isnan(range_rows[r]["median_solved"]) else sci(range_rows[r]["median_solved"])),
    "verdict": range_rows[r]["finding"].verdict().level if r in range_rows else "—"}
    for r, p in tables.RANGE_PUBLISHED.items()]).set_index("training")

# %% tags=["hide-input"]
Markdown("\n".join(sentence(r) for r in range_rows.values()) if range_rows else
         "None of the seven ranges has finished yet, so none of their claims is judged here"
         + (" (the table gives the step each running job has reached)." if (range_progress.status == "running").any()
            else "."))

# %% [markdown]
# ## The long runs and what is left of them
#
# The gating experiment on $\times$ and the range sweep are long runs, kept job by job as they finish
# (a job: one model on one task, 25 seeds). While any of their jobs is unfinished, the table below
# says how far it has come and what the rest would cost here: each model at the fastest measured speed
# of the book's stored paper-scale blocks most like it (25 seeds per block on one core; the NALU's
# blocks for the gating experiment's NALU models, the NAU → NMU's for the others). Until a run
# finishes, none of its claims is judged.

# %% tags=["hide-input"]
import json

paper_blocks = json.loads((paper / "provenance.json").read_text())["blocks"]
NMU_FAMILY = {"NAU→NMU", *scale.ABLATION_UNITS}  # the NAU → NMU of the static table and its ablation variants
COSTED_LIKE = {"NALU (shared)": {"NALU"}, "NALU (separate)": {"NALU"}}  # any other model: like the NMU_FAMILY


def seconds_per_block_step(units: set[str]) -> float:
    """The fastest stretch of any stored block of ``units`` (a shared machine only slows)."""
    return min(seg["seconds"] / (seg["to_step"] - seg["from_step"]) for b in paper_blocks if b["block"]["unit"] in units
               for seg in b["segments"] if seg["to_step"] > seg["from_step"])


LONG_RUNS = [  # experiment, its run's name and jobs
    ("the gating experiment on ×", "gating", GATING_MUL),
    ("the NMU over input ranges", "ranges", RANGE_JOBS),
]


def left_row(experiment: str, name: str, jobs, progress: pd.DataFrame) -> dict:
    seeds = jobs[0][1].n_seeds
    seconds = sum(g.seed_steps_left / seeds * seconds_per_block_step(COSTED_LIKE.get(g.unit, NMU_FAMILY))
                  for g in progress.itertuples())
    return {"experiment": experiment, "jobs finished": f"{(progress.status == 'finished').sum()} of {len(progress)}",
            "running": ", ".join(f"{g.unit if name == 'gating' else 'U' + g.ranges.split('→')[0]} at step "
                                 f"{g.step_reached:,}" for g in progress[progress.status == "running"].itertuples()) or "—",
            "steps per job": power_of_ten(int(progress.steps.max())), "core-hours left": f"{seconds / 3600:.1f}"}


progress_of = {experiment: tables.job_progress(name, jobs, tables_dir) for experiment, name, jobs in LONG_RUNS}
unfinished = [left_row(experiment, name, jobs, progress_of[experiment]) for experiment, name, jobs in LONG_RUNS
              if (progress_of[experiment].status != "finished").any()]
if unfinished:
    display(pd.DataFrame(unfinished).set_index("experiment").style)  # the whole text, not truncated
finished = [f"{experiment} ({len(progress)} jobs)" for experiment, progress in progress_of.items()
            if (progress.status == "finished").all()]
if finished:
    display(Markdown(("Finished" if unfinished else "Every long run this chapter reads has finished") + ": "
                     + " and ".join(finished) + "."))

# %% [markdown]
# ## Re-running them
#
# The small tables are runs of `python -m nalu_lab.tables` (one job per core, on a local Ray instance,
# or on a Ray cluster when `--address` or `RAY_ADDRESS` names one; each job is kept when it finishes,
# so an interrupted run keeps what it finished); the commands below are the ones that produced the
# stored tables. The ablation is a run of the paper-scale tools, which
# checkpoint every few minutes and continue where they stopped.

# %% tags=["hide-input"]
def rerun_item(experiment: str, meta: dict) -> str:
    """How a stored table was produced: its commands, where, by which code, and at what cost when one
    uninterrupted invocation made it (several invocations may each have resumed checkpointed jobs, so
    their wall times do not add up to the training's)."""
    runs = tables.invocations(meta)[::-1]  # oldest first
    where = ", ".join(sorted({f"torch {m['environment']['torch']} on {m['environment']['cpu']}" for m in runs}))
    codes = sorted({c for m in runs for c in m["job_codes"]})
    version = f"code version{'s' if len(codes) > 1 else ''} {', '.join(f'`{c[:12]}`' for c in codes)}"
    if len(runs) == 1 and not meta["jobs_from_cache"]:
        cost = (f"{meta['wall_seconds'] / 60:.0f} min of wall time in {meta['workers']} "
                f"{'process' if meta['workers'] == 1 else 'processes'}")
        return f"- {experiment}: `{meta['command']}` — {where}, {version}, {cost}"
    return (f"- {experiment}, assembled by {len(runs)} invocations (a job may continue from its checkpoint in a "
            f"later invocation, so no one wall time covers the run) — {where}, {version}:\n"
            + "\n".join(f"  - `{m['command']}`" for m in runs))


stored = [("the ten-parameter function", provenance), ("the gating experiment", gating_provenance),
          ("the NMU over input ranges", tables.load_run("ranges", tables_dir)[1] if tables.has_run("ranges", tables_dir)
           else None)]
commands = [rerun_item(experiment, meta) for experiment, meta in stored if meta]
if len(nalm):
    commands.append(f"- `python -m nalu_lab.tables nalm` runs the NALM benchmark's nine ranges and continues an "
                    f"unfinished run ({len(nalm_all) - len(nalm_missing)} of its {len(nalm_all)} jobs finished, by code "
                    f"version{'s' if nalm.code.nunique() > 1 else ''} "
                    f"{', '.join(f'`{c[:12]}`' for c in sorted(nalm.code.unique()))})")
commands.append(f"- `python -m nalu_lab.tables gating --ops mul --seeds {GATING_MUL[0][1].n_seeds} --steps "
                f"{tables.GATING_PLAN_STEPS}` runs the gating experiment on × (one job per model) and continues it; "
                f"`python -m nalu_lab.tables ranges` runs the NMU over the seven input ranges (one job per range; "
                f"`--ranges` picks some) and continues it")
commands.append("- `make paper-plan` continues every long run of the static task that the book cites, the NMU's "
                "ablation among them (each planned cell at its budget, one block of 25 seeds per core), and "
                f"`make paper CELLS='{next(iter(scale.ABLATION_UNITS))}:mul' SEEDS=0-24 STEPS=3000000` runs one "
                "variant alone")
Markdown("\n".join(commands))

# %% tags=["hide-input"]
_ = save_results(results_dir, "18_small_tables", {
    "seeds": P["seeds"], "steps": STEPS,
    "ten_parameter": {r["unit"]: {"successes": r["rate"]["successes"], "n": r["rate"]["n"],
                                  "median_solved_at": r["median_solved"], "sparsity": r["sparsity"]} for r in rows},
    "nmu_more_often_and_faster": bool(more_often and faster),
    "gating": {f"{r['unit']}|{r['op']}": {"successes": r["rate"]["successes"], "n": r["rate"]["n"], "steps": r["steps"],
                                          "median_solved_at": r["median_solved"]} for r in gating_rows},
    "nalm_ranges_finished": len(done_ranges),
    "nalm_success": {f"{u}|{op}|{r}": [int(g.success.sum()), len(g)]
                     for (u, op, r), g in nalm.groupby(["unit", "op", "range"])} if len(nalm) else {},
    "ranges": {r: {"successes": v["rate"]["successes"], "n": v["rate"]["n"], "steps": v["steps"],
                   "median_solved_at": v["median_solved"]} for r, v in range_rows.items()},
    "ablation": {r["label"]: {"successes": r["rate"]["successes"], "n": r["rate"]["n"], "steps": r["steps"],
                              "median_solved_at": r["median_solved"], "sparsity": r["sparsity"]} for r in ablation_rows},
}, findings=[r["finding"] for r in rows] + [ordering] + [r["finding"] for r in gating_rows]
   + [r["finding"] for r in ablation_rows] + ablation_solved + [r["finding"] for r in range_rows.values()])
