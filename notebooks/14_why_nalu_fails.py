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
# # Why the NALU fails
#
# The earlier chapters met the NALU's failures one at a time: weights that approach $\pm1$ only
# asymptotically ({doc}`02_nac`), a shared weight matrix and a gate that settle on the wrong
# path ({doc}`03_nalu`), a network that fits its training data and still misses the test range
# ({doc}`04_mystery`), a multiplicative path that cannot produce a negative number
# ({doc}`07_sign_caveat`, {doc}`08_signed_fix`) and a recurrent cell that has to be exactly the
# identity ({doc}`11_recurrent`). This chapter pulls the causes together. For each one it states
# the mechanism in one equation, measures it in a small experiment over many seeds, and shows it
# in a figure:
#
# 1. the log path's gradient, $\partial m / \partial W = m \cdot \log(|x| + \varepsilon)$;
# 2. the initialisation near $W \approx 0$, where $m \approx 1$;
# 3. the gate, which collapses onto one path early and flips with the sign of its input;
# 4. the one weight matrix that has to serve two incompatible paths;
# 5. the lost sign, and the exact identity a recurrence needs;
# 6. how the NAU and the NMU of {cite:t}`madsen2020nau` remove each of them.
#
# Recall the unit {cite}`trask2018nalu`: with $W = \tanh(\hat W) \odot \sigma(\hat M)$,
#
# $$
# a = W x, \qquad m = \exp\bigl(W \log(|x| + \varepsilon)\bigr), \qquad g = \sigma(G x), \qquad
# y = g \odot a + (1 - g) \odot m .
# $$
#
# The experiments use the task of {doc}`03_nalu`: $y = x_1 \times x_2$ or $y = x_1 + x_2$,
# trained on $x \sim U[1, 2]$ and tested on $U[2, 6]$, Adam with learning rate 0.1, batches of 64
# fresh samples, and the success criterion of {cite:t}`madsen2020nau`.

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
from torch.func import functional_call, grad, vmap

import nalu
from nalu_book.book import number_format, fmt_number, compare_rates, fmt_rate, mode_banner, provisional, save_results
from nalu_book.results import Finding

SEEDS = list(range(6 if quick else 40))
STEPS = 1_000 if quick else 10_000
N_INPUTS = 500 if quick else 2_000  # inputs per seed for the gradient and initialisation measurements
EVAL_SIZE = 1_000 if quick else 5_000
LR = 0.1
BATCH = 64
SNAPSHOTS = sorted({s for s in (0, 10, 30, 100, 300, 1_000, 3_000, 10_000) if s < STEPS} | {STEPS})
TASKS = {op: nalu.two_input(op, (1.0, 2.0), (2.0, 6.0)) for op in ("mul", "add")}
SYM = {op: nalu.Operation.parse(op).symbol for op in ("mul", "add")}
NOTE = provisional(quick)
mode_banner(quick, seeds=len(SEEDS), steps=STEPS, lr=LR, batch=BATCH)


# %% [markdown]
# Every experiment goes through the package: `nalu.train` trains all seeds at once, and a unit
# with its gate pinned to the multiplicative path is the package's NALU with the linear gate of
# the PyTorch blog post and $G = 0$, so that $g = 0$ and $y = m$ exactly.

# %%
def fresh(task):
    return nalu.FreshSamples(task, batch_size=BATCH, eval_size=EVAL_SIZE)


def run(factory, task, steps=STEPS, eval_every=10, reg=None, observe=None):
    """Train every seed of SEEDS with the chapter's protocol (``observe``: the trainer's hook, called
    with the stacked model before each step)."""
    return nalu.train(factory, fresh(task), SEEDS, steps=steps, lr=LR, reg=reg, eval_every=eval_every,
                      device=device, observe=observe, progress=False)


def successes(res):
    return nalu.success_table(res.log, res.threshold)


def inputs(lo, hi, n, seed=0, dim=2):
    return torch.from_numpy(np.random.default_rng(seed).uniform(lo, hi, size=(n, dim)).astype(np.float32))


def per_sample_grads(model, x):
    """∂y/∂θ for every input row of x and every parameter θ (y: the unit's single output)."""
    params = {k: v.detach() for k, v in model.named_parameters()}
    out = lambda p, xi: functional_call(model, p, (xi.unsqueeze(0),)).squeeze()
    return vmap(grad(out), in_dims=(None, 0))(params, x)


def log_path_only(seed, in_dim=2, out_dim=1):
    """The seed's NALU with its gate pinned to the multiplicative path: gate='linear' and G = 0 give
    g = 0 and 1 − g = 1, so y = m. Same initial W as the paper's unit for that seed."""
    unit = nalu.build(partial(nalu.NALU, in_dim, out_dim, gate="linear"), seed)
    with torch.no_grad():
        unit.G.zero_()
    return unit


# %% [markdown]
# ## 1. The log path's gradient
#
# The multiplicative path works in log space: $\log m = W \log(|x| + \varepsilon)$. Its gradient
# with respect to a weight is
#
# $$
# \frac{\partial m}{\partial W_i} = m \cdot \log(|x_i| + \varepsilon),
# $$
#
# and $\log(|x_i| + \varepsilon)$ has no lower bound but $\log \varepsilon$: with the package's
# $\varepsilon = 10^{-7}$ an input at zero contributes $\log \varepsilon \approx -16$. Two things
# follow. An input near zero produces a large gradient whose sign does not depend on whether that
# input matters; and with a negative weight, $m = \prod_i (|x_i| + \varepsilon)^{W_i}$ divides by
# that small number, so $m$ itself, and with it the gradient, grows without bound. We measure the
# per-sample gradient with automatic differentiation (one gradient per input row, for the unit
# with its gate pinned to the log path), check it against the formula, and compare it with the
# additive path's $\partial a / \partial W_i = x_i$ and with the NMU's gradient, over input ranges
# that do and do not come near zero, at the initial weights of every seed.

