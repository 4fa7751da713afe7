"""pnas.md checks 1-3 and 7-8 for the S1 (DARTS) mapping: a toy scored task, a mock surrogate where
exactness matters, and one short real darts-train run on digits."""
from __future__ import annotations

from math import comb

import numpy as np
import pytest

from benchmarks.spaces.darts import DartsSpace
from harness.budget import Budget
from harness.errors import BudgetExhausted, HarnessError
from harness.evaluator import MeteredEvaluator
from harness.recorder import Recorder, read_trajectory
from harness.run import run_one
from methods._predictors import pnas_darts as pd
from methods.pnas import PNAS, Config
from tests.methods.predictor_fixtures import ToyDartsTask, ToyNB201Task

SPACE = DartsSpace()
SMALL = {"beam": 3, "embed": 4, "hidden": 8, "ensemble": 2, "epochs": 3}


def test_level_sizes_49_147_294_490_and_valid_distinct_cells():
    cells = pd.level_one(np.random.default_rng(0))
    for level in range(1, 5):
        if level > 1:
            kids = pd.expand(cells[:1], level)
            assert len(kids) == comb(level + 1, 2) * 49 == (49, 147, 294, 490)[level - 1]
            cells = kids
        SPACE.check(cells)
        assert (SPACE.n_nodes(cells) == level).all()
        np.testing.assert_array_equal(cells[:, :16], cells[:, 16:])  # one genotype for both cell types
        assert len(np.unique(SPACE.canonical(cells), axis=0)) == len(cells)  # no input-order duplicates
        assert (cells.reshape(-1, 2, 8, 2)[:, :, :2 * level, 0] != 0).all()  # never `none`
    np.testing.assert_array_equal(SPACE.canonical(cells), cells)


def test_every_child_extends_its_parent_by_exactly_one_node():
    parents = pd.expand(pd.level_one(np.random.default_rng(1))[:2], 2)[[0, 100]]
    kids = pd.expand(parents, 3).reshape(2, 294, 32)
    for parent, children in zip(parents, kids):
        np.testing.assert_array_equal(children[:, :8], np.broadcast_to(parent[:8], (294, 8)))
        assert (children[:, 12:16] == 0).all() and (SPACE.n_nodes(children) == 3).all()
        assert len({tuple(c[8:12]) for c in children}) == 294


def test_tokens_are_input_op_pairs_of_the_present_nodes():
    cell = pd.expand(pd.level_one(np.random.default_rng(2))[:1], 2)[5]
    tok = pd.tokens(cell, 2)[0]
    assert tok.shape == (4, 2)
    np.testing.assert_array_equal(tok, cell[:8].reshape(4, 2)[:, ::-1])


class _Mock:
    """Scores a known function of the tokens; records the targets it was fitted on."""

    fitted: list = []

    def __init__(self, seed: int) -> None:
        pass

    def fit(self, toks, y):
        _Mock.fitted.append(np.asarray(y))
        return self

    def predict(self, toks):
        return np.array([float((t[:, 1] == 4).sum() * 100 + (t[:, 0] * t[:, 1]).sum()) for t in toks])


def test_level_one_whole_then_exactly_the_top_k(tmp_path):
    task = ToyDartsTask()
    ev = MeteredEvaluator(task, Budget(max_evals=49 + 3 + 3), Recorder(tmp_path / "p.h5", 32, {}))
    m = PNAS(task.space, np.random.default_rng(0), Config(beam=3, levels=3))
    _Mock.fitted = []
    m.make_surrogate = _Mock
    with pytest.raises(BudgetExhausted):
        m.search(ev)
    assert m.trained_per_level == {1: 49, 2: 3, 3: 3}
    rows = ev._recorder.trajectory()
    level1 = rows.codes[:49]
    assert len(np.unique(level1, axis=0)) == 49 and (SPACE.n_nodes(level1) == 1).all()
    level2 = pd.expand(level1, 2)
    best3 = level2[np.argsort(-_Mock(0).predict(pd.tokens(level2, 2)), kind="stable")[:3]]
    np.testing.assert_array_equal(rows.codes[49:52], best3)
    level3 = pd.expand(best3, 3)
    best3 = level3[np.argsort(-_Mock(0).predict(pd.tokens(level3, 3)), kind="stable")[:3]]
    np.testing.assert_array_equal(rows.codes[52:55], best3)
    assert all(set(y.tolist()) <= set(rows["val"].tolist()) for y in _Mock.fitted)


def test_budget_and_determinism_through_the_harness(tmp_path):
    task = ToyDartsTask()
    trajs = []
    for name in ("a", "b"):
        r = run_one("pnas", task, Budget(max_cost_s=605), seed=4, path=tmp_path / f"{name}.h5", config=SMALL)
        trajs.append(read_trajectory(r["path"]))
    a, b = trajs
    assert len(a) == 60 and a["cum_cost_s"][-1] == a["cost_s"].sum() == 600  # 49 + 3 + 3 + 3 + 2
    np.testing.assert_array_equal(a.codes, b.codes)
    np.testing.assert_array_equal(a["val"], b["val"])
    import json

    assert json.loads(a.attrs["trained_per_level"]) == {"1": 49, "2": 3, "3": 3, "4": 5}
    assert a.attrs["beam"] == 3 and a.attrs["levels"] == 4 and a.attrs["surrogate_tau"]


def test_auto_beam_spends_its_share_of_the_budget(tmp_path):
    task = ToyNB201Task()  # 100 s a query: level 1 = 500 s, level 2 gets 25 % of the remaining 1500 s
    r = run_one("pnas", task, Budget(max_cost_s=2000), seed=1, path=tmp_path / "a.h5",
                config={**SMALL, "beam": "auto"})
    t = read_trajectory(r["path"])
    assert t.attrs["beam"] == 4 and t.attrs["beam_rule"] == "auto" and len(t) == 20


def test_wrong_space_and_bad_beam_are_one_line_errors():
    from benchmarks.spaces.macro import MacroSpace

    with pytest.raises(HarnessError, match="pnas needs the nb201 or darts space, got 'macro'"):
        PNAS(MacroSpace(), np.random.default_rng(0), Config())
    with pytest.raises(HarnessError, match="levels <= 4 on darts"):
        PNAS(SPACE, np.random.default_rng(0), Config(levels=5))
    with pytest.raises(HarnessError, match="beam >= 1 or 'auto'"):
        PNAS(SPACE, np.random.default_rng(0), Config(beam="wide"))


def test_real_training_on_digits(tmp_path):
    pytest.importorskip("torch")
    from harness.registry import BENCHMARKS

    task = BENCHMARKS.get("darts-train")("digits", data=None, cache=tmp_path / "cache", C=4, layers=3,
                                         auxiliary=False, threads=1, train_images=128,
                                         recipe_changes={"epochs": 1, "batch_size": 64})
    r = run_one("pnas", task, Budget(max_evals=4), seed=0, path=tmp_path / "r.h5", config=SMALL)
    t = read_trajectory(r["path"])
    assert len(t) == 4 and (SPACE.n_nodes(t.codes) == 1).all() and (t["cost_s"] > 0).all()
    assert np.isfinite(t["report_test"]).all() and t.attrs["cost_unit"] == "measured_s"
    grown = pd.expand(pd.expand(pd.expand(t.codes[:1], 2)[:1], 3)[:1], 4)[:1]  # a 4-node cell trains too
    out = task.evaluate(grown, 1.0)
    assert 0 <= out.val[0] <= 100 and out.cost_s[0] > 0
