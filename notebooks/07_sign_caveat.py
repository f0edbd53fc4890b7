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
# # The sign-loss caveat
#
# The PyTorch blog post {cite}`blog000` ends with a caveat about the NALU
# {cite}`trask2018nalu`: its multiplicative path works on $\log(|x| + \varepsilon)$, so the sign of
# every input is thrown away before anything is multiplied. Its example is a unit that should
# multiply the first two of three inputs. For $x = (1.5, 2, 2.5)$ the answer 3 comes out right;
# for $x = (1.5, -2, 2.5)$ the answer should be $-3$, but the log path can only produce $+3$.
# The post only remarks that an extra mechanism for signs would be needed. Here we check the
# caveat with the package's own NALU, ask what a NALU *trained* on signed inputs does about it,
# and look at the one part of the unit that can see signs at all: the input-dependent gate. {cite:t}`madsen2020nau` and
# {cite:t}`schlor2020inalu` make the same criticism; the next chapter tries their remedies.

# %% tags=["parameters"]
quick = True  # quick: CI check; full: the reproduction (make build)
device = "cpu"
results_dir = "../build/results"

# %% tags=["hide-input"]
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown

import nalu
from nalu_book.book import number_format, fmt_number, compare_rates, fmt_rate, mode_banner, provisional, rate_table, save_results
from nalu_book.results import Finding

SEEDS = list(range(4 if quick else 30))
STEPS = 1500 if quick else 20_000
EVAL_EVERY = STEPS // (3 if quick else 20)
EVAL_SIZE = 2000 if quick else 10_000
mode_banner(quick, seeds=len(SEEDS), steps=STEPS, eval_every=EVAL_EVERY, eval_size=EVAL_SIZE)

# %% [markdown]
# ## The blog's example, computed by the NALU
#
# We build a `nalu.NALU(3, 1)` and set its weights by hand to the exact solution "multiply
# inputs 1 and 2". A NAC weight is $W = \tanh(\hat W)\,\sigma(\hat M)$, so $\hat W = 20$,
# $\hat M = 20$ gives $W = 1$ to within float precision and $\hat W = 0$, $\hat M = -20$ gives
# $W = 0$. The gate $g = \sigma(Gx)$ must be 0 to select the multiplicative path; with
# $G = (-20, -20, -20)$ it is, for both of the blog's inputs.

# %%
def exact_nalu(weights, gate_weights):
    """A NALU(len(weights), 1) whose NAC weight is `weights` (entries in {-1, 0, 1}) and whose gate is σ(G x)."""
    w = torch.tensor([weights], dtype=torch.float32)
    unit = nalu.NALU(w.shape[1], 1)
    with torch.no_grad():
        unit.nac.W_hat.copy_(20 * w)
        unit.nac.M_hat.copy_(torch.where(w != 0, 20.0, -20.0))
        unit.G.copy_(torch.tensor([gate_weights], dtype=torch.float32))
    return unit


blog_unit = exact_nalu([1, 1, 0], [-20, -20, -20])
lines = [f"NAC weight W = `{blog_unit.nac.W.detach().numpy().round(6).tolist()}`", ""]
x_blog = torch.tensor([[1.5, 2.0, 2.5], [1.5, -2.0, 2.5]])
with torch.no_grad():
    y_blog = blog_unit(x_blog).squeeze(-1)
for x, y in zip(x_blog, y_blog):
    lines.append(f"- x = `{x.tolist()}`: NALU gives {y.item():+.4f}, "
                 f"the product x₁·x₂ is {(x[0] * x[1]).item():+.4f}")
Markdown("\n".join(lines))

# %% tags=["hide-input"]
caveat_holds = bool(abs(float(y_blog[1]) - 3.0) < 1e-4)
Markdown(f"""For $x = (1.5, -2, 2.5)$ the exact NALU outputs {float(y_blog[1]):+.4f} where the product is $-3$:
{"the caveat holds exactly as stated" if caveat_holds else "the caveat does not hold as stated"}. Now every sign
pattern of the two factors, with the gate's value and the multiplicative path
$m = \\exp(W \\log(|x| + \\varepsilon))$ shown separately. The third input stays at 2.5.""")

