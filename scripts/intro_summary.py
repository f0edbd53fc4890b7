"""Write the intro's first screen from the executed results: which build the reader is looking at,
and the conclusions' verdicts counted by source, with the claims that did not reproduce.

Reads ``<results>/99_conclusions.json`` (its ``claims``: one record per claim with source, claim,
chapter, verdict, evidence) and writes a MyST Markdown fragment that ``book/intro.md`` includes.
Nothing in it is typed: every number is counted from the conclusions' records.

    python scripts/intro_summary.py build/full/results --mode full -o book/_generated/summary.md
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

FIELDS = ("source", "claim", "chapter", "verdict")


def load_claims(results: Path) -> list[dict]:
    path = results / "99_conclusions.json"
    if not path.exists():
        raise SystemExit(f"{path} does not exist: execute the conclusions first (make build/<mode>/99_conclusions.ipynb)")
    data = json.loads(path.read_text())
    data = data.get("figures", data)  # the results schema (nalu_book.results) keeps a chapter's numbers under figures
    claims = data.get("claims")
    if not isinstance(claims, list) or not claims:
        raise SystemExit(f"{path} has no 'claims' list (one record per claim with {', '.join(FIELDS)}); "
                         f"its keys are {sorted(data)}")
    for i, c in enumerate(claims):
        missing = [f for f in FIELDS if f not in c]
        if missing:
            raise SystemExit(f"{path}: claim {i} lacks {missing}; it has {sorted(c)}")
    return claims


def _chapter_link(chapter: str) -> str:
    return str(chapter)


MAX_LISTED = 12  # a verdict's claims are listed by name on the first screen up to this many
# the verdicts as column headings, with soft hyphens (U+00AD) where a phone-width table may break them
HEADINGS = {"consistent": "consis\u00adtent", "contradicted": "contra\u00addicted",
            "underpowered": "under\u00adpowered"}


def author(source: str) -> str:
    """'Trask et al. 2018, Table 1' -> 'Trask et al. 2018'; 'the PyTorch blog post (its code)' -> 'the PyTorch blog post'."""
    return source.split(",")[0].split(" (")[0].strip()


def summary(claims: list[dict], mode: str) -> str:
    verdicts = list(dict.fromkeys(c["verdict"] for c in claims))  # in the order the conclusions use them
    order = [v for v in ("consistent", "contradicted", "underpowered") if v in verdicts]
    verdicts = order + [v for v in verdicts if v not in order]
    claims = [c for c in claims if c.get("primary", True)]  # one verdict per claim (its strongest row)
    sources = [c for c in claims if not c.get("own")]
    own = [c for c in claims if c.get("own")]
    total, own_total = Counter(c["verdict"] for c in sources), Counter(c["verdict"] for c in own)
    by_author: dict[str, Counter] = {}
    for c in sorted(sources, key=lambda c: author(c["source"])):
        by_author.setdefault(author(c["source"]), Counter())[c["verdict"]] += 1

    lines = []
    if mode == "quick":
        lines += [":::{important}",
                  "**This is the quick build**: every chapter ran with few seeds and short training, so the "
                  "verdicts below are provisional. `make build` runs the full reproduction.",
                  ":::", ""]
    counts = ", ".join(f"**{total[v]} {v}**" for v in verdicts)
    lines += [f"**At a glance** ({mode} build): of the {len(sources)} claims of the papers and the blog posts "
              f"checked against our runs, {counts}.", ""]
    header = "| source | " + " | ".join(HEADINGS.get(v, v) for v in verdicts) + " |"
    lines += [header, "|" + "---|" * (len(verdicts) + 1)]
    for name, cnt in by_author.items():
        lines.append(f"| {name} | " + " | ".join(str(cnt[v]) for v in verdicts) + " |")
    lines.append("")
    if own:
        lines += [f"The book's own findings, judged by the same rule and kept apart: {len(own)} ("
                  + ", ".join(f"{own_total[v]} {v}" for v in verdicts) + ").", ""]
    all_listed = True  # whether every decided claim is listed by name below
    for level, label in (("contradicted", "Contradicted by our runs"), ("consistent", "Consistent with our runs")):
        hits = [c for c in sources if c["verdict"] == level]
        if hits and len(hits) <= MAX_LISTED:
            items = "; ".join(f"{c['claim']} ({c['source']}, chapter {_chapter_link(c['chapter'])})" for c in hits)
            lines += [f"{label}: {items}.", ""]
        elif hits:
            all_listed = False
    undecided = total.get("underpowered", 0)
    if not undecided:
        closing = "The last chapter, *Conclusions*, lists every claim with its evidence."
    else:
        closing = ("Every other claim is underpowered" if all_listed else
                   f"The {undecided} underpowered claim{'s' if undecided > 1 else ''} cannot be decided")
        closing += (" at this build's seeds and budget. The last chapter, *Conclusions*, lists every claim with "
                    "its evidence and the reason for its verdict.")
    lines += [closing, ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path, help="the results folder of an executed build")
    ap.add_argument("--mode", required=True, choices=["quick", "full"])
    ap.add_argument("-o", "--output", type=Path, required=True)
    args = ap.parse_args()
    text = summary(load_claims(args.results), args.mode)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"intro summary: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
