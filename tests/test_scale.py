"""The paper-scale runner: the same numbers whichever engine runs the blocks; interrupt and resume.

Equality kinds (tests/tolerances.py): (a) exact throughout: the same blocks under another engine
(inline, process pool, Ray) are the same computations.
"""

import json
from functools import partial

import torch

import nalu
from nalu.data import FreshSamples
from nalu.training import Warmup

import numpy as np
import pandas as pd
import pytest

from nalu_lab import scale

PROTO = scale.PaperProtocol(steps=50, eval_every=10, eval_size=200, in_dim=20)
CELLS = [("NAU→NMU", "mul"), ("NAU", "add")]


def table(out_dir):
    return scale.load_static(out_dir / "static.csv").sort_values(["unit", "op", "seed"]).reset_index(drop=True)


def test_inline_and_process_pool_give_identical_tables(tmp_path):
    blocks = scale.blocks_for(CELLS, [0, 1], block_size=2)
    scale.run(blocks, PROTO, tmp_path / "a", engine="inline", progress=False)
    scale.run(blocks, PROTO, tmp_path / "b", engine="processes", workers=2, progress=False)
    a, b = table(tmp_path / "a"), table(tmp_path / "b")
    assert len(a) == 4 and set(a["unit"]) == {"NAU→NMU", "NAU"}
    pd.testing.assert_frame_equal(a, b)


def test_local_ray_gives_the_in_process_result(tmp_path):
    ray = pytest.importorskip("ray")
    blocks = scale.blocks_for(CELLS, [0, 1], block_size=1)  # four Ray tasks
    scale.run(blocks, PROTO, tmp_path / "ray", engine="ray", workers=2, progress=False)
    ray.shutdown()
    scale.run(scale.blocks_for(CELLS, [0, 1], block_size=2), PROTO, tmp_path / "inline", engine="inline",
              progress=False)
    pd.testing.assert_frame_equal(table(tmp_path / "ray"), table(tmp_path / "inline"))


def test_a_paused_block_resumes_to_the_uninterrupted_result(tmp_path):
    proto = scale.PaperProtocol(steps=150, eval_every=10, eval_size=200, in_dim=20)  # chunks of 64 steps
    block = scale.Block("NAU→NMU", "mul", (0, 1))
    whole = scale.run_block(block, proto, tmp_path / "whole")
    paused = scale.run_block(block, proto, tmp_path / "resumed", checkpoint_every=0.0, stop_after_seconds=0.0)
    assert paused["status"] == "paused" and 0 < paused["step"] < proto.steps
    running = scale.interim(tmp_path / "resumed", proto)
    assert list(running["seed"]) == [0, 1] and set(running["step_reached"]) == {paused["step"]}
    resumed = scale.run_block(block, proto, tmp_path / "resumed")
    assert resumed["rows"] == whole["rows"]


def test_cells_and_seeds_are_parsed_with_clear_errors():
    assert scale.parse_cells("NAU->NMU:mul, NAU:add") == [("NAU→NMU", "mul"), ("NAU", "add")]
    # a label with commas, as written in the book, and its file-name spelling
    assert scale.parse_cells("NAU→NMU, no R_bias, no W-clamp:mul,NAU:add,NAU-NMU--no-Rbias:×") == [
        ("NAU→NMU, no R_bias, no W-clamp", "mul"), ("NAU", "add"), ("NAU→NMU, no R_bias", "mul")]
    with pytest.raises(ValueError, match="UNIT:OP"):
        scale.parse_cells("NAU:add,NAU")
    assert scale.parse_seeds("0-2,7") == [0, 1, 2, 7]
    with pytest.raises(ValueError, match="UNIT:OP"):
        scale.parse_cells("NMU:mul")
    with pytest.raises(ValueError, match="ranges like"):
        scale.parse_seeds("a-b")
    with pytest.raises(ValueError, match="name 1 more than once"):
        scale.parse_seeds("1,1")
    with pytest.raises(ValueError, match="name NAU:mul more than once"):
        scale.parse_cells("NAU:mul,nau:×")  # two spellings of one cell


