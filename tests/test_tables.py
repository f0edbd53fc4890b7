"""The successors' small tables as long runs (nalu_lab.tables): Madsen & Johansen's ten-parameter
function (nalu.ten_parameter_function) and the NALM benchmark's nine ranges.

Equality kinds (tests/tolerances.py): (a) exact for the targets of small integers and for a run read
back from its files; (b) the threshold against the ε-perturbed network's MSE, two float64
computations of one quantity in a different order (relative 1e-9, far above float64's 2·n·u for
sums of 10⁴ terms, far below the 2ε ≈ 2e-5 a wrong perturbation would change it by).
"""

import numpy as np
import pandas as pd
import pytest
import torch

import nalu
from nalu.models import two_layer
from nalu_lab import grid, named_twice, tables
from nalu_lab.tables import TEN_PARAMETER_UNITS, load_run, nalm_protocol, run_nalm, run_ten_parameter, ten_parameter_protocol


def test_the_ten_parameter_function_is_the_product_of_the_sum_of_four_and_the_sum_of_two():
    task = nalu.ten_parameter_function()
    x = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0], [2.0, 0.5, 1.5, 1.0]])
    assert task.targets(x).squeeze(-1).tolist() == [8.0, 30.0, 12.5]
    assert task.in_dim == 4 and task.splits["interpolation"].intervals[0].lo == 1.0
    assert task.splits["extrapolation"].intervals[0].hi == 6.0


@pytest.mark.parametrize("spec", TEN_PARAMETER_UNITS, ids=lambda s: s.label)
def test_each_model_has_the_ten_weights_of_the_title(spec):
    """4·2 + 2·1 weights (the NAC's and the NALU's Ŵ; their M̂ and the NALU's gate come besides)."""
    model = spec.factory(4, 2, 1, True)()
    weights = sum(p.numel() for name, p in model.named_parameters() if name.split(".")[-1] in ("W", "W_hat"))
    assert weights == 10
    assert model(torch.ones(3, 4)).shape == (3, 1)


def test_the_threshold_is_the_mse_of_the_exact_network_with_its_first_layer_perturbed_by_eps():
    """Madsen & Johansen's bar: L(W₁^ε, W₂*) on the test range — the NAU→NMU network with its first
    layer's ones moved to 1 − ε and zeros to ε, the second layer exact."""
    eps = 1e-5
    task = nalu.ten_parameter_function()
    x = torch.from_numpy(task.inputs(10_000, "extrapolation", nalu.rng_for(0))).double()
    net = two_layer("nau", "nmu", 4, 2, 1).double()
    with torch.no_grad():
        exact = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0]], dtype=torch.float64)
        net[0].W.copy_(exact * (1 - 2 * eps) + eps)
        net[1].W.fill_(1.0)
        perturbed = float(((net(x) - task.targets(x)) ** 2).mean())
        net[0].W.copy_(exact)
        assert float(((net(x) - task.targets(x)) ** 2).mean()) == 0.0  # the exact network is exact
    assert task.success_threshold(x, eps) == pytest.approx(perturbed, rel=1e-9)
    assert perturbed > 0


def test_the_protocol_evaluates_every_thousand_steps_and_refuses_bad_budgets():
    assert ten_parameter_protocol().n_evals == 200 and ten_parameter_protocol().steps == 200_000
    assert ten_parameter_protocol(50_000, 25).n_evals == 50
    assert ten_parameter_protocol(100, 3).n_evals == 2
    for bad in (0, -5, 2.5, True):
        with pytest.raises(ValueError, match="steps must be a positive integer"):
            ten_parameter_protocol(bad)
    with pytest.raises(ValueError, match="n_seeds must be a positive integer"):
        ten_parameter_protocol(1_000, 0)