# %% tags=["hide-input"]
signs = [(1, 1), (1, -1), (-1, 1), (-1, -1)]
x_all = torch.tensor([[1.5 * s1, 2.0 * s2, 2.5] for s1, s2 in signs])
with torch.no_grad():
    out = blog_unit(x_all).squeeze(-1)
    gate = blog_unit.gate(x_all).squeeze(-1)
    m_path = torch.exp(torch.log(x_all.abs() + blog_unit.eps) @ blog_unit.nac.W.mT).squeeze(-1)
pd.DataFrame({"x": [str(r.tolist()) for r in x_all], "target x₁x₂": (x_all[:, 0] * x_all[:, 1]).numpy(),
              "gate g": gate.numpy(), "m path": m_path.numpy(), "NALU output": out.numpy()}
             ).style.format({"target x₁x₂": "{:+.2f}", "gate g": number_format(2), "m path": "{:.4f}",
                             "NALU output": "{:+.4f}"}).hide(axis="index")

# %% tags=["hide-input"]
target = x_all[:, 0] * x_all[:, 1]
wrong_m = int((torch.sign(m_path) != torch.sign(target)).sum())
opened = [str([round(v, 1) for v in x_all[k].tolist()]) for k in range(len(x_all)) if gate[k] > 0.5]
Markdown(f"""The multiplicative path gives {", ".join(f"{v:+.2f}" for v in m_path.tolist())} for the four sign
patterns: {wrong_m} of the 4 products get the wrong sign. """ + (
    f"""And the gate, closed for the blog's two inputs, *opens* (g > ½) for $x$ = {", ".join(opened)}, because $Gx$
changed sign; the output there is the additive path, although the product was the right answer."""
    if opened else "The gate stays closed (g < ½) for all four patterns."))

# %% [markdown]
# ## Why no weights can fix it
#
# The multiplicative path ends in an exponential, so $m > 0$ for every input and every weight:
# it cannot produce a negative number at all. The only other source of an output is the
# additive path $a = Wx$, a linear function, and no linear function equals $x_1 x_2$ on any
# open set. The solutions the NALU is designed to find, with weights in $\{-1, 0, 1\}$ and the
# gate at 0 or 1, therefore cannot give a negative product; anything else is a blend of a
# linear function and a positive one, which the unit has no reason to converge to.
#
# The gate makes matters worse on signed inputs. Since $\sigma(-z) = 1 - \sigma(z)$,
# $g(-x) = 1 - g(x)$ for *any* $G$: whenever the gate selects the multiplicative path at $x$, it
# selects the additive path at $-x$, where the product $x_1 x_2$ has the same value. The only
# gate that treats $x$ and $-x$ alike is $G = 0$, a fixed 50/50 mix of the two paths. Both
# facts can be checked numerically on randomly initialised NALUs:

# %% tags=["hide-input"]
task = nalu.signed_task("mul")
x_check = torch.from_numpy(task.inputs(10_000, "interpolation", nalu.rng_for(0, 90)))
random_nalus = nalu.stack_models([nalu.build(partial(nalu.NALU, 2, 1), s) for s in range(100)])
with torch.no_grad():
    m_random = torch.exp(torch.log(x_check.abs() + random_nalus.eps) @ random_nalus.nac.W.mT)
    gate_gap = (random_nalus.gate(x_check) + random_nalus.gate(-x_check) - 1).abs().max().item()
m_always_positive = bool((m_random > 0).all())
gate_antisymmetric = gate_gap < 1e-6
Markdown(f"Over 100 random NALUs and {len(x_check):,} inputs from $[-2, 2]^2$ the smallest $m$ is "
         f"{fmt_number(m_random.min().item())} ({'every' if m_always_positive else 'not every'} $m$ is positive), and the "
         f"largest $|g(x) + g(-x) - 1|$ is {fmt_number(gate_gap, 1)} "
         f"({'zero up to rounding' if gate_antisymmetric else 'not zero: the identity fails'}).")

