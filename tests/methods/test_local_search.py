"""Local search checks (baselines.md check 6, plus 1 and 7; the 24-cell neighbourhood is tested in test_nb201_space)."""
from __future__ import annotations

import numpy as np

from benchmarks.spaces.nb201 import NB201Space
from methods.local_search import Config, LocalSearch
from tests.methods.common import check_cost_and_determinism
from tests.methods.fakes import FakeEvaluator, run


def test_no_cell_is_charged_twice() -> None:
    space = NB201Space()
    score = np.random.default_rng(5).random(5**6)
    ev = run(LocalSearch(space, np.random.default_rng(1), Config()),
             FakeEvaluator(lambda c, f: score[int(space.index(c[None])[0])], max_evals=400))
    idx = space.index(ev.codes())
    assert len(ev.calls) == 400 and len(np.unique(idx)) == 400


def test_climbs_to_the_optimum_of_a_smooth_landscape() -> None:
    space = NB201Space()
    target = np.array([3, 1, 2, 4, 0, 3])
    ev = run(LocalSearch(space, np.random.default_rng(2), Config()),
             FakeEvaluator(lambda c, f: float((c == target).sum()), max_evals=200))
    assert max(v for _, _, v in ev.calls) == 6.0


def test_exhausted_space_ends_search() -> None:
    class Tiny(NB201Space):
        def sample(self, rng, n):  # a space whose restarts always land on seen cells
            return np.zeros((n, 6), dtype=np.int8)

    ev = run(LocalSearch(Tiny(), np.random.default_rng(0), Config(max_free_steps=1000)),
             FakeEvaluator(lambda c, f: -float(c.sum()), max_evals=10**6))
    assert len(ev.calls) == 25  # the start cell and its 24 neighbours, then it stops


def test_nb201_run(nb201_task, tmp_path) -> None:
    check_cost_and_determinism("local_search", nb201_task("cifar10-valid"), tmp_path)
