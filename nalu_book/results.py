"""What each chapter hands to the conclusions: a results file per chapter with a fixed schema.

A chapter's file holds ``figures`` (its headline numbers, free-form, for display) and
``findings``: one ``Finding`` per claim it checks — who claims it, what, by which measure, and the
evidence a verdict needs (successes and seeds, per-seed values, or a yes/no check; our budget; the
published value and its budget). The conclusions turn findings into verdicts with
``nalu.verdicts`` (``claims_table``); they never read figures by key.

Each chapter builds its own findings from its own variables and passes them to ``save``; the
package holds no chapter's claims. ``save`` asks for the findings explicitly (``findings=[]`` for a
chapter that checks no claim), so a chapter that forgets them fails when it is executed, not with a
silently shorter table at the end of the build. ``claims_table`` lists every chapter whose file
carries findings, in name order, so a new chapter's findings reach the conclusions as they are.

Files are validated when written and when read: an unknown or missing field or a wrong type fails
at once, naming the file, the finding and the field.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from nalu import verdicts as V

__all__ = ["SCHEMA_VERSION", "KINDS", "Finding", "ChapterResults", "save", "load", "load_all", "claim_chapters",
           "claims_table", "SchemaError", "madsen_static_findings", "MADSEN_STEPS", "MADSEN_MEASURE", "TRASK_MEASURE",
           "CONCLUSIONS"]

SCHEMA_VERSION = 2
KINDS = ("rate", "median", "check")
MADSEN_STEPS = 5_000_000  # Madsen & Johansen's training length on the static task
# the measures several chapters judge claims by, spelled once so that their rows match
TRASK_MEASURE = "Trask's normalised error"
MADSEN_MEASURE = "Madsen's success criterion"
CONCLUSIONS = "99_conclusions"  # the conclusions' own results file: never a source of findings


class SchemaError(ValueError):
    """A results file or a finding that does not have the expected shape."""


@dataclass(frozen=True)
class Finding:
    """One claim, checked by one chapter, with the evidence its verdict rests on.

    ``kind`` says which evidence: ``"rate"`` (``successes`` of ``n`` seeds vs ``published`` rate in
    [0, 1] or a range), ``"median"`` (per-seed ``values`` vs a ``published`` median or range) or
    ``"check"`` (a yes/no test ``passed`` over ``n`` seeds, or ``exact`` without randomness).
    ``budget`` is our training steps; ``published_solved_at`` / ``published_steps`` the source's
    median solved-at step / training length (the budget a verdict needs, ``nalu.verdicts``).
    ``own`` marks a finding of the book itself rather than a claim of a source.
    ``unmet`` names a precondition of the comparison that the runs did not meet (e.g. "the reference
    model reads 44% of the digits, below 90%"); a finding with one is underpowered whatever its
    evidence says, and the reason says why. ``cost``: what deciding it would cost on this machine,
    where the chapter can estimate it (e.g. "about 29 core-hours at this run's speed"); the verdict
    says what would decide it (``Verdict.needs``), the conclusions show both.
    """

    chapter: str
    source: str
    claim: str
    measure: str
    kind: str
    test: str = ""
    own: bool = False
    successes: int | None = None
    n: int | None = None
    published: float | list[float] | None = None
    budget: float | None = None
    published_solved_at: float | None = None
    published_steps: float | None = None
    published_interval: list[float] | None = None
    values: list[float] | None = None
    passed: bool | None = None
    exact: bool = False
    note: str = ""
    unmet: str = ""
    cost: str = ""

    def __post_init__(self):
        for name in ("chapter", "source", "claim", "measure"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise SchemaError(f"Finding.{name} must be a non-empty string, got {getattr(self, name)!r}")
        if self.kind not in KINDS:
            raise SchemaError(f"Finding.kind must be one of {KINDS}, got {self.kind!r} ({self.claim!r})")
        need = {"rate": ("successes", "n", "published"), "median": ("values", "published"),
                "check": ("passed",)}[self.kind]
        missing = [f for f in need if getattr(self, f) is None]
        if self.kind == "check" and not self.exact and self.n is None:
            missing.append("n (or exact=True)")
        if missing:
            raise SchemaError(f"a {self.kind!r} finding needs {missing} ({self.chapter}: {self.claim!r})")
        if not isinstance(self.cost, str):
            raise SchemaError(f"Finding.cost must be a string (what deciding it would cost here, or \"\"), "
                              f"got {self.cost!r} ({self.claim!r})")
        if not isinstance(self.unmet, str):
            raise SchemaError(f"Finding.unmet must be a string naming the unmet precondition (or \"\"), "
                              f"got {self.unmet!r} ({self.claim!r})")
        if self.values is not None:
            object.__setattr__(self, "values", [float(v) for v in self.values])
        if isinstance(self.published, tuple):
            object.__setattr__(self, "published", list(self.published))
        if self.published_interval is not None:
            iv = self.published_interval
            if self.kind != "rate" or len(iv) != 2 or not 0 <= iv[0] <= iv[1] <= 1:
                raise SchemaError(f"Finding.published_interval must be a rate finding's [low, high] in [0, 1], got "
                                  f"{iv!r} ({self.claim!r})")
            object.__setattr__(self, "published_interval", [float(iv[0]), float(iv[1])])
        for name in ("successes", "n"):
            v = getattr(self, name)
            if v is not None:
                if isinstance(v, bool) or not float(v).is_integer():
                    raise SchemaError(f"Finding.{name} must be an integer count, got {v!r} ({self.claim!r})")
                object.__setattr__(self, name, int(v))
        if self.passed is not None:
            object.__setattr__(self, "passed", bool(self.passed))
        self.verdict()  # fails now, with the verdict module's message, on values it cannot judge

    def verdict(self) -> V.Verdict:
        """The three-level verdict (``nalu.verdicts``) this finding's evidence earns."""
        v = self._evidence_verdict()
        if self.unmet:
            return V.Verdict(V.UNDERPOWERED, v.lo, v.hi, f"{v.reason}, but {self.unmet}",
                             "; ".join(filter(None, [v.needs, f"a run in which that no longer holds ({self.unmet})"])))
        return v

    def _evidence_verdict(self) -> V.Verdict:
        published = tuple(self.published) if isinstance(self.published, list) else self.published
        try:
            if self.kind == "rate":
                return V.rate_verdict(self.successes, self.n, published, budget=self.budget,
                                      published_solved_at=self.published_solved_at,
                                      published_steps=self.published_steps,
                                      published_interval=None if self.published_interval is None
                                      else tuple(self.published_interval))
            if self.kind == "median":
                vals = [math.inf if v is None else v for v in self.values]
                return V.median_verdict(vals, published, budget=self.budget, published_steps=self.published_steps)
            return V.check_verdict(self.passed, self.n, exact=self.exact, budget=self.budget,
                                   published_steps=self.published_steps)
        except ValueError as e:
            raise SchemaError(f"{self.chapter}: {self.claim!r}: {e}") from e

    def evidence(self) -> str:
        """The evidence in words, generated from the numbers."""
        budget = f" at {self.budget:,.0f} steps" if self.budget else ""
        if self.kind == "rate":
            v = self.verdict()
            text = (f"{self.successes}/{self.n} seeds = {100 * self.successes / self.n:.0f}% "
                    f"[{100 * v.lo:.0f}%, {100 * v.hi:.0f}%]{budget}")
        elif self.kind == "median":
            med, lo, hi = V.median_interval([math.inf if v is None else v for v in self.values])
            text = f"median {V.fmt_number(med)} [{V.fmt_number(lo)}, {V.fmt_number(hi)}] over {len(self.values)} seeds{budget}"
        else:
            seeds = "exact computation" if self.exact else f"{self.n} seeds"
            text = f"{'passes' if self.passed else 'fails'} ({seeds}{budget})"
        return f"{text}; {self.note}" if self.note else text

    def published_text(self) -> str:
        if self.published is None:
            return "—"
        fmt = (lambda x: f"{100 * x:.0f}%") if self.kind == "rate" else V.fmt_number
        if isinstance(self.published, list):
            return f"{fmt(self.published[0])}–{fmt(self.published[1])}"
        return fmt(self.published)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "") -> "Finding":
        known = {f.name for f in fields(cls)}
        if unknown := sorted(set(d) - known):
            raise SchemaError(f"{where}: unknown field(s) {unknown} in a finding; a Finding has {sorted(known)}")
        try:
            return cls(**d)
        except TypeError as e:
            raise SchemaError(f"{where}: {e}") from e