def test_a_run_writes_a_row_per_model_and_seed_with_its_provenance_and_reads_back(tmp_path):
    table = run_ten_parameter(tmp_path, steps=60, n_seeds=3, workers=1, engine="inline")
    assert sorted(table.unit.unique()) == sorted(s.label for s in TEN_PARAMETER_UNITS)
    assert len(table) == 3 * len(TEN_PARAMETER_UNITS) and set(table.seed) == {0, 1, 2}
    assert (table.steps == 60).all() and table.threshold.gt(0).all()
    assert tables.has_run("ten_parameter", tmp_path) and not tables.has_run("gating", tmp_path)
    read, meta = load_run("ten_parameter", tmp_path)
    pd.testing.assert_frame_equal(read, table, check_dtype=False)
    assert meta["protocol"]["steps"] == 60 and meta["protocol"]["seeds"] == 3
    assert meta["command"] == "python -m nalu_lab.tables ten-parameter --seeds 3 --steps 60"
    assert meta["jobs_from_cache"] == 0 and meta["jobs"] == len(TEN_PARAMETER_UNITS)
    assert set(meta["units"]) == {s.label for s in TEN_PARAMETER_UNITS}
    # a second call reads the cached models rather than training them again: the same rows
    again = run_ten_parameter(tmp_path, steps=60, n_seeds=3, workers=1, engine="inline")
    pd.testing.assert_frame_equal(again, table)
    assert load_run("ten_parameter", tmp_path)[1]["jobs_from_cache"] == len(TEN_PARAMETER_UNITS)


def test_a_missing_run_names_the_command_that_produces_it(tmp_path):
    assert not tables.has_run("ten_parameter", tmp_path)
    with pytest.raises(FileNotFoundError, match="python -m nalu_lab.tables ten-parameter"):
        load_run("ten_parameter", tmp_path)


def test_the_three_models_learn_different_functions_on_the_same_batches():
    """The rows are three models, not one model thrice: after the same short run their outputs differ."""
    proto = ten_parameter_protocol(50, 2)
    rows = grid.run_grid([(s, proto) for s in TEN_PARAMETER_UNITS], workers=1, side_by_side=1)
    mses = [tuple(np.round(r.test_mse.to_numpy(), 12)) for r in rows]
    assert len(set(mses)) == 3


def test_the_nalm_family_has_the_benchmarks_nine_ranges_and_holds_the_chapters_four_as_they_were():
    assert len(grid.NALM_RANGES) == 9
    assert set(grid.SIGNED_RANGES) < set(grid.NALM_RANGES)
    for name, ranges in grid.SIGNED_RANGES.items():
        assert grid.NALM_RANGES[name] == ranges
    # the chapter's signed cells keep their order, hence their seeds (cell index × 1000 + replicate)
    assert [r for _, r in grid._all_cells("signed")][::4] == ["[1,2]→[2,6]", "[−2,2]→±[2,6]", "[−2,−1]→[−6,−2]",
                                                             "[0.1,0.2]→[0.2,2]"]
    task = grid._task("nalm", "mul", "[−20,−10]→[−40,−20]", seed=0)
    x = torch.from_numpy(task.inputs(500, "extrapolation", nalu.rng_for(0)))
    assert x.min() >= -40 and x.max() <= -20 and task.in_dim == 2


def test_a_nalm_run_trains_one_layer_per_unit_range_and_operation(tmp_path):
    units = tuple(u for u in grid.BENCHMARK_UNITS if u.label in ("NAU", "NMU"))
    ranges = ("[10,20]→[20,40]", "[−0.2,−0.1]→[−2,−0.2]")
    table = run_nalm(tmp_path, steps=40, n_seeds=2, units=units, ranges=ranges, workers=1, engine="inline")
    assert len(table) == len(units) * len(ranges) * len(grid.SIGNED_OPS) * 2
    assert set(table.range) == set(ranges) and set(table.op) == set(grid.SIGNED_OPS)
    meta = load_run("nalm", tmp_path)[1]
    assert meta["protocol"]["ranges"] == list(ranges) and meta["jobs"] == 4
    assert meta["command"].endswith("--ranges '" + ",".join(ranges) + "'")  # the command that continues it
    with pytest.raises(ValueError, match="unknown range"):
        nalm_protocol("[0,1]→[1,2]")


