"""The GNN-predictor seed's macro space: validity, codec, MACs (analytic == hooks), GA on it."""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks.spaces.macro import MacroSpace, macs
from harness.errors import ArchError

FIGURE = "skip+sep3+sep5|sep3+sep5+sep7+dil5|skip+sep3+sep5+sep7+dil3+dil5|skip+sep3+sep5+sep7+dil3+dil5|sep3+sep5+sep7+dil5"


def test_samples_and_mutants_are_valid_and_round_trip():
    space, rng = MacroSpace(), np.random.default_rng(0)
    x = space.sample(rng, 500)
    assert x.shape == (500, 30) and space.valid(x).all()
    assert abs(x.mean() - 0.5) < 0.05
    np.testing.assert_array_equal(space.parse(space.format(x)), x)
    assert all(space.valid(space.mutate(c, rng))[0] for c in x[:50])
    assert len(set(space.index(x).tolist())) == 500
    with pytest.raises(ArchError, match="at least one op"):
        space.parse("skip||sep3|sep3|sep3")


def test_macs_match_the_seed_figure_and_a_hook_count():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    from benchmarks.training.nets.macro import MacroNet, count_macs

    g = MacroSpace().parse(FIGURE)
    assert abs(macs(g)[0] / 1e6 - 14.46) < 0.2  # README: the searched net has 14.46 M MACs
    for c in MacroSpace().sample(np.random.default_rng(1), 2):
        assert count_macs(MacroNet(c, 100), 32) == macs(c)[0]
        assert count_macs(MacroNet(c, 10, 1), 8, 1) == macs(c, 8, 1, 10)[0]


def test_ga_on_the_macro_space_returns_valid_genomes_under_a_macs_limit(tmp_path):
    from harness.budget import Budget
    from harness.constraints import Constraint
    from harness.evaluator import MeteredEvaluator
    from harness.recorder import Recorder
    from methods.predictor_evolution import Config, PredictorEvolution

    class Task:
        name, space = "toy/macro", MacroSpace()

        def resource(self, codes, name):
            return macs(codes) / 1e6

    class Mock:
        def predict(self, codes):
            return np.atleast_2d(codes).sum(axis=1).astype(float)  # wants every op: fights the limit

    ev = MeteredEvaluator(Task(), Budget(max_evals=1), Recorder(tmp_path / "m.h5", 30, {}),
                          constraint=Constraint("macs_m", 13.0))
    m = PredictorEvolution(Task.space, np.random.default_rng(0), Config(generations=20))
    m.codes, m.vals, m.predictor = list(Task.space.sample(np.random.default_rng(2), 4)), [1.0, 2.0, 3.0, 4.0], Mock()
    cand, _ = m.evolve(ev)
    assert Task.space.valid(cand).all() and (macs(cand) / 1e6 <= 13.0).all()


@pytest.mark.slow
def test_macro_train_trains_for_real_on_digits(tmp_path):
    pytest.importorskip("torch")
    from harness.budget import Budget
    from harness.recorder import read_trajectory
    from harness.registry import BENCHMARKS
    from harness.run import run_one

    task = BENCHMARKS.get("macro-train")("digits", cache=tmp_path, train_images=100, threads=1)
    r = run_one("random_search", task, Budget(max_evals=2), 0, tmp_path / "rs.h5", constraint="macs_m<=0.9")
    t = read_trajectory(r["path"])
    assert len(t) == 2 and (t["cost_s"] > 0).all() and (task.resource(t.codes, "macs_m") <= 0.9).all()
