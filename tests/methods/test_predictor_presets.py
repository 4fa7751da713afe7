"""The predictor studies are registered and the S1 CI study runs end to end through compare."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.studies import STUDIES


def test_presets_hold_both_methods() -> None:
    for name in ("nb201-predictors", "darts-predictors", "darts-predictors-ci"):
        p = STUDIES.get(name)
        assert {"predictor_evolution", "pnas", "random_search"} <= set(p["methods"]), name
    assert STUDIES.get("darts-predictors")["options"]["recipe_changes"] == {"epochs": 20}  # pnas.md: E = 20


def test_darts_ci_preset_runs_through_compare(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from harness.budget import Budget
    from harness.recorder import read_trajectory
    from harness.runner import CompareSpec, compare

    p = STUDIES.get("darts-predictors-ci")
    spec = CompareSpec(benchmark=p["benchmark"], datasets=tuple(p["datasets"]), methods=("predictor_evolution", "pnas"),
                       seeds=(0,), budget=Budget(max_evals=2), out=tmp_path / "runs",
                       method_configs=p["method_configs"], benchmark_options={**p["options"], "train_images": 64},
                       cache=str(tmp_path / "cache"), workers=1)
    records = compare(spec)
    assert [r["n_evals"] for r in records] == [2, 2]
    for r in records:
        t = read_trajectory(r["path"])
        assert t.attrs["space"] == "darts" and (t["cost_s"] > 0).all() and np.isfinite(t["report_test"]).all()
