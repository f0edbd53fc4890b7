"""The many-seed trainer: equal to single-seed loops, deterministic, robust to a diverging seed.

Equality kinds (tests/tolerances.py): (a) exact: a seed alone against the same seed in a stack or
beside other learners (each seed's products are the same kernels on the same shapes, seed by seed),
a run with and without an observer, batches drawn twice from one stream, stacked targets read by
index; (b) with the bound stated at the assertion: float64 evaluation under another chunking,
stacked against per-seed targets at 100 inputs.
"""

import dataclasses
from functools import partial

import numpy as np
import pandas as pd
import pytest
import torch

import nalu
from nalu.models import build, stack_models


def nalu_net():
    return nalu.two_layer("nalu", None, 10, 2, 1)


def sum_task(seed):
    return nalu.sum_split()


def plain_loop(model, batches, lr, clamp=False):
    """One model, one Adam, a Python loop — the way the PyTorch blog post trains."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for x, y in batches:
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if clamp:
            nalu.clamp_weights_(model)
        losses.append(loss.item())
    return losses


def fresh_batches(task, seed, steps, batch_size, chunk):
    """Seed ``seed``'s batches as FreshSamples draws them (its own generator, chunked)."""
    rng = nalu.rng_for(seed, nalu.data.DATA_STREAM)
    out = []
    for start in range(0, steps, chunk):
        x = task.splits["interpolation"].sample((chunk, batch_size, task.in_dim), rng)
        x = torch.from_numpy(x)
        for k in range(min(chunk, steps - start)):
            out.append((x[k], task.targets(x[k])))
    return out


MUL4 = nalu.ArithmeticTask("mul", [1, 1, 0, 0], [0, 0, 1, 1], (1.0, 2.0), (2.0, 6.0))


# NALU's exp path makes training chaotic: float32 rounding differences between a batched and an
# unbatched matmul (~1e-9 after one step) grow through Adam's normalisation, so NALU is compared
# over a few steps and the well-conditioned units over more.
@pytest.mark.parametrize("factory, task_for_seed, lr, steps, atol", [
    (partial(nalu.NAC, 10, 1), sum_task, 0.05, 40, 1e-5),
    (nalu_net, sum_task, 1e-3, 8, 1e-5),
    (partial(nalu.two_layer, "nau", "nmu", 4, 2, 1), lambda s: MUL4, 0.01, 40, 1e-5),
    (partial(nalu.two_layer, "realnpu", "realnpu", 4, 2, 1), lambda s: MUL4, 0.01, 40, 1e-5),
])
def test_many_seed_training_equals_single_seed_loops(factory, task_for_seed, lr, steps, atol):
    seeds, bs, chunk = [3, 0, 7], 16, 8
    data = nalu.FreshSamples(task_for_seed, batch_size=bs, eval_size=50, chunk_steps=chunk)
    result = nalu.train(factory, data, seeds, steps=steps, lr=lr, eval_every=20, progress=False)
    for s in seeds:
        single = nalu.build(factory, s)
        init = nalu.build(factory, s)
        plain_loop(single, fresh_batches(task_for_seed(s), s, steps, bs, chunk), lr, clamp=True)
        trained = result.model_for(s)
        for (name, p), q in zip(trained.named_parameters(), single.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-4, atol=atol, msg=f"seed {s}, {name}")
        assert not torch.equal(next(init.parameters()), next(single.parameters()))


def test_initial_weights_equal_the_single_seeded_model():
    # (a) exact: stacking copies the seeds' tensors, it computes nothing
    stacked = stack_models([build(nalu_net, s) for s in [4, 9]])
    for i, s in enumerate([4, 9]):
        for p, q in zip(nalu.unstack_model(stacked, i).parameters(), nalu.build(nalu_net, s).parameters()):
            assert torch.equal(p, q)