def test_a_chapter_reads_the_finished_nalm_jobs_from_their_archive_without_training(tmp_path, monkeypatch):
    from nalu_lab.tables import job_archive, nalm_jobs

    units = tuple(u for u in grid.BENCHMARK_UNITS if u.label == "NAU")
    ranges = ("[1,2]→[2,6]",)
    table = run_nalm(tmp_path, steps=30, n_seeds=2, units=units, ranges=ranges, workers=1, engine="inline")

    def no_training(*args, **kwargs):
        raise AssertionError("a stored job was trained again")

    monkeypatch.setattr(grid, "train_together", no_training)
    read = grid.run_grid(nalm_jobs(ranges, steps=30, n_seeds=2, units=units), cache_dir=job_archive("nalm", tmp_path),
                         workers=1, engine="inline")
    pd.testing.assert_frame_equal(pd.concat(read, ignore_index=True).rename(columns={"replicate": "seed"}), table)
    # the finished jobs and the missing ones of a larger run
    from nalu_lab.tables import finished_jobs

    more = nalm_jobs(("[1,2]→[2,6]", "[10,20]→[20,40]"), steps=30, n_seeds=2, units=units)
    rows, missing = finished_jobs("nalm", more, tmp_path)
    assert missing == more[1:] and set(rows.range) == {"[1,2]→[2,6]"}
    pd.testing.assert_frame_equal(rows.drop(columns="code"), table)


def test_the_gating_models_differ_in_their_second_layer_and_the_gated_units_schedule_is_fixed_in_steps():
    from nalu_lab.tables import GATING_UNITS, gating_protocol

    models = [spec.factory(100, 2, 1, True)() for spec in GATING_UNITS]
    assert [type(m[1]).__name__ for m in models] == ["NALU", "NALU", "GatedNAUNMU"]
    assert models[0][1].shared and not models[1][1].shared
    gated = GATING_UNITS[2]
    assert gated.reg(200_000)(199_999) == 0.0 and gated.reg(5_000_000)(1_500_000) == pytest.approx(5.0)
    assert gated.reg(200_000) == gated.reg(5_000_000)
    assert gating_protocol(("add",), 200_000).n_evals == 200
    with pytest.raises(ValueError, match="'add' and 'mul'"):
        gating_protocol(("sub",))


def test_a_gating_run_writes_its_cells(tmp_path):
    from nalu_lab.tables import GATING_UNITS, run_gating

    table = run_gating(tmp_path, ops=("add",), steps=30, n_seeds=2, workers=1, engine="inline")
    assert set(table.unit) == {s.label for s in GATING_UNITS} and set(table.op) == {"add"} and len(table) == 6
    assert load_run("gating", tmp_path)[1]["command"] == "python -m nalu_lab.tables gating --ops add --seeds 2 --steps 30"


def test_a_job_archive_outlives_a_code_change_and_records_the_code_that_ran_each_job(tmp_path, monkeypatch):
    """A plain cache recomputes after any change to the code; the long runs' archive keeps finished jobs
    (keyed by spec and protocol) and says which code produced them."""
    spec, proto = TEN_PARAMETER_UNITS[2], ten_parameter_protocol(30, 2)
    archive = grid.JobArchive(tmp_path / "jobs")
    first = grid.run_grid([(spec, proto)], cache_dir=archive, workers=1, engine="inline")[0]
    assert grid.stored_job(spec, proto, archive)["code"] == nalu.code_version()
    monkeypatch.setattr(grid, "_code_fingerprint", lambda: "another-code")
    assert grid.stored_job(spec, proto, archive) is not None  # still found
    assert grid._path(spec, proto, tmp_path / "cache") != grid._path(spec, proto, archive)
    calls = []
    monkeypatch.setattr(grid, "train_together", lambda *a, **k: calls.append(1))
    again = grid.run_grid([(spec, proto)], cache_dir=archive, workers=1, engine="inline")[0]
    assert not calls
    pd.testing.assert_frame_equal(again, first)


