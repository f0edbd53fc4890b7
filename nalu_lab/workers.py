"""The experiments' own worker processes (the benchmark grid's, the small tables', the paper-scale
runs'): the engines that start them (``run_each``: this process, a local pool or Ray) and what each
does first. Process-wide settings live here, never in the library: ``nalu`` changes no allocator,
thread or RNG state of the process that imports it."""

from __future__ import annotations

import ctypes
import os
import sys
from typing import Any, Callable, Iterator, Sequence

import torch

__all__ = ["MMAP_THRESHOLD_BYTES", "TRIM_THRESHOLD_BYTES", "ENGINES", "keep_freed_memory", "setup_worker_process",
           "run_each"]

# glibc malloc's thresholds that keep_freed_memory sets (the Makefile sets the same ones for the
# chapters' kernels through MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_; a test compares them)
MMAP_THRESHOLD_BYTES = 32 << 20
TRIM_THRESHOLD_BYTES = 256 << 20


def keep_freed_memory() -> bool:
    """Opt-in allocator tuning for a long training process: ask glibc's malloc to keep large freed
    blocks for reuse (mmap threshold 32 MB, trim threshold 256 MB). Process-wide and permanent,
    so nothing in ``nalu`` calls it in your process (only in the package's own worker processes:
    the grid's pool and the paper-scale runs); the speed appendix measures the page faults per
    step with and without it. Returns whether the settings are in effect (False off glibc)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    try:
        return bool(libc.mallopt(m_mmap_threshold, MMAP_THRESHOLD_BYTES)
                    and libc.mallopt(m_trim_threshold, TRIM_THRESHOLD_BYTES))
    except AttributeError:  # not glibc
        return False


def setup_worker_process() -> None:
    """What each of the package's own worker processes (the benchmark grid's pool, the paper-scale
    runs) does first: one intra-op thread (the workers are the parallelism) and malloc tuned to keep
    freed memory (``keep_freed_memory``; no numeric change)."""
    torch.set_num_threads(1)
    keep_freed_memory()


ENGINES = ("ray", "processes", "inline")


def _set_up_and_call(fn: Callable, *args) -> Any:
    setup_worker_process()  # one thread per worker (the workers are the parallelism), malloc tuned
    return fn(*args)


def run_each(fn: Callable, calls: Sequence[tuple], *, engine: str = "processes", workers: int | None = None,
             address: str | None = None, gpu: bool = False) -> Iterator[tuple[int, Any]]:
    """``fn(*call)`` for every call of ``calls``, yielding ``(index, result)`` as each finishes.

    ``engine``: "inline" runs them in this process, in order (its threads and allocator as they are);
    "processes" in a local pool of ``workers`` spawned processes (default: every core); "ray" as
    Ray tasks on the cluster at ``address`` (or $RAY_ADDRESS), else on a local instance of ``workers``
    CPUs, one CPU (and one GPU with ``gpu``) per call. Pool and Ray workers are set up by
    ``setup_worker_process`` first. ``fn`` must be importable (a module-level function)."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(map(repr, ENGINES))}, got {engine!r}")
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise ValueError(f"workers must be a positive integer or None (every core), got {workers!r}")
    if not calls:
        return
    if engine == "inline":
        for i, call in enumerate(calls):
            yield i, fn(*call)
    elif engine == "processes":
        import concurrent.futures as cf
        import multiprocessing

        with cf.ProcessPoolExecutor(max_workers=workers or os.cpu_count(),
                                    mp_context=multiprocessing.get_context("spawn")) as pool:  # no forked torch state
            futures = {pool.submit(_set_up_and_call, fn, *call): i for i, call in enumerate(calls)}
            for fut in cf.as_completed(futures):
                yield futures[fut], fut.result()
    else:
        import ray

        address = address or os.environ.get("RAY_ADDRESS")
        if not ray.is_initialized():
            ray.init(address=address, num_cpus=None if address else (workers or os.cpu_count()),
                     include_dashboard=False, log_to_driver=False)
        remote = ray.remote(num_cpus=1, num_gpus=1 if gpu else 0)(_set_up_and_call)
        index = {remote.remote(fn, *call): i for i, call in enumerate(calls)}
        pending = list(index)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield index[done[0]], ray.get(done[0])
