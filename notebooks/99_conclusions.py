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
# # Conclusions: every claim, checked
#
# Each row below is a claim made by one of the sources — the NALU paper {cite}`trask2018nalu`, the
# NAU/NMU paper {cite}`madsen2020nau`, the Neural Power Unit paper {cite}`heim2020npu` and the two
# blog posts {cite}`blog000,blog001` — with the verdict of the chapter that tests it. The verdicts
# are not typed in: this page reads the figures every chapter saved when it was executed (in the
# same build, and the same mode, as this page) and applies the rule stated in the "test" column.

# %% tags=["parameters"]
quick = True
device = "cpu"
results_dir = "../build/results"

# %% tags=["hide-input"]
import pandas as pd

from nalu.book import load_results, mode_banner

R = load_results(results_dir)
mode_banner(quick, chapters_read=len(R))


# %% tags=["hide-input"]
def pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def interval(r) -> str:
    rate, lo, hi = r
    return f"{pct(rate)} [{pct(lo)}, {pct(hi)}]"


def g3(v) -> str:
    """A stored figure to 3 significant digits; None marks a model whose output overflowed."""
    return "overflow" if v is None else f"{v:.3g}"


def claim(source: str, text: str, chapter: str, test: str, verdict: bool, evidence: str) -> dict:
    return dict(source=source, claim=text, chapter=chapter, test=test,
                verdict="reproduced" if verdict else "not reproduced", evidence=evidence)


claims = []
c1 = R["01_mlp_extrapolation"]
claims.append(claim("Trask et al. 2018, Fig. 1", "MLPs trained on y = x in [−5, 5] fail outside that range", "1",
                    "error outside > error inside, for every activation", c1["all_worse_outside"],
                    f"{c1['n_activations']} activations × {c1['n_seeds']} seeds; outside/inside error ≥ "
                    f"{c1['min_ratio_outside_inside']:.0f}×"))
c2 = R["02_nac"]
claims.append(claim("Seed 000", "tanh·σ weights fall near −1, 0, 1 a quarter, half and a quarter of the time", "2",
                    "exact masses near 0 and ±1 are ½ and ¼", c2["coin_flip_reproduced"],
                    f"mass within 0.1 of 0: {c2['exact_frac_abs_below_0.1']:.3f}, above 0.9: "
                    f"{c2['exact_frac_above_0.9']:.3f} (exact integral)"))
claims.append(claim("Trask et al. 2018", "a NAC learns addition and subtraction and extrapolates", "2",
                    "success rate ≥ 90% for + and −", c2["nac_add_sub_reproduced"],
                    f"+: {interval([c2['nac_add_rate'], c2['nac_add_lo'], c2['nac_add_hi']])}, "
                    f"−: {interval([c2['nac_sub_rate'], c2['nac_sub_lo'], c2['nac_sub_hi']])}"))
c3 = R["03_nalu"]
claims.append(claim("Trask et al. 2018", "a NALU learns × and + of two inputs and extrapolates", "3",
                    "success ≥ 80% for shared and separate weights", c3["nalu_learns_mul_add_reproduced"],
                    f"shared ×: {pct(c3['shared_mul_rate'])}, +: {pct(c3['shared_add_rate'])}; separate ×: "
                    f"{pct(c3['separate_mul_rate'])}, +: {pct(c3['separate_add_rate'])}"))
claims.append(claim("Seed 000 (its code)", "a gate without sigmoid (g = x·G) works as well", "3",
                    "no-sigmoid variant not worse on +", not c3["nosigmoid_worse_on_add"],
                    f"+ without sigmoid: {pct(c3['nosigmoid_add_rate'])} vs {pct(c3['separate_add_rate'])} with"))

# %% tags=["hide-input"]
def irate(r: dict) -> str:
    return f"{pct(r['rate'])} [{pct(r['lo'])}, {pct(r['hi'])}] ({r['successes']}/{r['n']})"


c4 = R["04_mystery"]
claims.append(claim("Seed 000", "on the mystery problem, NALU beats NAC and a ReLU layer (training loss)", "4",
                    "NALU's median training MSE below both", c4["reproduced_nalu_dominates_train"],
                    f"median training MSE: NALU {c4['median_mse_nalu_train']:.3g}, NAC {c4['median_mse_nac_train']:.3g}, "
                    f"vanilla {c4['median_mse_vanilla_train']:.3g}"))