def test_a_long_archived_job_resumes_from_its_checkpoint_to_the_uninterrupted_rows(tmp_path):
    """(a) exact: a resumed run repeats the same computations from the saved state (nalu.Checkpoint)."""
    spec, proto = TEN_PARAMETER_UNITS[2], ten_parameter_protocol(150, 2)
    whole = grid.run_units([spec], proto, cache_dir=grid.JobArchive(tmp_path / "whole"))[0]
    archive = grid.JobArchive(tmp_path / "resumed")
    with pytest.raises(nalu.TrainingPaused):
        grid.run_units([spec], proto, cache_dir=archive, stop_after_seconds=0.0)
    running = grid.running_checkpoint(spec, proto, archive).path
    assert running.exists() and grid.stored_job(spec, proto, archive) is None
    resumed = grid.run_units([spec], proto, cache_dir=archive)[0]
    pd.testing.assert_frame_equal(resumed, whole)
    assert not running.exists() and grid.stored_job(spec, proto, archive) is not None


def test_an_archived_job_trains_as_it_does_beside_others(tmp_path):
    """(a) exact: one job alone (resumable ``train``) and the same job beside another (``train_together``)
    are the same computations for its model."""
    proto = ten_parameter_protocol(40, 2)
    alone = grid.run_units([TEN_PARAMETER_UNITS[0]], proto, cache_dir=grid.JobArchive(tmp_path / "alone"))[0]
    beside = grid.run_units(list(TEN_PARAMETER_UNITS[:2]), proto, cache_dir=grid.JobArchive(tmp_path / "beside"))[0]
    pd.testing.assert_frame_equal(alone, beside)


def test_a_run_of_some_cells_keeps_the_committed_rows_of_the_others(tmp_path):
    from nalu_lab.tables import run_gating

    add = run_gating(tmp_path, ops=("add",), steps=30, n_seeds=2, workers=1, engine="inline")
    both = run_gating(tmp_path, ops=("mul",), steps=40, n_seeds=2, workers=1, engine="inline")
    assert set(both.op) == {"add", "mul"} and len(both) == 12
    pd.testing.assert_frame_equal(both[both.op == "add"].reset_index(drop=True), add)
    assert set(both[both.op == "mul"].steps) == {40}
    meta = load_run("gating", tmp_path)[1]
    assert meta["command"].endswith("--ops mul --seeds 2 --steps 40")
    assert [m["command"] for m in meta["earlier"]] == ["python -m nalu_lab.tables gating --ops add --seeds 2 --steps 30"]
    chain = tables.invocations(meta)  # newest first, each without a nested history
    assert [m["command"][-6:] for m in chain] == ["eps 40", "eps 30"] and not any("earlier" in m for m in chain)
    again = run_gating(tmp_path, ops=("add",), steps=50, n_seeds=2, workers=1, engine="inline")  # a cell run again replaces its rows
    assert set(again[again.op == "add"].steps) == {50} and set(again[again.op == "mul"].steps) == {40}
    assert len(again) == 12


def test_the_range_sweep_is_the_static_product_on_each_of_madsens_seven_ranges():
    """(a) exact: the sweep's [1,2] cell is the static table's × task (same offset, same ranges), and every
    cell draws its training inputs from its own interpolation range and tests on its extrapolation range."""
    from nalu_lab.tables import RANGE_PUBLISHED, range_protocol

    assert list(RANGE_PUBLISHED) == list(grid.MADSEN_RANGES) and len(grid.MADSEN_RANGES) == 7
    for index, (op, range_name) in enumerate(grid._all_cells("static_ranges")):
        task = grid._task("static_ranges", op, range_name, seed=index * 1000 + 3)
        interp, extrap = grid.MADSEN_RANGES[range_name]
        x, _ = task.sample(4000, "interpolation", np.random.default_rng(0))
        assert op == "mul" and task.in_dim == 100
        assert x.min() >= interp[0] and x.max() <= interp[1]
        lows = [lo for lo, _ in (extrap if isinstance(extrap, list) else [extrap])]
        assert task.splits["extrapolation"].intervals[0].lo == min(lows)
    seed = 4 * 1000 + 3  # the [1,2] cell's fourth replicate
    swept = grid._task("static_ranges", "mul", "[1,2]→[2,6]", seed=seed)
    static = nalu.static_arithmetic("mul", nalu.rng_for(seed, 1))
    assert repr(swept) == repr(static) and swept.offset == static.offset
    assert all(np.array_equal(getattr(swept, m), getattr(static, m)) for m in ("a_mask", "b_mask"))
    assert range_protocol("[0,1]→[1,5]").n_evals == 5_000 and range_protocol("[0,1]→[1,5]", 30_000).n_evals == 30
    with pytest.raises(ValueError, match=r"unknown range '\[0,2\]'"):
        range_protocol("[0,2]")


