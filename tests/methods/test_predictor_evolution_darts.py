"""predictor_evolution.md on S1 (DARTS genotypes): the two-cell graph, node-level GA operators, the
GNN on a synthetic DARTS target, and a CI-sized run on darts-train (real training on digits)."""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks.spaces.darts import DARTS_V2, DartsSpace
from harness.budget import Budget
from harness.evaluator import MeteredEvaluator
from harness.recorder import Recorder, read_trajectory
from harness.run import run_one
from methods._predictors.ga import crossover
from methods._predictors.graphs import DARTS_NODES, darts_graph
from methods.predictor_evolution import Config, PredictorEvolution
from tests.methods.predictor_fixtures import ToyDartsTask

SPACE = DartsSpace()
SMALL = {"hidden": 8, "layers": 2, "epochs": 10, "finetune_epochs": 3, "n_initial": 4, "per_round": 2,
         "population": 8, "generations": 4, "tau_at": 6, "tau_folds": 2}


def test_darts_graph_has_two_cell_subgraphs():
    full = SPACE.parse(DARTS_V2)
    partial = full.copy()
    partial[8:16] = 0  # normal cell keeps nodes 2 and 3 only
    adj, feats = darts_graph(np.stack([full, partial]))
    assert adj.shape == (2, DARTS_NODES, DARTS_NODES) == (2, 210, 210) and feats.shape == (2, 210, 3)
    eye = np.eye(210, dtype=bool)
    # each (src, op) pair: src -> op node -> node (2 edges); each present node -> output; self loops
    assert (adj[0][~eye].sum(), adj[1][~eye].sum()) == (2 * 16 + 8, 2 * 12 + 6)
    assert (np.diag(adj[0]) == 1).all()
    np.testing.assert_array_equal(feats[0, :, 0], adj[0].sum(axis=1) - 1)  # out-degree without self loop
    assert (feats[..., 1:] == 1).all()
    assert adj[0, 0, 7 + 0 * 7 + 3] == 1  # normal node 2 reads input 0 with sep_conv_3x3 (op 4 -> slot 3)
    assert adj[0, 105:, :105].sum() == adj[0, :105, 105:].sum() == 0  # the cell types do not touch


def test_node_crossover_and_mutation_keep_genotypes_valid():
    rng = np.random.default_rng(0)
    a, b = SPACE.sample(rng, 300), SPACE.sample(rng, 300)
    kids, cuts = crossover(a, b, rng, step=4)
    SPACE.check(kids)
    assert set(cuts.tolist()) == set(range(4, 32, 4))
    for k, x, y, c in zip(kids, a, b, cuts):
        assert (k[:c] == x[:c]).all() and (k[c:] == y[c:]).all()


class _Mock:
    def predict(self, codes: np.ndarray) -> np.ndarray:
        return (np.atleast_2d(codes).reshape(-1, 16, 2)[:, :, 0] == 4).sum(axis=1).astype(float)


def test_ga_on_darts_returns_valid_genotypes_and_keeps_its_best(tmp_path):
    task = ToyDartsTask()
    ev = MeteredEvaluator(task, Budget(max_evals=10), Recorder(tmp_path / "r.h5", 32, {}))
    m = PredictorEvolution(task.space, np.random.default_rng(0), Config(**{**SMALL, "generations": 25}))
    m.codes, m.vals, m.predictor = list(SPACE.sample(np.random.default_rng(1), 6)), list(range(6)), _Mock()
    cand, pred = m.evolve(ev)
    SPACE.check(cand)
    assert len(np.unique(SPACE.canonical(cand), axis=0)) == len(cand)
    assert np.all(np.diff(m.best_archive) >= 0) and m.best_archive[-1] > m.best_archive[0]


def test_gnn_learns_a_synthetic_darts_target():
    """Sheet check 3 on S1: a fixed linear function of the op choices, ranked on held-out genotypes."""
    pytest.importorskip("torch")
    from methods._predictors.models import Predictor, PredictorConfig, tau

    codes = SPACE.sample(np.random.default_rng(3), 200)
    w = np.random.default_rng(0).normal(size=(2, 8))  # cell type, op
    y = 50 + 3 * w[np.arange(2)[:, None], codes.reshape(-1, 2, 8, 2)[..., 0]].sum(axis=(1, 2))
    cfg = PredictorConfig(hidden=8, layers=2, epochs=20, lr=5e-3)
    p = Predictor("darts", 8, cfg, seed=1).fit(codes[:120], y[:120])
    assert tau(p.predict(codes[120:]), y[120:]) > 0.5


def test_real_training_run_on_digits_is_deterministic(tmp_path):
    pytest.importorskip("torch")
    from harness.registry import BENCHMARKS

    task = BENCHMARKS.get("darts-train")("digits", data=None, cache=tmp_path / "cache", C=4, layers=3,
                                         auxiliary=False, threads=1, train_images=128,
                                         recipe_changes={"epochs": 1, "batch_size": 64})
    runs = [read_trajectory(run_one("predictor_evolution", task, Budget(max_evals=8), seed=1,
                                    path=tmp_path / f"{n}.h5", config=SMALL)["path"]) for n in "ab"]
    a, b = runs
    assert len(a) == 8 and (a["cost_s"] > 0).all() and a.attrs["cost_unit"] == "measured_s"
    SPACE.check(a.codes)
    np.testing.assert_array_equal(a.codes, b.codes)  # the second run is answered from the training cache
    np.testing.assert_array_equal(a["val"], b["val"])
    assert a.attrs["predictor"] == "gnn" and -1 <= a.attrs["kendall_tau_cv"] <= 1
