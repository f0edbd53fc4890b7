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
# blog posts {cite}`blog000,blog001` — with the evidence of the chapter that tests it and a verdict.
# Nothing here is typed in: every chapter records its findings (who claims what, by which measure,
# with which counts, seeds and training budget) when it is executed, and this page applies one rule
# to all of them, in the same build and the same mode.

# %% tags=["parameters"]
quick = True
device = "cpu"
results_dir = "../build/results"

# %% tags=["hide-input"]
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Markdown

from nalu_book import results as R
from nalu import verdicts
from nalu_book.book import mode_banner, save_results

results = R.load_all(results_dir)
mode_banner(quick, chapters_read=len(results))

# %% tags=["hide-input"]
Markdown("## The rule\n\nEach claim gets one of three verdicts, decided in code from the chapter's numbers: "
         + verdicts.rule_text() + " A claim the sources make about what a unit reaches after millions of steps "
         "is therefore *underpowered*, not *contradicted*, when our runs are shorter.")

# %% tags=["hide-input"]
# every chapter's findings, in chapter order; a claim tested in several chapters (Madsen & Johansen's
# static table: the benchmark grid's short runs and the paper-scale runs) is judged by its strongest row
chapters = sorted(p.stem for p in Path().glob("*.py"))  # this page runs beside the chapters' sources
table = R.claims_table(results, expect=chapters)
sources, own = table[~table.own], table[table.own]
counts = sources[sources.primary].verdict.value_counts()  # claims, not rows: one verdict per claim
n_claims, n_rows = int(sources.primary.sum()), len(sources)
build = ("**This is the quick build**: few seeds and short training, so almost every verdict is underpowered. "
         if quick else "")
paper_rows = sources[sources.primary & (sources.chapter == "10")]
paper_note = (f"{len(paper_rows)} of Madsen & Johansen's static-table claims ("
              + "; ".join(f"{r.claim}, {int(r.n)} seeds × {r.budget:,.0f} steps" for r in paper_rows.itertuples())
              + ") are judged by the paper-scale runs; their other rows by the benchmark grid's short runs, "
                "whose budget is below the published median solved-at step. " if len(paper_rows) else
              "Madsen & Johansen's static-table rows use the benchmark grid's short runs (no paper-scale run has "
              "finished), so they are underpowered: their budget is below the published median solved-at step. ")
Markdown(f"{build}Of the sources' {n_claims} claims checked, "
         + ", ".join(f"**{counts.get(v, 0)} {v}**" for v in verdicts.LEVELS)
         + (f" ({n_rows} rows: a claim tested by several measures or chapters is judged once, by its strongest "
            f"row — a decided verdict before an underpowered one, then the largest budget, then the most seeds; "
            f"the others are listed as supporting rows)" if n_rows > n_claims else "")
         + f". The book's own findings ({int(own.primary.sum())}) are listed apart below. " + paper_note)

# %% [markdown]
# ## The sources' claims
#
# "Measure" names the criterion a row is judged by: Trask et al.'s claims are judged both by their
# own normalised error and by Madsen & Johansen's success criterion, in separate rows. Where a
# claim has several rows, "role" says which one its verdict comes from (the claim's verdict) and
# which only support it.

# %% tags=["full-width", "hide-input"]
COLUMNS = ["source", "claim", "chapter", "measure", "published", "evidence", "verdict", "role"]


def show(t: pd.DataFrame):
    several = t.duplicated(["source", "claim"], keep=False)
    role = np.where(~several, "", np.where(t.primary, "the claim's verdict", "supporting"))
    return t.assign(role=role)[COLUMNS].style.hide(axis="index").set_properties(**{"text-align": "left"})


show(sources)

# %% [markdown]
# ## The book's own findings
#
# Hypotheses and results this book proposes itself (not claims of the sources), judged by the
# same rule.

# %% tags=["full-width", "hide-input"]
show(own)

# %% [markdown]
# ## What would decide the undecided claims
#
# For each claim still underpowered, what its verdict lacks, worked out by the rule from the
# numbers of its strongest row: more seeds (at the rate we measured), a longer budget, or a
# precondition the run did not meet; and, where the chapter can estimate it, what that would cost
# on this machine (two CPU cores).

# %% tags=["full-width", "hide-input"]
undecided = table[table.primary & (table.verdict == verdicts.UNDERPOWERED)]
(undecided.assign(by=np.where(undecided.own, "this book", undecided.source))
 [["by", "claim", "chapter", "needs", "cost"]].rename(columns={"by": "source", "needs": "what would decide it",
                                                              "cost": "its cost here"})
 .style.hide(axis="index").set_properties(**{"text-align": "left"}))

# %% [markdown]
# ## Why each verdict
#
# The numbers each verdict rests on, with the test the chapter applied.

# %% tags=["full-width", "hide-input"]
table[["claim", "chapter", "measure", "test", "verdict", "why"]].style.hide(axis="index").set_properties(
    **{"text-align": "left"})

# %% tags=["remove-cell"]
# the claims, for the summary on the book's first page (scripts/intro_summary.py)
_ = save_results(results_dir, "99_conclusions", {"claims": table.to_dict("records")}, findings=[])