def test_a_range_sweep_run_writes_the_ranges_it_trained_and_keeps_the_others(tmp_path):
    from nalu_lab.tables import RANGE_UNIT, run_ranges

    first = run_ranges(tmp_path, steps=30, n_seeds=2, ranges=("[0,1]→[1,5]",), workers=1, engine="inline")
    assert set(first.unit) == {RANGE_UNIT.label} and set(first.range) == {"[0,1]→[1,5]"} and len(first) == 2
    both = run_ranges(tmp_path, steps=30, n_seeds=2, ranges=("[10,20]→[20,40]",), workers=1, engine="inline")
    assert set(both.range) == {"[0,1]→[1,5]", "[10,20]→[20,40]"} and len(both) == 4
    assert load_run("ranges", tmp_path)[1]["command"] == \
        "python -m nalu_lab.tables ranges --seeds 2 --steps 30 --ranges '[10,20]→[20,40]'"
    rows, missing = tables.finished_jobs("ranges", tables.range_jobs(steps=30, n_seeds=2), tmp_path)
    assert len(missing) == 5 and set(rows.range) == {"[0,1]→[1,5]", "[10,20]→[20,40]"}
    model = RANGE_UNIT.factory(100, 2, 1, True)()
    assert [type(layer).__name__ for layer in model] == ["NAU", "NMU"]
    assert RANGE_UNIT.reg(30)(1_500_000) == pytest.approx(5.0)  # the paper's schedule at every budget


def test_job_progress_says_which_jobs_are_finished_running_or_left(tmp_path):
    from nalu_lab.tables import RANGE_UNIT, job_progress, range_jobs

    jobs = range_jobs(("[0,1]→[1,5]", "[10,20]→[20,40]", "[1,2]→[2,6]"), steps=200, n_seeds=2)
    grid.run_grid(jobs[:1], cache_dir=tables.job_archive("ranges", tmp_path), workers=1, engine="inline")
    with pytest.raises(nalu.TrainingPaused):
        grid.run_units([RANGE_UNIT], jobs[1][1], cache_dir=tables.job_archive("ranges", tmp_path), stop_after_seconds=0.0)
    progress = job_progress("ranges", jobs, tmp_path)
    assert progress.status.tolist() == ["finished", "running", "left"]
    assert progress.ranges.tolist() == ["[0,1]→[1,5]", "[10,20]→[20,40]", "[1,2]→[2,6]"]
    paused = int(torch.load(grid.running_checkpoint(RANGE_UNIT, jobs[1][1], tables.job_archive("ranges", tmp_path)).path,
                            weights_only=False)["step"])
    assert 0 < paused < 200 and progress.step_reached.tolist() == [200, paused, 0]
    assert progress.seed_steps_left.tolist() == [0, 2 * (200 - paused), 2 * 200]


def test_the_current_rows_of_a_run_add_its_finished_jobs_to_the_committed_table(tmp_path):
    """(a) exact: a job kept in the archive before its invocation rewrote the table counts, in its cells'
    place; the committed table's other cells stay."""
    from nalu_lab.tables import GATING_UNITS, current_rows, gating_jobs, run_gating

    add = run_gating(tmp_path, ops=("add",), steps=30, n_seeds=2, workers=1, engine="inline")
    mul = gating_jobs(("mul",), 40, 2)
    pd.testing.assert_frame_equal(current_rows("gating", mul, tmp_path), add)
    grid.run_grid(mul[:1], cache_dir=tables.job_archive("gating", tmp_path), workers=1, engine="inline")  # one model of three finished
    rows = current_rows("gating", mul, tmp_path)
    assert len(rows) == 8 and set(rows[rows.op == "mul"].unit) == {GATING_UNITS[0].label}
    pd.testing.assert_frame_equal(rows[rows.op == "add"].reset_index(drop=True), add)
    assert current_rows("gating", mul, tmp_path / "none").empty


