"""pnas.md checks on the NB201 node-progressive mapping (toy task; a mock surrogate where exactness matters)."""
from __future__ import annotations

import numpy as np

from benchmarks.spaces.nb201 import NB201Space
from harness.budget import Budget
from harness.recorder import read_trajectory
from harness.run import run_one
from methods.pnas import NODE_SLOTS, PNAS, Config, complete, expand, level_one, tokens
from tests.methods.predictor_fixtures import ToyNB201Task

SMALL = {"beam": 4, "embed": 4, "hidden": 8, "ensemble": 2, "epochs": 5}


def test_level_sizes_and_children_extend_their_parent():
    one = level_one()
    assert len(one) == 5 and len({tuple(c) for c in one}) == 5
    two = expand(one[:1], 2)
    three = expand(two[:2], 3)
    assert len(two) == 25 and len(three) == 250 and len(expand(one, 2)) == 125
    np.testing.assert_array_equal(two[:, 0], one[0, 0])
    for parent, kids in zip(two[:2], three.reshape(2, 125, 6)):
        np.testing.assert_array_equal(kids[:, :3], np.broadcast_to(parent[:3], (125, 3)))
        assert len({tuple(k[3:]) for k in kids}) == 125  # every node-3 setting once, none filled in


def test_completion_is_a_valid_pass_through():
    space = NB201Space()
    assert space.format(level_one()[3:4])[0] == "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"
    cells = expand(level_one(), 2)
    np.testing.assert_array_equal(space.parse(space.format(cells)), cells)
    np.testing.assert_array_equal(complete(cells, 3), cells)
    assert np.all(cells[:, list(NODE_SLOTS[2])] == [0, 0, 1])


class _MockSurrogate:
    """Scores a known function; records what it was fitted on."""

    fitted: list = []

    def __init__(self, seed: int) -> None:
        pass

    def fit(self, toks, y):
        _MockSurrogate.fitted.append(np.asarray(y))
        return self

    def predict(self, toks):
        return np.array([float((t[:, 1] == 3).sum() * 10 + t[:, 1].sum()) for t in toks])


def test_trains_exactly_the_top_k_and_fits_only_on_measured_values(tmp_path):
    toy_task = ToyNB201Task()
    from harness.evaluator import MeteredEvaluator
    from harness.recorder import Recorder

    ev = MeteredEvaluator(toy_task, Budget(max_evals=5 + 4 + 4), Recorder(tmp_path / "p.h5", 6, {}))
    m = PNAS(toy_task.space, np.random.default_rng(0), Config(beam=4))
    _MockSurrogate.fitted = []
    m.make_surrogate = _MockSurrogate
    try:
        m.search(ev)
    except Exception as exc:  # BudgetExhausted ends the search
        assert type(exc).__name__ == "BudgetExhausted"
    assert m.trained_per_level == {1: 5, 2: 4, 3: 4}
    rows = ev._recorder.trajectory()
    level2 = expand(level_one(), 2)
    score = _MockSurrogate(0).predict([np.stack([[0, 1, 2], c[:3]], 1) for c in level2])
    best4 = level2[np.argsort(-score, kind="stable")[:4]]
    np.testing.assert_array_equal(rows.codes[5:9], best4)
    level3 = expand(best4, 3)  # level 3 grows the 4 kept cells: again the mock's top 4
    score3 = _MockSurrogate(0).predict(tokens(level3, 3))
    np.testing.assert_array_equal(rows.codes[9:13], level3[np.argsort(-score3, kind="stable")[:4]])
    paid = set(rows["val"].tolist())
    assert all(set(y.tolist()) <= paid for y in _MockSurrogate.fitted)


def test_budget_is_the_sum_of_query_costs_and_runs_repeat(tmp_path):
    toy_task = ToyNB201Task()
    trajs = []
    for name in ("a", "b"):
        r = run_one("pnas", toy_task, Budget(max_cost_s=1850), seed=2, path=tmp_path / f"{name}.h5", config=SMALL)
        trajs.append(read_trajectory(r["path"]))
    a, b = trajs
    assert len(a) == 18 and a["cum_cost_s"][-1] == a["cost_s"].sum() <= 1850
    np.testing.assert_array_equal(a.codes, b.codes)
    np.testing.assert_array_equal(a["val"], b["val"])
    assert a.attrs["trained_per_level"] and a.attrs["surrogate_tau"]


