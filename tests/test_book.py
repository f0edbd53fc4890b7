"""nalu.book: the chapter header readers see first."""
from nalu.book import mode_banner


def test_mode_banner_names_the_mode_and_its_settings_in_words():
    text = mode_banner(True, seeds=3, lr=0.1, steps_mul=20_000, eval_size=2000, operations="+, −").data
    assert "**quick mode**" in text and "make build" in text
    for part in ("seeds: 3", "learning rate: 0.1", "steps (×): 20,000", "evaluation rows: 2,000", "operations: +, −"):
        assert part in text
    assert "_" not in text.split("(", 1)[1].split(")")[0]  # no keyword names in the settings
    full = mode_banner(False, chapters_read=15).data
    assert "**full mode**" in full and "chapters read: 15" in full and "make build" not in full


def test_fmt_rate_full_and_compact():
    from nalu.book import fmt_rate

    rate = dict(rate=0.35, lo=0.181, hi=0.567, successes=7, n=20)
    assert fmt_rate(rate) == "35% [18%, 57%] (7/20)"
    assert fmt_rate(rate, compact=True) == "35% [18, 57]"