def test_published_table_covers_the_headline_cells():
    keys = {(p.unit, p.op) for p in scale.MADSEN_STATIC}
    assert {("NAU→NMU", "mul"), ("NALU", "mul"), ("NAU", "add"), ("NAU", "sub")} <= keys


@pytest.mark.parametrize("unit", ["Linear", "NAC+", "NALU"])
def test_every_paper_unit_runs_to_a_result_with_its_sparsity(tmp_path, unit):
    # a block's post-processing must not fail after training (the trainer has removed its checkpoint)
    out = scale.run_block(scale.Block(unit, "add", (0, 1)), PROTO, tmp_path)
    assert out["status"] == "done" and all(0 <= r["sparsity_error"] <= 1 for r in out["rows"])


def test_a_finished_block_extended_to_more_steps_is_the_longer_block(tmp_path):
    """The NALU has no step-dependent schedule (and the NAU's warm-up is in absolute steps), so the
    first 50 steps of a 90-step block are the 50-step block: continuing its kept final state to 90
    gives the 90-step block's rows, and the 50-step result stays as it was."""
    cells = [("NALU", "mul"), ("NAU", "add")]
    longer = scale.PaperProtocol(steps=90, eval_every=10, eval_size=200, in_dim=20)
    blocks = scale.blocks_for(cells, [0, 1], block_size=2)
    scale.run(blocks, longer, tmp_path / "direct", engine="inline", progress=False)
    scale.run(blocks, PROTO, tmp_path / "extended", engine="inline", progress=False)
    assert sorted(p.name for p in (tmp_path / "extended" / "final").iterdir()) == \
        sorted(f"{b.name}_50.pt" for b in blocks)
    short_before = table(tmp_path / "extended")
    scale.run(blocks, longer, tmp_path / "extended", engine="inline", progress=False)
    both = table(tmp_path / "extended")
    pd.testing.assert_frame_equal(both[both.steps == 90].reset_index(drop=True), table(tmp_path / "direct"))
    pd.testing.assert_frame_equal(both[both.steps == 50].reset_index(drop=True), short_before)
    record = json.loads((tmp_path / "extended" / "blocks" / f"{blocks[0].name}_90.json").read_text())
    assert [s["run_steps"] for s in record["segments"]] == [50, 90]  # the provenance says it was extended


def test_every_planned_cell_has_a_budget_that_can_decide_it():
    """The plan's budgets follow the verdict rule: at least the published median solved-at step,
    or the paper's 5·10⁶ steps where none is published."""
    published = {(p.unit, p.op): p for p in scale.MADSEN_STATIC + scale.MADSEN_APPENDIX + scale.MADSEN_ABLATION}
    for c in scale.PLAN:
        p = published.get((c.unit, c.op))
        need = p.solved_at if p is not None and p.solved_at else scale.PaperProtocol.steps
        assert c.steps >= need, c
    assert {(p.unit, p.op) for p in scale.MADSEN_STATIC + scale.MADSEN_ABLATION} <= {(c.unit, c.op) for c in scale.PLAN}