# %% tags=["hide-input"]
RANGES = {"U[1, 2]": (1.0, 2.0), "U[0.1, 1]": (0.1, 1.0), "U[−1, 1]": (-1.0, 1.0), "U[−0.001, 0.001]": (-1e-3, 1e-3)}
rows, formula_err = [], 0.0
for name, (lo, hi) in RANGES.items():
    x = inputs(lo, hi, N_INPUTS, seed=1)
    for s in SEEDS:
        unit = log_path_only(s)
        g = per_sample_grads(unit, x)
        w_hat, m_hat = unit.nac.W_hat.detach(), unit.nac.M_hat.detach()
        chain = (1 - torch.tanh(w_hat) ** 2) * torch.sigmoid(m_hat)  # ∂W/∂Ŵ
        dm_dw = (g["nac.W_hat"] / chain).reshape(len(x), -1)  # (N, in): ∂m/∂W_i per input row
        with torch.no_grad():
            m = unit(x)  # (N, 1)
        expected = m * torch.log(torch.abs(x) + unit.eps)
        formula_err = max(formula_err, float(((dm_dw - expected).abs() / expected.abs().clamp_min(1e-6)).max()))
        nmu = nalu.build(partial(nalu.NMU, 2, 1), s)
        dy_dw_nmu = per_sample_grads(nmu, x)["W"].reshape(len(x), -1)
        for unit_name, v in (("NALU log path ∂m/∂W", dm_dw), ("NALU add path ∂a/∂W = x", x), ("NMU ∂y/∂W", dy_dw_nmu)):
            rows.append(pd.DataFrame({"range": name, "seed": s, "gradient of": unit_name,
                                      "abs_grad": v.abs().flatten().numpy()}))
grads = pd.concat(rows, ignore_index=True)
grad_stats = (grads.groupby(["range", "gradient of"], sort=False).abs_grad
              .agg(median="median", p99=lambda v: np.quantile(v, 0.99), max="max").reset_index())
short = {"NALU log path ∂m/∂W": "log path", "NALU add path ∂a/∂W = x": "add path", "NMU ∂y/∂W": "NMU"}
wide = grad_stats.assign(g=grad_stats["gradient of"].map(short)).pivot(index="range", columns="g", values=["p99", "max"])
wide = wide.reindex(list(RANGES))
wide.columns = [f"{g} {stat}" for stat, g in wide.columns]
wide[["log path p99", "log path max", "add path max", "NMU max"]].style.format(number_format(3))

# %% tags=["hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [1, 1.6]})
xs = np.geomspace(1e-9, 10, 400)
eps = nalu.NALU(2, 1).eps
axes[0].plot(xs, np.abs(np.log(xs + eps)), color="C0")
axes[0].axhline(abs(np.log(eps)), color="C3", linestyle="--", label=f"|log ε| = {abs(np.log(eps)):.1f}")
axes[0].set(xscale="log", xlabel="|x|", ylabel="|log(|x| + ε)|", title="The log path's factor")
axes[0].legend()
plot = grads.sample(min(len(grads), 60_000), random_state=0)
sns.boxplot(data=plot, x="range", y="abs_grad", hue="gradient of", order=list(RANGES), ax=axes[1], fliersize=1,
            linewidth=0.8, hue_order=["NALU log path ∂m/∂W", "NALU add path ∂a/∂W = x", "NMU ∂y/∂W"])
axes[1].set(yscale="log", xlabel="input range", ylabel="|gradient| per sample",
            title=f"Per-sample gradients at initialisation ({len(SEEDS)} seeds)")
axes[1].tick_params(axis="x", labelsize=9)
axes[1].legend(fontsize=9, loc="upper left")
plt.tight_layout()
plt.show()

# %% tags=["hide-input"]
st = grad_stats.set_index(["range", "gradient of"])
LOG, ADD, NMU_G = "NALU log path ∂m/∂W", "NALU add path ∂a/∂W = x", "NMU ∂y/∂W"
far, near = "U[1, 2]", "U[−0.001, 0.001]"
ratio_p99 = st.loc[(near, LOG), "p99"] / st.loc[(far, LOG), "p99"]
nmu_max = grad_stats[grad_stats["gradient of"] == NMU_G]["max"].max()
Markdown(f"""Automatic differentiation agrees with $m \\cdot \\log(|x_i| + \\varepsilon)$ to a relative
error of {fmt_number(formula_err, 2)} (float32). On the training range $U[1, 2]$ the log path's per-sample gradient
has median {fmt_number(st.loc[(far, LOG), 'median'])} and 99th percentile {fmt_number(st.loc[(far, LOG), 'p99'])}, against a
median of {fmt_number(st.loc[(far, ADD), 'median'])} for the additive path's. On $U[-0.001, 0.001]$ its median is
{fmt_number(st.loc[(near, LOG), 'median'])}, its 99th percentile {fmt_number(st.loc[(near, LOG), 'p99'])}
({fmt_number(ratio_p99)} times the value on $U[1, 2]$) and its largest value {fmt_number(st.loc[(near, LOG), 'max'])}, while the
additive path's gradient is at most {fmt_number(st.loc[(near, ADD), 'max'])} there. On $U[-1, 1]$, the range that
straddles zero, the largest log-path gradient is {fmt_number(st.loc[('U[−1, 1]', LOG), 'max'])}. The NMU's gradient,
$\\partial y / \\partial W_i = (x_i - 1) \\prod_{{j \\ne i}} (W_j x_j + 1 - W_j)$, never exceeds {fmt_number(nmu_max)}
on any of these ranges.""")

