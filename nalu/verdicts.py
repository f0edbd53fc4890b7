"""Three-level verdicts: is a published figure consistent with our runs, contradicted by them,
or can our runs not tell (underpowered)?

The rule, for a claim about a success rate (Wilson 95% interval [lo, hi] of k successes in n seeds)
or about a median (95% order-statistic interval of the median of n seeds):

* **powered** when n ≥ ``MIN_SEEDS`` and our training budget reaches the published median
  solved-at step (where one is published; where none is, e.g. a claim that a unit never succeeds,
  the budget must reach the published training length, when that is given);
* **consistent**: powered, the published value (or the claimed range) meets our interval, and
  the interval is narrow enough to have excluded a materially different value: width ≤
  ``MAX_WIDTH`` for a rate, at most ``MAX_LOG10_WIDTH`` decades for a median of errors (an
  interval that lies wholly inside a claimed range needs no width condition);
* **contradicted**: powered, and the published value lies outside our interval. Contradiction
  needs the seeds and the budget but not the width condition: an interval that excludes the
  published value has already excluded it, however wide it is. A rate *below* the published one,
  from a budget shorter than the source's training, contradicts it only if it is below half of it:
  by the published median solved-at step half of the source's successes had been solved, so a run
  cut short there could show as little as half the published rate (``truncation_problem``). Where
  the source's rate comes with its own interval (from its seeds), our interval must miss that whole
  interval: two estimates that overlap do not disagree;
* **underpowered**: anything else. A 0/3 is never consistent with a published 14%. Such a verdict
  says what would decide it (``Verdict.needs``): the seeds and budget it lacks; or their training
  length and about how many seeds at our rate would put our interval outside every value the
  source's figure allows (``seeds_to_exclude``), or that none would; or the seeds for a narrow
  enough interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .metrics import wilson_interval

__all__ = ["MIN_SEEDS", "MAX_WIDTH", "MAX_LOG10_WIDTH", "CONFIDENCE", "LEVELS", "CONSISTENT", "CONTRADICTED",
           "UNDERPOWERED", "Verdict", "rate_verdict", "seeds_to_exclude", "truncation_problem", "median_verdict", "median_interval", "check_verdict",
           "rule_text", "superscript", "fmt_number"]

MIN_SEEDS = 20  # fewer seeds than this decide nothing
MAX_WIDTH = 0.35  # widest Wilson 95% interval (hi − lo) that can call a rate consistent
MAX_LOG10_WIDTH = 1.0  # widest interval of a median error, in decades (log10 hi/lo), that can call it consistent
CONFIDENCE = 0.95

CONSISTENT, CONTRADICTED, UNDERPOWERED = "consistent", "contradicted", "underpowered"
LEVELS = (CONSISTENT, CONTRADICTED, UNDERPOWERED)


def superscript(n: int) -> str:
    """An integer in superscript digits: −5 -> '⁻⁵' (for powers of ten, 10⁻⁵)."""
    return str(int(n)).translate(str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻"))


def fmt_number(v: float, digits: int = 3) -> str:
    """``v`` to ``digits`` significant digits as the papers write it: 1974000 -> '1.97·10⁶', 1e6 ->
    '10⁶', 0.005 -> '0.005', −2.5e-7 -> '−2.5·10⁻⁷' (Python's 'g' choice of plain or power-of-ten form,
    except that whole numbers below 10⁴ stay plain: 523 -> '523' at 2 digits -> '520'; the minus sign −);
    ±inf -> '∞' / '−∞'."""
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 1:
        raise ValueError(f"digits must be a positive integer (significant digits, e.g. 3), got {digits!r}")
    sign = "−" if v < 0 else ""  # the minus sign, as in the book's ranges U[−2, −1]
    if math.isinf(v):
        return sign + "∞"
    text = f"{abs(v):.{digits}g}"
    if "e" not in text:
        return sign + text
    mantissa, exponent = text.split("e")
    if 0 <= int(exponent) < 4:  # 5e+02 -> 500: a reader takes in a plain count below 10⁴ faster
        return sign + str(round(float(text)))
    return sign + ("" if mantissa == "1" else f"{mantissa}·") + "10" + superscript(int(exponent))


@dataclass(frozen=True)
class Verdict:
    """A verdict with the interval it rests on and the reason in words."""

    level: str
    lo: float
    hi: float
    reason: str
    needs: str = ""  # an underpowered verdict: what would decide it (more seeds, a longer budget, …)

    def __str__(self) -> str:
        return self.level


def rule_text() -> str:
    """The rule in words, with the numbers of this module (for the conclusions page)."""
    return (f"**consistent**: the published value lies inside our 95% interval, with at least {MIN_SEEDS} seeds, "
            f"an interval no wider than {MAX_WIDTH:.2f} for a success rate (at most {MAX_LOG10_WIDTH:g} decade "
            f"for a median error), and a training budget at least the published median solved-at step "
            f"(the published training length where no solved-at step is published); "
            f"**contradicted**: the published value lies outside our interval, with the same seeds and budget "
            f"(no width condition: an interval that excludes a value has excluded it); where the source gives its "
            f"own rate's interval (or its seed count), our interval must miss that whole interval, and a success "
            f"rate below the published one, from a budget shorter than the source's training, must lie below half "
            f"of it (by the published median solved-at step only half of the source's successes had been solved); "
            f"**underpowered**: anything else — too few seeds, too wide an interval, or too short a budget. "
            f"A check counts only if its result could have come out the other way at this budget: what holds "
            f"by construction (an identity of the equations, a gradient formula, a sign that exp(·) cannot "
            f"give) is a test of the code, not a finding, and is not in the tally.")


def _claim_range(published: float | tuple[float, float], what: str) -> tuple[float, float]:
    if isinstance(published, (tuple, list)):
        if len(published) != 2 or not published[0] <= published[1]:
            raise ValueError(f"{what} must be a number or a range (low, high) with low ≤ high, got {published!r}")
        return float(published[0]), float(published[1])
    if published is None or isinstance(published, bool) or not isinstance(published, (int, float, np.number)):
        raise ValueError(f"{what} must be a number or a range (low, high), got {published!r}")
    return float(published), float(published)


def _budget_bar(published_solved_at: float | None, published_steps: float | None) -> tuple[float | None, str]:
    """The budget a claim needs and its name: the published median solved-at step, else the training length."""
    return ((published_solved_at, "the published median solved-at step") if published_solved_at is not None
            else (published_steps, "the published training length"))


def _budget_problem(budget: float | None, published_solved_at: float | None,
                    published_steps: float | None) -> str | None:
    """Why the budget is too short to decide (None: it is long enough, or no bar is published)."""
    bar, name = _budget_bar(published_solved_at, published_steps)
    if bar is None:
        return None
    if budget is None:
        raise ValueError(f"budget is required when {name} is given ({bar:g}); pass the number of training steps")
    if not budget > 0:
        raise ValueError(f"budget must be a positive number of steps, got {budget!r}")
    if budget < bar:
        return f"budget {budget:,.0f} steps < {name} {bar:,.0f}"
    return None


def _short_needs(n: int, budget_problem: str | None, published_solved_at: float | None = None,
                 published_steps: float | None = None) -> str:
    """What a run too small to decide needs: the seeds and the budget it lacks."""
    needs = [f"at least {MIN_SEEDS} seeds"] if n < MIN_SEEDS else []
    if budget_problem:
        bar, name = _budget_bar(published_solved_at, published_steps)
        needs.append(f"a budget of {bar:,.0f} steps ({name})")
    return " and ".join(needs)


def seeds_to_exclude(rate: float, low: float, high: float, max_seeds: int = 1_000_000) -> int | None:
    """About how many seeds a run succeeding in a fraction ``rate`` of them (round(rate · n) of n) needs
    for its Wilson 95% interval to miss [low, high]: doubling, then bisection (the rounding makes the
    count approximate). None when ``rate`` lies in [low, high] (no number of seeds separates them) or
    more than ``max_seeds`` would be needed."""
    if not (0 <= rate <= 1 and 0 <= low <= high <= 1):
        raise ValueError(f"rate, low and high must be fractions in [0, 1] with low ≤ high, got {rate!r}, {low!r}, "
                         f"{high!r}")
    if low <= rate <= high:
        return None

    def misses(n: int) -> bool:
        lo, hi = wilson_interval(round(rate * n), n)
        return hi < low or lo > high

    n = 1
    while not misses(n):
        n *= 2
        if n > max_seeds:
            return None
    below, above = n // 2, n  # misses(above); not misses(below) (or below = 0)
    while above - below > 1:
        mid = (below + above) // 2
        below, above = (below, mid) if misses(mid) else (mid, above)
    return above


def _decide(lo: float, hi: float, claim: tuple[float, float], n: int, budget_problem: str | None,
            too_wide: str | None, fmt, short_needs: str = "", wide_needs: str = "") -> Verdict:
    a, b = claim
    claim_text = fmt(a) if a == b else f"[{fmt(a)}, {fmt(b)}]"
    meets = a <= hi and lo <= b
    where = f"published {claim_text} {'inside' if meets else 'outside'} our [{fmt(lo)}, {fmt(hi)}]"
    short = []
    if n < MIN_SEEDS:
        short.append(f"{n} seeds < {MIN_SEEDS}")
    if budget_problem:
        short.append(budget_problem)
    if short:
        return Verdict(UNDERPOWERED, lo, hi, f"{where}, but " + " and ".join(short), short_needs)
    if not meets:
        return Verdict(CONTRADICTED, lo, hi, where)
    if too_wide and not (a <= lo and hi <= b):
        return Verdict(UNDERPOWERED, lo, hi, f"{where}, but {too_wide}", wide_needs)
    return Verdict(CONSISTENT, lo, hi, where)


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def truncation_problem(hi: float, claim_low: float, budget: float | None, published_solved_at: float | None,
                       published_steps: float | None) -> str | None:
    """Why a rate whose interval ends at ``hi``, below the published ``claim_low``, cannot contradict it
    (None: it can). When our budget reaches the published median solved-at step but not the published
    training length, a seed that the source counted as a success may not have been solved yet in our
    run; at the median solved-at step half of the source's successes had been solved, so a run cut
    short there could show as little as ``claim_low / 2``. Only an interval below that contradicts."""
    if budget is None or published_solved_at is None or published_steps is None or budget >= published_steps:
        return None
    if not hi < claim_low or hi < claim_low / 2:
        return None
    return (f"budget {budget:,.0f} steps < the published training length {published_steps:,.0f}: by their median "
            f"solved-at step {published_solved_at:,.0f} half of their successes were solved, so their run cut short "
            f"at our budget could show as little as {_pct(claim_low / 2)}")


def rate_verdict(successes: int, n: int, published: float | tuple[float, float], *, budget: float | None = None,
                 published_solved_at: float | None = None, published_steps: float | None = None,
                 published_interval: tuple[float, float] | None = None) -> Verdict:
    """Verdict on a published success rate (a number in [0, 1], or a claimed range (low, high))
    from ``successes`` of ``n`` seeds trained for ``budget`` steps; Wilson 95% interval. Give the
    published median solved-at step and the published training length wherever both are known: a
    rate below the published one from a shorter budget then needs to be below half of it
    (``truncation_problem``). ``published_interval``: the interval the source's own seeds give its
    rate (as published, or Wilson's from its seed count); a contradiction then needs our interval to
    miss that whole interval, not only its point (two estimates from finitely many seeds)."""
    lo, hi = wilson_interval(successes, n)
    claim = _claim_range(published, "published")
    if not (0 <= claim[0] and claim[1] <= 1):
        raise ValueError(f"a published rate must lie in [0, 1] (a fraction, not a percentage), got {published!r}")
    width = hi - lo
    too_wide = f"interval width {width:.3f} > {MAX_WIDTH}" if width > MAX_WIDTH else None  # 3 places: 0.351 is not 0.35
    short = _budget_problem(budget, published_solved_at, published_steps)
    truncated = None if short else truncation_problem(hi, claim[0], budget, published_solved_at, published_steps)
    if published_interval is not None:
        a, b = _claim_range(tuple(published_interval), "published_interval")
        if not (0 <= a and b <= 1):
            raise ValueError(f"published_interval must lie in [0, 1] (fractions), got {published_interval!r}")
    needs = _rate_needs(successes / n, n, (lo, hi), claim, short, truncated, published_interval and (a, b),
                        published_solved_at, published_steps)
    verdict = _decide(lo, hi, claim, n, short or truncated, too_wide, _pct, needs, needs)
    if verdict.level == CONTRADICTED and published_interval is not None:
        if a <= hi and lo <= b:
            return Verdict(UNDERPOWERED, lo, hi, f"{verdict.reason}, but the interval their own seeds give it, "
                                                 f"[{_pct(a)}, {_pct(b)}], meets ours: the two runs do not disagree "
                                                 f"beyond their seeds", needs)
    if verdict.level == CONTRADICTED:  # say which of the stricter clauses it also passed
        also = []
        if published_interval is not None:
            also.append(f"outside [{_pct(a)}, {_pct(b)}], the interval their own seeds give it")
        if hi < claim[0] and budget is not None and published_steps is not None and budget < published_steps \
                and published_solved_at is not None:
            also.append(f"below {_pct(claim[0] / 2)}, the least their run cut short at our budget could show")
        if also:
            return Verdict(CONTRADICTED, lo, hi, f"{verdict.reason}; our interval is also " + " and ".join(also))
    return verdict


def _rate_needs(rate: float, n: int, ours: tuple[float, float], claim: tuple[float, float], short: str | None,
                truncated: str | None,
                theirs: tuple[float, float] | None, published_solved_at: float | None,
                published_steps: float | None) -> str:
    """What would decide a rate claim that our run leaves undecided: the seeds and budget it lacks; else
    their training length (a cut-short run) and the seeds at our rate for our interval to miss every
    value the source's figure allows (the claim, their own interval, half the claim when cut short), or
    the seeds for an interval narrow enough to call it consistent."""
    if short or n < MIN_SEEDS:
        return _short_needs(n, short, published_solved_at, published_steps)
    low, high = claim
    if theirs is not None:
        low, high = min(low, theirs[0]), max(high, theirs[1])
    if truncated:
        low = min(low, claim[0] / 2)
    if claim[0] <= ours[1] and ours[0] <= claim[1]:  # the claim meets our interval: only its width is short
        m = _seeds_for_width(rate)
        return f"about {m:,} seeds at our rate of {_pct(rate)} (an interval no wider than {MAX_WIDTH})" if m else ""
    m = seeds_to_exclude(rate, low, high)
    apart = (f"about {m:,} seeds at our rate of {_pct(rate)} (an interval outside [{_pct(low)}, {_pct(high)}])" if m
             else f"no number of our seeds: our rate of {_pct(rate)} lies inside [{_pct(low)}, {_pct(high)}], the "
                  "values their figure allows")
    if truncated:
        return f"their training length, {published_steps:,.0f} steps" + (f", or {apart}" if m else f" ({apart})")
    return apart


def _seeds_for_width(rate: float, max_seeds: int = 1_000_000) -> int | None:
    """About how many seeds at ``rate`` give a Wilson 95% interval no wider than ``MAX_WIDTH``."""
    n = 1
    while (lambda iv: iv[1] - iv[0])(wilson_interval(round(rate * n), n)) > MAX_WIDTH:
        n += 1 if n < 100 else n // 10
        if n > max_seeds:
            return None
    return n


def median_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """Median of ``values`` with its distribution-free order-statistic interval: [x_(l), x_(n+1−l)]
    with l the largest rank such that P(Bin(n, ½) < l) ≤ (1 − confidence)/2 (1-based ranks).
    With too few values for that confidence (n < 6 at 95%) the interval is (−∞, ∞)."""
    x = np.sort(np.asarray(values, dtype=float))
    if x.ndim != 1 or len(x) == 0:
        raise ValueError(f"values must be a non-empty 1-d sequence, got shape {x.shape}")
    if np.isnan(x).any():
        raise ValueError("values contain NaN; drop or replace them (e.g. a diverged seed's error by inf) first")
    n, alpha = len(x), (1 - confidence) / 2
    cdf, l = 0.0, 0
    for k in range(n + 1):  # cdf = P(Bin(n, ½) ≤ k − 1) before adding term k
        if cdf > alpha:
            break
        l = k
        cdf += math.comb(n, k) / 2 ** n
    med = float(np.median(x))
    if l < 1:
        return med, -math.inf, math.inf
    return med, float(x[l - 1]), float(x[n - l])


def median_verdict(values: Sequence[float], published: float | tuple[float, float], *, budget: float | None = None,
                   published_steps: float | None = None) -> Verdict:
    """Verdict on a published median (of errors, ≥ 0; or a claimed range (low, high)) from our
    seeds' ``values``: the 95% order-statistic interval of our median must meet it, spanning at
    most ``MAX_LOG10_WIDTH`` decades to call it consistent."""
    med, lo, hi = median_interval(values)
    claim = _claim_range(published, "published")
    if lo > 0 and math.isfinite(hi):
        decades = math.log10(hi / lo)
        too_wide = f"interval spans {decades:.1f} decades > {MAX_LOG10_WIDTH:g}" if decades > MAX_LOG10_WIDTH else None
    else:
        too_wide = "interval reaches 0 or is unbounded"
    short = _budget_problem(budget, None, published_steps)
    return _decide(lo, hi, claim, len(values), short, too_wide, fmt_number,
                   _short_needs(len(values), short, None, published_steps),
                   "more seeds (an interval of the median within " + f"{MAX_LOG10_WIDTH:g} decade)")


def check_verdict(passed: bool, n: int | None, *, exact: bool = False, budget: float | None = None,
                  published_steps: float | None = None) -> Verdict:
    """Verdict on a claim tested by a yes/no check (e.g. "the LSTM's error exceeds the accumulator's
    at every seed"): consistent when it passes, contradicted when it fails, underpowered with fewer
    than ``MIN_SEEDS`` seeds or too short a budget. ``exact=True`` marks a computation with no
    randomness (an exact integral, hand-set weights), which needs no seeds."""
    if not isinstance(passed, (bool, np.bool_)):
        raise ValueError(f"passed must be a bool, got {passed!r}")
    problems = []
    if not exact:
        if n is None or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be the positive number of seeds (or pass exact=True), got {n!r}")
        if n < MIN_SEEDS:
            problems.append(f"{n} seeds < {MIN_SEEDS}")
    if (p := _budget_problem(budget, None, published_steps)):
        problems.append(p)
    what = "the check passes" if passed else "the check fails"
    if problems:
        return Verdict(UNDERPOWERED, math.nan, math.nan, f"{what}, but " + " and ".join(problems),
                       _short_needs(n if not exact else MIN_SEEDS, p, None, published_steps))
    return Verdict(CONSISTENT if passed else CONTRADICTED, math.nan, math.nan, what)
