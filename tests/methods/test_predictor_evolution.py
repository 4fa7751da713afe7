"""predictor_evolution.md checks 4-8 on a toy NB201 task (no data, tiny predictor)."""
from __future__ import annotations

import numpy as np

from harness.budget import Budget
from harness.constraints import Constraint
from harness.evaluator import MeteredEvaluator
from harness.recorder import Recorder, read_trajectory
from harness.run import run_one
from methods._predictors.ga import crossover, mutate_genes
from methods.predictor_evolution import Config, PredictorEvolution
from tests.methods.predictor_fixtures import ToyNB201Task

SMALL = {"hidden": 8, "layers": 2, "epochs": 10, "finetune_epochs": 3, "n_initial": 12, "per_round": 6,
         "generations": 8, "tau_at": 20, "tau_folds": 2}


def test_mutation_rate_and_crossover_prefix_suffix():
    rng = np.random.default_rng(0)
    parents = np.zeros((20000, 6), dtype=np.int8)
    kids = mutate_genes(parents, 0.1, 5, rng)
    assert abs((kids != 0).mean() - 0.1 * 4 / 5) < 0.01  # a resample keeps the gene 1 time in 5
    a, b = np.zeros((500, 6), np.int8), np.ones((500, 6), np.int8)
    kids, cuts = crossover(a, b, rng)
    assert set(cuts) == {1, 2, 3, 4, 5}
    for k, c in zip(kids, cuts):
        assert np.all(k[:c] == 0) and np.all(k[c:] == 1)


class _Mock:
    """Predicts a known function so the GA's bookkeeping can be checked without fitting."""

    def predict(self, codes: np.ndarray) -> np.ndarray:
        return np.atleast_2d(codes).sum(axis=1).astype(float)


def _evaluator(task, tmp_path, budget=Budget(max_evals=40), constraint=None) -> MeteredEvaluator:
    rec = Recorder(tmp_path / "run.h5", 6, {"method": "x"})
    return MeteredEvaluator(task, budget, rec, constraint=constraint)


def test_ga_keeps_the_constraint_and_its_archive_best_never_drops(tmp_path):
    toy_task = ToyNB201Task()
    ev = _evaluator(toy_task, tmp_path, constraint=Constraint("convs", 2))
    m = PredictorEvolution(toy_task.space, np.random.default_rng(0), Config(**{**SMALL, "generations": 30}))
    seen: list[np.ndarray] = []

    class _Recording(_Mock):
        def predict(self, codes: np.ndarray) -> np.ndarray:
            seen.append(super().predict(codes))
            return seen[-1]

    m.codes, m.vals, m.predictor = list(toy_task.space.sample(np.random.default_rng(1), 12)), list(range(12)), _Recording()
    cand, pred = m.evolve(ev)
    assert np.all(toy_task.resource(cand, "convs") <= 2)
    assert np.all(np.diff(m.best_archive) >= 0)
    # independently of the method's own record: the archive's best is the best predicted so far
    assert len(seen) == 30
    np.testing.assert_array_equal(m.best_archive, np.maximum.accumulate([f.max() for f in seen]))
    np.testing.assert_array_equal(pred, _Mock().predict(cand))


def test_run_pays_only_for_training_labels_and_is_deterministic(tmp_path):
    toy_task = ToyNB201Task()
    runs = []
    for name in ("a", "b"):
        r = run_one("predictor_evolution", toy_task, Budget(max_evals=30), seed=5, path=tmp_path / f"{name}.h5",
                    config=SMALL, constraint="convs<=3")
        runs.append(read_trajectory(r["path"]))
    a, b = runs
    np.testing.assert_array_equal(a.codes, b.codes)
    np.testing.assert_array_equal(a["val"], b["val"])
    # every query recorded and charged; the task saw only those plus the one refused for budget per run
    assert len(a) == 30 and toy_task.queries == 2 * 31
    assert np.all(toy_task.resource(a.codes, "convs") <= 3)
    assert a.attrs["constraint"] == "convs<=3"
    assert a.attrs["kendall_tau_cv_labels"] == 20 and -1 <= a.attrs["kendall_tau_cv"] <= 1
    assert a.attrs["predictor"] == "gnn"


def test_predictor_guided_rounds_beat_their_random_start(tmp_path):
    toy_task = ToyNB201Task()
    r = run_one("predictor_evolution", toy_task, Budget(max_evals=36), seed=0, path=tmp_path / "r.h5", config=SMALL)
    t = read_trajectory(r["path"])
    assert t["val"][12:].mean() > t["val"][:12].mean()  # the toy target is learnable


def test_the_method_mutates_each_gene_with_prob_0_1_and_crosses_archive_members_at_one_cut(tmp_path):
    """Check 6 on the method's own children (not only the helpers): the configured rate reaches
    `_children`, and every crossover child is a prefix of one archive member + suffix of another."""
    toy_task = ToyNB201Task()
    ev = _evaluator(toy_task, tmp_path)
    m = PredictorEvolution(toy_task.space, np.random.default_rng(0), Config(**SMALL))
    parent = np.zeros((1, 6), np.int8)
    kids = m._children(ev, parent, 5000, cross=False)
    assert abs((kids != 0).mean() - 0.1 * 4 / 5) < 0.01  # resampled with prob 0.1, 1 in 5 redraws itself
    archive = np.array([[0] * 6, [1] * 6, [2] * 6], np.int8)
    kids = m._children(ev, archive, 600, cross=True)
    seen_cuts = set()
    for k in kids:
        heads = [c for c in range(1, 6) if np.all(k[:c] == k[0]) and np.all(k[c:] == k[-1])]
        assert np.all(k == k[0]) or heads, k  # one cut: archive member k[0] up to it, member k[-1] after
        seen_cuts.update(heads if k[0] != k[-1] else [])
    assert seen_cuts == {1, 2, 3, 4, 5}


def test_the_method_sees_validation_values_only(tmp_path):
    """Check 7: the labels the predictor is fitted on are the queried validation values (the toy task
    reports valid = val + 1 and test = val + 2), and the method touches no evaluator member that
    could hand it a reported accuracy."""
    from tests.methods.oneshot_fixtures import Spy

    toy_task = ToyNB201Task()
    spy = Spy(_evaluator(toy_task, tmp_path, budget=Budget(max_evals=24)))
    m = PredictorEvolution(toy_task.space, np.random.default_rng(3), Config(**SMALL))
    try:
        m.search(spy)
    except Exception as exc:  # BudgetExhausted ends the search
        assert type(exc).__name__ == "BudgetExhausted"
    assert len(m.vals) == 24
    np.testing.assert_array_equal(m.vals, toy_task._score(np.stack(m.codes)))
    assert spy.touched <= {"evaluate", "feasible", "constraint"}, spy.touched
