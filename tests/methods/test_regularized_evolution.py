"""REA checks (baselines.md check 3)."""
from __future__ import annotations

import numpy as np

from benchmarks.nb201_space import NB201Space
from methods.regularized_evolution import Config, RegularizedEvolution
from tests.methods.fakes import FakeEvaluator, run


def test_population_ages_out_and_children_differ_by_one_op() -> None:
    space = NB201Space()
    m = RegularizedEvolution(space, np.random.default_rng(0), Config())
    ev = run(m, FakeEvaluator(lambda c, f: float(c.sum()), max_evals=60))
    codes = ev.codes()
    assert len(m.population) == 10
    assert all(np.array_equal(p[0], c) for p, c in zip(m.population, codes[-10:]))  # the 10 newest
    history = {c.tobytes() for c in codes}
    for child in codes[10:]:  # each child is one op change from some earlier member
        assert any((np.frombuffer(h, np.int8) != child).sum() == 1 for h in history)


def test_mutation_changes_exactly_one_edge_node_first() -> None:
    space, rng = NB201Space(), np.random.default_rng(1)
    parent = np.zeros(6, dtype=np.int8)
    edges = []
    for _ in range(9000):
        diff = np.flatnonzero(space.mutate(parent, rng) != parent)
        assert len(diff) == 1
        edges.append(diff[0])
    freq = np.bincount(edges, minlength=6) / len(edges)
    assert np.allclose(freq, [1 / 3, 1 / 6, 1 / 6, 1 / 9, 1 / 9, 1 / 9], atol=0.02)


def test_tournament_draws_with_replacement() -> None:
    m = RegularizedEvolution(NB201Space(), np.random.default_rng(2), Config(population=2, sample_size=3))
    run(m, FakeEvaluator(lambda c, f: 0.0, max_evals=12))  # a sample of 3 from 2 members needs replacement
    assert len(m.population) == 2
