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
# # Multiplying and adding handwritten digits in sequence
#
# Madsen & Johansen {cite}`madsen2020nau` (§4.2 and their appendix on sequential MNIST) ask whether a
# multiplication unit can sit inside a deeper network and still be learned by gradient descent. A
# convolutional network maps each MNIST image of a digit 1–9 to one scalar $z_t$; a recurrent
# arithmetic unit combines it with the previous state, $h_t = U([z_t; h_{t-1}])$, and every $h_t$ must
# equal the product of the digits seen so far. The whole network is trained end to end on sequences of
# two images and tested on sequences of 1 to 20. Their protocol: batches of 64, up to 1,000 epochs, 10
# seeds, the best epoch chosen by the MSE on held-out training images; the NMU and the NAC•,NMU (the
# NALU's multiplicative path with the NMU's clamped $[0, 1]$ weights and regulariser) carry a second
# regulariser $\mathcal{R}_z$ on the CNN's output. A model *succeeds* at a length when its test MSE is
# below the one-sided 1% upper confidence bound of a *reference* model whose arithmetic is exact,
# $h_t = h_{t-1} z_t$, so that only the CNN is learned. They report the NMU succeeding in 10/10 seeds
# at length 2 and 8/10 at length 20, the NAC•,NMU in 9/10 falling to 6/10, the NAC•,σ (weights
# $\sigma(\hat W)$) in 6/10 and the NAC• in 5/10 at length 2, both falling to none, and the NALU and an
# LSTM never.
#
# This chapter rebuilds the experiment at laptop scale. What differs, and how it changes the task:
#
# * **The images** are scikit-learn's 8×8 digits (the ones of the chapter on counting digits), not
#   MNIST, which cannot be downloaded while the book builds: the digits 1–9 of 1,797 images, split
#   into disjoint training, validation (the held-out training images that choose the best epoch) and
#   test images. There are about 50 times fewer training images than MNIST's, and each has 64 pixels
#   instead of 784; recognising them is easier per image, but the CNN sees far fewer examples.
# * **The CNN** is small (16 filters of 3×3, one max-pool, one hidden layer of 64; about 10,000
#   weights instead of MNIST's network of 430,000), and its output is the *expected digit* under a
#   softmax over the nine classes, $z = \sum_{k=1}^{9} k\, p_k$, where the paper's CNN outputs a free
#   scalar. With so few training images a free-scalar CNN, trained through the product alone, learns to
#   read fewer than half of the test digits (the reference below, trained both ways, shows it), and a
#   reference that cannot read leaves the success criterion without teeth. The expected digit lies in
#   $[1, 9]$, so the CNN cannot hand the unit a rescaled or negated digit; that removes one of the
#   failure modes $\mathcal{R}_z$ is there to prevent, and makes the task easier for every model alike.
# * **The budget** is far shorter: a few hundred epochs of a few gradient steps each, against the
#   paper's 1,000 epochs of about 390 steps. The regulariser schedule is scaled with it (below). The
#   verdicts compare our steps with theirs, so a claim our budget cannot test is called underpowered.
# * **More seeds**: 20 in the full build (the book's minimum for a verdict) against the paper's 10.
# * **Baselines**: the LSTM has 16 units and an affine readout (the reference code's LSTM has one unit
#   whose output, a tanh, cannot exceed 1, so it could not have succeeded); the NALU starts, as in the
#   reference code, from $h_0 = 0$; every other unit from $h_0 = 1$.
# * **$\mathcal{R}_z$** is applied to the unit's inputs $[z_t; h_{t-1}]$ for both the NMU and the
#   NAC•,NMU, the paper's formula; the reference code applies it to the NAC•,NMU's log-inputs.
# * **Test sequences** are drawn with replacement from the test images (1,000 sequences of 20; the
#   sequences of length $T$ are their first $T$ images). As in the reference code, the MSE at length
#   $T$ averages the squared error over all $T$ steps of the running product.
# * The companion task, the running sum of sequences of 10 digits tested on up to 1,000, is the
#   chapter's second part, with the same images, CNN and training loop.

