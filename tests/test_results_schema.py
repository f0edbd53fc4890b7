"""The results schema: chapters' files are validated when written and read, and the conclusions'
claim extraction (nalu_book.results.claims_table) runs on results of the right shape and fails on the wrong one."""

import json

import pytest

from nalu_book import results as R
from nalu import verdicts as V
from nalu_book.book import save_results


def rate(k, n):
    return dict(successes=k, n=n, rate=k / n, lo=0.0, hi=1.0)


def figures(n: int, steps: int) -> dict[str, dict]:
    """Figures of the shape each chapter saves (what its extractor reads)."""
    r = lambda prefix, k: {f"{prefix}_successes": k, f"{prefix}_n": n}  # noqa: E731
    return {
        "01_mlp_extrapolation": dict(n_seeds=n, steps=steps, n_activations=15, min_ratio_outside_inside=20.0,
                                     all_worse_outside=True),
        "02_nac": {"exact_frac_abs_below_0.1": 0.40, "exact_frac_above_0.9": 0.16, "coin_flip_reproduced": False,
                   "steps": steps, **r("nac_add", n), **r("nac_sub", n)},
        "03_nalu": dict(steps=steps, **r("shared_mul", 0), **r("separate_mul", 0), **r("shared_add", n),
                        **r("separate_add", n), **r("nosigmoid_add", 0)),
        "04_mystery": dict(n_seeds=n, reproduced_nalu_dominates_train=True, reproduced_nalu_dominates_test=False,
                           median_mse_nalu_train=1.0, median_mse_nac_train=2.0, median_mse_vanilla_train=3.0,
                           median_mse_nalu_test10=1.0, median_mse_nac_test10=2.0, median_mse_vanilla_test10=3.0),
        "05_sum_split": dict(n_seeds=n, steps=steps, blog_steps=50_000, reproduced_blog_value_reachable=True,
                             blog_value_representative=False, ours_best_test_mse=1e-9, blog_best_test_mse=1e-8,
                             blog_mse=1.7e-8, blog_median_test_mse=0.1),
        "07_sign_caveat": dict(n_seeds=n, steps=steps, blog_example_output=3.0, blog_claim_reproduced=True,
                               signed_worse_than_positive_control=True, failures_are_mostly_pure_sign_errors=False,
                               approx_success={"NALU, signed": rate(0, n), "NALU, positive (control)": rate(n, n)},
                               own_hypotheses=dict(sign_blind_magnitude_worse_than_zero=True,
                                                   error_on_negative_products=True,
                                                   gate_and_weight_on_different_inputs_three_quarters_signs=True,
                                                   n_seeds=n)),
        "08_signed_fix": dict(steps_mul=steps, steps_div=steps // 2,
                              success={"NMU ×": {"strict": rate(n, n), "approximate": rate(n, n)},
                                       "NALU ÷": {"strict": rate(0, n), "approximate": rate(0, n)},
                                       "NMU ÷": {"strict": rate(0, n), "approximate": rate(0, n)}}),
        "11_recurrent": dict(n_seeds=n, steps=steps, lstm_fails_to_extrapolate=True, add_lstm_normalised_median=98.0,
                             add_nac_cell_normalised_median=95.0, add_nac_cell_success_rate=0.0,
                             add_nau_accumulator_normalised_median=0.01, add_nau_accumulator_success_rate=1.0),
        "12_digits": dict(n_seeds=n, steps=steps, test_length=1000, count_trask_cell_beats_lstm=False,
                          count_accumulator_beats_lstm=True, count_nac_cell_mae_1000=None, count_lstm_mae_1000=99.0,
                          count_nau_accumulator_mae_1000=3.6),
        "13_words": dict(n_seeds=n, steps=steps, nalu_beats_linear=True, nalu_test_mae=10.0, linear_test_mae=300.0,
                         linear_x100_test_mae=11.0),
        "A1_speed": dict(ratio=17.4, us_per_seed_step=40.0),
    }


def own_findings(n: int, steps: int) -> dict[str, list[R.Finding]]:
    return {
        "06_static_arithmetic": [
            R.Finding("6", "Madsen & Johansen 2020, appendix", "NALU succeeds on + in 14% of seeds",
                      "Madsen's success criterion", "rate", successes=0, n=n, published=0.14, budget=steps,
                      published_solved_at=1.5e6),
            R.Finding("6", "Trask et al. 2018, Table 1", "a NALU extrapolates ×", "Trask's normalised error",
                      "median", values=[0.01 * (i + 1) for i in range(n)], published=[0.0, 0.05])],
        "09_benchmark": [
            R.Finding("9", "Madsen & Johansen 2020, Table 1", "NAU succeeds on + in 100% of seeds",
                      "Madsen's success criterion", "rate", successes=n, n=n, published=1.0, budget=steps,
                      published_solved_at=1.8e4)],
        "14_why_nalu_fails": [
            R.Finding("14", "This book (chapter 14)", "the NALU's gate flips with the input's sign",
                      "the identity, evaluated", "check", own=True, passed=True, exact=True),
            R.Finding("14", "This book (chapter 14)", "the NAU reaches W = 1 exactly in more seeds than the NAC",
                      "weights after training", "check", own=True, passed=True, n=n, budget=steps)],
    }


