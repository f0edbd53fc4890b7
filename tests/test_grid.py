"""The benchmark grid (nalu_lab.grid): cells, seeds, caching, protocols per unit, the process pool, errors.

Equality kinds (tests/tolerances.py): (a) exact throughout: the same jobs in one process or in a
pool, grouped or not, are the same computations.
"""

import json

import numpy as np
import pandas as pd
import pytest

import nalu
from nalu_lab import grid
from nalu_lab.grid import BENCHMARK_UNITS, GridProtocol, run_grid, run_unit, split_by_op

NAU = next(u for u in BENCHMARK_UNITS if u.label == "NAU")


def test_run_unit_gives_one_row_per_cell_and_seed_and_caches(tmp_path, monkeypatch):
    proto = GridProtocol("signed", steps=30, n_seeds=2, eval_size=50, ops=("add", "mul"), ranges=("[1,2]→[2,6]",))
    first = run_unit(NAU, proto, cache_dir=tmp_path)
    assert len(first) == 2 * 2
    assert set(first.op) == {"add", "mul"} and set(first.replicate) == {0, 1}
    files = list(tmp_path.glob("*.json"))
    assert len(files) == 1
    stored = json.loads(files[0].read_text())
    assert stored["proto"]["steps"] == 30
    # the cached copy is returned as is: tamper with it and the tampered value comes back
    stored["rows"][0]["test_mse"] = -1.0
    files[0].write_text(json.dumps(stored))
    again = run_unit(NAU, proto, cache_dir=tmp_path)
    assert again.test_mse.iloc[0] == -1.0
    # a different configuration is a different cache entry
    run_unit(NAU, GridProtocol("signed", steps=31, n_seeds=2, eval_size=50, ops=("add",), ranges=("[1,2]→[2,6]",)),
             cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 2
    # and so is the same configuration under changed package code
    monkeypatch.setattr(grid, "_code_fingerprint", lambda: "changed code")
    again = run_unit(NAU, proto, cache_dir=tmp_path)
    assert again.test_mse.iloc[0] != -1.0 and len(list(tmp_path.glob("*.json"))) == 3


def test_static_family_uses_two_layers_and_a_random_offset_per_seed():
    spec = next(u for u in BENCHMARK_UNITS if u.label == "NAU→NMU")
    rows = run_unit(spec, GridProtocol("static", steps=5, n_seeds=2, eval_size=20, ops=("mul",)))
    assert len(rows) == 2 and (rows.family == "static").all()
    model = spec.factory(100, 2, 1, two_layers=True)()
    assert isinstance(model[0], nalu.NAU) and isinstance(model[1], nalu.NMU)


def test_bad_protocol_raises_value_error_naming_the_value():
    with pytest.raises(ValueError, match="modulo"):
        run_unit(NAU, GridProtocol("signed", steps=5, n_seeds=1, ops=("modulo",)))
    with pytest.raises(ValueError, match="dynamic"):
        run_unit(NAU, GridProtocol("dynamic", steps=5, n_seeds=1))


def spec(label):
    return next(u for u in BENCHMARK_UNITS if u.label == label)


def test_each_unit_gets_its_own_papers_protocol():
    nau, nmu, npu, inalu = spec("NAU"), spec("NMU"), spec("RealNPU"), spec("iNALU")
    # Madsen's NAU schedule holds as published at the reference budget, and scales with the budget
    assert nau.reg(50_000) == nalu.Warmup(0.01, 5_000, 50_000)
    assert nau.reg(500) == nalu.Warmup(0.01, 50, 500)
    assert nmu.reg(50_000) == nalu.Warmup(10.0, 20_000, 35_000)
    assert npu.lr == 5e-3 and npu.reg(50_000).scale == 1e-5
    assert inalu.grad_clip == 0.1
    assert spec("NALU (shared)").reg(1000) is None
    assert all(u.protocol for u in BENCHMARK_UNITS)


def test_the_protocol_reaches_the_trainer(monkeypatch):
    seen = []

    def fake_train_together(learners, data, seeds, **kw):
        seen.extend(learners)
        raise RuntimeError("stop")

    monkeypatch.setattr(grid, "train_together", fake_train_together)
    with pytest.raises(RuntimeError, match="stop"):
        run_unit(spec("RealNPU"), GridProtocol("signed", steps=1000, n_seeds=1, ops=("mul",)))
    assert seen[0].lr == 5e-3 and seen[0].reg == nalu.Warmup(1e-5, 0, 400) and seen[0].grad_clip is None
    seen.clear()
    with pytest.raises(RuntimeError, match="stop"):
        grid.run_units([spec("NAU"), spec("iNALU")], GridProtocol("signed", steps=50_000, n_seeds=1, ops=("mul",)))
    assert [(u.lr, u.reg, u.grad_clip) for u in seen] == [(1e-3, nalu.Warmup(0.01, 5_000, 50_000), None),
                                                          (1e-3, nalu.Warmup(1.0, 20_000, 35_000), 0.1)]


def test_a_cells_seeds_do_not_depend_on_the_subset_a_job_runs():
    proto = GridProtocol("static", steps=20, n_seeds=2, eval_size=50)
    whole = run_unit(spec("NAU"), proto)
    part = pd.concat([run_unit(spec("NAU"), p) for p in split_by_op(proto)[:2]], ignore_index=True)
    merged = part.merge(whole, on=["op", "replicate"], suffixes=("", "_whole"))
    assert len(merged) == 4
    assert np.allclose(merged.test_mse, merged.test_mse_whole, rtol=1e-5)


def test_the_process_pool_gives_the_rows_of_the_plain_loop(tmp_path):
    jobs = [(spec("NAU"), p) for p in split_by_op(GridProtocol("signed", steps=20, n_seeds=2, eval_size=50,
                                                                 ops=("add", "sub"), ranges=("[1,2]→[2,6]",)))]
    plain = run_grid(jobs, workers=1)
    pooled = run_grid(jobs, cache_dir=tmp_path, workers=2)
    assert len(list(tmp_path.glob("*.json"))) == 2
    for a, b in zip(plain, pooled):
        assert list(a.op) == list(b.op)
        assert np.allclose(a.test_mse, b.test_mse, rtol=1e-6)
    with pytest.raises(ValueError, match="workers"):
        run_grid(jobs, workers=0)
    with pytest.raises(ValueError, match="engine must be one of 'ray', 'processes', 'inline', got 'threads'"):
        run_grid(jobs, engine="threads")


def test_ray_gives_the_rows_of_the_plain_loop(tmp_path):
    """The engine the small tables' long runs use by default (a local instance here; a cluster the same way)."""
    ray = pytest.importorskip("ray")
    jobs = [(spec("NAU"), p) for p in split_by_op(GridProtocol("signed", steps=20, n_seeds=2, eval_size=50,
                                                                 ops=("add", "sub"), ranges=("[1,2]→[2,6]",)))]
    plain = run_grid(jobs, workers=1, engine="inline")
    try:
        rayed = run_grid(jobs, cache_dir=tmp_path, workers=2, engine="ray")
    finally:
        ray.shutdown()
    assert len(list(tmp_path.glob("*.json"))) == 2
    for a, b in zip(plain, rayed):  # one thread in each Ray worker, the test's own threads here: float32 rounding apart
        assert list(a.op) == list(b.op) and list(a.replicate) == list(b.replicate)
        assert np.allclose(a.test_mse, b.test_mse, rtol=1e-6)


def test_units_side_by_side_give_the_rows_of_each_unit_alone(tmp_path):
    proto = GridProtocol("static", steps=30, n_seeds=2, eval_size=50, ops=("add", "mul"))
    specs = [spec("NAU"), spec("NALU (shared)"), spec("iNALU"), spec("Linear")]
    alone = [run_unit(u, proto) for u in specs]
    together = grid.run_units(specs, proto, cache_dir=tmp_path)
    for a, b in zip(alone, together):
        pd.testing.assert_frame_equal(a, b)
    assert len(list(tmp_path.glob("*.json"))) == 4  # each unit cached on its own
    # a cached unit is read, the others trained: same rows again
    for a, b in zip(alone, grid.run_units(specs, proto, cache_dir=tmp_path)):
        pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(together[0].test_mse, together[1].test_mse)


def test_the_grid_groups_jobs_of_one_protocol_and_keeps_the_plain_rows(tmp_path):
    static = GridProtocol("static", steps=20, n_seeds=1, eval_size=50, ops=("sub",))
    signed = GridProtocol("signed", steps=20, n_seeds=1, eval_size=50, ops=("mul",), ranges=("[1,2]→[2,6]",))
    jobs = [(spec(u), static) for u in ("Linear", "NAC", "NAU", "NMU", "NALU (shared)")] + [(spec("NAU"), signed)]
    groups = grid._side_by_side(list(range(len(jobs))), jobs, 3)
    assert sorted(map(sorted, groups)) == [[0, 2, 4], [1, 3], [5]]
    assert grid._side_by_side(list(range(len(jobs))), jobs, 1) == [[i] for i in range(len(jobs))]
    plain = run_grid(jobs, workers=1, side_by_side=1)
    grouped = run_grid(jobs, cache_dir=tmp_path, workers=2, side_by_side=3)
    for a, b in zip(plain, grouped):
        pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ValueError, match="side_by_side"):
        run_grid(jobs, side_by_side=0)
