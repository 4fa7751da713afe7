"""`compare` under torchrun: 2 gloo processes run the same study in lockstep (every training query one
DDP job), rank 0 alone writes, and a resumed study redoes nothing that is finished."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.budget import Budget
from harness.packs import read_pack
from harness.recorder import Recorder
from harness.store import read_run
from harness.runner import CompareSpec, compare
from tests.torchrun import torchrun

pytest.importorskip("torch")

OPTIONS = {"C": 4, "N": 1, "train_images": 64, "recipe_changes": {"epochs": 1, "batch_size": 32}, "threads": 1,
           "device": "cpu"}
METHODS = ("random_search", "regularized_evolution")
REA = {"population": 2, "sample_size": 2}  # 2 random cells, then 2 mutations chosen by their values
SEEDS, EVALS = (0, 1), 4


def _cli() -> list[str]:
    args = ["compare", "--benchmark", "nb201-train", "--dataset", "digits", "--methods", ",".join(METHODS),
            "--seeds", "0:2", "--budget-evals", str(EVALS), "--out", "runs", "--cache", "cache"]
    for key, val in REA.items():
        args += ["--set", f"regularized_evolution.{key}={val}"]
    for key, val in OPTIONS.items():
        args += ["--option", f"{key}={json.dumps(val)}"]
    return args


def _holders(folder: Path) -> dict[int, list[Path]]:
    """seed -> the files that hold a run of it (a pack member or its own seed-<s>.h5)."""
    out: dict[int, list[Path]] = {}
    for f in sorted(folder.glob("*.h5")):
        seeds = [int(t.attrs["seed"]) for _, t in read_pack(f)] if f.name.startswith("pack-") \
            else [int(f.stem.split("-")[1])]
        for s in seeds:
            out.setdefault(s, []).append(f)
    return out


def _write(path: Path, traj, rows: int, complete: bool) -> None:
    """The first ``rows`` rows of ``traj`` as a finished run file, or as the journal of a run killed there."""
    rec = Recorder(path, traj.codes.shape[1], {k: v for k, v in traj.attrs.items() if k != "status"},
                   durable=not complete)
    for i in range(rows):
        rec.append(traj.codes[i], {k: traj[k][i] for k in traj.columns})
    rec.close(complete=complete)


def test_torchrun_compare_runs_in_lockstep_and_resumes(tmp_path: Path) -> None:
    # the same study in one process, cutting each batch into the same 2 pieces (accum=2) as 2 ranks do
    one = tmp_path / "one" / "runs"
    ref = compare(CompareSpec(benchmark="nb201-train", datasets=("digits",), methods=METHODS, seeds=SEEDS,
                              budget=Budget(max_evals=EVALS), out=one, cache=str(tmp_path / "one" / "cache"),
                              method_configs={"regularized_evolution": REA},
                              benchmark_options={**OPTIONS, "accum": 2}, workers=1))
    assert [r["n_evals"] for r in ref] == [EVALS] * 4
    solo = {(m, s): read_run(one / "nb201-train" / "digits" / m, s) for m in METHODS for s in SEEDS}

    # what a killed torchrun study left: random_search seed 0 finished, REA seed 1 cut after 2 evaluations
    runs = tmp_path / "rank0" / "runs" / "nb201-train" / "digits"
    _write(runs / "random_search" / "seed-0.h5", solo["random_search", 0], EVALS, complete=True)
    _write(runs / "regularized_evolution" / "seed-1.h5", solo["regularized_evolution", 1], 2, complete=False)
    finished = (runs / "random_search" / "seed-0.h5").stat().st_mtime_ns

    proc = torchrun(["-m", "tests._compare_ddp_worker", str(tmp_path), *_cli()], cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert list((tmp_path / "rank1").iterdir()) == [], "rank 1 wrote files"
    assert not [p for p in (tmp_path / "rank0").rglob("*") if ".part" in p.name or ".corrupt" in p.name]
    assert "4 runs (3 new)" in out  # both ranks agreed which run was done
    assert out.count("[1/4] finished") == 1 and out.count("| RS |") == 1  # rank 0 alone reports
    assert (tmp_path / "rank0" / "runs" / "summary.md").exists()
    assert (runs / "random_search" / "seed-0.h5").stat().st_mtime_ns == finished
    for m in METHODS:
        assert {s: len(f) for s, f in _holders(runs / m).items()} == {0: 1, 1: 1}  # each run written once
        for s in SEEDS:
            two, ref_run = read_run(runs / m, s), solo[m, s]
            assert two.attrs["status"] == "complete" and two.attrs["batch_chunks"] == 2
            assert len(two) == len(ref_run) == EVALS and np.array_equal(two["kind"], ref_run["kind"])
            assert (two["cost_s"] > 0).all()
            # the cells chosen before values matter (REA mutates by value once its population is full)
            n = EVALS if m == "random_search" else REA["population"]
            assert np.array_equal(two.codes[:n], ref_run.codes[:n]), f"{m} seed {s} chose other cells"
            # same batch pieces, but evaluated with rank 0's batch-norm running statistics (one piece's, not
            # both in turn: tests/benchmarks/training/test_ddp.py); after 2 SGD steps the cells sit near chance, where that moves a
            # few dozen of the 400 predictions
            assert two["val"] == pytest.approx(ref_run["val"], abs=10.0)
            assert two["report_test"] == pytest.approx(ref_run["report_test"], abs=10.0)
    resumed, cut = read_run(runs / "regularized_evolution", 1), solo["regularized_evolution", 1]
    assert np.array_equal(resumed["val"][:2], cut["val"][:2]) and np.array_equal(resumed["cost_s"][:2], cut["cost_s"][:2])


def test_slurm_runs_a_training_run_as_one_multi_task_ddp_job(tmp_path: Path) -> None:
    """``--executor slurm --executor-option tasks_per_run=2``: each array element is a 2-task job whose
    tasks train every query as one DDP job (submitit's local mode: 2 gloo processes), as torchrun's do."""
    pytest.importorskip("submitit", reason="the slurm executor's tests need submitit (pip install -e '.[dev]')")
    from types import SimpleNamespace

    from harness.errors import HarnessError
    from harness.executors.slurm import _check_ddp

    common = dict(benchmark="nb201-train", datasets=("digits",), methods=("random_search",), seeds=(0,),
                  budget=Budget(max_evals=2), workers=1)
    solo = tmp_path / "solo"
    compare(CompareSpec(**common, out=solo, cache=str(tmp_path / "c1"), benchmark_options={**OPTIONS, "accum": 2}))
    out = tmp_path / "slurm"
    records = compare(CompareSpec(**common, out=out, cache=str(tmp_path / "c2"), benchmark_options=OPTIONS,
                                  executor="slurm",
                                  executor_options={"cluster": "local", "tasks_per_run": 2, "poll_s": 0.2}))
    assert [r["n_evals"] for r in records] == [2]
    two = read_run(out / "nb201-train" / "digits" / "random_search", 0)
    ref = read_run(solo / "nb201-train" / "digits" / "random_search", 0)
    assert two.attrs["status"] == "complete" and two.attrs["batch_chunks"] == 2  # 2 ranks x accum 1
    assert np.array_equal(two.codes, ref.codes) and (two["cost_s"] > 0).all()
    assert two["val"] == pytest.approx(ref["val"], abs=10.0)  # rank 0's BN statistics (see above)
    logs = sorted((out / ".submitit").rglob("*_log.err"))
    assert len(logs) == 2 and not any("Traceback" in p.read_text() for p in logs)  # one log per task
    with pytest.raises(HarnessError, match="tasks_per_run=2 needs a benchmark that trains with DDP"):
        _check_ddp(SimpleNamespace(benchmark="nb201"), 2)
