"""The book checker's rules on small made-up notebooks (scripts/check_book.py runs them on the book)."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("check_book", Path(__file__).parents[1] / "scripts" / "check_book.py")
check_book = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_book)


def test_internal_words_are_found_in_markdown_and_outputs_only():
    cells = [
        ("markdown", "The issue that asked for this benchmark set targets.", []),
        ("code", "path = save(...)  # the issue that asked: code is not read", []),
        ("code", "save(...)", ["PosixPath('/tmp/x/build/full/results/01.json')"]),
        ("markdown", "See issue #12 for details.", []),
        ("markdown", "The issue with the NALU is its log path; rows of build/ are fine.", []),
    ]
    found = check_book.internal_words(cells)
    assert len(found) == 3
    assert "The issue that" in found[0] and "PosixPath(" in found[1] and "issue #12" in found[2]


def test_typed_rates_are_found_under_summary_headings_only():
    cells = [("markdown", "## Method\nWe train 20 seeds; 35% is typed here but not a summary."),
             ("markdown", "## Summary\nThe NAU succeeds in 7/20 runs.")]
    found = check_book.typed_rates_in_summaries(cells)
    assert len(found) == 1 and "7/20" in found[0]
