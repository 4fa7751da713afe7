"""BOHB / Hyperband checks (baselines.md check 5, plus 1 and 7)."""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks.spaces.nb201 import NB201Space
from methods._kde import CategoricalKDE, KDEModel
from methods.bohb import BOHB, BOHBNB201, Config, Hyperband, HyperbandConfig, bracket, hpbandster_budgets
from tests.methods.common import check_cost_and_determinism
from tests.methods.fakes import FakeEvaluator, run


def test_hpbandster_ladder() -> None:
    assert np.allclose(hpbandster_budgets(12, 200, 3), [200 / 9, 200 / 3, 200])
    assert [bracket(3, i, 3) for i in range(4)] == [[9, 3, 1], [3, 1], [3], [9, 3, 1]]
    assert [bracket(2, i, 3) for i in range(2)] == [[3, 1], [2]]


def test_bohb_nb201_queries_hp12_whatever_the_rung() -> None:
    ev = run(BOHBNB201(NB201Space(), np.random.default_rng(0), Config()),
             FakeEvaluator(lambda c, f: float(c.sum()), max_evals=40, fidelities=(12.0, 200.0)))
    assert {f for _, f, _ in ev.calls} == {12.0}
    # first bracket: 9 new cells, then the best 3 and the best 1 are queried (and charged) again
    codes = ev.codes()
    assert len({c.tobytes() for c in codes[:9]}) == len({c.tobytes() for c in codes[:13]})
    best3 = sorted(np.argsort([-v for _, _, v in ev.calls[:9]], kind="stable")[:3])
    assert np.array_equal(codes[9:12], codes[:9][best3])


def test_multi_fidelity_ladder_uses_the_task_fidelities() -> None:
    ev = run(Hyperband(NB201Space(), np.random.default_rng(0), HyperbandConfig()),
             FakeEvaluator(lambda c, f: float(c.sum()) + f, max_evals=10, fidelities=(12.0, 200.0)))
    assert [f for _, f, _ in ev.calls] == [12.0] * 3 + [200.0] + [200.0] * 2 + [12.0] * 3 + [200.0]
    one = run(BOHB(NB201Space(), np.random.default_rng(0), Config()),
              FakeEvaluator(lambda c, f: float(c.sum()), max_evals=5, fidelities=(12.0,)))
    assert {f for _, f, _ in one.calls} == {12.0}


def test_kde_model_needs_enough_points_then_prefers_good_region() -> None:
    model = KDEModel(6, 5, top_n_percent=15, min_points=None, num_samples=64, min_bandwidth=0.3)
    rng = np.random.default_rng(0)
    for i in range(13):
        c = rng.integers(0, 5, 6)
        model.observe(22.2, c, -float(c[0] == 2))
    assert model.propose(rng) is None  # hpbandster: 7 good and more than 6 bad points needed
    for i in range(60):
        c = rng.integers(0, 5, 6)
        model.observe(22.2, c, -float(c[0] == 2))
    props = np.stack([model.propose(rng) for _ in range(200)])
    # the good points agree on edge 0 (bandwidth at its 0.3 floor), so proposals keep that op
    assert (props[:, 0] == 2).mean() > 0.6  # uniform sampling would give 0.2
    model.observe(200.0, np.zeros(6, int), 0.0)
    assert 200.0 not in model.models and 22.2 in model.models


def test_kde_bandwidth_is_clipped() -> None:
    kde = CategoricalKDE.fit(np.zeros((8, 6), dtype=int), 5, 0.3)
    assert np.allclose(kde.bw, 0.3)
    assert np.isclose(kde.pdf(np.zeros(6, int))[0], 0.7 ** 6)


def test_bad_config_is_rejected() -> None:
    with pytest.raises(Exception, match="min_budget < max_budget"):
        BOHB(NB201Space(), np.random.default_rng(0), Config(min_budget=300))


@pytest.mark.parametrize("method", ["bohb-nb201", "bohb", "hyperband"])
def test_nb201_run(method, nb201_task, tmp_path) -> None:
    check_cost_and_determinism(method, nb201_task("cifar10-valid"), tmp_path)


def test_kde_fast_path_matches_the_reference_bit_for_bit() -> None:
    """The lazy fit and table scoring must give CategoricalKDE.fit/pdf's exact floats: BOHB's
    trajectories for a fixed seed depend on ties and orderings of these densities."""
    from methods._kde import fast_fit

    rng = np.random.default_rng(1)
    for trial in range(40):
        model = KDEModel(6, 5, top_n_percent=15, min_points=None, num_samples=4, min_bandwidth=0.3)
        for _ in range(int(rng.integers(14, 120))):
            c = rng.integers(0, 3 if trial % 2 else 5, 6).astype(np.int8)
            model.observe(22.2, c, float(rng.integers(0, 4)) if trial % 3 else float(rng.random()))
        assert model.propose(rng) is not None
        fitted = model._fitted[22.2]
        codes, n = model.obs[22.2].codes, model.models[22.2]
        order = np.argsort(model.obs[22.2].losses[:n], kind="stable")
        good_ref = CategoricalKDE.fit(codes[order[:len(fitted.good.data)]], 5, 0.3)
        bad_ref = CategoricalKDE.fit(codes[fitted.bad_idx], 5, 0.3)
        assert np.array_equal(fitted.good.bw, good_ref.bw) and np.array_equal(fitted.bad.bw, bad_ref.bw)
        assert np.array_equal(fast_fit(bad_ref.data, 5, 0.3).bw, bad_ref.bw)
        cand = rng.integers(0, 5, (16, 6)).astype(np.int8)
        g, b = fitted.densities(cand)
        assert g == good_ref.pdf(cand).tolist() and b == bad_ref.pdf(cand).tolist()
