"""Open every rendered page in headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright) at a desktop width (1280 px) and a phone width (390 px), and check what a reader sees.

A page fails on
* content wider than the viewport: the document scrolls sideways, or an element sticks out of
  the content column without a scroll container of its own (overflow-x auto/scroll) around it
  (a cell tagged full-width may use the right margin, up to the viewport);
* an error output cell or traceback text;
* an image that did not load (naturalWidth 0), or math that was not typeset;
* an error on the browser console (or an uncaught script error);
* no title.

A screenshot of every page at both widths goes to --screenshots (NAME.png at 1280 px,
NAME@390.png at 390 px). Set CHROMIUM=playwright to use Playwright's own browser build (CI)
instead of the system's chromium.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic"]
WIDTHS = {"desktop": 1280, "phone": 390}
HEIGHT = {"desktop": 1000, "phone": 844}

# Elements that stick out of the content column with no scroll container between them and the
# column. Sidebars and margin notes are laid out beside the column on purpose; sr-only text is 1 px.
# A cell tagged full-width may use the margin to the right of the column, up to the viewport.
OVERFLOW_JS = r"""() => {
  const column = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const col = column.getBoundingClientRect();
  const viewport = document.documentElement.clientWidth;
  const right = Math.min(col.right, viewport), left = Math.max(col.left, 0);
  const skip = '.margin, aside, .sidebar, .bd-sidebar-secondary, .sr-only, .visually-hidden, .headerlink, mjx-assistive-mml';
  const scrolls = el => { const o = getComputedStyle(el).overflowX; return o === 'auto' || o === 'scroll'; };
  const clips = el => { const o = getComputedStyle(el).overflowX; return o === 'hidden' || o === 'clip'; };
  const bad = [];
  for (const el of column.querySelectorAll('*')) {
    if (el.closest(skip)) continue;
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1) continue;
    const limit = el.closest('.tag_full-width') ? viewport : right;
    if (r.right <= limit + 1 && r.left >= left - 1) continue;
    let contained = false, clipped = false;
    for (let a = el.parentElement; a && a !== column; a = a.parentElement) {
      if (scrolls(a)) { contained = true; break; }
      if (clips(a)) { clipped = true; break; }
    }
    if (contained) continue;
    if (bad.some(b => b.el.contains(el))) continue;
    const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                 (typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\s+/).slice(0, 3).join('.') : '');
    const where = (el.closest('section[id]') || {}).id || '';
    bad.push({el, name, where, clipped, left: Math.round(r.left), right: Math.round(r.right),
              text: (el.innerText || '').trim().slice(0, 60)});
  }
  return {
    docWidth: document.documentElement.scrollWidth, viewport,
    column: [Math.round(left), Math.round(right)],
    elements: bad.slice(0, 8).map(({el, ...rest}) => rest), count: bad.length,
  };
}"""

PAGE_JS = r"""() => ({
  title: (document.querySelector('h1') || {}).innerText || '',
  images: Array.from(document.images).map(i => [i.src.split('/').pop().slice(0, 60), i.naturalWidth]),
  math: document.querySelectorAll('mjx-container').length,
  mathSource: document.querySelectorAll('.math').length,
  errorCells: document.querySelectorAll('.cell_output .traceback, .cell_output .output.error, .cell_output .output.traceback, .cell_output .stderr').length,
  traceback: document.body.innerText.includes('Traceback (most recent call last)'),
})"""


def chromium_path(choice: str | None) -> str | None:
    """The browser to drive: an executable, or None for Playwright's own build."""
    if choice == "playwright":
        return None
    if choice:
        return choice
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found is None:
        raise SystemExit("no chromium found: install Debian's chromium (apt-get install -y chromium), pass "
                         "--chromium PATH, or set CHROMIUM=playwright after `python -m playwright install chromium`")
    return found


