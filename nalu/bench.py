"""Throughput benchmark (``make bench``; ``python -m nalu.bench --help``).

Every ratio is measured side by side in one run, on the machine it runs on. Rates are steady-state
seed-steps per second (the extra steps of a longer run over its extra time), so one-off set-up costs
do not count for either side; times are the best of a few repeats, for both sides alike.

1. many seeds at once (``nalu.train``) against a plain per-seed loop (one module, one Adam, a
   Python loop over seeds and steps, as seed 000 trains), NALU 100 → 2 → 1 on the static task,
   batch 128, fresh samples every step;
2. the vectorised mystery-problem solver against the row-by-row reference loop;
3. seed-steps per second as the number of seeds and the input size grow;
4. peak resident memory of the 100-seed run (in a fresh process, so nothing else counts).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from functools import partial
from typing import Callable

import numpy as np
import torch

from .models import build, two_layer
from .tasks import mystery_configuration, rng_for, solve_mystery, solve_mystery_loop, static_arithmetic
from .trainer import DATA_STREAM, FreshSamples, train

BATCH = 128


def _factory(in_dim: int):
    return partial(two_layer, "nalu", None, in_dim, 2, 1)


def _task_for_seed(in_dim: int):
    def task(seed: int):
        return static_arithmetic("add", rng_for(seed, 1), in_dim=in_dim)
    return task


def _marginal(run: Callable[[int], float], n_seeds: int, steps: int) -> float:
    """Seed-steps per second of the steady state: two runs of different lengths, and the extra
    steps divided by the extra time, so that set-up (building and stacking the seeded models,
    the first batches) is not counted."""
    short = max(2, steps // 5)
    run(short)  # warm-up: first-call costs of the libraries
    # best of three of each length: a shared machine only ever adds time, so the fastest is cleanest
    t_short = min(run(short) for _ in range(3))
    t_long = min(run(steps) for _ in range(3))
    if t_long <= t_short:  # too few steps to tell apart from noise: fall back to the whole long run
        return n_seeds * steps / t_long
    return n_seeds * (steps - short) / (t_long - t_short)


def many_seed_rate(n_seeds: int, steps: int, in_dim: int = 100, device: str = "cpu", threads: int = 1) -> float:
    """Steady-state seed-steps per second of ``nalu.train`` (no evaluation inside the timed steps)."""
    def run(k: int) -> float:
        data = FreshSamples(_task_for_seed(in_dim), batch_size=BATCH, eval_size=16)
        start = time.perf_counter()
        train(_factory(in_dim), data, list(range(n_seeds)), steps=k, lr=1e-3, eval_every=10**9, device=device,
              threads=threads, progress=False)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - start
    return _marginal(run, n_seeds, steps)


def per_seed_loop_rate(n_seeds: int, steps: int, in_dim: int = 100, device: str = "cpu", threads: int = 1) -> float:
    """Steady-state seed-steps per second of the plain loop: for each seed, its own module, Adam and batches."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _marginal(lambda k: _per_seed_loop(n_seeds, k, in_dim, device), n_seeds, steps)
    finally:
        torch.set_num_threads(previous)


