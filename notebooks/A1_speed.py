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
# # Appendix: reproducing at speed
#
# The full build trains thousands of (unit, task, seed) runs. What makes that affordable on a
# two-core CPU is that `nalu.train` trains all seeds of one configuration *at once*: the S models
# are stacked into one module whose parameters carry a leading seed axis, the units' equations
# broadcast over it, and one optimiser step updates every seed. The loss is the sum over seeds of
# each seed's own mean loss, so no seed's gradient depends on another's and Adam, which works
# elementwise, keeps them independent; the unit tests check that each seed follows the trajectory
# of a plain single-seed loop.
#
# The other costs that matter at this size are the random numbers (a step of 100 seeds × 128
# samples × 100 inputs needs 1.28 million of them), which each seed draws from its own fast SFC64
# generator a chunk of steps at a time on a background thread while the previous chunk trains,
# and the targets, which are computed for all seeds in one batched product.
#
# This page runs the benchmark of `make bench` (`python -m nalu.bench`) and shows its output; every
# figure below was measured when the page was built, on the machine named in the table.

# %% tags=["parameters"]
quick = True
device = "cpu"
results_dir = "../build/results"

# %%
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from nalu import bench
from nalu.book import mode_banner, save_results, setup_plotting

setup_plotting()
mode_banner(quick, device=device, measurement="shortened" if quick else "full")

# %%
results = bench.run_all(quick=quick, device=device)

# %% [markdown]
# ## The machine

# %%
pd.Series(results["machine"]).to_frame("value")

# %% [markdown]
# ## Many seeds at once against one at a time
#
# NALU 100 → 2 → 1 on the static arithmetic task, batch 128, a fresh batch every step, Adam. The
# per-seed loop is the way seed 000 trains: one module, one optimiser, a Python loop over steps,
# repeated for each seed. Both draw the same data from the same generators. Each is measured with one
# and with two intra-op threads, and compared at its better setting: the trainer defaults to one
# thread and leaves the second core to the thread that draws the next batches.

# %%
m = results["many_vs_one"]
print(f"nalu.train, 100 seeds at once: {m['many_seed_steps_per_s']:,.0f} seed-steps per second "
      f"({m['us_per_seed_step']:.1f} µs per seed-step)")
print(f"per-seed loop:                 {m['per_seed_loop_steps_per_s']:,.0f} seed-steps per second")
print(f"ratio: {m['ratio']:.1f}×")
by_threads = pd.DataFrame({"nalu.train, 100 seeds": m["many_by_threads"], "per-seed loop": m["one_by_threads"]})
by_threads.index.name = "intra-op threads"
by_threads.style.format("{:,.0f}").set_caption("seed-steps per second; the ratio uses each side's better setting")

# %% [markdown]
# ## Generating the mystery problem's targets
#
# Seed 000 computes the targets of its mystery arithmetic problem with a Python loop over rows and
# outputs; `nalu.solve_mystery` does it with one gather and one operation per kind of output.

# %%
s = results["mystery"]
print(f"{s['rows']:,} rows × 100 inputs → 10 outputs: loop {s['loop_s']:.2f} s, vectorised "
      f"{1e3 * s['vectorised_s']:.2f} ms, {s['speedup']:,.0f}× faster; outputs identical: {s['identical']}")

# %% [markdown]
# ## Scaling
#
# Seed-steps per second as the number of seeds grows (input size 100), and as the input size
# grows (100 seeds). Few seeds leave the machine idle between Python calls; many seeds make each
# step a large memory-bound computation, where the rate levels off.

# %%
scaling = pd.DataFrame(results["scaling"])
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
seeds = scaling[scaling.kind == "seeds"]
axes[0].plot(seeds.n_seeds, seeds.seed_steps_per_s, marker="o")
axes[0].set(xscale="log", yscale="log", xlabel="seeds trained at once", ylabel="seed-steps per second",
            title="input size 100")
dims = scaling[scaling.kind == "in_dim"]
axes[1].plot(dims.in_dim, dims.seed_steps_per_s, marker="o", color="C1")
axes[1].set(xscale="log", yscale="log", xlabel="input size", title="100 seeds")
fig.tight_layout()
plt.show()
scaling.drop(columns="kind").style.format({"seed_steps_per_s": "{:,.0f}"}).hide(axis="index")

# %% [markdown]
# ## Memory

# %%
mem = results["memory"]
print(f"peak resident memory of a process training 100 seeds: {mem['peak_rss_mb']:.0f} MB "
      f"(a process that only imports nalu and torch: {mem['import_only_rss_mb']:.0f} MB)")

# %%
save_results(results_dir, "A1_speed", {"ratio": m["ratio"], "us_per_seed_step": m["us_per_seed_step"],
                                       "mystery_speedup": s["speedup"], "peak_rss_mb": mem["peak_rss_mb"],
                                       "machine": results["machine"]["cpu"]})