# %% [markdown]
# Where a weight is negative, $m = \prod_i (|x_i| + \varepsilon)^{W_i}$ divides by
# $|x_i| + \varepsilon$, so an input near zero sends $m$, and the gradient, towards
# $\varepsilon^{-|W_i|}$; where it is positive, the factor $\log(|x_i| + \varepsilon) \approx -16$
# pushes the weight down whatever the task. A batch that happens to hold such an input gets a step
# that has little to do with the task. {doc}`04_mystery` (inputs with small values) and the
# division experiments of {doc}`08_signed_fix` (inputs near zero) show what this does on a task.
#
# ## 2. The initialisation: W near 0, m near 1
#
# The latent matrices start small (Xavier-uniform), so $W = \tanh(\hat W) \odot \sigma(\hat M)$
# starts near 0, and the wider the layer the nearer: the bound is $\sqrt{6/(\text{in} + \text{out})}$.
# At $W = 0$ the multiplicative path is $m = \exp(0) = 1$ for every input. How much of the
# target's variation can the path express at the start? On a log scale the answer is one number
# per seed: the spread of $\log m$ over the training inputs divided by the spread of
# $\log(x_1 x_2)$, the logarithm of the product it should learn (1 would mean "varies as much as
# the target", 0 "constant"). We measure it for layers of 2, 10 and 100 inputs (the two-input
# task, the TensorFlow blog post's 10 inputs, the static task's 100), and the same for the NMU.

# %% tags=["hide-input"]
rows = []
for in_dim in (2, 10, 100):
    x = inputs(1.0, 2.0, N_INPUTS, seed=2, dim=in_dim)
    log_target = torch.log(x[:, 0] * x[:, 1])
    for s in SEEDS:
        unit = log_path_only(s, in_dim)
        nmu = nalu.build(partial(nalu.NMU, in_dim, 1), s)
        with torch.no_grad():
            m, y_nmu = unit(x).squeeze(-1), nmu(x).squeeze(-1)
            w = unit.nac.W
        rows.append(dict(in_dim=in_dim, seed=s, unit="NALU (m)", median_abs_w=float(w.abs().median()),
                         spread=float(torch.log(m).std() / log_target.std()),
                         within_10pct=float(((m - 1).abs() < 0.1).float().mean())))
        rows.append(dict(in_dim=in_dim, seed=s, unit="NMU", median_abs_w=float(nmu.W.detach().abs().median()),
                         spread=float(torch.log(y_nmu.abs()).std() / log_target.std()),
                         within_10pct=float(((y_nmu - 1).abs() < 0.1).float().mean())))
init = pd.DataFrame(rows)

fig, ax = plt.subplots(figsize=(8, 3.8))
sns.stripplot(data=init, x="in_dim", y="spread", hue="unit", dodge=True, ax=ax, size=4, alpha=0.7)
ax.axhline(1, color="grey", linestyle=":", linewidth=1)
ax.set(yscale="log", xlabel="inputs of the layer", ylabel="spread of log output / spread of log(x₁x₂)",
       title="How much the multiplicative output varies at initialisation (one dot per seed)")
plt.show()

# %% tags=["hide-input"]
ini = init.groupby(["unit", "in_dim"]).agg(spread=("spread", "median"), w=("median_abs_w", "median"),
                                           near_one=("within_10pct", "median"))
Markdown(f"""At initialisation the median $|W|$ of the NALU is {ini.loc[('NALU (m)', 2), 'w']:.2f} with 2
inputs, {ini.loc[('NALU (m)', 10), 'w']:.2f} with 10 and {ini.loc[('NALU (m)', 100), 'w']:.3f} with 100. The
spread of $\\log m$ is {ini.loc[('NALU (m)', 2), 'spread']:.2f}, {ini.loc[('NALU (m)', 10), 'spread']:.2f} and
{ini.loc[('NALU (m)', 100), 'spread']:.2f} times that of the target's logarithm (medians over seeds), and with
100 inputs a median fraction {ini.loc[('NALU (m)', 100), 'near_one']:.0%} of the initial $m$ lie within 10% of 1.
The NMU, initialised at $W \\in [0.25, 0.75]$ (median {ini.loc[('NMU', 2), 'w']:.2f}), starts with a spread of
{ini.loc[('NMU', 2), 'spread']:.2f} with 2 inputs and {ini.loc[('NMU', 100), 'spread']:.2f} with 100: its output
starts as a product of every input instead of a constant.""")

# %% [markdown]
# A constant path is harmless in itself, but its gradient is not neutral: at $W = 0$,
# $\partial m/\partial W_i = \log(|x_i| + \varepsilon)$, which on $U[1, 2]$ is positive for every
# input, relevant or not. The first steps therefore move all the log path's weights together,
# while the gate weighs a multiplicative path that varies less than its target (the ratios
# above) against an additive path that already varies with the inputs. The next section measures which path the gate settles on.
#
# ## 3. The gate: early collapse, and a flip with the input's sign
#
# We train the paper's NALU (shared weights, gate $\sigma(G x)$) on × and + and follow its gate,
# averaged over the training inputs, during training: one run per operation, whose gate the
# trainer's `observe` hook reads at each snapshot step (before that step's update, so after $n$
# updates at step $n$), and the trained model's at the last step. A gate near 0 selects the
# multiplicative path, near 1 the additive one.

