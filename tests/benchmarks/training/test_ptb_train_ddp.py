"""ptb-train under torchrun (2 gloo processes): the evaluation training of a cell runs over each rank's
token columns and equals the 1-process training up to rounding (every dropout on); the ranks end
identical, rank 0 alone moves a corrupt checkpoint aside and writes checkpoints, a resume repeats the
uninterrupted run bit for bit; `compare --methods ednas-rnn` runs in lockstep with rank 0 alone writing."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.torchrun import ranks_and_one, torchrun

pytest.importorskip("torch")

WORKER = "tests.benchmarks.training._lm_ddp_worker"
RUNS = ("whole", "first", "resumed")
SEARCH = {"epochs": 1, "nhid": 16, "batch": 16, "bptt": 12, "n_candidates": 3}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], dict]:
    tmp = tmp_path_factory.mktemp("lm_ddp")
    return ranks_and_one(WORKER, tmp)


def test_ranks_end_identical(runs):
    (a, b), _ = runs
    assert [a["world"], b["world"]] == [2, 2]
    for k in RUNS:
        assert a[k] == b[k]  # step losses, validation losses (the NT-ASGD switch), perplexities


def test_data_parallel_training_equals_one_process_up_to_rounding(runs):
    (a, _), one = runs
    for k in RUNS:
        assert len(a[k]["step_loss"]) == len(one[k]["step_loss"]) > 20
        assert np.allclose(a[k]["step_loss"], one[k]["step_loss"], rtol=0, atol=1e-5)
        assert np.allclose(a[k]["valid_loss"], one[k]["valid_loss"], rtol=1e-6)
        assert a[k]["val"] == pytest.approx(one[k]["val"], rel=1e-6)
        assert a[k]["test"] == pytest.approx(one[k]["test"], rel=1e-6)


def test_a_resume_repeats_the_run_and_rank_0_alone_writes_checkpoints(runs):
    (a, b), one = runs
    for r in (a, b, one):
        assert r["resumed"] == r["whole"]  # bit for bit, on every rank
        assert r["left"] == ["cell.pt.corrupt"]  # the corrupt file moved aside once; the full run deleted its own
    assert a["saves"] == one["saves"] == [1] and b["saves"] == []


def test_compare_ednas_rnn_on_ptb_train_runs_in_lockstep(tmp_path: Path):
    from benchmarks.training.lm_trainer import lm_preset, train_cell
    from benchmarks.training.data.text import synthetic
    from harness.store import read_run

    args = ["compare", "--benchmark", "ptb-train", "--dataset", "synthetic-text", "--methods", "ednas-rnn",
            "--seeds", "0:1", "--budget-epochs", "5", "--out", "runs", "--cache", "cache",
            "--option", 'recipe_changes={"epochs": 1}', "--option", "threads=1"]
    for key, val in SEARCH.items():
        args += ["--set", f"ednas-rnn.{key}={val}"]
    out = torchrun(["-m", "tests._compare_ddp_worker", str(tmp_path), *args], cwd=tmp_path)
    out = out.stdout + out.stderr
    assert list((tmp_path / "rank1").iterdir()) == [], "rank 1 wrote files"  # not even the cache folder
    rank0 = tmp_path / "rank0"
    assert sorted(str(p.relative_to(rank0)) for p in rank0.rglob("*") if p.is_file()) == [
        "cache/training/ptb-train.sqlite", "runs/ptb-train/synthetic-text/ednas-rnn/seed-0.h5", "runs/summary.md"]
    assert out.count("[1/1] finished") == 1 and "does not train with DDP" not in out
    traj = read_run(rank0 / "runs" / "ptb-train" / "synthetic-text" / "ednas-rnn", 0)
    # the returned cell's evaluation, trained over 2 ranks' columns, is the 1-process training's
    row = train_cell(synthetic(), traj.codes[-1], lm_preset("tiny", epochs=1), 0, 1)
    assert -traj["report_valid"][-1] == pytest.approx(row["val"], rel=1e-4)
    assert -traj["report_test"][-1] == pytest.approx(row["test"], rel=1e-4)
