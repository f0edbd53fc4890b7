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
# # The NALU
#
# A NAC adds and subtracts. The Neural Arithmetic Logic Unit of {cite:t}`trask2018nalu` adds
# multiplication and division with an old trick — the slide rule's $\log(ab) = \log a + \log b$ —
# and a gate that chooses, per output, between the additive and the multiplicative result. Both
# blog posts present it (the PyTorch blog post {cite}`blog000` and the TensorFlow blog post
# {cite}`blog001`); the PyTorch blog post implements it with two departures from the paper: the log
# path gets its *own* NAC instead of sharing the additive one's weights, and its gate is `x @ G`,
# with no sigmoid. This chapter
#
# 1. writes the unit down exactly as the package computes it, and checks with hand-set weights
#    that it multiplies and divides;
# 2. trains the paper's unit (shared weights) and the PyTorch blog post's (separate weights) on a
#    small multiplication and a small addition task over many seeds;
# 3. trains the PyTorch blog post's unit *as its code is written*, with the sigmoid missing
#    (the package's `NALU(gate="linear")`), and measures what that changes.

# %% tags=["parameters"]
quick = True  # quick: CI check; full: the reproduction (make build)
device = "cpu"
results_dir = "../build/results"

# %% tags=["hide-input"]
import inspect
from functools import partial

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
import torch
from IPython.display import Markdown

import nalu
from nalu.metrics import rates_overlap
from nalu_book.book import number_format, fmt_number, compare_rates, fmt_rate, mode_banner, provisional, rate_table, save_results
from nalu_book.results import MADSEN_MEASURE, Finding

SEEDS = list(range(4 if quick else 24))
STEPS = 1_000 if quick else 30_000
EVAL_SIZE = 2_000 if quick else 5_000
LR = 0.1
mode_banner(quick, seeds=len(SEEDS), steps=STEPS, lr=LR)

# %% [markdown]
# ## The unit, as implemented
#
# With $W = \tanh(\hat W) \odot \sigma(\hat M)$ the NAC's weight matrix,
#
# $$
# \begin{aligned}
# a &= W x && \text{additive path (a NAC)}\\
# m &= \exp\bigl(W_m \log(|x| + \epsilon)\bigr) && \text{multiplicative path: a NAC in log space}\\
# g &= \sigma(G x) && \text{gate, one value per output and input row}\\
# y &= g \odot a + (1 - g) \odot m ,
# \end{aligned}
# $$
#
# where $W_m = W$ in the paper (`shared=True`) and $W_m$ is a second NAC's matrix in the PyTorch
# blog post (`shared=False`); $\epsilon = 10^{-7}$ keeps the logarithm finite at 0. The package
# computes $1 - g$ as $\sigma(-Gx)$, the same number without the rounding loss of $1 - \sigma(Gx)$
# where the gate saturates near 1. With `gate="linear"` the gate is $g = Gx$, as in the PyTorch
# blog post's code. In the log path a weight of
# 1 multiplies by an input, $-1$ divides by it and 0 ignores it: $\exp(\log x_1 - \log x_2) =
# x_1 / x_2$. The absolute value makes the path blind to signs, a caveat of its own chapter. This is
# the code that the experiments below train:

# %%
print(inspect.getsource(nalu.NALU.gates))
print(inspect.getsource(nalu.NALU.forward))

# %% [markdown]
# ## Multiplying with hand-set weights
#
# Before any training: a NALU with two inputs and one output whose weights we set by hand. Latent
# values of $\pm 20$ saturate $\tanh$ and $\sigma$ to exactly $\pm1$ in single precision, so
# $W = (1, 1)$ or $(1, -1)$; a gate matrix $G = \pm 20\,(1, 1)$ sends $g$ to 1 (additive path) or 0
# (multiplicative path) for positive inputs. With shared weights, $W = (1, 1)$ serves both $x_1 + x_2$
# and $x_1 x_2$, and $W = (1, -1)$ both $x_1 - x_2$ and $x_1 / x_2$.

# %% tags=["hide-input"]
def hand_set_nalu(w_sign: float, gate: float) -> nalu.NALU:
    unit = nalu.NALU(2, 1)
    with torch.no_grad():
        unit.nac.W_hat.copy_(torch.tensor([[20.0, 20.0 * w_sign]]))
        unit.nac.M_hat.fill_(20.0)
        unit.G.fill_(gate)
    return unit