def check_page(page, path: Path, html: Path, width_name: str, shots: Path, console: list[str]) -> list[str]:
    problems = []
    console.clear()
    page.goto(path.resolve().as_uri(), wait_until="load")
    if page.evaluate("() => document.querySelectorAll('.math, span.math, div.math').length"):
        page.wait_for_function("() => document.querySelectorAll('mjx-container').length > 0", timeout=20000)
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete)", timeout=20000)
    page.wait_for_timeout(200)  # let MathJax finish laying out before measuring widths
    info = page.evaluate(PAGE_JS)
    over = page.evaluate(OVERFLOW_JS)
    name = path.relative_to(html).with_suffix("").as_posix().replace("/", "_")
    shot = shots / (f"{name}.png" if width_name == "desktop" else f"{name}@{WIDTHS[width_name]}.png")
    page.screenshot(path=str(shot), full_page=True)
    where = f"{path.relative_to(html)} @ {WIDTHS[width_name]} px"
    if not info["title"].strip():
        problems.append(f"{where}: no title shown")
    broken = [src for src, w in info["images"] if w == 0]
    if broken:
        problems.append(f"{where}: images not loaded: {broken}")
    if info["mathSource"] and not info["math"]:
        problems.append(f"{where}: math not typeset")
    if info["errorCells"] or info["traceback"]:
        problems.append(f"{where}: {info['errorCells']} error output cell(s)"
                        + (", traceback text on the page" if info["traceback"] else ""))
    if over["docWidth"] > over["viewport"] + 1:
        problems.append(f"{where}: the page scrolls sideways (document {over['docWidth']} px wide, "
                        f"viewport {over['viewport']} px)")
    for e in over["elements"]:
        kind = "clipped by an overflow:hidden parent" if e["clipped"] else "with no scroll container"
        problems.append(f"{where}: {e['name']} spans x = {e['left']}..{e['right']} px, outside the content column "
                        f"{over['column'][0]}..{over['column'][1]} px, {kind} (section {e['where']!r}, "
                        f"text {e['text']!r})")
    if over["count"] > len(over["elements"]):
        problems.append(f"{where}: … and {over['count'] - len(over['elements'])} more elements outside the column")
    for msg in console:
        problems.append(f"{where}: console error: {msg}")
    print(f"{name} @ {WIDTHS[width_name]}: title={info['title'].strip()[:40]!r} images={len(info['images'])} "
          f"math={info['math']} width={over['docWidth']}/{over['viewport']} "
          f"{'ok' if not problems else f'{len(problems)} problem(s)'}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("html", type=Path)
    ap.add_argument("--screenshots", type=Path, default=Path(".ci/screenshots"))
    ap.add_argument("--chromium", default=os.environ.get("CHROMIUM"),
                    help="browser executable, or 'playwright' for Playwright's build (default: $CHROMIUM, "
                         "else Debian's chromium)")
    ap.add_argument("--pages", nargs="*", help="check only these pages (names as in _toc.yml)")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from check_book import toc_files

    book = args.html.parent.parent
    entries = args.pages or toc_files(book)
    pages = [args.html / f"{Path(f).with_suffix('')}.html" for f in entries]
    missing = [str(p) for p in pages if not p.exists()]
    if missing:
        print(f"PROBLEM: pages not rendered: {missing}", file=sys.stderr)
        return 1
    args.screenshots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as p:
        launch = dict(args=FLAGS)
        exe = chromium_path(args.chromium)
        if exe is not None:
            launch["executable_path"] = exe
        browser = p.chromium.launch(**launch)
        for width_name, width in WIDTHS.items():
            context = browser.new_context(viewport={"width": width, "height": HEIGHT[width_name]},
                                          device_scale_factor=1, is_mobile=width_name == "phone",
                                          has_touch=width_name == "phone")
            page = context.new_page()
            console: list[str] = []
            external: set[str] = set()
            page.on("console", lambda m: console.append(m.text[:200]) if m.type == "error" else None)
            page.on("pageerror", lambda e: console.append(f"uncaught: {str(e)[:200]}"))
            page.on("request", lambda r: external.add(r.url) if r.url.startswith("http") else None)
            for path in pages:
                problems += check_page(page, path, args.html, width_name, args.screenshots, console)
            context.close()
            if external:
                print(f"note: at {width} px the pages asked for {len(external)} external URLs "
                      f"(e.g. {sorted(external)[:3]})")
        browser.close()
    for pr in problems:
        print("PROBLEM:", pr, file=sys.stderr)
    print(f"browser check: {len(pages)} pages × {len(WIDTHS)} widths, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