def _per_seed_loop(n_seeds: int, steps: int, in_dim: int, device: str) -> float:
    start = time.perf_counter()
    for seed in range(n_seeds):
        model = build(_factory(in_dim), seed).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        task, rng = _task_for_seed(in_dim)(seed), rng_for(seed, DATA_STREAM)
        for _ in range(steps):
            x, y = task.sample(BATCH, "interpolation", rng)
            x, y = x.to(device), y.to(device)
            loss = ((model(x) - y) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def mystery_solver(rows: int = 100_000, in_dim: int = 100, out_dim: int = 10) -> dict:
    rng = np.random.default_rng(0)
    config = mystery_configuration(in_dim, out_dim, rng)
    x = rng.uniform(-10, 10, (rows, in_dim))
    def best_of(f, repeats: int) -> tuple[float, np.ndarray]:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            out = f(x, config)
            times.append(time.perf_counter() - start)
        return min(times), out

    loop_s, slow = best_of(solve_mystery_loop, 2)
    vec_s, fast = best_of(solve_mystery, 20)  # both sides: the best of their repeats
    return dict(rows=rows, loop_s=loop_s, vectorised_s=vec_s, speedup=loop_s / vec_s,
                identical=bool(np.array_equal(fast, slow)))


def peak_memory_mb(n_seeds: int, steps: int, in_dim: int = 100, device: str = "cpu") -> dict:
    """Peak RSS of a fresh process running the many-seed trainer, and of one that only imports."""
    # VmHWM (the peak of this process's own address space) rather than ru_maxrss, which Linux
    # carries over from the parent through fork and exec.
    code = ("import sys, nalu.bench as b\n"
            "if sys.argv[1] != '0': b.many_seed_rate(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])\n"
            "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])")
    def run(n: int) -> float:
        out = subprocess.run([sys.executable, "-c", code, str(n), str(steps), str(in_dim), device],
                             capture_output=True, text=True, check=True)
        return int(out.stdout.strip().splitlines()[-1]) / 1024  # VmHWM is in kB
    return dict(peak_rss_mb=run(n_seeds), import_only_rss_mb=run(0))


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    info = dict(cpu=cpu, cores=os.cpu_count(), torch_threads=torch.get_num_threads(), torch=torch.__version__,
                python=platform.python_version())
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def run_all(quick: bool = False, device: str = "cpu", log=print) -> dict:
    """Every measurement; ``quick`` shortens them (used by the book's quick build)."""
    steps = 150 if quick else 300
    base_steps = 30 if quick else 100
    results = dict(machine=machine(), device=device, quick=quick, batch=BATCH)
    # each side at its better thread setting (1 or 2 intra-op threads), so the ratio is fair
    many_by = {t: many_seed_rate(100, steps, device=device, threads=t) for t in (1, 2)}
    one_by = {t: per_seed_loop_rate(4 if quick else 10, base_steps, device=device, threads=t) for t in (1, 2)}
    many, one = max(many_by.values()), max(one_by.values())
    results["many_vs_one"] = dict(many_seed_steps_per_s=many, per_seed_loop_steps_per_s=one, ratio=many / one,
                                  us_per_seed_step=1e6 / many, n_seeds=100, steps=steps,
                                  many_by_threads=many_by, one_by_threads=one_by)
    log(f"1. many seeds vs one at a time: {many:,.0f} vs {one:,.0f} seed-steps/s -> {many / one:.1f}x; "
        f"{1e6 / many:.1f} us per seed-step at 100 seeds (by threads: many {many_by}, one {one_by})")
    results["mystery"] = mystery_solver(rows=20_000 if quick else 100_000)
    m = results["mystery"]
    log(f"2. mystery solver, {m['rows']:,} rows: loop {m['loop_s']:.2f} s, vectorised {1e3 * m['vectorised_s']:.2f} ms"
        f" -> {m['speedup']:,.0f}x, identical: {m['identical']}")
    scaling = []
    for n in (1, 10, 100, 1000):
        s = max(10, (steps * 100) // max(n, 100)) if n >= 100 else steps
        scaling.append(dict(kind="seeds", n_seeds=n, in_dim=100, seed_steps_per_s=many_seed_rate(n, s, 100, device)))
    for d in (10, 100, 1000):
        s = steps if d <= 100 else max(10, steps // 5)
        scaling.append(dict(kind="in_dim", n_seeds=100, in_dim=d, seed_steps_per_s=many_seed_rate(100, s, d, device)))
    results["scaling"] = scaling
    for row in scaling:
        log(f"3. scaling: {row['n_seeds']:>5} seeds, in_dim {row['in_dim']:>5}: {row['seed_steps_per_s']:>10,.0f} seed-steps/s")
    results["memory"] = peak_memory_mb(100, max(20, steps // 5), device=device)
    log(f"4. peak RSS of the 100-seed run: {results['memory']['peak_rss_mb']:.0f} MB "
        f"(a process that only imports nalu: {results['memory']['import_only_rss_mb']:.0f} MB)")
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    ap.add_argument("--quick", action="store_true", help="shorter measurements")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"--device {args.device!r} requested but CUDA is not available")
    print(f"machine: {machine()}")
    results = run_all(quick=args.quick, device=args.device)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