def test_a_seed_trains_the_same_whoever_shares_the_run():
    data = lambda: nalu.FreshSamples(sum_task, batch_size=8, eval_size=20)
    alone = nalu.train(nalu_net, data(), [5], steps=8, lr=1e-3, progress=False)
    crowd = nalu.train(nalu_net, data(), [1, 5, 2], steps=8, lr=1e-3, progress=False)
    for p, q in zip(alone.model_for(5).parameters(), crowd.model_for(5).parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-6)


def test_same_seeds_give_bit_identical_results():
    def run():
        data = nalu.FreshSamples(lambda s: nalu.static_arithmetic("add", nalu.rng_for(s, 1)), batch_size=32,
                                 eval_size=100)
        return nalu.train(partial(nalu.two_layer, "nalu", None, 100, 2, 1), data, range(4), steps=30,
                          eval_every=10, progress=False)
    a, b = run(), run()
    for (n, p), q in zip(a.model.named_parameters(), b.model.parameters()):
        assert torch.equal(p, q), n
    assert a.log.equals(b.log)


def test_fixed_data_matches_a_plain_minibatch_loop_without_shuffling():
    dataset, _ = nalu.mystery_dataset(0, in_dim=6, out_dim=3, n_train=40, n_test=10)
    factory = partial(nalu.NAC, 6, 3)
    result = nalu.train(factory, nalu.FixedData(dataset, batch_size=16, shuffle=False), [2], epochs=3, eval_every=1,
                        lr=1e-2, progress=False)
    single = nalu.build(factory, 2)
    x, y = torch.from_numpy(dataset.x_train), torch.from_numpy(dataset.y_train)
    batches = [(x[i:i + 16], y[i:i + 16]) for _ in range(3) for i in range(0, 40, 16)]
    plain_loop(single, batches, 1e-2)
    torch.testing.assert_close(result.model_for(2).W_hat, single.W_hat, rtol=1e-5, atol=1e-6)
    assert result.steps == 9
    assert set(result.log["epoch"]) == {0, 1, 2, 3}


def test_fixed_data_shuffles_per_seed_and_visits_every_row():
    data = nalu.FixedData(lambda s: nalu.mystery_dataset(s, in_dim=4, out_dim=2, n_train=10, n_test=5)[0],
                          batch_size=4, shuffle=True)
    data.setup([0, 1], torch.device("cpu"))
    xs = torch.cat([data.batch(k)[0] for k in range(data.steps_per_epoch())], dim=1)
    for s in range(2):
        got = sorted(map(tuple, xs[s].numpy().round(5)))
        want = sorted(map(tuple, data.x[s].numpy().round(5)))
        assert got == want


def test_fixed_data_batch_is_each_seeds_own_permuted_rows():
    # the plain definition, seed by seed: batch k is x[s][order[s, lo:hi]] (the last batch smaller)
    data = nalu.FixedData(lambda s: nalu.mystery_dataset(s, in_dim=3, out_dim=2, n_train=11, n_test=5)[0],
                          batch_size=4, shuffle=True)
    data.setup([0, 1, 2], torch.device("cpu"))
    for k in range(2 * data.steps_per_epoch()):
        x, y = data.batch(k)
        j = k % data.steps_per_epoch()
        lo, hi = 4 * j, min(4 * j + 4, 11)
        for s in range(3):
            rows = data._order[s, lo:hi]
            assert torch.equal(x[s], data.x[s][rows]) and torch.equal(y[s], data.y[s][rows])
        assert x.shape == (3, hi - lo, 3) and y.shape == (3, hi - lo, 2)