def test_a_list_of_ranges_is_cut_where_a_known_name_ends():
    """Range names hold commas ('[1,2]→[2,6]'), so the command line's list is read by name."""
    from nalu_lab.tables import parse_ranges

    assert parse_ranges("[1.1,1.2]→[1.2,6]", grid.MADSEN_RANGES) == ("[1.1,1.2]→[1.2,6]",)
    assert parse_ranges("[1,2]→[2,6],[−2,2]→±[2,6], [10,20]→[20,40]", grid.NALM_RANGES) == \
        ("[1,2]→[2,6]", "[−2,2]→±[2,6]", "[10,20]→[20,40]")
    with pytest.raises(ValueError, match=r"'\[1,3\]→\[3,9\]' is not a range"):
        parse_ranges("[1,2]→[2,6],[1,3]→[3,9]", grid.NALM_RANGES)
    with pytest.raises(ValueError, match="none given"):
        parse_ranges("", grid.NALM_RANGES)


def test_a_range_typed_in_ascii_or_by_its_training_range_names_the_same_range():
    """'-', '->' and '+-' stand for '−', '→' and '±'; 'U' and spaces are ignored; a training range alone
    names its pair (each training range appears once). Anything else is an error naming the choices."""
    from nalu_lab.tables import parse_ranges, range_name_in

    for spelling in ("[−2,2]→±[2,6]", "[-2,2]->+-[2,6]", "U[-2,2] -> +/-U[2,6]", "[-2,2]"):
        assert range_name_in(spelling, grid.NALM_RANGES) == "[−2,2]→±[2,6]", spelling
    assert range_name_in("[1.1, 1.2]", grid.MADSEN_RANGES) == "[1.1,1.2]→[1.2,6]"
    assert tables.range_protocol("[0,1]").ranges == ("[0,1]→[1,5]",)  # the job's identity keeps the true name
    assert parse_ranges("[-2,-1]->[-6,-2],[10,20]", grid.MADSEN_RANGES) == ("[−2,−1]→[−6,−2]", "[10,20]→[20,40]")
    for bad in ("[2,1]", "[1,2]→[2,7]", "[-2,2]->[2,6]", ""):
        with pytest.raises(ValueError, match="unknown range"):
            range_name_in(bad, grid.NALM_RANGES)
    with pytest.raises(ValueError, match="nothing to run"):
        tables.run_ranges(ranges=())


@pytest.mark.parametrize("argv, message", [
    (["nalm", "--steps", "0"], "--steps must be a positive integer, got 0"),
    (["ranges", "--seeds", "-3"], "--seeds must be a positive integer, got -3"),
    (["nalm", "--ranges", "[1,3]"], "'[1,3]' is not a range"),
    (["gating", "--ranges", "[1,2]"], "--ranges applies to the nalm and ranges tables"),
    (["gating", "--ops", "div"], "--ops takes add, mul or add,mul; got 'div'"),
    (["gating", "--ops", "mul,mul"], "--ops takes add, mul or add,mul; got 'mul,mul'"),
    (["ranges", "--ranges", "[1,2],[1,2]->[2,6]"], "name [1,2]→[2,6] more than once"),
])
def test_the_command_line_refuses_bad_values_before_running_anything(tmp_path, capsys, argv, message):
    """A bad value is a usage error naming it (not a default in its place, not a traceback), and nothing is written."""
    with pytest.raises(SystemExit) as exit_:
        tables.main([*argv, "--out", str(tmp_path)])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_named_twice_lists_each_repeated_item_once_in_first_appearance_order():
    assert named_twice(["b", "a", "b", "c", "a", "b"]) == ["b", "a"]
    assert named_twice([3, 1, 2]) == []
    assert named_twice(iter([(1, "x"), (1, "x")])) == [(1, "x")]  # any iterable, read once


