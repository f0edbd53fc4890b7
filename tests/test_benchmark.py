"""The benchmark grid runner (cells, caching, errors) and the throughput benchmark's pieces."""

import json

import pytest

import nalu
from nalu import bench
from nalu.benchmark import BENCHMARK_UNITS, Protocol, run_unit

NAU = next(u for u in BENCHMARK_UNITS if u.label == "NAU")


def test_run_unit_gives_one_row_per_cell_and_seed_and_caches(tmp_path):
    proto = Protocol("signed", steps=30, n_seeds=2, eval_size=50, ops=("add", "mul"), ranges=("[1,2]→[2,6]",))
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
    run_unit(NAU, Protocol("signed", steps=31, n_seeds=2, eval_size=50, ops=("add",), ranges=("[1,2]→[2,6]",)),
             cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 2


def test_static_family_uses_two_layers_and_a_random_offset_per_seed():
    spec = next(u for u in BENCHMARK_UNITS if u.label == "NAU→NMU")
    rows = run_unit(spec, Protocol("static", steps=5, n_seeds=2, eval_size=20, ops=("mul",)))
    assert len(rows) == 2 and (rows.family == "static").all()
    model = spec.factory(100, 2, 1, two_layers=True)()
    assert isinstance(model[0], nalu.NAU) and isinstance(model[1], nalu.NMU)


def test_bad_protocol_raises_value_error_naming_the_value():
    with pytest.raises(ValueError, match="modulo"):
        run_unit(NAU, Protocol("signed", steps=5, n_seeds=1, ops=("modulo",)))
    with pytest.raises(ValueError, match="dynamic"):
        run_unit(NAU, Protocol("dynamic", steps=5, n_seeds=1))


def test_bench_mystery_solver_outputs_are_identical():
    result = bench.mystery_solver(rows=300)
    assert result["identical"] and result["rows"] == 300 and result["loop_s"] > 0


def test_bench_rates_are_positive_for_a_tiny_run():
    assert bench.many_seed_rate(3, 3, in_dim=10) > 0
    assert bench.per_seed_loop_rate(2, 3, in_dim=10) > 0


def test_marginal_rate_is_the_extra_steps_over_the_extra_time_and_never_absurd():
    # a fake run costing 1 s of set-up plus 0.01 s per step: 10 seeds → 1,000 seed-steps per second
    assert bench._marginal(lambda k: 1.0 + 0.01 * k, 10, 100) == pytest.approx(1000.0)
    # when noise makes the long run look no slower, fall back to the whole long run's rate
    assert bench._marginal(lambda k: 1.0, 10, 100) == pytest.approx(1000.0)