def test_a_diverging_seed_is_frozen_and_the_others_carry_on():
    class Blows(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.rand(1, 2))

        def forward(self, x):
            # a seed whose first weight starts above 0.5 gets an infinite output at once
            blow_up = torch.where(self.w[..., 0] > 0.5, float("inf"), 1.0).unsqueeze(-1)
            return (x @ self.w.mT) * blow_up

    seeds = list(range(6))
    inits = [nalu.build(Blows, s).w.detach().clone() for s in seeds]
    bad = [s for s in seeds if inits[s][0, 0] > 0.5]
    assert bad and len(bad) < len(seeds)
    data = nalu.FreshSamples(lambda s: nalu.two_input("add", (1.0, 2.0), (2.0, 6.0)), batch_size=8, eval_size=10)
    result = nalu.train(Blows, data, seeds, steps=20, lr=0.01, progress=False)
    assert {s for s, step in result.diverged_at.items() if step == 0} == set(bad)
    survivors = [s for s in seeds if s not in result.diverged_at]
    assert survivors
    for s in bad:  # frozen where it diverged
        torch.testing.assert_close(result.model_for(s).w, inits[s])
    for s in survivors:  # trained and finite
        w = result.model_for(s).w
        assert torch.isfinite(w).all() and not torch.equal(w, inits[s])
    assert np.isfinite(result.log[result.log.seed.isin(survivors)].mse).all()


def test_regularizer_warmup_and_clamps_are_applied():
    sched = nalu.Warmup(10.0, start=100, end=200)
    assert sched(0) == 0 and sched(150) == 5.0 and sched(10_000) == 10.0
    factory = partial(nalu.two_layer, "nau", "nmu", 4, 2, 1)
    task = nalu.ArithmeticTask("mul", [1, 1, 0, 0], [0, 0, 1, 1], (1.0, 2.0), (2.0, 6.0))
    result = nalu.train(factory, nalu.FreshSamples(task, 16, eval_size=20), [0, 1], steps=50, lr=0.5,
                        reg=nalu.Warmup(1.0, 0, 10), progress=False)
    w = result.final_weights
    assert w["0.W"].min() >= -1 and w["0.W"].max() <= 1
    assert w["1.W"].min() >= 0 and w["1.W"].max() <= 1


def test_log_is_tidy_and_thresholds_exist():
    data = nalu.FreshSamples(lambda s: nalu.static_arithmetic("mul", nalu.rng_for(s, 1)), batch_size=8, eval_size=30)
    result = nalu.train(partial(nalu.two_layer, "nau", "nmu", 100, 2, 1), data, [0, 1, 2], steps=10, eval_every=5,
                        progress=False)
    assert list(result.log.columns) == ["seed", "step", "split", "mse"]
    assert len(result.log) == 3 * 3 * 2  # seeds × logged steps (0, 5, 10) × splits
    assert set(result.threshold["split"]) == {"interpolation", "extrapolation"}
    table = nalu.success_table(result.log, result.threshold)
    assert len(table) == 3 and table["success"].dtype == bool
    assert result.final_weights["0.W"].shape == (3, 2, 100)


@pytest.mark.parametrize("kwargs, needle", [
    (dict(steps=None), "exactly one"),
    (dict(steps=-1), "-1"),
    (dict(lr=0.0), "lr"),
    (dict(eval_every=0), "eval_every"),
    (dict(optimizer="rmsprop"), "rmsprop"),
    (dict(seeds=[]), "seeds"),
    (dict(seeds=[1, 1]), "distinct"),
    (dict(grad_clip=-1.0), "grad_clip"),
    (dict(threads=0), "threads"),
])
def test_bad_trainer_arguments_raise_value_error(kwargs, needle):
    args = dict(seeds=[0], steps=1, progress=False)
    args.update(kwargs)
    with pytest.raises(ValueError, match=needle):
        nalu.train(nalu_net, nalu.FreshSamples(sum_task, 4, eval_size=4), **args)


