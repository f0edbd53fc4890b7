"""Checkpoints: a paused or crashed run resumes to exactly the result of an uninterrupted one.

Equality kinds (tests/tolerances.py): (a) exact throughout: a resumed run is the same computation as
the uninterrupted one, on the same machine.
"""

from functools import partial

import numpy as np
import pytest
import torch

import nalu


def mul_task(seed):
    return nalu.static_arithmetic("mul", nalu.rng_for(seed, 1), in_dim=10)


FACTORY = partial(nalu.two_layer, "nau", "nmu", 10, 2, 1)


def run(ckpt=None, steps=60, eval_every=10, **kw):
    data = nalu.FreshSamples(mul_task, batch_size=8, eval_size=50, chunk_steps=4)
    return nalu.train(FACTORY, data, [0, 3], steps=steps, eval_every=eval_every, reg=nalu.Warmup(1.0, 10, 30),
                      keep_best="interpolation", checkpoint=ckpt, progress=False, **kw)


def assert_same(a: nalu.TrainResult, b: nalu.TrainResult) -> None:
    assert a.log.equals(b.log)
    for (name, p), (_, q) in zip(a.model.named_parameters(), b.model.named_parameters()):
        assert torch.equal(p, q), name
    for p, q in zip(a.best_model.parameters(), b.best_model.parameters()):
        assert torch.equal(p, q)
    assert a.diverged_at == b.diverged_at


def test_paused_run_resumes_bit_identical(tmp_path):
    whole = run()
    path = tmp_path / "cell.pt"
    with pytest.raises(nalu.TrainingPaused) as paused:
        run(nalu.Checkpoint(path, every_seconds=None, every_steps=8, stop_after_seconds=0.0))
    assert 0 < paused.value.step < 60 and path.exists()
    resumed = run(nalu.Checkpoint(path, every_seconds=None, every_steps=8))
    assert_same(whole, resumed)
    assert torch.load(path, weights_only=False)["step"] == 60  # a finished run leaves its final state


def test_crashed_run_resumes_from_its_last_checkpoint(tmp_path, monkeypatch):
    whole = run()
    path = tmp_path / "cell.pt"
    original = nalu.FreshSamples.batch

    def crash_at_37(self, step):
        if step == 37:
            raise KeyboardInterrupt("machine lost")
        return original(self, step)

    monkeypatch.setattr(nalu.FreshSamples, "batch", crash_at_37)
    with pytest.raises(KeyboardInterrupt):
        run(nalu.Checkpoint(path, every_seconds=None, every_steps=8))
    monkeypatch.setattr(nalu.FreshSamples, "batch", original)
    assert torch.load(path, weights_only=False)["step"] == 32  # saved every 8 steps: the last save before step 37
    assert_same(whole, run(nalu.Checkpoint(path, every_seconds=None, every_steps=8)))


def test_a_checkpoint_of_another_run_is_refused(tmp_path):
    path = tmp_path / "cell.pt"
    with pytest.raises(nalu.TrainingPaused):
        run(nalu.Checkpoint(path, every_seconds=None, every_steps=8, stop_after_seconds=0.0))
    with pytest.raises(ValueError, match="different run"):
        run(nalu.Checkpoint(path, every_seconds=None, every_steps=8), steps=80)


def test_fixed_data_resumes_bit_identical(tmp_path):
    task = nalu.sum_split()
    rng = np.random.default_rng(0)
    x = task.inputs(64, "interpolation", rng)
    y = task.targets(torch.from_numpy(x)).numpy()
    xt = task.inputs(32, "extrapolation", rng)
    data = nalu.Dataset(x, y, {"test": (xt, task.targets(torch.from_numpy(xt)).numpy())})

    def go(ckpt=None):
        return nalu.train(partial(nalu.NAC, 10, 1), nalu.FixedData(data, batch_size=16), [1, 2], epochs=6,
                          eval_every=1, checkpoint=ckpt, progress=False)

    whole = go()
    path = tmp_path / "fixed.pt"
    with pytest.raises(nalu.TrainingPaused):
        go(nalu.Checkpoint(path, every_seconds=None, every_steps=4, stop_after_seconds=0.0))
    resumed = go(nalu.Checkpoint(path, every_seconds=None, every_steps=4))
    assert whole.log.equals(resumed.log)
    assert all(torch.equal(p, q) for p, q in zip(whole.model.parameters(), resumed.model.parameters()))