x_demo = torch.tensor([[1.5, 4.0], [3.0, 0.5], [100.0, 7.0], [0.01, 250.0], [12345.0, 0.002]])
demo = {"x₁ + x₂": (hand_set_nalu(1, 20), nalu.Operation.ADD), "x₁ − x₂": (hand_set_nalu(-1, 20), nalu.Operation.SUB),
        "x₁ × x₂": (hand_set_nalu(1, -20), nalu.Operation.MUL), "x₁ ÷ x₂": (hand_set_nalu(-1, -20), nalu.Operation.DIV)}
rows = []
for name, (unit, op) in demo.items():
    with torch.no_grad():
        y = unit(x_demo).squeeze(-1).double()
    exact = op(x_demo[:, 0].double(), x_demo[:, 1].double())
    for (x1, x2), yi, ei in zip(x_demo.tolist(), y.tolist(), exact.tolist()):
        rows.append(dict(operation=name, x1=x1, x2=x2, exact=ei, nalu=yi, rel_error=abs(yi - ei) / abs(ei)))
demo_table = pd.DataFrame(rows)
demo_table.style.format({"x1": "{:g}", "x2": "{:g}", "exact": number_format(6), "nalu": number_format(6),
                         "rel_error": "{:.1e}"}).hide(axis="index")

# %% tags=["hide-input"]
worst = demo_table.rel_error.max()
Markdown(f"Over these {len(demo_table)} cases, from 0.002 to 12,345, the largest relative error is {fmt_number(worst, 2)}: "
         + ("the unit represents the four operations to single precision (the log path adds a relative error of "
            "about ε/x)." if worst < 1e-4 else "larger than single precision explains; see the table.")
         + " Whether gradient descent finds those weights is the question of the rest of the chapter.")

# %% [markdown]
# ## Shared or separate weights
#
# Two one-layer tasks after the single-module benchmark of {cite:t}`mistry2022nalm`: $y = x_1 + x_2$
# and $y = x_1 x_2$, inputs drawn fresh every step from $U[1, 2]$ (64 per batch), tested on
# $U[2, 6]$. Adam with learning rate 0.1 and the MSE loss; every seed has its own initialisation
# and data. A run succeeds if its extrapolation MSE, at the logged step with the lowest
# interpolation MSE, is below that of the exact solution with its weights perturbed by
# $\varepsilon = 10^{-5}$ {cite}`madsen2020nau`.
#
# The PyTorch blog post's weight scheme, with the paper's sigmoid gate, is the package's
# `NALU(shared=False)`. The post's code, taken literally, also drops the sigmoid and computes the
# gate as `x @ G`: the package's `NALU(shared=False, gate="linear")`, trained as a third variant.
# The three variants, built from the package:

# %%
NO_SIGMOID = "separate, no sigmoid (PyTorch blog post's code)"
VARIANTS = {
    "shared (paper)": partial(nalu.NALU, 2, 1, shared=True),
    "separate (PyTorch blog post)": partial(nalu.NALU, 2, 1, shared=False),
    NO_SIGMOID: partial(nalu.NALU, 2, 1, shared=False, gate="linear"),
}
SIGMOID_VARIANTS = ["shared (paper)", "separate (PyTorch blog post)"]
OPS = ("mul", "add")
TASKS = {op: nalu.two_input(op, (1.0, 2.0), (2.0, 6.0)) for op in OPS}

# %% [markdown]
# Each variant is trained on each task, all seeds at once:

# %%
GATE_TOL = 1e-3  # a gate counts as outside [0, 1] if it is more than this beyond either end
results, tables = {}, []
for op, task in TASKS.items():
    for variant, factory in VARIANTS.items():
        res = nalu.train(factory, nalu.FreshSamples(task, batch_size=64, eval_size=EVAL_SIZE), SEEDS,
                         steps=STEPS, lr=LR, eval_every=max(1, STEPS // 30), device=device,
                         progress=not quick, desc=f"{variant} {op}")
        results[op, variant] = res
        tab = nalu.success_table(res.log, res.threshold)
        tab["op"], tab["variant"] = op, variant
        tab["diverged"] = tab.seed.isin(list(res.diverged_at))
        x_test = torch.from_numpy(task.inputs(EVAL_SIZE, "extrapolation", nalu.rng_for(0, 7)))
        with torch.no_grad():
            g = res.model.gate(x_test).squeeze(-1)  # (seeds, N)
        tab["gate_min"], tab["gate_median"], tab["gate_max"] = (g.amin(-1).numpy(), g.median(-1).values.numpy(),
                                                                g.amax(-1).numpy())
        tab["gate_outside_01"] = ((g < -GATE_TOL) | (g > 1 + GATE_TOL)).float().mean(-1).numpy()
        tab["max_abs_G"] = res.model.G.detach().abs().amax(dim=(-2, -1)).numpy()
        last = res.log[(res.log.step == res.steps) & (res.log.split == "extrapolation")].set_index("seed").mse
        tab["final_success"] = tab.seed.map(last).to_numpy() < tab.threshold.to_numpy()
        tables.append(tab)
table = pd.concat(tables, ignore_index=True)

# %% [markdown]
# ## Success rates
#
# Successes out of seeds, with Wilson 95% intervals:

# %% tags=["hide-input"]
rates = rate_table(table, ["op", "variant"])
wide = rates.pivot(index="variant", columns="op", values="text").loc[list(VARIANTS), list(OPS)]
wide.columns = [f"y = x₁ {nalu.Operation.parse(op).symbol} x₂" for op in OPS]
wide

# %% tags=["hide-input"]
detail = table.groupby(["op", "variant"], sort=False).agg(
    median_test_mse=("test_mse", "median"), threshold=("threshold", "median"), diverged=("diverged", "sum"),
    final_success=("final_success", "mean"), median_gate=("gate_median", "median"), min_gate=("gate_min", "min"),
    max_gate=("gate_max", "max"), gate_outside_01=("gate_outside_01", "mean")).reset_index()
detail.style.format({"median_test_mse": number_format(3), "threshold": number_format(3), "final_success": "{:.0%}",
                     "median_gate": "{:.3g}", "min_gate": "{:.3g}", "max_gate": "{:.3g}",
                     "gate_outside_01": "{:.0%}"}).hide(axis="index")

# %% [markdown]
# `final_success` is the share of seeds below the threshold at the *last* step, rather than at the
# step with the lowest interpolation error; `gate_outside_01` is the share of (seed, test input)
# pairs whose gate lies more than $10^{-3}$ outside $[0, 1]$; the gate columns are over the test
# inputs $U[2, 6]$.

# %% [markdown]
# The extrapolation error of every seed during training (dashed: the ε-threshold of that task):

# %% tags=["hide-input"]
curves = pd.concat([r.log.assign(op=op, variant=v) for (op, v), r in results.items()], ignore_index=True)
curves = curves[curves.split == "extrapolation"]
fig, axes = plt.subplots(len(OPS), len(VARIANTS), figsize=(13, 6.5), sharex=True, sharey="row")
for i, op in enumerate(OPS):
    for j, v in enumerate(VARIANTS):
        ax = axes[i, j]
        c = curves[(curves.op == op) & (curves.variant == v)]
        sns.lineplot(data=c, x="step", y="mse", units="seed", estimator=None, ax=ax, linewidth=0.7, alpha=0.6)
        ax.axhline(table[(table.op == op) & (table.variant == v)].threshold.median(), color="C3", linestyle="--")
        ax.set(yscale="log", title=f"{v}\ny = x₁ {nalu.Operation.parse(op).symbol} x₂", ylabel="extrapolation MSE")
        ax.title.set_fontsize(9)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## What the missing sigmoid changes
#
# Without the sigmoid, $g = Gx$ is an unbounded linear function of the input and
#
# $$
# y = g \odot a + (1 - g) \odot m = m + (Gx) \odot (a - m)
# $$
#
# is no longer a choice between two paths but an extrapolating mix of them: where $g$ leaves
# $[0, 1]$ the output is not between $a$ and $m$ at all, and $g \odot a$ is a *quadratic* function
# of $x$ that the network may use to fit the training range. There is a sharper consequence.
# `x @ G` has no bias, so the only gate that is constant over the inputs is $g \equiv 0$ ($G = 0$):
# the unit can still select the multiplicative path exactly, but it can never select the additive
# one — $g \equiv 1$ would need $Gx = 1$ for every $x$. Addition can only be approximated by the
# mix, and an approximation fitted on $[1, 2]$ has no reason to hold on $[2, 6]$.
#
# The gate values the trained units reach on the test inputs (per seed: the smallest, median and
# largest gate over the test inputs):

# %% tags=["hide-input"]
gates = table.melt(id_vars=["op", "variant", "seed"], value_vars=["gate_min", "gate_median", "gate_max"],
                   var_name="statistic", value_name="gate")
fig, axes = plt.subplots(1, len(OPS), figsize=(12, 4), sharey=True)
for ax, op in zip(axes, OPS):
    sns.stripplot(data=gates[gates.op == op], y="variant", x="gate", hue="statistic", dodge=True, ax=ax,
                  order=list(VARIANTS), size=4, alpha=0.7)
    ax.axvspan(0, 1, color="grey", alpha=0.12)
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xticks([-100, -10, -1, 0, 1, 10, 100], ["−100", "−10", "−1", "0", "1", "10", "100"])
    ax.set(title=f"gate g on U[2, 6] inputs, y = x₁ {nalu.Operation.parse(op).symbol} x₂", ylabel="",
           xlim=(min(-1.5, 1.5 * gates.gate.min()), max(1.5, 1.5 * gates.gate.max())))
    ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% tags=["hide-input"]
def rate_of(op, variant):
    return nalu.success_rate(table[(table.op == op) & (table.variant == variant)].success)


SYM = {op: nalu.Operation.parse(op).symbol for op in OPS}
lines = []
for op in OPS:
    t = table[(table.op == op) & (table.variant == NO_SIGMOID)]
    unit = results[op, NO_SIGMOID].model
    x_test = torch.from_numpy(TASKS[op].inputs(EVAL_SIZE, "extrapolation", nalu.rng_for(0, 7)))
    with torch.no_grad():
        a = unit.nac(x_test)
        m = unit.log_path(x_test)
    ok = t[t.success]
    lines.append(
        f"* **y = x₁ {SYM[op]} x₂** without the sigmoid: success {fmt_rate(rate_of(op, NO_SIGMOID))}; the gates range "
        f"over [{fmt_number(t.gate_min.min())}, {fmt_number(t.gate_max.max())}] across seeds and "
        f"{t.gate_outside_01.mean():.0%} of the (seed, test input) gates lie outside [0, 1]; "
        f"{(t.gate_median.abs() > 1).sum()} of {len(t)} seeds settled on a large gate (|median g| > 1). "
        f"The gate multiplies a − m, whose median size on the test inputs is {fmt_number((a - m).abs().median())}. "
        f"Median extrapolation MSE {fmt_number(t.test_mse.median())} against a threshold of {fmt_number(t.threshold.median())}; "
        f"below the threshold at the last step: {t.final_success.sum()} of {len(t)} seeds"
        + (f"; the successful seeds' largest |G| entry has median {fmt_number(ok.max_abs_G.median(), 2)}." if len(ok) else "."))
Markdown("\n".join(lines) + "\n\n" + provisional(quick).strip())

# %% [markdown]
# ## What it shows

# %% tags=["hide-input"]
def on_correct_path(t, op, tol=0.01):
    """Seeds whose median gate on the test inputs is within tol of the task's path (1: +, 0: ×)."""
    return int(((t.gate_median - (1.0 if op == "add" else 0.0)).abs() < tol).sum())


paras = []
sig = table[table.variant.isin(SIGMOID_VARIANTS)]
parts = []
for op in OPS:
    t = sig[sig.op == op]
    failed = t[~t.success]
    wrong = failed[(failed.gate_median > 0.5) != (op == "add")]
    parts.append(f"for y = x₁ {SYM[op]} x₂ the median gate sits within 0.01 of its path ({'1' if op == 'add' else '0'}) "
                 f"in {on_correct_path(t, op)} of {len(t)} seed-runs, and {len(wrong)} of the {len(failed)} failed "
                 f"seed-runs closed the gate on the wrong path")
paras.append("**With the sigmoid** (shared and separate weights together), " + "; ".join(parts) + ". "
             + ("No run reached its ε-threshold within the budget, so this budget cannot show learning. "
                if sig.success.sum() == 0 else "")
             + "A gate closed on the wrong path leaves the other path almost no gradient.")
paras.append("**Shared or separate weights**: " + "; ".join(
    f"y = x₁ {SYM[op]} x₂: " + compare_rates(rate_of(op, "shared (paper)"), rate_of(op, "separate (PyTorch blog post)"),
                                        "shared", "separate") for op in OPS)
             + ". Each of these tasks uses only one path, so sharing can matter only where one network must use "
               "both, as in the mystery problem of a later chapter.")
paras.append("**Without the sigmoid**: " + "; ".join(
    f"y = x₁ {SYM[op]} x₂: " + compare_rates(rate_of(op, NO_SIGMOID), rate_of(op, "separate (PyTorch blog post)"),
                                        "no sigmoid", "with the sigmoid") for op in OPS)
             + ". At the selected step and at the last step the no-sigmoid unit succeeds in "
             + " and ".join(f"{table[(table.op == op) & (table.variant == NO_SIGMOID)].success.sum()} and "
                            f"{table[(table.op == op) & (table.variant == NO_SIGMOID)].final_success.sum()} seeds on "
                            f"{SYM[op]}" for op in OPS) + f" (of {len(SEEDS)}).")
Markdown("\n\n".join(paras) + provisional(quick))

# %% [markdown]
# The argument above says what to look for: for addition no exact solution exists without the
# sigmoid (the gate cannot be held at 1), so a run can only fit a mix on $[1, 2]$; for
# multiplication $G = 0$ is exact, but any residual $G$ multiplies the large difference $a - m$.
# Whichever the numbers show, the PyTorch blog post's code trains this unit, not the paper's.

# %% tags=["hide-input"]
short = {"shared (paper)": "shared", "separate (PyTorch blog post)": "separate", NO_SIGMOID: "nosigmoid"}
out = {"n_seeds": len(SEEDS), "steps": STEPS, "lr": LR, "demo_max_rel_error": float(demo_table.rel_error.max()),
       "demo_exact": bool(demo_table.rel_error.max() < 1e-4)}
for op in OPS:
    for v, key in short.items():
        r = rate_of(op, v)
        out.update({f"{key}_{op}_{k}": val for k, val in r.items()})
        t = table[(table.op == op) & (table.variant == v)]
        out[f"{key}_{op}_median_test_mse"] = float(t.test_mse.median())
        out[f"{key}_{op}_gate_outside_01"] = float(t.gate_outside_01.mean())
        out[f"{key}_{op}_gate_min"] = float(t.gate_min.min())
        out[f"{key}_{op}_gate_max"] = float(t.gate_max.max())
        out[f"{key}_{op}_diverged"] = int(t.diverged.sum())
out["nalu_learns_mul_add_reproduced"] = bool(all(rate_of(op, v)["rate"] >= 0.8 for op in OPS
                                               for v in SIGMOID_VARIANTS))
out["gate_tolerance"] = GATE_TOL
for op in OPS:
    for v, key in short.items():
        out[f"{key}_{op}_final_step_success_rate"] = float(table[(table.op == op) & (table.variant == v)].final_success.mean())
out["nosigmoid_worse_on_add"] = bool(rate_of("add", NO_SIGMOID)["rate"] < rate_of("add", "separate (PyTorch blog post)")["rate"])
SHARED, SEPARATE = SIGMOID_VARIANTS
no_sigmoid, with_sigmoid = rate_of("add", NO_SIGMOID), rate_of("add", SEPARATE)
findings = [Finding("3", "Trask et al. 2018", f"a NALU ({label}) learns {SYM[op]} of two inputs and extrapolates",
                    MADSEN_MEASURE, "rate", test="claimed: (nearly) every seed, a rate in [90%, 100%]",
                    published=[0.9, 1.0], budget=STEPS, successes=rate_of(op, v)["successes"], n=rate_of(op, v)["n"])
            for op in OPS for v, label in ((SHARED, "shared weights"), (SEPARATE, "separate weights"))]
findings.append(Finding("3", "the PyTorch blog post (its code)", "a gate without sigmoid (g = G x) works as well on +",
                        MADSEN_MEASURE, "check", test="the no-sigmoid rate's interval overlaps the sigmoid gate's",
                        passed=rates_overlap(no_sigmoid, with_sigmoid), n=min(no_sigmoid["n"], with_sigmoid["n"]),
                        budget=STEPS, note=f"without sigmoid {no_sigmoid['successes']}/{no_sigmoid['n']}, "
                                           f"with {with_sigmoid['successes']}/{with_sigmoid['n']}"))
_ = save_results(results_dir, "03_nalu", out, findings)