@dataclass(frozen=True)
class ChapterResults:
    """One chapter's results file: its figures (free-form numbers) and its findings."""

    chapter: str
    figures: dict = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()


def _jsonable(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.bool_):
        return bool(o)
    raise TypeError(f"cannot store {type(o).__name__} in a results file")


_REQUIRED: Any = object()  # ``save``'s findings have no default: a chapter says which it checks, or []


def save(results_dir: str | Path, chapter: str, figures: Mapping[str, Any],
         findings: Sequence[Finding] = _REQUIRED) -> Path:
    """Write ``<results_dir>/<chapter>.json`` with the chapter's figures and findings.

    ``findings`` is required: the chapter's ``Finding`` records, or ``[]`` for a chapter that checks
    no claim (said explicitly, so a chapter that forgets its findings fails here)."""
    if findings is _REQUIRED or findings is None:
        raise SchemaError(f"{chapter}: save_results needs the chapter's findings: pass findings=[Finding(...), ...], "
                          f"or findings=[] if the chapter checks no claim")
    if isinstance(findings, (str, bytes, Mapping, Finding)) or not isinstance(findings, Iterable):
        raise SchemaError(f"{chapter}: findings must be a list of nalu_book.results.Finding records (or []), "
                          f"got {type(findings).__name__}")
    findings = list(findings)
    for f in findings:
        if not isinstance(f, Finding):
            raise SchemaError(f"{chapter}: findings must be nalu_book.results.Finding records, got {type(f).__name__}")
        f.verdict()
    blob = dict(schema=SCHEMA_VERSION, chapter=chapter, figures=dict(figures),
                findings=[asdict(f) for f in findings])
    path = Path(results_dir) / f"{chapter}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(blob, indent=1, default=_jsonable, ensure_ascii=False))
    return path


