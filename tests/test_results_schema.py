"""The results schema: chapters' files are validated when written and read, every chapter builds and
saves its own findings (``save`` requires them; ``[]`` says a chapter checks no claim), and the
conclusions' table (nalu_book.results.claims_table) lists every chapter that saved findings, in name
order, and fails on results of the wrong shape.

Equality kinds (tests/tolerances.py): (a) exact throughout: counts, verdict levels, chapter names and
evidence strings built from integers; no float computation is compared.
"""

import json

import pytest

from nalu_book import results as R
from nalu import verdicts as V
from nalu_book.book import save_results

MADSEN = R.MADSEN_MEASURE


def book_findings(n: int, steps: int) -> dict[str, list[R.Finding]]:
    """Findings of the shapes the chapters save (one or two per kind of evidence)."""
    return {
        "01_mlp_extrapolation": [
            R.Finding("1", "Trask et al. 2018, Fig. 1", "MLPs trained on y = x in [−5, 5] fail outside that range",
                      "mean absolute error outside vs inside", "check", passed=True, n=n, budget=steps)],
        "02_nac": [
            R.Finding("2", "the PyTorch blog post", "tanh·σ weights fall near −1, 0, 1 a quarter, half and a quarter "
                      "of the time", "exact integral", "check", passed=False, exact=True),
            R.Finding("2", "Trask et al. 2018", "a NAC learns + and extrapolates", MADSEN, "rate", successes=n, n=n,
                      published=[0.9, 1.0], budget=steps)],
        "06_static_arithmetic": [
            R.Finding("6", "Madsen & Johansen 2020, appendix", "NALU succeeds on + in 14% of seeds", MADSEN, "rate",
                      successes=0, n=n, published=0.14, budget=steps, published_solved_at=1.5e6),
            R.Finding("6", "Trask et al. 2018, Table 1", "a NALU extrapolates ×", "Trask's normalised error",
                      "median", values=[0.01 * (i + 1) for i in range(n)], published=[0.0, 0.05])],
        "08_signed_fix": [
            R.Finding("8", "This book (chapter 8)", "no unit learns ÷ when inputs come near zero (one layer, [−2, 2])",
                      "approximate success", "check", own=True, passed=True, n=n, budget=steps // 2,
                      note=f"successes: NALU 0/{n}, NMU 0/{n}")],
        "09_benchmark": [
            R.Finding("9", "Madsen & Johansen 2020, Table 2", "NAU succeeds on + in 100% of seeds", MADSEN, "rate",
                      successes=n, n=n, published=1.0, budget=steps, published_solved_at=1.8e4)],
        "12_digits": [
            R.Finding("12", "Trask et al. 2018, §4.2", "Trask's recurrent cell counts MNIST digits", "mean absolute error",
                      "check", passed=False, n=n, budget=steps),
            R.Finding("12", "This book", "the book's accumulator counts MNIST digits", "mean absolute error", "check",
                      own=True, passed=True, n=n, budget=steps)],
        "14_why_nalu_fails": [
            R.Finding("14", "This book (chapter 14)", "the NALU's gate flips with the input's sign",
                      "the identity, evaluated", "check", own=True, passed=True, exact=True),
            R.Finding("14", "This book (chapter 14)", "the NAU reaches W = 1 exactly in more seeds than the NAC",
                      "weights after training", "check", own=True, passed=True, n=n, budget=steps)],
        "A1_speed": [
            R.Finding("Appendix", "This book", "training 100 seeds at once is ≥ 10× faster than one at a time",
                      "measured throughput", "check", own=True, passed=True, exact=True)],
    }


def write_book(tmp_path, n=25, steps=50_000):
    for chapter, findings in book_findings(n, steps).items():
        save_results(tmp_path, chapter, {"n_seeds": n}, findings)
    save_results(tmp_path, "99_conclusions", {"claims": []}, findings=[])
    return R.load_all(tmp_path)


def test_claims_table_on_results_of_the_right_shape(tmp_path):
    table = R.claims_table(write_book(tmp_path))
    # every chapter that saved findings, in name order (the appendix after the numbered chapters)
    assert list(dict.fromkeys(table.chapter)) == ["1", "2", "6", "8", "9", "12", "14", "Appendix"]
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


def test_a_new_chapter_reaches_the_table_without_editing_the_package(tmp_path):
    write_book(tmp_path)
    new = R.Finding("15", "Somebody 2021", "a new unit learns +", MADSEN, "rate", successes=20, n=20, published=1.0,
                    budget=1_000)
    save_results(tmp_path, "15_new_unit", {"n_seeds": 20}, [new])
    results = R.load_all(tmp_path)
    assert R.claim_chapters(results) == ["01_mlp_extrapolation", "02_nac", "06_static_arithmetic", "08_signed_fix",
                                         "09_benchmark", "12_digits", "14_why_nalu_fails", "15_new_unit", "A1_speed"]
    table = R.claims_table(results)
    assert table[table.chapter == "15"].claim.tolist() == [new.claim]


def test_the_conclusions_own_file_and_chapters_without_claims_are_not_listed(tmp_path):
    write_book(tmp_path)
    save_results(tmp_path, "05_no_claims", {"n_seeds": 3}, findings=[])
    results = R.load_all(tmp_path)
    # a findings record in the conclusions' own file is never read back as a chapter's
    results[R.CONCLUSIONS] = R.ChapterResults(R.CONCLUSIONS, findings=results["12_digits"].findings)
    chapters = R.claim_chapters(results)
    assert R.CONCLUSIONS not in chapters and "05_no_claims" not in chapters
    assert len(R.claims_table(results)) == sum(len(f) for f in book_findings(25, 50_000).values())