claims.append(claim("Seed 000", "NALU stays best on the test sets", "4",
                    "NALU's median test MSE below both, on [−10, 10] and [−50, 50]", c4["reproduced_nalu_dominates_test"],
                    f"median test MSE on [−10, 10]: NALU {c4['median_mse_nalu_test10']:.3g}, NAC {c4['median_mse_nac_test10']:.3g}, "
                    f"vanilla {c4['median_mse_vanilla_test10']:.3g}"))
c5 = R["05_sum_split"]
claims.append(claim("Seed 001", "a 10→2→1 NALU extrapolates a + b to [0, 100) with test loss 8.6e-05", "5",
                    "some seed reaches the blog's figure (as an MSE)", c5["reproduced_blog_value_reachable"],
                    f"blog's figure as an MSE: {c5['blog_mse']:.2g}; seeds at or below it at the end: "
                    f"{pct(c5['ours_frac_at_or_below_blog'])} (ours), {pct(c5['blog_frac_at_or_below_blog'])} (blog's init)"))
claims.append(claim("Seed 001 (implied)", "that one run is representative", "5",
                    "at least half the seeds (blog's init) reach the figure", c5["blog_value_representative"],
                    f"median test MSE: {c5['ours_median_test_mse']:.3g} (ours), {c5['blog_median_test_mse']:.3g} (blog's init)"))
c6 = R["06_static_arithmetic"]
claims.append(claim("Trask et al. 2018, Table 1", "a NALU extrapolates on the static task for every operation", "6",
                    "NALU's normalised extrapolation error < 1 for all six operations",
                    c6["trask_nalu_extrapolation_near_zero_reproduced"],
                    "median normalised errors: " + ", ".join(f"{op} {v:.2g}" for op, v in
                                                             c6["normalised_error_median"]["extrapolation"]["NALU"].items())))
claims.append(claim("Trask et al. 2018, Table 1", "a NAC extrapolates + and − on the static task", "6",
                    "NAC's normalised extrapolation error < 1 for + and −", c6["trask_nac_add_sub_near_zero_reproduced"],
                    f"+: {c6['normalised_error_median']['extrapolation']['NAC']['+']:.2g}, −: "
                    f"{c6['normalised_error_median']['extrapolation']['NAC']['−']:.2g}"))
claims.append(claim("Madsen & Johansen 2020", "NALU succeeds on + and − in 14% of seeds", "6",
                    "published rate inside our 95% interval", c6["madsen_nalu_add_sub_14pct_reproduced"],
                    f"+: {irate(c6['success']['NALU']['+'])}, −: {irate(c6['success']['NALU']['−'])}"))
c7 = R["07_sign_caveat"]
claims.append(claim("Seed 000", "with exact weights, a NALU gives +3 for 1.5 × (−2)", "7",
                    "the package's NALU outputs +3", c7["blog_claim_reproduced"],
                    f"output {c7['blog_example_output']:.4g}, correct answer −3"))
claims.append(claim("Seed 000", "the log path's lost sign makes NALU fail on signed products", "7",
                    "NALU on signed × worse than on positive inputs", c7["signed_worse_than_positive_control"],
                    f"signed: {irate(c7['approx_success']['NALU, signed'])}, positive: "
                    f"{irate(c7['approx_success']['NALU, positive (control)'])} (chapter 7's approximate criterion)"))
claims.append(claim("Hypothesis (chapter 7)", "NALU's failures on signed × are sign errors: |prediction| ≈ |target|", "7",
                    "median share of |pred| ≈ |target| with the wrong sign > 25%",
                    c7["failures_are_mostly_pure_sign_errors"], "see chapter 7's sign statistics"))
c8 = R["08_signed_fix"]
claims.append(claim("Madsen & Johansen 2020", "the NMU multiplies signed inputs", "8",
                    "strict success on signed ×: lower end of the interval > 50%",
                    c8["madsen_nmu_signed_mul_claim_reproduced"], f"NMU strict: {pct(c8['nmu_mul_strict_success_rate'])}"))
claims.append(claim("This book", "no unit learns ÷ when inputs come near zero (signed task, [−2, 2])", "8",
                    "no seed of any unit meets the criterion on signed ÷", c8["no_unit_divides"],
                    f"{c8['division_diverged_seed_runs']} seed-runs diverged on ÷"))

