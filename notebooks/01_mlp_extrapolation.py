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
# # Why networks cannot count
#
# The NALU paper {cite}`trask2018nalu` opens with a small, striking experiment (its Figure 1): train a
# multi-layer perceptron to reproduce its input, $y = x$, on numbers in $[-5, 5]$, then ask it about
# numbers in $[-20, 20]$. The paper reports that inside the training range every network is nearly
# perfect, that outside it almost every network fails, and that *how* it fails is dictated by its
# activation function. The TensorFlow blog post {cite}`blog001` shows the paper's figure without
# re-running it. Here we re-run it.
#
# Setup, following the paper: an MLP with three hidden layers of 8 units, one activation function
# throughout, trained with Adam on mean squared error on fresh samples from $U[-5, 5]$; the error is
# the mean absolute error $|f(x) - x|$ over a grid on $[-20, 20]$, averaged over seeds.

# %% tags=["parameters"]
quick = True  # quick: CI check; full: the reproduction (make build)
device = "cpu"
results_dir = "../build/results"

# %% tags=["hide-input"]
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from IPython.display import Markdown

import nalu
from nalu_book.book import fmt_number, bootstrap_ci, mode_banner, provisional, save_results
from nalu_book.results import Finding

SEEDS = list(range(3 if quick else 20))
STEPS = 1500 if quick else 10_000
ACTIVATIONS = ["relu", "relu6", "elu", "selu", "leaky_relu", "softplus", "gelu", "silu", "mish",
               "tanh", "sigmoid", "softsign", "hardtanh", "tanhshrink", "logsigmoid"]
mode_banner(quick, seeds=len(SEEDS), steps=STEPS, activations=len(ACTIVATIONS))

# %% [markdown]
# Each activation is trained for all seeds at once by `nalu.train`; seed $s$ starts from the weights
# that `torch.manual_seed(s)` gives and draws its own batches (128 samples per step, learning rate
# $10^{-3}$). We use fifteen activations that PyTorch provides without parameters of their own:
# most of the paper's list, minus PReLU (which learns its slope) and the threshold function, plus
# three that postdate the paper (GELU, SiLU, Mish).

# %%
task = nalu.IdentityTask()
grid = torch.linspace(-20, 20, 401).unsqueeze(-1)
curves, final = [], []
for act in ACTIVATIONS:
    factory = partial(nalu.MLP, 1, 1, hidden=(8, 8, 8), activation=act)
    result = nalu.train(factory, nalu.FreshSamples(task, batch_size=128, eval_size=2000), SEEDS,
                        steps=STEPS, lr=1e-3, eval_every=STEPS, device=device, progress=not quick, desc=act)
    with torch.no_grad():
        abs_err = (result.model(grid) - grid).abs().squeeze(-1).numpy()  # (seeds, grid)
    curves.append(pd.DataFrame({"activation": act, "x": np.tile(grid.squeeze(-1).numpy(), len(SEEDS)),
                                "seed": np.repeat(SEEDS, grid.shape[0]), "abs_error": abs_err.ravel()}))
    inside = (grid.abs() <= 5).squeeze(-1).numpy()
    final.append(dict(activation=act, mae_inside=abs_err[:, inside].mean(), mae_outside=abs_err[:, ~inside].mean()))
curves = pd.concat(curves, ignore_index=True)
final = pd.DataFrame(final).sort_values("mae_outside")

# %% [markdown]
# ## The figure
#
# One panel per activation: the mean absolute error at each $x$, averaged over seeds, with a 95%
# bootstrap interval over seeds; the grey band marks the training range. Panels are ordered from
# the smallest to the largest error outside the training range.

# %% tags=["hide-input"]
order = final.activation.tolist()
grid_plot = sns.relplot(data=curves, x="x", y="abs_error", col="activation", col_order=order, col_wrap=3,
                        kind="line", errorbar=bootstrap_ci(95, n_boot=200), height=2.3, aspect=1.3,
                        facet_kws=dict(sharey=True))
for ax in grid_plot.axes.flat:
    ax.axvspan(-5, 5, color="grey", alpha=0.2)