def test_the_ablation_units_are_the_nmu_without_its_regulariser_or_its_clip_and_change_the_training():
    """Each ablation variant differs from the NAU→NMU cell in exactly what its label says, and a few steps of
    training tell them apart when the regulariser acts from step 0; the clip and the forward clamp are told apart on
    weights set outside their ranges (a short run need not push any weight out: that depends on rounding)."""
    base, no_reg = scale.PAPER_UNITS["NAU→NMU"], scale.ABLATION_UNITS["NAU→NMU, no R_bias"]
    no_clip, neither = scale.ABLATION_UNITS["NAU→NMU, no W-clamp"], scale.ABLATION_UNITS["NAU→NMU, no R_bias, no W-clamp"]
    assert (no_reg.first, no_reg.second, no_reg.reg()) == (base.first, base.second, None)
    assert no_clip.reg() == base.reg() and neither.reg() is None
    proto = scale.PaperProtocol(in_dim=6)
    for unit in (no_clip, neither):
        model = unit.factory(proto)()
        assert [layer.bounds for layer in model] == ["forward", "forward"]
    assert [layer.bounds for layer in base.factory(proto)()] == ["clip", "clip"]
    for label in scale.ALL_UNITS:  # file names name the unit back
        block = scale.Block(label, "mul", (0, 1))
        assert scale.unit_label(block.name.rsplit("_", 2)[0]) == label and " " not in block.name and "," not in block.name
    # the regulariser changes the training (λ from step 0 so that it acts within the run)
    data = FreshSamples(partial(proto.task, "mul"), batch_size=16, eval_size=50)
    finals = {}
    for label, unit in (("base", base), ("no R_bias", no_reg)):
        reg = None if unit.reg() is None else Warmup(10.0, 0, 1)
        result = nalu.train(unit.factory(proto), data, [0], steps=20, lr=0.05, reg=reg, eval_every=10, progress=False)
        finals[label] = [p.detach().clone() for p in result.model.parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(finals["base"], finals["no R_bias"]))
    # the clip and the forward clamp, on weights set outside their ranges (no dependence on where training goes)
    x, target = proto.task("mul", 0).sample(32, "interpolation", np.random.default_rng(0))
    outside = {"nau": (1.5, -1.25), "nmu": (1.5, -0.5)}
    models = {"clip": base.factory(proto)(), "forward": no_clip.factory(proto)()}
    models["forward"].load_state_dict(models["clip"].state_dict())  # the same weights in both
    for model in models.values():
        with torch.no_grad():
            for layer, (high, low) in zip(model, outside.values()):
                layer.W[0, 0], layer.W[0, 1] = high, low
        for layer in model:  # what the trainer calls after each optimiser step
            layer.clamp_weights_()
    nau, nmu = models["clip"]
    assert (nau.W[0, 0].item(), nau.W[0, 1].item(), nmu.W[0, 0].item(), nmu.W[0, 1].item()) == (1.0, -1.0, 1.0, 0.0)
    free_nau, free_nmu = models["forward"]
    assert (free_nau.W[0, 0].item(), free_nau.W[0, 1].item()) == (1.5, -1.25)  # the parameter stays free ...
    assert (free_nmu.W[0, 0].item(), free_nmu.W[0, 1].item()) == (1.5, -0.5)
    # ... and the forward pass multiplies by the clamped weight: the same bits as the clipped model's
    assert torch.equal(models["forward"](x), models["clip"](x))
    # the two differ in training: a weight outside its range gets no gradient through the clamp
    for model in models.values():
        torch.nn.functional.mse_loss(model(x), target).backward()
    assert free_nau.W.grad[0, :2].eq(0).all() and free_nmu.W.grad[0, :2].eq(0).all()
    assert nau.W.grad[0, :2].ne(0).any() or nmu.W.grad[0, :2].ne(0).any()


def test_plan_status_counts_finished_running_and_left(tmp_path):
    out = tmp_path / "paper"
    (out / "blocks").mkdir(parents=True)
    c = scale.PLAN[0]
    rows = [dict(unit=c.unit, op=c.op, seed=s, steps=c.steps, success=True, solved_at=10, best_step=10, test_mse=0.0,
                 test_output_finite=True, threshold=1.0, sparsity_error=0.0, diverged=False)
            for s in range(scale.PLAN_SEEDS)]
    pd.DataFrame(rows, columns=scale.COLUMNS).to_csv(out / "static.csv", index=False)
    status = scale.plan_status(out).set_index(["unit", "op"])
    assert status.loc[(c.unit, c.op), "status"] == "finished" and status.loc[(c.unit, c.op), "seed_steps_left"] == 0
    other = scale.PLAN[1]
    assert status.loc[(other.unit, other.op), "status"] == "left"
    assert status.loc[(other.unit, other.op), "seed_steps_left"] == scale.PLAN_SEEDS * other.steps


