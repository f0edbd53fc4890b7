"""A chapter's kept run: computed once, read back while its settings are the same."""

import pandas as pd
import pytest
import torch

from nalu_book.kept import KeptRun, blocks_provenance, kept_blocks, kept_run, run_key


def test_a_kept_run_is_read_back_with_the_same_settings_and_computed_again_when_one_changes(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        torch.manual_seed(len(calls))
        return dict(model=torch.nn.Linear(2, 1), table=pd.DataFrame(dict(seed=[0, 1], mse=[0.25, 1e-7])))

    first = kept_run("ch", dict(seeds=[0, 1], lr=1e-3), compute, tmp_path)
    again = kept_run("ch", dict(lr=1e-3, seeds=[0, 1]), compute, tmp_path)  # the same settings, another order
    assert len(calls) == 1 and not first.read_back and again.read_back
    # what was saved is what is read: the same bits
    assert torch.equal(again.value["model"].weight, first.value["model"].weight)
    pd.testing.assert_frame_equal(again.value["table"], first.value["table"])
    assert again.meta == first.meta and again.meta["settings"] == dict(seeds=[0, 1], lr=1e-3)
    assert "read them back" in again.provenance() and "in this build" in first.provenance()
    assert "has changed since" not in again.provenance()  # the same code trained it
    stale = KeptRun(again.value, {**again.meta, "code": "0" * 16}, read_back=True)
    assert "has changed since" in stale.provenance()

    other = kept_run("ch", dict(seeds=[0, 1], lr=1e-2), compute, tmp_path)
    assert len(calls) == 2 and not other.read_back
    assert not torch.equal(other.value["model"].weight, first.value["model"].weight)


def test_without_a_directory_nothing_is_kept(tmp_path):
    calls = []
    for _ in range(2):
        run = kept_run("ch", dict(n=1), lambda: calls.append(1) or len(calls), None)
        assert not run.read_back
    assert calls == [1, 1] and run.value == 2 and not list(tmp_path.iterdir())


def test_bad_names_and_settings_are_rejected_at_the_call(tmp_path):
    with pytest.raises(ValueError, match="JSON-serialisable"):
        kept_run("ch", dict(model=torch.nn.Linear(1, 1)), lambda: 0, tmp_path)
    with pytest.raises(ValueError, match="without '/'"):
        kept_run("a/b", {}, lambda: 0, tmp_path)
    assert run_key("ch", dict(a=1)) != run_key("ch", dict(a=2)) != run_key("other", dict(a=2))


def test_blocks_provenance_names_each_block_and_keeps_one_block_as_it_is(tmp_path):
    runs = [kept_run("demo", dict(seeds=b), lambda: 1, tmp_path) for b in ([0, 1], [2, 3])]
    text = blocks_provenance([[0, 1], [2, 3]], runs)
    assert text.startswith("For seeds 0–1, these runs were trained") and "For seeds 2–3, these runs" in text
    assert blocks_provenance([[0, 1]], runs[:1]) == runs[0].provenance()
    with pytest.raises(ValueError, match="2 blocks of seeds but 1 kept runs"):
        blocks_provenance([[0, 1], [2, 3]], runs[:1])


def test_kept_blocks_keep_each_block_under_the_key_kept_run_gives_it_and_read_earlier_blocks_back(tmp_path):
    calls = []

    def compute(block):
        calls.append(list(block))
        return [10 * s for s in block]

    settings = dict(lr=1e-3, steps=5)
    first = kept_blocks("ch", settings, range(3), 2, compute, tmp_path)
    assert first.blocks == [[0, 1], [2]] and first.values == [[0, 10], [20]] and not first.read_back
    # the same files as a chapter keeping each block with kept_run and the block in its settings
    for block in first.blocks:
        assert (tmp_path / f"ch-{run_key('ch', dict(settings, seeds=block))}.pt").exists()
    more = kept_blocks("ch", settings, range(4), 2, compute, tmp_path)  # a fourth seed: block [2, 3] is new
    assert calls == [[0, 1], [2], [2, 3]] and more.runs[0].read_back and not more.runs[1].read_back
    assert more.cpu_seconds == sum(r.meta["cpu_seconds"] for r in more.runs)
    assert more.provenance() == blocks_provenance(more.blocks, more.runs)
    with pytest.raises(ValueError, match="must not contain 'seeds'"):
        kept_blocks("ch", dict(seeds=[0]), [0], 1, compute, tmp_path)
    with pytest.raises(ValueError, match="block_size must be a positive integer, got 0"):
        kept_blocks("ch", settings, [0], 0, compute, tmp_path)
