"""What the experiments' own worker processes (the benchmark grid's pool, the paper-scale runs) do
first. Process-wide settings live here, never in the library: ``nalu`` changes no allocator,
thread or RNG state of the process that imports it."""

from __future__ import annotations

import ctypes
import sys

import torch

__all__ = ["MMAP_THRESHOLD_BYTES", "TRIM_THRESHOLD_BYTES", "keep_freed_memory", "setup_worker_process"]

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
