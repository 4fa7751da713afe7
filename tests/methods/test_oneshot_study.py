"""Weight-sharing methods next to tabular ones: one budget meter, both cost columns, lazy torch."""
from __future__ import annotations

import json

import subprocess
import sys

import numpy as np
import pytest

from benchmarks.spaces.nb201 import NB201Space
from harness.budget import Budget
from harness.errors import DataError
from harness.recorder import read_trajectory
from harness.run import run_one
from harness.trajectory import KIND_CHARGE, KIND_FINAL, KIND_QUERY
from reports.tables import summary_markdown
from tests.methods.oneshot_fixtures import TableAndImageTask, digits_data

SMALL = {"evnas": dict(population=3, tournament=2, generations=2, C=4, N=1, cutout=0, batch=32),
         "ednas": dict(epochs=1, C=4, N=1, batch=32, n_candidates=3)}


def test_importing_the_methods_package_does_not_import_torch():
    code = ("import sys; from harness.registry import METHODS; names = METHODS.names(); "
            "assert {'evnas', 'ednas', 'ednas-tabular'} <= set(names), names; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_tabular_and_one_shot_methods_share_a_study(tmp_path):
    pytest.importorskip("torch")
    task = TableAndImageTask(NB201Space(), digits_data(64, 32))
    budget = Budget(max_cost_s=3000.0)
    records = []
    for m in ("random_search", "regularized_evolution", "ednas-tabular", "evnas", "ednas"):
        rec = run_one(m, task, budget, 0, tmp_path / f"{m}.h5", SMALL.get(m))
        traj = read_trajectory(tmp_path / f"{m}.h5")
        assert traj.attrs["config"]  # BN settings and sizes travel with the run
        if m in SMALL:
            assert (traj["kind"] == KIND_QUERY).sum() == 0 and (traj["kind"] == KIND_FINAL).sum() == 1
            assert rec["train_cost_s"] == pytest.approx(traj["cost_s"][traj["kind"] == KIND_CHARGE].sum())
            assert rec["train_cost_s"] > 0 and json.loads(traj.attrs["config"])["track_running_stats"] is True
        else:
            assert rec["train_cost_s"] == 0 and rec["n_evals"] == 30
        records.append(rec)
    table = summary_markdown(records)
    # one-shot methods return before the budget ends: flagged under-spent (†) by the table
    assert "measured own training" in table and "| evnas" in table and "| ednas" in table


def test_ednas_tabular_same_seed_same_queries(tmp_path):
    task = TableAndImageTask(NB201Space())
    for name in ("a", "b"):
        run_one("ednas-tabular", task, Budget(max_evals=40), 7, tmp_path / f"{name}.h5")
    a, b = read_trajectory(tmp_path / "a.h5"), read_trajectory(tmp_path / "b.h5")
    assert np.array_equal(a.codes, b.codes) and len(a) == 40
    assert (a.codes[:, 0] > 0).all()  # no dead node: the subset mapping never leaves node 1 without inputs


def test_a_task_without_images_is_refused_in_one_line(tmp_path):
    class NoImages(TableAndImageTask):
        search_data = None  # type: ignore[assignment]

    with pytest.raises(DataError, match="offers no images"):
        run_one("evnas", NoImages(NB201Space()), Budget(max_epochs=2), 0, tmp_path / "r.h5", SMALL["evnas"])


def test_a_killed_one_shot_run_resumes_to_the_same_result(tmp_path):
    pytest.importorskip("torch")
    from harness.recorder import Recorder

    cfg = dict(SMALL["evnas"], generations=3)
    task = TableAndImageTask(NB201Space(), digits_data(64, 32))
    run_one("evnas", task, Budget(max_epochs=10), 0, tmp_path / "a.h5", cfg)
    whole = read_trajectory(tmp_path / "a.h5")
    cut = Recorder(tmp_path / "b.h5", whole.codes.shape[1], whole.attrs, durable=True)  # as if killed after 5 rows
    for i in range(5):
        cut.append(whole.codes[i], {k: whole[k][i] for k in whole.columns})
    cut.close(complete=False)
    assert not (tmp_path / "b.h5").exists()
    run_one("evnas", task, Budget(max_epochs=10), 0, tmp_path / "b.h5", cfg)
    a, b = read_trajectory(tmp_path / "a.h5"), read_trajectory(tmp_path / "b.h5")
    assert np.array_equal(a.codes, b.codes) and np.array_equal(a["kind"], b["kind"])
    assert np.array_equal(a["cost_s"][:5], b["cost_s"][:5])


def test_evnas_on_the_real_training_benchmark_once_it_offers_search_images(tmp_path):
    """nb201-train gains the hook with one line (asked of the training layer); the report trains the cell."""
    pytest.importorskip("torch")
    from benchmarks.training.data.search import from_data
    from benchmarks.nb201_train import make as make_nb201_train

    task = make_nb201_train("digits", cache=tmp_path / "cache", C=4, N=1, train_images=96, threads=1)
    task.search_data = lambda: from_data(task.data())
    rec = run_one("evnas", task, Budget(max_epochs=2), 0, tmp_path / "r.h5", SMALL["evnas"])
    traj = read_trajectory(tmp_path / "r.h5")
    assert (traj["kind"] == KIND_FINAL).sum() == 1 and 0 <= rec["report_test"] <= 100
    assert traj["epochs"].sum() == 2