# %% tags=["hide-input"]
c11, c12, c13 = R["11_recurrent"], R["12_digits"], R["13_words"]
claims.append(claim("Trask et al. 2018, §4.2", "an LSTM fails to extrapolate recurrent sums to long sequences", "11",
                    "LSTM's normalised error at the longest length near that of an untrained model",
                    c11["lstm_fails_to_extrapolate"], f"LSTM: {g3(c11['add_lstm_normalised_median'])}"))
claims.append(claim("Trask et al. 2018, §4.2", "a recurrent NAC cell extrapolates recurrent sums", "11",
                    "its seeds stay within 1% at the longest length", c11["nac_cell_reproduced"],
                    f"success rate {pct(c11['add_nac_cell_success_rate'])}; with the identity recurrence built in: "
                    f"{pct(c11['add_nac_accumulator_success_rate'])}"))
claims.append(claim("Trask et al. 2018, §4.3", "a recurrent accumulator counts digits in sequences far longer than trained on",
                    "12", "accumulator beats the LSTM on counts at 100× the training length",
                    c12["count_accumulator_beats_lstm"],
                    f"MAE at the longest length: NAU accumulator {g3(c12['count_nau_accumulator_mae_1000'])}, "
                    f"LSTM {g3(c12['count_lstm_mae_1000'])}"))
claims.append(claim("Trask et al. 2018, §4.4", "an LSTM with a NALU read-out maps number words to values better than a linear one",
                    "13", "NALU read-out's test MAE below the linear read-out's", c13["nalu_beats_linear"],
                    f"test MAE: NALU {g3(c13['nalu_test_mae'])}, linear {g3(c13['linear_test_mae'])}, "
                    f"linear ×100 {g3(c13['linear_x100_test_mae'])}"))

# %% tags=["hide-input"]
c9 = R["09_benchmark"]
st = c9["static_rates"]
for op, unit, pub, label in [("mul", "NMU", 0.98, "NMU succeeds on × in 98% of seeds"),
                             ("add", "NAU", 1.00, "NAU succeeds on + in 100% of seeds"),
                             ("sub", "NAU", 1.00, "NAU succeeds on − in 100% of seeds"),
                             ("mul", "NALU (shared)", 0.0, "NALU succeeds on × in 0% of seeds"),
                             ("add", "NALU (shared)", 0.14, "NALU succeeds on + in 14% of seeds")]:
    r = st[f"{unit}|{op}"]
    claims.append(claim("Madsen & Johansen 2020", label, "9", "published rate inside our 95% interval",
                        r[1] <= pub <= r[2], f"ours: {interval(r)} at {c9['static_steps']:,} steps, {c9['n_seeds']} seeds"))
div_best = max(v[0] for k, v in st.items() if k.endswith("|div"))
claims.append(claim("Madsen & Johansen 2020", "no unit learns division on the static task", "9",
                    "every unit's ÷ success rate is 0", div_best == 0, f"best ÷ rate: {pct(div_best)}"))
claims.append(claim("Heim et al. 2020", "on ×, NMU beats RealNPU, which beats NALU", "9",
                    "same order of our median extrapolation errors", c9["heim_same_order"], "see chapter 9"))
claims.append(claim("This book", "a signed-product fix succeeds where NALU fails on signed ×", "9",
                    "a fix ≥ 90% and NALU ≤ 10%", c9["signed_fix_criterion_met"], f"best fix: {c9['signed_fix_best']}"))
s = R["A1_speed"]
claims.append(claim("This book", "training 100 seeds at once is ≥ 10× faster than one at a time", "Appendix",
                    "measured ratio ≥ 10", s["ratio"] >= 10, f"{s['ratio']:.1f}× ({s['us_per_seed_step']:.0f} µs per seed-step)"))

# %% tags=["full-width"]
table = pd.DataFrame(claims)
counts = table.verdict.value_counts()
print(f"{len(table)} claims checked: {counts.get('reproduced', 0)} reproduced, "
      f"{counts.get('not reproduced', 0)} not reproduced.")
table.style.hide(axis="index").set_properties(**{"text-align": "left"})

# %% tags=["remove-cell"]
# the claims, for the summary on the book's first page (scripts/intro_summary.py)
from nalu.book import save_results  # noqa: E402

_ = save_results(results_dir, "99_conclusions", {"claims": table.to_dict("records")})