def test_bad_data_arguments_raise_value_error():
    with pytest.raises(ValueError, match="batch_size"):
        nalu.FreshSamples(sum_task, batch_size=0)
    with pytest.raises(ValueError, match="eval_size"):
        nalu.FreshSamples(sum_task, eval_size=-5)
    with pytest.raises(ValueError, match="batch_size"):
        nalu.FixedData(None, batch_size=0)
    with pytest.raises(ValueError, match="end > start"):
        nalu.Warmup(1.0, 5, 5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_training_runs_on_the_gpu():
    result = nalu.train(nalu_net, nalu.FreshSamples(sum_task, 8, eval_size=10), [0, 1], steps=5, device="cuda",
                        progress=False)
    assert result.config["device"] == "cuda"


def test_cuda_requested_without_a_gpu_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ValueError, match="cuda"):
        nalu.train(nalu_net, nalu.FreshSamples(sum_task, 4, eval_size=4), [0], steps=1, device="cuda",
                   progress=False)


def test_chunk_layouts_give_the_same_batches():
    task = lambda s: nalu.static_arithmetic("add", nalu.rng_for(s, 1), in_dim=10)
    sources = [nalu.FreshSamples(task, batch_size=4, eval_size=5, chunk_steps=3, layout=lay) for lay in ("step", "seed")]
    for src in sources:
        src.setup([2, 0, 5], torch.device("cpu"))
    for step in range(7):  # across chunk boundaries
        (xa, ya), (xb, yb) = (src.batch(step) for src in sources)
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
        assert xa.shape == (3, 4, 10) and xa.is_contiguous()
    for src in sources:
        src.close()
    with pytest.raises(ValueError, match="layout"):
        nalu.FreshSamples(task, layout="row")


@pytest.mark.parametrize("call, error, needle", [
    (lambda data: nalu.train(nalu.NMU(10, 1), data, range(2), steps=1), TypeError, "function that builds"),
    (lambda data: nalu.train(nalu_net, data, 3, steps=1), TypeError, "range\\(3\\)"),
    (lambda data: nalu.train(nalu_net, data, [0], steps=1, reg=10), TypeError, "Warmup"),
    (lambda data: nalu.train(nalu_net, [(1, 2)], [0], steps=1), TypeError, "data source"),
    (lambda data: nalu.train(nalu_net, data, [0], steps=1, keep_best="validation"), ValueError, "validation"),
    (lambda data: nalu.train(nalu_net, data, [0], steps=1, checkpoint="x.pt"), TypeError, "Checkpoint"),
])
def test_the_public_api_fails_at_the_call_with_what_to_pass(call, error, needle):
    with pytest.raises(error, match=needle):
        call(nalu.FreshSamples(sum_task, 4, eval_size=4))


def test_warmup_needs_its_schedule_spelled_out():
    with pytest.raises(TypeError):
        nalu.Warmup(10)
    assert nalu.Warmup(10, 0, 1)(0) == 0 and nalu.Warmup(10, 0, 1)(1) == 10
    assert nalu.Warmup(2.0, 10, 20)(15) == pytest.approx(1.0)


def test_observe_sees_every_step_before_its_update_and_changes_nothing():
    def run(observe=None):
        data = nalu.FreshSamples(lambda s: nalu.static_arithmetic("add", nalu.rng_for(s, 1)), batch_size=16,
                                 eval_size=50)
        return nalu.train(partial(nalu.NAC, 100, 1), data, range(3), steps=12, eval_every=6, progress=False,
                          observe=observe)
    seen = []
    watched = run(lambda step, model: seen.append((step, model.W.detach().clone())))
    plain = run()
    assert [s for s, _ in seen] == list(range(12))
    assert seen[0][1].shape == (3, 1, 100)  # all seeds at once
    assert not torch.equal(seen[0][1], seen[-1][1])  # weights before step 0 differ from before step 11
    assert torch.equal(watched.model.W, plain.model.W) and watched.log.equals(plain.log)
    with pytest.raises(TypeError, match="observe must be a function"):
        nalu.train(partial(nalu.NAC, 100, 1), nalu.FreshSamples(lambda s: nalu.sum_split()), [0], steps=2,
                   observe="W")


