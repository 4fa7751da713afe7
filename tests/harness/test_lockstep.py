"""Lockstep pieces that need no torchrun: plain calls in one process, agreed charges, the recorder that
writes nothing, which benchmarks run in lockstep, and rank 0 alone for the others (tests/harness/test_compare_ddp.py
runs the real 2-process study)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.spaces.nb201 import NB201Space
from harness.budget import Budget
from harness.errors import BudgetExhausted
from harness.evaluator import MeteredEvaluator
from harness.lockstep import Lockstep, is_ddp_capable
from harness.protocols import Outcome
from harness.recorder import ShadowRecorder
from harness.registry import BENCHMARKS
from harness.runner import CompareSpec, compare

REPO = Path(__file__).resolve().parents[2]


def test_one_process_lockstep_is_plain_calls() -> None:
    lock = Lockstep()
    assert lock.main and not lock.active
    assert lock.share(lambda: {"a": 1}) == {"a": 1} and lock.floats(1, 2.5) == (1.0, 2.5)
    with pytest.raises(KeyError):
        lock.share(lambda: {}["missing"])


class _Timed:
    """A task whose measured seconds differ per process: this one measured 5 s for every query."""

    name, space, fidelities, default_fidelity = "toy/timed", NB201Space(), (1.0,), 1.0

    def evaluate(self, codes: np.ndarray, fidelity: float) -> Outcome:
        one = np.ones(len(codes))
        return Outcome(val=one * 50, cost_s=one * 5.0, epochs=one, report_valid=one * 50, report_test=one * 40)


def test_budget_is_charged_the_agreed_seconds_and_the_shadow_writes_nothing(tmp_path: Path) -> None:
    rank0 = lambda cost, epochs, val, rv, rt: (1.0, epochs, val + 1, rv, rt)  # noqa: E731 - rank 0 measured 1 s
    rec = ShadowRecorder(tmp_path / "runs" / "seed-0.h5", 6, {"seed": 0})
    ev = MeteredEvaluator(_Timed(), Budget(max_cost_s=2.5), rec, agree=rank0)
    codes = NB201Space().sample(np.random.default_rng(0), 3)
    assert ev.evaluate(codes[0]) == 51.0 and ev.evaluate(codes[1]) == 51.0  # 5 s each would not fit twice
    with pytest.raises(BudgetExhausted):
        ev.evaluate(codes[2])
    rec.close(complete=True, extra_attrs={"spent_cost_s": ev.spent.cost_s})
    traj = rec.trajectory()
    assert ev.spent.cost_s == 2.0 and traj["cost_s"].tolist() == [1.0, 1.0] and traj["val"].tolist() == [51.0, 51.0]
    assert list(tmp_path.iterdir()) == []


def test_training_benchmarks_run_in_lockstep_and_the_rest_do_not() -> None:
    for name in ("nb201-train", "darts-train", "macro-train", "neurocell-train", "ptb-train"):
        assert is_ddp_capable(BENCHMARKS.get(name)), name
    for name in ("nb201",):
        assert not is_ddp_capable(BENCHMARKS.get(name)), name


def test_a_tabular_study_under_torchrun_runs_on_rank_0_alone(nb201_data, harness_cache, tmp_path, monkeypatch,
                                                              caplog) -> None:
    spec = CompareSpec(benchmark="nb201", datasets=("cifar10-valid",), methods=("random_search",), seeds=(0, 1),
                       budget=Budget(max_evals=5), out=tmp_path / "runs", data=str(nb201_data),
                       cache=str(harness_cache), workers=1)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert compare(spec) == [] and not spec.out.exists()  # no process group is needed either
    monkeypatch.setenv("RANK", "0")
    records = compare(spec)
    assert [r["n_evals"] for r in records] == [5, 5] and spec.out.is_dir()
    assert "rank 0 runs the whole study" in caplog.text


def test_compare_modules_import_no_torch() -> None:
    code = ("import sys, harness.runner, harness.lockstep, harness.cli.compare; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
