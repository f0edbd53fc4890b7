"""Inputs that used to give a silent wrong result (or a late, bare error) now fail at the call,
naming the bad value and what to pass instead; or behave as documented."""

import json
from functools import partial

import numpy as np
import pandas as pd
import pytest
import torch

import nalu
from nalu_lab import scale


def sum_task(seed):
    return nalu.static_arithmetic("add", nalu.rng_for(seed, 1), in_dim=10)


def run(task=sum_task, ckpt=None, steps=24, factory=partial(nalu.two_layer, "nau", "nau", 10, 2, 1), **kw):
    data = nalu.FreshSamples(task, batch_size=8, eval_size=40, chunk_steps=4)
    return nalu.train(factory, data, [0, 1], steps=steps, eval_every=8, checkpoint=ckpt, progress=False, **kw)


def pause(path, task=sum_task):
    with pytest.raises(nalu.TrainingPaused):
        run(task, nalu.Checkpoint(path, every_seconds=None, every_steps=4, stop_after_seconds=0.0))


@pytest.mark.parametrize("other, field", [
    (lambda s: nalu.static_arithmetic("sub", nalu.rng_for(s, 1), in_dim=10), "data.tasks[0].op"),
    (lambda s: nalu.static_arithmetic("add", nalu.rng_for(s, 1), in_dim=10, extrapolation=(2.0, 10.0)),
     "data.tasks[0].splits.extrapolation"),
    (lambda s: nalu.static_arithmetic("add", None, offset=0, in_dim=10), "data.tasks[0].a_mask"),
], ids=["operation", "range", "masks"])
def test_a_checkpoint_resumed_with_another_task_is_refused_naming_the_field(tmp_path, other, field):
    path = tmp_path / "run.pt"
    pause(path)
    with pytest.raises(nalu.CheckpointMismatch, match=r"different run: .*" + field.replace("[", r"\[").replace("]", r"\]")):
        run(other, nalu.Checkpoint(path, every_seconds=None, every_steps=4))


def test_a_checkpoint_from_other_code_resumes_only_when_asked_and_records_both(tmp_path, monkeypatch):
    path = tmp_path / "run.pt"
    pause(path)
    monkeypatch.setattr(nalu.training, "code_version", lambda: "another-version")
    with pytest.raises(nalu.CheckpointMismatch, match="another environment: code: .*another-version"):
        run(ckpt=nalu.Checkpoint(path, every_seconds=None, every_steps=4))
    result = run(ckpt=nalu.Checkpoint(path, every_seconds=None, every_steps=4, resume_elsewhere=True))
    codes = [seg["code"] for seg in result.config["segments"]]
    assert codes[-1] == "another-version" and codes[0] != "another-version"
    assert {"torch", "device", "cpu"} <= set(result.config["segments"][0])
    shares = scale.step_shares(result.config["segments"], 24)
    assert sum(s["steps"] for s in shares) == 24 and len(shares) == 2


def test_a_model_wider_than_the_targets_is_refused():
    with pytest.raises(ValueError, match="model gives 3 outputs but the task's targets have 1"):
        run(factory=partial(nalu.NMU, 10, 3))


def test_non_finite_data_is_refused_where_it_is_built():
    with pytest.raises(ValueError, match=r"√x needs non-negative inputs.*\[-2, 2\]"):
        nalu.two_input("sqrt", (-2.0, 2.0), (2.0, 6.0))
    x = np.ones((5, 2), np.float32)
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match="x_train holds 1 NaN or infinite values \\(first in row 3\\)"):
        nalu.Dataset(x, np.ones((5, 1), np.float32), {"train": (x, np.ones((5, 1), np.float32))})
    y = np.ones((5, 1), np.float32)
    y[0] = np.inf
    with pytest.raises(ValueError, match=r"evals\['test'\] y holds 1 NaN"):
        nalu.Dataset(np.ones((5, 2), np.float32), np.ones((5, 1), np.float32), {"test": (np.ones((5, 2)), y)})

    class LogTask(nalu.IdentityTask):  # a custom task whose targets are NaN on part of its range
        def targets(self, x):
            return torch.log(x)

    with pytest.raises(ValueError, match="NaN or infinite targets on its interpolation split"):
        nalu.train(partial(nalu.NAU, 1, 1), nalu.FreshSamples(LogTask(), batch_size=4, eval_size=20), [0], steps=2,
                   progress=False)