@pytest.mark.parametrize("chunk", [None, 1, 7, 10_000])
def test_evaluate_mse_is_each_seeds_mean_squared_error_whatever_the_chunk(chunk):
    # (b) evaluate_mse runs the model in float64; another chunking is another batch shape for the
    # products and another order for the float64 sum of 100 squared errors: 2·100·2⁻⁵³ ≈ 2e-14
    # per sum, and the MLP's own products (≤ 5 terms each) add far less; 1e-12 bounds both.
    model = stack_models([build(partial(nalu.MLP, 3, 2, hidden=(5,)), s) for s in range(4)])
    x, y = torch.rand(4, 50, 3), torch.rand(4, 50, 2)
    model64 = nalu.as_float64(model)
    with torch.no_grad():
        want = ((model64(x.double()) - y.double()) ** 2).mean(dim=(-2, -1))
    torch.testing.assert_close(nalu.evaluate_mse(model, x, y, chunk=chunk), want, rtol=1e-12, atol=0)
    shared = x[0]  # one input set for every seed
    with torch.no_grad():
        want = ((model64(shared.double()) - y.double()) ** 2).mean(dim=(-2, -1))
    torch.testing.assert_close(nalu.evaluate_mse(model, shared, y, chunk=chunk), want, rtol=1e-12, atol=0)
    assert next(model.parameters()).dtype == torch.float32  # the model itself is left as it was


@pytest.mark.parametrize("chunk", [0, -3, 2.5])
def test_evaluate_mse_rejects_a_bad_chunk(chunk):
    with pytest.raises(ValueError, match="chunk must be a positive number of rows"):
        nalu.evaluate_mse(torch.nn.Identity(), torch.rand(2, 4, 1), torch.rand(2, 4, 1), chunk=chunk)


@pytest.mark.parametrize("ops", [("add",), ("mul", "div", "sqrt", "sub", "mul")])
def test_stacked_targets_are_each_seeds_own_task_targets(ops):
    from nalu.data import stacked_targets
    tasks = [nalu.static_arithmetic(op, nalu.rng_for(s, 1), in_dim=20) for s, op in enumerate(ops)]
    x = torch.rand(3, len(tasks), 7, 20) + 1  # (steps, seeds, batch, in)
    y = stacked_targets(tasks, x)
    assert y.shape == (3, len(tasks), 7, 1)
    for s, task in enumerate(tasks):
        torch.testing.assert_close(y[:, s], task.targets(x[:, s]), rtol=1e-6, atol=1e-5)  # a − b: absolute


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "square", "sqrt"])
def test_stacked_targets_match_each_seeds_task_at_the_static_tasks_real_size(op):
    # (b) at 100 inputs each operand sums s = 25 inputs from U[1, 2]; the stacked form computes the
    # operands as one product x·[A B]ᵀ over every seed, the per-seed form as x·A per seed: the same
    # sums in another order. Their gap is bounded by 2·s·2⁻²⁴ relative per operand (Higham §4.2),
    # doubled for an operation of two operands, and by 2·s·2⁻²⁴·(2s) absolute for a − b near 0.
    from nalu.data import per_seed_targets, stacked_targets
    from tolerances import product_of_sums_rtol, sum_rtol
    tasks = [nalu.static_arithmetic(op, nalu.rng_for(s, 1)) for s in range(8)]
    subset = int(100 * 0.25)
    x = torch.rand(2, 8, 96, 100, generator=torch.Generator().manual_seed(0)) + 1
    atol = 2 * sum_rtol(subset) * 2 * subset if op == "sub" else 0.0
    torch.testing.assert_close(stacked_targets(tasks, x), per_seed_targets(tasks, x),
                               rtol=product_of_sums_rtol(subset), atol=atol)


