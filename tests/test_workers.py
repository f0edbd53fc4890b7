"""The engines that run the experiments' jobs (``nalu_lab.workers.run_each``): every engine gives each call's
result under its index; pool and Ray workers are set up (one intra-op thread) first.

Equality kinds (tests/tolerances.py): (a) exact: the calls are integer arithmetic and a thread count."""

import operator

import pytest
import torch

from nalu_lab.workers import ENGINES, run_each

CALLS = [(a, b) for a in range(4) for b in (3, 5)]


@pytest.mark.parametrize("engine", ["inline", "processes", "ray"])
def test_every_engine_gives_each_calls_result_under_its_index(engine):
    if engine == "ray":
        ray = pytest.importorskip("ray")
    try:
        got = dict(run_each(operator.mul, CALLS, engine=engine, workers=2))
        threads = {result for _, result in run_each(torch.get_num_threads, [()] * 3, engine=engine, workers=2)}
    finally:
        if engine == "ray":
            ray.shutdown()
    assert got == {i: a * b for i, (a, b) in enumerate(CALLS)}
    if engine != "inline":  # a worker's one thread: the workers are the parallelism
        assert threads == {1}


def test_bad_engines_and_worker_counts_are_refused_and_no_calls_start_nothing():
    with pytest.raises(ValueError, match=r"engine must be one of 'ray', 'processes', 'inline', got 'threads'"):
        list(run_each(operator.mul, CALLS, engine="threads"))
    with pytest.raises(ValueError, match="workers must be a positive integer or None"):
        list(run_each(operator.mul, CALLS, engine="processes", workers=0))
    ray = pytest.importorskip("ray")
    assert list(run_each(operator.mul, [], engine="ray")) == [] and not ray.is_initialized()
    assert ENGINES == ("ray", "processes", "inline")
