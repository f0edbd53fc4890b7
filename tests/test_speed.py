"""The throughput benchmark's pieces (nalu.speed)."""

import os
import platform

import pytest

from nalu import speed


def test_bench_mystery_solver_outputs_are_identical():
    result = speed.mystery_solver(rows=300)
    assert result["identical"] and result["rows"] == 300 and result["loop_s"] > 0


def test_bench_rates_are_positive_for_a_tiny_run():
    assert speed.many_seed_rate(3, 3, in_dim=10) > 0
    assert speed.per_seed_loop_rate(2, 3, in_dim=10) > 0


def test_marginal_rate_is_the_extra_steps_over_the_extra_time_and_never_absurd():
    # a fake run costing 1 s of set-up plus 0.01 s per step: 10 seeds → 1,000 seed-steps per second
    assert speed._rate(10, 100, 20, 1.0 + 0.01 * 20, 1.0 + 0.01 * 100) == pytest.approx(1000.0)
    # when noise makes the long run look no slower, fall back to the whole long run's rate
    assert speed._rate(10, 100, 20, 1.0, 1.0) == pytest.approx(1000.0)


def test_marginal_rates_keep_each_runs_fastest_times_over_interleaved_rounds():
    calls = []
    noise = iter([0.5, 0.0, 0.0, 0.3, 0.0] * 10)  # extra seconds a busy machine adds to some runs

    def fake(name, per_step):
        def run(k):
            calls.append((name, k))
            return 1.0 + per_step * k + next(noise)
        return run

    rates = speed.marginal_rates({"a": (fake("a", 0.01), 10, 100), "b": (fake("b", 0.1), 2, 50)}, repeats=3)
    assert rates == {"a": pytest.approx(1000.0), "b": pytest.approx(20.0)}
    # warm-ups, then rounds that alternate the two runs, each at both lengths
    assert calls[:2] == [("a", 20), ("b", 10)]
    assert calls[2:6] == [("a", 20), ("a", 100), ("b", 10), ("b", 50)]
    with pytest.raises(ValueError, match="repeats"):
        speed.marginal_rates({"a": (fake("a", 0.01), 1, 10)}, repeats=0)
    with pytest.raises(ValueError, match="at least 2 steps"):
        speed.marginal_rates({"a": (fake("a", 0.01), 1, 1)})


def test_design_choices_compare_like_with_like():
    rows = speed.design_choices(n_seeds=3, in_dim=8, repeats=1)
    assert [r["change"] for r in rows] == ["uniform draws", "log(|x| + ε)", "W x and G x, forward and backward",
                                          "sign factor on positive inputs, forward and backward",
                                          "the NMU's product of factors, forward and backward",
                                          "targets of seeds with six different operations",
                                          "operands of two-input tasks (3 seeds × 64 steps × 128 × 2)",
                                          "a minibatch's rows in each seed's order (20 seeds × 1,000 of 10,000 rows × 10)",
                                          "a full-batch NALU step, forward and backward (20 seeds × 10,000 rows × 10)",
                                          "three units on the static task, 16 steps (3 seeds × 128 × 8 per batch)",
                                          "Adam's step for a small unit (a NALU with 2 inputs, 20 seeds)"]
    assert all(r["same_result"] and r["before_ms"] > 0 and r["after_ms"] > 0 for r in rows)


def test_step_breakdown_times_every_phase():
    phases = speed.step_breakdown(n_seeds=3, in_dim=8, steps=4, repeats=2)
    assert len(phases) == 7 and all(ms > 0 for ms in phases.values())
    assert any("log" in name for name in phases)


def test_page_faults_are_counted_past_the_first_chunk_only():
    assert speed.faults_per_step(3, 70, in_dim=8) >= 0  # 64 steps per chunk at this size
    with pytest.raises(ValueError, match="too few"):
        speed.faults_per_step(3, 40, in_dim=8)


def test_malloc_tuning_reports_whether_it_took_effect():
    took_effect = speed.keep_freed_memory()
    assert isinstance(took_effect, bool)
    if platform.libc_ver()[0] == "glibc":
        assert took_effect


def test_the_makefile_tunes_the_chapters_malloc_as_keep_freed_memory_does():
    """The chapters' kernels get glibc's thresholds from the Makefile's environment variables: the
    values keep_freed_memory sets, and only where the speed appendix is not the notebook run."""
    import re
    from pathlib import Path

    makefile = (Path(__file__).parent.parent / "Makefile").read_text()
    tuned = re.search(r"^TUNED_MALLOC := (.*)$", makefile, re.M).group(1).split()
    assert tuned == [f"MALLOC_MMAP_THRESHOLD_={speed.MMAP_THRESHOLD_BYTES}",
                     f"MALLOC_TRIM_THRESHOLD_={speed.TRIM_THRESHOLD_BYTES}"]
    assert "$(if $(filter A1_speed,$*),,env $(TUNED_MALLOC)) $(BIN)/papermill" in makefile