@pytest.mark.parametrize("masks", [
    [((1, 0), (0, 1))] * 4,  # the two-input tasks: a = x₁, b = x₂ for every seed (read as a view)
    [((0, 0, 1), (1, 0, 0))] * 4,  # the same single inputs for every seed, not side by side
    [((1, 0, 0), (0, 1, 0)), ((0, 0, 1), (1, 0, 0)), ((0, 1, 0), (0, 0, 1)), ((1, 0, 0), (0, 1, 0))],  # per seed
    [((1, 1, 0), (0, 0, 1))] * 4,  # an operand summing two inputs: the product
], ids=["shared, adjacent", "shared, apart", "per seed", "a sum"])
def test_operands_read_by_index_are_exactly_the_products(masks):
    from nalu.data import operand_masks, operand_product, operands, per_seed_targets, stacked_targets
    ops = ["mul", "div", "sub", "add"]
    tasks = [nalu.ArithmeticTask(op, np.array(a), np.array(b), (-2.0, 2.0), (2.0, 6.0)) for op, (a, b) in zip(ops, masks)]
    x = torch.rand(5, 4, 9, len(masks[0][0]), generator=torch.Generator().manual_seed(3)) * 4 - 2
    stacked = operand_masks(tasks)
    assert torch.equal(operands(x, stacked), operand_product(x, stacked))  # a 0/1 mask with one 1 copies its input
    assert torch.equal(stacked_targets(tasks, x), per_seed_targets(tasks, x))
    one_op = [nalu.ArithmeticTask("mul", np.array(a), np.array(b), (-2.0, 2.0), (2.0, 6.0)) for a, b in masks]
    assert torch.equal(stacked_targets(one_op, x), per_seed_targets(one_op, x))


def test_a_full_batch_is_the_training_set_itself_every_step():
    data = nalu.FixedData(lambda s: nalu.mystery_dataset(s, in_dim=3, out_dim=2, n_train=11, n_test=5)[0],
                          batch_size=None, shuffle=True)
    data.setup([0, 1], torch.device("cpu"))
    assert data.steps_per_epoch() == 1
    for k in range(3):
        x, y = data.batch(k)
        assert x is data.x and y is data.y  # the same tensors: no copy, no reordering
    for size in (11, 50):  # a batch as large as the set, or larger, is the full batch too
        big = nalu.FixedData(lambda s: nalu.mystery_dataset(s, in_dim=3, out_dim=2, n_train=11, n_test=5)[0],
                             batch_size=size)
        big.setup([0], torch.device("cpu"))
        assert big.batch(0)[0] is big.x


def test_train_together_gives_each_learner_exactly_its_result_alone():
    # three units with different learning rates, regularisers and clipping on the static task (the
    # NALU's log of the shared batch is computed once per step for both log-path units)
    task = lambda seed: nalu.static_arithmetic("mul", nalu.rng_for(seed, 1), in_dim=20)  # noqa: E731
    learners = [nalu.Learner(lambda: nalu.two_layer("nalu", None, 20, 2, 1), lr=1e-2),
                nalu.Learner(lambda: nalu.two_layer("nau", "nmu", 20, 2, 1), lr=3e-3,
                             reg=nalu.Warmup(10.0, 5, 20)),
                nalu.Learner(lambda: nalu.two_layer("nalu_separate", None, 20, 2, 1), grad_clip=0.1)]
    seeds = [3, 1004, 2005]
    kw = dict(steps=30, eval_every=10, progress=False)
    together = nalu.train_together(learners, nalu.FreshSamples(task, 16, eval_size=50), seeds, **kw)
    assert len(together) == 3
    for learner, shared in zip(learners, together):
        alone = nalu.train(learner.model_factory, nalu.FreshSamples(task, 16, eval_size=50), seeds, lr=learner.lr,
                           reg=learner.reg, grad_clip=learner.grad_clip, **kw)
        for (name, a), b in zip(alone.model.named_parameters(), shared.model.parameters()):
            assert torch.equal(a, b), name
        pd.testing.assert_frame_equal(alone.log, shared.log)
        pd.testing.assert_frame_equal(alone.threshold, shared.threshold)
        assert alone.config == shared.config
    # the learners really differ: the same data, different weights
    assert not torch.equal(next(together[0].model.parameters()), next(together[2].model.parameters()))