def load(path: str | Path) -> ChapterResults:
    """Read and validate one chapter's results file."""
    path = Path(path)
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_VERSION:
        got = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise SchemaError(f"{path}: results schema {got!r}, expected {SCHEMA_VERSION}; re-execute that chapter")
    if missing := {"chapter", "figures", "findings"} - set(data):
        raise SchemaError(f"{path}: lacks {sorted(missing)}")
    findings = tuple(Finding.from_dict(d, f"{path} finding {i}") for i, d in enumerate(data["findings"]))
    return ChapterResults(data["chapter"], data["figures"], findings)


def load_all(results_dir: str | Path) -> dict[str, ChapterResults]:
    """Every chapter's results in ``results_dir`` (validated), by chapter name."""
    return {p.stem: load(p) for p in sorted(Path(results_dir).glob("*.json"))}


def claim_chapters(results: Mapping[str, ChapterResults]) -> list[str]:
    """The chapters whose results carry findings, in name order (every chapter but ``CONCLUSIONS``)."""
    return sorted(c for c, r in results.items() if c != CONCLUSIONS and getattr(r, "findings", None))


def claims_table(results: Mapping[str, ChapterResults], chapters: Sequence[str] | None = None,
                 expect: Iterable[str] = ()) -> pd.DataFrame:
    """One row per finding of ``chapters`` with its verdict; by default every chapter whose results
    carry findings, in name order (``claim_chapters``). ``expect`` names chapters that must have a
    results file (e.g. every chapter of the book): a missing one, or a missing chapter of
    ``chapters``, is an error, not a silently shorter table.

    One claim (source and claim text) tested by several rows (another measure, chapter or budget)
    is judged once: ``primary`` marks the row its verdict comes from — a decided verdict before an
    underpowered one, then the largest budget, then the most seeds, then the first — and the others
    are supporting rows. Count claims with ``table[table.primary]``."""
    if missing := sorted(c for c in expect if c not in results and c != CONCLUSIONS):
        raise SchemaError(f"no results for {missing}: execute those chapters first (same build, same mode)")
    if chapters is None:
        chapters = claim_chapters(results)
    chapters = list(chapters)
    if missing := [c for c in chapters if c not in results]:
        raise SchemaError(f"no results for {missing}: execute those chapters first (same build, same mode)")
    rows = []
    for c in chapters:
        res = results[c]
        if not isinstance(res, ChapterResults):
            raise SchemaError(f"{c}: expected ChapterResults (nalu_book.results.load), got {type(res).__name__}")
        for f in res.findings:
            v = f.verdict()
            rows.append(dict(source=f.source, claim=f.claim, chapter=f.chapter, measure=f.measure, test=f.test,
                             published=f.published_text(), evidence=f.evidence(), verdict=v.level, why=v.reason,
                             needs=v.needs, cost=f.cost, own=f.own, n=f.n if f.n is not None else (len(f.values) if f.values else None),
                             budget=f.budget))
    table = pd.DataFrame(rows, columns=["source", "claim", "chapter", "measure", "test", "published", "evidence",
                                        "verdict", "why", "needs", "cost", "own", "n", "budget"])
    strength = pd.DataFrame({"decided": (table.verdict != V.UNDERPOWERED).astype(int),
                             "budget": table.budget.fillna(0).astype(float), "n": table.n.fillna(0).astype(float),
                             "order": -pd.Series(range(len(table)), index=table.index, dtype=float)})
    best = strength.assign(source=table.source, claim=table.claim) \
        .sort_values(["decided", "budget", "n", "order"], ascending=False) \
        .drop_duplicates(["source", "claim"]).index
    table["primary"] = table.index.isin(best)
    table["budget"] = table["budget"].astype(object).where(table["budget"].notna(), None)  # JSON: null, not NaN
    return table


