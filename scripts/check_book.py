"""Checks of the executed notebooks and the rendered HTML (run by `make test`).

* no executed notebook has an error output or a traceback in any output;
* every page of the table of contents was rendered, with its title and no traceback text;
* every chapter notebook that makes figures has them as <img> in its page;
* no page speaks of how the project is built (the issue tracker, build paths, printed path
  objects) in its Markdown or its outputs;
* no summary or conclusion section ("Summary", "What it shows", "Conclusions", ...) holds a
  hand-typed percentage or rate in a Markdown cell of the notebook's source: a result stated there
  must be generated from the runs (a code cell's Markdown output), not typed.
"""

import re
import sys
from pathlib import Path

import nbformat
import yaml


def toc_files(book: Path) -> list[str]:
    toc = yaml.safe_load((book / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(toc.get("parts", toc.get("chapters", [])))
    return files


SUMMARY_HEADING = re.compile(r"^#{1,6}\s*(summary|what it shows|conclusions?\b|in short|takeaways?|what we found)",
                             re.IGNORECASE)
HEADING = re.compile(r"^#{1,6}\s")
# a typed result: "35%", "35 %", "7/20", "7 of 20 seeds", "a rate of 0.35"
TYPED_RATE = re.compile(r"\d+(?:\.\d+)?\s?(?:%|\\%|percent)|\b\d+\s*/\s*\d+\b(?!\s*\))|\b\d+ of (?:the )?\d+ (?:seeds|runs|models)"
                        r"|\brate of \d", re.IGNORECASE)


# the sources named by their files instead of as readers know them ("the PyTorch blog post")
SOURCE_FILE_NAME = re.compile(r"\bseed\s+00[01]\b|shared/seeds|\b00[01]_[0-9a-f]{16}\b", re.IGNORECASE)


# words about how the project is built rather than about the science: the issue tracker, build
# paths, a path object printed by a cell
INTERNAL_WORDS = re.compile(r"\b(?:the|this|that|our) issues? (?:that|which|asked|requested|above|below)\b"
                            r"|\bissue #?\d+\b|PosixPath\(|/tmp/|\bbuild/(?:full|quick)/", re.IGNORECASE)


def internal_words(cells) -> list[str]:
    """Project-internal words in what a reader sees of a notebook: Markdown cells and text outputs.

    ``cells``: (cell_type, source, output texts) triples; code sources are not inspected."""
    found = []
    for cell_type, source, outputs in cells:
        for text in ([source] if cell_type == "markdown" else []) + list(outputs):
            if m := INTERNAL_WORDS.search(text):
                found.append(f"{m.group(0)!r} in: {text[max(0, m.start() - 40):m.end() + 40].strip()!r}")
    return found


def _output_texts(cell) -> list[str]:
    texts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            texts.append(out.get("text", ""))
        for kind in ("text/plain", "text/markdown", "text/html"):
            value = out.get("data", {}).get(kind)
            if value:
                texts.append(value if isinstance(value, str) else "".join(value))
    return texts


def typed_rates_in_summaries(cells) -> list[str]:
    """Hand-typed percentages or rates in Markdown cells under a summary/conclusion heading.

    ``cells``: (cell_type, source) pairs in notebook order. A heading of any level opens or closes a
    summary section; code cells (whose outputs are generated) are not inspected.
    """
    found, in_summary = [], False
    for cell_type, source in cells:
        if cell_type != "markdown":
            continue
        for line in source.splitlines():
            if HEADING.match(line):
                in_summary = bool(SUMMARY_HEADING.match(line))
                continue
            if in_summary and (m := TYPED_RATE.search(line)):
                found.append(f"typed {m.group(0)!r} in: {line.strip()[:100]}")
    return found


def main(book: Path) -> int:
    problems = []
    html = book / "_build" / "html"
    for entry in toc_files(book):
        stem = Path(entry).with_suffix("")
        page = html / f"{stem}.html"
        if not page.exists():
            problems.append(f"{entry}: no rendered page {page}")
            continue
        text = page.read_text(encoding="utf-8")
        if "Traceback (most recent call last)" in text or re.search(r'class="[^"]*\berror\b[^"]*output', text):
            problems.append(f"{page}: contains traceback or error output")
        named = SOURCE_FILE_NAME.search(re.sub(r"<[^>]+>", " ", text))
        if named:
            problems.append(f"{page}: names a source by its file ({named.group(0)!r}); call it the PyTorch or "
                            "the TensorFlow blog post")
        if not re.search(r"<h1[^>]*>", text):
            problems.append(f"{page}: has no title (<h1>)")
        nb_path = book / f"{stem}.ipynb"
        if nb_path.exists():
            nb = nbformat.read(nb_path, as_version=4)
            for problem in internal_words((c.cell_type, c.source, _output_texts(c)) for c in nb.cells):
                problems.append(f"{nb_path}: speaks of the project, not to the reader ({problem})")
            for problem in typed_rates_in_summaries((c.cell_type, c.source) for c in nb.cells):
                problems.append(f"{nb_path}: summary section holds a hand-typed result ({problem}); generate it "
                                "from the runs (an f-string Markdown cell) or state no number")
            n_fig = 0
            for cell in nb.cells:
                for out in cell.get("outputs", []):
                    if out.get("output_type") == "error":
                        problems.append(f"{nb_path}: error output ({out.get('ename')})")
                    if "image/png" in out.get("data", {}) or "image/svg+xml" in out.get("data", {}):
                        if "remove-output" not in cell.metadata.get("tags", []):
                            n_fig += 1
                    txt = out.get("text", "") if out.get("output_type") == "stream" else ""
                    if "Traceback" in txt:
                        problems.append(f"{nb_path}: traceback in a stream output")
            n_img = len(re.findall(r"<img [^>]*src=", text))
            if n_img < n_fig:
                problems.append(f"{page}: {n_fig} figures in the notebook, {n_img} <img> in the page")
            print(f"{entry}: {n_fig} figures, {n_img} images, mode={nb.metadata.get('nalu_book', {}).get('mode')}")
        else:
            print(f"{entry}: page ok")
    for p in problems:
        print("PROBLEM:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "book")))