def test_train_together_rejects_what_is_not_a_learner():
    data = nalu.FreshSamples(nalu.two_input("add", (1.0, 2.0), (2.0, 6.0)), 8, eval_size=20)
    with pytest.raises(TypeError, match="Learner"):
        nalu.train_together([lambda: nalu.NAU(2, 1)], data, [0], steps=1)
    with pytest.raises(TypeError, match="Learner"):
        nalu.train_together([], data, [0], steps=1)
    with pytest.raises(ValueError, match="lr must be a positive number"):
        nalu.train_together([nalu.Learner(lambda: nalu.NAU(2, 1), lr=-1.0)], data, [0], steps=1)


def test_threshold_eps_sets_the_success_threshold_and_the_options_are_recorded_once():
    """The trainer's ε is the success threshold's perturbation (not the units' ε): a larger one
    gives a larger threshold for every seed and split."""
    task = nalu.static_arithmetic("add", nalu.rng_for(0, 1), in_dim=10)

    def thresholds(eps):
        data = nalu.FreshSamples(task, batch_size=8, eval_size=50)
        r = nalu.train(partial(nalu.NAC, 10, 1), data, [0, 1], steps=2, threshold_eps=eps, progress=False)
        return r.threshold.set_index(["seed", "split"]).threshold

    small, large = thresholds(1e-5), thresholds(1e-3)
    assert (large > small).all()
    with pytest.raises(dataclasses.FrozenInstanceError):
        nalu.TrainingOptions(steps=3).steps = 4


def test_merged_blocks_keep_each_seeds_model_and_log_bit_for_bit():
    # exact: merging copies each block's tensors and rows, it computes nothing
    data = lambda: nalu.FreshSamples(sum_task, batch_size=8, eval_size=20)
    a = nalu.train(nalu_net, data(), [0, 1], steps=6, lr=1e-3, eval_every=3, keep_best="interpolation", progress=False)
    b = nalu.train(nalu_net, data(), [4], steps=6, lr=1e-3, eval_every=3, keep_best="interpolation", progress=False)
    merged = nalu.merge_results([a, b])
    assert merged.seeds == [0, 1, 4] and merged.steps == 6
    for part in (a, b):
        for s in part.seeds:
            for p, q in zip(merged.model_for(s).parameters(), part.model_for(s).parameters()):
                assert torch.equal(p, q)
            k, j = merged.seeds.index(s), part.seeds.index(s)
            for p, q in zip(merged.best_model.parameters(), part.best_model.parameters()):
                assert torch.equal(p[k], q[j])
            rows = lambda r: r.log[r.log.seed == s].reset_index(drop=True)
            pd.testing.assert_frame_equal(rows(merged), rows(part))
    assert set(merged.threshold.seed) == {0, 1, 4}


def test_merging_blocks_that_cannot_be_joined_is_a_clear_error():
    data = lambda: nalu.FreshSamples(sum_task, batch_size=8, eval_size=20)
    a = nalu.train(nalu_net, data(), [0, 1], steps=4, lr=1e-3, progress=False)
    with pytest.raises(ValueError, match=r"share seeds \(\[1\]\)"):
        nalu.merge_results([a, nalu.train(nalu_net, data(), [1, 2], steps=4, lr=1e-3, progress=False)])
    with pytest.raises(ValueError, match="different budgets"):
        nalu.merge_results([a, nalu.train(nalu_net, data(), [2], steps=5, lr=1e-3, progress=False)])
    with pytest.raises(ValueError, match="other parameters"):
        other = partial(nalu.two_layer, "nac", None, 10, 2, 1)
        nalu.merge_results([a, nalu.train(other, data(), [2], steps=4, lr=1e-3, progress=False)])
    with pytest.raises(TypeError, match="one or more TrainResults"):
        nalu.merge_results([])