def write_book(tmp_path, n=25, steps=50_000):
    for chapter, figs in figures(n, steps).items():
        save_results(tmp_path, chapter, figs)
    for chapter, findings in own_findings(n, steps).items():
        save_results(tmp_path, chapter, {"n_seeds": n}, findings)
    return R.load_all(tmp_path)


def test_claims_table_on_results_of_the_right_shape(tmp_path):
    table = R.claims_table(write_book(tmp_path))
    assert set(table.chapter) >= {"1", "2", "3", "4", "5", "6", "7", "8", "9", "11", "12", "13", "Appendix"}
    assert set(table.verdict) == set(V.LEVELS)
    # the book's own findings are marked apart from the sources' claims
    own = table[table.own]
    assert (own.source.str.startswith("This book")).all() and len(own) >= 5
    # chapter 12: Trask's cell and the book's accumulator are two rows, each with its author
    ch12 = table[table.chapter == "12"].set_index("source")
    assert ch12.loc["Trask et al. 2018, §4.2", "verdict"] == V.CONTRADICTED
    assert ch12.loc["This book", "verdict"] == V.CONSISTENT
    # "no unit learns ÷" cites success counts
    div = table[table.claim.str.contains("÷")].iloc[0]
    assert "0/25" in div.evidence
    # a budget below the published solved-at step is underpowered, whatever the counts
    six = table[(table.chapter == "6") & (table.claim.str.contains("14%"))].iloc[0]
    assert six.verdict == V.UNDERPOWERED and "solved-at" in six.why


def test_quick_sized_results_are_never_consistent_or_contradicted_on_few_seeds(tmp_path):
    table = R.claims_table(write_book(tmp_path, n=3, steps=500))
    decided = table[table.verdict != V.UNDERPOWERED]
    # only exact computations (no seeds) may decide in a quick build
    assert set(decided.evidence.str.contains("exact computation")) == {True}


def test_a_renamed_figure_fails_in_its_chapter_naming_the_key(tmp_path):
    figs = figures(25, 1000)["03_nalu"]
    figs["shared_mul_wins"] = figs.pop("shared_mul_successes")
    with pytest.raises(R.SchemaError, match="03_nalu.*'shared_mul_successes'"):
        save_results(tmp_path, "03_nalu", figs)
    assert not (tmp_path / "03_nalu.json").exists()


def test_a_claim_chapter_without_findings_fails_at_save(tmp_path):
    with pytest.raises(R.SchemaError, match="saved no findings"):
        save_results(tmp_path, "09_benchmark", {"n_seeds": 3})


def test_unknown_fields_and_old_files_fail_at_load(tmp_path):
    write_book(tmp_path)
    path = tmp_path / "06_static_arithmetic.json"
    blob = json.loads(path.read_text())
    blob["findings"][0]["sucesses"] = blob["findings"][0].pop("successes")
    path.write_text(json.dumps(blob))
    with pytest.raises(R.SchemaError, match="unknown field.*sucesses"):
        R.load(path)
    path.write_text(json.dumps({"n_seeds": 3, "success": {}}))  # the old, unversioned format
    with pytest.raises(R.SchemaError, match="schema"):
        R.load(path)


def test_a_missing_chapter_is_an_error_not_a_shorter_table(tmp_path):
    results = write_book(tmp_path)
    del results["12_digits"]
    with pytest.raises(R.SchemaError, match="12_digits"):
        R.claims_table(results)


def test_findings_are_checked_when_built():
    with pytest.raises(R.SchemaError, match="needs.*successes"):
        R.Finding("6", "X", "y", "m", "rate", n=3, published=0.1)
    with pytest.raises(R.SchemaError, match="kind"):
        R.Finding("6", "X", "y", "m", "ratio", n=3)
    with pytest.raises(R.SchemaError, match="fraction"):
        R.Finding("6", "X", "y", "m", "rate", successes=1, n=3, published=14)


def test_replaced_findings_stand_in_for_a_chapters_own(tmp_path):
    results = write_book(tmp_path)
    better = R.Finding("9", "Madsen & Johansen 2020, Table 1", "NAU succeeds on + in 100% of seeds",
                       "Madsen's success criterion", "rate", successes=3, n=25, published=1.0, budget=1_000_000,
                       published_solved_at=1.8e4)
    table = R.claims_table(results, replace={"09_benchmark": [better]})
    row = table[table.claim == better.claim]
    assert len(row) == 1 and row.iloc[0].verdict == V.CONTRADICTED


def test_a_claim_with_several_rows_is_judged_once_by_its_strongest_row():
    def finding(chapter, budget, k, n):
        return R.Finding(chapter, "Somebody 2020", "a unit succeeds on +", "success", "rate", successes=k, n=n,
                         published=1.0, budget=budget, published_solved_at=1_000)
    results = {"a": R.ChapterResults("a", findings=(finding("a", 500, 0, 30),)),            # budget too short
               "b": R.ChapterResults("b", findings=(finding("b", 10_000, 30, 30),)),        # decided
               "c": R.ChapterResults("c", findings=(finding("c", 20_000, 3, 3),))}          # longer, too few seeds
    table = R.claims_table(results, chapters=["a", "b", "c"])
    assert list(table.primary) == [False, True, False]
    assert table[table.primary].verdict.tolist() == [V.CONSISTENT]
    # with no decided row, the largest budget is the claim's verdict
    table = R.claims_table({k: results[k] for k in "ac"}, chapters=["a", "c"])
    assert list(table.primary) == [False, True]