# %% tags=["hide-input"]
x_gate = torch.from_numpy(TASKS["mul"].inputs(EVAL_SIZE, "interpolation", np.random.default_rng(3)))


def mean_gates(model):
    """Each seed's gate, averaged over the training inputs x_gate."""
    with torch.no_grad():
        return model.gate(x_gate).mean(dim=(-2, -1))


traj, finals = [], {}
for op, task in TASKS.items():
    def snapshot(step, model, op=op):
        if step in SNAPSHOTS:
            traj.extend(dict(op=op, seed=s, step=step, gate=float(g)) for s, g in zip(SEEDS, mean_gates(model)))

    finals[op] = run(partial(nalu.NALU, 2, 1), task, observe=snapshot)
    traj += [dict(op=op, seed=s, step=STEPS, gate=float(g)) for s, g in zip(SEEDS, mean_gates(finals[op].model))]
traj = pd.DataFrame(traj)
tables = {op: successes(r) for op, r in finals.items()}

# %% tags=["hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for ax, op in zip(axes, TASKS):
    ok = tables[op].set_index("seed").success
    for s, g in traj[traj.op == op].groupby("seed"):
        ax.plot(g.step.clip(lower=1), g.gate, color="C2" if ok.loc[s] else "C3", alpha=0.6, linewidth=1, marker=".")
    ax.set(xscale="log", xlabel="training step (step 0 drawn at 1)", title=f"y = x₁ {SYM[op]} x₂")
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
axes[0].set_ylabel("mean gate g over training inputs")
axes[1].plot([], [], color="C2", label="successful seed")
axes[1].plot([], [], color="C3", label="failed seed")
axes[1].legend(fontsize=9)
fig.suptitle("The gate during training: near 0 = multiplicative path, near 1 = additive path", fontsize=11)
plt.tight_layout()
plt.show()


# %% tags=["hide-input"]
def collapse_step(g: pd.DataFrame, tol: float = 0.05):
    """First snapshot from which the gate stays within tol of its final value, that value itself
    within tol of 0 or 1 (None if the gate never saturates)."""
    g = g.sort_values("step")
    final = g.gate.iloc[-1]
    if min(final, 1 - final) > tol:
        return None
    settled = (g.gate - final).abs() < tol
    after = settled.astype(int)[::-1].cumprod()[::-1].astype(bool)  # settled from here to the end
    return int(g.step[after].iloc[0])


gate_rows = []
for op in TASKS:
    right_path = (lambda v: v < 0.5) if op == "mul" else (lambda v: v > 0.5)
    for s, g in traj[traj.op == op].groupby("seed"):
        final = g.sort_values("step").gate.iloc[-1]
        gate_rows.append(dict(op=op, seed=s, final_gate=final, wrong_path=not right_path(final),
                              collapse=collapse_step(g)))
gate_table = pd.DataFrame(gate_rows).merge(pd.concat([t.assign(op=op) for op, t in tables.items()]), on=["op", "seed"])

