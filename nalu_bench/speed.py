"""Throughput benchmark (``make bench``; ``python -m nalu_bench.speed --help``).

Every ratio is measured side by side in one run, on the machine it runs on. Rates are steady-state
seed-steps per second (the extra steps of a longer run over its extra time), so one-off set-up costs
do not count for either side. Runs that are compared are timed in the same interleaved rounds and
each keeps its fastest times, so a shared machine's disturbances count against neither side.

1. many seeds at once (``nalu.train``) against a plain per-seed loop (one module, one Adam, a
   Python loop over seeds and steps, as seed 000 trains), NALU 100 → 2 → 1 on the static task,
   batch 128, fresh samples every step; then where a step's time goes, and what each speed-up
   buys against what it replaced;
2. the vectorised mystery-problem solver against the row-by-row reference loop;
3. seed-steps per second as the number of seeds and the input size grow;
4. peak resident memory of the 100-seed run (in a fresh process, so nothing else counts).
"""

from __future__ import annotations

import argparse
import json
import itertools
import math
import os
import platform
import subprocess
import sys
import time
from functools import partial
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from nalu.models import build, stack_models, two_layer
from nalu.fast import uniform_float32
from nalu.tasks import (Dataset, mystery_configuration, rng_for, solve_mystery, solve_mystery_loop, static_arithmetic,
                    two_input)
from nalu.data import (DATA_STREAM, FixedData, FreshSamples, operand_masks, operand_product, operands, per_seed_targets,
                   stacked_targets)
from nalu_lab.grid import SIGNED_OPS, STATIC_OPS
from nalu.training import Learner, cpu_model, train, train_together

BATCH = 128


def _factory(in_dim: int):
    return partial(two_layer, "nalu", None, in_dim, 2, 1)


def _task_for_seed(in_dim: int):
    def task(seed: int):
        return static_arithmetic("add", rng_for(seed, 1), in_dim=in_dim)
    return task


def _rate(n_seeds: int, steps: int, short: int, t_short: float, t_long: float) -> float:
    """Seed-steps per second of the steady state: the extra steps of the long run over its extra
    time, so that set-up (building and stacking the seeded models, the first batches) does not
    count. If noise makes the long run look no slower, the whole long run's rate instead."""
    if t_long <= t_short:
        return n_seeds * steps / t_long
    return n_seeds * (steps - short) / (t_long - t_short)


