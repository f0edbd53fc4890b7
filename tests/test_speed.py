"""The throughput benchmark's pieces (nalu_bench.speed)."""

import copy
import os
import platform

import pytest
import torch

from nalu_bench import speed
from nalu_lab import workers


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
    took_effect = workers.keep_freed_memory()
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
    assert tuned == [f"MALLOC_MMAP_THRESHOLD_={workers.MMAP_THRESHOLD_BYTES}",
                     f"MALLOC_TRIM_THRESHOLD_={workers.TRIM_THRESHOLD_BYTES}"]
    assert "$(if $(filter A1_speed,$*),,env $(TUNED_MALLOC)) $(BIN)/papermill" in makefile


# (a) exact: LeanAdam calls the same fused kernel on the same state as torch, so the same bits
def test_lean_adam_is_torchs_fused_adam_bit_for_bit():
    """Same parameters and state as torch.optim.Adam(fused=True) after every step, including a
    parameter without a gradient for a while (no state, no update, as in torch) and a reloaded state."""
    from nalu_bench.speed import LeanAdam

    g = torch.Generator().manual_seed(3)
    shapes = [(5, 2, 3), (5, 1, 2), (5, 4)]
    a = [torch.randn(s, generator=g).requires_grad_() for s in shapes]
    b = [p.detach().clone().requires_grad_() for p in a]
    lean, ref = LeanAdam(a, lr=0.01, eps=1e-7, weight_decay=0.1), torch.optim.Adam(b, lr=0.01, eps=1e-7, weight_decay=0.1, fused=True)
    for step in range(12):
        grads = [torch.randn(s, generator=g) for s in shapes]
        for i, (p, q) in enumerate(zip(a, b)):
            p.grad, q.grad = (None, None) if (i == 2 and step < 4) else (grads[i].clone(), grads[i].clone())
        lean.step(), ref.step()
        for p, q in zip(a, b):
            assert torch.equal(p, q)
            assert set(lean.state[p]) == set(ref.state[q])
            for key in ref.state[q]:
                assert torch.equal(lean.state[p][key], ref.state[q][key]), key
        if step == 6:  # a checkpoint's state goes through torch's own (de)serialisation
            lean.load_state_dict(copy.deepcopy(ref.state_dict()))  # deep: torch shares unconverted tensors
    assert lean.state[a[2]]["step"].item() == 8 and lean.state[a[0]]["step"].item() == 12


def test_lean_adam_falls_back_to_torch_for_what_it_does_not_cover():
    from nalu_bench.speed import LeanAdam

    p, q = torch.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    lean, ref = LeanAdam([p], lr=0.1, amsgrad=True), torch.optim.Adam([q], lr=0.1, amsgrad=True, fused=True)
    for k in range(3):
        p.grad, q.grad = torch.full((3,), k - 1.0), torch.full((3,), k - 1.0)
        lean.step(), ref.step()
    assert torch.equal(p, q) and "max_exp_avg_sq" in lean.state[p]
    with pytest.raises(ValueError, match="closure"):
        lean.step(lambda: 0.0)
