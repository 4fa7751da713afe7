"""Harness-level resource constraints: parsing, free NaN answers, and every method running under one."""
from __future__ import annotations

import numpy as np
import pytest

from harness.budget import Budget
from harness.constraints import Constraint, ConstraintError
from harness.evaluator import MeteredEvaluator
from harness.recorder import Recorder
from tests.methods.predictor_fixtures import ToyNB201Task


def test_parse_and_errors():
    assert Constraint.parse("latency_ms:pixel3 <= 12.5") == Constraint("latency_ms:pixel3", 12.5)
    assert str(Constraint.parse("params_m<=0.5")) == "params_m<=0.5"
    with pytest.raises(ConstraintError, match="RESOURCE<=VALUE"):
        Constraint.parse("params_m < 0.5")


def test_infeasible_is_free_nan_and_unrecorded(tmp_path):
    task = ToyNB201Task()
    ev = MeteredEvaluator(task, Budget(max_evals=5), Recorder(tmp_path / "c.h5", 6, {}),
                          constraint=Constraint("convs", 1))
    cheap, heavy = np.array([1, 1, 1, 1, 1, 1]), np.array([3, 3, 1, 1, 1, 1])
    assert list(ev.feasible(np.stack([cheap, heavy]))) == [True, False]
    assert np.isnan(ev.evaluate(heavy))
    assert ev.spent.evals == 0 and len(ev._recorder.trajectory()) == 0 and ev.infeasible == 1
    assert not np.isnan(ev.evaluate(cheap)) and ev.spent.evals == 1


def test_task_without_the_resource_is_a_clear_error(tmp_path):
    class NoResource(ToyNB201Task):
        resource = None

    ev = MeteredEvaluator(NoResource(), Budget(max_evals=5), Recorder(tmp_path / "c.h5", 6, {}),
                          constraint=Constraint("convs", 1))
    with pytest.raises(ConstraintError, match="offers no resources"):
        ev.feasible(np.zeros(6, np.int8))


def test_nb201_latency_constraint_for_random_search(tmp_path, nb201_task):
    from harness.recorder import read_trajectory
    from harness.run import run_one

    task = nb201_task("cifar10-valid")
    r = run_one("random_search", task, Budget(max_evals=30), 0, tmp_path / "rs.h5",
                constraint="latency_ms:pixel3<=10")
    t = read_trajectory(r["path"])
    assert np.all(task.resource(t.codes, "latency_ms:pixel3") <= 10)
    assert t.attrs["infeasible_queries"] > 0 and len(t) == 30