def test_a_finished_run_is_returned_from_its_final_state_without_training(tmp_path, monkeypatch):
    path = tmp_path / "cell.pt"
    first = run(nalu.Checkpoint(path, every_seconds=None, every_steps=8))

    def no_training(self, step):
        raise AssertionError(f"trained step {step} of a finished run")

    monkeypatch.setattr(nalu.FreshSamples, "batch", no_training)
    again = run(nalu.Checkpoint(path, every_seconds=None, every_steps=8))
    assert_same(first, again)
    assert again.config["segments"] == first.config["segments"]


@pytest.mark.parametrize("pause", [False, True], ids=["from a finished run", "from a paused run"])
@pytest.mark.parametrize("short, long, every", [(40, 60, 10), (42, 63, 7)], ids=["at a chunk's start", "inside a chunk"])
def test_extending_a_shorter_run_is_the_longer_run(tmp_path, pause, short, long, every):
    """The trainer's schedule (regulariser warm-up, evaluations) is in absolute steps, so the first
    ``short`` steps of a ``long`` run are the ``short`` run, and continuing it gives the long run."""
    whole = run(steps=long, eval_every=every)
    path = tmp_path / "cell.pt"
    if pause:
        with pytest.raises(nalu.TrainingPaused):
            run(nalu.Checkpoint(path, every_seconds=None, every_steps=8, stop_after_seconds=0.0), steps=short,
                eval_every=every)
    else:
        run(nalu.Checkpoint(path, every_seconds=None, every_steps=8), steps=short, eval_every=every)
    extended = run(nalu.Checkpoint(path, every_seconds=None, every_steps=8, extend=True), steps=long,
                   eval_every=every)
    assert_same(whole, extended)
    budgets = [seg["run_steps"] for seg in extended.config["segments"]]
    assert budgets[0] == short and budgets[-1] == long


def test_fixed_data_ending_inside_an_epoch_extends_to_the_longer_run(tmp_path):
    task = nalu.sum_split()
    rng = np.random.default_rng(0)
    x = task.inputs(64, "interpolation", rng)
    data = nalu.Dataset(x, task.targets(torch.from_numpy(x)).numpy(),
                        {"test": (x[:8], task.targets(torch.from_numpy(x[:8])).numpy())})

    def go(steps, ckpt=None):  # 4 steps per epoch: 10 steps end inside the third epoch
        return nalu.train(partial(nalu.NAC, 10, 1), nalu.FixedData(data, batch_size=16), [1, 2], steps=steps,
                          eval_every=5, checkpoint=ckpt, progress=False)

    whole = go(20)
    path = tmp_path / "fixed.pt"
    go(10, nalu.Checkpoint(path, every_seconds=None, every_steps=4))
    extended = go(20, nalu.Checkpoint(path, every_seconds=None, every_steps=4, extend=True))
    assert whole.log.equals(extended.log)
    assert all(torch.equal(p, q) for p, q in zip(whole.model.parameters(), extended.model.parameters()))


def test_extension_is_refused_where_it_would_not_be_the_longer_run(tmp_path):
    path = tmp_path / "cell.pt"
    run(nalu.Checkpoint(path, every_seconds=None, every_steps=8), steps=45)  # evaluated at 45, off the schedule
    with pytest.raises(nalu.CheckpointMismatch, match="not a multiple of its evaluation interval"):
        run(nalu.Checkpoint(path, every_seconds=None, every_steps=8, extend=True), steps=60)
    with pytest.raises(nalu.CheckpointMismatch, match="extend=True"):  # without extend: the hint
        run(nalu.Checkpoint(path, every_seconds=None, every_steps=8), steps=60)
    with pytest.raises(nalu.CheckpointMismatch, match="steps: 45 in the checkpoint, 30 now"):  # never shorter
        run(nalu.Checkpoint(path, every_seconds=None, every_steps=8, extend=True), steps=30)