# %% [markdown]
# ## Training on signed inputs
#
# The representational argument says the NALU cannot be *exact*; training decides what it does
# instead. The task is `nalu.signed_task("mul")`: $y = x_1 x_2$ with inputs from
# $U[-2, 2]$, tested on $[-6, -2] \cup [2, 6]$, fresh batches of 128 at every step, Adam with
# learning rate $10^{-3}$. We train the paper's single NALU ($2 \to 1$) and a two-layer NALU
# ($2 \to 2 \to 1$). As a control, the single NALU also learns the same product on inputs with
# the same magnitudes but no signs: $U[0, 2]$, tested on $U[2, 6]$.
#
# Two criteria: Madsen & Johansen's strict success (extrapolation MSE below that of the exact
# solution with weights perturbed by $10^{-5}$), and a looser *approximate success*: the
# extrapolation MSE is below 1% of the mean squared target, i.e. the model is at least 100 times
# better than always answering 0.

# %% tags=["hide-input"]
positive = nalu.two_input("mul", (0.0, 2.0), (2.0, 6.0))
RUNS = {  # label: (factory, task)
    "NALU, signed": (partial(nalu.NALU, 2, 1), task),
    "NALU 2→2→1, signed": (partial(nalu.two_layer, "nalu", None, 2, 2, 1), task),
    "NALU, positive (control)": (partial(nalu.NALU, 2, 1), positive),
}
results, tables = {}, []
for label, (factory, t) in RUNS.items():
    r = nalu.train(factory, nalu.FreshSamples(t, batch_size=128, eval_size=EVAL_SIZE), SEEDS, steps=STEPS, lr=1e-3,
                   eval_every=EVAL_EVERY, device=device, progress=not quick, desc=label)
    results[label] = r
    x_ext, y_ext = t.sample(20_000, "extrapolation", nalu.rng_for(0, 91))
    mean_sq_target = float((y_ext ** 2).mean())
    st = nalu.success_table(r.log, r.threshold)
    st["approx_success"] = st.test_mse < 0.01 * mean_sq_target
    tables.append(st.assign(run=label, mean_sq_target=mean_sq_target, diverged=st.seed.isin(list(r.diverged_at))))
runs = pd.concat(tables, ignore_index=True)
strict = rate_table(runs, ["run"], "success").set_index("run")
approx = rate_table(runs, ["run"], "approx_success").set_index("run")
summary = pd.DataFrame({"strict success": strict.text, "approximate success": approx.text,
                        "median extrapolation MSE": runs.groupby("run", sort=False).test_mse.median(),
                        "mean squared target": runs.groupby("run", sort=False).mean_sq_target.first()})
summary.style.format({"median extrapolation MSE": number_format(3), "mean squared target": "{:.1f}"})

# %% tags=["hide-input"]
a_signed, a_pos = approx.loc["NALU, signed"], approx.loc["NALU, positive (control)"]
Markdown("Approximate success of the single NALU "
         + compare_rates(a_signed, a_pos, "on signed inputs", "the positive control (signs removed)",
                         below=": the signs make the task harder") + "." + provisional(quick))

# %% [markdown]
# ## Are the failures sign errors?
#
# If the trained NALUs had learned the magnitude $|x_1 x_2|$ and merely lost the sign, their
# predictions would match the targets in absolute value. We check this on 20,000 extrapolation
# points: the fraction where $|\hat y|$ is within 5% of $|y|$ but the sign is wrong (a pure sign
# error), the same with the right sign, the fraction of correct signs, and the MSE of $|\hat y|$
# against $|y|$ beside the ordinary MSE. For reference, the last row is the exact
# multiplicative path, $|x_1 x_2|$: a magnitude-perfect but sign-blind answer.

# %% tags=["hide-input"]
x_ext, y_ext = task.sample(20_000, "extrapolation", nalu.rng_for(0, 91))


def sign_stats(pred, y):
    """Per-seed statistics of predictions pred (S, N, 1) against targets y (N, 1)."""
    close = (pred.abs() - y.abs()).abs() <= 0.05 * y.abs()
    right = torch.sign(pred) == torch.sign(y)
    neg = (y < 0).expand_as(pred)
    sq = (pred - y) ** 2
    return pd.DataFrame({
        "pure sign error": (close & ~right).float().mean(dim=(1, 2)).numpy(),
        "|ŷ|≈|y|, right sign": (close & right).float().mean(dim=(1, 2)).numpy(),
        "sign correct": right.float().mean(dim=(1, 2)).numpy(),
        "MSE(|ŷ|, |y|)": ((pred.abs() - y.abs()) ** 2).mean(dim=(1, 2)).double().numpy(),
        "MSE(ŷ, y)": sq.mean(dim=(1, 2)).double().numpy(),
        "MSE, negative products": (sq * neg).sum(dim=(1, 2)).div(neg.sum(dim=(1, 2))).double().numpy(),
        "MSE, positive products": (sq * ~neg).sum(dim=(1, 2)).div((~neg).sum(dim=(1, 2))).double().numpy(),
    })


