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


def run(ckpt=None, steps=60, **kw):
    data = nalu.FreshSamples(mul_task, batch_size=8, eval_size=50, chunk_steps=4)
    return nalu.train(FACTORY, data, [0, 3], steps=steps, eval_every=10, reg=nalu.Warmup(1.0, 10, 30),
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
    assert not path.exists()  # a finished run leaves no checkpoint behind


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
