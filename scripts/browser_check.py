"""Open every rendered page in headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright) and check what a reader sees: the title, every <img> loaded (naturalWidth > 0),
math typeset by the bundled MathJax, no traceback. Saves a screenshot per page."""

import argparse
import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("html", type=Path)
    ap.add_argument("--screenshots", type=Path, default=Path(".ci/screenshots"))
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from check_book import toc_files

    book = args.html.parent.parent
    pages = [args.html / f"{Path(f).with_suffix('')}.html" for f in toc_files(book)]
    args.screenshots.mkdir(parents=True, exist_ok=True)
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1600})
        external = []
        page.on("request", lambda r: external.append(r.url) if r.url.startswith("http") else None)
        for path in pages:
            page.goto(path.resolve().as_uri(), wait_until="load")
            has_math = page.evaluate("() => document.querySelectorAll('.math, span.math, div.math').length")
            if has_math:
                page.wait_for_function("() => document.querySelectorAll('mjx-container').length > 0", timeout=20000)
            page.wait_for_function("() => Array.from(document.images).every(i => i.complete)", timeout=20000)
            info = page.evaluate("""() => ({
                title: (document.querySelector('h1') || {}).innerText || '',
                images: Array.from(document.images).map(i => [i.src.split('/').pop(), i.naturalWidth]),
                math: document.querySelectorAll('mjx-container').length,
                mathSource: document.querySelectorAll('.math').length,
                traceback: document.body.innerText.includes('Traceback (most recent call last)'),
            })""")
            broken = [src for src, w in info["images"] if w == 0]
            name = path.relative_to(args.html).with_suffix("").as_posix().replace("/", "_")
            page.screenshot(path=str(args.screenshots / f"{name}.png"), full_page=True)
            status = "ok"
            if not info["title"].strip():
                problems.append(f"{path}: no title shown")
            if broken:
                problems.append(f"{path}: images not loaded: {broken}")
            if info["mathSource"] and not info["math"]:
                problems.append(f"{path}: math not typeset")
            if info["traceback"]:
                problems.append(f"{path}: traceback text on the page")
            print(f"{name}: title={info['title'].strip()[:50]!r} images={len(info['images'])} "
                  f"math={info['math']} {status}")
        browser.close()
    if external:
        print(f"note: the pages asked for {len(set(external))} external URLs (e.g. {sorted(set(external))[:3]})")
    for pr in problems:
        print("PROBLEM:", pr, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