grid_plot.set_titles("{col_name}")
grid_plot.set_axis_labels("input x", "|f(x) − x|")
grid_plot.figure.suptitle("MLPs (3 × 8 hidden units) learning y = x on [−5, 5], tested on [−20, 20]", y=1.02)
plt.show()

# %% [markdown]
# ## Inside and outside the training range

# %% tags=["hide-input"]
final.style.format({"mae_inside": "{:.3f}", "mae_outside": "{:.2f}"}).hide(axis="index")

# %% tags=["hide-input"]
ratio = final.mae_outside / final.mae_inside
best, worst = final.iloc[0], final.iloc[-1]
SATURATING = ["tanh", "sigmoid", "softsign", "hardtanh", "relu6"]  # bounded on at least one side far out
PIECEWISE = ["relu", "elu", "selu", "leaky_relu"]


def growth(acts):
    """Mean error at |x| = 20 divided by the mean error at |x| = 10, over the given activations and seeds."""
    c = curves[curves.activation.isin(acts)]
    return c[c.x.abs().round(3) == 20].abs_error.mean() / c[c.x.abs().round(3) == 10].abs_error.mean()


sat_out = final[final.activation.isin(SATURATING)].mae_outside.mean()
pw_out = final[final.activation.isin(PIECEWISE)].mae_outside.mean()
all_worse = bool((final.mae_outside > final.mae_inside).all())
n_worse = int((final.mae_outside > final.mae_inside).sum())
if all_worse:
    verdict = (f"every one of the {len(final)} activations has a larger error outside $[-5, 5]$ than inside it, "
               f"by a factor of {ratio.min():.0f} to {ratio.max():.0f}")
else:
    verdict = (f"{n_worse} of the {len(final)} activations have a larger error outside $[-5, 5]$ than inside it "
               f"(factors from {fmt_number(ratio.min(), 2)} to {fmt_number(ratio.max(), 2)})")
compare = ("larger than" if sat_out > pw_out else "smaller than")
Markdown(f"""Over {len(SEEDS)} seeds per activation, {verdict}. The smallest error outside the range is
{best.activation}'s ({best.mae_outside:.2f}), the largest {worst.activation}'s ({worst.mae_outside:.2f}).
The saturating activations ({", ".join(SATURATING)}) have a mean error outside the range of {sat_out:.2f},
{compare} that of the piecewise-linear ones ({", ".join(PIECEWISE)}, {pw_out:.2f}); from $|x| = 10$ to
$|x| = 20$ their error grows by a factor of {growth(SATURATING):.2f} and {growth(PIECEWISE):.2f}
respectively (a factor of 3 is what an error growing linearly from the edge of the range would
give).{provisional(quick)}""")

# %% [markdown]
# ## What it shows
#
# The shape of each curve follows from the activation. A saturating function (tanh, sigmoid,
# softsign, hardtanh, and ReLU6, which is capped at 6) makes the network's output constant far from the data, so the error can only
# grow linearly with $|x|$: the network cannot output a number bigger than those it has seen. A
# piecewise-linear one (ReLU and its variants) extrapolates linearly, but along whatever slope the
# last kinks happened to leave, which nothing makes exactly 1. Only an activation that happens to be
# linear where it matters can extrapolate, and nothing in training asks it to. This is the failure
# the Neural Accumulator (next chapter) is built to remove: a unit whose only possible outputs are
# sums of its inputs.

# %% tags=["hide-input"]
_ = save_results(results_dir, "01_mlp_extrapolation", {
    "n_seeds": len(SEEDS), "steps": STEPS, "n_activations": len(final),
    "min_ratio_outside_inside": float(ratio.min()),
    "all_worse_outside": all_worse,
}, findings=[
    Finding("1", "Trask et al. 2018, Fig. 1", "MLPs trained on y = x in [−5, 5] fail outside that range",
            "mean absolute error outside vs inside", "check",
            test="error outside > error inside, for every activation", passed=all_worse, n=len(SEEDS), budget=STEPS,
            note=f"{len(final)} activations; outside/inside error ≥ {float(ratio.min()):.0f}×")])