def test_bad_dataset_shapes_and_empty_evaluations_are_refused():
    with pytest.raises(ValueError, match=r"y_train must be 2-D .*shape \(4,\).*reshape\(-1, 1\)"):
        nalu.Dataset(np.ones((4, 2), np.float32), np.ones(4, np.float32), {})
    with pytest.raises(ValueError, match="needs at least one evaluation split"):
        nalu.Dataset(np.ones((4, 2), np.float32), np.ones((4, 1), np.float32))


@pytest.mark.parametrize("value", [2, 0.5, -1])
def test_masks_must_hold_only_zeros_and_ones(value):
    with pytest.raises(ValueError, match=f"a_mask must hold only 0 and 1.*{value}.*index 1"):
        nalu.ArithmeticTask("add", np.array([1, value, 0]), np.array([0, 0, 1]), (1.0, 2.0), (2.0, 6.0))


def test_success_table_with_its_arguments_swapped_says_so():
    result = run(steps=8)
    with pytest.raises(ValueError, match="arguments look swapped"):
        nalu.success_table(result.threshold, result.log)
    assert len(nalu.success_table(result.log, result.threshold)) == 2


def test_an_unknown_device_gets_the_choices():
    with pytest.raises(ValueError, match="unknown device 'gpu'; pass 'cpu', 'cuda'"):
        run(device="gpu")


def test_epochs_of_fresh_samples_and_zero_steps_are_refused():
    with pytest.raises(ValueError, match="FreshSamples draws fresh batches every step and has no epochs"):
        nalu.train(partial(nalu.NAU, 10, 1), nalu.FreshSamples(sum_task), [0], epochs=2, progress=False)
    with pytest.raises(ValueError, match="steps must be a positive integer, got 0; with 0 nothing would be trained"):
        run(steps=0)


def test_paper_scale_unit_names_are_checked_before_anything_runs(tmp_path):
    assert scale.Block("NAU->NMU", "×", (0,)) == scale.Block("NAU→NMU", "mul", (0,))
    assert scale.parse_cells("nau-nmu:mul, NACplus:+") == [("NAU→NMU", "mul"), ("NAC+", "add")]
    with pytest.raises(ValueError, match="unknown unit 'NAU=>NMU'.*NAU→NMU \\(.*nau->nmu"):
        scale.Block("NAU=>NMU", "mul", (0,))
    with pytest.raises(ValueError, match="unknown unit"):
        scale.run([scale.Block("NAU", "add", (0,)), scale.Block("NMU", "add", (0,))], scale.PaperProtocol(steps=10),
                  tmp_path, engine="inline", progress=False)
    assert not (tmp_path / "blocks").exists()  # nothing ran


PROTO = scale.PaperProtocol(steps=20, eval_every=10, eval_size=100, in_dim=20)


def test_overlapping_blocks_are_refused_before_running_and_when_collected(tmp_path):
    scale.run([scale.Block("NAU", "add", (0,))], PROTO, tmp_path, engine="inline", progress=False)
    with pytest.raises(ValueError, match="both train seed 0 of NAU on add"):
        scale.run([scale.Block("NAU", "add", (0, 1))], PROTO, tmp_path, engine="inline", progress=False)
    other = tmp_path / "other"
    scale.run([scale.Block("NAU", "add", (0, 1))], PROTO, other, engine="inline", progress=False)
    for path in (other / "blocks").glob("*.json"):  # two overlapping results put into one folder by hand
        (tmp_path / "blocks" / path.name).write_text(path.read_text())
    with pytest.raises(ValueError, match="both train seed 0 of NAU on add"):
        scale.collect(tmp_path)
    assert scale.run([scale.Block("NAU", "add", (1, 2))], PROTO, other / "x", engine="inline", progress=False)


