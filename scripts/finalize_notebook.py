"""Finalise an executed notebook for the book.

* refuses a notebook with an error output (papermill already stops on one; this is the last guard),
* hides papermill's injected-parameters cell and the parameters cell (tag remove-cell),
* folds the code of cells tagged ``setup`` (adds hide-input),
* warns about outputs that show a build path (readers should not see them),
* records the mode (quick/full) in the notebook metadata.
"""

import argparse
import json
import os
import sys

import nbformat


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--mode", required=True, choices=["quick", "full"])
    args = ap.parse_args()
    nb = nbformat.read(args.src, as_version=4)
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                print(f"{args.src}: cell {i} raised {out.get('ename')}: {out.get('evalue')}", file=sys.stderr)
                return 1
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if ("injected-parameters" in tags or "parameters" in tags) and "remove-cell" not in tags:
            tags.append("remove-cell")
        if "setup" in tags and "hide-input" not in tags and "remove-input" not in tags:
            tags.append("hide-input")
        shown = "remove-cell" not in tags and "remove-output" not in tags
        text = json.dumps(cell.get("outputs", []))
        if shown and (os.getcwd() in text or "/build/quick/" in text or "/build/full/" in text):
            print(f"{args.src}: warning: cell {i} shows a build path in its output", file=sys.stderr)
    nb.metadata["nalu_book"] = {"mode": args.mode}
    nbformat.write(nb, args.dst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