# %% tags=["parameters"]
quick = True  # quick: CI check; full: the reproduction (make build)
device = "cpu"
results_dir = "../build/results"
kept_dir = "../results/chapters"  # the full build's runs, kept with the book (quick mode keeps nothing)

# %% tags=["hide-input"]
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

import nalu
from nalu import applied
from nalu_book.book import number_format, MIN_SEEDS, mode_banner, provisional, save_results
from nalu_book.kept import kept_run
from nalu_book.results import Finding

torch.set_num_threads(1)  # small recurrent steps: one thread beats two that wait on each other
t_start = time.process_time()
SEEDS = list(range(3 if quick else 20))
EPOCHS = 10 if quick else 500
LR = 1e-2
CNN = dict(channels=16, hidden=64, softmax=True)  # the expected digit under a softmax over 1–9 (see above)
BATCH, TRAIN_LENGTH, MAX_LENGTH = 64, 2, 20
N_TEST = 300 if quick else 1000
split = applied.product_digit_split(nalu.rng_for(0, 11))
STEPS_PER_EPOCH = -(-(len(split["train"][1]) // TRAIN_LENGTH) // BATCH)
STEPS = EPOCHS * STEPS_PER_EPOCH
# the reference code's schedule: the sparsity regulariser (λ = 10) grows linearly from step 10,000 to
# 100,000 of about 390,000; here from the same fractions of our steps
PAPER_STEPS = 1000 * (55_000 * 0.9 / TRAIN_LENGTH) / BATCH  # 1,000 epochs; about 90% of MNIST's 55,000 training images are 1–9
SPARSITY = nalu.Warmup(10.0, int(STEPS * 10_000 / PAPER_STEPS), int(STEPS * 100_000 / PAPER_STEPS))
RZ = 1.0
mode_banner(quick, seeds=len(SEEDS), epochs=EPOCHS, steps=STEPS, test_sequences=N_TEST)

# %% tags=["hide-input"]
Markdown(f"{len(split['train'][1])} training, {len(split['valid'][1])} validation and {len(split['test'][1])} test "
         f"images of the digits 1–9 (disjoint). An epoch is {len(split['train'][1]) // TRAIN_LENGTH} sequences of "
         f"{TRAIN_LENGTH} images, {STEPS_PER_EPOCH} steps of {BATCH} sequences; {EPOCHS} epochs are {STEPS:,} steps "
         f"(the paper: about {PAPER_STEPS:,.0f}). Adam, learning rate {LR:g}; the sparsity regulariser "
         f"$\\lambda_t = 10 \\cdot \\mathrm{{clip}}((t - {SPARSITY.start}) / ({SPARSITY.end} - {SPARSITY.start}), 0, 1)$ "
         f"on the NMU-type weights; $\\mathcal{{R}}_z$ with weight {RZ:g} "
         f"for the NMU and the NAC•,NMU; weights clamped after each step. The validation MSE is measured every "
         f"epoch and each seed keeps its best epoch.")

# %% [markdown]
# ## Training
#
# Each model is trained for all seeds at once (`applied.train_sequential_product`); seed $s$ starts
# from its own initialisation and shuffles the training images with its own generator.
#
# $$\mathcal{R}_z = \frac{1}{H_{\ell-1} H_\ell} \sum_{i,j} (1 - W_{ij})\,(1 - \bar z_i)^2,$$
#
# with $\bar z_i$ the mean of the unit's input $i$ over the batch, discourages the solution in which
# the CNN outputs some other scale that a weight below 1 turns back into the digit (the paper's example:
# $0.1 \cdot 81 + 1 - 0.1 = 9$).

# %%
MODELS = {  # label: (cell, R_z weight)
    "reference, free-scalar CNN": ("exact", 0.0),  # the paper's CNN output: shown for its reading accuracy only
    "reference (exact product)": ("exact", 0.0),
    "NMU": ("nmu", RZ),
    "NAC•,NMU": ("nac_mul_nmu", RZ),
    "NAC•,σ": ("nac_mul_sigma", 0.0),
    "NAC•": ("nac_mul", 0.0),
    "NALU": ("nalu", 0.0),
    "LSTM": ("lstm", 0.0),
}


def train_and_test() -> dict:
    """Every model's run (all seeds), its test MSE at every length, and its CPU seconds."""
    runs, test_mse, cpu = {}, {}, {}
    for name, (cell, rz) in MODELS.items():
        t0 = time.process_time()
        cnn = CNN | dict(softmax=False) if name == "reference, free-scalar CNN" else CNN
        runs[name] = applied.train_sequential_product(cell, split, SEEDS, epochs=EPOCHS, lr=LR, batch_size=BATCH,
                                                      length=TRAIN_LENGTH, sparsity=SPARSITY, rz=rz, **cnn)
        test_mse[name] = applied.sequence_test_mse(runs[name].model, *split["test"], max_length=MAX_LENGTH, n=N_TEST)
        cpu[name] = time.process_time() - t0
    return dict(runs=runs, test_mse=test_mse, cpu=cpu)


run = kept_run("16_sequential_product", dict(models=MODELS, seeds=SEEDS, epochs=EPOCHS, lr=LR, batch=BATCH,
                                             train_length=TRAIN_LENGTH, max_length=MAX_LENGTH, n_test=N_TEST,
                                             sparsity=[SPARSITY.scale, SPARSITY.start, SPARSITY.end], rz=RZ, cnn=CNN),
               train_and_test, None if quick else kept_dir)
runs, test_mse, cpu = run.value["runs"], run.value["test_mse"], run.value["cpu"]
LENGTHS = np.arange(1, MAX_LENGTH + 1)
Markdown(run.provenance())

# %% [markdown]
# ## The reference and the threshold
#
# The reference learns only the CNN. Its test MSE grows quickly with the length, because one misread
# digit changes every later product. The threshold at each length is the paper's: the mean of the
# reference seeds' test MSE plus $t_{0.99,\,n-1}$ standard errors. The paper dropped three of its ten
# reference seeds that had not learned, without saying by what rule.
#
# One way a reference fails is visible in its readings: a CNN that reads every digit as its negative,
# $z \approx -d$, predicts every product of an even number of digits exactly, so training on pairs
# cannot tell it from the right solution, and only the first step's target (the digit itself, an
# error four times its square) pushes against it. Such a seed predicts the wrong sign at length 1 and
# at every odd length, and with it in the mean the threshold alternates between odd and even lengths.
# We drop the reference seeds whose readings are negative for most test images (at least two seeds
# are kept whatever happens) and say how many.

# %% tags=["hide-input"]
z_ref = applied.digit_readings(runs["reference (exact product)"].model, split["test"][0]).numpy()
mirrored = np.median(z_ref, axis=1) < 0
kept = ~mirrored if (~mirrored).sum() >= 2 else np.ones_like(mirrored)
ref = test_mse["reference (exact product)"][kept]
threshold = applied.reference_threshold(ref)
ref_acc = (z_ref[kept].round() == split["test"][1]).mean(axis=1)
z_free = applied.digit_readings(runs["reference, free-scalar CNN"].model, split["test"][0]).numpy()
free_acc = (z_free.round() == split["test"][1]).mean(axis=1)
display(Markdown(f"{int(mirrored.sum())} of the {len(mirrored)} reference seeds read the digits as their negatives "
                 f"(seeds {', '.join(str(SEEDS[i]) for i in np.flatnonzero(mirrored)) or 'none'}); "
                 + ("the threshold is computed from the other " f"{int(kept.sum())}." if not kept.all() else
                    "the threshold is computed from all of them.")))
pd.DataFrame({"median reference MSE": np.median(ref, axis=0), "threshold": threshold},
             index=pd.Index(LENGTHS, name="length")).T[[1, 2, 5, 10, 20]].style.format(number_format(3))

# %% [markdown]
# The criterion is only as strict as the reference is good: a reference whose CNN has not learned
# gives a loose threshold that anything meets. So we also compute the MSE of the best constant guess,
# $\hat y_t = 5^t$ (the expected product of $t$ independent digits 1–9), on the same test sequences;
# at a length where the threshold is not below it, success says nothing, and that length is left out
# of the findings.

# %% tags=["hide-input"]
test_idx = nalu.rng_for(0, nalu.data.EVAL_STREAM).integers(0, len(split["test"][1]), size=(N_TEST, MAX_LENGTH))
truth = np.cumprod(split["test"][1][test_idx].astype(np.float64), axis=-1)
constant_mse = np.cumsum(((5.0 ** LENGTHS - truth) ** 2).mean(axis=0)) / LENGTHS  # same measure as sequence_test_mse
informative = threshold < constant_mse
pd.DataFrame({"median reference MSE": np.median(ref, axis=0), "threshold": threshold,
              "constant guess 5^t": constant_mse},
             index=pd.Index(LENGTHS, name="length")).T[[1, 2, 5, 10, 20]].style.format(number_format(3))

# %% tags=["hide-input"]
Markdown(f"The threshold is below the constant guess's MSE at {int(informative.sum())} of {MAX_LENGTH} lengths"
         + (f" (not at {', '.join(str(L) for L in LENGTHS[~informative])})" if (~informative).any() else "")
         + f". Rounded to the nearest integer, the reference's CNN reads {np.median(ref_acc):.0%} of the test images "
         f"correctly (median over the reference seeds kept; from {ref_acc.min():.0%} to {ref_acc.max():.0%}). "
         f"The same reference with the paper's free-scalar CNN output, trained alike, reads {np.median(free_acc):.0%} "
         f"(from {free_acc.min():.0%} to {free_acc.max():.0%}; its seeds that read the digits as their negatives, "
         f"{int((np.median(z_free, axis=1) < 0).sum())} of {len(SEEDS)}, count as reading none).")

# %% [markdown]
# ## Success by sequence length
#
# Success rate over seeds with its Wilson 95% interval, beside the paper's rates (10 seeds; read from
# its text at lengths 2 and 20).

# %%
def success_by_length(test_mse: dict, threshold: np.ndarray, names, lengths) -> pd.DataFrame:
    """Per model and length: the success rate (test MSE below the threshold) with its Wilson interval."""
    rows = []
    for name in names:
        ok = np.nan_to_num(test_mse[name], nan=np.inf) < threshold  # (seeds, lengths 1, 2, …)
        rows += [dict(model=name, length=int(L), **nalu.success_rate(ok[:, L - 1])) for L in lengths]
    return pd.DataFrame(rows)


def rate_of(rates: pd.DataFrame, name: str, length: int) -> pd.Series:
    return rates[(rates.model == name) & (rates.length == length)].iloc[0]


def rate_table(rates: pd.DataFrame, names, lengths) -> pd.DataFrame:
    """'successes/n [lo, hi]' per model (rows) and length (columns)."""
    text = rates.assign(text=[f"{s}/{n} [{lo:.0%}, {hi:.0%}]" for s, n, lo, hi in
                              zip(rates.successes, rates.n, rates.lo, rates.hi)])
    return text.pivot(index="model", columns="length", values="text").loc[list(names), list(lengths)]


def rate_panels(rates: pd.DataFrame, names, shape, figsize, train_length: int, draw_published, xlabel: str,
                legend_loc: str, ms: float, **axis) -> None:
    """One panel per model: our rate by length with its interval band, the published rates drawn by
    ``draw_published(ax, name)``, the training length dashed."""
    fig, axes = plt.subplots(*shape, figsize=figsize, sharex=True, sharey=True)
    for ax, name in zip(axes.flat, names):
        d = rates[rates.model == name]
        ax.fill_between(d.length, d.lo, d.hi, alpha=0.25, label="ours, Wilson 95%")
        ax.plot(d.length, d.rate, marker="o", ms=ms, label=f"ours ({len(SEEDS)} seeds)")
        draw_published(ax, name)
        ax.axvline(train_length, color="grey", ls="--", lw=1)
        ax.set(title=name, ylim=(-0.05, 1.05), **axis)
    for ax in axes[-1]:
        ax.set_xlabel(xlabel)
    for ax in axes[:, 0]:
        ax.set_ylabel("success rate")
    axes.flat[0].legend(fontsize=8, loc=legend_loc)
    plt.tight_layout()
    plt.show()


PUBLISHED = {"NMU": (1.0, 0.8), "NAC•,NMU": (0.9, 0.6), "NAC•,σ": (0.6, 0.0), "NAC•": (0.5, 0.0),
             "NALU": (0.0, 0.0), "LSTM": (0.0, 0.0)}
rates = success_by_length(test_mse, threshold, PUBLISHED, LENGTHS)
rate_table(rates, PUBLISHED, [1, 2, 5, 10, 15, 20])

# %% tags=["hide-input"]
rate_panels(rates, PUBLISHED, (2, 3), (11, 6), TRAIN_LENGTH,
            lambda ax, name: ax.plot([2, 20], PUBLISHED[name], "s", color="black", label="published (10 seeds)"),
            "sequence length (trained on 2)", "lower left", 3, xticks=[1, 5, 10, 15, 20])

# %% [markdown]
# ## The learned weights
#
# An exact multiplicative cell has the weight 1 on both inputs. Below, the median over seeds of each
# unit's two weights at the best epoch (for the NAC• and the NALU, the effective weight of the
# multiplicative path), and the median best epoch.

# %% tags=["hide-input"]
def unit_weights(model):
    u = model.unit
    w = u.nac.W if isinstance(u, nalu.NALU) else u.W
    return w.detach().reshape(len(SEEDS), -1).numpy()


wrows = []
for name in ["NMU", "NAC•,NMU", "NAC•,σ", "NAC•", "NALU"]:
    w = unit_weights(runs[name].model)
    wrows.append({"model": name, "W on z_t": np.median(w[:, 0]), "W on h_{t-1}": np.median(w[:, 1]),
                  "seeds with both within 0.05 of 1": f"{int((np.abs(w - 1) < 0.05).all(1).sum())}/{len(SEEDS)}",
                  "median best epoch": np.median(runs[name].best_epoch)})
pd.DataFrame(wrows).set_index("model").style.format(precision=3)

# %% [markdown]
# ## What the runs show

# %% tags=["hide-input"]
def rate_at(name, length):
    return rate_of(rates, name, length)


def paper_budget_hours(kept, steps: int, paper_steps: float) -> float:
    """Core-hours of the paper's budget at the speed of this run (all its models and seeds)."""
    return kept.meta["cpu_seconds"] * paper_steps / steps / 3600


def cost_at_paper_budget(kept, steps: int, paper_steps: float) -> str:
    return (f"about {paper_budget_hours(kept, steps, paper_steps):,.0f} core-hours: all the experiment's models and "
            f"seeds at the paper's {paper_steps:,.0f} steps")


def says(name, length):
    r = rate_at(name, length)
    return f"{r.successes}/{r.n} [{r.lo:.0%}, {r.hi:.0%}]"


lines = [f"At the training length 2 and at length 20 (success = test MSE below the reference's 1% upper bound):"]
lines += [f"* *At length {L} the threshold is not below the constant guess's MSE, so the rates there do not count.*"
          for L in (2, 20) if not informative[L - 1]]
for name, (p2, p20) in PUBLISHED.items():
    lines.append(f"* **{name}**: {says(name, 2)} at length 2 (published {p2:.0%}), {says(name, 20)} at length 20 "
                 f"(published {p20:.0%}).")
lines.append(
    f"\nOur budget is {STEPS:,} steps, {STEPS / PAPER_STEPS:.1%} of the paper's; a success rate far below the "
    f"published one may be the budget, not the unit, which is why the verdicts below call such claims "
    f"underpowered rather than contradicted. At the speed of this run ({run.meta['cpu_seconds']:,.0f} CPU-seconds "
    f"for all the models and seeds above) the paper's budget would take about "
    f"{paper_budget_hours(run, STEPS, PAPER_STEPS):,.0f} core-hours on this machine."
    + ("" if len(SEEDS) >= MIN_SEEDS else f" With {len(SEEDS)} seeds nothing here is decided.") + provisional(quick))
lines.append(
    f"\nThe reference's CNN reads {np.median(ref_acc):.0%} of the test digits (median over the reference seeds kept). "
    + (f"That is enough for the criterion to mean what it does in the paper, and the rates above are passed to "
       f"the conclusions as findings." if np.median(ref_acc) >= 0.9 else
       f"That is below 90%, so the threshold is loose: a model passes it by being no worse than a CNN that "
       f"misreads most digits, which is why even the LSTM, which the paper never saw succeed, passes here. At "
       f"this budget the experiment cannot tell the units apart: the conclusions list the paper's claims with "
       f"these rates and call them underpowered. A longer run, with a reference that has learned, is what it "
       f"needs."))
Markdown("\n".join(lines))

# %% tags=["hide-input"]
SRC = "Madsen & Johansen 2020, §4.2"
MEASURE = "Madsen's success criterion (test MSE < reference's 1% upper bound)"
# The criterion separates models only if the reference has learned to read digits (an MNIST reference
# reads ~99%); below READS_ENOUGH the threshold is loose enough for an LSTM to pass, and the claims are
# listed with their rates but underpowered (the precondition, named, is unmet).
READS_ENOUGH = 0.9
judged = bool(np.median(ref_acc) >= READS_ENOUGH)
unmet = "" if judged else (f"the reference model reads {np.median(ref_acc):.0%} of the test digits (median over the "
                           f"reference seeds kept), below the {READS_ENOUGH:.0%} the criterion needs to separate the units")
findings = []
for name, (p2, p20) in PUBLISHED.items():
    for length, p in ((2, p2), (20, p20)):
        if not informative[length - 1]:
            continue  # the threshold is no stricter than a constant guess: success here could not fail
        r = rate_at(name, length)
        findings.append(Finding(
            "16", SRC, f"{name} on the sequential product of digits, trained on length 2, succeeds at length {length}",
            MEASURE, "rate", test=f"success rate at length {length}", successes=int(r.successes), n=int(r.n),
            published=p, budget=STEPS, published_steps=PAPER_STEPS, unmet=unmet,
            note=f"scikit-learn 8×8 digits, small CNN, {EPOCHS} epochs", cost=cost_at_paper_budget(run, STEPS, PAPER_STEPS)))
product_results = {
    "n_seeds": len(SEEDS), "epochs": EPOCHS, "steps": STEPS, "paper_steps": PAPER_STEPS, "lr": LR,
    "n_train_images": int(len(split["train"][1])), "n_test_images": int(len(split["test"][1])),
    "reference_test_accuracy_median": float(np.median(ref_acc)),
    "free_scalar_reference_test_accuracy_median": float(np.median(free_acc)),
    "reference_seeds_mirrored": int(mirrored.sum()), "reference_seeds_kept": int(kept.sum()),
    "threshold": {int(L): float(t) for L, t in zip(LENGTHS, threshold)},
    "threshold_informative": {int(L): bool(v) for L, v in zip(LENGTHS, informative)},
    "claims_judged": judged,
    **{f"success_{name}_{L}": int(rate_at(name, L).successes) for name in PUBLISHED for L in (2, 20)},
    "cpu_seconds": {k: round(v, 1) for k, v in cpu.items()},
    "cpu_seconds_total": round(time.process_time() - t_start, 1), "training_read_back": run.read_back,
}

# %% [markdown]
# ## The companion task: a running sum
#
# Beside the product, Madsen & Johansen train the same kind of network on the running *sum* of the
# digits: trained on sequences of 10 images, tested on sequences of 1, 10, 100 and 1,000. With their
# NAU as the recurrent cell they report success in 70–80% of the seeds at every one of those lengths,
# and none for the NALU or the LSTM (their scripts also run a NAC, without a published rate in the
# text). We train the NAU, the NAC, the NALU and the LSTM against a reference whose arithmetic is the
# exact sum, $h_t = h_{t-1} + z_t$, with the product's protocol: the same images, CNN, optimiser,
# batches of 64 sequences and best epoch on the validation images, the sparsity regulariser on the
# NAU's and the NAC's weights on the same schedule scaled to our steps, and no $\mathcal{R}_z$ (its
# form is built for the product's weights). Every cell starts from $h_0 = 0$, the identity of the
# sum. Success is the same criterion: the test MSE below the reference's one-sided 1% upper bound,
# at each length.

# %% tags=["hide-input"]
SUM_TRAIN_LENGTH, SUM_LENGTHS = 10, [1, 10, 100, 1000]
SUM_EPOCHS = 10 if quick else 1000
SUM_N_TEST = 100 if quick else 300
SUM_STEPS = SUM_EPOCHS * -(-(len(split["train"][1]) // SUM_TRAIN_LENGTH) // BATCH)
SUM_PAPER_STEPS = 1000 * (55_000 * 0.9 / SUM_TRAIN_LENGTH) / BATCH  # 1,000 epochs of MNIST's digits 1–9 in tens
SUM_SPARSITY = nalu.Warmup(10.0, int(SUM_STEPS * 10_000 / SUM_PAPER_STEPS), int(SUM_STEPS * 100_000 / SUM_PAPER_STEPS))
SUM_MODELS = {"reference (exact sum)": "exact", "NAU": "nau", "NAC": "nac", "NALU": "nalu", "LSTM": "lstm"}


def train_and_test_sum() -> dict:
    """Every sum model's run (all seeds), its test MSE at every length up to the longest, its CPU seconds."""
    out = {"runs": {}, "test_mse": {}, "cpu": {}}
    for name, cell in SUM_MODELS.items():
        t0 = time.process_time()
        out["runs"][name] = applied.train_sequential("sum", cell, split, SEEDS, epochs=SUM_EPOCHS, lr=LR,
                                                     batch_size=BATCH, length=SUM_TRAIN_LENGTH,
                                                     sparsity=SUM_SPARSITY if cell in ("nau", "nac") else None, **CNN)
        out["test_mse"][name] = applied.sequence_test_mse(out["runs"][name].model, *split["test"],
                                                          max_length=SUM_LENGTHS[-1], n=SUM_N_TEST)
        out["cpu"][name] = time.process_time() - t0
    return out


sum_run = kept_run("16_sequential_sum", dict(models=SUM_MODELS, seeds=SEEDS, epochs=SUM_EPOCHS, lr=LR, batch=BATCH,
                                             train_length=SUM_TRAIN_LENGTH, max_length=SUM_LENGTHS[-1],
                                             n_test=SUM_N_TEST,
                                             sparsity=[SUM_SPARSITY.scale, SUM_SPARSITY.start, SUM_SPARSITY.end],
                                             cnn=CNN),
                   train_and_test_sum, None if quick else kept_dir)
sum_mse, sum_cpu = sum_run.value["test_mse"], sum_run.value["cpu"]
sum_threshold = applied.reference_threshold(sum_mse["reference (exact sum)"])
z_sum_ref = applied.digit_readings(sum_run.value["runs"]["reference (exact sum)"].model, split["test"][0]).numpy()
sum_ref_acc = (z_sum_ref.round() == split["test"][1]).mean(axis=1)
Markdown(f"{sum_run.provenance()} An epoch is {len(split['train'][1]) // SUM_TRAIN_LENGTH} sequences of "
         f"{SUM_TRAIN_LENGTH} images; {SUM_EPOCHS} epochs are {SUM_STEPS:,} steps (the paper's 1,000 epochs of MNIST: "
         f"about {SUM_PAPER_STEPS:,.0f}). The reference's CNN reads {np.median(sum_ref_acc):.0%} of the test digits "
         f"(median over seeds, from {sum_ref_acc.min():.0%} to {sum_ref_acc.max():.0%}).")

# %% [markdown]
# Success rate by length, with its Wilson 95% interval, beside the published rates (the NAU's read
# as the band 70–80% at every length).

# %% tags=["hide-input"]
SUM_PUBLISHED = {"NAU": (0.7, 0.8), "NALU": (0.0, 0.0), "LSTM": (0.0, 0.0)}  # (low, high) over the tested lengths
SUM_UNITS = ["NAU", "NAC", "NALU", "LSTM"]
sum_rates = success_by_length(sum_mse, sum_threshold, SUM_UNITS, SUM_LENGTHS)
rate_table(sum_rates, SUM_UNITS, SUM_LENGTHS)

# %% tags=["hide-input"]
def draw_sum_published(ax, name):
    if name in SUM_PUBLISHED:
        lo, hi = SUM_PUBLISHED[name]
        ax.fill_between([1, 1000], [lo, lo], [hi + 0.01, hi + 0.01], color="black", alpha=0.35, label="published")


rate_panels(sum_rates, SUM_UNITS, (2, 2), (7, 5.6), SUM_TRAIN_LENGTH, draw_sum_published,  # 2×2: a phone's width
            "length (trained on 10)", "center left", 4, xscale="log")

# %% tags=["hide-input"]
def sum_rate(name, length):
    return rate_of(sum_rates, name, length)


sum_judged = bool(np.median(sum_ref_acc) >= READS_ENOUGH)
sum_unmet = "" if sum_judged else (f"the sum's reference model reads {np.median(sum_ref_acc):.0%} of the test digits, "
                                   f"below the {READS_ENOUGH:.0%} the criterion needs to separate the units")
lines = [f"* **{name}**: " + ", ".join(f"{sum_rate(name, L).successes}/{sum_rate(name, L).n} at length {L:,}"
                                       for L in SUM_LENGTHS)
         + (f" (published {SUM_PUBLISHED[name][0]:.0%}–{SUM_PUBLISHED[name][1]:.0%} at every length)."
            if name in SUM_PUBLISHED and SUM_PUBLISHED[name][1] > 0 else
            " (published: none at any length)." if name in SUM_PUBLISHED else " (no published rate).")
         for name in SUM_UNITS]
lines.append(f"\nOur budget is {SUM_STEPS:,} steps, {SUM_STEPS / SUM_PAPER_STEPS:.1%} of the paper's (at this "
             f"run's speed, {sum_run.meta['cpu_seconds']:,.0f} CPU-seconds, the paper's would take about "
             f"{paper_budget_hours(sum_run, SUM_STEPS, SUM_PAPER_STEPS):,.0f} core-hours). "
             + ("The reference has learned to read the digits, so the criterion separates the units, and the rates "
                "go to the conclusions as findings." if sum_judged else
                f"The reference reads fewer than {READS_ENOUGH:.0%} of the digits, so the threshold is loose and the "
                "claims are listed as underpowered.") + provisional(quick))
Markdown("\n".join(lines))

# %% tags=["hide-input"]
# the paper's headline for the sum: trained on 10 digits, the model still succeeds at 1,000; judged there
# (the shorter lengths are in the table above)
for name, (lo, hi) in SUM_PUBLISHED.items():
    r = sum_rate(name, SUM_LENGTHS[-1])
    findings.append(Finding(
        "16", SRC, f"{name} on the sequential sum of digits, trained on length 10, succeeds at length "
        f"{SUM_LENGTHS[-1]:,}", MEASURE, "rate", test=f"success rate at length {SUM_LENGTHS[-1]:,}",
        successes=int(r.successes), n=int(r.n), published=[lo, hi] if lo < hi else lo, budget=SUM_STEPS,
        published_steps=SUM_PAPER_STEPS, unmet=sum_unmet,
        note=f"scikit-learn 8×8 digits, small CNN, {SUM_EPOCHS} epochs",
        cost=cost_at_paper_budget(sum_run, SUM_STEPS, SUM_PAPER_STEPS)))
_ = save_results(results_dir, "16_sequential_product", product_results | {
    "sum": {"epochs": SUM_EPOCHS, "steps": SUM_STEPS, "paper_steps": SUM_PAPER_STEPS,
            "reference_test_accuracy_median": float(np.median(sum_ref_acc)), "claims_judged": sum_judged,
            "threshold": {L: float(sum_threshold[L - 1]) for L in SUM_LENGTHS},
            "successes": {f"{name}|{L}": int(sum_rate(name, L).successes) for name in SUM_UNITS for L in SUM_LENGTHS},
            "cpu_seconds": {k: round(v, 1) for k, v in sum_cpu.items()}, "training_read_back": sum_run.read_back},
    "cpu_seconds_total": round(time.process_time() - t_start, 1),
}, findings)
Markdown(f"CPU time of this page: {time.process_time() - t_start:.0f} s; of the training"
         + (" (kept runs, read back)" if run.read_back and sum_run.read_back else "") + ": "
         + ", ".join(f"{k} {v:.0f} s" for k, v in (cpu | {k if k.startswith("reference") else f"{k} (sum)": v
                                                         for k, v in sum_cpu.items()}).items()))
