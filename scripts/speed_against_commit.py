"""Training speed of this checkout against an older commit, measured side by side.

    python scripts/speed_against_commit.py 1c4e476 [--rounds 5] [--seeds 100] [--steps 300]

Checks the old commit out into a temporary git worktree and, in interleaved rounds, starts a fresh
process per side that measures the steady-state rate of ``nalu.train`` (NALU 100 → 2 → 1, batch
128, fresh samples, one intra-op thread) with the benchmark's own timer of that commit
(``nalu_bench.speed``; ``nalu.speed`` or ``nalu.bench`` in older commits). Each side keeps its best round: a busy
machine only ever adds time. A third side runs this checkout with the opt-in allocator tuning
(``nalu_lab.workers.keep_freed_memory``), which older commits applied on their own.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import importlib, pathlib, sys
root = pathlib.Path.cwd()
# the module by file, not by import fallback: the editable install's finder would otherwise serve
# this checkout's modules to an old commit (the benchmark was nalu.bench, then nalu.speed, now nalu_bench.speed)
if (root / "nalu_bench" / "speed.py").exists():
    bench = importlib.import_module("nalu_bench.speed")
    from nalu_lab.workers import keep_freed_memory
else:
    bench = importlib.import_module("nalu.speed" if (root / "nalu" / "speed.py").exists() else "nalu.bench")
    keep_freed_memory = bench.keep_freed_memory
if sys.argv[3] == "tuned":
    keep_freed_memory()
n, steps = int(sys.argv[1]), int(sys.argv[2])
print(bench.marginal_rates({"many": (bench.many_seed_timer(n, 100, "cpu", 1), n, steps)}, repeats=1)["many"])
"""


def rate(src: Path, seeds: int, steps: int, tuned: bool) -> float:
    env = dict(os.environ, PYTHONPATH=str(src))
    out = subprocess.run([sys.executable, "-c", PROBE, str(seeds), str(steps), "tuned" if tuned else "plain"],
                         capture_output=True, text=True, env=env, cwd=src)
    if out.returncode:
        raise SystemExit(f"the probe failed in {src} (exit {out.returncode}):\n{out.stderr[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("old", help="the commit to compare with, e.g. 1c4e476")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seeds", type=int, default=100)
    p.add_argument("--steps", type=int, default=300)
    a = p.parse_args(argv)
    if a.rounds < 1 or a.seeds < 1 or a.steps < 10:
        p.error(f"need rounds ≥ 1, seeds ≥ 1, steps ≥ 10; got {a.rounds}, {a.seeds}, {a.steps}")
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), a.old], check=True,
                       capture_output=True)
        try:
            sides = {f"{a.old} (its defaults)": (old, False), "this checkout": (ROOT, False),
                     "this checkout + keep_freed_memory()": (ROOT, True)}
            best = {name: 0.0 for name in sides}
            for r in range(a.rounds):
                for name, (src, tuned) in sides.items():
                    best[name] = max(best[name], rate(src, a.seeds, a.steps, tuned))
                print(f"round {r + 1}: " + "; ".join(f"{n} {1e6 / v:.2f} µs" for n, v in best.items()), flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False)
    print(f"\nµs per seed-step at {a.seeds} seeds (best of {a.rounds} interleaved rounds, fresh process each):")
    for name, v in best.items():
        print(f"  {name:40s} {1e6 / v:7.2f} µs   ({v:,.0f} seed-steps/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
