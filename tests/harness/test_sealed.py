"""The evaluator a method gets in-process: no attribute path to the task, recorder or meter, a
read-only budget, charges that cannot refund, and report_attrs() that cannot overwrite the
harness's attributes (issue 19 item 3)."""
from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from harness.budget import Budget
from harness.errors import BudgetExhausted, HarnessError
from harness.evaluator import MeteredEvaluator
from harness.recorder import Recorder, read_trajectory
from harness.registry import METHODS
from harness.run import run_one
from harness.sealed import RESERVED_ATTRS, SealedEvaluator, method_attrs, seal
from tests.harness.sealed_probes import COST, Cheater, ProbeTask, reachable


@pytest.fixture
def cheater(monkeypatch: pytest.MonkeyPatch) -> str:
    METHODS.discover()
    monkeypatch.setitem(METHODS._items, "cheater", Cheater)  # registered for this test only
    return "cheater"


def _meter(tmp_path: Path, task: ProbeTask) -> MeteredEvaluator:
    return MeteredEvaluator(task, Budget(max_cost_s=10 * COST), Recorder(tmp_path / "m.h5", 6, {}))


def test_no_attribute_path_reaches_the_task_recorder_or_meter(tmp_path: Path) -> None:
    task = ProbeTask()
    meter = _meter(tmp_path, task)
    ev = seal(meter)
    ev.evaluate(task.space.sample(np.random.default_rng(0), 1)[0])  # answers cached inside, if any
    hidden = {id(task), id(meter), id(meter._recorder), id(meter.spent), id(task.secret)}
    assert not hidden & {id(o) for o in reachable(ev)}
    # the walk is strong enough to find them when they are there
    assert {id(task), id(meter._recorder), id(task.secret)} <= {id(o) for o in reachable(meter)}


@pytest.mark.parametrize("probe", [
    lambda ev: ev._task, lambda ev: getattr(ev, "_" + "task"), lambda ev: vars(ev), lambda ev: ev.__dict__,
    lambda ev: ev.evaluate.__func__.__closure__[0], lambda ev: ev._key.__closure__,
    lambda ev: ev._key.__self__, lambda ev: ev._key.__reduce_ex__(2), lambda ev: ev.__reduce_ex__(2),
    lambda ev: __import__("copy").deepcopy(ev), lambda ev: __import__("pickle").dumps(ev._key),
])
def test_attribute_probes_are_refused(tmp_path: Path, probe) -> None:
    ev = seal(_meter(tmp_path, ProbeTask()))
    with pytest.raises((AttributeError, TypeError)):
        probe(ev)


def test_budget_is_read_only_and_charges_cannot_refund(tmp_path: Path) -> None:
    task = ProbeTask()
    meter = _meter(tmp_path, task)
    ev = seal(meter)
    ev.evaluate(task.space.sample(np.random.default_rng(0), 1)[0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.spent.cost_s = 0.0
    with pytest.raises(AttributeError):
        ev.budget = Budget(max_cost_s=1e6)
    for bad in (-1e6, float("nan"), float("-inf"), "x"):
        with pytest.raises(HarnessError, match="charge's seconds"):
            ev.charge(bad)
    assert meter.spent.cost_s == COST and ev.spent.cost_s == COST
    assert ev.remaining().cost_s == 9 * COST and ev.fits(seconds=9 * COST) and not ev.fits(seconds=9 * COST + 1)


def test_errors_cross_without_frames(tmp_path: Path) -> None:
    task = ProbeTask()
    meter = MeteredEvaluator(task, Budget(max_evals=1), Recorder(tmp_path / "m.h5", 6, {}))
    ev = seal(meter)
    codes = task.space.sample(np.random.default_rng(0), 2)
    ev.evaluate(codes[0])
    with pytest.raises(BudgetExhausted) as info:
        ev.evaluate(codes[1])
    frames = []  # the frames it was raised through, below this test's own
    tb = info.value.__traceback__.tb_next
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    assert frames and info.value.__context__ is None and info.value.__cause__ is None
    held = {id(o) for f in frames for v in f.f_locals.values() for o in reachable(v, 3000)}
    assert not {id(task), id(meter), id(meter._recorder)} & held
    with pytest.raises(HarnessError, match="offers no call"):
        ev._call("_task")  # a forged request names no call


def test_cheater_in_process_cannot_spend_more_or_rewrite_attrs(tmp_path: Path, cheater: str,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    budget = Budget(max_cost_s=12000)
    with caplog.at_level(logging.WARNING, logger="harness.sealed"):
        out = run_one(cheater, ProbeTask(), budget, 3, tmp_path / "c.h5")
    traj = read_trajectory(out["path"])
    probes = json.loads(traj.attrs["probes"])  # added keys are kept
    for name in ("attr _task", "getattr computed", "vars", "__dict__", "reset spent", "refund"):
        assert str(probes[name]).startswith("refused"), (name, probes[name])
    assert probes["walk"] == [] and probes["traceback"] == []
    # the meter, not the method's view of the budget, ended it: 108 x 111 s fit in 12,000 s
    assert len(traj) == 108 and traj.attrs["spent_evals"] == 108 and traj.attrs["spent_cost_s"] == 108 * COST
    assert traj.attrs["ended"] == "budget" and traj.attrs["status"] == "complete"
    assert traj.attrs["method"] == "cheater" and traj.attrs["seed"] == 3
    for key in ("method", "spent_cost_s", "spent_evals", "status", "ended", "seed"):
        assert any(repr(key) in r.getMessage() for r in caplog.records), key


def test_method_attrs_keeps_new_keys_only(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="harness.sealed"):
        kept = method_attrs({"method": "rea", "seed": 1}, {"method": "x", "spent_cost_s": 1.0, "tau": 0.5, 3: 1}, "rea")
        assert method_attrs({}, ["not", "a", "dict"], "rea") == {}
    assert kept == {"tau": 0.5}
    assert "spent_cost_s" in RESERVED_ATTRS and "'method'" in caplog.text and "not a dict" in caplog.text


def test_sealed_evaluator_answers_like_the_meter(tmp_path: Path) -> None:
    task = ProbeTask()
    codes = task.space.sample(np.random.default_rng(1), 5)
    direct, sealed = _meter(tmp_path / "a", task), _meter(tmp_path / "b", task)
    ev: SealedEvaluator = seal(sealed)
    assert ev.evaluate(codes[0]) == direct.evaluate(codes[0]) and isinstance(ev.evaluate(codes[1]), np.float64)
    direct.evaluate(codes[1])
    np.testing.assert_array_equal(ev.evaluate(codes[2:]), direct.evaluate(codes[2:]))
    assert ev.feasible(codes).all() and ev.fidelities == (12.0,) and ev.space is task.space
    assert dataclasses.astuple(ev.spent) == (direct.spent.evals, direct.spent.cost_s, direct.spent.epochs)