def marginal_rates(runs: dict[str, tuple[Callable[[int], float], int, int]], repeats: int = 5) -> dict[str, float]:
    """Steady-state rates of several timed runs, measured side by side.

    ``runs``: name → (run, n_seeds, steps), where ``run(k)`` trains for k steps and returns the
    seconds it took. Every round times every run at two lengths (steps // 5 and steps), so all of
    them meet the same conditions; a shared machine only ever adds time, so each run keeps its
    fastest short and fastest long time over the ``repeats`` rounds.
    """
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}")
    for name, (_, n_seeds, steps) in runs.items():
        if steps < 2:
            raise ValueError(f"run {name!r} needs at least 2 steps, got {steps!r}")
    best = {name: [math.inf, math.inf] for name in runs}
    for run, _, steps in runs.values():
        run(max(1, steps // 5))  # warm-up: first-call costs of the libraries
    for _ in range(repeats):
        for name, (run, _, steps) in runs.items():
            short = max(1, steps // 5)
            best[name][0] = min(best[name][0], run(short))
            best[name][1] = min(best[name][1], run(steps))
    return {name: _rate(n_seeds, steps, max(1, steps // 5), *best[name]) for name, (_, n_seeds, steps) in runs.items()}


def many_seed_timer(n_seeds: int, in_dim: int = 100, device: str = "cpu", threads: int = 1,
                    layout: str = "step") -> Callable[[int], float]:
    """run(k): seconds for ``nalu.train`` to take k steps with n_seeds seeds (no evaluation inside);
    ``layout`` is that of the fresh-sample chunks (``FreshSamples``)."""
    def run(k: int) -> float:
        data = FreshSamples(_task_for_seed(in_dim), batch_size=BATCH, eval_size=16, layout=layout)
        start = time.perf_counter()
        train(_factory(in_dim), data, list(range(n_seeds)), steps=k, lr=1e-3, eval_every=10**9, device=device,
              threads=threads, progress=False)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - start
    return run


def per_seed_loop_timer(n_seeds: int, in_dim: int = 100, device: str = "cpu", threads: int = 1) -> Callable[[int], float]:
    """run(k): seconds for the plain loop to take k steps for each of n_seeds seeds in turn, each
    with its own module, Adam and batches (as seed 000 trains)."""
    def run(k: int) -> float:
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return _per_seed_loop(n_seeds, k, in_dim, device)
        finally:
            torch.set_num_threads(previous)
    return run


def many_seed_rate(n_seeds: int, steps: int, in_dim: int = 100, device: str = "cpu", threads: int = 1,
                   repeats: int = 3) -> float:
    """Steady-state seed-steps per second of ``nalu.train`` with n_seeds seeds at once."""
    return marginal_rates({"many": (many_seed_timer(n_seeds, in_dim, device, threads), n_seeds, steps)}, repeats)["many"]


def per_seed_loop_rate(n_seeds: int, steps: int, in_dim: int = 100, device: str = "cpu", threads: int = 1,
                       repeats: int = 3) -> float:
    """Steady-state seed-steps per second of the plain per-seed loop."""
    return marginal_rates({"loop": (per_seed_loop_timer(n_seeds, in_dim, device, threads), n_seeds, steps)},
                          repeats)["loop"]


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


def step_breakdown(n_seeds: int = 100, in_dim: int = 100, steps: int = 40, repeats: int = 3,
                   device: str = "cpu") -> dict[str, float]:
    """Where a training step's time goes: milliseconds per step of each phase of the many-seed step
    (NALU in_dim → 2 → 1, fresh batches), timed one phase after another, the fastest of
    ``repeats`` passes of ``steps`` steps. Drawing the batches runs on the background thread in
    ``nalu.train``; here it is timed on its own. The first layer's two big pieces, log(|x| + ε)
    and the products with x, are also timed on their own (they are part of its forward pass).
    """
    from nalu.fast import accelerate, log_abs, matvec, matvecs

    dev = torch.device(device)
    seeds = list(range(n_seeds))
    model = stack_models([build(_factory(in_dim), s) for s in seeds]).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    first, second = accelerate(model)  # the trainer's fast twin (same parameters)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    best: dict[str, float] = {}
    for _ in range(repeats):
        phases: dict[str, float] = {}

        def timed(name, f):
            sync()
            start = time.perf_counter()
            out = f()
            sync()
            phases[name] = phases.get(name, 0.0) + (time.perf_counter() - start) / steps
            return out

        # a fresh stream per pass: batch(0) draws one chunk of `steps` steps, on this thread
        data = FreshSamples(_task_for_seed(in_dim), batch_size=BATCH, eval_size=16, chunk_steps=steps,
                            prefetch=False)
        data.setup(seeds, dev)
        first_batch = timed("draw the batches (background thread)", lambda: data.batch(0))
        for step in range(steps):
            x, y = first_batch if step == 0 else data.batch(step)
            hidden = timed("first layer, forward", lambda: first(x))
            loss = timed("second layer and loss, forward", lambda: ((second(hidden) - y) ** 2).mean(dim=(-2, -1)))
            timed("backward", lambda: loss.sum().backward())
            timed("Adam step", opt.step)
            for p in model.parameters():
                p.grad = None
            with torch.no_grad():
                W = first.nac.W
                timed("  of which log(|x| + ε)", lambda: log_abs(x[:], first.eps))  # a new view: computed
                timed("  of which W x, G x, W log|x|", lambda: (matvecs(x, W, first.G), matvec(W, x)))
        data.close()
        for name, t in phases.items():
            best[name] = min(best.get(name, math.inf), 1e3 * t)
    return best


def _best_time(f: Callable[[], object], number: int, repeats: int) -> tuple[float, object]:
    """Fastest mean seconds per call over ``repeats`` timings of ``number`` calls, after one
    untimed warm-up call, and what that warm-up call returned."""
    result = f()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            f()
        best = min(best, (time.perf_counter() - start) / number)
    return best, result


def design_choices(n_seeds: int = 100, in_dim: int = 100, repeats: int = 5) -> list[dict]:
    """Each speed-up of the many-seed step against what it replaced, on one step's worth of data
    (n_seeds × 128 × in_dim): seconds per call of each side (best of ``repeats``), single-threaded."""
    from nalu.fast import accelerate, log_abs, matvec, matvecs, sign_factor_fast
    from nalu.units import NALU, NMU, sign_factor

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        shape = (n_seeds, BATCH, in_dim)
        rows = []

        def compare(name, before_label, before, after_label, after, same, number=20):
            t_before, t_after = _best_time(before, number, repeats)[0], _best_time(after, number, repeats)[0]
            rows.append(dict(change=name, before=before_label, after=after_label, before_ms=1e3 * t_before,
                             after_ms=1e3 * t_after, speedup=t_before / t_after, same_result=bool(same)))

        ref, fast = rng_for(0, 99), rng_for(0, 99)
        buf = np.empty(shape, np.float32)
        same = np.array_equal(ref.random(shape, dtype=np.float32), uniform_float32(fast, shape))
        compare("uniform draws", "Generator.random", lambda: ref.random(dtype=np.float32, out=buf),
                "uniform_float32", lambda: uniform_float32(fast, shape, buf), same)

        x = torch.from_numpy(static_arithmetic("add", rng_for(0, 1), in_dim=in_dim).inputs(
            n_seeds * BATCH, "interpolation", rng_for(0, 2)).reshape(shape))
        same = torch.equal(torch.log(x.abs() + 1e-7), log_abs(x[:], 1e-7))
        # x[:] is a new view each call: log_abs computes, rather than returning the log it kept of x
        compare("log(|x| + ε)", "a new tensor for each of |x|, + ε, log", lambda: torch.log(x.abs() + 1e-7),
                "one buffer, in place (log_abs)", lambda: log_abs(x[:], 1e-7), same)

        unit = stack_models([build(lambda: NALU(in_dim, 2), s) for s in range(n_seeds)])
        W, G = unit.nac.W.detach().requires_grad_(), unit.G.detach().requires_grad_()

        def two_products():
            (matvec(W, x).sum() + matvec(G, x).sum()).backward()

        def one_product():
            a, g = matvecs(x, W, G)
            (a.sum() + g.sum()).backward()

        same = all(torch.allclose(p, q, rtol=1e-5, atol=1e-5)  # up to float32 rounding of the sums
                   for p, q in zip((matvec(W, x), matvec(G, x)), matvecs(x, W, G)))
        compare("W x and G x, forward and backward", "two products", two_products, "one stacked product",
                one_product, same)

        W_m = W.detach().clone().requires_grad_()  # iNALU's sign factor on the static task's positive inputs

        def sign_plain():
            sign_factor(x, W_m).sum().backward()

        def sign_fast():
            sign_factor_fast(x, W_m).sum().backward()

        plain = sign_factor(x, W_m)
        same = torch.allclose(sign_factor_fast(x, W_m).expand_as(plain), plain)
        compare("sign factor on positive inputs, forward and backward", "product over inputs", sign_plain,
                "sign_factor_fast", sign_fast, same)

        # the NMU's factors W_ij x_i + 1 − W_ij over (seeds, batch, out, in), as its first layer on this data
        nmu = stack_models([build(lambda: NMU(in_dim, 2), s) for s in range(n_seeds)])
        nmu_fast = accelerate(nmu)

        def nmu_step(model):
            for p in model.parameters():
                p.grad = None
            model(x).sum().backward()

        same = torch.allclose(nmu(x), nmu_fast(x), rtol=1e-5)
        compare("the NMU's product of factors, forward and backward", "W x + 1 − W, then the product",
                lambda: nmu_step(nmu), "1 + W (x − 1) in one pass (addcmul)", lambda: nmu_step(nmu_fast), same,
                number=5)

        # targets of a stack mixing operations (the benchmark grid's static job: six operations' seeds)
        mixed = [static_arithmetic(op, rng_for(s, 1), in_dim=in_dim)
                 for s, op in zip(range(n_seeds), itertools.cycle(STATIC_OPS))]
        xs = x.unsqueeze(0)  # (1 step, seeds, batch, in)
        # up to float32 rounding of the operand sums (a − b keeps it as an absolute error when a ≈ b)
        same = torch.allclose(per_seed_targets(mixed, xs), stacked_targets(mixed, xs), rtol=1e-5, atol=1e-4)
        compare("targets of seeds with six different operations", "one product per seed",
                lambda: per_seed_targets(mixed, xs),
                "one product, then each operation on its seeds", lambda: stacked_targets(mixed, xs), same, number=5)

        # the operands of the benchmark's two-input tasks (each a single input): product or read-out
        pair_masks = operand_masks([two_input(op, (1.0, 2.0), (2.0, 6.0))
                                    for op, _ in zip(itertools.cycle(SIGNED_OPS), range(n_seeds))])
        pairs = torch.rand(64, len(pair_masks), BATCH, 2, generator=torch.Generator().manual_seed(0))
        same = torch.equal(operand_product(pairs, pair_masks), operands(pairs, pair_masks))
        compare(f"operands of two-input tasks ({len(pair_masks)} seeds × 64 steps × {BATCH} × 2)",
                "x·[A B]ᵀ (a product)", lambda: operand_product(pairs, pair_masks), "the inputs read by index",
                lambda: operands(pairs, pair_masks), same, number=5)

        # a minibatch: each seed's rows in its own shuffled order (20 seeds, 1,000 of 10,000 rows × 10)
        gen = torch.Generator().manual_seed(0)
        table = lambda: (torch.rand(10_000, 10, generator=gen).numpy(), np.zeros((10_000, 1), np.float32))
        sets = FixedData(lambda s: Dataset(*(xy := table()), {"train": xy}), batch_size=1_000)
        sets.setup(list(range(20)), torch.device("cpu"))
        sets.batch(0)  # draws the epoch's order
        index = sets._order[:, :1_000].unsqueeze(-1).expand(-1, -1, sets.x.shape[-1])
        same = torch.equal(torch.gather(sets.x, 1, index), sets._rows(sets.x, 0, 1_000))
        compare("a minibatch's rows in each seed's order (20 seeds × 1,000 of 10,000 rows × 10)", "torch.gather",
                lambda: torch.gather(sets.x, 1, index), "index_select on the flattened rows",
                lambda: sets._rows(sets.x, 0, 1_000), same, number=5)

        # three units of the static task on one stream of batches, or each on its own stream (the same
        # batches, drawn three times); drawn on the training thread, so that the time counts the drawing
        trio = [Learner(partial(two_layer, unit, None, in_dim, 2, 1)) for unit in ("nac", "nau", "nmu")]
        static_seeds = list(range(n_seeds))

        def stream():
            return FreshSamples(_task_for_seed(in_dim), batch_size=BATCH, eval_size=16, prefetch=False)

        def alone():
            return [train(u.model_factory, stream(), static_seeds, steps=16, eval_every=10**9, progress=False)
                    for u in trio]

        def side_by_side():
            return train_together(trio, stream(), static_seeds, steps=16, eval_every=10**9, progress=False)

        same = all(torch.equal(p, q) for a, b in zip(alone(), side_by_side())
                   for p, q in zip(a.model.parameters(), b.model.parameters()))
        compare(f"three units on the static task, 16 steps ({n_seeds} seeds × {BATCH} × {in_dim} per batch)",
                "each unit on its own stream of batches", alone, "side by side on one stream (train_together)",
                side_by_side, same, number=1)

        # Adam's step for a small unit's parameters (a NALU with 2 inputs, 20 seeds): torch's fused
        # Adam, or its kernel called directly; each side on its own copy of the same parameters
        small = [[p.detach().clone().requires_grad_() for p in stack_models(
            [build(lambda: NALU(2, 1), s) for s in range(20)]).parameters()] for _ in range(2)]
        for side in small:
            for p in side:
                p.grad = torch.full_like(p, 0.01)
        torch_adam, lean_adam = torch.optim.Adam(small[0], lr=1e-3, fused=True), LeanAdam(small[1], lr=1e-3)
        torch_adam.step(), lean_adam.step()
        same = all(torch.equal(p, q) for p, q in zip(*small))
        compare("Adam's step for a small unit (a NALU with 2 inputs, 20 seeds)", "torch.optim.Adam(fused=True).step",
                torch_adam.step, "its kernel called directly (LeanAdam)", lean_adam.step, same, number=200)

        return rows
    finally:
        torch.set_num_threads(previous)


def mystery_solver(rows: int = 100_000, in_dim: int = 100, out_dim: int = 10) -> dict:
    rng = np.random.default_rng(0)
    config = mystery_configuration(in_dim, out_dim, rng)
    x = rng.uniform(-10, 10, (rows, in_dim))
    # both sides: a warm-up call, then the best of their repeats
    loop_s, slow = _best_time(lambda: solve_mystery_loop(x, config), 1, 2)
    vec_s, fast = _best_time(lambda: solve_mystery(x, config), 1, 20)
    return dict(rows=rows, loop_s=loop_s, vectorised_s=vec_s, speedup=loop_s / vec_s,
                identical=bool(np.array_equal(fast, slow)))


def peak_memory_mb(n_seeds: int, steps: int, in_dim: int = 100, device: str = "cpu") -> dict:
    """Peak RSS of a fresh process running the many-seed trainer, and of one that only imports;
    and the minor page faults per training step after the first chunk, in fresh processes with and
    without ``keep_freed_memory``."""
    # VmHWM (the peak of this process's own address space) rather than ru_maxrss, which Linux
    # carries over from the parent through fork and exec.
    code = ("import sys, nalu_bench.speed as b\n"
            "n, steps, in_dim, device = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]\n"
            "from nalu_lab.workers import keep_freed_memory\n"
            "if sys.argv[5] == 'tuned': keep_freed_memory()\n"
            "faults = b.faults_per_step(n, steps, in_dim, device) if n else 0.0\n"
            "print(faults, [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])")

    def run(n: int, tuned: bool = True) -> tuple[float, float]:
        out = subprocess.run([sys.executable, "-c", code, str(n), str(steps), str(in_dim), device,
                              "tuned" if tuned else "default"], capture_output=True, text=True, check=True)
        faults, vmhwm_kb = out.stdout.strip().splitlines()[-1].split()
        return float(faults), int(vmhwm_kb) / 1024

    faults, peak = run(n_seeds)
    faults_untuned, peak_untuned = run(n_seeds, tuned=False)
    return dict(peak_rss_mb=peak, import_only_rss_mb=run(0)[1], faults_per_step=faults,
                faults_per_step_untuned=faults_untuned, peak_rss_mb_untuned=peak_untuned)


def faults_per_step(n_seeds: int, steps: int, in_dim: int = 100, device: str = "cpu") -> float:
    """Minor page faults of this process per training step, between the end of the first chunk
    of batches and the last step (so that setting up, which must touch new memory, is excluded)."""
    import resource

    marks: dict[str, tuple[int, int]] = {}

    class Marked(FreshSamples):
        def batch(self, step):
            if step == self.k_steps or step == steps - 1:
                marks["first" if step == self.k_steps else "last"] = (step, resource.getrusage(
                    resource.RUSAGE_SELF).ru_minflt)
            return super().batch(step)

    data = Marked(_task_for_seed(in_dim), batch_size=BATCH, eval_size=16)
    train(_factory(in_dim), data, list(range(n_seeds)), steps=steps, eval_every=10**9, device=device, progress=False)
    if "first" not in marks or marks["last"][0] <= marks["first"][0]:
        raise ValueError(f"steps={steps} is too few to count faults past the first chunk of batches")
    return (marks["last"][1] - marks["first"][1]) / (marks["last"][0] - marks["first"][0])


def machine() -> dict:
    info = dict(cpu=cpu_model(), cores=os.cpu_count(), torch_threads=torch.get_num_threads(), torch=torch.__version__,
                python=platform.python_version())
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def run_all(quick: bool = False, device: str = "cpu", log=print) -> dict:
    """Every measurement; ``quick`` shortens them (used by the book's quick build)."""
    steps = 150 if quick else 300
    base_steps = 30 if quick else 100
    # rounds per measurement: each keeps its fastest (a shared machine only ever adds time); the
    # comparisons three, the layout and the scaling series two (they are read as trends)
    repeats, trend_repeats = 3, 2
    results = dict(machine=machine(), device=device, quick=quick, batch=BATCH)
    # each side at its better thread setting (1 or 2 intra-op threads), so the ratio is fair;
    # all four are timed in the same interleaved rounds
    n_loop = 4 if quick else 10
    runs = {("many", t): (many_seed_timer(100, 100, device, t), 100, steps) for t in (1, 2)}
    runs.update({("one", t): (per_seed_loop_timer(n_loop, 100, device, t), n_loop, base_steps) for t in (1, 2)})
    rates = marginal_rates(runs, repeats=repeats)
    many_by = {t: rates["many", t] for t in (1, 2)}
    one_by = {t: rates["one", t] for t in (1, 2)}
    many, one = max(many_by.values()), max(one_by.values())
    results["many_vs_one"] = dict(many_seed_steps_per_s=many, per_seed_loop_steps_per_s=one, ratio=many / one,
                                  us_per_seed_step=1e6 / many, n_seeds=100, steps=steps, loop_seeds=n_loop,
                                  loop_steps=base_steps, repeats=repeats,
                                  many_by_threads=many_by, one_by_threads=one_by)
    log(f"1. many seeds vs one at a time: {many:,.0f} vs {one:,.0f} seed-steps/s -> {many / one:.1f}x; "
        f"{1e6 / many:.1f} us per seed-step at 100 seeds (by threads: many {many_by}, one {one_by})")
    results["breakdown_ms"] = step_breakdown(repeats=repeats, device=device)
    log("   where a step's time goes (ms per step): "
        + "; ".join(f"{name.strip()} {ms:.2f}" for name, ms in results["breakdown_ms"].items()))
    layout = marginal_rates({lay: (many_seed_timer(100, 100, device, 1, lay), 100, steps) for lay in ("seed", "step")},
                            repeats=trend_repeats)
    results["layout_us_per_seed_step"] = {lay: 1e6 / rate for lay, rate in layout.items()}
    log("   fresh-sample chunks stored seed-major vs step-major: "
        + ", ".join(f"{lay}-major {us:.1f} us" for lay, us in results["layout_us_per_seed_step"].items()))
    results["design_choices"] = design_choices(repeats=repeats)
    for row in results["design_choices"]:
        log(f"   {row['change']}: {row['before']} {row['before_ms']:.2f} ms -> {row['after']} {row['after_ms']:.2f} ms "
            f"({row['speedup']:.1f}x, same result: {row['same_result']})")
    results["mystery"] = mystery_solver(rows=100_000)
    m = results["mystery"]
    log(f"2. mystery solver, {m['rows']:,} rows: loop {m['loop_s']:.2f} s, vectorised {1e3 * m['vectorised_s']:.2f} ms"
        f" -> {m['speedup']:,.0f}x, identical: {m['identical']}")
    scaling, rates_by_size = [], {}

    def rate(n: int, s: int, d: int) -> float:  # 100 seeds × 100 inputs is in both series: measured once
        if (n, s, d) not in rates_by_size:
            rates_by_size[n, s, d] = many_seed_rate(n, s, d, device, repeats=trend_repeats)
        return rates_by_size[n, s, d]

    for n in (1, 10, 100, 1000):
        s = max(10, (steps * 100) // max(n, 100)) if n >= 100 else steps
        scaling.append(dict(kind="seeds", n_seeds=n, in_dim=100, seed_steps_per_s=rate(n, s, 100)))
    for d in (10, 100, 1000):
        s = steps if d <= 100 else max(10, steps // 5)
        scaling.append(dict(kind="in_dim", n_seeds=100, in_dim=d, seed_steps_per_s=rate(100, s, d)))
    results["scaling"] = scaling
    for row in scaling:
        log(f"3. scaling: {row['n_seeds']:>5} seeds, in_dim {row['in_dim']:>5}: {row['seed_steps_per_s']:>10,.0f} seed-steps/s")
    results["memory"] = mem = peak_memory_mb(100, 100 if quick else 200, device=device)
    log(f"4. peak RSS of the 100-seed run: {mem['peak_rss_mb']:.0f} MB "
        f"(a process that only imports nalu: {mem['import_only_rss_mb']:.0f} MB); page faults per step "
        f"{mem['faults_per_step']:.0f} ({mem['faults_per_step_untuned']:.0f} with malloc left alone, "
        f"peak RSS then {mem['peak_rss_mb_untuned']:.0f} MB)")
    return results



class LeanAdam(torch.optim.Adam):
    """Measured here, kept out of the library: it calls private PyTorch functions and buys about
    7% of a small unit's step, below the 1.3× on a whole chapter a private-API trick must earn.

    ``torch.optim.Adam(params, lr, fused=True)`` whose ``step`` calls the fused kernel itself.

    Each step: for every parameter with a gradient, its state (created as torch creates it: step 0
    as a float32 scalar on the parameter's device, zero moments), then step += 1 and
    ``torch._fused_adam_`` on the lists, the calls torch's fused Adam makes. Parameters of more than
    one device or dtype, or options this path does not cover (amsgrad, maximize, a tensor learning
    rate, ...), take torch's own ``step``. State, ``state_dict`` and step hooks are torch's."""

    def __init__(self, params, lr: float = 1e-3, **options):
        super().__init__(params, lr=lr, fused=True, **options)

    @torch.no_grad()
    def step(self, closure=None):
        if closure is not None:
            raise ValueError("LeanAdam.step takes no closure; compute the loss and call backward first")
        work = []
        for group in self.param_groups:  # first check every group: a fallback must step all of them once
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            if group["amsgrad"] or group["maximize"] or group["capturable"] or group["differentiable"] \
                    or group["decoupled_weight_decay"] or isinstance(group["lr"], Tensor) \
                    or len({(p.device, p.dtype) for p in params}) > 1 or any(p.grad.is_sparse for p in params):
                return super().step()
            work.append((group, params))
        for group, params in work:
            states = [self._state_of(p) for p in params]
            steps = [s["step"] for s in states]
            beta1, beta2 = group["betas"]
            torch._foreach_add_(steps, 1)
            torch._fused_adam_(params, [p.grad for p in params], [s["exp_avg"] for s in states],
                               [s["exp_avg_sq"] for s in states], [], steps, amsgrad=False, lr=group["lr"],
                               beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"], eps=group["eps"],
                               maximize=False, grad_scale=None, found_inf=None)
        return None

    def _state_of(self, p: Tensor) -> dict:
        state = self.state[p]
        if not state:  # as torch.optim.Adam creates it with fused=True
            state["step"] = torch.zeros((), dtype=torch.float32, device=p.device)
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return state

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
