"""Compare two builds' recorded results: every numeric figure both record under the same name, and
the conclusions' verdicts.

    python scripts/compare_builds.py OLD/build/quick/results NEW/build/quick/results [--tolerance 1e-4]

For each chapter: how many figures both builds record, which are new or dropped, and each figure that
moved by more than the relative tolerance; then the verdict counts of both conclusions and every claim
whose verdict differs (claims matched by chapter, source, claim and measure).
"""
from __future__ import annotations

import argparse
import collections
import json
import math
import sys
from pathlib import Path


def flat(x, path: str = ""):
    """(dotted path, value) for every scalar in a nested JSON value."""
    if isinstance(x, dict):
        for k, v in x.items():
            yield from flat(v, f"{path}.{k}" if path else str(k))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from flat(v, f"{path}[{i}]")
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        yield path, float(x)
    else:
        yield path, x


def moved(a, b, tolerance: float) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return False
        return abs(a - b) > tolerance * max(abs(a), abs(b), 1e-12)
    return a != b


def figures(path: Path) -> dict:
    """A chapter's figures: under "figures" (results schema), or the whole file (builds before it)."""
    data = json.loads(path.read_text())
    return dict(flat(data["figures"] if "figures" in data else data))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)
    p.add_argument("--tolerance", type=float, default=1e-4, help="relative change that counts as moved")
    a = p.parse_args(argv)
    for d in (a.old, a.new):
        if not d.is_dir() or not any(d.glob("*.json")):
            p.error(f"{d} holds no results/*.json; pass a build's results folder, e.g. build/quick/results")
    for f in sorted(a.new.glob("*.json")):
        g = a.old / f.name
        if not g.exists():
            print(f"{f.stem}: only in the new build")
            continue
        old, new = figures(g), figures(f)
        common = sorted(set(old) & set(new))
        changes = [(k, old[k], new[k]) for k in common if moved(old[k], new[k], a.tolerance)]
        print(f"{f.stem}: {len(common)} figures in both, {len(set(new) - set(old))} new, "
              f"{len(set(old) - set(new))} dropped, {len(changes)} moved beyond {a.tolerance:g}")
        for k, x, y in changes:
            print(f"    {k}: {x} -> {y}")
    claims = {}
    for side, d in (("old", a.old), ("new", a.new)):
        c = d / "99_conclusions.json"
        claims[side] = json.loads(c.read_text())["figures"]["claims"] if c.exists() else None
    if claims["old"] is None or claims["new"] is None:
        return 0
    key = lambda c: (c["chapter"], c["source"], c["claim"], c["measure"])  # noqa: E731
    for side, cs in claims.items():
        count = lambda own: dict(collections.Counter(c["verdict"] for c in cs if c["own"] == own))  # noqa: E731
        print(f"verdicts, {side}: sources' claims {count(False)}; the book's own {count(True)}")
    old = {key(c): c for c in claims["old"]}
    for c in claims["new"]:
        o = old.get(key(c))
        if o is not None and o["verdict"] != c["verdict"]:
            print(f"  ch. {c['chapter']} | {c['source']} | {c['claim']} [{c['measure']}]: "
                  f"{o['verdict']} -> {c['verdict']} ({c['evidence']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