def madsen_rate_finding(successes: int, n: int, budget: int, p: Any, chapter: str, claim: str | None = None,
                        training_steps: int = MADSEN_STEPS) -> Finding:
    """One published rate of Madsen & Johansen (``p``: a ``nalu_lab.scale.Published``, from their run
    ``training_steps`` long) judged by ``successes`` of ``n`` seeds trained ``budget`` steps."""
    claim = claim or f"{p.unit} succeeds on {_SYM.get(p.op, p.op)} in {100 * p.success:.0f}% of seeds"
    return Finding(chapter, f"Madsen & Johansen 2020, {p.table}", claim, MADSEN_MEASURE, "rate",
                   test="published rate inside our 95% interval", successes=int(successes), n=int(n),
                   published=float(p.success), budget=int(budget), published_solved_at=p.solved_at,
                   published_steps=training_steps, published_interval=p.interval())


def madsen_static_findings(static: pd.DataFrame, published: Sequence[Any], chapter: str) -> list[Finding]:
    """Findings for Madsen & Johansen's static-table rows from a tidy table (columns unit, op, seed,
    steps, success, …: ``nalu_lab.scale.load_static`` or the benchmark grid), one per published row
    whose unit and operation the table has (at its largest budget)."""
    out = []
    for p in published:
        cell = static[(static.unit == p.unit) & (static.op == p.op)]
        if not cell.empty:
            cell = cell[cell.steps == cell.steps.max()]
            out.append(madsen_rate_finding(int(cell.success.sum()), len(cell), int(cell.steps.max()), p, chapter))
    return out


_SYM = {"add": "+", "sub": "−", "mul": "×", "div": "÷", "square": "x²", "sqrt": "√x"}