def test_a_non_finite_test_error_is_stored_as_standard_json(tmp_path, monkeypatch):
    real = scale.success_table

    def with_overflow(log, threshold):
        table = real(log, threshold)
        table.loc[0, "test_mse"] = np.nan  # what a selected model whose test output overflows gives
        table.loc[0, "success"] = False
        return table

    monkeypatch.setattr(scale, "success_table", with_overflow)
    scale.run([scale.Block("NAU", "add", (0, 1))], PROTO, tmp_path, engine="inline", progress=False)

    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token}")

    for path in (tmp_path / "blocks").glob("*.json"):
        rows = json.loads(path.read_text(), parse_constant=refuse)["rows"]
        assert rows[0]["test_mse"] is None and rows[0]["test_output_finite"] is False
        assert rows[1]["test_output_finite"] is True
    table = scale.load_static(tmp_path / "static.csv")
    assert list(table["test_output_finite"]) == [False, True] and table["test_mse"].isna().sum() == 1


@pytest.mark.parametrize("spec", ["x", (1,), (True, 2), [(1, 2), (3,)], []])
def test_a_malformed_range_is_refused_with_the_forms_it_takes(spec):
    with pytest.raises(ValueError, match=r"a range is \(lo, hi\), a list of \(lo, hi\) pairs or an Interval"):
        nalu.Ranges.of(spec)
    with pytest.raises(ValueError, match="a range is"):
        nalu.two_input("mul", (1, 2), spec)


def test_every_spelling_of_a_range_gives_the_same_ranges():
    assert str(nalu.Ranges.of((1, 2))) == str(nalu.Ranges.of([1.0, 2.0])) == str(nalu.Ranges.of(np.array([1, 2])))
    assert str(nalu.Ranges.of([(-2, -1), (1, 2)])) == str(nalu.Ranges.of((nalu.Interval(1, 2), (-2, -1))))


@pytest.mark.parametrize("kwargs, message", [
    (dict(path=None), "path must name the checkpoint's file"),
    (dict(path="c.pt", every_seconds=-1), "every_seconds must be a number of seconds ≥ 0"),
    (dict(path="c.pt", stop_after_seconds="soon"), "stop_after_seconds must be a number of seconds ≥ 0"),
])
def test_a_checkpoint_with_a_bad_setting_is_refused_where_it_is_made(kwargs, message):
    with pytest.raises(ValueError, match=message):
        nalu.Checkpoint(**kwargs)


@pytest.mark.parametrize("unit", sorted(nalu.UNITS))
def test_a_unit_given_rows_of_the_wrong_width_or_one_bare_row_names_the_shape_it_takes(unit):
    model = nalu.make_unit(unit, 3, 1)
    model(torch.ones(4, 3))  # a batch
    model(torch.ones(2, 4, 3))  # a batch per stacked seed
    with pytest.raises(ValueError, match=r"rows of width 3.*got \(4, 5\)$"):
        model(torch.ones(4, 5))
    # before the check, an NMU took one bare row (3,) and returned a (1, 1) tensor without complaint
    with pytest.raises(ValueError, match=r"got \(3,\) \(one row x: pass x.unsqueeze\(0\)\)"):
        model(torch.ones(3))


def test_training_a_model_on_data_of_another_width_is_refused_naming_both_widths():
    with pytest.raises(ValueError, match=r"NAU\(in_dim=7\) takes a batch of rows of width 7.*got \(\d+, 10\)"):
        run(factory=partial(nalu.two_layer, "nau", "nau", 7, 2, 1))


def test_sparsity_error_of_weights_rather_than_a_model_points_to_weights_sparsity_error():
    with pytest.raises(TypeError, match="takes a model .* got Tensor; .* weights_sparsity_error"):
        nalu.sparsity_error(torch.zeros(2, 3))