stats = []
for label in ["NALU, signed", "NALU 2→2→1, signed"]:
    with torch.no_grad():
        pred = results[label].model(x_ext)
    stats.append(sign_stats(pred, y_ext).assign(model=label, seed=results[label].seeds))
magnitude_only = (x_ext[:, :1] * x_ext[:, 1:]).abs().unsqueeze(0)
stats.append(sign_stats(magnitude_only, y_ext).assign(model="|x₁x₂| (exact magnitude)", seed=-1))
stats = pd.concat(stats, ignore_index=True)
stat_cols = [c for c in stats.columns if c not in ("model", "seed")]
(stats.groupby("model", sort=False)[stat_cols].median()
 .style.format({c: "{:.1%}" for c in stat_cols[:3]} | {c: number_format(3) for c in stat_cols[3:]})
 .set_caption("Median over seeds, extrapolation range"))

# %% tags=["hide-input"]
single = stats[stats.model == "NALU, signed"]
mse_zero = float((y_ext ** 2).mean())
mse_blind = float(((magnitude_only[0] - y_ext) ** 2).mean())
pure = single["pure sign error"].median()
neg_mse, pos_mse = single["MSE, negative products"].median(), single["MSE, positive products"].median()
Markdown(f"""Pure sign errors make up at most {single['pure sign error'].max():.1%} of the points for any single-layer seed
(median {pure:.1%}); the exact-magnitude answer has {stats[stats.seed == -1]['pure sign error'].iloc[0]:.1%}.
{"The failures are *not* sign-flipped magnitudes." if pure < 0.25 else "Many failures *are* sign-flipped magnitudes."}
Always answering 0 has MSE {mse_zero:.0f}; the sign-blind $|x_1 x_2|$ has MSE {mse_blind:.0f},
{mse_blind / mse_zero:.1f} times as much, since on the negative half it misses by $2|y|$. The single-layer NALU's
error (median over seeds) is {neg_mse:.0f} where the product is negative and {pos_mse:.0f} where it is
positive{": it sits on the negative products" if neg_mse > 2 * pos_mse else ""}.{provisional(quick)}""")

# %% [markdown]
# **Our hypothesis** (the book's own, not a claim of the sources): because a sign-blind magnitude
# is worse than answering 0 on inputs whose signs are balanced, gradient descent on the MSE never
# moves the NALU towards the multiplicative solution it is designed to find. The sign problem would
# then act before any product is learned, by removing the reason to learn one, and its footprint
# would be where the error sits: on the inputs whose product is negative. The numbers above are
# what can be said for or against it at this budget.
#
# ## What the NALU learns instead
#
# Here is a representative seed (median extrapolation MSE): predictions against targets, and
# the prediction and gate over the input plane.

