"""Print the validation MSEs by which a run at the float32 floor would pick its best step.

Run as a subprocess by test_model_selection.py under several thread counts and kernel levels
(ATEN_CPU_CAPABILITY must be set before torch is imported). Argument: the number of threads.
"""

import json
import sys
from functools import partial

import numpy as np
import torch

import nalu

torch.set_num_threads(int(sys.argv[1]))
seeds = list(range(25))
tasks = [nalu.static_arithmetic("add", nalu.rng_for(s, 1)) for s in seeds]
data = nalu.FreshSamples(lambda s: tasks[s], batch_size=8, eval_size=10_000, prefetch=False)
data.setup(seeds, torch.device("cpu"))
x, y = data.eval_sets()["interpolation"]
model = nalu.stack_models([nalu.build(partial(nalu.two_layer, "nau", "nau", 100, 2, 1), s) for s in seeds])
exact = torch.stack([torch.stack([torch.from_numpy(t.a_mask), torch.from_numpy(t.b_mask)]) for t in tasks])
noise = np.random.default_rng(0)  # numpy's draws: the same on every CPU


def nudge(t):
    return t + torch.from_numpy(1e-7 * noise.standard_normal(t.shape, dtype=np.float32))


candidates = []
for step in range(12):  # twelve "logged steps" of a run at the floor: the exact weights, nudged by ~1e-7
    with torch.no_grad():
        model[0].W.copy_(nudge(exact))
        model[1].W.copy_(nudge(torch.ones(25, 1, 2)))
    candidates.append(nalu.evaluate_mse(model, x, y).tolist())
    with torch.no_grad():  # the same weights evaluated the old way, in float32, for the record
        float32 = ((model(x) - y) ** 2).double().mean(dim=(-2, -1))
    candidates[-1] = dict(float64=candidates[-1], float32=float32.tolist())
print(json.dumps(candidates))
