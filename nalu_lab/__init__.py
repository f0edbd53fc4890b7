"""nalu_lab: the book's experiments on top of ``nalu`` — the unit × operation grid of the benchmark
chapter (``grid``), the paper-scale runs (``scale``, ``make paper``) and the set-up of their worker
processes (``workers``). Imports ``nalu``; ``nalu`` never imports it."""

from collections import Counter
from typing import Hashable, Iterable, TypeVar

_T = TypeVar("_T", bound=Hashable)


def named_twice(items: Iterable[_T]) -> list[_T]:
    """The items named more than once, each listed once, in the order they first appear: what the
    command lines and grids refuse (a cell, range, job or seed named twice would train the same seeds
    into one checkpoint, or count them twice)."""
    counts = Counter(items)
    return [item for item, n in counts.items() if n > 1]
