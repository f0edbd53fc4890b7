"""nalu_book.book: the chapter header readers see first, and the helpers of generated sentences.

Equality kinds (tests/tolerances.py): (a) exact: generated text, and the bootstrap interval against
the same resamples drawn by hand where the test says so; (b) pytest.approx (float64 rounding) for
percentiles computed two ways.
"""
from nalu_book.book import mode_banner


def test_mode_banner_names_the_mode_and_its_settings_in_words():
    text = mode_banner(True, seeds=3, lr=0.1, steps_mul=20_000, eval_size=2000, operations="+, −").data
    assert "**quick mode**" in text and "make build" in text
    for part in ("seeds: 3", "learning rate: 0.1", "steps (×): 20,000", "evaluation rows: 2,000", "operations: +, −"):
        assert part in text
    assert "_" not in text.split("(", 1)[1].split(")")[0]  # no keyword names in the settings
    full = mode_banner(False, chapters_read=15).data
    assert "**full mode**" in full and "chapters read: 15" in full and "make build" not in full


def test_fmt_rate_full_and_compact():
    from nalu_book.book import fmt_rate

    rate = dict(rate=0.35, lo=0.181, hi=0.567, successes=7, n=20)
    assert fmt_rate(rate) == "35% [18%, 57%] (7/20)"
    assert fmt_rate(rate, compact=True) == "35% [18, 57]"


def test_bootstrap_ci_is_the_percentile_interval_of_resampled_means():
    import numpy as np
    import pytest

    from nalu_book.book import bootstrap_ci

    v = np.random.default_rng(5).normal(3.0, 2.0, size=20)
    lo, hi = bootstrap_ci(90, n_boot=300, seed=7)(v)
    # the definition, one resample at a time with the same indices
    idx = np.random.default_rng(7).integers(0, 20, size=(300, 20))
    means = [np.sort(v)[row].mean() for row in idx]
    assert (lo, hi) == pytest.approx(tuple(np.percentile(means, [5, 95])))
    assert lo < v.mean() < hi
    assert bootstrap_ci(90, n_boot=300, seed=7)(list(v[::-1])) == (lo, hi)  # deterministic, in any order
    assert bootstrap_ci(99, n_boot=300, seed=7)(v)[1] - bootstrap_ci(99, n_boot=300, seed=7)(v)[0] > hi - lo
    assert bootstrap_ci()(np.full(8, 2.5)) == (2.5, 2.5)  # no spread, no band
    for bad in (dict(level=0), dict(level=100), dict(level="95"), dict(n_boot=0), dict(n_boot=2.5)):
        with pytest.raises(ValueError, match="level|n_boot"):
            bootstrap_ci(**bad)


def test_bootstrap_ci_draws_seaborn_bands():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    import seaborn as sns

    from nalu_book.book import bootstrap_ci

    rng = np.random.default_rng(0)
    df = pd.DataFrame(dict(x=np.repeat(np.arange(5), 10), y=rng.normal(size=50)))
    ax = sns.lineplot(data=df, x="x", y="y", errorbar=bootstrap_ci())
    band = ax.collections[0].get_paths()[0].vertices
    lo, hi = bootstrap_ci()(df.y[df.x == 0])
    assert np.isclose(band[:, 1].min(), min(bootstrap_ci()(df.y[df.x == k])[0] for k in range(5)))
    assert lo < hi
    plt.close("all")


def test_compare_rates_says_apart_overlapping_or_underpowered_from_the_intervals():
    import nalu
    from nalu_book.book import compare_rates

    r = lambda k, n: nalu.success_rate([True] * k + [False] * (n - k))  # noqa: E731
    high, low, mid = r(28, 30), r(2, 30), r(20, 30)
    assert compare_rates(high, low, "A", "B") == (f"A {fmt(high)} is above B {fmt(low)}, the 95% intervals apart")
    assert compare_rates(low, high, "A", "B", below=": B is better") == (
        f"A {fmt(low)} is below B {fmt(high)}, the 95% intervals apart: B is better")
    assert compare_rates(high, mid, "A", "B", above="!").endswith("the 95% intervals overlap, no difference shown")
    assert "underpowered" in compare_rates(r(3, 3), r(0, 3), "A", "B")  # intervals apart or not, 3 seeds decide nothing


def fmt(rate):
    from nalu_book.book import fmt_rate

    return fmt_rate(rate)


def test_sci_writes_two_significant_digits_in_the_papers_notation():
    import math

    from nalu_book.book import sci

    # Madsen & Johansen's tables write steps and errors as 1.4·10⁴, not 1.4e+04
    assert sci(14_000) == "1.4·10⁴" and sci(4_000) == "4.0·10³" and sci(1.9e6) == "1.9·10⁶"
    assert sci(1.2e-5) == "1.2·10⁻⁵" and sci(0.0099) == "9.9·10⁻³"
    assert sci(0.16) == "0.16" and sci(3.5) == "3.5" and sci(140) == "140" and sci(0) == "0"
    assert sci(999.6) == "1.0·10³"  # rounded before the notation is chosen: not '1e+03' nor '1000'
    assert sci(-2.5e-7) == "−2.5·10⁻⁷" and sci(-0.16) == "−0.16"
    assert sci(None) == "–" and sci(math.nan) == "–"


def test_number_format_writes_table_cells_in_the_papers_notation_and_keeps_missing_cells_blank():
    import pandas as pd
    import pytest

    from nalu_book.book import number_format

    three = number_format(3)
    assert three(0.0125) == "0.0125" and three(2.104e5) == "2.1·10⁵" and three(-3.36e-8) == "−3.36·10⁻⁸"
    assert number_format(2)(523.7) == "520" and number_format(4)(2.104e5) == "2.104·10⁵"
    html = pd.DataFrame({"mse": [1.25e-2, float("nan")]}).style.format(three, na_rep="—").to_html()
    assert "0.0125" in html and "—" in html and "nan" not in html
    with pytest.raises(ValueError, match="digits must be a positive integer .*got 0"):
        number_format(0)