def test_a_job_or_a_cell_named_twice_is_refused_before_anything_trains(tmp_path):
    """Twice the same job would train the same seeds into one checkpoint (two workers writing one file), and
    a protocol naming an operation twice would be a new job of the same cells: both are refused."""
    with pytest.raises(ValueError, match=r"ops \('mul', 'mul'\) names mul more than once"):
        tables.gating_protocol(("mul", "mul"), steps=10, n_seeds=2)
    with pytest.raises(ValueError, match=r"ranges .* names \[1,2\]→\[2,6\] more than once"):
        grid.GridProtocol("nalm", steps=10, n_seeds=2, ranges=("[1,2]→[2,6]", "[1,2]→[2,6]"))
    jobs = tables.range_jobs(("[1,2]→[2,6]", "[1,2]→[2,6]"), steps=10, n_seeds=2)
    with pytest.raises(ValueError, match=r"jobs list \['NAU→NMU'\] more than once"):
        grid.run_grid(jobs, cache_dir=tmp_path, engine="inline")
    assert not any(tmp_path.iterdir())


def test_table_lock_makes_a_second_holder_wait_until_the_first_releases(tmp_path):
    """Two runs of one table that finish together merge their rows one after the other, not both from
    the same old file; the lock is what orders them (another table's lock is independent)."""
    import threading

    if tables.fcntl is None:
        pytest.skip("no fcntl here (Windows): the table lock is a no-op")
    order, first_holds, release = [], threading.Event(), threading.Event()

    def first():
        with tables.table_lock("ranges", tmp_path):
            order.append("first in")
            first_holds.set()
            release.wait(5)
            order.append("first out")

    def second():
        first_holds.wait(5)
        with tables.table_lock("ranges", tmp_path):
            order.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    first_holds.wait(5)
    with tables.table_lock("gating", tmp_path):  # another table: not blocked by the ranges' lock
        order.append("other table")
    release.set()
    for t in threads:
        t.join(10)
    assert order == ["first in", "other table", "first out", "second in"], order


def test_every_committed_job_is_still_found_by_the_code_that_reads_it():
    """The finished jobs committed with the book (hours of training each) are found by a key over the
    unit's spec and the protocol, the spec's words included. Editing a UnitSpec (its ``protocol`` text
    too), adding a field to it or to GridProtocol, or changing the key, would orphan them silently (the
    next run would train them again): this names the job and what moved."""
    import json
    from dataclasses import asdict, fields
    from pathlib import Path

    root = Path(tables.DEFAULT_DIR)
    if not root.is_absolute():
        root = Path(__file__).resolve().parents[1] / root
    files = sorted((root / "jobs").glob("*/*.json"))
    assert files, f"no committed jobs under {root / 'jobs'}"
    units_of = {"nalm": grid.BENCHMARK_UNITS, "gating": tables.GATING_UNITS, "ten_parameter": TEN_PARAMETER_UNITS,
                "ranges": (tables.RANGE_UNIT,)}  # (a label may name another model in another table)
    assert {p.parent.name for p in files} <= set(units_of), f"a table this test does not know: {files}"
    proto_fields = {f.name for f in fields(grid.GridProtocol)}
    for path in files:
        job = json.loads(path.read_text())
        unit = next((u for u in units_of[path.parent.name] if u.label == job["spec"]["label"]), None)
        assert unit is not None, f"{path.name}: no current unit is labelled {job['spec']['label']!r}"
        moved = {k: (v, job["spec"].get(k, "(absent)")) for k, v in asdict(unit).items() if job["spec"].get(k) != v}
        assert not moved, (f"{path.name}: {unit.label}'s spec changed since the job was stored (now, then): {moved}; "
                           "change it back, or retrain the job (a new spec is a new job)")
        assert set(job["proto"]) == proto_fields, f"{path.name}: GridProtocol's fields changed: {proto_fields ^ set(job['proto'])}"
        proto = grid.GridProtocol(**{k: tuple(v) if isinstance(v, list) else v for k, v in job["proto"].items()})
        archive = tables.job_archive(path.parent.name, root)
        assert grid.stored_job(unit, proto, archive) is not None, f"{path.name} is not where its job's key points"