def test_an_interrupted_run_resumes_by_replay(tmp_path):
    import h5py

    toy_task = ToyNB201Task()
    path = tmp_path / "r.h5"
    run_one("pnas", toy_task, Budget(max_cost_s=1850), seed=3, path=path, config=SMALL)
    with h5py.File(path, "a") as f:
        f.attrs["status"] = "running"  # as if killed after the last row
    r = run_one("pnas", toy_task, Budget(max_cost_s=1850), seed=3, path=path, config=SMALL)
    assert not r["skipped"] and len(read_trajectory(path)) == 18


def test_paper_space_counts():
    """pnas.md check 1 for the paper's space: 136 distinct one-block cells; (b+1)^2 * 64 before symmetry."""
    from methods._predictors.pnas_paper import blocks

    assert len(blocks(1)) == 136 and len(set(blocks(1))) == 136
    for b in (1, 2, 3, 4, 5):
        assert len(blocks(b, symmetric=False)) == (b + 1) ** 2 * 64
        assert len(blocks(b)) == (b + 1) * 8 * ((b + 1) * 8 + 1) // 2
    full = np.prod([len(blocks(b, symmetric=False)) for b in range(1, 6)], dtype=np.float64)
    assert 5.5e14 < full < 5.7e14  # the sheet's "~5.6e14 cells before symmetry removal" for B = 5
    # symmetry removal keeps exactly one of (I1,O1)/(I2,O2) swapped twins
    assert {frozenset([(i1, o1), (i2, o2)]) for i1, i2, o1, o2 in blocks(2, symmetric=False)} == \
        {frozenset([(i1, o1), (i2, o2)]) for i1, i2, o1, o2 in blocks(2)}


def test_a_level_with_fewer_candidates_than_k_trains_every_one(tmp_path):
    """Check 3, the min(K, |C|) half: K = 200 > the 125 level-2 expansions of the 5 level-1 cells."""
    from harness.evaluator import MeteredEvaluator
    from harness.recorder import Recorder

    toy_task = ToyNB201Task()
    ev = MeteredEvaluator(toy_task, Budget(max_evals=1000), Recorder(tmp_path / "p.h5", 6, {}))
    m = PNAS(toy_task.space, np.random.default_rng(0), Config(beam=200, levels=2))
    m.make_surrogate = _MockSurrogate
    m.search(ev)  # returns by itself: nothing left to train at the last level
    # all 125 are trained at level 2; 5 of them (node 2 = skip from node 1) are the level-1 cells, not paid twice
    assert sum(lv == 2 for _, lv, _ in m.data) == 125 and m.trained_per_level == {1: 5, 2: 120}
    rows = ev._recorder.trajectory()
    assert len(rows) == 125 and len({tuple(c) for c in rows.codes}) == 125
    assert {tuple(c) for c in rows.codes} == {tuple(c) for c in expand(level_one(), 2)}


def test_completion_gives_valid_cells_at_every_level_and_leaves_complete_cells_alone():
    """Check 4 for arbitrary settings of the set nodes, not only the expansions."""
    space = NB201Space()
    codes = space.sample(np.random.default_rng(9), 500)
    np.testing.assert_array_equal(complete(codes, 3), codes)  # level 3: nothing filled in
    for level in (1, 2):
        done = complete(codes, level)
        np.testing.assert_array_equal(space.parse(space.format(done)), done)
        set_slots = [s for node in NODE_SLOTS[:level] for s in node]
        np.testing.assert_array_equal(done[:, set_slots], codes[:, set_slots])  # the set nodes are kept
        for node in range(level + 1, 4):  # unset nodes: skip from the previous node, none elsewhere
            want = [1 if s == max(NODE_SLOTS[node - 1]) else 0 for s in NODE_SLOTS[node - 1]]
            assert np.all(done[:, list(NODE_SLOTS[node - 1])] == want)