# %% tags=["hide-input"]
res = results["NALU, signed"]
rep_seed = int(single.sort_values("MSE(ŷ, y)").seed.iloc[len(single) // 2])
rep = res.model_for(rep_seed)
grid1 = torch.linspace(-6, 6, 121)
xx = torch.cartesian_prod(grid1, grid1)
with torch.no_grad():
    rep_pred = rep(x_ext).squeeze(-1)
    surf = rep(xx).squeeze(-1).reshape(len(grid1), len(grid1)).T
    gate_surf = rep.gate(xx).squeeze(-1).reshape(len(grid1), len(grid1)).T
fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
neg = (y_ext.squeeze(-1) < 0).numpy()
axes[0].scatter(y_ext.squeeze(-1)[~neg], rep_pred[~neg], s=2, alpha=0.3, label="x₁x₂ > 0")
axes[0].scatter(y_ext.squeeze(-1)[neg], rep_pred[neg], s=2, alpha=0.3, label="x₁x₂ < 0")
axes[0].plot([-36, 36], [-36, 36], color="black", lw=0.8, label="ŷ = y")
axes[0].plot([-36, 36], [36, -36], color="grey", lw=0.8, ls="--", label="ŷ = −y")
axes[0].set(xlabel="target x₁x₂", ylabel="prediction", title=f"seed {rep_seed}, extrapolation range")
axes[0].legend(markerscale=5, fontsize=9)
extent = [-6, 6, -6, 6]
lim = float(surf.abs().max())
im1 = axes[1].imshow(surf, origin="lower", extent=extent, cmap="RdBu_r", vmin=-lim, vmax=lim)
axes[1].set(xlabel="x₁", ylabel="x₂", title="prediction")
fig.colorbar(im1, ax=axes[1])
im2 = axes[2].imshow(gate_surf, origin="lower", extent=extent, cmap="viridis", vmin=0, vmax=1)
axes[2].set(xlabel="x₁", ylabel="x₂", title="gate g (1: additive)")
fig.colorbar(im2, ax=axes[2])
for ax in axes[1:]:
    ax.grid(False)
    ax.add_patch(plt.Rectangle((-2, -2), 4, 4, fill=False, ls="--", color="white", lw=1))
plt.tight_layout()
plt.show()

# %% [markdown]
# The learned weights of every single-layer seed, rounded: the NAC weight $W$ (shared by both
# paths) and the gate weight $G$.

# %% tags=["hide-input"]
with torch.no_grad():
    W_all = res.model.nac.W.squeeze(1).numpy()
    G_all = res.model.G.squeeze(1).numpy()
weights = pd.DataFrame({"seed": res.seeds, "W₁": W_all[:, 0], "W₂": W_all[:, 1], "G₁": G_all[:, 0], "G₂": G_all[:, 1]})
gate_input = np.abs(G_all).argmax(axis=1)
nac_input = np.abs(W_all).argmax(axis=1)
crossed = float(np.mean(gate_input != nac_input))
weights.head(8).style.format({c: "{:+.2f}" for c in ["W₁", "W₂", "G₁", "G₂"]}).hide(axis="index")

# %% [markdown]
# **A second hypothesis of ours** for what the NALU learns instead: when the gate keys on the sign of
# one input, say $x_2$, and the NAC weight on the other, the unit computes roughly $W_1 x_1$
# (additive path) where $x_2 > 0$ and roughly $|x_1|^{W_1}$ (multiplicative path, positive) where
# $x_2 < 0$. On the first half the sign is right, because there
# $\operatorname{sign}(x_1 x_2) = \operatorname{sign}(x_1)$; on the second, only when $x_1 < 0$. That
# would give three quarters of the signs, with no magnitude right. A single sigmoid of a linear
# function can split the plane in two, but the sign of a product needs the four quadrants (an XOR
# of two signs), so the gate, the only component of the NALU that sees a sign, can do no better.

# %% tags=["hide-input"]
sign_ok = single["sign correct"].median()
crossed_fits = crossed >= 0.5 and 0.65 <= sign_ok <= 0.85
Markdown(f"""In {crossed:.0%} of the {len(res.seeds)} single-layer seeds the gate listens mostly to one input and the
NAC weight to the other (median $|G|$ of the gate's input {np.median(np.abs(G_all).max(axis=1)):.2f}, median largest
$|W|$ {np.median(np.abs(W_all).max(axis=1)):.2f}); the median fraction of correct signs is {sign_ok:.1%}, against the
75% the hypothesis predicts. """ + ("The runs fit the hypothesis." if crossed_fits else
        "The runs do not fit the hypothesis well: " + ("the gate and the weight mostly key on the same input."
        if crossed < 0.5 else "the fraction of correct signs is far from three quarters."))
         + (f" With {len(res.seeds)} seeds this is indicative only (underpowered)." if len(res.seeds) < 20 else "")
         + provisional(quick))

# %% [markdown]
# ## Summary

# %% tags=["hide-input"]
a_pos_close = a_pos.rate >= 0.5
Markdown(f"""* The caveat of the PyTorch blog post {"is exact" if caveat_holds else "does not hold"}: with the correct
  weights the NALU computes $|x_1 x_2|$, so $(1.5, -2, 2.5) \\mapsto {float(y_blog[1]):+.0f}$; and the input-dependent
  gate does not even stay closed across sign patterns, since $g(-x) = 1 - g(x)$.
* Trained on signed inputs, the single NALU succeeds approximately in {fmt_rate(a_signed)} of seeds; on the same
  magnitudes without signs, in {fmt_rate(a_pos)}, {"so the control does come close to the product" if a_pos_close
  else "so at this budget the unit does not come close to the product even without signs"}. Its error (median over
  seeds) is {neg_mse:.0f} on the negative products and {pos_mse:.0f} on the positive ones.{provisional(quick)}

The next chapter tries units that put the sign back.""")

# %% tags=["hide-input"]
def rate_dict(table, label):
    r = table.loc[label]
    return dict(rate=float(r.rate), lo=float(r.lo), hi=float(r.hi), successes=int(r.successes), n=int(r.n))


med = stats.groupby("model", sort=False)[stat_cols].median()
_ = save_results(results_dir, "07_sign_caveat", {
    "n_seeds": len(SEEDS), "steps": STEPS,
    "blog_example_output": float(y_blog[1]), "blog_example_target": -3.0,
    "blog_claim_reproduced": caveat_holds,
    "m_path_always_positive": m_always_positive, "gate_antisymmetric": bool(gate_antisymmetric),
    "strict_success": {label: rate_dict(strict, label) for label in RUNS},
    "approx_success": {label: rate_dict(approx, label) for label in RUNS},
    "median_extrapolation_mse": {label: float(summary.loc[label, "median extrapolation MSE"]) for label in RUNS},
    "sign_stats_median": {m: {c: float(med.loc[m, c]) for c in stat_cols} for m in med.index},
    "mse_zero_predictor": float((y_ext ** 2).mean()),
    "mse_sign_blind_magnitude": float(((magnitude_only[0] - y_ext) ** 2).mean()),
    "failures_are_mostly_pure_sign_errors": bool(single["pure sign error"].median() > 0.25),
    "signed_worse_than_positive_control": bool(approx.loc["NALU, signed"].hi < approx.loc["NALU, positive (control)"].lo),
    "single_nalu_gate_and_weight_on_different_inputs_fraction": crossed,
    "own_hypotheses": {  # the book's own, not claims of the sources
        "sign_blind_magnitude_worse_than_zero": bool(mse_blind > mse_zero),
        "error_on_negative_products": bool(neg_mse > 2 * pos_mse),
        "gate_and_weight_on_different_inputs_three_quarters_signs": bool(crossed_fits),
        "n_seeds": len(res.seeds),
    },
}, findings=[
    Finding("7", "the PyTorch blog post", "with exact weights, a NALU gives +3 for 1.5 × (−2)", "hand-set weights",
            "check", test="the package's NALU outputs +3", passed=caveat_holds, exact=True,
            note=f"output {fmt_number(float(y_blog[1]), 4)}, correct answer −3"),
    Finding("7", "the PyTorch blog post", "the log path's lost sign makes the NALU fail on signed products",
            "approximate success (MSE < 1% of the mean squared target)", "check",
            test="the NALU on signed × below its positive control (intervals apart)",
            passed=bool(a_signed.hi < a_pos.lo), n=min(int(a_signed.n), int(a_pos.n)), budget=STEPS,
            note=f"signed {int(a_signed.successes)}/{int(a_signed.n)}, positive {int(a_pos.successes)}/{int(a_pos.n)}"),
    # "a sign-blind exact magnitude is worse than predicting 0 on signed ×" is not among them: with half
    # the test products negative it holds by construction (a unit test, tests/test_tasks.py)
    Finding("7", "This book (chapter 7)", "the NALU's error concentrates on negative products", "sign statistics",
            "check", own=True, test="chapter 7's test", passed=bool(neg_mse > 2 * pos_mse), n=len(res.seeds)),
    Finding("7", "This book (chapter 7)", "gate and weight on different inputs get three quarters of the signs right",
            "sign statistics", "check", own=True, test="chapter 7's test", passed=crossed_fits, n=len(res.seeds)),
    Finding("7", "This book (chapter 7)", "the NALU's failures on signed × are sign errors (|prediction| ≈ |target|)",
            "sign statistics", "check", own=True, test="median share of pure sign errors > 25%",
            passed=bool(pure > 0.25), n=len(SEEDS))])