def test_plan_jobs_are_the_unfinished_planned_cells_in_order_each_at_its_budget(tmp_path):
    out = tmp_path / "paper"
    (out / "blocks").mkdir(parents=True)
    first = scale.PLAN[0]
    rows = [dict(unit=first.unit, op=first.op, seed=s, steps=first.steps, success=True, solved_at=10, best_step=10,
                 test_mse=0.0, test_output_finite=True, threshold=1.0, sparsity_error=0.0, diverged=False)
            for s in range(scale.PLAN_SEEDS)]
    pd.DataFrame(rows, columns=scale.COLUMNS).to_csv(out / "static.csv", index=False)
    jobs = scale.plan_jobs(out)
    expected = [c for c in scale.PLAN[1:] if c.unit in scale.ALL_UNITS]
    assert [(b.unit, b.op, p.steps) for b, p in jobs] == [(c.unit, c.op, c.steps) for c in expected]
    assert all(b.seeds == tuple(range(scale.PLAN_SEEDS)) for b, _ in jobs)


def test_jobs_of_different_budgets_run_together_each_to_its_own_budget(tmp_path):
    short, long = PROTO, scale.PaperProtocol(steps=80, eval_every=10, eval_size=200, in_dim=20)
    jobs = [(scale.Block("NAU", "add", (0, 1)), short), (scale.Block("NAU", "add", (0, 1)), long)]
    scale.run_jobs(jobs, tmp_path / "both", engine="inline", progress=False)
    scale.run([jobs[0][0]], short, tmp_path / "alone", engine="inline", progress=False)
    both = table(tmp_path / "both")
    assert sorted(set(both.steps)) == [50, 80]
    pd.testing.assert_frame_equal(both[both.steps == 50].reset_index(drop=True), table(tmp_path / "alone"))
    with pytest.raises(TypeError, match="PaperProtocol"):
        scale.run_jobs([(jobs[0][0], 50)], tmp_path / "bad", engine="inline", progress=False)


def test_paper_sparsity_is_the_metrics_formula_for_units_and_for_the_linear_baseline():
    # (a) exact: the same computation (nalu.metrics' formula) over the units' or the layers' weights
    import numpy as np
    import torch

    import nalu
    from nalu.metrics import weights_sparsity_error
    from nalu.models import two_layer
    from nalu.units import Linear

    for first in ("nau", "linear"):
        model = nalu.stack_models([nalu.build(lambda: two_layer(first, None, 6, 2, 1), s) for s in range(3)])
        with torch.no_grad():
            got = scale.paper_sparsity(model)
            ws = ([m.W for m in model.modules() if isinstance(m, Linear)] if first == "linear"
                  else nalu.effective_weights(model))
            by_hand = np.max([np.minimum(np.abs(w.numpy()), np.abs(1 - np.abs(w.numpy()))).max(axis=(-2, -1))
                              for w in ws], axis=0)
            assert got.shape == (3,) and np.array_equal(got, by_hand)
            assert np.array_equal(got, weights_sparsity_error(ws))


@pytest.mark.parametrize("argv, message", [
    (["--steps", "0"], "--steps must be positive, got 0"),
    (["--block-size", "0"], "--block-size must be positive, got 0"),
    (["--seeds", "5-2"], "seeds '5-2': the range '5-2' runs backwards; write it low-high, e.g. 2-5"),
    (["--seeds", "0-3,2"], "seeds '0-3,2' name 2 more than once"),
    (["--seeds", ","], "names no seed"),
    (["--cells", "NAU:pow"], "unknown operation 'pow'"),
    (["--cells", "bogus"], "cell 'bogus': write UNIT:OP"),
])
def test_the_command_line_refuses_bad_values_before_running_anything(tmp_path, capsys, argv, message):
    """A bad value is a usage error naming it, given before any block starts; nothing is written."""
    with pytest.raises(SystemExit) as exit_:
        scale.main(["--engine", "inline", "--out", str(tmp_path), *argv])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