lines = []
gate_out = {}
for op in TASKS:
    t = gate_table[gate_table.op == op]
    wrong, succ = nalu.success_rate(t.wrong_path), nalu.success_rate(t.success)
    col = t.collapse.dropna()
    early = float((col <= STEPS // 10).mean()) if len(col) else float("nan")
    stuck = int((t.wrong_path & t.collapse.notna()).sum())
    gate_out[op] = dict(wrong=wrong, success=succ, saturated=len(col), early=early, stuck=stuck,
                        median_collapse=float(col.median()) if len(col) else None,
                        success_on_wrong_path=int((t.wrong_path & t.success).sum()))
    coll = (f"the gate saturates (within 0.05 of 0 or 1, and stays) in {len(col)} of {len(t)} seeds, at a median step "
            f"of {col.median():,.0f}; {early:.0%} of those by step {STEPS // 10:,} (a tenth of training)"
            if len(col) else "no seed's gate saturates within the run")
    lines.append(f"* **{SYM[op]}**: success {fmt_rate(succ)}; the final gate selects the wrong path in "
                 f"{fmt_rate(wrong)} of seeds; {coll}; {stuck} seeds saturate on the wrong path, and "
                 f"{gate_out[op]['success_on_wrong_path']} seeds succeed on it.")
Markdown("\n".join(lines) + "\n\n" + NOTE.strip())

# %% [markdown]
# A saturated gate stops learning: $\partial y/\partial (Gx) = g(1-g)(a - m)$ vanishes as
# $g \to 0$ or $1$, so a gate that has settled on the wrong path early has no gradient left to
# leave it. {doc}`03_nalu` counts how often the shared NALU ends on the wrong path.
#
# The second problem of the gate is specific to signed inputs. The gate is a sigmoid of a linear
# function of $x$, and $\sigma(-z) = 1 - \sigma(z)$, so
#
# $$
# g(-x) = \sigma(-G x) = 1 - g(x):
# $$
#
# whatever the weights, an input and its negative are sent to opposite paths (unless $Gx = 0$,
# where both get an even mix). On a task whose inputs are symmetric around zero, a gate that
# sends half the inputs to the product sends the other half to the sum. We check the identity on
# the trained units and train the same NALU on the signed product of {doc}`07_sign_caveat`
# ($x \in [-2, 2]$).

# %% tags=["hide-input"]
signed_task = nalu.signed_task("mul")
res_signed = run(partial(nalu.NALU, 2, 1), signed_task)
x_signed = torch.from_numpy(signed_task.inputs(EVAL_SIZE, "interpolation", np.random.default_rng(4)))
with torch.no_grad():
    g_pos, g_neg = res_signed.model.gate(x_signed), res_signed.model.gate(-x_signed)
    flip_dev = float((g_pos + g_neg - 1).abs().max())
    routed_signed = (g_pos < 0.5).float().mean(dim=(-2, -1)).numpy()  # per seed: share sent to m
    routed_unsigned = (finals["mul"].model.gate(x_gate) < 0.5).float().mean(dim=(-2, -1)).numpy()
tab_signed = successes(res_signed)

fig, ax = plt.subplots(figsize=(8, 3.5))
bins = np.linspace(0, 1, 21)
ax.hist(routed_unsigned, bins=bins, alpha=0.6, label="× on U[1, 2] (unsigned)")
ax.hist(routed_signed, bins=bins, alpha=0.6, label="× on U[−2, 2] (signed)")
ax.set(xlabel="share of training inputs the final gate sends to the multiplicative path (g < 0.5)",
       ylabel="seeds", title="Where the gate routes the inputs after training")
ax.legend(fontsize=9)
plt.show()

# %% tags=["hide-input"]
mid = lambda v: float(np.mean((v > 0.1) & (v < 0.9)))
Markdown(f"""On the trained units, $|g(x) + g(-x) - 1|$ is at most {fmt_number(flip_dev, 2)} over {EVAL_SIZE:,} signed inputs
and {len(SEEDS)} seeds: the identity holds to float rounding. After training on the signed product, the gate
sends between 10% and 90% of the inputs to the multiplicative path in {mid(routed_signed):.0%} of seeds (on
unsigned inputs: {mid(routed_unsigned):.0%}); the median share is {np.median(routed_signed):.2f}. The signed product
is learned by {fmt_rate(nalu.success_rate(tab_signed.success))} of seeds.{NOTE}""")

# %% [markdown]
# ## 4. One weight matrix for two paths
#
# In the paper's unit the two paths share $W$. For $y = x_1 x_2$ the log path needs
# $W = (1, 1)$, and with that $W$ the additive path computes $x_1 + x_2$, which the gate must then
# switch off completely; for $y = x_1 + x_2$ it is the other way round. While the gate is still
# open, the gradient reaching $W$ is the sum of two gradients, one from each path, and they need
# not agree. We measure both parts at initialisation and after training: a NALU with separate weights whose two
# weight matrices (and gate) are set equal to the shared unit's computes the same output, and its
# two weight gradients are the two paths' contributions (their sum is the shared unit's gradient;
# both equalities are checked). Then we train the unit with separate weights, as the PyTorch blog
# post does, with the same protocol.

# %% tags=["hide-input"]
conflict_rows, check_dev = [], 0.0
x_c = torch.from_numpy(TASKS["mul"].inputs(N_INPUTS, "interpolation", np.random.default_rng(5)))
for (op, task), stage in [(t, st_) for t in TASKS.items() for st_ in ("initialisation", "end of training")]:
    y_c = task.targets(x_c)
    for s in SEEDS:
        shared = nalu.build(partial(nalu.NALU, 2, 1), s) if stage == "initialisation" else finals[op].model_for(s)
        for p in shared.parameters():
            p.requires_grad_(True)
        split = nalu.build(partial(nalu.NALU, 2, 1, shared=False), s)
        with torch.no_grad():
            for name in ("W_hat", "M_hat"):
                getattr(split.nac, name).copy_(getattr(shared.nac, name))
                getattr(split.nac_log, name).copy_(getattr(shared.nac, name))
            split.G.copy_(shared.G)
        ((shared(x_c) - y_c) ** 2).mean().backward()
        ((split(x_c) - y_c) ** 2).mean().backward()
        g_add, g_log = split.nac.W_hat.grad.flatten(), split.nac_log.W_hat.grad.flatten()
        with torch.no_grad():
            check_dev = max(check_dev, float((g_add + g_log - shared.nac.W_hat.grad.flatten()).abs().max()),
                            float((shared(x_c) - split(x_c)).abs().max()))
            cos = float(torch.nn.functional.cosine_similarity(g_add, g_log, dim=0))
            ratio = float(g_log.norm() / g_add.norm())
        conflict_rows.append(dict(op=op, stage=stage, seed=s, cosine=cos, log_over_add=ratio))
conflict = pd.DataFrame(conflict_rows)

separate = {op: successes(run(partial(nalu.NALU, 2, 1, shared=False), task)) for op, task in TASKS.items()}

fig, ax = plt.subplots(figsize=(8, 3.8))
sns.stripplot(data=conflict, x="cosine", y="op", hue="stage", dodge=True, ax=ax, size=5, alpha=0.7, jitter=0.15)
ax.axvline(0, color="grey", linestyle=":", linewidth=1)
ax.set(xlabel="cosine between the additive and the log path's gradient on the shared W", ylabel="task",
       title="Do the two paths pull the shared W the same way? (one dot per seed)")
ax.set_yticks(range(len(TASKS)), [f"y = x₁ {SYM[op]} x₂" for op in TASKS])
ax.legend(fontsize=9)
plt.show()

# %% tags=["hide-input"]
lines, shared_out = [], {}
for op in TASKS:
    c = conflict[(conflict.op == op) & (conflict.stage == "initialisation")]
    e = conflict[(conflict.op == op) & (conflict.stage == "end of training")]
    r_sh, r_sep = nalu.success_rate(tables[op].success), nalu.success_rate(separate[op].success)
    shared_out[op] = dict(opposed=float((c.cosine < 0).mean()), opposed_end=float((e.cosine < 0).mean()),
                          shared=r_sh, separate=r_sep, median_log_over_add=float(c.log_over_add.median()))
    lines.append(f"* **{SYM[op]}**: the two gradients point in opposing directions (cosine < 0) for "
                 f"{shared_out[op]['opposed']:.0%} of seeds at initialisation, where the log path's gradient is "
                 f"{fmt_number(c.log_over_add.median(), 2)} times the additive path's (median), and for "
                 f"{shared_out[op]['opposed_end']:.0%} after {STEPS:,} steps. Success: "
                 + compare_rates(r_sh, r_sep, "shared $W$", "separate weights", above=": shared weights do better",
                                 below=": separate weights do better") + ".")
Markdown(f"""The separate-weight unit reproduces the shared one's output and gradient to {fmt_number(check_dev, 2)}.\n\n"""
         + "\n".join(lines) + "\n\n" + NOTE.strip())

# %% [markdown]
# {doc}`03_nalu` runs this comparison at the book's full budget; {doc}`08_signed_fix` keeps the
# weights separate for this reason.
#
# ## 5. The lost sign, and the identity a recurrence needs
#
# The log path works on $|x|$, so $m = \exp(W\log(|x|+\varepsilon)) > 0$ for every input: no
# weights let it output a negative product. We set the weights of the paper's unit to the exact
# solution of $y = x_1 x_2$ ($W = (1, 1)$, gate pinned to the log path) and evaluate it on the
# signed task of {doc}`07_sign_caveat`, beside the NMU with its exact weights.

# %%
exact = log_path_only(0)
exact_nmu = nalu.build(partial(nalu.NMU, 2, 1), 0)
with torch.no_grad():
    exact.nac.W_hat.fill_(20.0)  # tanh(20) = σ(20) = 1 in float32
    exact.nac.M_hat.fill_(20.0)
    exact_nmu.W.fill_(1.0)
    x_s = torch.from_numpy(signed_task.inputs(EVAL_SIZE, "extrapolation", np.random.default_rng(6)))
    y_s = signed_task.targets(x_s)
    thr = signed_task.success_threshold(x_s)
    y_nalu, y_nmu = exact(x_s), exact_nmu(x_s)
w_exact = float(exact.nac.W.detach().min())
wrong_sign = float((torch.sign(y_nalu) != torch.sign(y_s)).float().mean())
mse_nalu, mse_nmu = nalu.mse(y_nalu, y_s), nalu.mse(y_nmu, y_s)
Markdown(f"""With $W = {w_exact:g}$ exactly, the NALU's output has the wrong sign on {wrong_sign:.1%} of the
{EVAL_SIZE:,} signed test inputs, and its test MSE is {fmt_number(mse_nalu)}, {fmt_number(mse_nalu / thr)} times the success
threshold ({fmt_number(thr)}). The NMU with its exact weights has test MSE {fmt_number(mse_nmu)}.""")

# %% [markdown]
# The second half of this cause is exactness. An accumulator that adds $x_t$ to a running total
# $h_t = W_h h_{t-1} + W_x x_t$ is right only if $W_h = W_x = 1$; a weight of $1 - \delta$ forgets a
# fraction $\delta$ of the total at every step, and over $T$ steps the error grows like
# $1 - (1 - \delta)^T$. The NAC (and with it the NALU's additive path) reaches 1 only in the limit
# $\hat W, \hat M \to \infty$; the NAU clamps its weights to $[-1, 1]$ and can sit on 1 exactly.
# We train both on $y = x_1 + x_2$ (the NAU with Madsen & Johansen's regulariser, $\hat\lambda =
# 0.01$, warmed up over the second and third quarter of training), then run each trained unit as
# the recurrent cell $h_t = \text{unit}(h_{t-1}, x_t)$ over sequences of $x_t \sim U[1, 2]$ and
# compare $h_T$ with the true sum, as {doc}`11_recurrent` does with a trained recurrent cell.

# %% tags=["hide-input"]
res_nac = run(partial(nalu.NAC, 2, 1), TASKS["add"])
res_nau = run(partial(nalu.NAU, 2, 1), TASKS["add"], reg=nalu.Warmup(0.01, STEPS // 4, STEPS // 2))
LENGTHS = [1, 3, 10, 30, 100, 300, 1_000]
x_seq = torch.from_numpy(np.random.default_rng(7).uniform(1, 2, size=(max(LENGTHS), 100, 1)).astype(np.float32))
truth = x_seq.cumsum(dim=0)  # (T, sequences, 1)
rec_rows = []
for name, res in (("NAC", res_nac), ("NAU", res_nau)):
    cell = res.model
    h = torch.zeros(len(SEEDS), x_seq.shape[1], 1)
    with torch.no_grad():
        for t in range(max(LENGTHS)):
            h = cell(torch.cat([h, x_seq[t].expand(len(SEEDS), -1, -1)], dim=-1))
            if t + 1 in LENGTHS:
                rel = ((h - truth[t]).abs() / truth[t]).median(dim=1).values.squeeze(-1)  # per seed
                rec_rows += [dict(unit=name, seed=s, T=t + 1, rel_error=float(e)) for s, e in zip(SEEDS, rel)]
    w = cell.W.detach().reshape(len(SEEDS), -1)
    rec_rows += [dict(unit=name, seed=s, T=0, rel_error=np.nan, exact_one=bool((w[i] == 1).all()),
                      delta=float((1 - w[i]).abs().max())) for i, s in enumerate(SEEDS)]
rec = pd.DataFrame(rec_rows)

fig, ax = plt.subplots(figsize=(8, 3.8))
r = rec[rec["T"] > 0]
sns.lineplot(data=r, x="T", y="rel_error", hue="unit", units="seed", estimator=None, alpha=0.5, linewidth=0.8, ax=ax)
ax.set(xscale="log", xlabel="sequence length T", ylabel="relative error of the running sum",
       title="A trained cell used as an accumulator (one line per seed)")
ax.set_yscale("symlog", linthresh=1e-7)
plt.show()

# %% tags=["hide-input"]
w_info = rec[rec["T"] == 0].groupby("unit").agg(exact=("exact_one", "mean"), delta=("delta", "median"))
err_T = rec[rec["T"] == max(LENGTHS)].groupby("unit").rel_error.median()
err_10 = rec[rec["T"] == 10].groupby("unit").rel_error.median()
Markdown(f"""After {STEPS:,} steps on $y = x_1 + x_2$, the NAC's weights sit a median $\\delta$ =
{fmt_number(w_info.loc['NAC', 'delta'], 2)} from 1 and are exactly 1 in {w_info.loc['NAC', 'exact']:.0%} of seeds; the NAU's
are exactly 1 in {w_info.loc['NAU', 'exact']:.0%} of seeds (median $\\delta$ = {fmt_number(w_info.loc['NAU', 'delta'], 2)}).
Used as an accumulator, the NAC's running sum is off by a median {fmt_number(err_10.loc['NAC'], 2)} (relative) after 10
steps and {fmt_number(err_T.loc['NAC'], 2)} after {max(LENGTHS):,}; the NAU's by {fmt_number(err_10.loc['NAU'], 2)} and
{fmt_number(err_T.loc['NAU'], 2)}.{NOTE}""")

# %% [markdown]
# ## 6. What the NAU and the NMU change
#
# {cite:t}`madsen2020nau` replace the NALU by two separate layers. The NAU is $y = W x$ with $W$
# clamped to $[-1, 1]$ after every step; the NMU is $y_j = \prod_i (W_{ij} x_i + 1 - W_{ij})$ with
# $W$ clamped to $[0, 1]$; both add a regulariser $\min(|W|, 1 - |W|)$ that pushes every weight to
# 0 or $\pm1$. Against the causes above:
#
# * **no log**: the NMU multiplies directly, so its gradient (section 1) has no $\log \varepsilon$
#   and no division;
# * **no constant start**: the NMU starts at $W \in [0.25, 0.75]$, a product of every input
#   (section 2);
# * **no gate**: addition and multiplication are separate layers stacked by the network, so there
#   is nothing to collapse or flip (section 3);
# * **no shared weights**: each layer has its own $W$ (section 4);
# * **the sign kept, and exact weights**: $W x_i + 1 - W$ with $W = 1$ is $x_i$, sign included, and
#   the clamp lets a weight be exactly 1 (section 5).
#
# The same protocol on the same two tasks, the NMU on × and the NAU on +, each with its regulariser
# warmed up over the second and third quarter of training ($\hat\lambda = 10$ for the NMU, 0.01 for
# the NAU):

# %% tags=["hide-input"]
res_nmu = run(partial(nalu.NMU, 2, 1), TASKS["mul"], reg=nalu.Warmup(10.0, STEPS // 4, STEPS // 2))
madsen = {"mul": ("NMU", successes(res_nmu)), "add": ("NAU", successes(res_nau))}
rows = []
for op in TASKS:
    name, t = madsen[op]
    rows.append({"task": f"y = x₁ {SYM[op]} x₂", "NALU (shared, the paper)": fmt_rate(nalu.success_rate(tables[op].success)),
                 "NALU (separate weights)": fmt_rate(nalu.success_rate(separate[op].success)),
                 "Madsen & Johansen's unit": f"{name}: {fmt_rate(nalu.success_rate(t.success))}"})
pd.DataFrame(rows).style.hide(axis="index")

# %% tags=["hide-input"]
mad_rates = {op: nalu.success_rate(madsen[op][1].success) for op in TASKS}
nalu_rates = {op: nalu.success_rate(tables[op].success) for op in TASKS}
lines = []
for op in TASKS:
    name = madsen[op][0]
    lines.append(f"* **{SYM[op]}**: " + compare_rates(mad_rates[op], nalu_rates[op], name, "the NALU",
                                                       above=f": the {name} does better than the NALU",
                                                       below=f": the NALU does better than the {name}") + ".")
Markdown("\n".join(lines) + "\n\n" + NOTE.strip())

# %% [markdown]
# ## What it shows
#
# The table collects the measurements of this chapter, cause by cause, with the chapter that
# shows the consequence on a task.

# %% tags=["hide-input"]
summary_rows = [
    ("log-path gradient", f"99th pct. |∂m/∂W| {fmt_number(st.loc[(near, LOG), 'p99'])} near 0 vs {fmt_number(st.loc[(far, LOG), 'p99'])} on U[1, 2]",
     f"NMU: max |∂y/∂W| {fmt_number(nmu_max)}", "4, 8"),
    ("constant start", f"log-spread of m at init: {ini.loc[('NALU (m)', 100), 'spread']:.2f} (100 inputs)",
     f"NMU: {ini.loc[('NMU', 100), 'spread']:.2f}", "3, 6"),
    ("gate collapse (×)", f"wrong path {fmt_rate(gate_out['mul']['wrong'])}", "no gate", "3"),
    ("gate flips with sign", f"|g(x) + g(−x) − 1| ≤ {fmt_number(flip_dev, 1)}", "no gate", "7, 8"),
    ("shared W (×)", f"opposed path gradients: {shared_out['mul']['opposed']:.0%} of seeds at start, "
     f"{shared_out['mul']['opposed_end']:.0%} at the end", "separate layers", "3"),
    ("lost sign", f"wrong sign on {wrong_sign:.0%} of signed inputs at exact W", f"NMU: MSE {fmt_number(mse_nmu, 2)}", "7, 8"),
    ("exact identity", f"NAC: W = 1 exactly in {w_info.loc['NAC', 'exact']:.0%} of seeds",
     f"NAU: {w_info.loc['NAU', 'exact']:.0%}", "2, 11"),
]
pd.DataFrame(summary_rows, columns=["cause", "NALU (measured here)", "NAU / NMU (measured here)", "chapters"]) \
    .style.hide(axis="index")

# %% tags=["remove-cell"]
ME = "This book (chapter 14)"
n_seeds = len(SEEDS)
# Only what could have come out the other way is a finding. Three facts this chapter shows hold by
# construction and are unit tests instead: the log path's gradient formula (autograd against the
# chain rule), g(−x) = 1 − g(x) (an identity of the sigmoid), and that m = exp(·) > 0 loses a
# product's sign (the measured share of wrong signs above is their consequence, not a test).
findings = [
    Finding("14", ME, "near zero the log path's gradient is at least ten times that on the training range",
            "99th percentile of |∂m/∂W| at initialisation", "check", test="U[−0.001, 0.001] ≥ 10 × U[1, 2]",
            own=True, n=n_seeds,
            passed=bool(st.loc[(near, LOG), "p99"] >= 10 * st.loc[(far, LOG), "p99"]),
            note=f"{fmt_number(st.loc[(near, LOG), 'p99'])} vs {fmt_number(st.loc[(far, LOG), 'p99'])}"),
    Finding("14", ME, "trained on a sum, the NAU reaches W = 1 exactly in more seeds than the NAC",
            "weights after training", "check", test="fraction of seeds with W = 1 exactly, NAU > NAC", own=True,
            n=n_seeds, budget=STEPS,
            passed=bool(w_info.loc["NAU", "exact"] > w_info.loc["NAC", "exact"]),
            note=f"NAU {w_info.loc['NAU', 'exact']:.0%}, NAC {w_info.loc['NAC', 'exact']:.0%}"),
]
_ = save_results(results_dir, "14_why_nalu_fails", {
    "n_seeds": len(SEEDS), "steps": STEPS, "lr": LR, "batch_size": BATCH, "quick": quick,
    "log_eps": float(np.log(eps)),
    "grad_formula_max_rel_error": formula_err,
    "grad_log_path_p99_near_zero": float(st.loc[(near, LOG), "p99"]),
    "grad_log_path_p99_train_range": float(st.loc[(far, LOG), "p99"]),
    "grad_log_path_max_straddling_zero": float(st.loc[("U[−1, 1]", LOG), "max"]),
    "grad_nmu_max": float(nmu_max),
    "init_log_spread_nalu": {str(d): float(ini.loc[("NALU (m)", d), "spread"]) for d in (2, 10, 100)},
    "init_log_spread_nmu": {str(d): float(ini.loc[("NMU", d), "spread"]) for d in (2, 10, 100)},
    **{f"gate_wrong_path_{op}": gate_out[op]["wrong"] for op in TASKS},
    **{f"gate_success_{op}": gate_out[op]["success"] for op in TASKS},
    **{f"gate_saturated_{op}": gate_out[op]["saturated"] for op in TASKS},
    **{f"gate_median_collapse_step_{op}": gate_out[op]["median_collapse"] for op in TASKS},
    **{f"gate_success_on_wrong_path_{op}": gate_out[op]["success_on_wrong_path"] for op in TASKS},
    "gate_flip_max_dev": flip_dev,
    "signed_mixed_gate_fraction": mid(routed_signed),
    "signed_success": nalu.success_rate(tab_signed.success),
    **{f"shared_opposed_fraction_{op}": shared_out[op]["opposed"] for op in TASKS},
    **{f"shared_opposed_fraction_end_{op}": shared_out[op]["opposed_end"] for op in TASKS},
    **{f"shared_success_{op}": shared_out[op]["shared"] for op in TASKS},
    **{f"separate_success_{op}": shared_out[op]["separate"] for op in TASKS},
    "exact_nalu_wrong_sign_fraction": wrong_sign,
    "exact_nalu_signed_mse_over_threshold": float(mse_nalu / thr),
    "exact_nmu_signed_mse": float(mse_nmu),
    "nac_exact_one_fraction": float(w_info.loc["NAC", "exact"]),
    "nau_exact_one_fraction": float(w_info.loc["NAU", "exact"]),
    "nac_accumulator_rel_error_T1000": float(err_T.loc["NAC"]),
    "nau_accumulator_rel_error_T1000": float(err_T.loc["NAU"]),
    "nmu_success_mul": mad_rates["mul"], "nau_success_add": mad_rates["add"],
}, findings=findings)