def test_save_requires_the_findings_explicitly(tmp_path):
    for call in (lambda: save_results(tmp_path, "03_nalu", {"n_seeds": 3}),
                 lambda: save_results(tmp_path, "03_nalu", {"n_seeds": 3}, None)):
        with pytest.raises(R.SchemaError, match=r"03_nalu.*findings=\[\]"):
            call()
    finding = book_findings(3, 100)["09_benchmark"][0]
    with pytest.raises(R.SchemaError, match="list of"):
        save_results(tmp_path, "09_benchmark", {"n_seeds": 3}, finding)  # one Finding, not a list of them
    with pytest.raises(R.SchemaError, match="Finding records"):
        save_results(tmp_path, "09_benchmark", {"n_seeds": 3}, [{"claim": "x"}])
    assert not list(tmp_path.glob("*.json"))
    save_results(tmp_path, "03_nalu", {"n_seeds": 3}, findings=[])  # said explicitly: no claim checked
    assert R.load(tmp_path / "03_nalu.json").findings == ()


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
    complete = write_book(tmp_path)
    book = [*book_findings(25, 50_000), "99_conclusions"]  # the book's chapters, e.g. its notebooks' names
    results = {k: v for k, v in complete.items() if k != "12_digits"}
    with pytest.raises(R.SchemaError, match="12_digits"):
        R.claims_table(results, expect=book)
    with pytest.raises(R.SchemaError, match="12_digits"):
        R.claims_table(results, chapters=["09_benchmark", "12_digits"])
    # the conclusions' own file is written after the table: it is never expected
    first_run = {k: v for k, v in complete.items() if k != "99_conclusions"}
    assert len(R.claims_table(first_run, expect=book)) == len(R.claims_table(complete))


def test_findings_are_checked_when_built():
    with pytest.raises(R.SchemaError, match="needs.*successes"):
        R.Finding("6", "X", "y", "m", "rate", n=3, published=0.1)
    with pytest.raises(R.SchemaError, match="kind"):
        R.Finding("6", "X", "y", "m", "ratio", n=3)
    with pytest.raises(R.SchemaError, match="fraction"):
        R.Finding("6", "X", "y", "m", "rate", successes=1, n=3, published=14)


def test_a_longer_run_in_another_chapter_judges_a_claim_the_grid_also_tests(tmp_path):
    results = write_book(tmp_path)
    longer = R.Finding("10", "Madsen & Johansen 2020, Table 2", "NAU succeeds on + in 100% of seeds",
                       "Madsen's success criterion", "rate", successes=3, n=25, published=1.0, budget=1_000_000,
                       published_solved_at=1.8e4)
    results["10_paper_scale"] = R.ChapterResults("10_paper_scale", findings=(longer,))
    table = R.claims_table(results)
    rows = table[(table.source == longer.source) & (table.claim == longer.claim)]
    assert len(rows) >= 2 and set(rows.chapter) >= {"10"}  # the grid's row stays, as a supporting row
    primary = rows[rows.primary]
    assert primary.chapter.tolist() == ["10"] and primary.verdict.tolist() == [V.CONTRADICTED]


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


def test_an_unmet_precondition_makes_any_evidence_underpowered_and_says_why():
    base = dict(chapter="15", source="S", claim="c", measure="m", kind="check", n=20)
    for passed, level in ((True, V.CONSISTENT), (False, V.CONTRADICTED)):
        assert R.Finding(**base, passed=passed).verdict().level == level
        v = R.Finding(**base, passed=passed, unmet="the agents are on time in 60% of episodes, below 90%").verdict()
        assert v.level == V.UNDERPOWERED
        assert v.reason.endswith("but the agents are on time in 60% of episodes, below 90%")
    rate = R.Finding(chapter="16", source="S", claim="c", measure="m", kind="rate", successes=20, n=20,
                     published=1.0, unmet="the reference reads 44% of the digits")
    assert rate.verdict().level == V.UNDERPOWERED
    with pytest.raises(R.SchemaError, match="unmet"):
        R.Finding(**base, passed=True, unmet=None)


def test_a_madsen_rate_finding_judges_by_the_rule_with_the_published_rows_own_figures():
    """The one builder chapters 6, 9, 10 and 18 share: the rule applied with the row's solved-at step, its
    own interval and the source's training length; the static table's cell at its largest budget."""
    import pandas as pd

    from nalu_lab.scale import MADSEN_STATIC

    nalu_add = next(p for p in MADSEN_STATIC if (p.unit, p.op) == ("NALU", "add"))
    f = R.madsen_rate_finding(2, 25, 2_000_000, nalu_add, "10")
    expected = V.rate_verdict(2, 25, 0.14, budget=2_000_000, published_solved_at=1.5e6, published_steps=R.MADSEN_STEPS,
                              published_interval=nalu_add.interval())
    assert f.verdict() == expected and f.claim == "NALU succeeds on + in 14% of seeds" and f.source.endswith("Table 2")
    assert R.madsen_rate_finding(2, 25, 2_000_000, nalu_add, "18", "another claim", 200_000).claim == "another claim"
    rows = pd.DataFrame(dict(unit="NALU", op="add", steps=[1_000, 1_000, 2_000_000, 2_000_000],
                             success=[True, True, False, True]))
    (g,) = R.madsen_static_findings(rows, MADSEN_STATIC, "10")
    assert (g.successes, g.n, g.budget) == (1, 2, 2_000_000)
