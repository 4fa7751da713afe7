"""Model-based methods' Kendall tau reaches the report: a table per (method, dataset) in predictors.md
and index.html, absent when no run has a model."""
from __future__ import annotations

import json

import numpy as np
import pytest

from reports.predictor_quality import quality_of
from reports.report import write_report
from tests.report_fixtures import write_run


def test_quality_of_reads_scalars_and_pnas_stages() -> None:
    q = quality_of({"kendall_tau_cv": 0.5, "kendall_tau_next_round": float("nan"),
                    "surrogate_tau": json.dumps([[2, 33, 0.2], [3, 33, 0.1], [3, 33, -0.3], [4, 1, None]])})
    assert q == {"kendall_tau_cv": 0.5, "surrogate_tau_L2": 0.2, "surrogate_tau_L3": pytest.approx(-0.1)}
    assert quality_of({"method": "random_search"}) == {}


def test_report_has_a_predictor_quality_table(tmp_path) -> None:
    runs = tmp_path / "runs"
    costs, vals = [10.0] * 5, list(np.linspace(60, 70, 5))
    for s, t in enumerate((0.6, 0.7, 0.8)):
        write_run(runs, "predictor_evolution", "cifar10-valid", s, costs, vals, kendall_tau_cv=t,
                  kendall_tau_next_round=t / 2)
        write_run(runs, "pnas", "cifar10-valid", s, costs, vals,
                  surrogate_tau=json.dumps([[2, 30, 0.1 * s], [3, 30, 0.0]]))
        write_run(runs, "random_search", "cifar10-valid", s, costs, vals)
    write_report(runs, tmp_path / "out", formats=("md", "html"))
    md = (tmp_path / "out" / "predictors.md").read_text()
    rows = {ln.split("|")[1].strip(): [c.strip() for c in ln.split("|")[3:-1]] for ln in md.splitlines()
            if ln.startswith("| ") and "---" not in ln}
    header = rows.pop("method")
    assert header == ["τ cross-validated", "τ on the next round", "τ surrogate, level 2", "τ surrogate, level 3"]
    assert set(rows) == {"pnas", "predictor_evolution"}  # random search keeps no model
    assert rows["predictor_evolution"][:2] == ["0.700 ± 0.100", "0.350 ± 0.050"]
    assert rows["pnas"] == ["—", "—", "0.100 ± 0.100", "0.000 ± 0.000"]
    assert "Predictor quality" in (tmp_path / "out" / "index.html").read_text()


def test_no_model_no_table(tmp_path) -> None:
    write_run(tmp_path / "runs", "random_search", "cifar10-valid", 0, [10.0] * 3, [60.0, 61.0, 62.0])
    paths = write_report(tmp_path / "runs", tmp_path / "out", formats=("md", "html"))
    assert not any(p.name == "predictors.md" for p in paths)
    assert "Predictor quality" not in (tmp_path / "out" / "index.html").read_text()
