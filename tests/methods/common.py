"""Checks every tabular method shares (baselines.md checks 1 and 7), run through the real harness."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.budget import Budget
from harness.recorder import read_trajectory
from harness.run import run_one


def check_cost_and_determinism(method: str, task: object, tmp_path: Path, budget_s: float = 12000.0) -> None:
    """Charged total within budget, the next query would overflow, same seed -> same rows."""
    a = run_one(method, task, Budget(max_cost_s=budget_s), 3, tmp_path / "a.h5")
    b = run_one(method, task, Budget(max_cost_s=budget_s), 3, tmp_path / "b.h5")
    ta, tb = read_trajectory(a["path"]), read_trajectory(b["path"])
    assert np.array_equal(ta.codes, tb.codes) and np.array_equal(ta["val"], tb["val"])
    cost = ta["cost_s"]
    assert cost.sum() <= budget_s and np.isclose(ta["cum_cost_s"][-1], cost.sum())
    fid = ta["fidelity"]
    idx = ta["arch_index"]
    expected = np.where(fid == 12, task._cost[12.0][idx], task._cost[200.0][idx] if 200.0 in task._cost else np.nan)
    assert np.allclose(cost, expected)  # train-all-time + valid-per-time of the queried record
    worst = max(float(np.max(c)) for c in task._cost.values())
    assert cost.sum() > budget_s - worst  # it stopped only when a query could overflow
    assert a["report_test"] == ta["report_test"][np.nanargmax(np.where(fid == fid.max(), ta["val"], np.nan))]
